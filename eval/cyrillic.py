"""Uzbek in Cyrillic script: a question set with its Uzbek questions, and a corpus with its Uzbek documents,
transliterated from Latin (Uzbek is written in both scripts; the bundled material is all Latin).

    python -m qa.eval.cyrillic questions IN.jsonl OUT.jsonl   Uzbek questions of IN in Cyrillic (only those)
    python -m qa.eval.cyrillic answers IN.jsonl OUT.jsonl     every question of IN, its answer strings also in Cyrillic
    python -m qa.eval.cyrillic corpus FOLDER                  the bundled corpus, Uzbek documents in Cyrillic

Then e.g. ``qa eval OUT.jsonl`` (Cyrillic questions), or ``qa index remove`` the two Uzbek documents, ``qa index
add FOLDER`` and ``qa eval OUT.jsonl`` with the answers set (Cyrillic documents keep their file names).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from qa.config import bundled_corpus
from qa.language.detect import detect_language
from qa.language.text import APOSTROPHES

from qa.eval.distractors import to_uzbek_cyrillic

_APOSTROPHE_AFTER_O_G = re.compile("([oOgG])[" + re.escape(APOSTROPHES) + "]")


def cyrillic(text: str) -> str:
    """Latin Uzbek in Cyrillic ("Yo'l xaritasi" -> "Йўл харитаси"), whichever apostrophe o‘ and g‘ are written with."""
    return to_uzbek_cyrillic(_APOSTROPHE_AFTER_O_G.sub(lambda m: m.group(1) + "‘", text))


def questions(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        if row["lang"] != "uz" or row.get("history"):
            continue
        out.append({**row, "id": f"cy_{row['id']}", "question": cyrillic(row["question"])})
    return out


def answers(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        extra = [cyrillic(a) for a in row["answers"] if detect_language(a) != "ru"]
        out.append({**row, "answers": list(dict.fromkeys(row["answers"] + extra))})
    return out


def corpus(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(bundled_corpus().glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if detect_language(text) == "uz":
            text = cyrillic(text)
        target = folder / path.name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 3 and args[0] in ("questions", "answers"):
        rows = [json.loads(line) for line in Path(args[1]).read_text(encoding="utf-8").splitlines() if line.strip()]
        made = questions(rows) if args[0] == "questions" else answers(rows)
        Path(args[2]).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in made), encoding="utf-8")
        print(f"wrote {len(made)} questions to {args[2]}")
        return 0
    if len(args) == 2 and args[0] == "corpus":
        print(f"wrote {len(corpus(Path(args[1])))} documents to {args[1]}")
        return 0
    print("\n".join(__doc__.strip().splitlines()[2:6]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
