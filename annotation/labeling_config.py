"""The Label Studio labeling interface, generated from the codebook.

Generated rather than hand-written so that the review screen can never drift from the codebook:
a new code, a renamed label or a new colour shows up in Label Studio on the next ``push``. The
names of the control tags are the contract between push (predictions), pull (annotations) and this
module, so they are defined here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from xml.etree import ElementTree as ET

from pipeline.schema import POLARITIES

#: control and object tag names shared by push and pull
TEXT = "text"
CODES = "codes"
EVIDENCE = "evidence"
CONTEXT_BEFORE = "context_before"
CONTEXT_AFTER = "context_after"
POLARITY_PREFIX = "pol_"

#: Dutch captions for the polarities (the stored value stays English, as in the codebook)
POLARITY_CAPTIONS = {
    "positive": "positief",
    "negative": "negatief",
    "mixed": "gemengd",
    "neutral": "neutraal",
}

_FALLBACK_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
)  # fmt: skip


class CodeLike(Protocol):
    """What the config needs of a codebook code (``pipeline.codebook`` codes satisfy it)."""

    id: str
    label: str


def polarity_name(code: str) -> str:
    """The from_name of the polarity choice that belongs to ``code``."""
    return f"{POLARITY_PREFIX}{code}"


def code_of_polarity_name(from_name: str) -> str | None:
    """Inverse of :func:`polarity_name`; None for any other control."""
    if from_name.startswith(POLARITY_PREFIX):
        return from_name[len(POLARITY_PREFIX) :]
    return None


def _attr(code: Any, name: str, default: Any = None) -> Any:
    if isinstance(code, dict):
        return code.get(name, default)
    return getattr(code, name, default)


def _hint(code: Any) -> str:
    label = _attr(code, "label") or _attr(code, "id")
    definition = _attr(code, "definition") or ""
    text = f"{label}: {definition}".strip().rstrip(":")
    return " ".join(text.split())[:500]


def build_labeling_config(codes: Iterable[Any]) -> str:
    """Return the labeling config XML for these codes.

    Layout, top to bottom: the turns before the segment (speaker and role visible), the segment
    itself with evidence ``Labels`` (one label per code, so a span says which code it supports),
    the turns after it, the multi-select code ``Choices``, and per code a polarity choice that is
    only shown while that code is selected (``visibleWhen``). Choice values are the code ids, so
    results map straight back to the codebook; the Dutch label and definition are the hint.
    """
    codes = list(codes)
    if not codes:
        raise ValueError("the codebook has no codes; cannot build a labeling config")
    view = ET.Element("View")
    ET.SubElement(view, "Header", value="Voorafgaande beurten", size="6")
    ET.SubElement(
        view,
        "Paragraphs",
        name=CONTEXT_BEFORE,
        value=f"${CONTEXT_BEFORE}",
        nameKey="speaker",
        textKey="text",
        layout="dialogue",
    )
    ET.SubElement(view, "Header", value="$header", size="5")
    labels = ET.SubElement(view, "Labels", name=EVIDENCE, toName=TEXT)
    for i, code in enumerate(codes):
        color = _attr(code, "color") or _FALLBACK_COLORS[i % len(_FALLBACK_COLORS)]
        ET.SubElement(labels, "Label", value=str(_attr(code, "id")), background=str(color))
    ET.SubElement(view, "Text", name=TEXT, value=f"${TEXT}", granularity="symbol")
    ET.SubElement(view, "Header", value="Volgende beurten", size="6")
    ET.SubElement(
        view,
        "Paragraphs",
        name=CONTEXT_AFTER,
        value=f"${CONTEXT_AFTER}",
        nameKey="speaker",
        textKey="text",
        layout="dialogue",
    )
    ET.SubElement(view, "Header", value="Codes (meerdere mogelijk; geen code = niets kiezen)")
    choices = ET.SubElement(
        view,
        "Choices",
        name=CODES,
        toName=TEXT,
        choice="multiple",
        showInline="false",
    )
    for code in codes:
        ET.SubElement(choices, "Choice", value=str(_attr(code, "id")), hint=_hint(code))
    for code in codes:
        code_id = str(_attr(code, "id"))
        block = ET.SubElement(
            view,
            "View",
            visibleWhen="choice-selected",
            whenTagName=CODES,
            whenChoiceValue=code_id,
        )
        caption = f"Polariteit: {_attr(code, 'label') or code_id}"
        ET.SubElement(block, "Header", value=caption, size="6")
        polarity = ET.SubElement(
            block,
            "Choices",
            name=polarity_name(code_id),
            toName=TEXT,
            choice="single-radio",
            showInline="true",
        )
        for value in POLARITIES:
            ET.SubElement(polarity, "Choice", value=value, hint=POLARITY_CAPTIONS[value])
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode")


def config_codes(xml: str) -> list[str]:
    """The code ids a config offers, in order (to tell whether a project's config is current)."""
    root = ET.fromstring(xml)
    for el in root.iter("Choices"):
        if el.get("name") == CODES:
            return [c.get("value", "") for c in el.iter("Choice")]
    return []


def same_config(a: str | None, b: str | None) -> bool:
    """Compare two configs ignoring whitespace, since Label Studio may reformat what it stores."""
    if not a or not b:
        return False
    return _canonical(a) == _canonical(b)


def _canonical(xml: str) -> str:
    root = ET.fromstring(xml)
    for el in root.iter():
        el.text = (el.text or "").strip() or None
        el.tail = None
    return ET.tostring(root, encoding="unicode")


def code_ids(codes: Sequence[Any]) -> list[str]:
    """The ids of codebook codes, whatever shape they come in."""
    return [str(_attr(code, "id")) for code in codes]
