"""Reading user files (txt, md, html, pdf) into text the index can quote from.

For txt and md the stored text is the file's own text, so quoted passages are
verbatim from the file. For html and pdf it is the extracted text, stored with
the index so quotes and offsets stay exact against what the user can open.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from qa.errors import NoDocuments, UnsupportedDocument

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class SourceDocument:
    name: str  # file name: what citations show
    text: str
    path: str = ""
    title: str = ""

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _decode(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise UnsupportedDocument(f"{path.name}: looks like a binary file, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedDocument(
            f"{path.name}: not valid UTF-8 (byte {exc.start}). Convert it to UTF-8 first, e.g. iconv -f cp1251 -t utf-8."
        ) from None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 0.05 * max(1, min(len(text), 8192)):
        raise UnsupportedDocument(f"{path.name}: looks like a binary file, not text.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover
        raise UnsupportedDocument("Reading PDF needs the 'pypdf' package.") from exc
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UnsupportedDocument(f"{path.name}: could not read this PDF ({exc}).") from None
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
    title = ""
    if suffix == ".pdf":
        text = _pdf_text(path)
    else:
        text = _decode(path.read_bytes(), path)
        if suffix in (".html", ".htm"):
            text, title = _html_text(text)
    if not text.strip():
        raise UnsupportedDocument(f"{path.name}: contains no text.")
    return SourceDocument(name=name or path.name, text=text, path=str(path.resolve()), title=title or _title(text))


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
