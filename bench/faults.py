"""Fault probes, end to end: prints a table (probe, expected, observed, ok); exits 1 if any probe failed.

    python bench/faults.py [--kills 20] [--skip-server]

- kill -9 at random points during ``qa index add`` (streamed, in batches), ``qa index rebuild`` and
  ``qa index remove``: afterwards the index holds whole documents only (before, after, or for an add the
  batches committed so far), and running the same add again completes it with every document once;
- the store corrupted three ways (zeroed, garbled pages, truncated): one clear line, and ``qa index rebuild``
  brings every document back from the library;
- a chat server (real embedder) while the CLI adds, updates and rebuilds: it answers from the new state;
- a question asked in the chat while a 60 KB upload is being indexed: its latency;
- 30 wrong logins from one client while a logged-in client asks 20 questions: p95 with and without the flood;
- the disk full (before and during a command), read-only, and a damaged page under the local cache: every
  command gives one line with the cause and the way out (a disk never a rebuild), and the index is whole after;
- `qa index list` and `qa ask` run many times on a healthy, a killed and a damaged store: no signal at exit;
- content-free, oversized and malformed inputs through the Python API: declined or refused, quickly.

The index probes use the hashing embedder (crash safety does not depend on the model) with small batches,
so a kill lands mid-ingest; the server probes use the packaged multilingual model.
"""

from __future__ import annotations

import argparse
import collections
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

from qa.config import offline_defaults

offline_defaults()
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
    return dict(
        os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256", PYTHONPATH=str(ROOT), QA_BATCH_DOCUMENTS="4", **extra
    )


