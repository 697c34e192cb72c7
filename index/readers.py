"""Reading user files (txt, md, html, pdf, docx, odt, images) into text the index can quote from.

For txt and md the stored text is the file's own text, so quoted passages are
verbatim from the file. For html, pdf, docx and odt it is the extracted text, and
for scanned pages and images the text recognised by Tesseract (OCR), stored with
the index so quotes and offsets stay exact against what the user can open; the
character ranges that came from OCR are kept with it (``SourceDocument.ocr_spans``).

About 460 lines: the decoding of text files, the HTML reader, and the limits of the worker process that reads
PDFs, Word files and images (``index/extract_worker.py``) are one job: a file in, its exact text out.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from qa import language as languages
from qa.errors import EmptyDocument, NeedsOCR, NoDocuments, UnsupportedDocument

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".odt"} | IMAGE_SUFFIXES
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class SourceDocument:
    name: str  # file name: what citations show
    text: str
    path: str = ""
    title: str = ""
    encoding: str = "utf-8"  # how the file's bytes were decoded
    note: str = ""  # something the user should know about how it was read ("decoded as cp1251")
    ocr_spans: list = field(default_factory=list)  # [(start, end)] of ``text`` read by text recognition (OCR)
    skipped: str = ""  # what of the file could not be read and why (scanned pages without Tesseract)

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
    cyrillic, letters = languages.cyrillic_share(text[:20000])
    return text if letters and cyrillic >= 0.5 * letters else None


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
        text: str | None = data.decode(encoding)
    except UnicodeDecodeError as exc:
        text = _looks_like_cp1251(data) if encoding == "utf-8" else None
        if text is None:
            raise UnsupportedDocument(
                f"{path.name}: not valid {'UTF-8' if encoding == 'utf-8' else encoding.upper()} (byte {exc.start}). "
                "Convert it to UTF-8 first, e.g. iconv -f cp1251 -t utf-8."
            ) from None
        encoding = "cp1251"
    assert text is not None  # the except branch raised when it was None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 0.05 * max(1, min(len(text), 8192)):
        raise UnsupportedDocument(f"{path.name}: looks like a binary file, not text.")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head"}
    _BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "pre",
        "title",
    }

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


PDF_TIMEOUT_SECONDS = 60.0  # QA_PDF_TIMEOUT overrides (every file read by the worker: pdf, docx, odt, images)
PDF_MEMORY_MB = 1536  # QA_PDF_MEMORY_MB overrides
OCR_PAGE_SECONDS = 30.0  # QA_OCR_PAGE_TIMEOUT overrides: added to the time limit for every page to recognise
OCR_LANGUAGES = "uzb+uzb_cyrl+rus+eng"  # QA_OCR_LANGUAGES overrides (Tesseract's names joined by +)
OCR_PACKAGES = "tesseract-ocr tesseract-ocr-rus tesseract-ocr-uzb tesseract-ocr-uzb-cyrl tesseract-ocr-eng"
OCR_ADVICE = f"text recognition needs Tesseract: run `make ocr` as root, or apt-get install {OCR_PACKAGES}"
# The worker (``extract_worker.py``, run as a script) imports only the parser its kind of file needs, reads the
# file, and prints the text as JSON; progress of text recognition comes as "@" lines on stderr, any failure
# inside a parser (fuzzed files raise all sorts of exceptions) as one line on stderr and exit code 3.
MIN_IMAGE_TEXT = 20  # an image in which fewer letters and digits are recognised is skipped as having no text
_WORKER = Path(__file__).with_name("extract_worker.py")
_KINDS = {".pdf": "pdf", ".docx": "docx", ".odt": "odt", **{suffix: "image" for suffix in IMAGE_SUFFIXES}}
_WHAT = {"pdf": "PDF", "docx": "Word file", "odt": "OpenDocument file", "image": "image"}


def tesseract_command() -> str | None:
    """The Tesseract program (``QA_TESSERACT``, default ``tesseract`` on the PATH), or None when there is none."""
    return shutil.which(os.environ.get("QA_TESSERACT") or "tesseract")


def _limits() -> tuple[float, int, float]:
    try:
        timeout = float(os.environ.get("QA_PDF_TIMEOUT", PDF_TIMEOUT_SECONDS))
        memory = int(os.environ.get("QA_PDF_MEMORY_MB", PDF_MEMORY_MB))
        per_page = float(os.environ.get("QA_OCR_PAGE_TIMEOUT", OCR_PAGE_SECONDS))
    except ValueError:
        timeout, memory, per_page = PDF_TIMEOUT_SECONDS, PDF_MEMORY_MB, OCR_PAGE_SECONDS
    return timeout, memory, per_page


def _stop(proc) -> None:
    """Kill the worker and whatever it started (Tesseract): they run in a session of their own."""
    try:
        os.killpg(proc.pid, signal.SIGKILL) if os.name == "posix" else proc.kill()
    except OSError:
        pass
    proc.wait()


def _run_worker(path: Path, kind: str, progress) -> dict:
    """The worker's result for ``path``, in a separate process bounded in time and memory: a decompression bomb
    or a pathological file is stopped and reported, and cannot take the indexer (or the chat) down with it. The
    time limit grows by ``QA_OCR_PAGE_TIMEOUT`` for every page the worker says it must recognise;
    ``progress(done, total)`` is called after each such page."""
    timeout, memory_mb, per_page = _limits()

    def limit_memory():  # in the worker, before it starts
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    languages = os.environ.get("QA_OCR_LANGUAGES") or OCR_LANGUAGES
    command = [sys.executable, str(_WORKER), kind, str(path), tesseract_command() or "", languages]
    allowed, errors = timeout, []
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            preexec_fn=limit_memory if os.name == "posix" else None,
            start_new_session=True,
        )
        assert proc.stderr is not None  # stderr=PIPE
        try:
            lines: queue.Queue = queue.Queue()

            def pump():
                for line in proc.stderr:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=pump, daemon=True).start()
            deadline = time.monotonic() + timeout
            while True:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise UnsupportedDocument(
                        f"{path.name}: took longer than {allowed:g} s to read; skipped."
                    ) from None
                if line is None:
                    break
                line = line.decode("utf-8", "replace").rstrip("\n")
                word = line.split()
                if line.startswith("@ocr ") and len(word) == 2 and word[1].isdigit():
                    deadline += int(word[1]) * per_page
                    allowed += int(word[1]) * per_page
                elif line.startswith("@page ") and len(word) == 3 and word[1].isdigit() and word[2].isdigit():
                    if progress:
                        progress(int(word[1]), int(word[2]))
                elif line.strip():
                    errors.append(line.strip())
            try:
                code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise UnsupportedDocument(f"{path.name}: took longer than {allowed:g} s to read; skipped.") from None
        finally:
            if proc.poll() is None:
                _stop(proc)
            proc.stderr.close()
        if code == 3:
            why = errors[-1] if errors else "unreadable"
            raise UnsupportedDocument(f"{path.name}: could not read this {_WHAT[kind]} ({why}).")
        if code != 0:
            raise UnsupportedDocument(
                f"{path.name}: needs more than {memory_mb} MB to read (or crashed the reader); skipped."
            )
        out.seek(0)
        try:
            return json.loads(out.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UnsupportedDocument(f"{path.name}: could not read this {_WHAT[kind]}.") from None


def _pages(numbers: list[int]) -> str:
    """[2, 3, 4, 7] -> "pages 2–4, 7"."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    listed = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)
    return ("page " if len(numbers) == 1 else "pages ") + listed


