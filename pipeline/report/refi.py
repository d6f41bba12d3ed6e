"""REFI-QDA exchange: the codebook as ``.qdc``, a coded project as ``.qdpx``, and codings back in.

Researchers who work in ATLAS.ti, MAXQDA, NVivo or QualCoder can open kracht's coding there,
check or extend it by hand, and bring their own codings back as ``human:<user>`` tags so kracht's
figures can be compared with theirs. Both files are validated against the REFI-QDA schemas shipped
in ``schemas/`` (MIT, see ``schemas/NOTICE.txt``) before anything is written, because those tools
reject a file that does not validate, often without saying why.

**Positions.** A ``PlainTextSelection``'s ``startPosition``/``endPosition`` count *Unicode code
points* of the plain-text source exactly as kracht writes it: ``sources/<guid>.txt`` in the zip,
UTF-8 without a byte-order mark, with line ends kept as they are in the store (CRLF counts as two
characters, an emoji outside the BMP as one). That is Python's ``str`` indexing of
``Document.text``, so a position is ``segment.start + span.start`` for an evidence span whose
offsets are into the segment text. ``endPosition`` is exclusive. A tool that counts UTF-16 code
units or rewrites line ends would shift positions after the first emoji or CRLF; the importer
therefore only accepts a source whose text is identical to the stored document.

GUIDs are UUID5 of stable kracht ids (code id, document id, tag source), so exporting twice gives
the same GUIDs and an import can match codes and documents by GUID before falling back to names.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from lxml import etree
from sqlalchemy import delete, select

from pipeline.report.frame import frame
from pipeline.store import Document, Segment, Store, Tag

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
SCHEMAS = Path(__file__).parent / "schemas"
GUID_NAMESPACE = uuid.UUID("6f1d3c2e-8b4a-5e7f-9c1d-2a3b4c5d6e7f")
MACHINE_PREFIXES = ("model:", "rules")
_DESC_LINE = re.compile(r"^(?P<code>[a-z][a-z0-9_]*) · (?P<polarity>\w+) · (?P<score>[\d.]+) · "
                        r"(?P<source>.+)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class RefiError(ValueError):
    """A REFI-QDA file that does not validate or cannot be read; the message says where."""


def guid(kind: str, key: str) -> str:
    """A stable GUID for a kracht object (``kind`` = code, group, doc, user, var, coding…)."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml_text(text: str) -> str:
    """XML 1.0 cannot carry most control characters; descriptions and names drop them."""
    return _CONTROL.sub("", text)


@cache
def _schema(kind: Literal["project", "codebook"]) -> etree.XMLSchema:
    name = "Project.xsd" if kind == "project" else "Codebook.xsd"
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def validate(root: etree._Element, kind: Literal["project", "codebook"]) -> None:
    """Raise :class:`RefiError` listing every schema violation (line and message)."""
    schema = _schema(kind)
    if not schema.validate(root):
        problems = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise RefiError(f"REFI-QDA {kind} does not validate: {problems}")


# --- codebook ----------------------------------------------------------------------------------


def _code_description(code: Any) -> str:
    lines = [code.definition.strip()]
    if getattr(code, "include", None):
        lines.append("Wel: " + "; ".join(code.include))
    if getattr(code, "exclude", None):
        lines.append("Niet: " + "; ".join(code.exclude))
    lines.append(f"kracht-id: {code.id}")
    return _xml_text("\n".join(lines))


def _add_codes(parent: etree._Element, ns: str, codebook: Any, extra: list[str]) -> None:
    """Groups become non-codable parent codes, so a QDA tool shows the codebook's structure."""
    codes = etree.SubElement(parent, f"{{{ns}}}Codes")
    for group in codebook.groups:
        g = etree.SubElement(codes, f"{{{ns}}}Code", guid=guid("group", group.id),
                             name=_xml_text(group.label), isCodable="false")
        if getattr(group, "description", ""):
            etree.SubElement(g, f"{{{ns}}}Description").text = _xml_text(group.description)
        for code in (c for c in codebook.codes if c.group == group.id):
            c = etree.SubElement(g, f"{{{ns}}}Code", guid=guid("code", code.id),
                                 name=_xml_text(code.label), isCodable="true", color=code.color)
            etree.SubElement(c, f"{{{ns}}}Description").text = _code_description(code)
    for code_id in extra:
        c = etree.SubElement(codes, f"{{{ns}}}Code", guid=guid("code", code_id),
                             name=code_id, isCodable="true")
        etree.SubElement(c, f"{{{ns}}}Description").text = f"kracht-id: {code_id} (not in codebook)"


