"""Bytes to text for plain-text formats, keeping every character as it was written.

Real files come as UTF-8 (with or without BOM), UTF-16 from Windows tools, or cp1252 from old
Word exports. We only strip a byte-order mark; line endings and spaces stay, so offsets into the
stored text match what the user sees in the file.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from pipeline.ingest.errors import BinaryContent, EmptyFile, UndecodableText

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v", "\x1b"}
_MAX_CONTROL_SHARE = 0.02


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    return controls > max(2, _MAX_CONTROL_SHARE * len(sample))


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 saved without a BOM shows NULs in every other byte of ASCII text."""
    if len(data) < 4 or len(data) % 2:
        return None
    head = data[:4096]
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    half = len(head) // 2
    for nuls, encoding in ((odd_nuls, "utf-16-le"), (even_nuls, "utf-16-be")):
        if nuls > 0.4 * half:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def decode_text(data: bytes) -> Decoded:
    """Decode with BOM sniffing, then strict UTF-8, then cp1252; refuse binary or empty input."""
    if not data:
        raise EmptyFile("empty file (0 bytes)")
    encoding: str | None = None
    text: str | None = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(name.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise UndecodableText(
                    f"starts with a {name} byte-order mark but is not {name}: {exc.reason}"
                ) from exc
            encoding = name
            break
    if text is None:
        try:
            text = data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            text = None
        if text is None or "\x00" in text:
            utf16 = _utf16_without_bom(data)
            if utf16 is not None:
                text, encoding = utf16, "utf-16"
    if text is None:
        if b"\x00" in data:
            raise BinaryContent("binary content (NUL bytes), not a text file")
        try:
            text = data.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError as exc:
            raise UndecodableText(
                "not valid UTF-8, UTF-16 or cp1252 text "
                f"(byte 0x{data[exc.start]:02x} at position {exc.start})"
            ) from exc
    if _looks_binary(text):
        raise BinaryContent("binary content (control characters), not a text file")
    if not text.strip():
        raise EmptyFile("empty file (only white space)")
    assert encoding is not None
    return Decoded(text=text, encoding=encoding)
