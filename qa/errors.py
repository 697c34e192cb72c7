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


class NoDocuments(QAError):
    """A folder or list of paths with nothing the indexer can read."""


class DocumentNotFound(QAError):
    pass


class IndexMissing(QAError):
    pass


class IndexCorrupted(QAError):
    pass


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
