"""Composition: the answer text with [n] markers, citations with exact offsets, the foreign-language note."""

from __future__ import annotations

import copy
import re

from qa.answering.candidates import Candidate
from qa.answering.decision import NAMES_APART, NO_CONTENT, Decision
from qa.answering.hybrid import Retrieval
from qa.answering.query import Query
from qa.answering.results import KEPT, WRITING, Answer, Citation, Passage, Status, WrittenAnswer
from qa.config import LLM
from qa.index.snapshot import Snapshot
from qa.language.answer_types import name_phrases
from qa.prompts import language_name, message, messages
from qa.writing.verify import MARKER, markers


def passages(snapshot: Snapshot, retrieval: Retrieval, chunk_ids: list[str]) -> list[Passage]:
    out = []
    for cid in chunk_ids:
        c = snapshot.chunk(cid)
        out.append(
            Passage(
                source=c.source,
                text=snapshot.text(c.source)[c.start : c.end],
                score=float(retrieval.fused[cid]),
                start=c.start,
                end=c.end,
                language=c.language,
                chunk_id=cid,
                title=c.title,
                dense_score=float(max(retrieval.dense_chunk.get(cid, 0.0), retrieval.dense_sentence.get(cid, 0.0))),
                lexical_score=float(retrieval.lexical.get(cid, 0.0)),
            )
        )
    return out


def declined(query: Query, decision: Decision, shown: list[Passage]) -> Answer:
    if decision.reason == NAMES_APART and decision.names:
        phrases = name_phrases(query.reading, decision.names)
        names = (
            ", ".join(phrases[:-1]) + message("and", query.language) + phrases[-1] if len(phrases) > 1 else phrases[0]
        )
        text = message("names_apart", query.language, names=names, question=query.text)
    else:
        text = message(
            "no_content" if decision.reason == NO_CONTENT else "not_found", query.language, question=query.text
        )
    return Answer(
        text=text,
        found=False,
        citations=[],
        language=query.language,
        question=query.text,
        resolved_question=query.retrieval_text,
        passages=shown,
        confidence=float(decision.confidence),
        reason=decision.reason,
    )


def _ocr(snapshot: Snapshot, source: str, start: int, end: int) -> bool:
    """Whether source[start:end] holds text read by text recognition (OCR)."""
    record = snapshot.documents.get(source)
    return bool(record is not None and record.ocr_overlaps(start, end))


def _cite(snapshot: Snapshot, citations: list[Citation], number_of: dict[str, int], s: Candidate) -> int:
    """The citation number of sentence ``s``: its passage's, added to ``citations`` if new, its quote widened."""
    original = snapshot.text(s.source)
    if s.chunk not in number_of:
        number_of[s.chunk] = len(citations) + 1
        c = snapshot.chunk(s.chunk)
        citations.append(
            Citation(
                number=number_of[s.chunk],
                source=c.source,
                language=c.language,
                text=original[c.start : c.end],
                start=c.start,
                end=c.end,
                quote=original[s.start : s.end],
                quote_start=s.start,
                quote_end=s.end,
                score=float(s.score),
                copies=snapshot.copies(c.doc_hash)[1:],
                ocr=_ocr(snapshot, c.source, c.start, c.end),
            )
        )
    else:
        cit = citations[number_of[s.chunk] - 1]
        cit.quote_start = min(cit.quote_start, s.start)
        cit.quote_end = max(cit.quote_end, s.end)
        cit.quote = original[cit.quote_start : cit.quote_end]
    return number_of[s.chunk]