def codebook_xml(codebook: Any) -> etree._Element:
    """The codebook as a REFI-QDA ``CodeBook`` element (validated)."""
    root = etree.Element(f"{{{NS_CODEBOOK}}}CodeBook", nsmap={None: NS_CODEBOOK},
                         origin=f"kracht; {codebook.name} {codebook.version}")
    _add_codes(root, NS_CODEBOOK, codebook, [])
    validate(root, "codebook")
    return root


def write_qdc(codebook: Any, path: Path) -> Path:
    """Write the codebook as a ``.qdc`` file (validated before writing)."""
    root = codebook_xml(codebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8",
                                    pretty_print=True))
    return path


# --- project export ----------------------------------------------------------------------------


@dataclass
class ExportSummary:
    sources: int = 0
    selections: int = 0
    codings: int = 0
    skipped_spans: int = 0


def _user_name(source: str) -> str:
    return source.removeprefix("human:")


def _display_name(doc: Document) -> str:
    name = PurePosixPath(doc.source_path.replace("\\", "/")).name or doc.id[:8]
    return f"{name}#{doc.record}" if doc.record else name


def _selection_name(text: str) -> str:
    flat = " ".join(text.split())
    return _xml_text(flat if len(flat) <= 80 else flat[:79] + "…")


VARIABLES = (("collectie", "Text"), ("wijk", "Text"), ("datum", "Date"),
             ("kracht_document_id", "Text"))


def build_project(
    store: Store,
    codebook: Any,
    collection: str | None = None,
    neighbourhood: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    view: Literal["final", "all"] = "all",
) -> tuple[etree._Element, dict[str, str], ExportSummary]:
    """The ``Project`` element (validated), the source texts by GUID, and what went in.

    ``view="all"`` (default) exports every source's codings side by side, each under its own
    user, so a researcher sees the machine's and the reviewers' codings as separate coders.
    """
    df = frame(store, collection, neighbourhood, start, end, view=view, include_uncoded=True)
    doc_ids = list(dict.fromkeys(df["document_id"]))
    with store.session() as s:
        docs = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_(doc_ids)))}
    coded = df[df["code"].notna()]
    known = {c.id for c in codebook.codes}
    extra = sorted(set(coded["code"]) - known)
    now = _now()
    summary = ExportSummary()

    ns = NS_PROJECT
    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns},
                         name=_xml_text(f"kracht – {codebook.name} {codebook.version}"),
                         origin="kracht", creationDateTime=now)
    users = sorted(set(coded["source"]))
    if users:
        users_el = etree.SubElement(root, f"{{{ns}}}Users")
        for source in users:
            etree.SubElement(users_el, f"{{{ns}}}User", guid=guid("user", source),
                             name=_xml_text(_user_name(source)), id=_xml_text(source))
    book = etree.SubElement(root, f"{{{ns}}}CodeBook")
    _add_codes(book, ns, codebook, extra)
    if docs:
        variables = etree.SubElement(root, f"{{{ns}}}Variables")
        for name, kind in VARIABLES:
            etree.SubElement(variables, f"{{{ns}}}Variable", guid=guid("var", name), name=name,
                             typeOfVariable=kind)
    texts: dict[str, str] = {}
    sources_el = etree.SubElement(root, f"{{{ns}}}Sources") if docs else None
    ordered = sorted(docs.values(), key=lambda d: (d.collection or "", str(d.date or ""), d.id))
    for doc in ordered:
        src_guid = guid("doc", doc.id)
        texts[src_guid] = doc.text
        el = etree.SubElement(sources_el, f"{{{ns}}}TextSource", guid=src_guid,
                              name=_xml_text(_display_name(doc)),
                              plainTextPath=f"internal://{src_guid}.txt", creationDateTime=now)
        etree.SubElement(el, f"{{{ns}}}Description").text = _xml_text(
            f"kracht document {doc.id}; collectie {doc.collection or '-'}; "
            f"wijk {doc.neighbourhood or '-'}; datum {doc.date or '-'}")
        _add_selections(el, doc, coded[coded["document_id"] == doc.id], now, summary)
        for name, kind in VARIABLES:
            value = {"collectie": doc.collection, "wijk": doc.neighbourhood,
                     "datum": doc.date.isoformat() if doc.date else None,
                     "kracht_document_id": doc.id}[name]
            if value:
                vv = etree.SubElement(el, f"{{{ns}}}VariableValue")
                etree.SubElement(vv, f"{{{ns}}}VariableRef", targetGUID=guid("var", name))
                tag = "DateValue" if kind == "Date" else "TextValue"
                etree.SubElement(vv, f"{{{ns}}}{tag}").text = _xml_text(value)
        summary.sources += 1
    validate(root, "project")
    return root, texts, summary


