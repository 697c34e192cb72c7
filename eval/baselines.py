"""What a user would otherwise pick, run on the same questions in the same process.

- ``dense-only``: Chroma dense search over our chunks, same embedder; answer = top chunk.
- ``bm25-only``: bm25s with its default tokenizer over our chunks; answer = top chunk.
- ``llama-index``: a plain ``VectorStoreIndex`` on Chroma with llama-index's default
  splitting and the same embedder; answer = top chunk.

None of them can decline, so their refusal accuracy is 0 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.config import LLM
from qa.engine import Engine


@dataclass
class Reply:
    text: str
    found: bool
    cited: list[str]
    retrieved: list[str]
    reason: str = ""  # why the system answered or declined, when it says
    written_status: str = ""  # with the llm reader: "kept" or why the written answer was not kept
    written_seconds: float = 0.0
    quote: str = ""  # with the llm reader: the extractive answer of the same run


class Pipeline:
    """Our system: the very ``answer()`` the chat and the command line use."""

    name = "qa (hybrid)"

    def __init__(self, engine: Engine, k: int = 5):
        self.engine, self.k = engine, k
        reranker = getattr(engine, "reranker", None)
        if reranker is not None:
            self.name = f"qa (hybrid + {reranker.id})"
        if engine.reader_name(None) == LLM:
            self.name = self.name[:-1] + f" + llm {engine.llm.spec.label})"

    def ask(self, question: str, history: list[dict]) -> Reply:
        a = self.engine.answer(question, history=history, k=self.k)
        return Reply(
            a.text,
            a.found,
            [c.source for c in a.citations],
            [p.source for p in a.passages],
            a.reason,
            a.written.status if a.written else "",
            a.written.seconds if a.written else 0.0,
            a.quote,
        )


class DenseOnly:
    name = "dense-only"

    def __init__(self, engine: Engine, k: int = 5):
        self.engine, self.k = engine, k

    def ask(self, question: str, history: list[dict]) -> Reply:
        snapshot = self.engine.library.snapshot()
        vector = self.engine.embedder.embed_queries([question])[0]
        hits = snapshot.dense("chunks", vector, min(self.k, len(snapshot.chunks)), snapshot.active_hashes())
        chunks = [snapshot.chunk(i) for i in hits.ids]
        sources = [c.source for c in chunks]
        top = chunks[0].text if chunks else ""
        return Reply(top, True, sources[:1], sources)


class BM25Only:
    name = "bm25-only"

    def __init__(self, engine: Engine, k: int = 5):
        import bm25s

        self.k = k
        self.chunks = engine.library.snapshot().chunks
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize([c.text for c in self.chunks], show_progress=False), show_progress=False)
        self._bm25s = bm25s

    def ask(self, question: str, history: list[dict]) -> Reply:
        tokens = self._bm25s.tokenize([question], show_progress=False)
        try:
            docs, _ = self.bm25.retrieve(tokens, k=min(self.k, len(self.chunks)), show_progress=False)
            rows = [int(i) for i in docs[0]]
        except Exception:  # a question with no known token (e.g. all Cyrillic words unseen)
            rows = []
        sources = [self.chunks[i].source for i in rows]
        top = self.chunks[rows[0]].text if rows else ""
        return Reply(top, True, sources[:1], sources)


class LlamaIndexDefault:
    name = "llama-index VectorStoreIndex"

    def __init__(self, engine: Engine, k: int = 5):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.embeddings import BaseEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore

        embedder = engine.embedder

        class _Embedding(BaseEmbedding):
            def _get_query_embedding(self, query: str):
                return embedder.embed_queries([query])[0].tolist()

            async def _aget_query_embedding(self, query: str):
                return self._get_query_embedding(query)

            def _get_text_embedding(self, text: str):
                return embedder.embed_passages([text])[0].tolist()

            def _get_text_embeddings(self, texts):
                return embedder.embed_passages(list(texts)).tolist()

        snapshot = engine.library.snapshot()
        documents = [
            Document(text=snapshot.text(name), metadata={"source": name}) for name in sorted(snapshot.documents)
        ]
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.get_or_create_collection(
            "llamaindex-baseline", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=_Embedding())
        self.retriever = index.as_retriever(similarity_top_k=k)

    def ask(self, question: str, history: list[dict]) -> Reply:
        nodes = self.retriever.retrieve(question)
        sources = [n.node.metadata.get("source", "") for n in nodes]
        top = nodes[0].node.get_content() if nodes else ""
        return Reply(top, True, sources[:1], sources)


BASELINES = (DenseOnly, BM25Only, LlamaIndexDefault)
