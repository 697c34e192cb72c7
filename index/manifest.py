"""The library's one truth: every indexed document's original text and a small manifest, under ``QA_HOME``.

    $QA_HOME/library/manifest.json        {"documents": {name: {hash, path, title, added, chars[, ocr]}}}
    $QA_HOME/library/texts/<sha256>.txt   the text as read (content-addressed: identical files stored once)

The vector store is a cache of it: ``qa index rebuild`` rebuilds chunks and vectors from here even when Chroma's
files are lost or damaged, and a missing store is never silently replaced by the bundled corpus while the
manifest lists documents. Every change is written here before the index switches to it (a new text file, then
the manifest replaced in one rename), so a crash leaves the manifest describing what the user asked for.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from qa.errors import IndexCorrupted
from qa.index.readers import SourceDocument


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Manifest:
    def __init__(self, home: Path):
        self.folder = Path(home) / "library"
        self.path = self.folder / "manifest.json"
        self.texts = self.folder / "texts"

    def entries(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return dict(data["documents"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupted(f"The library manifest {self.path} cannot be read ({exc}).") from None

    def __len__(self) -> int:
        return len(self.entries())

    def _save(self, entries: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"version": 1, "documents": dict(sorted(entries.items()))}, ensure_ascii=False, indent=1)
        _write_atomically(self.path, payload.encode("utf-8"))

    def record(self, sources) -> None:
        """Keep the texts of ``sources`` (SourceDocument) and list them, replacing entries of the same name."""
        sources = list(sources)
        if not sources:
            return
        self.texts.mkdir(parents=True, exist_ok=True)
        entries = self.entries()
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        for src in sources:
            text_path = self.texts / f"{src.content_hash}.txt"
            if not text_path.exists():
                _write_atomically(text_path, src.text.encode("utf-8"))
            old = entries.get(src.name, {})
            entries[src.name] = {
                "hash": src.content_hash,
                "path": src.path,
                "title": src.title,
                "chars": len(src.text),
                "added": old.get("added", now) if old.get("hash") == src.content_hash else now,
            }
            if getattr(src, "ocr_spans", None):  # the ranges read by text recognition, kept for a rebuild
                entries[src.name]["ocr"] = [list(span) for span in src.ocr_spans]
        self._save(entries)

    def forget(self, name: str) -> None:
        entries = self.entries()
        if entries.pop(name, None) is not None:
            self._save(entries)
            self._sweep(entries)

    def _sweep(self, entries: dict) -> None:
        """Delete texts no entry refers to any more."""
        wanted = {e["hash"] for e in entries.values()}
        for path in self.texts.glob("*.txt") if self.texts.exists() else []:
            if path.stem not in wanted:
                path.unlink(missing_ok=True)

    def sources(self):
        """Every listed document as a ``SourceDocument``, its text read back from the library as it is taken."""
        for name, entry in self.entries().items():
            text_path = self.texts / f"{entry['hash']}.txt"
            try:
                text = text_path.read_text(encoding="utf-8")
            except OSError as exc:
                raise IndexCorrupted(f"The library's copy of {name} ({text_path}) cannot be read ({exc}).") from None
            yield SourceDocument(
                name=name,
                text=text,
                path=entry.get("path", ""),
                title=entry.get("title", ""),
                ocr_spans=[(int(a), int(b)) for a, b in entry.get("ocr", [])],
            )
