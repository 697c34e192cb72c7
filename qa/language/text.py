"""Cleaning text while keeping a map back to the original characters.

Every quoted passage must be verbatim from the source, so cleaning never loses
track of where a character came from: ``CleanText.original_span`` maps a span
of the cleaned text back to exact offsets in the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qa import language as languages

# Apostrophe-like characters people type inside Uzbek words (o‘, g‘, ta’lim ...).
APOSTROPHES = "'‘’ʻʼ`´ʹ′"
_APOSTROPHE_RE = re.compile("[" + re.escape(APOSTROPHES) + "]")
_DASHES_RE = re.compile("[‐‑‒–—―−]")
_WS_RE = re.compile(r"\s+")

# The word shapes every stage uses, here only. A word begins with a letter.
_INSIDE = "'‘’ʻʼ`"  # apostrophes a written word keeps inside ("O‘zbekiston", "ta’lim")
WRITTEN_WORD = re.compile(rf"[^\W\d_][\w{_INSIDE}-]*")  # as written: case, hyphens, apostrophes kept ("Nyu-York")
UNHYPHENATED_WORD = re.compile(rf"[^\W\d_][\w{_INSIDE}]*")  # the same, cut at hyphens ("14-may" -> "may")
SEARCH_WORD = re.compile(r"[^\W_]+(?:'[^\W\d_]+)*")  # as searched, in folded text: numbers too, compounds split


def written_words(text: str) -> list[str]:
    """Words with their case, hyphens and apostrophes kept ("O‘zbekiston", "Nyu-York", "IIJni")."""
    return WRITTEN_WORD.findall(text)


def fold_apostrophes(text: str) -> str:
    """Every apostrophe variant becomes a plain ``'``."""
    return _APOSTROPHE_RE.sub("'", text)


def match_key(text: str) -> str:
    """The key answers are compared on: NFKC, case folded, apostrophes, dashes and spaces folded."""
    text = unicodedata.normalize("NFKC", text)
    text = fold_apostrophes(text).casefold()
    text = _DASHES_RE.sub("-", text)
    return _WS_RE.sub(" ", text).strip()


