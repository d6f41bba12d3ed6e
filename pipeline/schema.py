"""Data classes at the boundaries between stages.

Every stage (ingest, tagger, review, report) exchanges these small, validated
objects so the contract of design section 5 is written down once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["resident", "interviewer", "other"]
Polarity = Literal["positive", "negative", "mixed", "neutral"]
POLARITIES: tuple[str, ...] = ("positive", "negative", "mixed", "neutral")


class EvidenceSpan(BaseModel):
    """A character span in the tagged text; ``text[start:end] == self.text`` always."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class Theme(BaseModel):
    """One code assigned to one text, with the evidence that supports it."""

    code: str
    score: float = Field(ge=0.0, le=1.0)
    polarity: Polarity = "neutral"
    evidence: list[EvidenceSpan] = Field(default_factory=list)


class TagInput(BaseModel):
    """One input line of ``kracht tag`` (design section 5)."""

    id: str
    text: str
    speaker: str | None = None


class TagOutput(BaseModel):
    """One output line of ``kracht tag``: every input id appears exactly once, in order."""

    id: str
    themes: list[Theme] = Field(default_factory=list)
