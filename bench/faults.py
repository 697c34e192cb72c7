"""Fault probes, end to end: prints a table (probe, expected, observed, ok); exits 1 if any probe failed.

    python bench/faults.py [--kills 20] [--skip-server]

- kill -9 at random points during ``qa index add`` (streamed, in batches), ``qa index rebuild`` and
  ``qa index remove``: afterwards the index holds whole documents only (before, after, or for an add the
  batches committed so far), and running the same add again completes it with every document once;
- the store corrupted three ways (zeroed, garbled pages, truncated): one clear line, and ``qa index rebuild``
  brings every document back from the library;
- a chat server (real embedder) while the CLI adds, updates and rebuilds: it answers from the new state;
- a question asked in the chat while a 60 KB upload is being indexed: its latency;
- content-free, oversized and malformed inputs through the Python API: declined or refused, quickly.

The index probes use the hashing embedder (crash safety does not depend on the model) with small batches,
so a kill lands mid-ingest; the server probes use the packaged multilingual model.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
QA = [sys.executable, "-m", "qa.cli"]

# What a fresh process sees: every listed document with its hash, whether its chunks are all there, and
# whether the library's manifest names it. Printed as JSON.
STATE = r"""
import json, sys
from qa.config import Settings
from qa.engine import Engine
from qa.errors import QAError
engine = Engine(Settings(home=sys.argv[1], embedder="hashing:256", auto_build=False))
try:
    snap = engine.library.snapshot()
except QAError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(0)
counts = {}
for c in snap.chunks:
    counts[c.doc_hash] = counts.get(c.doc_hash, 0) + 1
docs = {d.name: {"hash": d.content_hash, "whole": counts.get(d.content_hash, 0) == d.chunks and d.chunks > 0}
        for d in snap.documents.values()}
stored = snap.stored_counts()["chunks"]
print(json.dumps({"docs": docs, "orphans": stored - sum(counts.values()),
                  "manifest": sorted(engine.library.manifest.entries())}))
