"""Where data lives and how the pipeline is configured.

One function knows the data directory (``QA_HOME`` overrides it); settings
come from arguments first, then environment variables, then defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import ConfigError


# What every entry point sets before any model or Chroma library is imported: no network for models, no telemetry.
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def offline_defaults() -> None:
    """Set ``OFFLINE`` in the environment, keeping any value the user set."""
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)


def data_dir() -> Path:
    """The index lives here: ``$QA_HOME``, else ``$XDG_DATA_HOME/qa``, else ``~/.local/share/qa``."""
    if os.environ.get("QA_HOME"):
        return Path(os.environ["QA_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "qa"


def bundled_corpus() -> Path:
    """The five documents the product ships with."""
    return Path(__file__).resolve().parent / "corpus"


# Input bounds (README: "Limits"). Longer input costs embedding time for every user of a shared server.
MAX_QUESTION_CHARS = 1000  # about 0.4 s to embed here; the model reads ~512 tokens at most anyway
MAX_HISTORY_MESSAGES = 8  # the last four exchanges of a chat; follow-ups only look at the last two questions
MAX_HISTORY_MESSAGE_CHARS = 2000  # each earlier message is cut to this length
MAX_K = 50  # passages per question


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number (got {raw!r})") from None


# The two readers: the extractive one quotes the chosen sentences; the language-model one writes an answer from
# them, shown only when it passes the checks (qa.writing).
EXTRACTIVE = "extractive"
LLM = "llm"
READERS = (EXTRACTIVE, LLM)


@dataclass
class Settings:
    home: Path = field(default_factory=data_dir)
    embedder: str | None = None  # None: $QA_EMBEDDER or the default
    reranker: str | None = None  # None: $QA_RERANKER or none
    llm: str | None = None  # None: $QA_LLM or none (see qa.writing.llm)
    reader: str = field(default_factory=lambda: os.environ.get("QA_READER", EXTRACTIVE))  # or LLM
    chroma_url: str | None = field(default_factory=lambda: os.environ.get("QA_CHROMA_URL") or None)
    collection_prefix: str = field(default_factory=lambda: os.environ.get("QA_COLLECTION", "qa"))
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40
    auto_build: bool = True  # build from the bundled corpus when there is no index
    # Ingest commits in batches of at most this many source characters / documents: each batch becomes
    # searchable when written, a crash loses at most the batch in flight, memory is bounded by it.
    batch_chars: int = field(default_factory=lambda: _int_env("QA_BATCH_CHARS", 100_000))
    batch_documents: int = field(default_factory=lambda: _int_env("QA_BATCH_DOCUMENTS", 100))
    # How chunk vectors are made: "sentence-mean" (the mean of the chunk's sentence vectors plus the
    # document title's: each token is embedded once) or "embed" (each chunk embedded on its own).
    chunk_vectors: str = field(default_factory=lambda: os.environ.get("QA_CHUNK_VECTORS", "embed"))

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser()
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ConfigError("chunk overlap must be smaller than the chunk size")
        if self.chunk_vectors not in ("sentence-mean", "embed"):
            raise ConfigError(f"QA_CHUNK_VECTORS must be sentence-mean or embed (got {self.chunk_vectors!r})")
        if self.reader not in READERS:
            raise ConfigError(f"QA_READER must be extractive or llm (got {self.reader!r})")
        if self.batch_chars < 1 or self.batch_documents < 1:
            raise ConfigError("ingest batches must hold at least one character and one document")
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise ConfigError(f"QA_CHROMA_URL must look like http://host:port (got {self.chroma_url!r})")
