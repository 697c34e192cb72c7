"""Second-stage rerankers, chosen by a configuration string (``QA_RERANKER``).

``none`` (default)          no second stage: the fused ranking and the fitted sentence scores decide
``cross-encoder:PATH|ID``   any sentence-transformers ``CrossEncoder``: a local folder, or a hub id with a network

No reranker ships on PyPI with its weights (see the README), so the default is none. A user who has a
multilingual cross-encoder (bge-reranker-v2-m3, mmarco-mMiniLMv2) points ``QA_RERANKER`` at its folder: it
then reorders the best passages of ``retrieve`` and the best candidate sentences of ``answer``. Whether to
decline is still judged on the first-stage evidence, whose threshold is calibrated on the evaluation set.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from qa.errors import ConfigError
from qa.models.embedders import load_sentence_transformers


class Reranker(Protocol):
    id: str

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance of each text to the question; higher is better. Only the order is used."""
        ...


class CrossEncoderReranker:
    def __init__(self, name_or_path: str, batch_size: int = 16):
        self.name_or_path = name_or_path
        self.batch_size = batch_size
        local = Path(name_or_path).expanduser()
        self._local = local.is_dir()
        self.id = f"cross-encoder:{local.resolve().name if self._local else name_or_path}"
        self._model = None
        self._lock = threading.Lock()

    def _get(self):
        if self._model is None:
            self._model = load_sentence_transformers(
                "CrossEncoder", self.name_or_path, self._local, "the cross-encoder"
            )
        return self._model

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            scores = self._get().predict(
                [(question, t) for t in texts], batch_size=self.batch_size, show_progress_bar=False
            )
        return np.asarray(scores, dtype=np.float32).reshape(len(texts), -1)[:, -1]


def rerank(reranker: Reranker | None, question: str, items: list, text: Callable, n: int) -> list:
    """With a reranker, its order for the first ``n`` items; the rest keep their order. Without one, ``items``."""
    if reranker is None or len(items) < 2 or n < 2:
        return items
    head = items[:n]
    scores = reranker.score(question, [text(item) for item in head])
    return [head[i] for i in np.argsort(-scores, kind="stable")] + items[n:]


_cache: dict[str, Reranker] = {}
_cache_lock = threading.Lock()


def get_reranker(spec: str | None = None) -> Reranker | None:
    """Resolve a configuration string; ``None`` when no reranker is configured."""
    spec = (spec or os.environ.get("QA_RERANKER") or "none").strip()
    if spec.lower() in ("none", "off", ""):
        return None
    with _cache_lock:
        if spec in _cache:
            return _cache[spec]
        kind, _, arg = spec.partition(":")
        if kind in ("cross-encoder", "ce") and arg.strip():
            reranker: Reranker = CrossEncoderReranker(arg.strip())
        else:
            raise ConfigError(f"Unknown reranker {spec!r}. Use none or cross-encoder:PATH_OR_ID.")
        _cache[spec] = reranker
        return reranker
