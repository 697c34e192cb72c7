"""The language-model reader: writes the answer in the asker's language from numbered candidate sentences.

It is a reader beside the extractive one (``qa.answering.extractive``): it receives the typed candidates the decision stage
let through, numbered, with their language and document, never raw chunks; the prompt is ``prompts/reader.LANG.txt``
for the question's language. It asks for JSON (``{"answer", "sentences", "found"}``: constrained where the backend
can, parsed tolerantly where it cannot) and streams the answer text while it is written. Whatever it writes goes
through ``qa.writing.verify.check`` before it may be shown as the answer; what it says and why it was kept or not is a
``Written`` record, and the caller keeps the quoted answer whenever the written one is not kept.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from qa import language as languages
from qa.answering.candidates import Candidate
from qa.answering.query import Query
from qa.answering.results import KEPT, WRITING, Status
from qa.prompts import language_name, reader_prompt
from qa.writing import verify
from qa.writing.llm import LLM, LLMFailure

MODEL_DECLINED = Status.MODEL_DECLINED  # the model says the sentences do not answer; the decision stage said they do
MALFORMED = Status.MALFORMED
STATUSES = tuple(Status)  # the written answer's statuses, one enum (qa.answering.results.Status)

# How a model says the sentences do not answer, in any language (``model_declines`` in the language files).
_DECLINE = re.compile("|".join(languages.union("model_declines")), re.I)


@dataclass
class Written:
    status: Status  # WRITING while it streams; then KEPT or why it was not kept
    text: str = ""  # the answer as written so far; once done, only when kept. Markers are evidence numbers.
    detail: str = ""  # what failed, for people ("2015 is not in the cited sentences [1]")
    evidence: list[Candidate] = field(default_factory=list)  # the numbered sentences the model was given (1-based)
    cited: tuple[int, ...] = ()  # the evidence numbers the kept answer cites
    seconds: float = 0.0
    raw: str = ""  # what the model returned


@dataclass
class Parsed:
    found: bool
    answer: str
    sentences: list[int]


def parse(raw: str) -> Parsed | None:
    """The model's reply as (found, answer, sentences); ``None`` when nothing can be made of it."""
    text = raw.strip()
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text)
    data = None
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1] if "{" in text else ""):
        if not candidate:
            continue
        try:
            data = json.loads(candidate)
            break
        except ValueError:
            continue
    if isinstance(data, dict):
        answer = data.get("answer", "")
        if not isinstance(answer, str):
            return None
        numbers = data.get("sentences") or []
        numbers = (
            [int(n) for n in numbers if isinstance(n, (int, float)) or (isinstance(n, str) and n.isdigit())]
            if isinstance(numbers, list)
            else []
        )
        found = data.get("found")
        found = bool(answer.strip()) if not isinstance(found, bool) else found
        return Parsed(found, answer.strip(), numbers)
    if data is not None or not text or text.startswith("{"):
        return None
    # Plain text from a server that ignores the requested format.
    if not verify.markers(text) and _DECLINE.search(text):
        return Parsed(False, "", [])
    return Parsed(True, text, verify.markers(text))


_ANSWER_START = re.compile(r'^\s*\{\s*"answer"\s*:\s*"')


def partial_answer(raw: str) -> str:
    """The answer text inside a reply that is still being written (``{"answer": "The IIJ wa``)."""
    m = _ANSWER_START.match(raw)
    if not m:
        return "" if raw.lstrip().startswith("{") else raw
    out, i, s = [], m.end(), raw
    while i < len(s):
        ch = s[i]
        if ch == '"':
            break
        if ch == "\\":
            if i + 1 >= len(s):
                break
            esc = s[i + 1]
            if esc == "u":
                if i + 6 > len(s):
                    break
                try:
                    out.append(chr(int(s[i + 2 : i + 6], 16)))
                except ValueError:
                    pass
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": ""}.get(esc, esc))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _token_counter():
    from llama_index.core.utils import get_tokenizer  # cl100k_base, shipped with llama-index (offline)

    encode = get_tokenizer()
    return lambda text: len(encode(text))


