"""The bounded reader: PDFs, Word files (.docx, .odt) and images read in a process of their own.

``index/readers.py`` runs this file as a script (``python extract_worker.py KIND PATH TESSERACT LANGUAGES``) under
a time and memory limit, so a decompression bomb, a pathological file or a crash inside a parser stops this
process, not the indexer. It imports only what KIND needs.

stdout: one JSON object {"parts": [[text, from_ocr], ...], "title": str, "unread": [[page, why], ...],
"missing": [language, ...]}; the parent joins the parts with a blank line.
stderr: progress lines starting with "@": "@ocr N" once it is known that N pages (or image frames) need text
recognition, "@page I N" after each of them. Anything else on stderr is the error (exit 3); exit 4: out of memory.

Text recognition (OCR) runs the Tesseract command-line program on the page rendered at 300 dpi (pypdfium2), with
one thread (OpenMP threads on a busy machine are many times slower, measured), and all four languages at once
(``uzb+uzb_cyrl+rus+eng``: a page may mix them, and one pass measured as accurate as choosing the script first,
see ``bench/ocr.py``).
"""

import json
import os
import re
import subprocess
import sys
import tempfile

OCR_DPI = 300
MAX_PIXELS = 40_000_000  # a page is rendered at 300 dpi unless that makes more pixels (a poster): then smaller
MIN_TEXT = 20  # a PDF page whose text layer has fewer letters and digits is read as a scanned page
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def say(line: str) -> None:
    print("@" + line, file=sys.stderr, flush=True)


class OCRFailed(Exception):
    pass


class Tesseract:
    def __init__(self, command: str, languages: str):
        self.command = command
        self.wanted = [language for language in languages.split("+") if language]
        self._languages = None
        self.missing: list = []

    def unavailable(self) -> str:
        """Why text recognition cannot run here ("" when it can)."""
        if not self.command:
            return "no-tesseract"
        if self.languages() is None:
            return "no-languages"
        return ""

    def languages(self):
        if self._languages is None:
            try:
                done = subprocess.run([self.command, "--list-langs"], capture_output=True, text=True, timeout=60)
                have = {line.strip() for line in done.stdout.splitlines()[1:]}
            except (OSError, subprocess.SubprocessError):
                have = set()
            self.missing = [language for language in self.wanted if language not in have]
            self._languages = "+".join(language for language in self.wanted if language in have) or None
        return self._languages

    def read(self, image_path: str, dpi: float | None = None) -> str:
        command = [self.command, image_path, "stdout", "-l", self.languages()]
        if dpi:
            command += ["--dpi", str(int(round(dpi)))]
        env = dict(os.environ)
        env.setdefault("OMP_THREAD_LIMIT", "1")
        done = subprocess.run(command, capture_output=True, env=env)
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OCRFailed(f"text recognition failed ({(why or ['exit ' + str(done.returncode)])[-1][:200]})")
        return done.stdout.decode("utf-8", "replace").replace("\f", "\n").strip()


