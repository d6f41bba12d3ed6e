"""Encoding detection keeps the text exactly and refuses what is not text."""

from __future__ import annotations

import codecs

import pytest

from pipeline.ingest.decode import decode_text
from pipeline.ingest.errors import BinaryContent, EmptyFile, UndecodableText

TEXT = "Café De Eenhoorn: ‘naïef’ — we zijn één buurt.\r\nTweede regel 😀"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-16"), "utf-16-le"),
    ],
)
def test_unicode_encodings_round_trip(data, encoding):
    decoded = decode_text(data)
    assert decoded.text == TEXT
    assert decoded.encoding == encoding


def test_cp1252_is_recognised():
    text = "Café met één ‘goede’ buur – naïef\r\n"
    decoded = decode_text(text.encode("cp1252"))
    assert decoded.text == text
    assert decoded.encoding == "cp1252"


def test_utf16_without_bom():
    text = "Hallo buurman, hoe gaat het met de tuin?"
    assert decode_text(text.encode("utf-16-le")).text == text


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyFile),
        (b"  \r\n\t ", EmptyFile),
        (bytes(range(256)) * 4, BinaryContent),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 50, BinaryContent),
        (b"tekst met \x81\x8d\x8f onbekende bytes " * 3, UndecodableText),
    ],
)
def test_bad_input_raises_clear_errors(data, error):
    with pytest.raises(error) as info:
        decode_text(data)
    assert info.value.reason
