"""Speed figures on this machine: prints them, asserts nothing.

python bench/speed.py        (or: make bench)
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa.config import offline_defaults

offline_defaults()
ROOT = Path(__file__).resolve().parent.parent
QA = [sys.executable, "-m", "qa.cli"]


def timed(cmd, env) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> int:
    from qa.config import Settings
    from qa.engine import Engine
    from qa.eval.dataset import bundled_set, load

    home = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    env = dict(os.environ, QA_HOME=str(home))

    help_times = [timed(QA + ["--help"], env) for _ in range(5)]
    print(f"qa --help: median {statistics.median(help_times):.2f} s")

    engine = Engine(Settings(home=home))
    started = time.perf_counter()
    engine.ensure_index()
    build = time.perf_counter() - started
    print(f"index build, bundled corpus (5 documents): {build:.1f} s")

    snapshot = engine.library.snapshot()
    sentences = snapshot.sentence_texts()
    chunk_texts = [f"{c.title}. {c.text}" for c in snapshot.chunks]
    texts = chunk_texts + sentences
    started = time.perf_counter()
    engine.embedder.embed_passages(texts)
    raw = time.perf_counter() - started
    chars = sum(map(len, texts))
    rebuild_started = time.perf_counter()
    report = engine.library.rebuild()
    rebuild = time.perf_counter() - rebuild_started
    print(f"embedder raw: {len(texts)} texts ({chars} chars) in {raw:.1f} s = {chars / raw:.0f} chars/s")
    print(
        f"indexing the same texts end to end (rebuild): {rebuild:.1f} s = {chars / rebuild:.0f} chars/s; "
        f"ratio to raw embedder throughput: {raw / rebuild:.2f}"
    )
    print(
        f"  ({report.chunks} chunks + {report.sentences} sentences; embedding share of the rebuild "
        f"{report.embed_seconds / rebuild:.0%})"
    )

    questions = [i.question for i in load(bundled_set("test")) + load(bundled_set("tune"))]
    engine.answer(questions[0])  # warm
    latencies = []
    for _ in range(3):
        for q in questions:
            started = time.perf_counter()
            engine.answer(q)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[int(len(latencies) * 0.95)]
    print(f"warm answer(): n={len(latencies)} p50 {p50:.0f} ms, p95 {p95:.0f} ms")

    ask_times = [timed(QA + ["ask", "Who founded the IIJ?"], env) for _ in range(3)]
    print(f"qa ask as a whole process (index built): median {statistics.median(ask_times):.2f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this benchmark process: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
