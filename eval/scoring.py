"""Judging answers and aggregating metrics, exactly as EVAL_FORMAT.md defines them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from qa import language as languages
from qa.answering.results import KEPT
from qa.eval.dataset import EvalItem
from qa.language.analysis import analyse
from qa.language.answer_types import asks
from qa.language.detect import detect_language, reading_form
from qa.language.text import match_key, split_sentences
from qa.prompts import messages

METRIC_KEYS = (
    "n",
    "answer_accuracy",
    "hit_at_1",
    "hit_at_5",
    "mrr",
    "citation_accuracy",
    "citation_precision",
    "refusal_accuracy",
    "false_refusal_rate",
    "latency_p50_ms",
    "latency_p95_ms",
)


@dataclass
class ItemResult:
    id: str
    lang: str
    kind: str
    question: str
    answer: str
    found: bool
    cited: list[str]
    retrieved: list[str]
    correct: bool
    latency_ms: float
    expected: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    reason: str = ""  # the system's decision: "answered" or why it declined
    written_status: str = ""  # with the llm reader: "kept", or why the written answer was not kept
    written_seconds: float = 0.0
    quote_correct: bool | None = None  # with the llm reader: whether the extractive answer alone was right
    quotes_a_question: bool | None = None  # an answer: whether a quoted sentence is a question (it asks)
    shares_nothing: bool | None = None  # an answer: whether its quote shares no name, number or word with the question

    def to_dict(self) -> dict:
        return asdict(self)


def answer_matches(text: str, answers: list[str]) -> bool:
    key = match_key(text)
    return any(match_key(a) in key for a in answers if a.strip())


def _correct(item: EvalItem, text: str, found: bool) -> bool:
    return found and answer_matches(text, item.answers) if item.answerable else not found


def judge(
    item: EvalItem,
    text: str,
    found: bool,
    cited: list[str],
    retrieved: list[str],
    latency_ms: float,
    reason: str = "",
    written_status: str = "",
    written_seconds: float = 0.0,
    quote: str = "",
) -> ItemResult:
    return ItemResult(
        id=item.id,
        lang=item.lang,
        kind=item.kind,
        question=item.question,
        answer=text,
        found=found,
        cited=cited,
        retrieved=retrieved,
        correct=_correct(item, text, found),
        latency_ms=latency_ms,
        expected=item.answers,
        sources=item.sources,
        reason=reason or ("answered" if found else "declined"),
        written_status=written_status,
        written_seconds=written_seconds,
        quote_correct=_correct(item, quote, bool(quote)) if written_status else None,
        quotes_a_question=any(asks(s) for s in quoted_sentences(quote or text)) if found else None,
        shares_nothing=shares_nothing(item, quote or text) if found else None,
    )


_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
_NOTE = re.compile(r"\s*\([^()]*\)\s*$")  # "(Quoted from a document in Russian.)" after the quotes


@lru_cache(maxsize=1)
def _labels() -> tuple[str, ...]:
    return tuple(messages()["disagree"].values())


def quoted_sentences(answer: str) -> list[str]:
    """The sentences an extractive answer quotes: its text less markers, the note on the quote's language and the
    label of disagreeing documents."""
    text = answer.strip()
    for label in _labels():
        if text.startswith(label):
            text = text[len(label) :]
    while _NOTE.search(text):
        text = _NOTE.sub("", text)
    text = _MARKERS.sub("", text)
    return [s.text for s in split_sentences(text)] or ([text] if text.strip() else [])


def _terms(text: str) -> set[str]:
    """Stems, cross-script keys and numbers of a text, in its language (Uzbek Cyrillic read in Latin)."""
    language = detect_language(text)
    language = language if language in languages.codes() else "en"
    a = analyse(reading_form(text, language), language)
    return set(a.stems) | set(a.keys) | {w for w in a.words if w.isdigit()}


def shares_nothing(item: EvalItem, answer: str) -> bool:
    """Whether the quoted sentences share no content stem, cross-script key (names, international words) or
    number with the question or the questions it follows, in any language or script."""
    asked = _terms(" ".join([*item.history, item.question]))
    return not any(_terms(s) & asked for s in quoted_sentences(answer))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _ratio(num: float, den: float):
    return round(num / den, 4) if den else None


def aggregate(results: list[ItemResult], k: int = 5) -> dict:
    answerable = [r for r in results if r.expected]
    unanswerable = [r for r in results if not r.expected]
    hit1 = hitk = rr = 0.0
    for r in answerable:
        relevant = set(r.sources)
        ranks = [i for i, s in enumerate(r.retrieved[:k]) if s in relevant]
        if ranks:
            hitk += 1
            rr += 1.0 / (ranks[0] + 1)
            hit1 += ranks[0] == 0
    cited_total = sum(len(r.cited) for r in answerable)
    cited_good = sum(sum(1 for c in r.cited if c in r.sources) for r in answerable)
    latencies = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "answer_accuracy": _ratio(sum(r.correct for r in answerable), len(answerable)),
        "hit_at_1": _ratio(hit1, len(answerable)),
        "hit_at_5": _ratio(hitk, len(answerable)),
        "mrr": _ratio(rr, len(answerable)),
        "citation_accuracy": _ratio(sum(any(c in r.sources for c in r.cited) for r in answerable), len(answerable)),
        "citation_precision": _ratio(cited_good, cited_total),
        "refusal_accuracy": _ratio(sum(not r.found for r in unanswerable), len(unanswerable)),
        "false_refusal_rate": _ratio(sum(not r.found for r in answerable), len(answerable)),
        "latency_p50_ms": round(_percentile(latencies, 0.5), 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1),
    }


def report(results: list[ItemResult], k: int = 5) -> dict:
    by_lang: dict[str, list[ItemResult]] = {}
    by_kind: dict[str, list[ItemResult]] = {}
    for r in results:
        by_lang.setdefault(r.lang, []).append(r)
        by_kind.setdefault(r.kind, []).append(r)
    by_reason: dict[str, dict[str, int]] = {}
    for r in results:
        row = by_reason.setdefault(r.reason, {"answerable": 0, "unanswerable": 0, "correct": 0})
        row["answerable" if r.expected else "unanswerable"] += 1
        row["correct"] += r.correct
    answered = [r for r in results if r.found]
    out = {
        "overall": aggregate(results, k),
        # What the answers quote (README: "What the answers quote"): questions, and sentences unrelated to the question.
        "quotes": {
            "answers": len(answered),
            "quoting_a_question": [r.id for r in answered if r.quotes_a_question],
            "sharing_nothing": [r.id for r in answered if r.shares_nothing],
        },
        "by_reason": dict(sorted(by_reason.items())),
        "by_lang": {lang: aggregate(rs, k) for lang, rs in sorted(by_lang.items())},
        "by_kind": {kind: aggregate(rs, k) for kind, rs in sorted(by_kind.items())},
        "items": [r.to_dict() for r in results],
    }
    written = [r for r in results if r.written_status]
    if written:
        answerable = [r for r in written if r.expected]
        statuses: dict[str, int] = {}
        for r in written:
            statuses[r.written_status] = statuses.get(r.written_status, 0) + 1
        out["written"] = {
            "asked": len(written),  # questions the decision stage answered, so the model was asked
            "statuses": dict(sorted(statuses.items(), key=lambda kv: -kv[1])),
            "kept_share": _ratio(statuses.get(KEPT, 0), len(written)),
            "seconds_mean": round(sum(r.written_seconds for r in written) / len(written), 2),
            "seconds_max": round(max(r.written_seconds for r in written), 2),
            # the same questions judged on the quote alone (the extractive reader) and on what was shown
            "answerable_asked": len(answerable),
            "quote_correct": sum(bool(r.quote_correct) for r in answerable),
            "shown_correct": sum(r.correct for r in answerable),
            "kept_correct": sum(r.correct for r in answerable if r.written_status == KEPT),
            "kept_answerable": sum(1 for r in answerable if r.written_status == KEPT),
            # where the written answer changed the verdict of the quote (the text judge cannot see a translation)
            "lost": [r.id for r in answerable if r.quote_correct and not r.correct],
            "gained": [r.id for r in answerable if not r.quote_correct and r.correct],
        }
    return out
