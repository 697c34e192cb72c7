"""Reading files: encodings, unreadable files and PDFs that must not hang or crash the indexer."""

import codecs
from pathlib import Path

import pytest

from qa.errors import UnsupportedDocument
from qa.index.readers import read_document
from tests.test_store import _text_pdf

TEXT = "Штаб-квартира IIJ находится в Валлетте.\nO‘zbekiston delegatsiyasi Vallettada bo‘ldi."


@pytest.mark.parametrize(
    "name, data, encoding",
    [
        ("plain.txt", TEXT.encode("utf-8"), "utf-8"),
        ("bom.txt", codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        ("le.txt", codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        ("be.txt", codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    ],
)
def test_utf8_and_utf16_files_read_to_the_same_text(tmp_path, name, data, encoding):
    path = tmp_path / name
    path.write_bytes(data)
    doc = read_document(path)
    assert doc.text == TEXT and doc.encoding == encoding
    assert bool(doc.note) == (encoding != "utf-8")


def test_windows_cyrillic_is_detected_decoded_and_said(tmp_path):
    path = tmp_path / "ru.txt"
    text = "Консультации прошли 1-2 октября 2025 года в Валлетте."
    path.write_bytes(text.encode("cp1251"))
    doc = read_document(path)
    assert doc.text == text and doc.encoding == "cp1251" and "cp1251" in doc.note


def test_binary_and_unreadable_files_get_a_clear_error(tmp_path, monkeypatch):
    blob = tmp_path / "blob.txt"
    blob.write_bytes(b"\x00\x01\x02\xff" * 100)
    with pytest.raises(UnsupportedDocument, match="binary"):
        read_document(blob)
    locked = tmp_path / "locked.txt"
    locked.write_text("secret", encoding="utf-8")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(UnsupportedDocument, match="locked.txt: cannot be read .Permission denied"):
        read_document(locked)


def test_a_good_pdf_is_read_in_its_worker(tmp_path):
    pdf = tmp_path / "report.pdf"
    _text_pdf(pdf, ["The harbour museum opened in 1987.", "It is in Qarshi."])
    assert "harbour museum opened in 1987" in read_document(pdf).text


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("QA_PDF_TIMEOUT", "0.001", "took longer than 0.001 s to read; skipped"),  # no worker starts that fast
        ("QA_PDF_MEMORY_MB", "16", "needs more than 16 MB"),  # not even the interpreter fits in 16 MB
    ],
)
def test_a_pdf_over_its_time_or_memory_bound_is_stopped_and_reported(tmp_path, monkeypatch, variable, value, message):
    pdf = tmp_path / "bounded.pdf"
    _text_pdf(pdf, ["Anything."])
    monkeypatch.setenv(variable, value)
    with pytest.raises(UnsupportedDocument, match=f"bounded.pdf: {message}"):
        read_document(pdf)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 this is not really a pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>",
        b"%PDF-1.4\n" + bytes(range(256)) * 20,
    ],
)
def test_broken_pdfs_are_reported_not_raised_raw(tmp_path, data):
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(data)
    with pytest.raises(UnsupportedDocument, match="broken.pdf"):
        read_document(pdf)


def test_the_command_line_says_how_a_file_was_decoded(home, tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "ru.txt"
    path.write_bytes("Консультации прошли в Валлетте.".encode("cp1251"))
    env = dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256")
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", "add", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (
        result.returncode == 0
        and "added     ru.txt" in result.stdout
        and "note      ru.txt: read as Windows Cyrillic" in result.stdout
    )


