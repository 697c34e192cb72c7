"""``qa eval``: run an evaluation set through answer(), print and save the report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from qa.eval.baselines import BASELINES, BM25Only, DenseOnly, LlamaIndexDefault, Pipeline, Reply
from qa.eval.dataset import EvalItem, load
from qa.eval.scoring import METRIC_KEYS, judge, report

GATED = ("answer_accuracy", "hit_at_1", "refusal_accuracy")

TOLERANCE = 0.05  # a gated metric may fall this much below the recorded figures (make eval-check)


def run_system(system, items: list[EvalItem], k: int = 5, progress: Callable[[int, int], None] | None = None) -> dict:
    results = []
    for i, item in enumerate(items):
        history: list[dict] = []
        for earlier in item.history:  # ask the earlier questions for real, pass their real answers on
            reply: Reply = system.ask(earlier, list(history))
            history += [{"role": "user", "content": earlier}, {"role": "assistant", "content": reply.text}]
        started = time.perf_counter()
        reply = system.ask(item.question, history)
        latency = (time.perf_counter() - started) * 1000
        results.append(
            judge(
                item,
                reply.text,
                reply.found,
                reply.cited,
                reply.retrieved[:k],
                latency,
                reply.reason,
                reply.written_status,
                reply.written_seconds,
                reply.quote,
            )
        )
        if progress:
            progress(i + 1, len(items))
    return report(results, k)


def sample(items: list, n: int | None) -> list:
    """``n`` items spread evenly over the set (its order groups languages and kinds), all when ``n`` is None."""
    if not n or n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def evaluate(
    engine, path: str | Path, k: int = 5, compare: bool = False, progress_factory=None, limit: int | None = None
) -> dict:
    """Reports keyed by system name; the first is our pipeline."""
    known = {r.name for r in engine.documents()}
    items = sample(load(path, known_documents=known), limit)  # stops on the first bad line, before any work
    systems: list[Pipeline | DenseOnly | BM25Only | LlamaIndexDefault] = [Pipeline(engine, k)]
    if compare:
        systems += [cls(engine, k) for cls in BASELINES]
    reports = {}
    for system in systems:
        progress = progress_factory(system.name, len(items)) if progress_factory else None
        reports[system.name] = run_system(system, items, k, progress)
    return reports


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.0f}"
    return str(value)


def table(reports: dict, group: str | None = None, systems: list[str] | None = None) -> str:
    """Markdown table: one row per metric (overall) or per group value, one column per system."""
    names = systems or list(reports)
    if group is None:
        lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for key in METRIC_KEYS:
            lines.append(f"| {key} | " + " | ".join(_fmt(reports[n]["overall"].get(key)) for n in names) + " |")
        return "\n".join(lines)
    main = reports[names[0]][group]
    keys = [k for k in METRIC_KEYS]
    lines = [f"| {group[3:]} | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for value, metrics in main.items():
        lines.append(f"| {value} | " + " | ".join(_fmt(metrics.get(k)) for k in keys) + " |")
    return "\n".join(lines)


def markdown(reports: dict, source: str) -> str:
    main = next(iter(reports))
    parts = [f"# Evaluation on `{source}`", "", "## Overall", "", table(reports), ""]
    parts += [f"## {main}: by language", "", table(reports, "by_lang", [main]), ""]
    parts += [f"## {main}: by kind", "", table(reports, "by_kind", [main]), ""]
    parts += [
        f"## {main}: by decision",
        "",
        "| decision | answerable questions | unanswerable questions | judged correct |",
        "|---|---|---|---|",
    ]
    for reason, row in reports[main].get("by_reason", {}).items():
        parts.append(f"| {reason} | {row['answerable']} | {row['unanswerable']} | {row['correct']} |")
    parts.append("")
    quotes = reports[main].get("quotes")
    if quotes:
        asking, unrelated = quotes["quoting_a_question"], quotes["sharing_nothing"]
        parts += [
            f"{main}: of {quotes['answers']} answers, {len(asking)} quote a question"
            + (f" ({', '.join(asking)})" if asking else "")
            + f"; {len(unrelated)} quote sentences sharing no name, number or word with the question"
            + (f" ({', '.join(unrelated)})" if unrelated else ""),
            "",
        ]
    written = reports[main].get("written")
    if written:
        w = written
        parts += [
            f"## {main}: written answers",
            "",
            f"The model was asked on {w['asked']} questions (those the decision stage answered); "
            f"seconds per question: mean {w['seconds_mean']}, max {w['seconds_max']}.",
            "",
            "| written answer | questions |",
            "|---|---|",
        ]
        parts += [f"| {status} | {n} |" for status, n in w["statuses"].items()]
        parts += [
            "",
            f"On the {w['answerable_asked']} answerable questions it was asked: the quote alone right on "
            f"{w['quote_correct']}, what was shown right on {w['shown_correct']}; written answers kept "
            f"{w['kept_answerable']}, right {w['kept_correct']}. Right as a quote but not as shown: "
            f"{', '.join(w['lost']) or 'none'}; the other way: {', '.join(w['gained']) or 'none'}.",
            "",
        ]
    if len(reports) > 1:
        parts += ["## Answer accuracy by language, all systems", ""]
        langs = list(reports[main]["by_lang"])
        parts.append("| system | " + " | ".join(langs) + " |")
        parts.append("|---|" + "---|" * len(langs))
        for name, rep in reports.items():
            parts.append(
                f"| {name} | " + " | ".join(_fmt(rep["by_lang"][lang]["answer_accuracy"]) for lang in langs) + " |"
            )
        parts.append("")
    return "\n".join(parts)


def diff(current: dict, baseline: dict) -> tuple[str, list[str]]:
    """Change of every metric against an earlier report; and the gated metrics that dropped > TOLERANCE."""
    lines = ["| scope | metric | before | now | change |", "|---|---|---|---|---|"]
    regressions = []
    scopes = [("overall", current.get("overall", {}), baseline.get("overall", {}))]
    for group in ("by_lang", "by_kind"):
        for key, metrics in current.get(group, {}).items():
            scopes.append((f"{group[3:]}={key}", metrics, baseline.get(group, {}).get(key, {})))
    for scope, now, before in scopes:
        for key in METRIC_KEYS:
            a, b = before.get(key), now.get(key)
            if a is None or b is None:
                continue
            change = b - a
            mark = ""
            if key in GATED and change < -TOLERANCE and (scope == "overall" or scope.startswith("lang=")):
                mark = " ⚠"
                regressions.append(f"{scope} {key}: {a:.3f} -> {b:.3f}")
            lines.append(f"| {scope} | {key} | {_fmt(a)} | {_fmt(b)} | {change:+.3f}{mark} |")
    asking = current.get("quotes", {}).get("quoting_a_question", [])
    if asking:  # a question holds no answer: quoting one is never right (the decision's ``question`` rule)
        regressions.append(f"{len(asking)} answers quote a question: {', '.join(asking)}")
    return "\n".join(lines), regressions


def inspect(report: dict) -> str:
    """The questions judged wrong: what was asked, what the system said, and its decision."""
    lines = []
    for item in report["items"]:
        if item["correct"]:
            continue
        expected = " | ".join(item["expected"]) or "(a decline)"
        lines += [
            f"{item['id']} [{item['lang']} {item['kind']}] {item['question']}",
            f"  decision: {item['reason']}; expected: {expected}"
            + (f"; written answer: {item['written_status']}" if item.get("written_status") else ""),
            f"  said: {item['answer'][:300]}",
            f"  cited: {', '.join(item['cited']) or '-'}",
            "",
        ]
    return "\n".join(lines) if lines else "Every question was judged correct."


def save_json(reports: dict, path: str | Path) -> None:
    main = next(iter(reports))
    payload = dict(reports[main])
    if len(reports) > 1:
        payload["baselines"] = {
            name: {k: v for k, v in rep.items() if k != "items"} for name, rep in reports.items() if name != main
        }
    Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
