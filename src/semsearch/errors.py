"""Errors semsearch raises: each names the culprit and the way out."""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class for every error semsearch raises on purpose."""


class InputError(SemsearchError, ValueError):
    """A source path, file, document or argument that cannot be used as given."""


class EmptyCorpusError(InputError):
    """Nothing indexable was found in the sources."""


class EmptyQueryError(InputError):
    """A query that is empty or only whitespace/control characters."""


class UnknownDocumentError(InputError):
    """A document id the index does not hold (the server answers 404)."""


class DuplicateDocumentError(InputError):
    """Two documents claim the same document id."""


class IndexNotFoundError(SemsearchError, FileNotFoundError):
    """No semsearch index at the given path."""


class IndexCorruptError(SemsearchError):
    """An index directory whose files are missing, truncated or fail their checksum."""


class IndexFormatError(SemsearchError):
    """An index written in a format version this semsearch cannot read."""


class IndexMismatchError(SemsearchError):
    """An index used with an encoder other than the one it was built with."""


class EncoderError(SemsearchError):
    """An embedding model that cannot be loaded or gives unusable vectors."""


class IndexLockedError(SemsearchError):
    """Another process is writing the index."""


class IndexWriteError(SemsearchError, OSError):
    """An index that cannot be written (disk full, read-only folder or file system); the old one is intact."""


class IndexChangedError(SemsearchError):
    """The index on disk changed since it was loaded: saving would lose the other writer's change."""


class BackendError(SemsearchError):
    """An index engine (a Milvus server, a Ray cluster) that cannot be reached or refused an operation."""