def read_pdf(path: str, ocr: Tesseract) -> dict:
    from pypdf import PdfReader

    reader = PdfReader(path)
    texts = [page.extract_text() or "" for page in reader.pages]
    parts = [[text, False] for text in texts]
    scanned = [i for i, text in enumerate(texts) if len(re.findall(r"[^\W_]", text)) < MIN_TEXT]
    unread = []
    if scanned:
        why = ocr.unavailable()
        if why:
            return {"parts": parts, "unread": [[i + 1, why] for i in scanned], "missing": ocr.missing}
        import pypdfium2

        say(f"ocr {len(scanned)}")
        try:
            document = pypdfium2.PdfDocument(path)
        except Exception as exc:  # pypdf read it, pdfium cannot: its scanned pages are listed, not lost
            why = f"could not be rendered ({type(exc).__name__}: {exc})"[:200]
            return {"parts": parts, "unread": [[i + 1, why] for i in scanned], "missing": ocr.missing}
        with tempfile.TemporaryDirectory(prefix="qa-ocr-") as folder:
            image_path = os.path.join(folder, "page.pgm")
            for done, i in enumerate(scanned, 1):
                try:
                    page = document[i]
                    width, height = page.get_size()
                    scale = min(OCR_DPI / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
                    page.render(scale=scale, grayscale=True).to_pil().convert("L").save(image_path)
                    text = ocr.read(image_path, dpi=72 * scale)
                except MemoryError:
                    raise
                except Exception as exc:
                    unread.append(
                        [
                            i + 1,
                            str(exc)
                            if isinstance(exc, OCRFailed)
                            else f"could not be rendered ({type(exc).__name__}: {exc})"[:200],
                        ]
                    )
                    text = ""
                if text.strip():  # a blank page keeps its (near-empty) text layer
                    parts[i] = [text, True]
                say(f"page {done} {len(scanned)}")
    return {"parts": parts, "unread": unread, "missing": ocr.missing}


def read_image(path: str, ocr: Tesseract) -> dict:
    from PIL import Image

    image = Image.open(path)
    frames = getattr(image, "n_frames", 1)
    why = ocr.unavailable()
    if why:
        return {"parts": [], "unread": [[i + 1, why] for i in range(frames)], "missing": ocr.missing}
    say(f"ocr {frames}")
    parts, unread = [], []
    with tempfile.TemporaryDirectory(prefix="qa-ocr-") as folder:
        image_path = os.path.join(folder, "page.pgm")
        for i in range(frames):
            try:
                image.seek(i)
                image.convert("L").save(image_path)
                parts.append([ocr.read(image_path), True])
            except MemoryError:
                raise
            except Exception as exc:
                unread.append(
                    [
                        i + 1,
                        str(exc)
                        if isinstance(exc, OCRFailed)
                        else f"could not be read ({type(exc).__name__}: {exc})"[:200],
                    ]
                )
            say(f"page {i + 1} {frames}")
    return {"parts": parts, "unread": unread, "missing": ocr.missing}


def _docx_paragraph(p) -> str:
    """A paragraph's text in order: runs, hyperlinks, fields, tracked insertions (deleted text is w:delText and
    field codes w:instrText: left out), tabs and line breaks."""
    out = []
    for node in p.iter(W + "t", W + "tab", W + "br", W + "cr", W + "noBreakHyphen"):
        tag = node.tag
        if tag == W + "t":
            out.append(node.text or "")
        elif tag == W + "tab":
            out.append("\t")
        elif tag == W + "noBreakHyphen":
            out.append("-")
        else:
            out.append("\n")
    return "".join(out)


def read_docx(path: str) -> dict:
    """The body in reading order: paragraphs and tables (row by row, a row's cells on one line joined by " | ",
    a cell's paragraphs by a space); headers, footers, footnotes and comments are other parts: left out."""
    import docx

    document = docx.Document(path)
    parts: list = []

    def table(tbl) -> None:
        for tr in tbl.iterchildren(W + "tr"):
            cells, nested = [], []  # a table inside a cell: read after the row holding it
            for tc in tr.iterchildren(W + "tc"):
                merge = tc.find(f"{W}tcPr/{W}vMerge")
                if merge is not None and merge.get(W + "val", "continue") == "continue":
                    continue  # a vertically merged cell's continuation: its text is in the row above
                texts = [_docx_paragraph(p).strip() for p in tc.iterchildren(W + "p")]
                cells.append(" ".join(t for t in texts if t))
                nested += list(tc.iterchildren(W + "tbl"))
            row = " | ".join(c for c in cells if c)
            if row:
                parts.append([row, False])
            for t in nested:
                table(t)

    def walk(element) -> None:
        for child in element.iterchildren():
            if child.tag == W + "p":
                parts.append([_docx_paragraph(child), False])
            elif child.tag == W + "tbl":
                table(child)
            elif child.tag in (W + "sdt", W + "sdtContent", W + "customXml"):
                walk(child)  # content controls (a cover page, a table of contents) hold body paragraphs too

    walk(document.element.body)
    parts = [[text.strip("\n"), False] for text, _ in parts if text.strip()]
    return {"parts": parts, "title": (document.core_properties.title or "").strip()}


_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODF_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODF_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def _odf_inline(element) -> str:
    out = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == _ODF_TEXT + "s":
            out.append(" " * int(child.get(_ODF_TEXT + "c", "1")))
        elif tag == _ODF_TEXT + "tab":
            out.append("\t")
        elif tag == _ODF_TEXT + "line-break":
            out.append("\n")
        elif tag not in (_ODF_TEXT + "note", _ODF_OFFICE + "annotation", _ODF_TEXT + "tracked-changes"):
            out.append(_odf_inline(child))
        out.append(child.tail or "")
    return "".join(out)


def read_odt(path: str) -> dict:
    """An OpenDocument text: the body of content.xml in reading order (headers and footers are in styles.xml;
    notes, comments and tracked deletions left out), tables as in ``read_docx``."""
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(path) as package:
        root = ET.fromstring(package.read("content.xml"))
        meta = package.read("meta.xml") if "meta.xml" in package.namelist() else b""
    parts: list = []

    def cell_text(cell) -> str:
        inner: list = []
        walk(cell, inner)
        return " ".join(" ".join(text.split("\n")).strip() for text, _ in inner if text.strip())

    def walk(element, out: list) -> None:
        for child in element:
            tag = child.tag
            if tag in (_ODF_TEXT + "p", _ODF_TEXT + "h"):
                out.append([_odf_inline(child), False])
            elif tag == _ODF_TABLE + "table-row":
                row = " | ".join(t for t in (cell_text(c) for c in child if c.tag == _ODF_TABLE + "table-cell") if t)
                if row:
                    out.append([row, False])
            elif tag == _ODF_TEXT + "tracked-changes" or tag.endswith("-decls") or tag == _ODF_OFFICE + "forms":
                continue
            else:  # lists, sections, tables and their row groups, indexes
                walk(child, out)

    body = root.find(f"{_ODF_OFFICE}body/{_ODF_OFFICE}text")
    if body is not None:
        walk(body, parts)
    title = ""
    if meta:
        found = ET.fromstring(meta).find(".//{http://purl.org/dc/elements/1.1/}title")
        title = (found.text or "").strip() if found is not None else ""
    return {"parts": [[text.strip("\n"), False] for text, _ in parts if text.strip()], "title": title}


def main(argv: list) -> None:
    kind, path, command, languages = argv
    ocr = Tesseract(command, languages)
    if kind == "pdf":
        result = read_pdf(path, ocr)
    elif kind == "image":
        result = read_image(path, ocr)
    elif kind == "docx":
        result = read_docx(path)
    elif kind == "odt":
        result = read_odt(path)
    else:
        raise ValueError(f"unknown kind {kind}")
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except MemoryError:
        sys.exit(4)
    except BaseException as exc:  # parsers of fuzzed files raise all sorts of exceptions: one line, exit 3
        print(f"{type(exc).__name__}: {exc}"[:300], file=sys.stderr)
        sys.exit(3)
