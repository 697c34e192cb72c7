"""Message templates, one set per language, kept out of the code.

Installed as ``qa.prompts``. ``messages.json`` holds what the answerer says
around quoted evidence (refusals, the language note); ``reader.LANG.txt`` is the
prompt of the language-model reader for questions in that language (a system part,
``---``, then the user part with ``{sentences}`` and ``{question}``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def messages() -> dict:
    return json.loads((_HERE / "messages.json").read_text(encoding="utf-8"))


def message(key: str, lang: str, **values: str) -> str:
    table = messages()[key]
    template = table.get(lang) or table["en"]
    return template.format(**values)


def language_name(code: str, in_lang: str) -> str:
    names = messages()["language_names"]
    return names.get(in_lang, names["en"]).get(code, code)


def reader_prompt(lang: str) -> tuple[str, str]:
    """The language-model reader's (system, user) prompt for questions in ``lang`` (English if it has none)."""
    path = _HERE / f"reader.{lang}.txt"
    if not path.is_file():
        path = _HERE / "reader.en.txt"
    system, _, user = path.read_text(encoding="utf-8").partition("\n---\n")
    return system.strip(), user.strip()