def quoted(
    snapshot: Snapshot,
    query: Query,
    chosen: list[Candidate],
    decision: Decision,
    shown: list[Passage],
    disagree: bool = False,
) -> Answer:
    """The chosen sentences verbatim, each followed by the number of the passage it is cited from; ``disagree``:
    they are documents that give different answers (``qa.answering.disagreement``), and the answer says so first."""
    citations: list[Citation] = []
    number_of: dict[str, int] = {}
    parts = [f"{s.text} [{_cite(snapshot, citations, number_of, s)}]" for s in chosen]
    text = " ".join(parts)
    if disagree:
        text = f"{message('disagree', query.language)} {text}"
    foreign = {c.language for c in citations if c.language != query.language}
    if len(foreign) == 1:
        text += " " + message("other_language", query.language, language=language_name(foreign.pop(), query.language))
    return Answer(
        text=text,
        found=True,
        citations=citations,
        language=query.language,
        question=query.text,
        resolved_question=query.retrieval_text,
        passages=shown,
        confidence=float(decision.confidence),
        reason=decision.reason,
        disagree=disagree,
    )


def written(
    snapshot: Snapshot, query: Query, quote: Answer, chosen: list[Candidate], w, trusted: bool = False
) -> Answer:
    """The answer with the language-model reader: the written text when it passed the checks (its markers
    renumbered to citations that follow the quote's), else the quote with the reason it was not kept. A model
    that says the documents do not answer is obeyed only when ``trusted``."""
    out = copy.copy(quote)
    out.written = WrittenAnswer(Status(w.status), quote=quote.text, detail=w.detail, seconds=round(w.seconds, 2))
    if w.status == Status.MODEL_DECLINED and trusted:
        declined_answer = declined(query, Decision(False, Status.MODEL_DECLINED, quote.confidence), quote.passages)
        declined_answer.written, declined_answer.reader = out.written, LLM
        return declined_answer
    if w.status not in (Status.WRITING, Status.KEPT):
        return out
    citations = [copy.copy(c) for c in quote.citations]
    number_of: dict[str, int] = {}
    for s in chosen:  # the quote's sentences keep their numbers
        number_of.setdefault(s.chunk, len(number_of) + 1)
    cited = w.cited if w.status == Status.KEPT else [n for n in markers(w.text) if 1 <= n <= len(w.evidence)]
    renumber = {i: _cite(snapshot, citations, number_of, w.evidence[i - 1]) for i in cited}

    def marker(m: re.Match) -> str:
        numbers = markers(m.group())
        if not all(n in renumber for n in numbers):
            return m.group()  # still being written, or pointing nowhere (the check will say so)
        return "".join(f"[{n}]" for n in dict.fromkeys(renumber[n] for n in numbers))

    out.written.text = MARKER.sub(marker, w.text)
    out.citations = citations
    if w.status == Status.WRITING:
        return out
    out.text = out.written.text
    out.reader = LLM
    out.written.machine_translation = any(w.evidence[i - 1].language != query.language for i in w.cited)
    return out


def written_note(answer: Answer) -> str:
    """Why the written answer was not used, in the question's language ("" when it was, or there was none)."""
    if answer.written is None or answer.written.status in (KEPT, WRITING):
        return ""
    status = answer.written.status
    reason = messages()["written_reasons"].get(status, {})
    detail = reason.get(answer.language) or reason.get("en") or status
    if answer.language == "en" and answer.written.detail:
        detail = f"{detail}: {answer.written.detail}"
    return message("written_not_used", answer.language, detail=detail)


def labelled(answer: Answer) -> str:
    """The answer as people read it in the chat and on the command line: with the language-model reader, the
    written answer under a label that says how it was made, and the quote beside it; else just the text."""
    if answer.written is None or not answer.written.quote:
        return answer.text
    lang = answer.language
    quote = f"{message('quote_label', lang)} {answer.written.quote}"
    if answer.written.status == WRITING:
        return f"{quote}\n\n{message('writing_label', lang)} {answer.written.text}".rstrip()
    if answer.reader == LLM and answer.found:
        if answer.written.machine_translation:
            foreign = sorted({c.language for c in answer.citations if c.language != lang})
            names = ", ".join(language_name(f, lang) for f in foreign)
            label = message("written_translation_label", lang, language=names)
        else:
            label = message("written_label", lang)
        return f"{label} {answer.text}\n\n{quote}"
    if not answer.found:
        return answer.text
    return f"{answer.text}\n\n({written_note(answer)})"
