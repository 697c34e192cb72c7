"""Speed and memory at library scale: prints figures, asserts nothing.

    python bench/scale.py --documents 1000 [--documents 10000] [--chunk-vectors embed|sentence-mean]
    python bench/scale.py --simulate --documents 100000    # everything after the embedder, at sizes it cannot reach

For each N: a synthetic library of N news-like documents in Russian, English and Uzbek (Latin and Cyrillic),
made by the same generator as ``qa eval --distractors`` (quality is measured elsewhere; this is for speed and
memory), indexed with ``qa index add`` in a fresh process, then:

- indexing: source characters/s and documents/s end to end, and the raw embedder on the same sentences;
- peak RSS of the indexing process, index size on disk;
- ``qa ask`` cold start: the first process after indexing (the writer left the lexicon file filled), the first on
  a machine without that file (it fetches and tokenises every chunk once), then a new process per question,
  median of 3;
- warm ``answer()`` p50 / p95 over the test part's questions, and the RSS of that answering process;
- adding 100 more documents to it (and, for comparison, to an empty library), and removing one;
- ``--server``: the answering figures again with the same vectors served by ``chroma run`` to a second ``QA_HOME``
  (a second machine: its first question fetches every chunk once), and the server's peak RSS.

``--simulate``: the hashing embedder (``QA_EMBEDDER=hashing:384``), which costs nothing, and documents of news
length (three generated items of one language joined, about 1,500 characters): a library of 100,000 builds in
minutes and shows what start-up, memory, lexical search, Chroma and the decision cost at that size. Embedding
real text with the packaged model runs at about 1,350 characters/s here (about nine hours for 100,000 documents).
Every figure is a whole-process figure measured here, in child processes (``os.wait4`` for their peak RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

WARM = r"""
import json, resource, statistics, sys, time
from qa.config import Settings
from qa.engine import Engine
from qa.eval.dataset import bundled_set, load
engine = Engine(Settings(home=sys.argv[1]))
started = time.perf_counter()
engine.answer("warm up: who met in Tashkent?")
first = time.perf_counter() - started
times = []
for item in load(bundled_set("test")):
    if item.history:
        continue
    t = time.perf_counter()
    engine.answer(item.question)
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"first": first, "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                  "n": len(times), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RAW = r"""
import json, sys, time
from qa.models.embedders import get_embedder
from qa.language.text import split_sentences
texts = [s.text for p in sys.argv[1:] for s in split_sentences(open(p, encoding="utf-8").read())]
embedder = get_embedder()
embedder.embed_passages(["warm up"])
t = time.perf_counter()
embedder.embed_passages(texts)
d = time.perf_counter() - t
print(json.dumps({"texts": len(texts), "chars": sum(map(len, texts)), "seconds": d}))
"""


def run(cmd, env) -> tuple[float, int, str]:
    """Seconds, peak RSS (MB, from ``os.wait4``) and stdout of a child process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, cmd[:6]))} failed ({proc.returncode}):\n{err.read()[-2000:]}")
        return seconds, int(usage.ru_maxrss / 1024), out.read()


def news_length(n: int, seed: int, prefix: str, per: int = 3) -> list[tuple[str, str]]:
    """``n`` generated documents of news length: ``per`` generated items of the same language group joined."""
    from qa.eval.distractors import GROUPS, make_distractors

    base = make_distractors(n * per, seed)
    groups = len(GROUPS)
    out = []
    for j in range(n):
        g, k = j % groups, j // groups
        parts = [base[g + groups * (k * per + m)] for m in range(per)]
        out.append((f"{prefix}_{j + 1:07d}_{GROUPS[g]}.txt", "\n".join(text for _, text in parts)))
    return out


def write_documents(folder: Path, n: int, seed: int, simulate: bool, prefix: str = "sim") -> list[Path]:
    from qa.eval.distractors import make_distractors, write_files

    return write_files(folder, news_length(n, seed, prefix) if simulate else make_distractors(n, seed))


def _more_documents(folder: Path, seed: int, simulate: bool, prefix: str, rename: str) -> list[Path]:
    """100 documents to add to a built library; templates (not ``simulate``) are renamed with ``rename`` in front,
    as their names would clash with the library's."""
    added = write_documents(folder, 100, seed, simulate, prefix=prefix)
    return added if simulate else [p.rename(p.with_name(rename + p.name)) for p in added]


