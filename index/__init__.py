"""Building and storing the index: reading files, chunking, the Chroma store.

Installed as ``qa.index``.
"""