def qa(home: Path, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(QA + list(args), env=env_for(home), capture_output=True, text=True, timeout=timeout)


def state(home: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", STATE, str(home)], env=env_for(home), capture_output=True, text=True, timeout=300
    )
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
    for op, args in (
        ("add", ["index", "add", str(work / "new")]),
        ("rebuild", ["index", "rebuild"]),
        ("remove", ["index", "remove", base_docs[0].name]),
    ):
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
        results["completed"] += (
            rerun.returncode == 0 and set(st.get("docs", {})) == all_names and whole(st) and st["orphans"] == 0
        )
        shutil.rmtree(trial)
    if kills:
        table.add(
            f"kill -9 during `qa index add` of 40 documents (batches of 4), x{kills}",
            "whole documents only, before + committed batches; rerun completes, each document once",
            f"killed mid-run {results['killed']}/{kills}; whole {results['whole']}/{kills}; "
            f"between before and after {results['subset']}/{kills} (some batches in: {results['partial']}); "
            f"rerun complete {results['completed']}/{kills}",
            results["whole"] == results["subset"] == results["completed"] == kills,
        )

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
            table.add(
                f"kill -9 during `qa index {op}` (48 documents), x{kills}",
                "the state before or after, whole",
                f"killed mid-run {killed_count}/{kills}; before-or-after and whole {ok}/{kills}",
                ok == kills,
            )


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
        clear = "Traceback" not in listed.stderr and (
            listed.returncode != 0
            or "rebuild" in listed.stdout + listed.stderr
            or set(expected) <= set(listed.stdout.split())
        )
        rebuilt = qa(trial, "index", "rebuild")
        st = state(trial)
        back = set(st.get("docs", {})) == expected and whole(st)
        line = (listed.stderr or listed.stdout).strip().splitlines()
        table.add(
            f"store {name}, then `qa index list` and `qa index rebuild`",
            "one clear line; rebuild restores every document from the library",
            f'list: exit {listed.returncode}, "{(line[-1] if line else "")[:90]}"; rebuild exit {rebuilt.returncode}, '
            f"{len(st.get('docs', {}))}/{len(expected)} documents back",
            clear and rebuilt.returncode == 0 and back,
        )
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
        table.add(
            "server running; CLI adds a document",
            "the server answers from it",
            f'"{text.splitlines()[0][:70]}" cites zorbex.txt: {"zorbex.txt" in text}',
            "1987" in text and "zorbex.txt" in text,
        )

        doc.write_text("The Zorbex Institute was founded in 1991 by Ilona Varga in Samarkand.", encoding="utf-8")
        cli("index", "add", str(doc))
        text = client.predict("When was the Zorbex Institute founded?", api_name="/ask")
        table.add(
            "server running; CLI updates that document",
            "the new text is quoted, never the old",
            f"1991 quoted: {'1991' in text}; 1987 quoted: {'1987' in text}",
            "1991" in text and "1987" not in text,
        )

        done = cli("index", "rebuild")
        text = client.predict("When was the Zorbex Institute founded?", api_name="/ask")
        table.add(
            "server running; CLI rebuilds the index",
            "the server keeps answering",
            f'rebuild exit {done.returncode}; answer "{text.splitlines()[0][:60]}"',
            done.returncode == 0 and "1991" in text,
        )

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
        table.add(
            "a chat question while a 60 KB upload is indexed",
            "answered in under 2 s",
            f"{len(latencies)} questions during a {upload_s:.0f} s upload, slowest {worst:.2f} s",
            bool(latencies) and worst < 2.0,
        )
    finally:
        demo.close()


def probe_login_flood(table: Table, work: Path, questions: int = 20, wrong: int = 30) -> None:
    """A logged-in client's questions, alone and while another client sends ``wrong`` wrong logins: p95 of each."""
    import httpx
    from gradio_client import Client

    from qa.config import Settings
    from qa.engine import Engine
    from qa.ui.app import launch

    engine = Engine(Settings(home=work / "home-server"))
    engine.ensure_index()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    demo = launch(engine, host="127.0.0.1", port=port, auth="alice:s3cret", block=False)

    def p95(xs):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]

    try:
        user = Client(url + "/", auth=("alice", "s3cret"), verbose=False)

        def ask():
            times = []
            for _ in range(questions):
                t = time.perf_counter()
                user.predict("Who founded the IIJ?", api_name="/ask")
                times.append(time.perf_counter() - t)
            return times

        ask()  # warm
        started = time.perf_counter()
        alone = ask()
        pause = (time.perf_counter() - started) / wrong  # the wrong logins spread over the questions
        codes, flood_s = [], []

        def flood():
            t0 = time.perf_counter()
            # Another client (uvicorn takes X-Forwarded-For from loopback), guessing the real user's password.
            with httpx.Client(timeout=300, headers={"X-Forwarded-For": "203.0.113.7"}) as c:
                for _ in range(wrong):
                    codes.append(c.post(url + "/login", data={"username": "alice", "password": "guess"}).status_code)
                    time.sleep(pause)
            flood_s.append(time.perf_counter() - t0)

        attacker = threading.Thread(target=flood)
        attacker.start()
        flooded = ask()
        with httpx.Client(timeout=300) as c:  # the real user logs in afresh from her own address, mid-flood
            t = time.perf_counter()
            login = c.post(url + "/login", data={"username": "alice", "password": "s3cret"}).status_code
            login_s = time.perf_counter() - t
        attacker.join()
    finally:
        demo.close()
    counts = {code: codes.count(code) for code in sorted(set(codes))}
    table.add(
        f"{wrong} wrong logins from one client while a logged-in client asks {questions} questions",
        "p95 within 0.5 s of no flood; the flood refused (429) after 3, no one else slowed",
        f"p95 {p95(alone):.2f} s alone, {p95(flooded):.2f} s during the flood (max {max(flooded):.2f} s); "
        f"attacker got {counts} over {flood_s[0]:.1f} s; the user's fresh login {login} in {login_s:.3f} s",
        p95(flooded) <= p95(alone) + 0.5 and login == 200 and counts.get(429, 0) >= wrong - 4,
    )


# -- the store's own failures: a full or read-only disk, a damaged file under the local cache --------------------

# `qa` as it ran before the exit waited for the warm-up thread (a daemon thread nobody joins): the "before" column
# of the exit-crash probe.
_OLD_WARM = r"""
import sys, threading
import qa.index.store as store
def warming(collections, dimension):
    thread = threading.Thread(target=collections.warm, args=(dimension,), daemon=True)
    thread.start()
    return thread
store.warming = warming
store._exiting = threading.Event()  # never set: the warm-up does not stop at exit
from qa.cli import main
sys.exit(main(sys.argv[1:]))
"""
_RUST_NOISE = ("thread '", "stack backtrace:", "note: ", "Expect it to be fetched")  # a Rust panic's own lines


