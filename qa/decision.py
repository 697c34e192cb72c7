"""Whether to answer, and why: one function, one place.

The decision is taken on the first-stage candidate scores, whose threshold is calibrated on the tuning
part of the evaluation set; a reranker or a language-model reader only changes what is said, never whether.
"""

from __future__ import annotations

from dataclasses import dataclass

from .answer_types import has_count
from .candidates import Candidate
from .lexical import skeleton, tokenize
from .query import Query
from .snapshot import Snapshot
from .tuning import Tuning

ANSWERED = "answered"
# Why a question is declined; ``qa eval`` reports answers by these.
NO_PASSAGES = "no_passages"  # nothing retrieved (empty index or language filter)
LOW_EVIDENCE = "low_evidence"  # the best sentence scores below the calibrated threshold
UNKNOWN_WORDS = "unknown_words"  # (almost) none of the question's content words occur in the documents
COUNT_MISSING = "count_missing"  # a count or an amount is asked and no leading sentence holds one
REASONS = (ANSWERED, NO_PASSAGES, LOW_EVIDENCE, UNKNOWN_WORDS, COUNT_MISSING)


@dataclass
class Decision:
    answer: bool
    reason: str
    confidence: float = 0.0
    novelty: float = 0.0


def novelty(snapshot: Snapshot, query: Query) -> float:
    """Share of the question's content words found nowhere in the documents, in any language or script.

    1.0 means nothing the question asks about is in the documents ("What is the capital of Australia?").
    """
    if not query.content_words:
        return 0.0
    unknown = 0
    for w in query.content_words:
        stems = tokenize(w, query.language, drop_stopwords=False)
        if not snapshot.lexical.knows(stems[0] if stems else w) and not snapshot.skeleton.knows(skeleton(w)):
            unknown += 1
    return unknown / len(query.content_words)


def decide(snapshot: Snapshot, query: Query, candidates: list[Candidate], tuning: Tuning) -> Decision:
    if not candidates:
        return Decision(False, NO_PASSAGES)
    share_unknown = novelty(snapshot, query)
    confidence = candidates[0].score - tuning.novelty_weight * share_unknown
    if confidence < tuning.found_threshold:
        return Decision(False, LOW_EVIDENCE, confidence, share_unknown)
    if share_unknown >= tuning.max_novelty:
        return Decision(False, UNKNOWN_WORDS, confidence, share_unknown)
    if query.expects == "count" and not any(has_count(c.text) for c in candidates[:3]):
        return Decision(False, COUNT_MISSING, confidence, share_unknown)
    return Decision(True, ANSWERED, confidence, share_unknown)