def _why_unread(why: str, languages: str) -> str:
    if why == "no-tesseract":
        return OCR_ADVICE
    if why == "no-languages":
        return f"Tesseract has none of the language data {languages} ({OCR_ADVICE})"
    return why


def _extract(path: Path, kind: str, progress) -> tuple[str, str, list, str, str]:
    """(text, title, OCR spans, what was not read, note) of a file the worker reads: the parts it returns (pages,
    paragraphs) joined by a blank line, the ranges of the recognised ones kept."""
    result = _run_worker(path, kind, progress)
    spans: list[tuple[int, int]]
    pieces, spans, position = [], [], 0
    for i, (part, from_ocr) in enumerate(result.get("parts", [])):
        part = part.strip() if from_ocr else part.strip("\n")
        if i:
            position += 2
        if from_ocr and part:
            if spans and spans[-1][1] + 2 == position:  # the pages before were recognised too: one range
                spans[-1] = (spans[-1][0], position + len(part))
            else:
                spans.append((position, position + len(part)))
        pieces.append(part)
        position += len(part)
    text = "\n\n".join(pieces)
    languages = os.environ.get("QA_OCR_LANGUAGES") or OCR_LANGUAGES
    unread = result.get("unread", [])
    what = "an image" if kind == "image" else "a scanned PDF (no text layer)" if kind == "pdf" else _WHAT[kind]
    skipped = ""
    if unread:
        reasons = list(dict.fromkeys(_why_unread(why, languages) for _, why in unread))
        if not text.strip():
            message = f"{path.name}: {what}, not read: {'; '.join(reasons)}."
            if all(why in ("no-tesseract", "no-languages") for _, why in unread):
                raise NeedsOCR(message)
            raise UnsupportedDocument(message)
        part = "frame" if kind == "image" else "page"
        skipped = (
            f"{path.name}: {_pages([n for n, _ in unread]).replace('page', part)} not read "
            f"({'scanned, no text layer; ' if kind == 'pdf' else ''}{'; '.join(reasons)}); the rest was indexed."
        )
    if kind == "image" and len(re.findall(r"[^\W_]", text)) < MIN_IMAGE_TEXT:
        # A photo, a logo, an icon in a folder of documents: a few letters recognised in it are noise, not text
        raise EmptyDocument(f"{path.name}: no text recognised in this image.")
    note = ""
    recognised = sum(1 for part, from_ocr in result.get("parts", []) if from_ocr)
    if recognised:
        total = len(result.get("parts", []))
        note = (
            "read by text recognition (OCR)"
            if total == 1
            else f"{recognised} of {total} {'frames' if kind == 'image' else 'pages'} read by text recognition (OCR)"
        )
        if result.get("missing"):
            packages = " ".join("tesseract-ocr-" + language.replace("_", "-") for language in result["missing"])
            note += f", without the {'+'.join(result['missing'])} language data (apt-get install {packages})"
    return text, result.get("title", ""), spans, skipped, note