def _last_line(done: subprocess.CompletedProcess) -> str:
    """The last line the command wrote to stderr, leaving out progress lines and what a Rust panic prints."""
    lines = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and not line.startswith(_RUST_NOISE) and not line.startswith(("indexing", "embedding"))
    ]
    return lines[-1] if lines else ""


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _garble_log(home: Path) -> None:
    """Random bytes over the root page of Chroma's log table (embeddings_queue): every collection's reads fail,
    while the collections' own records (sysdb) and the local cache of the document list stay readable."""
    import sqlite3

    database = home / "chroma" / "chroma.sqlite3"
    con = sqlite3.connect(database)
    try:
        size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'embeddings_queue'").fetchone()[0]
    finally:
        con.close()
    data = bytearray(database.read_bytes())
    rng = random.Random(1)
    data[(root - 1) * size : root * size] = bytes(rng.randrange(256) for _ in range(size))
    database.write_bytes(bytes(data))


def probe_store_errors(table: Table, work: Path) -> None:
    """Each command on a full disk, a read-only one and a store damaged under its cache: one line with the cause
    and the way out (a disk is never answered with a rebuild), the right exit code, and afterwards the index whole."""
    docs = work / "se-docs"
    make_folder(docs, 12, seed=21, prefix="se")
    more = work / "se-more"
    make_folder(more, 120, seed=22, prefix="more")
    base = work / "home-se"
    qa(base, "index", "add", str(docs))
    first = sorted(p.name for p in docs.iterdir())[0]
    commands = [
        ("list", ["index", "list"]),
        ("ask", ["ask", "Who founded the IIJ?"]),
        ("check", ["index", "check"]),
        ("add", ["index", "add", str(more)]),
        ("remove", ["index", "remove", first]),
        ("rebuild", ["index", "rebuild"]),
    ]

    def run_all(home: Path, cause: str) -> tuple[list, bool]:
        observed, ok = [], True
        for name, args in commands:
            done = qa(home, *args)
            line = _last_line(done)
            good = (
                done.returncode == 1
                and "Traceback" not in done.stderr
                and cause in line
                and ("`qa index rebuild`" not in line if cause != "damaged" else True)
            )
            ok &= good
            observed.append(f"{name} {done.returncode}{'' if good else ' (' + line[:60] + ')'}")
        return observed, ok

    # A damaged log page under a kept cache of the document list.
    home = work / "home-se-log"
    shutil.copytree(base, home)
    qa(home, "ask", "Who founded the IIJ?")  # the local cache of this store (it is named by the store's folder)
    _garble_log(home)
    listed = qa(home, "index", "list")
    rows = len(listed.stdout.splitlines()) - 1
    warned = "local cache" in listed.stderr and "`qa index rebuild`" in listed.stderr
    asked, checked = qa(home, "ask", "Who founded the IIJ?"), qa(home, "index", "check")
    rebuilt = qa(home, "index", "rebuild")
    after = qa(home, "index", "check")
    table.add(
        "Chroma's log page garbled under a kept cache; `qa index list`, `ask`, `check`, then `rebuild`",
        "list: the cached rows, a warning that the index cannot be read (exit 1); ask/check: one line, "
        "`qa index rebuild`; rebuild restores it",
        f"list exit {listed.returncode}, {rows} rows, warning: {warned}; ask exit {asked.returncode} "
        f'"{_last_line(asked)[:70]}…"; check exit {checked.returncode}; rebuild exit {rebuilt.returncode}, '
        f'then "{after.stdout.strip()[:40]}…"',
        listed.returncode == 1
        and rows == 12
        and warned
        and asked.returncode == 1
        and "damaged" in _last_line(asked)
        and "Traceback" not in asked.stderr + checked.stderr
        and checked.returncode == 1
        and rebuilt.returncode == 0
        and after.stdout.startswith("healthy"),
    )

    if os.geteuid() != 0:
        table.add("full / read-only disk", "(needs root: tmpfs and read-only mounts)", "skipped: not root", True)
        return
    # The disk full before the command: a tmpfs filled with a file.
    disk = work / "se-tmpfs"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)):
        table.add("full / read-only disk", "(needs mount)", "skipped: mount refused", True)
        return
    try:
        home = disk / "home"
        shutil.copytree(base, home)
        qa(home, "ask", "Who founded the IIJ?")
        filler = disk / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        observed, ok = run_all(home, "is full")
        filler.unlink()
        again = qa(home, "index", "add", str(more))
        healthy = qa(home, "index", "check")
        table.add(
            "the disk full before each command (tmpfs filled): list, ask, check, add, remove, rebuild",
            'one line "the disk … is full", free space and run it again (never a rebuild), exit 1; the '
            "same add after freeing space completes",
            f"exit codes {', '.join(observed)}; after freeing: add exit {again.returncode}, "
            f'"{healthy.stdout.strip()[:48]}…"',
            ok and again.returncode == 0 and healthy.stdout.startswith("healthy"),
        )
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)

    # The disk fills during an add (120 documents on a 4 MB tmpfs): Chroma's error gives no reason.
    if _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)):
        try:
            home = disk / "home"
            added = qa(home, "index", "add", str(more))
            asked = qa(home, "ask", "Who founded the IIJ?")
            _mount("-o", "remount,size=64m", str(disk))
            again = qa(home, "index", "add", str(more))
            healthy = qa(home, "index", "check")
            table.add(
                "the disk fills during `qa index add` of 120 documents (4 MB tmpfs); `ask` on the full disk; "
                "the add again after freeing space",
                'one line "is full" each (exit 1), no traceback; the rerun completes, the index healthy',
                f'add exit {added.returncode} "{_last_line(added)[:90]}…"; ask exit {asked.returncode}; '
                f'rerun exit {again.returncode}; "{healthy.stdout.strip()[:48]}…"',
                added.returncode == 1
                and "is full" in _last_line(added)
                and "Traceback" not in added.stderr
                and "Traceback" not in asked.stderr
                and asked.returncode in (0, 1)
                and again.returncode == 0
                and healthy.stdout.startswith("healthy"),
            )
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True)

    # A read-only disk: the home bind-mounted read-only.
    source = work / "home-se-ro-source"
    shutil.copytree(base, source)
    mounted = work / "home-se-ro"
    mounted.mkdir()
    if _mount("--bind", str(source), str(mounted)) and _mount("-o", "remount,bind,ro", str(mounted)):
        try:
            observed, ok = run_all(mounted, "cannot be written")
            table.add(
                "a read-only disk (the home bind-mounted read-only): list, ask, check, add, remove, rebuild",
                'one line "cannot be written", make it writable and run it again (never a rebuild), exit 1',
                f"exit codes {', '.join(observed)}",
                ok,
            )
        finally:
            subprocess.run(["umount", str(mounted)], capture_output=True)


