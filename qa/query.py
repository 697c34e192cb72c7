"""The question as every stage sees it, built once: text, language, follow-up resolution, tokens, vectors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .answer_types import attributes, expected_type, names, question_type
from .config import MAX_QUESTION_CHARS
from .errors import EmptyQuestion, QuestionTooLong
from .followup import Resolution, resolve
from .language import detect_language
from .lexical import ALL_STOPWORDS, skeleton_tokens, tokenize, words

SUPPORTED = ("en", "ru", "uz")


def validate_question(question) -> str:
    if not isinstance(question, str):
        raise EmptyQuestion("The question must be text.")
    question = question.strip()
    if not question:
        raise EmptyQuestion("The question is empty. Ask something, e.g. qa ask \"Who founded the IIJ?\"")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"The question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. Ask a shorter question."
        )
    return question


@dataclass
class Query:
    text: str  # as asked
    language: str  # en / ru / uz: the language answers and messages are given in
    resolution: Resolution  # the follow-up resolved against the history
    vectors: np.ndarray  # the question's embedding; for a follow-up also the resolved question's (last row)
    expects: str | None  # "count", "date" or None
    tokens: list[str] = field(default_factory=list)  # stems of the question
    keys: list[str] = field(default_factory=list)  # cross-script keys of the question
    retrieval_tokens: list[str] = field(default_factory=list)  # stems of the resolved question
    retrieval_keys: list[str] = field(default_factory=list)
    content_words: list[str] = field(default_factory=list)  # the words that carry the question's content
    answer_type: str | None = None  # count, date, organisation, place, person or None: what the answer must hold
    focus: set = field(default_factory=set)  # the attributes asked about ("mayor", "birth", ...), any language
    names: list[str] = field(default_factory=list)  # name-like words of the question: what the attribute is of
    context_names: list[str] = field(default_factory=list)  # name-like words of the turns a follow-up rests on

    @property
    def retrieval_text(self) -> str:
        return self.resolution.retrieval_query

    @property
    def vector(self) -> np.ndarray:
        """The vector retrieval searches with (the resolved question's)."""
        return self.vectors[-1]

    @property
    def is_followup(self) -> bool:
        return self.resolution.is_followup

    @property
    def has_content(self) -> bool:
        """Whether the question (or the conversation it follows) names anything to look for."""
        return any(not w.isdigit() and w not in ALL_STOPWORDS for w in words(self.retrieval_text))


def make_query(question: str, embedder, history=None) -> Query:
    question = validate_question(question)
    lang = detect_language(question)
    resolution = resolve(question, lang, history)
    if lang == "und" and resolution.previous:
        lang = detect_language(resolution.previous[-1].question)
    if lang not in SUPPORTED:
        lang = "en"
    texts = [question] if not resolution.is_followup else [question, resolution.retrieval_query]
    vectors = embedder.embed_queries(texts)
    retrieval = resolution.retrieval_query
    return Query(
        text=question, language=lang, resolution=resolution, vectors=vectors, expects=expected_type(question),
        tokens=tokenize(question, lang), keys=skeleton_tokens(question),
        retrieval_tokens=tokenize(retrieval, lang) if resolution.is_followup else tokenize(question, lang),
        retrieval_keys=skeleton_tokens(retrieval) if resolution.is_followup else skeleton_tokens(question),
        content_words=[w for w in words(question) if w not in ALL_STOPWORDS and len(w) >= 4 and not w.isdigit()],
        answer_type=question_type(question), focus=attributes(question), names=names(question),
        context_names=names(retrieval) if resolution.is_followup else [],
    )
