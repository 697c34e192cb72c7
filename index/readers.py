"""Reading user files (txt, md, html, pdf) into text the index can quote from.

For txt and md the stored text is the file's own text, so quoted passages are
verbatim from the file. For html and pdf it is the extracted text, stored with
the index so quotes and offsets stay exact against what the user can open.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import subprocess
import sys
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from qa.errors import EmptyDocument, NoDocuments, UnsupportedDocument

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class SourceDocument:
    name: str  # file name: what citations show
    text: str
    path: str = ""
    title: str = ""
    encoding: str = "utf-8"  # how the file's bytes were decoded
    note: str = ""  # something the user should know about how it was read ("decoded as cp1251")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


ENCODING_NOTES = {
    "utf-8-sig": "UTF-8 with a byte-order mark",
    "utf-16": "UTF-16 (byte-order mark)",
    "cp1251": "Windows Cyrillic (cp1251), detected",
}


def _looks_like_cp1251(data: bytes) -> str | None:
    """Text in the Windows Cyrillic code page: mostly Cyrillic letters once decoded, no control bytes."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text[:20000] if c.isalpha()]
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    return text if letters and cyrillic >= 0.5 * len(letters) else None


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """The file's text and the encoding it was read in: UTF-8 (with or without a byte-order mark), UTF-16
    with a byte-order mark, or Windows Cyrillic (cp1251) when the bytes are not UTF-8 but read as Russian."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in data[:8192]:
        raise UnsupportedDocument(f"{path.name}: looks like a binary file, not text.")
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        text = _looks_like_cp1251(data) if encoding == "utf-8" else None
        if text is None:
            raise UnsupportedDocument(
                f"{path.name}: not valid {'UTF-8' if encoding == 'utf-8' else encoding.upper()} (byte {exc.start}). "
                "Convert it to UTF-8 first, e.g. iconv -f cp1251 -t utf-8."
            ) from None
        encoding = "cp1251"
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 0.05 * max(1, min(len(text), 8192)):
        raise UnsupportedDocument(f"{path.name}: looks like a binary file, not text.")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head"}
    _BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
              "article", "header", "footer", "blockquote", "pre", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        if tag == "title":
            self._in_title = True
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if not self._skip:
            self.parts.append(data)


def _html_text(raw: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, html.unescape(parser.title).strip()


PDF_TIMEOUT_SECONDS = 60.0  # QA_PDF_TIMEOUT overrides
PDF_MEMORY_MB = 1536  # QA_PDF_MEMORY_MB overrides
# The worker imports pypdf only, extracts the text of every page, and prints it as JSON; any failure inside
# pypdf (fuzzed files raise all sorts of exceptions) becomes one line on stderr and exit code 3.
_PDF_WORKER = """
import json, sys
try:
    from pypdf import PdfReader
    reader = PdfReader(sys.argv[1])
    pages = [page.extract_text() or "" for page in reader.pages]
except MemoryError:
    sys.exit(4)
except BaseException as exc:
    print(f"{type(exc).__name__}: {exc}"[:300], file=sys.stderr)
    sys.exit(3)
sys.stdout.write(json.dumps(pages))
"""


def _limits() -> tuple[float, int]:
    try:
        timeout = float(os.environ.get("QA_PDF_TIMEOUT", PDF_TIMEOUT_SECONDS))
        memory = int(os.environ.get("QA_PDF_MEMORY_MB", PDF_MEMORY_MB))
    except ValueError:
        timeout, memory = PDF_TIMEOUT_SECONDS, PDF_MEMORY_MB
    return timeout, memory


def _pdf_text(path: Path) -> str:
    """The PDF's text, extracted in a separate process bounded in time and memory: a decompression bomb or a
    pathological file is stopped and reported, and cannot take the indexer (or the chat) down with it."""
    timeout, memory_mb = _limits()

    def limit_memory():  # in the worker, before it starts
        import resource

        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    try:
        done = subprocess.run([sys.executable, "-c", _PDF_WORKER, str(path)], capture_output=True, timeout=timeout,
                              preexec_fn=limit_memory if os.name == "posix" else None)
    except subprocess.TimeoutExpired:
        raise UnsupportedDocument(f"{path.name}: took longer than {timeout:g} s to read; skipped.") from None
    if done.returncode == 3:
        why = done.stderr.decode("utf-8", "replace").strip() or "unreadable"
        raise UnsupportedDocument(f"{path.name}: could not read this PDF ({why}).")
    if done.returncode != 0:
        raise UnsupportedDocument(f"{path.name}: needs more than {memory_mb} MB to read (or crashed the reader); skipped.")
    try:
        pages = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnsupportedDocument(f"{path.name}: could not read this PDF.") from None
    return "\n\n".join(p.strip("\n") for p in pages)


def _title(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"^[#\s]+", "", line).strip()
        if line:
            return line[:160]
    return ""


def read_document(path: str | Path, name: str | None = None) -> SourceDocument:
    path = Path(path)
    if not path.is_file():
        raise UnsupportedDocument(f"{path}: no such file.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(
            f"{path.name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}."
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UnsupportedDocument(f"{path.name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    title, encoding = "", "utf-8"
    try:
        if suffix == ".pdf":
            text = _pdf_text(path)
        else:
            text, encoding = _decode(path.read_bytes(), path)
            if suffix in (".html", ".htm"):
                text, title = _html_text(text)
    except OSError as exc:
        raise UnsupportedDocument(f"{path.name}: cannot be read ({exc.strerror or exc}).") from None
    if not text.strip():
        hint = " (a scanned PDF needs text recognition first)" if suffix == ".pdf" else ""
        raise EmptyDocument(f"{path.name}: contains no text{hint}.")
    note = f"read as {ENCODING_NOTES[encoding]}" if encoding in ENCODING_NOTES else ""
    return SourceDocument(name=name or path.name, text=text, path=str(path.resolve()), title=title or _title(text),
                          encoding=encoding, note=note)


def collect_paths(paths: list[str | Path]) -> list[Path]:
    """Expand folders (recursively) to the supported files inside them."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES))
        elif p.exists():
            found.append(p)
        else:
            raise UnsupportedDocument(f"{p}: no such file or folder.")
    if not found:
        raise NoDocuments(
            "No documents to index in " + ", ".join(map(str, paths)) + f" (looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})."
        )
    return found
