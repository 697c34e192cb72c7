"""The distractor documents: deterministic, four language groups, and none of the corpus's subjects."""

import re

from qa.eval.distractors import make_distractors, write_distractors

FORBIDDEN = [
    "IIJ",
    "GCTF",
    "Воронков",
    "Voronkov",
    "Imnadze",
    "Имнадзе",
    "реинтеграц",
    "reintegrat",
    "terror",
    "террор",
    "Australia",
    "Canberra",
    "Война и мир",
    "capital",
    "столиц",
    "poytaxt",
    "mayor",
    "мэр",
]


def test_deterministic_unique_and_in_four_groups(tmp_path):
    docs = make_distractors(40, seed=3)
    assert docs == make_distractors(40, seed=3) and docs != make_distractors(40, seed=4)
    names = [n for n, _ in docs]
    assert len(set(names)) == 40
    groups = {n.rsplit("_", 1)[1][:-4] for n in names}
    assert groups == {"en", "ru", "uz", "uz-cyrl"}
    for name, text in docs:
        assert 150 <= len(text) <= 1200
        if name.endswith("uz-cyrl.txt"):
            assert re.search("[ўқғҳ]", text) and not re.search("[a-z]{3}", text)
        if name.endswith("_uz.txt"):
            assert "‘" in text or "o'" in text
        for word in FORBIDDEN:
            assert word.casefold() not in text.casefold(), (name, word)
    paths = write_distractors(tmp_path, 8, seed=3)
    assert [p.name for p in paths] == names[:8]
    assert all(p.read_text(encoding="utf-8").strip() for p in paths)
