"""The stored lexical index scores exactly as a bm25s index built over the listed chunks alone: the same rows, the
same float32 scores, the same order (ties in chunk order), the same idf, whichever versions were added in which
segments and which of them are listed."""

from __future__ import annotations

import math

import numpy as np
import pytest

bm25s = pytest.importorskip("bm25s")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qa.index.lexicon import Lexicon, ListedIndex  # noqa: E402

VOCAB = [f"t{i}" for i in range(12)]  # few terms: many ties and shared terms
chunk_terms = st.lists(st.sampled_from(VOCAB), min_size=0, max_size=9)
version = st.lists(chunk_terms, min_size=1, max_size=4)


class _Reference:
    """The index as the release before the lexicon built it: bm25s over the listed chunks in chunk order."""

    def __init__(self, token_lists: list[list[str]]):
        self.size = len(token_lists)
        self.df: dict[str, int] = {}
        for tokens in token_lists:
            for t in set(tokens):
                self.df[t] = self.df.get(t, 0) + 1
        self.vocab = {t: i for i, t in enumerate(sorted(self.df))}
        self.bm25 = bm25s.BM25()
        ids = [[self.vocab[t] for t in tokens] for tokens in token_lists]
        self.bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=self.vocab), show_progress=False)

    def search(self, query: list[str], k: int) -> list[tuple[int, float]]:
        known = [self.vocab[t] for t in query if t in self.vocab]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        top = np.argsort(-scores, kind="stable")[: min(k, self.size)]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


@settings(max_examples=200, deadline=None)
@given(
    segments=st.lists(st.lists(version, min_size=1, max_size=4), min_size=1, max_size=3),
    unlisted=st.sets(st.integers(0, 11), max_size=4),
    order_seed=st.integers(0, 2**16),
    queries=st.lists(st.lists(st.sampled_from(VOCAB + ["unknown"]), min_size=1, max_size=5), min_size=1, max_size=4),
    k=st.integers(1, 12),
)
def test_scores_and_order_are_those_of_bm25s_over_the_listed_chunks(
    tmp_path_factory, segments, unlisted, order_seed, queries, k
):
    lexicon = Lexicon.open(tmp_path_factory.mktemp("lexicon"), {"folder": "x"}, {"generation": 1})
    versions = []  # (hash, [terms per chunk])
    for segment in segments:
        fresh = {}
        for chunks in segment:
            h = f"{len(versions):040d}"
            versions.append((h, chunks))
            fresh[h] = [
                (f"{h[:20]}:c{p}", "text", {"position": p, "sent_to": p + 1, "language": "en"}, terms, terms)
                for p, terms in enumerate(chunks)
            ]
        lexicon.add(fresh)
    listed = [(h, chunks) for i, (h, chunks) in enumerate(versions) if i not in unlisted]
    if not listed:
        return
    held = lexicon.versions([h for h, _ in listed])
    # The chunk order: the listed versions in some order (by cited name in the product), then by position.
    rng = np.random.default_rng(order_seed)
    in_order = [listed[i] for i in rng.permutation(len(listed))]
    order_rows = [held[h].first + p for h, chunks in in_order for p in range(len(chunks))]
    rank = {row: i for i, row in enumerate(order_rows)}
    mask = np.zeros(max(order_rows) + 1, dtype=bool)
    mask[order_rows] = True
    token_lists = [terms for _, chunks in in_order for terms in chunks]
    assume(any(token_lists))  # bm25s refuses an index with no term at all (a chunk always has its title's)
    stored = ListedIndex(
        lexicon,
        "lexical",
        mask,
        len(order_rows),
        sum(len(t) for t in token_lists),
        lambda rows: np.array([rank[int(r)] for r in rows], dtype=np.int64),
    )
    reference = _Reference(token_lists)
    for query in queries:
        expected = [(order_rows[i], score) for i, score in reference.search(query, k)]
        assert stored.search(query, k) == expected
    for term in VOCAB:
        assert stored.knows(term) == (term in reference.df)
        if term in reference.df:
            df = reference.df[term]
            assert stored.idf(term) == math.log(1 + (reference.size - df + 0.5) / (df + 0.5))
            assert stored.rows_with([term]) == {order_rows[i] for i, t in enumerate(token_lists) if term in t}
    lexicon.close()
