"""bench/soak.py, briefly: the real server (hashing embedder) for about 20 s under chat clients, CLI uploads and
removes, a CLI writer killed with kill -9 mid-add, a login flood and a hung language model: no unexpected error,
every document added and not removed listed and found, every removed one gone, the temporary folder removed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_a_short_soak_has_no_unexpected_error(tmp_path):
    report_path = tmp_path / "soak.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--minutes",
            "0.34",
            "--embedder",
            "hashing:256",
            "--clients",
            "2",
            "--kills",
            "1",
            "--batch-docs",
            "9",
            "--flood-every",
            "5",
            "--upload-every",
            "5",
            "--json",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert report_path.exists(), done.stderr[-2000:]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    unexpected = [e for e in report["errors"] if not e["expected"]]
    assert report["unexpected"] == 0 and not unexpected, unexpected
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Unexpected errors in total: 0" in done.stdout
    assert report["answered_ok"] > 10 and report["per_minute"]
    final = report["final"]
    assert not final["missing"] and not final["removed_still_listed"] and not final["extra"]
    assert not final["not_found"] and not final["removed_served"]
    assert final["present"] >= 9 + 1  # the killed batch, completed by the re-run, and at least one upload
    assert report["kills"] and report["kills"][0]["rerun_ok"]
    assert all(f.get("real_login") == 200 for f in report["flood"])
