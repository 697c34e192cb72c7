"""Building and storing the index: reading files, chunking, the Chroma store.

Installed as ``qa.index``. Kept free of heavy imports: asking a question needs the
chunker's identity (stored with the index) but not llama-index itself.
"""

CHUNKER_VERSION = "sentences-v1"


def chunker_id(chunk_tokens: int, overlap_tokens: int) -> str:
    return f"{CHUNKER_VERSION}:{chunk_tokens}:{overlap_tokens}"