def _title(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"^[#\s]+", "", line).strip()
        if line:
            return line[:160]
    return ""


def read_document(path: str | Path, name: str | None = None, progress=None) -> SourceDocument:
    """The file's text as the index keeps it. ``progress(done, total)``: called after each page read by text
    recognition (scanned PDF pages, image frames), which takes seconds a page."""
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
    ocr_spans: list[tuple[int, int]]
    title, encoding, ocr_spans, skipped, note = "", "utf-8", [], "", ""
    try:
        if suffix in _KINDS:
            if _KINDS[suffix] == "image" and tesseract_command() is None:
                raise NeedsOCR(f"{path.name}: an image, not read: {OCR_ADVICE}.")
            text, title, ocr_spans, skipped, note = _extract(path, _KINDS[suffix], progress)
        else:
            text, encoding = _decode(path.read_bytes(), path)
            if suffix in (".html", ".htm"):
                text, title = _html_text(text)
    except OSError as exc:
        raise UnsupportedDocument(f"{path.name}: cannot be read ({exc.strerror or exc}).") from None
    if not text.strip():
        hint = " (nor did text recognition find any)" if ocr_spans or note else ""
        raise EmptyDocument(f"{path.name}: contains no text{hint}.")
    if encoding in ENCODING_NOTES:
        note = f"read as {ENCODING_NOTES[encoding]}"
    return SourceDocument(
        name=name or path.name,
        text=text,
        path=str(path.resolve()),
        title=title or _title(text),
        encoding=encoding,
        note=note,
        ocr_spans=ocr_spans,
        skipped=skipped,
    )


def collect_paths(paths: list[str | Path], passed_over: list[Path] | None = None) -> list[Path]:
    """Expand folders (recursively) to the supported files inside them. The other files found in folders (not
    hidden ones) are appended to ``passed_over``, so that nothing is passed over in silence."""
    found: list[Path] = []
    other: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file():
                    continue
                if f.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(f)
                elif not any(part.startswith(".") for part in f.relative_to(p).parts):
                    other.append(f)
        elif p.exists():
            found.append(p)
        else:
            raise UnsupportedDocument(f"{p}: no such file or folder.")
    if passed_over is not None:
        passed_over.extend(other)
    if not found:
        raise NoDocuments(
            "No documents to index in "
            + ", ".join(map(str, paths))
            + f" (looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})"
            + (f"; {passed_over_line(other)}" if other else "")
            + "."
        )
    return found


def passed_over_line(paths: list[Path]) -> str:
    """What a folder add did not read, by kind: "3 files skipped: .xlsx ×2, .pptx ×1"."""
    kinds: dict[str, int] = {}
    for path in paths:
        kind = path.suffix.lower() or "(no extension)"
        kinds[kind] = kinds.get(kind, 0) + 1
    ordered = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{len(paths)} file{'s' if len(paths) != 1 else ''} skipped (not a kind qa reads): " + ", ".join(
        f"{kind} ×{n}" for kind, n in ordered
    )


def plan_line(files: list[Path], settings) -> str:
    """One line on an add about to start: how many files, how large, and the batches they are indexed in."""
    size = 0
    for path in files:
        try:
            size += path.stat().st_size
        except OSError:
            pass
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
    return (
        f"indexing {len(files):,} file{'s' if len(files) != 1 else ''} ({shown}) in batches of up to "
        f"{settings.batch_documents:,} documents or {settings.batch_chars:,} characters"
    )