@dataclass
class CleanText:
    """Cleaned text plus, for every cleaned character, its offset in the original."""

    original: str
    text: str
    origin: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the original text covering cleaned ``text[start:end]``."""
        if end <= start:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


_SENTENCE_END = ".!?…"
_CLOSERS = '»"”’)]'


def _nfc_with_map(text: str) -> tuple[str, list[int]]:
    if unicodedata.is_normalized("NFC", text):
        return text, list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    # A cluster is a base character and the combining marks after it.
    for m in re.finditer(r".[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u20d0-\u20ff]*", text, re.S):
        piece = unicodedata.normalize("NFC", m.group())
        out.append(piece)
        origin.extend([m.start()] * len(piece))
    return "".join(out), origin


def _word_before(text: str, end: int) -> str:
    m = re.search(r"[\w'‘’ʻʼ`-]+$", text[:end])
    return m.group() if m else ""


def _word_after(text: str, start: int) -> str:
    m = re.match(r"[\w'‘’ʻʼ`]+", text[start:])
    return m.group() if m else ""


def _keep_hyphen(left: str, right: str, vocabulary: set[str], hyphenated: set[str]) -> bool:
    """Decide whether ``left-\\nright`` is a real compound or a word split by the PDF.

    Evidence comes from the document itself: the joined word or the hyphenated
    pair seen elsewhere; otherwise a real compound has two halves that each
    start words found elsewhere in the document.
    """
    lw, rw = left.casefold(), right.casefold()
    if not lw or not rw:
        return True
    if right[:1].isupper() or right[:1].isdigit():
        return True
    if lw + rw in vocabulary:
        return False
    if any(h.startswith(lw[:4]) and rw[:4] in h for h in hyphenated):
        return True
    prefixes = {w[:4] for w in vocabulary if len(w) >= 4}
    if lw[:4] in prefixes and rw[:4] in prefixes:
        return True
    # Syllable breaks leave a short tail; two long halves are most often a compound.
    return len(lw) >= 5 and len(rw) >= 10


def clean(original: str) -> CleanText:
    """NFC, join hyphenated line breaks, unwrap hard-wrapped lines, collapse spaces.

    Paragraph breaks (blank lines) become ``"\\n\\n"`` in the cleaned text, except
    when a blank line falls inside a sentence (previous line ends mid-sentence
    and the next starts in lower case), which happens in copied web text.
    """
    nfc, nfc_origin = _nfc_with_map(original)
    # Evidence for hyphenation comes from the rest of the document, not the split word itself.
    words = re.findall(r"[\w'‘’ʻʼ`]+", re.sub(r"[\w'‘’ʻʼ`]+-[ \t]*\n\s*[\w'‘’ʻʼ`]+", " ", nfc))
    vocabulary = {w.casefold() for w in words}
    hyphenated = {m.group().casefold() for m in re.finditer(r"\w+-\w+", nfc)}

    out: list[str] = []
    origin: list[int] = []

    def emit(s: str, pos: int) -> None:
        out.append(s)
        origin.extend([pos] * len(s))

    i, n = 0, len(nfc)
    while i < n:
        ch = nfc[i]
        if ch.isspace():
            j = i
            while j < n and nfc[j].isspace():
                j += 1
            run = nfc[i:j]
            newlines = run.count("\n")
            prev = "".join(out[-1:])[-1:] if out else ""
            if not out or j >= n:
                i = j
                continue
            if newlines >= 2:
                prev_text = "".join(out[-3:])
                nxt = nfc[j]
                mid_sentence = prev_text[-1:] not in _SENTENCE_END + _CLOSERS + ":;" and nxt.islower()
                emit(" " if mid_sentence else "\n\n", i)
            elif newlines == 1 and prev == "-" and nfc[j].isalpha():
                left = _word_before("".join(out[-40:]), len("".join(out[-40:])) - 1)
                right = _word_after(nfc, j)
                if not _keep_hyphen(left, right, vocabulary, hyphenated):
                    out.pop()
                    origin.pop()
            else:
                emit(" ", i)
            i = j
            continue
        emit(ch, nfc_origin[i])
        i += 1
    # ``emit`` may have pushed multi-char strings; flatten to one char per entry.
    text = "".join(out)
    return CleanText(original=original, text=text, origin=origin)


# Abbreviations after which a full stop does not end a sentence, from every language file.
_ABBREVIATIONS = set(languages.union("abbreviations"))

_BOUNDARY_RE = re.compile(r"([.!?…]+)([" + re.escape(_CLOSERS) + r"]*)(\s+)(?=[\"«“(\[–—-]?\s?[\w])")


@dataclass(frozen=True)
class Sentence:
    start: int  # offsets in the cleaned text
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Split cleaned text into sentences, with offsets.

    Splits at paragraph breaks and after sentence punctuation followed by a
    word that does not continue an abbreviation (``г. Валлетте``, ``Dr. Smith``)
    or an initial (``Б. Мустафаев``).
    """
    sentences: list[Sentence] = []
    for para in re.finditer(r"[^\n]+", text):
        base = para.start()
        chunk = para.group()
        cut = 0
        for m in _BOUNDARY_RE.finditer(chunk):
            before = chunk[: m.start(1)]
            word = re.search(r"([\w.]+)$", before)
            token = word.group(1) if word else ""
            nxt = chunk[m.end() :].lstrip('"«“([–—- ')
            if m.group(1) == "." and token:
                bare = token.rstrip(".")
                if bare.casefold() in _ABBREVIATIONS and not nxt[:1].isdigit():
                    if bare.islower() or len(bare) <= 2:
                        continue
                if len(bare) == 1 and bare.isupper():  # an initial
                    continue
            if nxt[:1].islower():
                continue
            end = m.end(2)
            piece = chunk[cut:end]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                sentences.append(Sentence(base + cut + lead, base + end, piece.strip()))
            cut = m.end()
        piece = chunk[cut:]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            stripped = piece.strip()
            sentences.append(Sentence(base + cut + lead, base + cut + lead + len(stripped), stripped))
    return sentences
