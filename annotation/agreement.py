"""Agreement between annotators, and between annotators and the machine.

Measures, per code (presence of the code on a segment, a yes/no judgement) and pooled over codes:

- Cohen's kappa for each pair of annotators, over the segments both reviewed;
- Krippendorff's alpha (nominal, the ``krippendorff`` package) over all annotators, which copes
  with more than two annotators and with segments not everyone reviewed;
- per annotator versus the machine: Cohen's kappa, and the acceptance rate of predictions, the
  share of predicted codes that the annotator kept. The machine is the source whose predictions
  the annotator saw (``ReviewTask.prediction_source``; else the latest machine source).

Undefined statistics (every judgement the same, nothing to compare) are ``None``, not 0 or 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import select

from pipeline.store import ReviewTask, Store, Tag, TaggedSegment

HUMAN = "human:"
ALL = "*"  # the code name used for statistics pooled over all codes


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Cohen's kappa for two raters' nominal labels on the same units (None when undefined)."""
    if len(a) != len(b):
        raise ValueError("both raters must judge the same units")
    n = len(a)
    if n == 0:
        return None
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    categories = set(a) | set(b)
    expected = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in categories)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(matrix: Sequence[Sequence[float]]) -> float | None:
    """Nominal alpha for a raters x units matrix (NaN = not judged); None when undefined."""
    import krippendorff

    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] == 0:
        return None
    pairable = (np.sum(~np.isnan(data), axis=0) >= 2).sum()
    values = np.unique(data[~np.isnan(data)])
    if pairable == 0 or len(values) < 2:
        return None
    try:
        value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(value) else value


@dataclass
class CodeAgreement:
    """Inter-annotator agreement on one code (or ``*`` for all codes pooled)."""

    code: str
    units: int
    positives: int
    alpha: float | None
    kappa: float | None
    pairs: dict[str, float | None] = field(default_factory=dict)


@dataclass
class ModelAgreement:
    """One annotator versus the machine on one code (or ``*``)."""

    annotator: str
    code: str
    segments: int
    predicted: int
    kept: int
    added: int
    acceptance: float | None
    kappa: float | None


