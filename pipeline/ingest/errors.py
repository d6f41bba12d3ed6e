"""Why a file could not be ingested; the message is what the user and the quarantine table see."""

from __future__ import annotations


class IngestError(Exception):
    """A file (or one record of it) that must be quarantined; ``reason`` is one clear line."""

    error_class = "ingest_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmptyFile(IngestError):
    error_class = "empty"


class BinaryContent(IngestError):
    error_class = "binary"


class UndecodableText(IngestError):
    error_class = "encoding"


class TooLarge(IngestError):
    error_class = "too_large"


class UnsupportedFormat(IngestError):
    error_class = "unsupported"


class CorruptFile(IngestError):
    error_class = "corrupt"


class NoConsent(IngestError):
    error_class = "no_consent"


class EncryptedFile(IngestError):
    error_class = "encrypted"


class NoTextLayer(IngestError):
    error_class = "no_text_layer"


class NoTextColumn(IngestError):
    error_class = "no_text_column"