class WrittenReader:
    """Writes an answer with a language model from at most ``max_sentences`` candidates (``budget_tokens`` of
    evidence, counted with tiktoken), the quoted sentences first."""

    name = "llm"

    def __init__(self, llm: LLM, max_sentences: int = 6, budget_tokens: int = 900):
        self.llm = llm
        self.max_sentences = max_sentences
        self.budget_tokens = budget_tokens
        self._count: Callable[[str], int] | None = None

    def evidence(self, chosen: list[Candidate], eligible: list[Candidate]) -> list[Candidate]:
        if self._count is None:
            self._count = _token_counter()
        out: list[Candidate]
        out, seen, used = [], set(), 0
        for c in list(chosen) + sorted(eligible, key=lambda c: -c.score):
            if c.id in seen or len(out) >= self.max_sentences:
                continue
            cost = self._count(c.text)
            if out and used + cost > self.budget_tokens:
                continue
            out.append(c)
            seen.add(c.id)
            used += cost
        return out

    def prompt(self, query: Query, evidence: list[Candidate]) -> tuple[str, str]:
        system, user = reader_prompt(query.language)
        lines = [f"[{i}] ({language_name(c.language, 'en')}, {c.source}) {c.text}" for i, c in enumerate(evidence, 1)]
        question = query.text if not query.is_followup else query.retrieval_text
        return system, user.replace("{sentences}", "\n".join(lines)).replace("{question}", question)

    def write(
        self, query: Query, evidence: list[Candidate], deadline: float | None = None, quoted: int = 0
    ) -> Iterator[Written]:
        """``Written`` records while the answer streams (status ``WRITING``), then the final one. The first
        ``quoted`` evidence sentences are the quote's: the written answer must keep their answer."""
        started = time.monotonic()
        system, user = self.prompt(query, evidence)
        raw, shown = "", ""
        try:
            for delta in self.llm.stream(system, user, deadline):
                raw += delta
                now = partial_answer(raw)
                if now != shown:
                    shown = now
                    yield Written(WRITING, now, evidence=evidence, seconds=time.monotonic() - started, raw=raw)
        except LLMFailure as e:
            yield Written(e.reason, "", e.detail, evidence, seconds=time.monotonic() - started, raw=raw)
            return
        yield self.judge(raw, query, evidence, time.monotonic() - started, quoted)

    def judge(
        self, raw: str, query: Query, evidence: list[Candidate], seconds: float = 0.0, quoted: int = 0
    ) -> Written:
        """Parse and check a complete reply."""
        parsed = parse(raw)
        if parsed is None:
            return Written(MALFORMED, "", f"unreadable reply: {raw.strip()[:80]!r}", evidence, seconds=seconds, raw=raw)
        if not parsed.found:
            return Written(
                MODEL_DECLINED,
                "",
                "the model says the sentences do not answer the question",
                evidence,
                seconds=seconds,
                raw=raw,
            )
        text = parsed.answer
        if not verify.markers(text) and parsed.sentences and len(verify.sentences(text)) == 1:
            # One sentence, its sources given beside it rather than in it: the same claim, so mark it.
            text = f"{text.rstrip()} [{', '.join(str(n) for n in dict.fromkeys(parsed.sentences))}]"
        given = {i: (c.text, c.language) for i, c in enumerate(evidence, 1)}
        result = verify.check(
            text,
            given,
            query.retrieval_text,
            query.language,
            quoted=list(range(1, quoted + 1)) if quoted else None,
            answer_type=query.answer_type,
        )
        if not result.ok:
            return Written(Status(result.reason), "", result.detail, evidence, result.cited, seconds, raw)
        return Written(KEPT, text, "", evidence, result.cited, seconds, raw)