def measure(
    n: int, work: Path, env: dict, sample: int, reuse: bool = False, simulate: bool = False, write_seed: int = 2
) -> dict:
    folder = work / f"docs-{n}"
    home = work / f"home-{n}"
    paths = write_documents(folder, n, 1, simulate)
    chars = sum(len(p.read_text(encoding="utf-8")) for p in paths)
    env = dict(env, QA_HOME=str(home))
    out = {"documents": n, "source_chars": chars}

    raw_s, _, raw_out = run([sys.executable, "-c", RAW] + [str(p) for p in paths[:sample]], env)
    raw = json.loads(raw_out)
    out["raw_embedder_chars_per_s"] = raw["chars"] / raw["seconds"]
    out["raw_embedder_texts_per_s"] = raw["texts"] / raw["seconds"]

    if reuse and (home / "chroma").exists():
        out.update(
            index_seconds=float("nan"), chars_per_s=float("nan"), documents_per_s=float("nan"), index_peak_rss_mb=0
        )
    else:
        seconds, rss, _ = run(QA + ["index", "add", str(folder)], dict(env, QA_PROGRESS_SECONDS="60"))
        out.update(
            index_seconds=seconds, chars_per_s=chars / seconds, documents_per_s=n / seconds, index_peak_rss_mb=rss
        )
    out["index_disk_mb"] = sum(f.stat().st_size for f in home.rglob("*") if f.is_file()) / 2**20

    out["cold_ask_first_s"] = run(QA + ["ask", "Who founded the IIJ?"], env)[0]
    shutil.rmtree(home / "cache", ignore_errors=True)  # a machine without the lexicon file: it fetches every chunk
    out["cold_ask_no_lexicon_s"] = run(QA + ["ask", "Who founded the IIJ?"], env)[0]
    out["lexicon_mb"] = sum(f.stat().st_size for f in (home / "cache").glob("*")) / 2**20
    colds = [run(QA + ["ask", "Who founded the IIJ?"], env)[0] for _ in range(3)]
    out["cold_ask_s"] = statistics.median(colds)

    _, rss, warm_out = run([sys.executable, "-c", WARM, str(home)], env)
    warm = json.loads(warm_out)
    out.update(
        warm_first_s=warm["first"],
        warm_p50_ms=1000 * warm["p50"],
        warm_p95_ms=1000 * warm["p95"],
        answering_rss_mb=warm["rss_mb"],
    )

    # Writes: 100 more documents (new names, other text) into this library and into an empty one; one removed.
    more = work / f"more-{n}-{write_seed}"
    added = _more_documents(more, write_seed, simulate, f"more{write_seed}", "more_")
    out["add_100_s"] = run(QA + ["index", "add", str(more)], env)[0]
    empty = work / f"empty-{n}"
    shutil.rmtree(empty, ignore_errors=True)
    out["add_100_empty_s"] = run(QA + ["index", "add", str(more)], dict(env, QA_HOME=str(empty)))[0]
    shutil.rmtree(empty, ignore_errors=True)
    out["remove_1_s"] = run(QA + ["index", "remove", added[0].name], env)[0]
    out["ask_after_writes_s"] = run(QA + ["ask", "Who founded the IIJ?"], env)[0]
    return out


