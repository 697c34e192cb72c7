"""Readers choose and phrase the answer from the candidate sentences. The extractive reader quotes them."""

from __future__ import annotations

from qa.answering.candidates import Candidate
from qa.answering.query import Query
from qa.models.rerankers import rerank
from qa.answering.tuning import Tuning


class ExtractiveReader:
    """The best sentence (a translation of it in the question's language if there is one equally good),
    plus a second one when nearly tied: at most two, so answers stay short."""

    name = "extractive"

    def __init__(self, tuning: Tuning, reranker=None):
        self.tuning = tuning
        self.reranker = reranker

    def read(self, query: Query, candidates: list[Candidate], lift: dict[str, float] | None = None) -> list[Candidate]:
        """``candidates`` best first; ``lift``: what the decision adds to a sentence's score to rank it
        (rule ``coverage_rank``), so that "nearly tied" is measured on the same rank."""
        t = self.tuning
        lift = lift or {}

        def rank(c: Candidate) -> float:
            return c.score + lift.get(c.id, 0.0)

        candidates = rerank(self.reranker, query.retrieval_text, candidates, lambda c: c.text, t.rerank_candidates)
        best = candidates[0]
        chosen = [best]
        if best.language != query.language:
            # Equivalent evidence in the question's language (a translation of the same sentence) is preferred.
            same = [
                c
                for c in candidates
                if c.language == query.language
                and c.score >= best.score - t.prefer_language_margin
                and float(c.embedding @ best.embedding) >= t.equivalent_similarity
            ]
            if same:
                chosen = [same[0]]
        top = chosen[0]
        # "Nearly tied" is measured on the first-stage scores, so with a reranker its choice stands alone.
        for c in [] if self.reranker is not None else candidates[:4]:
            if c.id == top.id or float(c.embedding @ top.embedding) >= t.equivalent_similarity:
                continue  # the same sentence, or a translation of it, adds nothing
            if rank(c) >= rank(top) - t.second_sentence_margin:
                chosen.append(c)
            break
        chosen.sort(key=lambda c: (c.source != top.source, c.position))
        return chosen
