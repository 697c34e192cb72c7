"""Choose fusion weights and the refusal threshold on the tuning set (never the test set).

    python -m qa.eval.tune [eval/tune.jsonl]

Grid-searches a few weights; for each setting the threshold is the one that
maximises the share of questions judged correct (answered right, or rightly
declined). Prints the best settings; copy them into ``qa.engine.Tuning``.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys

from qa.engine import Engine, Tuning

from .dataset import bundled_set, load
from .scoring import answer_matches

GRID = {
    "second_sentence_margin": [0.0, 0.03, 0.06],
    "s_type": [0.03, 0.08],
    "rrf_k": [5.0, 10.0],
}


def _run(engine: Engine, items) -> list[tuple[float, bool, bool]]:
    """(confidence, answerable, would be correct if answered) per question."""
    rows = []
    for item in items:
        history = []
        for earlier in item.history:
            a = engine.answer(earlier, history=list(history))
            history += [{"role": "user", "content": earlier}, {"role": "assistant", "content": a.text}]
        a = engine.answer(item.question, history=history)
        rows.append((a.confidence, item.answerable, item.answerable and answer_matches(a.text, item.answers)))
    return rows


def best_threshold(rows) -> tuple[float, float]:
    candidates = sorted({round(c, 3) for c, _, _ in rows})
    best = (0.0, 0.0)
    for threshold in candidates:
        correct = sum((c >= threshold and ok) if answerable else (c < threshold) for c, answerable, ok in rows)
        score = correct / len(rows)
        if score > best[1]:
            best = (threshold, score)
    return best


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    path = argv[0] if argv else str(bundled_set("tune"))
    base = Engine()
    items = load(path, {r.name for r in base.documents()})
    results = []
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        tuning = dataclasses.replace(Tuning(), found_threshold=-1e9, **dict(zip(keys, values)))
        engine = Engine(base.settings, base.embedder, tuning)
        engine._state = base._load()
        threshold, score = best_threshold(_run(engine, items))
        results.append((score, threshold, dict(zip(keys, values))))
        print(f"{score:.3f} threshold={threshold:.3f} {dict(zip(keys, values))}", flush=True)
    results.sort(key=lambda r: r[0], reverse=True)
    print("\nbest:")
    for score, threshold, params in results[:5]:
        print(f"  {score:.3f} found_threshold={threshold:.3f} {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
