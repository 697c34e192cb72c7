"""Where the answer-bearing sentence ranked, and why, for the questions the pipeline gets wrong.

    python -m qa.eval.failures [eval/tune.jsonl] [ID ...]

For each answerable question whose best-scored sentence holds none of the expected answers, prints the
top three candidates and the best answer-bearing one, with their features and weighted scores. A working
tool for improving answer selection: use it on the tuning part, never to fit the test part.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from qa.engine import Engine

from qa.eval.dataset import bundled_set, load
from qa.answering.tuning import FEATURES

from qa.eval.tune import collect


def report(rows, show: int = 3) -> list[str]:
    lines = []
    for r in rows:
        if not r["answerable"] or r["y"][0]:
            continue
        right = [i for i, ok in enumerate(r["y"]) if ok]
        where = (
            f"first answer-bearing sentence at rank {right[0] + 1} of {len(r['y'])}"
            if right
            else "no answer-bearing sentence among the candidates"
        )
        lines.append(f"{r['id']}: {r['question']}\n  {where}")
        for i in list(range(min(show, len(r["scored"])))) + [j for j in right[:1] if j >= show]:
            s = r["scored"][i]
            features = " ".join(f"{name}={value:.2f}" for name, value in zip(FEATURES, s.features.vector()) if value)
            mark = "+" if r["y"][i] else "-"
            lines.append(f"  {mark} #{i + 1} {s.score:.3f} [{s.language} {s.source}] {s.text[:100]}")
            lines.append(f"      {features}")
    return lines


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    path = argv[0] if argv and argv[0].endswith(".jsonl") else str(bundled_set("tune"))
    wanted = {a for a in argv if not a.endswith(".jsonl")}
    engine = Engine()
    items = [i for i in load(path, {r.name for r in engine.documents()}) if not wanted or i.id in wanted]
    engine.tuning = dataclasses.replace(engine.tuning, found_threshold=-np.inf)
    rows = collect(engine, items)
    lines = report(rows)
    wrong = sum(1 for r in rows if r["answerable"] and not r["y"][0])
    print("\n".join(lines))
    print(
        f"{wrong} of {sum(r['answerable'] for r in rows)} answerable questions: best sentence holds no expected answer"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
