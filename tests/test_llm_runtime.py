"""The llm reader with the real runtime: the packaged Qwen2.5 0.5B GGUF in process (llama.cpp through llama-index's
LlamaCPP), and the same model behind llama-cpp-python's OpenAI-compatible server started here on loopback, with the
command line and the chat (gradio_client) streaming from it.

``make llm`` installs llama-cpp-python and fetches the model (``make test`` runs it first). The 0.5B model is weak:
these tests check that it runs, streams, is constrained to the reply format and is checked, not that it is right
(``qa eval --reader llm`` measures that)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.llm]

MODEL = "qwen2.5-0.5b"
QUESTION = "When was the IIJ founded?"
# What a run of the real model may end in: never a crash, never unreadable output (the grammar / JSON mode).
RAN = {
    "kept",
    "model_declined",
    "empty",
    "unmarked_sentence",
    "unknown_marker",
    "unsupported_number",
    "unsupported_date",
    "unsupported_name",
    "wrong_language",
}


def _model_path():
    from qa.errors import ConfigError
    from qa.models.gguf import MODELS, find_model, models_dir

    override = os.environ.get("QA_TEST_GGUF")
    try:
        path = os.path.expanduser(override) if override else str(find_model(MODEL))
    except ConfigError:
        path = str(models_dir() / MODELS[MODEL].filename)
    try:
        import llama_cpp  # noqa: F401
        import llama_index.llms.llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python is not installed: run `make llm` (make test does)")
    if not os.path.isfile(path):
        pytest.fail(f"no packaged model at {path}: run `make llm` (or python -m qa.models fetch {MODEL})")
    return path


@pytest.fixture(scope="module")
def gguf():
    return _model_path()


def _reader_engine(real_engine, spec, **settings):
    """An engine over the shared index with a model; its own copy of the settings, so nothing leaks to other tests."""
    from dataclasses import replace

    from qa.engine import Engine
    from qa.writing.llm import get_llm

    return Engine(replace(real_engine.settings, **settings), embedder=real_engine.embedder, llm=get_llm(spec))


def _check_run(updates):
    final = updates[-1]
    assert final.found and final.quote and "2014" in final.quote
    assert final.written.status in RAN, (final.written.status, final.written.detail)
    assert final.written.seconds > 0
    writing = [a for a in updates if a.written.status == "writing"]
    assert writing and writing[0].written.text == "" and writing[0].quote == final.quote  # the quote comes first
    assert any(a.written.text for a in writing), "nothing streamed"
    if final.written.status == "kept":
        assert final.reader == "llm" and final.text == final.written.text
    else:
        assert final.reader == "extractive" and final.text == final.quote
    return final


def test_the_packaged_model_in_process_streams_a_checked_answer(real_engine, gguf):
    engine = _reader_engine(real_engine, f"gguf:{gguf}")
    updates = list(engine.stream(QUESTION, reader="llm"))
    _check_run(updates)
    again = engine.answer("Where are the IIJ headquarters?", reader="llm")  # the loaded model is reused
    assert again.written.status in RAN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(gguf, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    proc = subprocess.Popen(  # its log goes to a file: llama.cpp says a lot while loading, a pipe would fill
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            gguf,
            "--model_alias",
            "qwen",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(os.cpu_count() or 2),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_the_same_model_behind_an_openai_compatible_server(real_engine, llama_server, monkeypatch):
    monkeypatch.setenv("QA_LLM_FORMAT", "json_object")  # llama-cpp-python's server: {"type": "json_object", "schema"}
    engine = _reader_engine(real_engine, f"openai:{llama_server}#qwen")
    _check_run(list(engine.stream(QUESTION, reader="llm")))


def test_the_command_line_streams_from_the_server(real_engine, llama_server):
    env = {
        **os.environ,
        "QA_HOME": str(real_engine.settings.home),
        "QA_LLM_FORMAT": "json_object",
        "QA_LLM": f"openai:{llama_server}#qwen",
    }
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "--reader", "llm", QUESTION],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert "writing the answer with the language model" in run.stderr
    assert "2014" in run.stdout and ("Quote:" in run.stdout or "was not used" in run.stderr)


def _text(message) -> str:
    content = message["content"]
    return " ".join(p.get("text", "") for p in content) if isinstance(content, list) else content


def test_the_chat_streams_the_written_answer_under_the_quote(real_engine, llama_server, monkeypatch):
    from gradio_client import Client

    from qa.ui.app import launch

    monkeypatch.setenv("QA_LLM_FORMAT", "json_object")
    engine = _reader_engine(real_engine, f"openai:{llama_server}#qwen", reader="llm")
    port = _free_port()
    demo = launch(engine, host="127.0.0.1", port=port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = client.submit(QUESTION, 5, "", "llm", api_name="/chat")
        job.result(timeout=300)
        outputs = job.outputs()
        said = [_text(o[0][-1]) for o in outputs if o and o[0] and o[0][-1]["role"] == "assistant"]
        assert any("Writing the answer (not checked yet)" in s for s in said[:-1]), said
        assert "2014" in said[-1] and ("Quote:" in said[-1] or "was not used" in said[-1])
    finally:
        demo.close()
