"""Composition: the answer text with [n] markers, citations with exact offsets, the foreign-language note."""

from __future__ import annotations

from .candidates import Candidate
from .decision import Decision
from .hybrid import Retrieval
from .query import Query
from .results import Answer, Citation, Passage
from .snapshot import Snapshot


def passages(snapshot: Snapshot, retrieval: Retrieval, chunk_ids: list[str]) -> list[Passage]:
    out = []
    for cid in chunk_ids:
        c = snapshot.chunk(cid)
        out.append(Passage(
            source=c.source, text=snapshot.text(c.source)[c.start : c.end], score=float(retrieval.fused[cid]),
            start=c.start, end=c.end, language=c.language, chunk_id=cid, title=c.title,
            dense_score=float(max(retrieval.dense_chunk.get(cid, 0.0), retrieval.dense_sentence.get(cid, 0.0))),
            lexical_score=float(retrieval.lexical.get(cid, 0.0)),
        ))
    return out


def declined(query: Query, decision: Decision, shown: list[Passage]) -> Answer:
    from .decision import NO_CONTENT
    from .prompts import message

    key = "no_content" if decision.reason == NO_CONTENT else "not_found"
    return Answer(
        text=message(key, query.language, question=query.text), found=False, citations=[],
        language=query.language, question=query.text, resolved_question=query.retrieval_text, passages=shown,
        confidence=float(decision.confidence), reason=decision.reason,
    )


def quoted(snapshot: Snapshot, query: Query, chosen: list[Candidate], decision: Decision, shown: list[Passage]) -> Answer:
    """The chosen sentences verbatim, each followed by the number of the passage it is cited from."""
    from .prompts import language_name, message

    citations: list[Citation] = []
    number_of: dict[str, int] = {}
    parts = []
    for s in chosen:
        original = snapshot.text(s.source)
        if s.chunk not in number_of:
            number_of[s.chunk] = len(citations) + 1
            c = snapshot.chunk(s.chunk)
            citations.append(Citation(
                number=number_of[s.chunk], source=c.source, language=c.language, text=original[c.start : c.end],
                start=c.start, end=c.end, quote=original[s.start : s.end], quote_start=s.start, quote_end=s.end,
                score=float(s.score), copies=snapshot.copies(c.doc_hash)[1:],
            ))
        else:
            cit = citations[number_of[s.chunk] - 1]
            cit.quote_start = min(cit.quote_start, s.start)
            cit.quote_end = max(cit.quote_end, s.end)
            cit.quote = original[cit.quote_start : cit.quote_end]
        parts.append(f"{s.text} [{number_of[s.chunk]}]")
    text = " ".join(parts)
    foreign = {c.language for c in citations if c.language != query.language}
    if len(foreign) == 1:
        text += " " + message("other_language", query.language, language=language_name(foreign.pop(), query.language))
    return Answer(
        text=text, found=True, citations=citations, language=query.language, question=query.text,
        resolved_question=query.retrieval_text, passages=shown, confidence=float(decision.confidence),
        reason=decision.reason,
    )
