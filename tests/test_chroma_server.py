"""The same code against a real Chroma server (``chroma run``) on loopback gives the same answers."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.server]

QUESTIONS = [
    "Who founded the IIJ?",
    "Кто такой Каха Имнадзе?",
    "Vladimir Voronkov Toshkentda kim bilan uchrashdi?",
    "What is the capital of Australia?",
]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not os.path.exists(chroma):
        pytest.skip("the chroma command is not installed")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def test_server_mode_gives_the_same_answers(real_engine, chroma_url, tmp_path):
    from qa.config import Settings
    from qa.engine import Engine

    remote = Engine(Settings(home=tmp_path / "home", chroma_url=chroma_url), embedder=real_engine.embedder)
    remote.ensure_index()
    assert sorted(d.name for d in remote.documents()) == sorted(d.name for d in real_engine.documents())
    for q in QUESTIONS:
        a, b = real_engine.answer(q), remote.answer(q)
        assert (a.text, a.found, [c.source for c in a.citations]) == (b.text, b.found, [c.source for c in b.citations])
