"""How far answer selection can go with the candidates and features it has: a bound, not a result.

    python -m qa.eval.ceiling [eval/test.jsonl] [--distractors N]

For the answerable questions of a part, prints the share whose answer-bearing sentence is

- among the candidate sentences at all (retrieval's ceiling),
- among the sentences the decision stage lets be quoted (the rules' ceiling),
- ranked first by the current sentence weights, and
- ranked first by weights refitted on these same questions (``qa.eval.tune``'s fit).

The last figure is fitted on the part it reports on, so it is an upper bound for any re-weighting of the
current features, never an accuracy to quote; nothing is written. Each figure is also given per language.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

from qa.config import Settings
from qa.engine import Engine
from qa.eval.dataset import bundled_set, load
from qa.eval.distractors import add_distractors, default_home
from qa.eval.tune import collect, fit


def bounds(rows, current: np.ndarray) -> dict[str, dict[str, float]]:
    """Per language (and ``all``): the four shares described above, over the answerable rows; ``current``: the
    sentence weights in use."""
    refitted = fit(rows)
    out: dict[str, list] = {}
    for r in rows:
        if not r["answerable"]:
            continue
        trace = r["trace"]
        quotable = {c.id for c in trace.decision.eligible}
        in_quotable = any(ok and c.id in quotable for ok, c in zip(r["y"], r["scored"]))
        values = (
            bool(r["y"].any()),
            in_quotable,
            bool(r["y"][np.argmax(r["X"] @ current)]),
            bool(r["y"][np.argmax(r["X"] @ refitted)]),
        )
        for key in ("all", trace.query.language):
            out.setdefault(key, []).append(values)
    names = ("in_candidates", "quotable", "first_now", "first_refitted")
    return {
        key: {"questions": len(v), **{n: float(np.mean([x[i] for x in v])) for i, n in enumerate(names)}}
        for key, v in out.items()
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval.ceiling")
    parser.add_argument("file", nargs="?", default=str(bundled_set("test")))
    parser.add_argument(
        "--distractors",
        default="0",
        metavar="SPEC",
        help="with N distractor documents in the index (as qa eval --distractors)",
    )
    args = parser.parse_args(argv)
    if args.distractors not in ("", "0"):
        engine = Engine(Settings(home=default_home(args.distractors)))
        add_distractors(engine, args.distractors, notify=print)
    else:
        engine = Engine()
    items = load(args.file, {r.name for r in engine.documents()})
    engine.tuning = dataclasses.replace(engine.tuning, found_threshold=-np.inf)
    rows = collect(engine, items)
    print(
        f"{args.file}"
        + (f" with {args.distractors} distractor documents" if args.distractors not in ("", "0") else "")
        + ": answerable questions whose answer-bearing sentence is ..."
    )
    print(
        f"{'':6} {'n':>4} {'a candidate':>12} {'quotable':>9} {'first now':>10} {'first, refitted on these (bound)':>33}"
    )
    for key, b in sorted(bounds(rows, engine.tuning.weight_vector()).items(), key=lambda kv: (kv[0] != "all", kv[0])):
        print(
            f"{key:6} {b['questions']:>4} {b['in_candidates']:>12.3f} {b['quotable']:>9.3f} {b['first_now']:>10.3f} "
            f"{b['first_refitted']:>33.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
