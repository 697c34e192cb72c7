"""Message templates, one set per language, kept out of the code.

Installed as ``qa.prompts``. ``messages.json`` holds what the answerer says
around quoted evidence (refusals, the language note); ``generative.txt`` is the
prompt a generative answer mode would use (not enabled by default).
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


def template(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")
