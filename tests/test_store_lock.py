"""Another process holding the index's SQLite write lock (a `qa serve` loading the index while `qa index add`
writes): SQLite answers a transaction that has read and must then write "database is locked" at once instead
of waiting, and Chroma's collection settings change is such a transaction. The store waits it out."""

import subprocess
import sys
import time

import numpy as np
import pytest

from qa.errors import IndexLocked
from tests.conftest import make_engine

HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")  # the write lock; readers may still read
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def _hold_write_lock(home, seconds: float) -> subprocess.Popen:
    """Another process holds the write lock of the index's database for ``seconds`` (from when this returns)."""
    held = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home / "chroma" / "chroma.sqlite3"), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert held.stdout.readline().strip() == "locked"
    return held


def _collection(home):
    engine = make_engine(home)
    client = engine.library.store.client
    collection = client.get_or_create_collection("lock-probe", embedding_function=None)
    collection.upsert(ids=["a"], embeddings=np.ones((1, 8), dtype=np.float32))
    return collection


def test_a_settings_change_waits_while_another_process_holds_the_write_lock(home):
    collection = _collection(home)
    held = _hold_write_lock(home, 1.5)
    started = time.monotonic()
    collection.modify(configuration={"hnsw": {"sync_threshold": 500, "batch_size": 50}})
    waited = time.monotonic() - started
    held.wait(timeout=30)
    assert held.returncode == 0
    assert waited > 0.5  # it waited for the other process, then went through
    assert collection.get(ids=["a"])["ids"] == ["a"]


def test_a_lock_held_past_the_wait_is_a_clear_error(home, monkeypatch):
    collection = _collection(home)
    monkeypatch.setattr("qa.index.chroma.LOCK_WAIT", 0.3)
    held = _hold_write_lock(home, 5)
    try:
        with pytest.raises(IndexLocked, match="kept the index's database locked"):
            collection.modify(configuration={"hnsw": {"sync_threshold": 500, "batch_size": 50}})
    finally:
        held.kill()
        held.wait()
    collection.modify(configuration={"hnsw": {"sync_threshold": 500, "batch_size": 50}})  # free again
