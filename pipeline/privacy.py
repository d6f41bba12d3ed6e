"""Pseudonymization: personal data is replaced before any other stage sees the text.

Foundation version: e-mail addresses, phone numbers, postcodes, BSNs, URLs and deny-listed names
are replaced with numbered tags that are consistent within a document. The deduce-based Dutch
de-identifier (names, addresses, places) plugs in behind the same interface.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.config import Settings

_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("email", "EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", "URL", re.compile(r"\b(?:https?://|www\.)\S+[\w/]")),
    ("telefoon", "TELEFOONNUMMER", re.compile(r"(?<!\w)(?:\+31[\s-]?|0031[\s-]?|0)(?:6[\s-]?(?:\d[\s-]?){8}|\d{2}[\s-]?(?:\d[\s-]?){7})(?!\d)")),
    ("bsn", "BSN", re.compile(r"(?<!\d)\d{9}(?!\d)")),
    ("postcode", "LOCATIE", re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\b")),
)


@dataclass
class Pseudonymized:
    """Pseudonymized text plus the surface → tag map (kept in memory only, never stored)."""

    text: str
    mapping: dict[str, str] = field(default_factory=dict)

    def tag_for(self, surface: str) -> str | None:
        return self.mapping.get(surface)


class Pseudonymizer:
    """Replaces identifiers with ``[PERSOON-1]``-style tags, consistently within a document."""

    name = "regex"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.privacy.enabled
        self.categories = set(settings.privacy.categories)

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonymizer:
        return cls(settings)

    def pseudonymize(
        self, text: str, collection: str | None = None, extra_names: Sequence[str] = ()
    ) -> Pseudonymized:
        if not self.enabled:
            return Pseudonymized(text)
        counters: dict[str, int] = {}
        mapping: dict[str, str] = {}

        def tag(kind: str, surface: str) -> str:
            if surface not in mapping:
                counters[kind] = counters.get(kind, 0) + 1
                mapping[surface] = f"[{kind}-{counters[kind]}]"
            return mapping[surface]

        names = list(extra_names)
        deny = self.settings.privacy.deny_list
        names += deny.get("*", []) + (deny.get(collection or "", []) if collection else [])
        for name in sorted({n for n in names if n}, key=len, reverse=True):
            text = re.sub(rf"\b{re.escape(name)}\b", lambda m: tag("PERSOON", m.group(0)), text)
        for category, kind, pattern in _PATTERNS:
            if category in self.categories:
                text = pattern.sub(lambda m, k=kind: tag(k, m.group(0)), text)
        return Pseudonymized(text, mapping)
