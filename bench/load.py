"""Load on the chat: N concurrent gradio_client users asking M questions each over /ask, on loopback.

    python bench/load.py [--clients 8] [--questions 20]      (or: make bench)

Prints errors and the p50 / p95 answer times seen by the clients; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time

from qa.config import offline_defaults

offline_defaults()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args(argv)

    from gradio_client import Client

    from qa.config import Settings
    from qa.engine import Engine
    from qa.eval.dataset import bundled_set, load
    from qa.ui.app import launch

    home = os.environ.get("QA_HOME") or tempfile.mkdtemp(prefix="qa-load-")
    engine = Engine(Settings(home=home))
    port = _free_port()
    demo = launch(engine, host="127.0.0.1", port=port, block=False)
    url = f"http://127.0.0.1:{port}/"
    questions = [i.question for i in load(bundled_set("test")) + load(bundled_set("tune"))]

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def user(n: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(f"client {n}: {exc}")
            return
        for i in range(args.questions):
            q = questions[(n * args.questions + i) % len(questions)]
            started = time.perf_counter()
            try:
                text = client.predict(q, api_name="/ask")
                ok = isinstance(text, str) and text and not text.startswith("Error:")
            except Exception as exc:
                ok, text = False, str(exc)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                if not ok:
                    errors.append(f"client {n} question {i}: {text[:80]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    demo.close()

    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else 0
    p95 = latencies[int(len(latencies) * 0.95)] if latencies else 0
    print(
        f"{args.clients} clients x {args.questions} questions: {len(latencies)} answered, {len(errors)} errors, "
        f"{wall:.1f} s wall"
    )
    print(f"answer time seen by clients: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    for e in errors[:10]:
        print("  error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