def measure_server(n: int, work: Path, env: dict, simulate: bool = False, write_seed: int = 2) -> dict:
    """The answering figures with the vectors on a Chroma server (``chroma run`` over the same folder): the answering
    process no longer holds the vector indexes, the server does. A separate ``QA_HOME``: a second machine."""
    import socket

    home = work / f"home-{n}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = str(Path(sys.executable).parent / "chroma")
    log = open(work / f"chroma-server-{n}.log", "w")
    server = subprocess.Popen(
        [chroma, "run", "--path", str(home / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("chroma run did not start")
                time.sleep(0.5)
        replica = work / f"replica-{n}"
        shutil.rmtree(replica, ignore_errors=True)
        env = dict(env, QA_HOME=str(replica), QA_CHROMA_URL=f"http://127.0.0.1:{port}")
        out: dict = {}
        out["server_first_ask_s"] = run(QA + ["ask", "Who founded the IIJ?"], env)[0]  # fetches every version once
        out["server_cold_ask_s"] = statistics.median(
            run(QA + ["ask", "Who founded the IIJ?"], env)[0] for _ in range(3)
        )
        _, rss, warm_out = run([sys.executable, "-c", WARM, str(replica)], env)
        warm = json.loads(warm_out)
        out.update(
            server_warm_p50_ms=1000 * warm["p50"],
            server_warm_p95_ms=1000 * warm["p95"],
            server_answering_rss_mb=warm["rss_mb"],
        )
        # Writes through the server: 100 documents more, one removed, the next question (which reloads).
        more = work / f"more-{n}-server-{write_seed}"
        added = _more_documents(more, 1000 + write_seed, simulate, f"srv{write_seed}", "srv_")
        out["server_add_100_s"] = run(QA + ["index", "add", str(more)], env)[0]
        out["server_remove_1_s"] = run(QA + ["index", "remove", added[0].name], env)[0]
        out["server_ask_after_writes_s"] = run(QA + ["ask", "Who founded the IIJ?"], env)[0]
        with open(f"/proc/{server.pid}/status") as f:
            peak = next(line for line in f if line.startswith("VmHWM"))
        out["chroma_server_peak_rss_mb"] = int(peak.split()[1]) / 1024
        return out
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _print_server(r: dict) -> None:
    print(
        f"  vectors on a Chroma server (a second machine): its first qa ask {r['server_first_ask_s']:.2f} s, "
        f"later {r['server_cold_ask_s']:.2f} s; warm p50 {r['server_warm_p50_ms']:.0f} ms, p95 "
        f"{r['server_warm_p95_ms']:.0f} ms; answering RSS {r['server_answering_rss_mb']:.0f} MB; the "
        f"server's peak RSS {r['chroma_server_peak_rss_mb']:.0f} MB",
    )
    print(
        f"  through the server: adding 100 documents {r['server_add_100_s']:.1f} s, removing one "
        f"{r['server_remove_1_s']:.1f} s, the next qa ask {r['server_ask_after_writes_s']:.2f} s",
        flush=True,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, action="append", help="library sizes (default 1000)")
    parser.add_argument("--chunk-vectors", choices=["embed", "sentence-mean"], help="QA_CHUNK_VECTORS for the build")
    parser.add_argument("--work", help="folder for the libraries and indexes (default: a temporary one, removed)")
    parser.add_argument("--sample", type=int, default=200, help="documents whose sentences time the raw embedder")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="the hashing embedder and news-length generated documents: sizes the real embedder cannot reach here",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --work: keep an index built there before (indexing figures are not measured)",
    )
    parser.add_argument(
        "--write-seed",
        type=int,
        default=2,
        help="seed (and name prefix) of the 100 documents added: another one for each run on a reused library",
    )
    parser.add_argument(
        "--server",
        action="store_true",
        help="also measure answering with the same vectors served by `chroma run` (a second machine's figures)",
    )
    parser.add_argument(
        "--server-only",
        action="store_true",
        help="with --work and --reuse: only the Chroma server figures, on the index built there before",
    )
    args = parser.parse_args(argv)
    if args.server_only and not (args.work and args.reuse):
        parser.error("--server-only needs --work and --reuse (an index built before)")
    sizes = args.documents or [1000]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qa-scale-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if args.simulate:
        env["QA_EMBEDDER"] = "hashing:384"
    if args.chunk_vectors:
        env["QA_CHUNK_VECTORS"] = args.chunk_vectors
    results = []
    try:
        for n in sorted(sizes):
            if args.server_only:
                r = {"documents": n, **measure_server(n, work, env, args.simulate, args.write_seed)}
                results.append(r)
                print(f"N={n}:")
                _print_server(r)
                continue
            r = measure(
                n,
                work,
                env,
                args.sample,
                reuse=args.reuse and bool(args.work),
                simulate=args.simulate,
                write_seed=args.write_seed,
            )
            results.append(r)
            print(f"N={n}: {r['source_chars']:,} source characters")
            print(
                f"  indexing: {r['index_seconds']:.0f} s, {r['chars_per_s']:,.0f} chars/s, "
                f"{r['documents_per_s']:.1f} documents/s; raw embedder on the same sentences "
                f"{r['raw_embedder_chars_per_s']:,.0f} chars/s ({r['raw_embedder_texts_per_s']:.1f} texts/s)"
            )
            print(f"  indexing peak RSS {r['index_peak_rss_mb']:,} MB; index on disk {r['index_disk_mb']:.0f} MB")
            print(
                f"  qa ask cold {r['cold_ask_s']:.2f} s (median of 3); the first process after indexing "
                f"{r['cold_ask_first_s']:.2f} s; the first on a machine without the {r['lexicon_mb']:.1f} MB lexicon "
                f"file {r['cold_ask_no_lexicon_s']:.2f} s"
            )
            print(
                f"  warm answer() p50 {r['warm_p50_ms']:.0f} ms, "
                f"p95 {r['warm_p95_ms']:.0f} ms (first {r['warm_first_s']:.2f} s); answering RSS "
                f"{r['answering_rss_mb']:.0f} MB",
                flush=True,
            )
            print(
                f"  adding 100 documents: {r['add_100_s']:.1f} s (to an empty library: {r['add_100_empty_s']:.1f} s); "
                f"removing one: {r['remove_1_s']:.1f} s; the next qa ask: {r['ask_after_writes_s']:.2f} s",
                flush=True,
            )
            if args.server:
                r.update(measure_server(n, work, env, args.simulate, args.write_seed))
                _print_server(r)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
