"""The figures of the impact report, computed once from :func:`frame` and the store.

The HTML report, the XLSX theme summary and the tests all read this one structure, so a number a
funder sees is the number a researcher finds in the spreadsheet. Shares are of *resident
segments* (interviewer turns never count); a segment can carry several themes, so shares do not
add up to 100%.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select

from pipeline.report.frame import frame, machine_tags
from pipeline.report.quotes import Quote, pick_quotes
from pipeline.store import Annotation, CodebookVersion, Document, Run, Segment, Store, Tag

POLARITIES = ("positive", "mixed", "neutral", "negative")
NO_COLLECTION = "(zonder collectie)"


@dataclass
class ThemeStats:
    """One code in the selection: how often, how widely, which way, and since when."""

    code: str
    label: str
    group: str
    color: str
    definition: str
    segments: int = 0
    documents: int = 0
    segment_share: float = 0.0
    document_share: float = 0.0
    polarity: dict[str, int] = field(default_factory=dict)
    by_period: dict[str, float] = field(default_factory=dict)
    human: int = 0
    quotes: list[Quote] = field(default_factory=list)

    @property
    def machine_only(self) -> bool:
        """True when no human confirmed any of these segments: the figure is machine coding."""
        return self.segments > 0 and self.human == 0


@dataclass
class GroupStats:
    id: str
    label: str
    description: str
    themes: list[ThemeStats]


@dataclass
class CollectionStats:
    """One collection in the comparison (same neighbourhood and period filters)."""

    name: str
    documents: int
    segments: int
    shares: dict[str, float]
    selected: bool = False


@dataclass
class Provenance:
    """What the figures rest on: taggers, codebook versions, human review and agreement."""

    codebook_name: str
    codebook_version: str
    codebook_hash: str
    tag_sources: list[tuple[str, int]]
    codebook_versions: list[tuple[str, str, int]]
    nlp: list[str]
    final_tags: int
    human_final_tags: int
    reviewed_segments: int
    agreement: list[dict[str, Any]]
    unknown_codes: list[str]


@dataclass
class ReportData:
    """Everything the impact report shows, for one selection."""

    collection: str | None
    neighbourhood: str | None
    start: dt.date | None
    end: dt.date | None
    documents: int
    segments: int
    coded_segments: int
    periods: list[str]
    period_segments: dict[str, int]
    undated_documents: int
    groups: list[GroupStats]
    cooccurrence_codes: list[str]
    cooccurrence: list[list[int]]
    comparison: list[CollectionStats]
    provenance: Provenance
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    @property
    def themes(self) -> list[ThemeStats]:
        return [theme for group in self.groups for theme in group.themes]

    def theme(self, code: str) -> ThemeStats:
        return next(t for t in self.themes if t.code == code)


def period_of(date: dt.date | None, by: str = "quarter") -> str | None:
    """``2025-K2`` style labels sort in time order; ``by="year"`` gives ``2025``."""
    if date is None or pd.isna(date):
        return None
    if by == "year":
        return f"{date.year}"
    return f"{date.year}-K{(date.month - 1) // 3 + 1}"


def _period_range(dates: list[dt.date]) -> tuple[list[str], str]:
    """Every quarter between the first and last date (gaps stay visible); years when long."""
    if not dates:
        return [], "quarter"
    first, last = min(dates), max(dates)
    quarters = (last.year - first.year) * 4 + (last.month - 1) // 3 - (first.month - 1) // 3 + 1
    if quarters > 16:
        return [str(y) for y in range(first.year, last.year + 1)], "year"
    labels, year, q = [], first.year, (first.month - 1) // 3 + 1
    for _ in range(quarters):
        labels.append(f"{year}-K{q}")
        q += 1
        if q == 5:
            year, q = year + 1, 1
    return labels, "quarter"


def build_report_data(
    store: Store,
    codebook: Any,
    collection: str | None = None,
    neighbourhood: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    quotes_per_theme: int = 3,
) -> ReportData:
    """Compute the report's figures for one selection (see module docstring for the rules)."""
    seg_df = frame(store, collection, neighbourhood, start, end, include_uncoded=True)
    coded = seg_df[seg_df["code"].notna()]
    segments = seg_df.drop_duplicates("segment_id")
    n_segments = len(segments)
    n_documents = segments["document_id"].nunique()

    doc_dates = segments.drop_duplicates("document_id")["date"]
    dates = [d for d in doc_dates if isinstance(d, dt.date)]
    periods, by = _period_range(dates)
    seg_period = segments.set_index("segment_id")["date"].map(lambda d: period_of(d, by))
    period_segments = {p: int((seg_period == p).sum()) for p in periods}

    known = {c.id for c in codebook.codes}
    groups: list[GroupStats] = []
    for group in codebook.groups:
        themes = []
        for c in (c for c in codebook.codes if c.group == group.id):
            rows = coded[coded["code"] == c.id]
            theme = ThemeStats(c.id, c.label, group.id, c.color, c.definition)
            _fill_theme(theme, rows, n_segments, n_documents, seg_period, period_segments)
            theme.quotes = pick_quotes(rows, quotes_per_theme)
            themes.append(theme)
        groups.append(GroupStats(group.id, group.label, getattr(group, "description", ""), themes))

    codes_present = [t.code for g in groups for t in g.themes if t.segments > 0]
    pairs: Counter[tuple[str, str]] = Counter()
    for codes in coded.groupby("segment_id")["code"].agg(set):
        pairs.update((a, b) for a in codes for b in codes)
    matrix = [[pairs[(a, b)] for b in codes_present] for a in codes_present]

    if collection:
        wide = frame(store, None, neighbourhood, start, end, include_uncoded=True)
    else:
        wide = seg_df
    comparison = _comparison(wide, [c.id for c in codebook.codes], collection)

    provenance = _provenance(store, codebook, seg_df, coded, known)
    return ReportData(
        collection=collection, neighbourhood=neighbourhood, start=start, end=end,
        documents=n_documents, segments=n_segments,
        coded_segments=int(coded["segment_id"].nunique()),
        periods=periods, period_segments=period_segments,
        undated_documents=int(n_documents - len(dates)),
        groups=groups, cooccurrence_codes=codes_present, cooccurrence=matrix,
        comparison=comparison, provenance=provenance,
        first_date=min(dates) if dates else None, last_date=max(dates) if dates else None,
    )


