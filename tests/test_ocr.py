"""Scanned PDFs and images: text recognition with Tesseract, the recognised ranges marked down to the citation,
and, without Tesseract, every such file or page listed as skipped with the advice to install it."""

import dataclasses
import re
import shutil
import subprocess

import pytest

from qa.errors import NeedsOCR
from qa.index import readers
from qa.index.readers import OCR_ADVICE, read_document
from bench.ocr import font_path
from bench.ocr import render as render_page
from tests.test_store import _text_pdf


def _tesseract_missing() -> str:
    """Why the real OCR tests cannot run here ("" when they can)."""
    command = shutil.which("tesseract")
    if command is None:
        return "Tesseract is not installed: run `make ocr` (apt-get install " + readers.OCR_PACKAGES + ")"
    listed = subprocess.run([command, "--list-langs"], capture_output=True, text=True).stdout.split()
    missing = [lang for lang in ("rus", "uzb", "uzb_cyrl", "eng") if lang not in listed]
    return f"Tesseract lacks the {'+'.join(missing)} data: run `make ocr`" if missing else ""


needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None or bool(_tesseract_missing()),
    reason=_tesseract_missing() or "Tesseract is not installed",
)

TEXTS = {  # known text in each language, rendered to an image and read back
    "en": "The harbour museum of Qarshi opened in 1987 with twelve exhibition halls. Its director, Aziza Karimova, "
    "says that forty thousand visitors come every year.",
    "ru": "Музей гавани в Карши открылся в 1987 году и насчитывает двенадцать выставочных залов. Его директор "
    "Азиза Каримова говорит, что ежегодно приходят сорок тысяч посетителей.",
    "uz": "Qarshidagi bandargoh muzeyi 1987-yilda o‘n ikkita ko‘rgazma zali bilan ochilgan. Direktor Aziza "
    "Karimovaning so‘zlariga ko‘ra, har yili qirq ming kishi keladi. G‘alaba bog‘i yonida joylashgan.",
    "uz_cyrl": "Қаршидаги бандаргоҳ музейи 1987 йилда ўн иккита кўргазма зали билан очилган. Директор Азиза "
    "Каримованинг сўзларига кўра, ҳар йили қирқ минг киши келади. Ғалаба боғи ёнида жойлашган.",
}


def render(text: str, size: int = 40, width: int = 1700, margin: int = 80):
    """A page image (grayscale, about 300 dpi for 10-point text) of ``text``, wrapped to ``width`` pixels."""
    if font_path() is None:
        pytest.skip("no DejaVu Sans font to render test pages with (apt-get install fonts-dejavu-core)")
    return render_page(text, size, width, margin)


def scanned_pdf(path, pages: list[str]) -> None:
    """A PDF of page images only (no text layer), as a scanner makes."""
    images = [render(text) for text in pages]
    images[0].save(path, "PDF", resolution=300, save_all=True, append_images=images[1:])


