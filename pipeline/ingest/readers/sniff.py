"""Check that bytes are what their extension promises, before a library chokes on them.

Office files are zip packages; a password-protected one is an OLE container holding an
``EncryptedPackage`` instead, and an old ``.doc`` / ``.xls`` saved under the new extension is an
OLE container too. Telling these apart gives the user a reason they can act on.
"""

from __future__ import annotations

import io
import zipfile

from pipeline.ingest.errors import CorruptFile, EmptyFile, EncryptedFile

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def require_bytes(data: bytes) -> None:
    if not data:
        raise EmptyFile("empty file (0 bytes)")


def open_package(data: bytes, kind: str) -> zipfile.ZipFile:
    """The zip inside an Office/OpenDocument file, or a clear reason why there is none."""
    require_bytes(data)
    if data.startswith(OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k" in data:
            raise EncryptedFile(f"{kind} is password protected; save it without a password")
        raise CorruptFile(f"not a {kind} package but an old binary Office file; save it as {kind}")
    if not data.startswith(ZIP_MAGIC):
        raise CorruptFile(f"corrupt {kind}: not a zip package (damaged or renamed file)")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CorruptFile(f"corrupt {kind}: damaged zip package ({exc})") from exc