def probe_exit_crashes(table: Table, work: Path, runs: int, before: bool = False) -> None:
    """``runs`` times `qa index list` and `qa ask` on a healthy store, on one right after a kill -9 of an add, and on
    a damaged one: how many exited non-zero (other than the expected 1 on the damaged store) and how many died of a
    signal (SIGSEGV at exit: a warm-up thread left inside Chroma's Rust core when the interpreter shut down).
    ``before``: also with the warm-up as it was (a daemon thread the exit does not wait for)."""
    from concurrent.futures import ThreadPoolExecutor

    docs = work / "ex-docs"
    make_folder(docs, 20, seed=31, prefix="ex")
    more = work / "ex-more"
    make_folder(more, 300, seed=32, prefix="exmore")
    healthy = work / "home-ex-healthy"
    qa(healthy, "index", "add", str(docs))
    qa(healthy, "ask", "Who founded the IIJ?")
    killed = work / "home-ex-killed"
    shutil.copytree(healthy, killed)
    proc = subprocess.Popen(
        QA + ["index", "add", str(more)],
        env=dict(env_for(killed), QA_BATCH_DOCUMENTS="25"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(6.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    damaged = work / "home-ex-damaged"
    shutil.copytree(healthy, damaged)
    data = bytearray((damaged / "chroma" / "chroma.sqlite3").read_bytes())
    rng = random.Random(7)
    for _ in range(8):
        at = rng.randrange(4096, max(4097, len(data) - 4096))
        data[at : at + 4096] = bytes(rng.randrange(256) for _ in range(4096))
    (damaged / "chroma" / "chroma.sqlite3").write_bytes(bytes(data))

    def once(template: Path, args: list, old: bool) -> int:
        slot = threading.current_thread().name  # one folder per worker: a fresh copy of the state each run
        home = work / f"ex-run-{template.name}-{slot}"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(template, home)
        command = [sys.executable, "-c", _OLD_WARM] if old else QA
        done = subprocess.run(
            command + args, env=env_for(home, PYTHONFAULTHANDLER="1"), capture_output=True, text=True, timeout=600
        )
        return done.returncode

    for old in [True, False] if before else [False]:
        for label, template, expected in (
            ("on a healthy store", healthy, 0),
            ("right after a kill -9 of an add", killed, 0),
            ("on a damaged store", damaged, 1),
        ):
            for name, args in (("qa index list", ["index", "list"]), ("qa ask", ["ask", "Who founded the IIJ?"])):
                with ThreadPoolExecutor(2) as pool:
                    codes = list(pool.map(lambda i: once(template, args, old), range(runs)))
                signals = sum(1 for c in codes if c < 0)
                other = sum(1 for c in codes if c != expected)
                table.add(
                    f"{name} x{runs} {label}{' (before: warm-up not waited for)' if old else ''}",
                    f"exit {expected} every time, no signal",
                    f"exit codes {dict(sorted(collections.Counter(codes).items()))}; "
                    f"unexpected {other}, signals {signals}",
                    old or other == 0,
                )


def probe_inputs(table: Table, work: Path) -> None:
    from qa.config import Settings
    from qa.engine import Engine
    from qa.errors import QAError

    engine = Engine(Settings(home=work / "home-server"))
    cases = [
        ("🙂🔥", "declined: no_content"),
        ("?", "declined: no_content"),
        ("12345", "declined: no_content"),
        ("who\x00 founded", "answered or declined"),
        ("x" * 2000, "refused: too long"),
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
        table.add(
            f"question {question[:12]!r}{'…' if len(question) > 12 else ''}",
            expected,
            f"{observed}, {seconds:.2f} s",
            ok and seconds < 2,
        )
    for label, kwargs in (
        (
            "history of 40,000 characters",
            {"history": [{"role": "user", "content": "x" * 20000}, {"role": "assistant", "content": "y" * 20000}]},
        ),
        ("history=123", {"history": 123}),
        ("k='5'", {"k": "5"}),
    ):
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
    parser.add_argument(
        "--kills-only-to-build",
        action="store_true",
        help="build the libraries the other probes need without killing anything (quick)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exit-runs", type=int, default=200, help="runs of each command in the exit-crash probe")
    parser.add_argument(
        "--exit-before",
        action="store_true",
        help="the exit-crash probe also as before the fix (the warm-up thread not waited for at exit)",
    )
    parser.add_argument("--login-flood-only", action="store_true", help="only the login-flood probe (quick)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qa-faults-"))
    table = Table()
    if args.login_flood_only:
        try:
            probe_login_flood(table, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        table.print()
        return 0 if all(ok for *_, ok in table.rows) else 1
    try:
        probe_kills(table, work, 0 if args.kills_only_to_build else args.kills, random.Random(args.seed))
        probe_corruption(table, work)
        probe_store_errors(table, work)
        probe_exit_crashes(table, work, args.exit_runs, before=args.exit_before)
        if not args.skip_server:
            probe_server(table, work)
            probe_login_flood(table, work)
            probe_inputs(table, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table.print()
    return 0 if all(ok for *_, ok in table.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