@dataclass
class AgreementReport:
    annotators: list[str]
    segments: int
    shared_segments: int
    codes: list[CodeAgreement]
    model: list[ModelAgreement]

    def code(self, code: str) -> CodeAgreement:
        return next(c for c in self.codes if c.code == code)

    def versus_model(self, annotator: str, code: str = ALL) -> ModelAgreement:
        return next(m for m in self.model if m.annotator == annotator and m.code == code)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows for CSV: one per code (inter-annotator) and per annotator x code (model)."""
        out: list[dict[str, Any]] = []
        for c in self.codes:
            out.append(
                {
                    "kind": "annotators",
                    "code": c.code,
                    "annotator": "",
                    "units": c.units,
                    "alpha": c.alpha,
                    "kappa": c.kappa,
                    "predicted": "",
                    "kept": "",
                    "added": "",
                    "acceptance": "",
                }
            )
        for m in self.model:
            out.append(
                {
                    "kind": "model",
                    "code": m.code,
                    "annotator": m.annotator,
                    "units": m.segments,
                    "alpha": "",
                    "kappa": m.kappa,
                    "predicted": m.predicted,
                    "kept": m.kept,
                    "added": m.added,
                    "acceptance": m.acceptance,
                }
            )
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        rows = self.rows()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["kind"])
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()


def compute(
    human: dict[str, dict[str, set[str]]],
    machine: dict[str, set[str]],
    codes: Sequence[str],
) -> AgreementReport:
    """The statistics from plain data: ``human[annotator][segment] = codes``, ``machine[segment]``.

    Kept free of the store so hand-checked examples can test it directly.
    """
    annotators = sorted(human)
    segments = sorted({sid for per in human.values() for sid in per})
    shared = [sid for sid in segments if sum(sid in human[a] for a in annotators) >= 2]
    code_rows: list[CodeAgreement] = []
    for code in [*codes, ALL]:
        wanted = list(codes) if code == ALL else [code]
        units = [(sid, c) for sid in segments for c in wanted]
        matrix = [
            [
                (1.0 if c in human[a][sid] else 0.0) if sid in human[a] else np.nan
                for sid, c in units
            ]
            for a in annotators
        ]
        pairs: dict[str, float | None] = {}
        for a, b in combinations(annotators, 2):
            both = [(sid, c) for sid, c in units if sid in human[a] and sid in human[b]]
            pairs[f"{a} | {b}"] = cohen_kappa(
                [c in human[a][sid] for sid, c in both], [c in human[b][sid] for sid, c in both]
            )
        shared_units = [(sid, c) for sid, c in units if sid in shared]
        code_rows.append(
            CodeAgreement(
                code=code,
                units=len(shared_units),
                positives=sum(
                    c in human[a].get(sid, set()) for a in annotators for sid, c in units
                ),
                alpha=krippendorff_alpha(matrix) if len(annotators) >= 2 else None,
                kappa=next(iter(pairs.values())) if len(annotators) == 2 else None,
                pairs=pairs,
            )
        )
    model_rows: list[ModelAgreement] = []
    for a in annotators:
        seen = [sid for sid in sorted(human[a]) if sid in machine]
        for code in [*codes, ALL]:
            wanted = list(codes) if code == ALL else [code]
            pairs_hm = [(c in human[a][sid], c in machine[sid]) for sid in seen for c in wanted]
            predicted = sum(1 for _, m in pairs_hm if m)
            kept = sum(1 for h, m in pairs_hm if h and m)
            added = sum(1 for h, m in pairs_hm if h and not m)
            model_rows.append(
                ModelAgreement(
                    annotator=a,
                    code=code,
                    segments=len(seen),
                    predicted=predicted,
                    kept=kept,
                    added=added,
                    acceptance=kept / predicted if predicted else None,
                    kappa=cohen_kappa([h for h, _ in pairs_hm], [m for _, m in pairs_hm]),
                )
            )
    return AgreementReport(
        annotators=annotators,
        segments=len(segments),
        shared_segments=len(shared),
        codes=code_rows,
        model=model_rows,
    )


def load_judgements(
    store: Store,
) -> tuple[dict[str, dict[str, set[str]]], dict[str, set[str]], list[str]]:
    """Read human and machine code sets from the store (what :func:`compute` needs)."""
    with store.session() as s:
        human: dict[str, dict[str, set[str]]] = defaultdict(dict)
        for sid, source in s.execute(
            select(TaggedSegment.segment_id, TaggedSegment.source).where(
                TaggedSegment.source.startswith(HUMAN)
            )
        ):
            human[source[len(HUMAN) :]][sid] = set()
        for sid, source, code in s.execute(
            select(Tag.segment_id, Tag.source, Tag.code).where(Tag.source.startswith(HUMAN))
        ):
            human[source[len(HUMAN) :]].setdefault(sid, set()).add(code)
        reviewed = {sid for per in human.values() for sid in per}
        shown = dict(s.execute(select(ReviewTask.segment_id, ReviewTask.prediction_source)).all())
        latest: dict[str, tuple[Any, str]] = {}
        for sid, source, at in s.execute(
            select(TaggedSegment.segment_id, TaggedSegment.source, TaggedSegment.at).where(
                ~TaggedSegment.source.startswith(HUMAN)
            )
        ):
            if sid in reviewed and (sid not in latest or at >= latest[sid][0]):
                latest[sid] = (at, source)
        source_of = {sid: shown.get(sid) or latest.get(sid, (None, None))[1] for sid in reviewed}
        machine: dict[str, set[str]] = {
            sid: set() for sid, source in source_of.items() if source is not None
        }
        for sid, source, code in s.execute(
            select(Tag.segment_id, Tag.source, Tag.code).where(~Tag.source.startswith(HUMAN))
        ):
            if source_of.get(sid) == source:
                machine.setdefault(sid, set()).add(code)
        codes = sorted(
            {c for per in human.values() for cs in per.values() for c in cs}
            | {c for cs in machine.values() for c in cs}
        )
    return dict(human), machine, codes


def agreement(store: Store, codes: Sequence[str] | None = None) -> AgreementReport:
    """Agreement over everything pulled into the store (codes: the codebook's order, if given)."""
    human, machine, seen_codes = load_judgements(store)
    order = list(codes) if codes is not None else seen_codes
    return compute(human, machine, order)
