"""What a user would otherwise pick, run on the same questions in the same process.

- ``dense-only``: Chroma dense search over our chunks, same embedder; answer = top chunk.
- ``bm25-only``: bm25s with its default tokenizer over our chunks; answer = top chunk.
- ``llama-index``: a plain ``VectorStoreIndex`` on Chroma with llama-index's default
  splitting and the same embedder; answer = top chunk.

None of them can decline, so their refusal accuracy is 0 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.engine import Engine


@dataclass
class Reply:
    text: str
    found: bool
    cited: list[str]
    retrieved: list[str]


class Pipeline:
    """Our system: the very ``answer()`` the chat and the command line use."""

    name = "qa (hybrid)"

    def __init__(self, engine: Engine, k: int = 5):
        self.engine, self.k = engine, k
        reranker = getattr(engine, "reranker", None)
        if reranker is not None:
            self.name = f"qa (hybrid + {reranker.id})"

    def ask(self, question: str, history: list[dict]) -> Reply:
        a = self.engine.answer(question, history=history, k=self.k)
        return Reply(a.text, a.found, [c.source for c in a.citations], [p.source for p in a.passages])


class DenseOnly:
    name = "dense-only"

    def __init__(self, engine: Engine, k: int = 5):
        self.engine, self.k = engine, k

    def ask(self, question: str, history: list[dict]) -> Reply:
        state = self.engine._load()
        vector = self.engine.embedder.embed_queries([question])[0]
        got = state.collections["chunks"].query(
            query_embeddings=[vector.tolist()], n_results=min(self.k, len(state.chunks)),
            where=self.engine._where(state, None), include=["documents", "metadatas"],
        )
        sources = [m["source"] for m in got["metadatas"][0]]
        top = got["documents"][0][0] if got["documents"][0] else ""
        return Reply(top, True, sources[:1], sources)


class BM25Only:
    name = "bm25-only"

    def __init__(self, engine: Engine, k: int = 5):
        import bm25s

        self.k = k
        state = engine._load()
        self.chunks = state.chunks
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
        sources = [self.chunks[i].meta["source"] for i in rows]
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

        state = engine._load()
        documents = [
            Document(text=engine.document_text(name), metadata={"source": name}) for name in sorted(state.documents)
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
