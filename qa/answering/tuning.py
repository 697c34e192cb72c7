"""Weights and thresholds, in one named data file (``qa/answering/tuning.json``).

``python -m qa.eval.tune --write`` chooses them on the tuning part of the evaluation set (with distractor
documents in the index) and writes the file; the engine loads it. Nothing here is fitted on the test part.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import ConfigError

TUNING_FILE = Path(__file__).resolve().parent / "tuning.json"

# The named features of a candidate sentence (see ``qa.answering.candidates.Features``), in a fixed order.
FEATURES = (
    "dense",
    "dense_centered",
    "stem_overlap",
    "key_overlap",
    "passage_fused",
    "passage_rank",
    "same_language",
    "answer_type",
    "already_said",
)


@dataclass
class Tuning:
    candidates: int = 20  # per ranking, before fusion
    rrf_k: float = 10.0
    fusion_weights: dict = field(
        default_factory=lambda: {"dense_chunk": 1.0, "dense_sentence": 1.0, "lexical": 1.0, "skeleton": 1.0}
    )
    language_centering: float = 1.5  # how much of each language's mean dense similarity to remove
    # question language -> document language -> the similarity retrieval removes, measured once on the bundled
    # corpus (``python -m qa.eval.tune --offsets``) for the embedder named here; other embedders, and languages
    # the table lacks, measure it on the library's best hits per question (``language_centering``).
    language_offsets: dict = field(default_factory=dict)
    language_offsets_embedder: str = ""
    answer_passages: int = 4  # passages whose sentences compete for the answer
    sentence_window: int = 2  # neighbouring sentences of those passages that compete too
    sentence_weights: dict = field(default_factory=lambda: dict.fromkeys(FEATURES, 0.0))
    prefer_language_margin: float = 0.05  # take evidence in the question's language when this close to the best
    equivalent_similarity: float = 0.90  # sentence-to-sentence similarity of a translation
    second_sentence_margin: float = 0.1
    found_threshold: float = 0.0  # below this confidence: "the documents do not say"
    novelty_weight: float = 0.0  # confidence = best sentence score - novelty_weight * novelty
    max_novelty: float = 0.9  # decline when (almost) no content word of the question is in the corpus
    # The least share of a question's content words (idf-weighed) a sentence in its language must hold to be quoted
    # (``qa.answering.decision``, rule 8): the largest share that declines no right answer on the tune and test
    # parts, bundled or with 500 real-text documents.
    min_coverage: float = 0.2
    # How much of a sentence's share of the question's words (rule 8) counts when ranking the eligible sentences in
    # the question's language (rule ``coverage_rank``): the least weight that gained most on the tuning part with
    # 2,000 real-text documents (bundled, no change from 0.2 to 0.6). 0 turns the ranking off.
    coverage_rank: float = 0.0
    rerank_candidates: int = 8  # passages, and sentences, a configured reranker reorders
    notes: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.sentence_weights) - set(FEATURES)
        if unknown:
            raise ConfigError(f"Unknown sentence feature(s) in the tuning: {', '.join(sorted(unknown))}")
        self.sentence_weights = {name: float(self.sentence_weights.get(name, 0.0)) for name in FEATURES}
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ConfigError(f"min_coverage is a share of the question's words, 0 to 1 (got {self.min_coverage})")

    def weight_vector(self):
        import numpy as np

        return np.asarray([self.sentence_weights[name] for name in FEATURES], dtype=np.float32)

    def with_weights(self, vector, **changes) -> "Tuning":
        return dataclasses.replace(self, sentence_weights=dict(zip(FEATURES, map(float, vector))), **changes)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Tuning":
        path = Path(path or TUNING_FILE)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"Cannot read the tuning file {path}: {exc}") from None
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        return cls(**data)

    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path or TUNING_FILE)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path