"""


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, bool]] = []

    def add(self, probe: str, expected: str, observed: str, ok: bool) -> None:
        self.rows.append((probe, expected, observed, ok))
        print(f"{'ok  ' if ok else 'FAIL'} {probe}: {observed}", file=sys.stderr, flush=True)

    def print(self) -> None:
        print("| probe | expected | observed | ok |\n|---|---|---|---|")
        for probe, expected, observed, ok in self.rows:
            print(f"| {probe} | {expected} | {observed} | {'yes' if ok else '**no**'} |")


def env_for(home: Path, **extra) -> dict:
    return dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256", PYTHONPATH=str(ROOT),
                QA_BATCH_DOCUMENTS="4", **extra)


def qa(home: Path, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(QA + list(args), env=env_for(home), capture_output=True, text=True, timeout=timeout)


def state(home: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", STATE, str(home)], env=env_for(home), capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        return {"error": "traceback" if "Traceback" in done.stderr else done.stderr.strip()[-200:]}
    return json.loads(done.stdout)


def killed_run(home: Path, args: list[str], delay: float) -> bool:
    """Start ``qa ARGS`` and kill -9 it after ``delay`` seconds; True if it was still running then."""
    proc = subprocess.Popen(QA + args, env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def make_folder(folder: Path, n: int, seed: int, prefix: str) -> list[Path]:
    """``n`` generated news items named ``{prefix}_…`` (names must differ between folders: a name is a document)."""
    from qa.eval.distractors import make_distractors

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in make_distractors(n, seed):
        path = folder / f"{prefix}_{name}"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def whole(st: dict) -> bool:
    return "docs" in st and all(d["whole"] for d in st["docs"].values())


def probe_kills(table: Table, work: Path, kills: int, rng: random.Random) -> None:
    base_docs = make_folder(work / "base", 8, seed=11, prefix="base")
    new_docs = make_folder(work / "new", 40, seed=12, prefix="new")
    base = work / "home-base"
    qa(base, "index", "add", str(work / "base"))
    before = state(base)
    base_names = set(before["docs"])
    all_names = base_names | {p.name for p in new_docs}

    # How long each operation takes uninterrupted, so kills land inside it.
    durations = {}
    for op, args in (("add", ["index", "add", str(work / "new")]), ("rebuild", ["index", "rebuild"]),
                     ("remove", ["index", "remove", base_docs[0].name])):
        trial = work / f"home-time-{op}"
        shutil.copytree(base, trial)
        started = time.perf_counter()
        qa(trial, *args)
        durations[op] = time.perf_counter() - started
        shutil.rmtree(trial)

    # add: whole documents only, a subset of before + new; the same command again completes it.
    results = {"killed": 0, "whole": 0, "subset": 0, "completed": 0, "partial": 0}
    for i in range(kills):
        trial = work / f"home-add-{i}"
        shutil.copytree(base, trial)
        killed = killed_run(trial, ["index", "add", str(work / "new")], rng.uniform(0.3, 1.0) * durations["add"])
        st = state(trial)
        results["killed"] += killed
        results["whole"] += whole(st)
        listed = set(st.get("docs", {}))
        results["subset"] += base_names <= listed <= all_names
        results["partial"] += base_names < listed < all_names
        rerun = qa(trial, "index", "add", str(work / "new"))
        st = state(trial)
        results["completed"] += rerun.returncode == 0 and set(st.get("docs", {})) == all_names and whole(st) \
            and st["orphans"] == 0
        shutil.rmtree(trial)
    if kills:
        table.add(f"kill -9 during `qa index add` of 40 documents (batches of 4), x{kills}",
                  "whole documents only, before + committed batches; rerun completes, each document once",
                  f"killed mid-run {results['killed']}/{kills}; whole {results['whole']}/{kills}; "
                  f"between before and after {results['subset']}/{kills} (some batches in: {results['partial']}); "
                  f"rerun complete {results['completed']}/{kills}",
                  results["whole"] == results["subset"] == results["completed"] == kills)

    # rebuild and remove: the state before or after, never between.
    full = work / "home-full"
    shutil.copytree(base, full)
    qa(full, "index", "add", str(work / "new"))
    full_state = state(full)
    full_names = set(full_state["docs"])
    for op, args in (("rebuild", ["index", "rebuild"]), ("remove", ["index", "remove", base_docs[0].name])):
        ok = killed_count = 0
        for i in range(kills):
            trial = work / f"home-{op}-{i}"
            shutil.copytree(full, trial)
            killed_count += killed_run(trial, args, rng.uniform(0.3, 1.0) * durations[op] * 1.3)
            st = state(trial)
            names = set(st.get("docs", {}))
            after = full_names - {base_docs[0].name} if op == "remove" else full_names
            ok += whole(st) and names in (full_names, after)  # leftovers of a killed write are swept by the next one
            shutil.rmtree(trial)
        if kills:
            table.add(f"kill -9 during `qa index {op}` (48 documents), x{kills}", "the state before or after, whole",
                      f"killed mid-run {killed_count}/{kills}; before-or-after and whole {ok}/{kills}", ok == kills)


def probe_corruption(table: Table, work: Path) -> None:
    base = work / "home-full"
    expected = set(state(base)["docs"])

    def zeroed(path: Path) -> None:
        path.write_bytes(b"\0" * path.stat().st_size)

    def garbled(path: Path) -> None:
        data = bytearray(path.read_bytes())
        rng = random.Random(5)
        for _ in range(8):
            at = rng.randrange(4096, max(4097, len(data) - 4096))
            data[at : at + 4096] = bytes(rng.randrange(256) for _ in range(4096))
        path.write_bytes(bytes(data))

    def truncated(path: Path) -> None:
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)

    for name, damage in (("zeroed", zeroed), ("garbled pages", garbled), ("truncated to half", truncated)):
        trial = work / f"home-corrupt-{name.split()[0]}"
        shutil.copytree(base, trial)
        damage(trial / "chroma" / "chroma.sqlite3")
        listed = qa(trial, "index", "list")
        clear = "Traceback" not in listed.stderr and (listed.returncode != 0 or "rebuild" in listed.stdout + listed.stderr
                                                       or set(expected) <= set(listed.stdout.split()))
        rebuilt = qa(trial, "index", "rebuild")
        st = state(trial)
        back = set(st.get("docs", {})) == expected and whole(st)
        line = (listed.stderr or listed.stdout).strip().splitlines()
        table.add(f"store {name}, then `qa index list` and `qa index rebuild`",
                  "one clear line; rebuild restores every document from the library",
                  f"list: exit {listed.returncode}, \"{(line[-1] if line else '')[:90]}\"; rebuild exit {rebuilt.returncode}, "
                  f"{len(st.get('docs', {}))}/{len(expected)} documents back",
                  clear and rebuilt.returncode == 0 and back)
        shutil.rmtree(trial)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe_server(table: Table, work: Path) -> None:
    from gradio_client import Client

    from qa.config import Settings
    from qa.engine import Engine
    from qa.ui.app import launch

    home = work / "home-server"
    real_env = dict(os.environ, QA_HOME=str(home), PYTHONPATH=str(ROOT))
    real_env.pop("QA_EMBEDDER", None)
    engine = Engine(Settings(home=home))
    engine.ensure_index()
    port = _free_port()
    demo = launch(engine, host="127.0.0.1", port=port, block=False)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)

    def cli(*args):
        return subprocess.run(QA + list(args), env=real_env, capture_output=True, text=True, timeout=900)

    try:
        doc = work / "zorbex.txt"
        doc.write_text("The Zorbex Institute was founded in 1987 by Ilona Varga in Samarkand.", encoding="utf-8")
        cli("index", "add", str(doc))
        text = client.predict("When was the Zorbex Institute founded?", api_name="/ask")
        table.add("server running; CLI adds a document", "the server answers from it",
                  f"\"{text.splitlines()[0][:70]}\" cites zorbex.txt: {'zorbex.txt' in text}",
                  "1987" in text and "zorbex.txt" in text)

        doc.write_text("The Zorbex Institute was founded in 1991 by Ilona Varga in Samarkand.", encoding="utf-8")
        cli("index", "add", str(doc))
        text = client.predict("When was the Zorbex Institute founded?", api_name="/ask")
        table.add("server running; CLI updates that document", "the new text is quoted, never the old",
                  f"1991 quoted: {'1991' in text}; 1987 quoted: {'1987' in text}", "1991" in text and "1987" not in text)

        done = cli("index", "rebuild")
        text = client.predict("When was the Zorbex Institute founded?", api_name="/ask")
        table.add("server running; CLI rebuilds the index", "the server keeps answering",
                  f"rebuild exit {done.returncode}; answer \"{text.splitlines()[0][:60]}\"",
                  done.returncode == 0 and "1991" in text)

        # A question in the chat while an upload (the same engine, as the upload handler does) is indexed.
        from qa.eval.distractors import make_distractors

        big = work / "upload-60k.txt"
        parts, size = [], 0
        for _, t in make_distractors(400, seed=3):
            parts.append(t)
            size += len(t)
            if size > 60_000:
                break
        big.write_text("\n\n".join(parts), encoding="utf-8")
        writer = threading.Thread(target=lambda: engine.library.add([big], replace_from_other_folders=True))
        started = time.perf_counter()
        writer.start()
        time.sleep(2.0)
        latencies = []
        while writer.is_alive() and len(latencies) < 5:
            t = time.perf_counter()
            client.predict("Who founded the IIJ?", api_name="/ask")
            latencies.append(time.perf_counter() - t)
        writer.join()
        upload_s = time.perf_counter() - started
        worst = max(latencies) if latencies else float("nan")
        table.add("a chat question while a 60 KB upload is indexed",
                  "answered in under 2 s", f"{len(latencies)} questions during a {upload_s:.0f} s upload, "
                  f"slowest {worst:.2f} s", bool(latencies) and worst < 2.0)
    finally:
        demo.close()


def probe_inputs(table: Table, work: Path) -> None:
    from qa.config import Settings
    from qa.engine import Engine
    from qa.errors import QAError

    engine = Engine(Settings(home=work / "home-server"))
    cases = [
        ("🙂🔥", "declined: no_content"), ("?", "declined: no_content"), ("12345", "declined: no_content"),
        ("who\x00 founded", "answered or declined"), ("x" * 2000, "refused: too long"),
        ("bad \ud800 surrogate", "refused or answered"),
    ]
    for question, expected in cases:
        t = time.perf_counter()
        try:
            a = engine.answer(question)
            observed = f"found={a.found} reason={a.reason}"
            ok = (not a.found and a.reason == "no_content") if "no_content" in expected else "too long" not in expected
        except QAError as exc:
            observed = f"{type(exc).__name__}: {str(exc)[:50]}"
            ok = "declined" not in expected
        seconds = time.perf_counter() - t
        table.add(f"question {question[:12]!r}{'…' if len(question) > 12 else ''}", expected,
                  f"{observed}, {seconds:.2f} s", ok and seconds < 2)
    for label, kwargs in (("history of 40,000 characters", {"history": [{"role": "user", "content": "x" * 20000},
                                                                         {"role": "assistant", "content": "y" * 20000}]}),
                          ("history=123", {"history": 123}), ("k='5'", {"k": "5"})):
        t = time.perf_counter()
        try:
            a = engine.answer("Who founded the IIJ?", **kwargs)
            observed = f"answered (found={a.found})"
            ok = "40,000" in label
        except QAError as exc:
            observed = f"{type(exc).__name__}"
            ok = "40,000" not in label
        except Exception as exc:  # a traceback: the probe fails
            observed, ok = f"traceback {type(exc).__name__}", False
        seconds = time.perf_counter() - t
        table.add(label, "bounded (cut) or a clear error, quickly", f"{observed}, {seconds:.2f} s", ok and seconds < 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per operation (add, rebuild, remove)")
    parser.add_argument("--skip-server", action="store_true", help="only the index probes")
    parser.add_argument("--kills-only-to-build", action="store_true",
                        help="build the libraries the other probes need without killing anything (quick)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qa-faults-"))
    table = Table()
    try:
        probe_kills(table, work, 0 if args.kills_only_to_build else args.kills, random.Random(args.seed))
        probe_corruption(table, work)
        if not args.skip_server:
            probe_server(table, work)
            probe_inputs(table, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table.print()
    return 0 if all(ok for *_, ok in table.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
