"""The library manifest: one row per document in SQLite, written by the batch; an earlier release's JSON manifest
taken over once; a damaged manifest named as such."""

import json

import pytest

from qa.errors import IndexCorrupted
from qa.index.manifest import Manifest
from qa.index.readers import SourceDocument


def _doc(name: str, text: str, **kw) -> SourceDocument:
    return SourceDocument(name=name, text=text, path=f"/docs/{name}", title=name.split(".")[0], **kw)


def _texts(manifest: Manifest) -> set[str]:
    return {p.stem for p in manifest.texts.glob("*.txt")}


def test_record_lists_replaces_and_forgets_keeping_each_text_while_a_name_lists_it(tmp_path):
    manifest = Manifest(tmp_path)
    assert manifest.entries() == {} and len(manifest) == 0 and "a.txt" not in manifest
    a, b = _doc("a.txt", "Toshkent shahrida."), _doc("b.txt", "Toshkent shahrida.")  # the same content
    manifest.record([a, b, _doc("o‘zbek.txt", "Ўзбекистон", ocr_spans=[(0, 10)])])
    entries = manifest.entries()
    assert sorted(entries) == ["a.txt", "b.txt", "o‘zbek.txt"] and len(manifest) == 3 and "a.txt" in manifest
    assert entries["a.txt"]["hash"] == a.content_hash and entries["o‘zbek.txt"]["ocr"] == [[0, 10]]
    assert entries["a.txt"]["chars"] == len(a.text) and entries["a.txt"]["path"] == "/docs/a.txt"
    added = entries["a.txt"]["added"]

    manifest.record([_doc("a.txt", "Toshkent shahrida.")])  # unchanged: keeps when it was added
    assert manifest.entries()["a.txt"]["added"] == added
    new_a = _doc("a.txt", "Samarqand shahrida.")
    manifest.record([new_a])  # replaced: b.txt still lists the old text, so it stays
    assert manifest.entries()["a.txt"]["hash"] == new_a.content_hash
    assert {a.content_hash, new_a.content_hash} <= _texts(manifest)
    manifest.forget("b.txt")  # the last name of the old text: the text goes
    assert a.content_hash not in _texts(manifest) and new_a.content_hash in _texts(manifest)
    manifest.forget("nothing.txt")
    assert sorted(manifest.entries()) == ["a.txt", "o‘zbek.txt"]
    assert [s.name for s in manifest.sources()] == ["a.txt", "o‘zbek.txt"]
    assert next(manifest.sources()).text == "Samarqand shahrida."


def test_an_earlier_releases_json_manifest_is_taken_over_once(tmp_path):
    old = Manifest(tmp_path)
    old.texts.mkdir(parents=True)
    doc = _doc("ru.txt", "Совет собрался в Ташкенте.")
    (old.texts / f"{doc.content_hash}.txt").write_text(doc.text, encoding="utf-8")
    entry = {
        "hash": doc.content_hash,
        "path": "/d/ru.txt",
        "title": "ru",
        "chars": len(doc.text),
        "added": "2026-01-01",
    }
    old.legacy.write_text(json.dumps({"version": 1, "documents": {"ru.txt": entry}}), encoding="utf-8")

    manifest = Manifest(tmp_path)
    assert len(manifest) == 1 and manifest.entries() == {"ru.txt": entry}
    assert not manifest.legacy.exists() and (manifest.folder / "manifest.json.taken-over").exists()
    manifest.record([_doc("en.txt", "The Council met.")])
    assert sorted(manifest.entries()) == ["en.txt", "ru.txt"]
    assert {s.name: s.text for s in manifest.sources()}["ru.txt"] == doc.text


def test_a_damaged_manifest_is_named_not_taken_for_empty(tmp_path):
    manifest = Manifest(tmp_path)
    manifest.record([_doc("a.txt", "text")])
    manifest.path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(IndexCorrupted, match="manifest"):
        manifest.entries()
    broken = Manifest(tmp_path / "other")
    broken.folder.mkdir(parents=True)
    broken.legacy.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorrupted, match="manifest.json"):
        len(broken)
    assert broken.legacy.exists()  # left for the user, not replaced by an empty list