def _word_file(path):
    """A .docx made by python-docx: a title, paragraphs, a table between them, a header and a footer."""
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "Confidential header line"
    section.footer.paragraphs[0].text = "Page footer line"
    document.add_heading("Harbour museum of Qarshi", 1)
    document.add_paragraph("The harbour museum opened in 1987 with twelve exhibition halls.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Director", "Aziza Karimova"
    table.cell(1, 0).text = "Visitors"
    table.cell(1, 1).paragraphs[0].text = "40,000"
    table.cell(1, 1).add_paragraph("a year")
    document.add_paragraph("The museum is closed on Mondays.")
    document.save(path)


def test_a_word_file_is_read_in_reading_order_without_headers_and_footers(tmp_path):
    path = tmp_path / "museum.docx"
    _word_file(path)
    doc = read_document(path)
    assert doc.text == (
        "Harbour museum of Qarshi\n\nThe harbour museum opened in 1987 with twelve exhibition halls."
        "\n\nDirector | Aziza Karimova\n\nVisitors | 40,000 a year\n\nThe museum is closed on Mondays."
    )
    assert doc.title == "Harbour museum of Qarshi" and not doc.ocr_spans
    assert "header" not in doc.text.lower() and "footer" not in doc.text.lower()


def test_a_word_file_is_indexed_and_quoted_from_its_text(fake_engine, tmp_path):
    path = tmp_path / "museum.docx"
    _word_file(path)
    assert fake_engine.library.add([path]).added == ["museum.docx"]
    stored = fake_engine.document_text("museum.docx")
    assert stored == read_document(path).text
    import dataclasses

    from qa.answering.tuning import Tuning

    # The hashing embedder's scores are not on the calibrated scale: test the reading, not the threshold.
    fake_engine.tuning = dataclasses.replace(Tuning.load(), found_threshold=float("-inf"))
    answer = fake_engine.answer("When did the harbour museum open?")
    assert answer.found and answer.citations[0].source == "museum.docx"
    for c in answer.citations:
        assert stored[c.start : c.end] == c.text and stored[c.quote_start : c.quote_end] == c.quote
        assert not c.ocr
    assert "1987" in answer.citations[0].quote


def test_an_opendocument_text_is_read_without_notes_and_tracked_deletions(tmp_path):
    import zipfile

    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body><office:text>'
        "<text:tracked-changes><text:changed-region><text:deletion><text:p>Deleted words</text:p>"
        "</text:deletion></text:changed-region></text:tracked-changes>"
        '<text:h text:outline-level="1">Kengash</text:h>'
        '<text:p>Kengashning birinchi<text:s text:c="2"/>yig‘ilishi<text:note><text:note-body><text:p>A note'
        "</text:p></text:note-body></text:note> Toshkentda bo‘lib o‘tadi.</text:p>"
        "<text:list><text:list-item><text:p>Birinchi band</text:p></text:list-item></text:list>"
        "<table:table><table:table-row><table:table-cell><text:p>Sana</text:p></table:table-cell>"
        "<table:table-cell><text:p>14-may</text:p></table:table-cell></table:table-row></table:table>"
        "</office:text></office:body></office:document-content>"
    )
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ns}><office:meta>'
        "<dc:title>Kengash yig‘ilishi</dc:title></office:meta></office:document-meta>"
    )
    path = tmp_path / "kengash.odt"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", content)
        package.writestr("meta.xml", meta)
    doc = read_document(path)
    assert doc.text == (
        "Kengash\n\nKengashning birinchi  yig‘ilishi Toshkentda bo‘lib o‘tadi.\n\nBirinchi band\n\nSana | 14-may"
    )
    assert doc.title == "Kengash yig‘ilishi"


@pytest.mark.parametrize("name, data", [("broken.docx", b"PK\x03\x04 not a zip"), ("broken.odt", b"not a zip at all")])
def test_broken_word_files_are_reported_not_raised_raw(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnsupportedDocument, match=f"{name}: could not read this"):
        read_document(path)


def test_a_folder_add_says_what_it_passed_over_by_kind(tmp_path, capsys, monkeypatch):
    from qa.cli import main
    from qa.index.readers import collect_paths, passed_over_line

    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "note.txt").write_text("The council met in Tashkent in May 2024.", encoding="utf-8")
    for name in ("a.xlsx", "b.xlsx", "sub/c.pptx"):
        (folder / name).write_bytes(b"PK\x03\x04")
    (folder / ".hidden.xlsx").write_bytes(b"x")  # hidden files are not the user's documents
    passed: list = []
    assert collect_paths([folder], passed) == [folder / "note.txt"]
    assert passed_over_line(passed) == "3 files skipped (not a kind qa reads): .xlsx ×2, .pptx ×1"
    monkeypatch.setenv("QA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QA_EMBEDDER", "hashing:256")
    assert main(["index", "add", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "3 files skipped (not a kind qa reads): .xlsx ×2, .pptx ×1" in err


def test_a_folder_of_nothing_readable_says_what_it_found(tmp_path):
    from qa.errors import NoDocuments
    from qa.index.readers import collect_paths

    (tmp_path / "a.xlsx").write_bytes(b"x")
    with pytest.raises(NoDocuments, match=r"1 file skipped \(not a kind qa reads\): \.xlsx ×1"):
        collect_paths([tmp_path])