def _fill_theme(
    theme: ThemeStats,
    rows: pd.DataFrame,
    n_segments: int,
    n_documents: int,
    seg_period: pd.Series,
    period_segments: dict[str, int],
) -> None:
    seg_ids = rows["segment_id"].unique()
    theme.segments = len(seg_ids)
    theme.documents = int(rows["document_id"].nunique())
    theme.segment_share = theme.segments / n_segments if n_segments else 0.0
    theme.document_share = theme.documents / n_documents if n_documents else 0.0
    counts = Counter(rows["polarity"])
    theme.polarity = {p: int(counts.get(p, 0)) for p in POLARITIES}
    theme.human = int(rows.loc[rows["origin"] == "human", "segment_id"].nunique())
    per_period = Counter(seg_period.get(s) for s in seg_ids)
    theme.by_period = {
        p: (per_period.get(p, 0) / n if n else float("nan")) for p, n in period_segments.items()
    }


def _comparison(
    wide: pd.DataFrame, codes: list[str], selected: str | None
) -> list[CollectionStats]:
    """Share of resident segments per code in each collection, to set one beside the others."""
    wide = wide.assign(collection=wide["collection"].fillna(NO_COLLECTION))
    result = []
    for name, rows in wide.groupby("collection", sort=True):
        segs = rows["segment_id"].nunique()
        coded = rows[rows["code"].notna()]
        per_code = coded.groupby("code")["segment_id"].nunique()
        result.append(CollectionStats(
            name=str(name), documents=int(rows["document_id"].nunique()), segments=int(segs),
            shares={c: (int(per_code.get(c, 0)) / segs if segs else 0.0) for c in codes},
            selected=selected is not None and name == selected,
        ))
    return result


