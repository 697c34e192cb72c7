"""Sentence-aware chunking with a token budget, as a llama-index node parser.

Each document becomes chunk nodes (what retrieval returns) and sentence nodes
(what extractive answers are built from). Ids are stable: the document's
content hash plus the position, so re-indexing an unchanged file changes
nothing and a changed file gets fresh ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, List, Sequence

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, NodeRelationship, TextNode
from pydantic import Field

from qa.language.detect import detect_language
from qa.language.text import clean, split_sentences


@lru_cache(maxsize=1)
def _token_counter() -> Callable[[str], int]:
    from llama_index.core.utils import get_tokenizer  # cl100k_base, shipped with llama-index (offline)

    encode = get_tokenizer()
    return lambda text: len(encode(text))


@dataclass
class _Span:
    start: int  # cleaned-text offsets
    end: int
    text: str
    tokens: int


class SentenceChunker(NodeParser):
    """Groups whole sentences into chunks of at most ``chunk_tokens`` tiktoken tokens.

    Consecutive chunks share trailing sentences worth up to ``overlap_tokens``.
    A sentence longer than the budget is cut at word boundaries.
    """

    chunk_tokens: int = Field(default=200, gt=16)
    overlap_tokens: int = Field(default=40, ge=0)

    @classmethod
    def class_name(cls) -> str:
        return "SentenceChunker"

    def _split_long(self, span: _Span, count: Callable[[str], int]) -> list[_Span]:
        pieces: list[_Span] = []
        words = span.text.split(" ")
        cur: list[str] = []
        pos = span.start
        start = pos
        for w in words:
            trial = " ".join(cur + [w])
            if cur and count(trial) > self.chunk_tokens:
                text = " ".join(cur)
                pieces.append(_Span(start, start + len(text), text, count(text)))
                start = start + len(text) + 1
                cur = [w]
            else:
                cur.append(w)
        if cur:
            text = " ".join(cur)
            pieces.append(_Span(start, start + len(text), text, count(text)))
        return pieces

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> List[BaseNode]:
        count = _token_counter()
        out: List[BaseNode] = []
        for doc in nodes:
            out.extend(self.split_document(doc, count))
        return out

    def split_document(self, doc: BaseNode, count: Callable[[str], int] | None = None) -> list[TextNode]:
        count = count or _token_counter()
        original = doc.get_content()
        meta = dict(doc.metadata)
        doc_hash = meta["doc_hash"]
        cleaned = clean(original)
        language = meta.get("language") or detect_language(cleaned.text)
        spans: list[_Span] = []
        for s in split_sentences(cleaned.text):
            span = _Span(s.start, s.end, s.text, count(s.text))
            spans.extend(self._split_long(span, count) if span.tokens > self.chunk_tokens else [span])

        base = {"source": meta["source"], "title": meta.get("title", ""), "language": language, "doc_hash": doc_hash}
        nodes: list[TextNode] = []
        sentence_nodes: list[TextNode] = []
        for i, span in enumerate(spans):
            o_start, o_end = cleaned.original_span(span.start, span.end)
            node = TextNode(
                id_=f"{doc_hash[:20]}:s{i}",
                text=span.text,
                metadata={**base, "kind": "sentence", "position": i, "start": o_start, "end": o_end},
                start_char_idx=o_start,
                end_char_idx=o_end,
            )
            node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
            sentence_nodes.append(node)

        i = 0
        chunk_no = 0
        while i < len(spans):
            j, used = i, 0
            while j < len(spans) and (j == i or used + spans[j].tokens <= self.chunk_tokens):
                used += spans[j].tokens
                j += 1
            first, last = spans[i], spans[j - 1]
            o_start, o_end = cleaned.original_span(first.start, last.end)
            node = TextNode(
                id_=f"{doc_hash[:20]}:c{chunk_no}",
                text=cleaned.text[first.start : last.end].replace("\n\n", " "),
                metadata={
                    **base,
                    "kind": "chunk",
                    "position": chunk_no,
                    "start": o_start,
                    "end": o_end,
                    "sent_from": i,
                    "sent_to": j,
                },
                start_char_idx=o_start,
                end_char_idx=o_end,
            )
            node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
            nodes.append(node)
            chunk_no += 1
            if j >= len(spans):
                break
            # Step back over trailing sentences that fit the overlap budget, always moving forward.
            back, k = 0, j
            while k - 1 > i and back + spans[k - 1].tokens <= self.overlap_tokens:
                k -= 1
                back += spans[k].tokens
            i = k
        return nodes + sentence_nodes


def make_document(name: str, text: str, doc_hash: str, title: str = "", language: str = "") -> Document:
    metadata = {"source": name, "title": title, "doc_hash": doc_hash}
    if language:
        metadata["language"] = language
    return Document(text=text, id_=f"doc:{name}", metadata=metadata)
