"""Reading files: encodings, unreadable files and PDFs that must not hang or crash the indexer."""

import codecs
from pathlib import Path

import pytest

from qa.errors import UnsupportedDocument
from qa.index.readers import read_document
from tests.test_store import _text_pdf

TEXT = "Штаб-квартира IIJ находится в Валлетте.\nO‘zbekiston delegatsiyasi Vallettada bo‘ldi."


@pytest.mark.parametrize("name, data, encoding", [
    ("plain.txt", TEXT.encode("utf-8"), "utf-8"),
    ("bom.txt", codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
    ("le.txt", codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
    ("be.txt", codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
])
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


@pytest.mark.parametrize("variable, value, message", [
    ("QA_PDF_TIMEOUT", "0.001", "took longer than 0.001 s to read; skipped"),  # no worker starts that fast
    ("QA_PDF_MEMORY_MB", "16", "needs more than 16 MB"),  # not even the interpreter fits in 16 MB
])
def test_a_pdf_over_its_time_or_memory_bound_is_stopped_and_reported(tmp_path, monkeypatch, variable, value, message):
    pdf = tmp_path / "bounded.pdf"
    _text_pdf(pdf, ["Anything."])
    monkeypatch.setenv(variable, value)
    with pytest.raises(UnsupportedDocument, match=f"bounded.pdf: {message}"):
        read_document(pdf)


@pytest.mark.parametrize("data", [b"%PDF-1.4 this is not really a pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>",
                                  b"%PDF-1.4\n" + bytes(range(256)) * 20])
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
    result = subprocess.run([sys.executable, "-m", "qa.cli", "index", "add", str(path)], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0 and "added     ru.txt" in result.stdout and "note      ru.txt: read as Windows Cyrillic" in result.stdout
