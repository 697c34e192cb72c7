"""Models: the embedders and rerankers (sentence-transformers or a hashing fake) and the packaged GGUF language models."""
