"""Resolving short follow-up questions against the chat history, without a language model.

"And where is its headquarters?" after "Who founded the IIJ?" is retrieved as
the earlier question's content plus the new one; the answerer then scores
sentences against both and avoids repeating what it already said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa import language as languages
from qa.language.lexical import ALL_STOPWORDS, words

# Words that point back at something said earlier, per language (``anaphora`` in ``qa/language``).
_ANAPHORA = {code: set(languages.get(code).get("anaphora", [])) for code in languages.codes()}
_MAX_FOLLOWUP_WORDS = 9


@dataclass
class Turn:
    question: str
    answer: str = ""


@dataclass
class Resolution:
    question: str  # as asked
    retrieval_query: str  # what retrieval searches with
    is_followup: bool
    previous: list[Turn] = field(default_factory=list)

    @property
    def previous_answers(self) -> list[str]:
        return [t.answer for t in self.previous if t.answer]


def _content(message) -> str:
    content = message.get("content", "") if isinstance(message, dict) else message
    if isinstance(content, list):  # multimodal Gradio messages: keep the text parts
        content = " ".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    if isinstance(content, dict):
        content = content.get("text", "")
    return str(content or "")


def turns_from_history(history) -> list[Turn]:
    """Gradio-style messages (or plain strings = earlier user questions) to question/answer turns."""
    turns: list[Turn] = []
    for message in history or []:
        role = message.get("role", "user") if isinstance(message, dict) else "user"
        text = _content(message).strip()
        if not text:
            continue
        if role == "user":
            turns.append(Turn(question=text))
        elif role == "assistant" and turns:
            # Drop citation markers and notes so they do not leak into retrieval.
            clean = re.sub(r"\[\d+\]", "", text)
            turns[-1].answer = (turns[-1].answer + " " + clean).strip()
    return turns


def _has_anaphora(question: str, lang: str) -> bool:
    folded = " " + " ".join(words(question)) + " "
    markers = _ANAPHORA.get(lang, _ANAPHORA["en"])
    for marker in markers:
        if marker.startswith("-"):
            if re.search(re.escape(marker[1:]) + r"\b", question.casefold()):
                return True
        elif f" {marker} " in folded:
            return True
    return bool(re.search(r"\w+(chi)\?", question.casefold()))  # Uzbek "...-chi?" = "and what about ...?"


def _content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in ALL_STOPWORDS and len(w) > 1]


def resolve(question: str, lang: str, history) -> Resolution:
    turns = turns_from_history(history)
    if not turns:
        return Resolution(question, question, False)
    n_words = len(words(question))
    own_content = _content_words(question)
    followup = n_words <= _MAX_FOLLOWUP_WORDS and (_has_anaphora(question, lang) or len(own_content) <= 2)
    if not followup:
        return Resolution(question, question, False)
    previous = turns[-2:]
    context = " ".join(t.question for t in previous)
    return Resolution(question, f"{context} {question}", True, previous)
