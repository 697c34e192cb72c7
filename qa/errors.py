"""The project's own exceptions.

Library code raises these; only the edges (command line, web chat) turn them
into friendly one-line messages. Every message says what to do next.
"""


class QAError(Exception):
    """Base class: anything the user can fix or should be told about."""

    exit_code = 1


class EmptyQuestion(QAError):
    pass


class QuestionTooLong(QAError):
    pass


class InvalidInput(QAError):
    """An argument of the Python API that is not what it should be (history, k, language, text)."""


class UnsupportedDocument(QAError):
    """A file that cannot be read as text (binary, wrong encoding, unknown type)."""


class EmptyDocument(UnsupportedDocument):
    """A file with no text in it: skipped, not a failure."""


class NeedsOCR(EmptyDocument):
    """A scanned PDF or an image, and no text recognition (Tesseract) here: skipped with the advice to install it."""


class NoDocuments(QAError):
    """A folder or list of paths with nothing the indexer can read."""


class DocumentNotFound(QAError):
    pass


class IndexMissing(QAError):
    pass


class IndexCorrupted(QAError):
    """The index's files are damaged: ``qa index rebuild`` makes it again from the library's own copies."""


class IndexUnwritable(QAError):
    """The disk under the index refuses to write (full, read-only, no permission). The index is not damaged:
    SQLite rolled the change back. Fix the disk and run the same command again; never rebuild for this."""


class DiskFull(IndexUnwritable):
    """No space left on the disk that holds the index (SQLite's "database or disk is full", ENOSPC)."""


class IndexReadOnly(IndexUnwritable):
    """The index's folder or files cannot be written: a read-only file system or missing permission (Chroma
    writes even to read, so reading fails too)."""


class IndexMismatch(QAError):
    """The index was built with another embedder / chunker than the one asked for."""


class StaleIndex(QAError):
    """The index changed under a reader (another process wrote it); reading again sees the new state."""


class IndexLocked(QAError):
    """Another process is writing the same index."""


class ConfigError(QAError):
    pass


class EvalFileError(QAError):
    pass