def _provenance(
    store: Store, codebook: Any, seg_df: pd.DataFrame, coded: pd.DataFrame, known: set[str]
) -> Provenance:
    segment_ids = set(seg_df["segment_id"])
    all_tags, annotated = _tags_and_annotations(store, segment_ids)
    sources = Counter(t.source for t in all_tags)
    hashes = Counter(t.codebook_hash for t in all_tags if t.codebook_hash)
    run_ids = {t.run_id for t in all_tags if t.run_id is not None}
    with store.session() as s:
        versions = {
            cv.hash: (cv.name, cv.version)
            for cv in s.scalars(select(CodebookVersion).where(CodebookVersion.hash.in_(hashes)))
        }
        nlp = sorted({
            r for r in s.scalars(select(Run.nlp).where(Run.id.in_(run_ids))) if r
        }) if run_ids else []
    codebook_versions = [
        (versions.get(h, ("?", "?"))[1], h[:12], n) for h, n in hashes.most_common()
    ]
    return Provenance(
        codebook_name=codebook.name, codebook_version=codebook.version,
        codebook_hash=str(codebook.hash)[:12],
        tag_sources=sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])),
        codebook_versions=codebook_versions,
        nlp=nlp,
        final_tags=len(coded),
        human_final_tags=int((coded["origin"] == "human").sum()),
        reviewed_segments=int(seg_df.drop_duplicates("segment_id")["reviewed"].sum()),
        agreement=agreement_per_code(all_tags, annotated, [c.id for c in codebook.codes]),
        unknown_codes=sorted({t.code for t in all_tags} - known),
    )


def _tags_and_annotations(
    store: Store, segment_ids: set[str]
) -> tuple[list[Tag], dict[str, set[str]]]:
    """All tags on the selected segments, and who reviewed each segment in Label Studio."""
    tags: list[Tag] = []
    annotated: dict[str, set[str]] = {}
    with store.session() as s:
        query = (
            select(Tag).join(Segment, Segment.id == Tag.segment_id)
            .join(Document, Document.id == Segment.document_id).where(Segment.role == "resident")
        )
        tags = [t for t in s.scalars(query) if t.segment_id in segment_ids]
        for seg_id, annotator in s.execute(
            select(Annotation.segment_id, Annotation.annotator).where(
                Annotation.cancelled.is_(False), Annotation.segment_id.is_not(None)
            )
        ):
            if seg_id in segment_ids:
                annotated.setdefault(seg_id, set()).add(f"human:{annotator}")
    return tags, annotated


def agreement_per_code(
    tags: list[Tag], annotated: dict[str, set[str]], codes: list[str]
) -> list[dict[str, Any]]:
    """Per code: how often humans agree with each other, and the machine with the humans.

    Kept deliberately simple (positive agreement, not kappa): among reviewed segments where any
    party gave the code, the share where all of them gave it. ``between_humans`` uses segments
    with two or more annotators; ``machine_human`` compares the machine's newest codes with the
    final human codes. A review annotation without any human tag counts as "no codes"
    (the annotator is ``human:<Annotation.annotator>``, the same name human tags carry).
    """
    by_segment: dict[str, list[Tag]] = {}
    for tag in tags:
        by_segment.setdefault(tag.segment_id, []).append(tag)
    result = []
    for code in codes:
        hh_total = hh_agree = mh_total = mh_agree = 0
        for seg_id in set(by_segment) | set(annotated):
            seg_tags = by_segment.get(seg_id, [])
            humans = {t.source for t in seg_tags if t.source.startswith("human:")}
            humans |= annotated.get(seg_id, set())
            if not humans:
                continue
            gave = {t.source for t in seg_tags if t.code == code and t.source in humans}
            if len(humans) >= 2 and gave:
                hh_total += 1
                hh_agree += gave == humans
            human_has = len(gave) * 2 >= len(humans) and bool(gave)
            machine_has = any(t.code == code for t in machine_tags(seg_tags))
            if human_has or machine_has:
                mh_total += 1
                mh_agree += human_has and machine_has
        result.append({
            "code": code,
            "between_humans": hh_agree / hh_total if hh_total else None,
            "between_humans_n": hh_total,
            "machine_human": mh_agree / mh_total if mh_total else None,
            "machine_human_n": mh_total,
        })
    return result
