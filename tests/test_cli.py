"""The command line as a user runs it: separate processes, exit codes, no tracebacks."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import CORPUS


def qa(*args, home, embedder="hashing:256", timeout=120):
    env = dict(os.environ, QA_HOME=str(home), QA_EMBEDDER=embedder)
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_help_is_instant_and_lists_commands(home):
    started = time.perf_counter()
    result = qa("--help", home=home)
    assert result.returncode == 0
    for command in ("ask", "index", "eval", "serve"):
        assert command in result.stdout
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, qa.cli; qa.cli.build_parser(); "
            "print(sorted(m for m in ('torch','chromadb','gradio','llama_index','numpy') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
    )
    assert heavy.stdout.strip() == "[]"  # heavy packages are imported lazily
    asking = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from qa.engine import Engine; from qa.index.store import Store; "
            "print('llama_index' in sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert asking.stdout.strip() == "False"  # answering needs no llama-index import
    assert time.perf_counter() - started < 10


def test_index_and_ask_round_trip(home, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "malta.txt").write_text(
        "The IIJ was founded in 2014. Its headquarters are in Valletta, Malta.", encoding="utf-8"
    )
    added = qa("index", "add", str(docs), home=home)
    assert added.returncode == 0 and "added     malta.txt" in added.stdout
    assert "unchanged malta.txt" in qa("index", "add", str(docs), home=home).stdout
    listing = qa("index", "list", home=home)
    assert "malta.txt" in listing.stdout and " en " in listing.stdout
    result = qa("ask", "Where are the headquarters?", "--json", home=home)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["found"] in (True, False) and payload["passages"][0]["source"] == "malta.txt"
    text = qa("ask", "Where are the headquarters?", home=home)
    assert text.returncode == 0 and text.stdout.strip()
    assert qa("index", "remove", "malta.txt", home=home).returncode == 0
    missing = qa("index", "remove", "malta.txt", home=home)
    assert missing.returncode == 1 and "No document named" in missing.stderr


@pytest.mark.parametrize("question, message", [("   ", "empty"), ("x" * 100_000, "limit is")])
def test_bad_questions_exit_nonzero_without_traceback(home, question, message):
    result = qa("ask", question, home=home)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bad_files_exit_nonzero_without_traceback(home, tmp_path):
    blob = tmp_path / "x.txt"
    blob.write_bytes(os.urandom(2048).replace(b"\n", b"\x00"))
    result = qa("index", "add", str(blob), home=home)
    assert result.returncode != 0 and "Traceback" not in result.stderr and "x.txt" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = qa("index", "add", str(empty), home=home)
    assert result.returncode != 0 and "No documents" in result.stderr


def test_corrupted_index_is_reported_cleanly(home, tmp_path):
    assert qa("index", "add", str(CORPUS / "001_06ab6ed67bf2d3c2.txt"), home=home).returncode == 0
    for db in (home / "chroma").rglob("chroma.sqlite3"):
        db.write_bytes(b"this is not a database" * 100)
    result = qa("ask", "Who founded the IIJ?", home=home)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "index" in result.stderr.lower()


def test_serve_with_a_bad_port_or_a_port_in_use_says_so(home):
    bad = subprocess.run(
        [sys.executable, "-m", "qa.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256", QA_PORT="abc"),
    )
    assert bad.returncode != 0 and "QA_PORT" in bad.stderr and "Traceback" not in bad.stderr
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = qa("serve", "--port", str(port), home=home, timeout=120)
    assert result.returncode != 0 and "Cannot start the chat" in result.stderr and "Traceback" not in result.stderr


def test_a_closed_pipe_ends_quietly(home):
    env = dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "ask", "--json", "Who founded the IIJ?"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # like `| head` that has read enough
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_progress_in_a_log_counts_embedded_texts_while_a_batch_is_embedded(monkeypatch, capsys):
    """Off a terminal: a plain line every QA_PROGRESS_SECONDS while the first batch is still being embedded
    (counting its texts), not only when a batch is written."""
    from qa.cli import _Bar

    monkeypatch.setenv("QA_PROGRESS_SECONDS", "5")
    now = [0.0]
    bar = _Bar()
    bar.tty = False
    bar._clock = lambda: now[0]
    bar._started = bar._last = 0.0
    bar._ticker = False  # no heartbeat thread: the fake clock alone decides (the next test covers the thread)
    bar("indexing", 0, 500)
    for step in range(1, 31):  # 30 embedder batches of 32 texts, 1 s each, before the first batch is written
        now[0] = float(step)
        bar("embedding", 32 * step, 32 * 30)
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 6  # at 5, 10, ... 30 s
    assert lines[0].startswith("indexing: 0/500 documents") and "embedding the next batch: 160/960 texts" in lines[0]
    now[0] = 31.0
    bar("indexing", 100, 500)
    bar.close()
    assert "indexing: 100/500 documents" in capsys.readouterr().err


def test_an_add_says_at_once_what_it_will_index(tmp_path, monkeypatch):
    from qa.config import Settings
    from qa.index.readers import plan_line

    for i in range(3):
        (tmp_path / f"{i}.txt").write_text("x" * 1000)
    line = plan_line(sorted(tmp_path.glob("*.txt")), Settings(home=tmp_path / "home"))
    assert line.startswith("indexing 3 files (3.0 kB) in batches of up to 100 documents or 100,000 characters")


def test_progress_in_a_log_keeps_a_heartbeat_while_one_embedder_call_takes_long(monkeypatch, capsys):
    """One call of the embedder can take longer than QA_PROGRESS_SECONDS on a busy machine: a line still comes
    every QA_PROGRESS_SECONDS while the work goes on."""
    import time

    from qa.cli import _Bar

    monkeypatch.setenv("QA_PROGRESS_SECONDS", "0.2")
    bar = _Bar()
    bar.tty = False
    bar("indexing", 0, 500)
    bar("embedding", 32, 960)
    time.sleep(1.3)  # no call at all meanwhile: the embedder is busy
    bar.close()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("indexing: 0/500")]
    assert len(lines) >= 4 and "embedding the next batch: 32/960 texts" in lines[0]