def mixed_pdf(path, text_lines: list[str], scanned: str) -> None:
    """Page 1 with a text layer, page 2 a scan."""
    import tempfile
    from pathlib import Path

    from pypdf import PdfWriter

    with tempfile.TemporaryDirectory() as folder:
        _text_pdf(Path(folder) / "text.pdf", text_lines)
        scanned_pdf(Path(folder) / "scan.pdf", [scanned])
        writer = PdfWriter()
        writer.append(str(Path(folder) / "text.pdf"))
        writer.append(str(Path(folder) / "scan.pdf"))
        with open(path, "wb") as f:
            writer.write(f)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: Levenshtein distance / reference length, whitespace collapsed."""
    a, b = " ".join(reference.split()), " ".join(hypothesis.split())
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1] / len(a)


def _answering(engine):
    from qa.answering.tuning import Tuning

    # The hashing embedder's scores are not on the calibrated scale: test the reading, not the threshold.
    engine.tuning = dataclasses.replace(Tuning.load(), found_threshold=float("-inf"))
    return engine


@needs_tesseract
@pytest.mark.parametrize("language", sorted(TEXTS))
def test_an_image_is_read_by_tesseract_within_the_error_rate(tmp_path, language):
    path = tmp_path / f"page-{language}.png"
    render(TEXTS[language]).save(path)
    doc = read_document(path)
    assert cer(TEXTS[language], doc.text) <= 0.05, doc.text
    assert doc.ocr_spans == [(0, len(doc.text))] and "text recognition (OCR)" in doc.note


@needs_tesseract
def test_a_scanned_pdf_is_indexed_answered_and_cited_as_ocr(fake_engine, tmp_path, capsys):
    from qa.cli import _print_answer
    from qa.index.manifest import Manifest
    from tests.conftest import make_engine
    from qa.ui.app import render_citations, render_document

    pdf = tmp_path / "scan.pdf"
    scanned_pdf(pdf, [TEXTS["en"], "The museum shop sells maps of the old harbour and postcards."])
    lines: list[str] = []
    fake_engine.library.notify = lines.append
    report = fake_engine.library.add([pdf])
    assert report.added == ["scan.pdf"] and ("scan.pdf", "2 of 2 pages read by text recognition (OCR)") in report.notes
    assert [line for line in lines if "text recognition" in line] == [
        "scan.pdf: text recognition (OCR), page 1 of 2",
        "scan.pdf: text recognition (OCR), page 2 of 2",
    ]
    stored = fake_engine.document_text("scan.pdf")
    record = {d.name: d for d in fake_engine.documents()}["scan.pdf"]
    assert record.ocr == ((0, len(stored)),)  # both pages: one range
    assert Manifest(fake_engine.settings.home).entries()["scan.pdf"]["ocr"] == [[0, len(stored)]]

    answer = _answering(fake_engine).answer("When did the harbour museum of Qarshi open?")
    assert answer.found and "1987" in answer.text, (answer.reason, answer.text)
    cited = answer.citations[0]
    assert cited.ocr and stored[cited.quote_start : cited.quote_end] == cited.quote
    _print_answer(answer)
    assert re.search(r"\[1\] scan\.pdf \(English, chars \d+-\d+\) \(OCR\)", capsys.readouterr().out)
    assert "· OCR" in render_citations(answer)
    viewer = render_document(stored, cited.start, cited.end, cited.quote_start, cited.quote_end, "scan.pdf", ocr=True)
    assert "scan.pdf</strong> (OCR)" in viewer

    # Another process (the document list from the chunk cache), and a rebuild from the library: still marked.
    again = _answering(make_engine(fake_engine.settings.home)).answer("When did the harbour museum of Qarshi open?")
    assert again.citations[0].ocr
    fake_engine.library.rebuild()
    assert {d.name: d for d in fake_engine.documents()}["scan.pdf"].ocr == ((0, len(stored)),)
    assert _answering(fake_engine).answer("When did the harbour museum of Qarshi open?").citations[0].ocr


@needs_tesseract
def test_a_mixed_pdf_marks_only_its_scanned_page(fake_engine, tmp_path):
    pdf = tmp_path / "mixed.pdf"
    mixed_pdf(
        pdf,
        ["The harbour museum opened in 1987 with twelve", "exhibition halls. It is in Qarshi."],
        "The museum shop sells maps of the old harbour and postcards of Qarshi.",
    )
    pages = []
    doc = read_document(pdf, progress=lambda done, total: pages.append((done, total)))
    assert pages == [(1, 1)] and doc.note == "1 of 2 pages read by text recognition (OCR)"
    ((start, end),) = doc.ocr_spans
    assert "harbour museum opened" in doc.text[:start] and "museum shop sells maps" in doc.text[start:end]
    assert end == len(doc.text)

    _answering(fake_engine).library.add([pdf])
    cited = fake_engine.answer("When did the harbour museum open?").citations[0]
    assert cited.quote_end <= start  # quoted from the text layer; marked OCR when its passage reaches page 2
    assert cited.ocr == (cited.end > start)
    cited = fake_engine.answer("What does the museum shop sell?").citations[0]
    assert start <= cited.quote_start and cited.ocr


def test_without_tesseract_scans_and_images_are_skipped_with_the_advice(
    fake_engine, tmp_path, monkeypatch, capsys, home
):
    from qa.cli import main

    monkeypatch.setattr(readers, "tesseract_command", lambda: None)
    folder = tmp_path / "docs"
    folder.mkdir()
    render(TEXTS["ru"]).save(folder / "photo.png")
    scanned_pdf(folder / "scan.pdf", [TEXTS["en"]])
    mixed_pdf(
        folder / "mixed.pdf",
        ["The harbour museum opened in 1987 with twelve exhibition halls."],
        "The museum shop sells maps of the old harbour.",
    )
    (folder / "notes.txt").write_text("The museum is closed on Mondays.", encoding="utf-8")

    report = fake_engine.library.add([folder])
    assert sorted(report.added) == ["mixed.pdf", "notes.txt"] and not report.failed
    skipped = dict(report.skipped)
    assert skipped[str(folder / "photo.png")] == f"photo.png: an image, not read: {OCR_ADVICE}."
    assert skipped[str(folder / "scan.pdf")] == f"scan.pdf: a scanned PDF (no text layer), not read: {OCR_ADVICE}."
    assert skipped[str(folder / "mixed.pdf")] == (
        f"mixed.pdf: page 2 not read (scanned, no text layer; {OCR_ADVICE}); the rest was indexed."
    )
    assert "apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-uzb tesseract-ocr-uzb-cyrl" in OCR_ADVICE
    assert "harbour museum opened" in fake_engine.document_text("mixed.pdf")
    assert not {d.name: d for d in fake_engine.documents()}["mixed.pdf"].ocr

    with pytest.raises(NeedsOCR, match="photo.png: an image, not read: text recognition needs Tesseract"):
        fake_engine.library.add([folder / "photo.png"])  # the one file asked for: its own error

    monkeypatch.setenv("QA_EMBEDDER", "hashing:256")
    assert main(["index", "add", str(folder)]) == 0  # skipped is not failed
    err = capsys.readouterr().err
    assert f"skipped   photo.png: an image, not read: {OCR_ADVICE}." in err
    assert "skipped   mixed.pdf: page 2 not read" in err


def test_a_document_record_cached_before_ocr_existed_loads_without_ocr():
    import pickle

    from qa.index.store import DocumentRecord

    record = DocumentRecord("a.txt", "h", "en", "A", 1, "2025-01-01", "/a.txt", 10)
    del record.__dict__["ocr"]  # as the chunk cache pickled records before the field existed
    loaded = pickle.loads(pickle.dumps(record))
    assert loaded.ocr == () and not loaded.ocr_overlaps(0, 10)
    assert DocumentRecord("b.pdf", "h", "en", "B", 1, "", "", 10, ocr=((5, 9),)).ocr_overlaps(0, 6)


@needs_tesseract
def test_an_image_without_text_is_skipped_not_indexed(tmp_path):
    from PIL import Image, ImageDraw

    from qa.errors import EmptyDocument

    image = Image.new("L", (600, 400), 255)
    ImageDraw.Draw(image).ellipse((100, 80, 500, 320), outline=0, width=8)  # a logo, a photo: no words
    image.save(tmp_path / "logo.png")
    with pytest.raises(EmptyDocument, match="logo.png: no text recognised in this image"):
        read_document(tmp_path / "logo.png")
