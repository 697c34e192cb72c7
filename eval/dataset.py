"""Evaluation sets: JSON Lines in the format of EVAL_FORMAT.md, validated before any work."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import EvalFileError

HERE = Path(__file__).resolve().parent
REQUIRED = ("id", "question", "lang", "kind", "answers", "sources")


@dataclass
class EvalItem:
    id: str
    question: str
    lang: str
    kind: str
    answers: list[str]
    sources: list[str]
    history: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def bundled_set(name: str = "test") -> Path:
    """``eval/test.jsonl`` (report on it) or ``eval/tune.jsonl`` (tune on it)."""
    return HERE / f"{name}.jsonl"


def load(path: str | Path, known_documents: set[str] | None = None) -> list[EvalItem]:
    """Parse and check every line; the first problem stops everything, with its line number."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(f"{path}: no such evaluation file.")
    items: list[EvalItem] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise EvalFileError(f"{path}: not UTF-8 text.") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{where}: not valid JSON ({exc.msg}).") from None
        if not isinstance(row, dict):
            raise EvalFileError(f"{where}: expected a JSON object.")
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise EvalFileError(f"{where}: missing field(s) {', '.join(missing)}.")
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise EvalFileError(f"{where}: 'question' must be non-empty text.")
        for key in ("answers", "sources", "history"):
            value = row.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise EvalFileError(f"{where}: '{key}' must be a list of strings.")
        if row["id"] in seen:
            raise EvalFileError(f"{where}: duplicate id {row['id']!r}.")
        seen.add(row["id"])
        if row["answers"] and not row["sources"]:
            raise EvalFileError(f"{where}: an answerable question needs at least one document in 'sources'.")
        if known_documents is not None:
            unknown = [s for s in row["sources"] if s not in known_documents]
            if unknown:
                raise EvalFileError(f"{where}: unknown document(s) in 'sources': {', '.join(unknown)}.")
        items.append(
            EvalItem(
                id=str(row["id"]),
                question=row["question"],
                lang=str(row["lang"]),
                kind=str(row["kind"]),
                answers=row["answers"],
                sources=row["sources"],
                history=row.get("history", []),
                line=number,
            )
        )
    if not items:
        raise EvalFileError(f"{path}: no questions in the file.")
    return items