def _add_selections(
    parent: etree._Element, doc: Document, rows: Any, now: str, summary: ExportSummary
) -> None:
    """One ``PlainTextSelection`` per distinct span, carrying one ``Coding`` per tag on it."""
    ns = NS_PROJECT
    spans: dict[tuple[int, int], list[tuple[str, str, str, str, float]]] = {}
    for row in rows.itertuples(index=False):
        seg_start = int(row.segment_start)
        evidence = list(row.evidence_spans or []) or [
            {"start": 0, "end": int(row.segment_end) - seg_start}]
        for span in evidence:
            start, end = seg_start + int(span["start"]), seg_start + int(span["end"])
            ok = 0 <= start < end <= len(doc.text)
            if ok and span.get("text") is not None:
                ok = doc.text[start:end] == span["text"]
            if not ok:
                summary.skipped_spans += 1
                continue
            spans.setdefault((start, end), []).append(
                (row.segment_id, row.code, row.source, row.polarity, float(row.score)))
    for (start, end), codings in sorted(spans.items()):
        sel = etree.SubElement(
            parent, f"{{{ns}}}PlainTextSelection",
            guid=guid("selection", f"{doc.id}|{start}|{end}"),
            name=_selection_name(doc.text[start:end]),
            startPosition=str(start), endPosition=str(end), creationDateTime=now)
        etree.SubElement(sel, f"{{{ns}}}Description").text = _xml_text("\n".join(
            f"{code} · {pol} · {score:.2f} · {source}" for _, code, source, pol, score in codings))
        for seg_id, code, source, _pol, _score in codings:
            coding = etree.SubElement(
                sel, f"{{{ns}}}Coding",
                guid=guid("coding", f"{source}|{seg_id}|{code}|{start}|{end}"),
                creatingUser=guid("user", source), creationDateTime=now)
            etree.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=guid("code", code))
            summary.codings += 1
        summary.selections += 1


def write_qdpx(
    store: Store,
    codebook: Any,
    path: Path,
    collection: str | None = None,
    neighbourhood: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    view: Literal["final", "all"] = "all",
) -> Path:
    """Write a ``.qdpx`` (zip: ``project.qde`` + ``sources/<guid>.txt``); validated first."""
    root, texts, _summary = build_project(store, codebook, collection, neighbourhood, start,
                                          end, view)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", etree.tostring(root, xml_declaration=True, encoding="utf-8",
                                                  pretty_print=True))
        for src_guid, text in texts.items():
            zf.writestr(f"sources/{src_guid}.txt", text.encode("utf-8"))
    tmp.replace(path)
    return path


# --- project import ----------------------------------------------------------------------------


@dataclass
class QdaSelection:
    start: int
    end: int
    codings: list[tuple[str, str | None]]  # (code guid, user guid)
    description: str = ""


@dataclass
class QdaSource:
    guid: str
    name: str
    text: str | None
    selections: list[QdaSelection]


@dataclass
class QdaProject:
    codes: dict[str, str]  # guid -> name
    code_descriptions: dict[str, str]
    users: dict[str, tuple[str, str]]  # guid -> (name, id)
    sources: list[QdaSource]
    problems: list[str] = field(default_factory=list)


def _zip_member(zf: zipfile.ZipFile, path: str) -> str | None:
    """Find ``internal://x`` as ``sources/x`` (tools differ in the folder's case)."""
    wanted = path.split("://", 1)[-1].lower()
    for name in zf.namelist():
        low = name.lower()
        if low == f"sources/{wanted}" or low.endswith(f"/{wanted}") or low == wanted:
            return name
    return None


def read_qdpx(path: Path) -> QdaProject:
    """Read a ``.qdpx`` into plain data (codes, users, sources with text and selections).

    A file that does not validate is still read (tools differ), but the problems are listed.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise RefiError(f"{path}: not a .qdpx zip ({exc})") from exc
    with zf:
        qde = next((n for n in zf.namelist() if n.lower().endswith(".qde")), None)
        if qde is None:
            raise RefiError(f"{path}: no project.qde inside")
        try:
            root = etree.fromstring(zf.read(qde))
        except etree.XMLSyntaxError as exc:
            raise RefiError(f"{path}: project.qde is not XML ({exc})") from exc
        problems = []
        try:
            validate(root, "project")
        except RefiError as exc:
            problems.append(str(exc))
        n = {"q": NS_PROJECT}
        codes = {c.get("guid"): c.get("name") for c in root.iterfind(".//q:CodeBook//q:Code", n)}
        descriptions = {
            c.get("guid"): (c.findtext("q:Description", default="", namespaces=n))
            for c in root.iterfind(".//q:CodeBook//q:Code", n)
        }
        users = {u.get("guid"): (u.get("name") or "", u.get("id") or "")
                 for u in root.iterfind("q:Users/q:User", n)}
        sources = []
        for src in root.iterfind("q:Sources/q:TextSource", n):
            text = src.findtext("q:PlainTextContent", default=None, namespaces=n)
            plain_path = src.get("plainTextPath")
            if text is None and plain_path:
                member = _zip_member(zf, plain_path)
                if member is None:
                    problems.append(f"source {src.get('name')!r}: {plain_path} not in the zip")
                else:
                    text = zf.read(member).decode("utf-8-sig")
            selections = []
            for sel in src.iterfind("q:PlainTextSelection", n):
                codings = [
                    (c.find("q:CodeRef", n).get("targetGUID"),
                     c.get("creatingUser") or sel.get("creatingUser"))
                    for c in sel.iterfind("q:Coding", n) if c.find("q:CodeRef", n) is not None
                ]
                selections.append(QdaSelection(
                    int(sel.get("startPosition")), int(sel.get("endPosition")), codings,
                    sel.findtext("q:Description", default="", namespaces=n)))
            if src.find("q:Coding", n) is not None:
                problems.append(f"source {src.get('name')!r}: whole-document codings ignored")
            sources.append(QdaSource(src.get("guid"), src.get("name") or "", text, selections))
    return QdaProject(codes, descriptions, users, sources, problems)


@dataclass
class ImportSummary:
    tags_written: int = 0
    segments: int = 0
    sources_matched: int = 0
    users: list[str] = field(default_factory=list)
    unknown_codes: Counter = field(default_factory=Counter)
    unmatched_sources: list[str] = field(default_factory=list)
    text_mismatch: list[str] = field(default_factory=list)
    machine_codings_skipped: int = 0
    outside_resident_segments: int = 0
    problems: list[str] = field(default_factory=list)


def _code_matcher(codebook: Any, project: QdaProject) -> dict[str, str | None]:
    """Project code GUID → codebook code id: by GUID, then kracht-id, id/alias, then label."""
    by_guid = {guid("code", c.id): c.id for c in codebook.codes}
    by_label = {c.label.casefold(): c.id for c in codebook.codes}
    result: dict[str, str | None] = {}
    for code_guid, name in project.codes.items():
        match = by_guid.get(code_guid)
        marker = re.search(r"kracht-id: (\w+)", project.code_descriptions.get(code_guid) or "")
        candidates = [marker.group(1)] if marker else []
        candidates.append((name or "").strip())
        for candidate in candidates:
            if match:
                break
            try:
                match = codebook.resolve(candidate).id
            except KeyError:
                match = by_label.get(candidate.casefold())
        result[code_guid] = match
    return result


def _match_document(s: Any, source: QdaSource, by_guid: dict[str, str]) -> Document | None:
    """The stored document for a source: by GUID, then identical text, then file name."""
    if source.guid in by_guid:
        return s.get(Document, by_guid[source.guid])
    if source.text is not None:
        doc = s.scalar(select(Document).where(Document.text == source.text).limit(1))
        if doc is not None:
            return doc
    for doc in s.scalars(select(Document)):
        if _display_name(doc) == source.name:
            return doc
    return None


def _is_machine(name: str, user_id: str) -> bool:
    return any(x.startswith(MACHINE_PREFIXES) for x in (name, user_id))


def import_qdpx(store: Store, codebook: Any, path: Path) -> ImportSummary:
    """Read codings made in a QDA tool back in as ``human:<user name>`` tags.

    Each coding becomes a tag on every *resident* segment its selection overlaps, with the
    overlap as evidence (offsets into the segment text). Re-importing replaces that user's tags
    on the documents in the file, so codings removed in the tool disappear here too. Codings by
    kracht's own machine users (``model:…``, ``rules…``) are skipped; unknown codes, unmatched
    sources and texts that differ from the store are reported, not guessed.
    """
    project = read_qdpx(path)
    summary = ImportSummary(problems=list(project.problems))
    code_ids = _code_matcher(codebook, project)
    run_id = store.start_run("import", {"path": str(path), "format": "qdpx"})
    new_tags: dict[tuple[str, str, str], dict[str, Any]] = {}
    replace: set[tuple[str, str]] = set()
    with store.session() as s:
        by_guid = {guid("doc", doc_id): doc_id for doc_id in s.scalars(select(Document.id))}
        for source in project.sources:
            doc = _match_document(s, source, by_guid)
            if doc is None:
                summary.unmatched_sources.append(source.name)
                continue
            if source.text is not None and source.text != doc.text:
                summary.text_mismatch.append(source.name)
                continue
            summary.sources_matched += 1
            segments = list(s.scalars(select(Segment).where(Segment.document_id == doc.id)))
            machine = _machine_polarity(s, [seg.id for seg in segments])
            for sel in source.selections:
                described = _described_polarity(sel.description)
                for code_guid, user_guid in sel.codings:
                    name, user_id = project.users.get(user_guid or "", ("", ""))
                    if _is_machine(name, user_id):
                        summary.machine_codings_skipped += 1
                        continue
                    code_id = code_ids.get(code_guid)
                    if code_id is None:
                        summary.unknown_codes[project.codes.get(code_guid, code_guid)] += 1
                        continue
                    tag_source = f"human:{name or 'qda'}"
                    replace.add((tag_source, doc.id))
                    hit = False
                    for seg in segments:
                        lo, hi = max(sel.start, seg.start), min(sel.end, seg.end)
                        if lo >= hi:
                            continue
                        if seg.role != "resident":
                            summary.outside_resident_segments += 1
                            continue
                        hit = True
                        key = (seg.id, code_id, tag_source)
                        entry = new_tags.setdefault(key, {
                            "polarity": described.get((code_id, tag_source))
                            or machine.get((seg.id, code_id)) or "neutral",
                            "evidence": [],
                        })
                        entry["evidence"].append({"start": lo - seg.start, "end": hi - seg.start,
                                                  "text": doc.text[lo:hi]})
                    if not hit:
                        summary.problems.append(
                            f"{source.name}: selection {sel.start}-{sel.end} is on no segment")
        for tag_source, doc_id in replace:
            seg_ids = select(Segment.id).where(Segment.document_id == doc_id)
            s.execute(delete(Tag).where(Tag.source == tag_source, Tag.segment_id.in_(seg_ids)))
        for (seg_id, code_id, tag_source), entry in new_tags.items():
            s.add(Tag(segment_id=seg_id, code=code_id, score=1.0, polarity=entry["polarity"],
                      evidence=sorted(entry["evidence"], key=lambda e: (e["start"], e["end"])),
                      source=tag_source, codebook_hash=codebook.hash, run_id=run_id))
    summary.tags_written = len(new_tags)
    summary.segments = len({k[0] for k in new_tags})
    summary.users = sorted({k[2] for k in new_tags})
    store.finish_run(run_id, "completed", {
        "tags_written": summary.tags_written, "sources_matched": summary.sources_matched,
        "unknown_codes": dict(summary.unknown_codes),
        "unmatched_sources": len(summary.unmatched_sources),
    })
    return summary


def _described_polarity(description: str) -> dict[tuple[str, str], str]:
    """Polarity kracht wrote into a selection's description (``code · polarity · score · src``)."""
    found = {}
    for line in (description or "").splitlines():
        m = _DESC_LINE.match(line.strip())
        if m:
            found[(m["code"], m["source"])] = m["polarity"]
    return found


def _machine_polarity(s: Any, segment_ids: list[str]) -> dict[tuple[str, str], str]:
    """The machine's polarity per (segment, code): a hand coding in a QDA tool has none."""
    result: dict[tuple[str, str], str] = {}
    if not segment_ids:
        return result
    rows = s.scalars(select(Tag).where(Tag.segment_id.in_(segment_ids)).order_by(Tag.created_at))
    for tag in rows:
        if not tag.source.startswith("human:"):
            result[(tag.segment_id, tag.code)] = tag.polarity
    return result
