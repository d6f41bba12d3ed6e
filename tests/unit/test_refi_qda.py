"""REFI-QDA: .qdc and .qdpx validate against the schemas, positions survive emoji and CRLF, and
codings made in a QDA tool come back as human tags."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

import pytest
import xmlschema
from lxml import etree
from sqlalchemy import select

from pipeline.report.refi import (
    NS_PROJECT,
    SCHEMAS,
    RefiError,
    guid,
    import_qdpx,
    read_qdpx,
    validate,
    write_qdc,
    write_qdpx,
)
from pipeline.store import Document, Segment, Tag
from tests.unit.test_report_helpers import codebook, small_store

SHARED = Path(__file__).resolve().parents[3] / "shared" / "refi-qda"
N = {"q": NS_PROJECT}


def _schema_dirs() -> list[Path]:
    """The shipped copy always; the shared original too when the checkout has it."""
    return [SCHEMAS] + ([SHARED] if (SHARED / "Project.xsd").is_file() else [])


@pytest.fixture()
def store(tmp_path: Path):
    return small_store(tmp_path)


def test_shipped_schemas_are_the_published_ones() -> None:
    assert (SCHEMAS / "NOTICE.txt").read_text().count("MIT") >= 1
    if SHARED.is_dir():
        for name in ("Project.xsd", "Codebook.xsd"):
            assert (SCHEMAS / name).read_bytes() == (SHARED / name).read_bytes()


def test_qdc_validates(tmp_path: Path) -> None:
    path = write_qdc(codebook(), tmp_path / "codebook.qdc")
    for folder in _schema_dirs():
        xmlschema.XMLSchema(str(folder / "Codebook.xsd")).validate(str(path))
    root = etree.parse(str(path)).getroot()
    ns = {"c": "urn:QDA-XML:codebook:1.0"}
    groups = root.findall("c:Codes/c:Code", ns)
    assert [g.get("isCodable") for g in groups] == ["false"] * len(codebook().groups)
    codes = root.findall("c:Codes/c:Code/c:Code", ns)
    assert len(codes) == 14
    ontmoeting = next(c for c in codes if c.get("guid") == guid("code", "ontmoeting"))
    assert ontmoeting.get("color").startswith("#")
    assert "kracht-id: ontmoeting" in ontmoeting.findtext("c:Description", namespaces=ns)


def test_qdpx_validates_and_holds_plain_text_sources(store, tmp_path: Path) -> None:
    path = write_qdpx(store, codebook(), tmp_path / "k.qdpx")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        qde = zf.read("project.qde")
        root = etree.fromstring(qde)
        for folder in _schema_dirs():
            xmlschema.XMLSchema(str(folder / "Project.xsd")).validate(qde.decode("utf-8"))
        sources = root.findall("q:Sources/q:TextSource", N)
        assert len(sources) == 4
        for src in sources:
            member = "sources/" + src.get("plainTextPath").removeprefix("internal://")
            assert member in names
            raw = zf.read(member)
            assert not raw.startswith(b"\xef\xbb\xbf")
            raw.decode("utf-8")
        users = {u.get("name"): u.get("id") for u in root.findall("q:Users/q:User", N)}
        assert users == {"anna": "human:anna", "model:themes@1.0": "model:themes@1.0"}
        # the unknown code still gets a Code element so its codings stay valid
        assert root.find(f".//q:Code[@guid='{guid('code', 'oude_code')}']", N) is not None


def _expected_codings(store) -> set[tuple[str, int, int, str, str, str]]:
    """(doc guid, start, end, code guid, user guid, text) for every resident tag (all sources)."""
    out = set()
    with store.session() as s:
        for tag, seg, doc in s.execute(
            select(Tag, Segment, Document).join(Segment, Segment.id == Tag.segment_id)
            .join(Document, Document.id == Segment.document_id).where(Segment.role == "resident")
        ):
            for span in tag.evidence:
                start, end = seg.start + span["start"], seg.start + span["end"]
                out.add((guid("doc", doc.id), start, end, guid("code", tag.code),
                         guid("user", tag.source), span["text"]))
    return out


def test_round_trip_positions_with_emoji_and_crlf(store, tmp_path: Path) -> None:
    path = write_qdpx(store, codebook(), tmp_path / "k.qdpx")
    project = read_qdpx(path)
    assert project.problems == []
    found = set()
    for source in project.sources:
        for sel in source.selections:
            for code_guid, user_guid in sel.codings:
                found.add((source.guid, sel.start, sel.end, code_guid, user_guid,
                           source.text[sel.start:sel.end]))
    assert found == _expected_codings(store)

    d1 = next(s for s in project.sources if s.guid == guid("doc", "d1"))
    emoji = next(sel for sel in d1.selections if d1.text[sel.start:sel.end] == "minder eenzaam 😀")
    # positions count code points: the emoji is one character, though four bytes in UTF-8
    # and two UTF-16 code units
    assert emoji.end - emoji.start == len("minder eenzaam ") + 1
    before = d1.text[:emoji.start]
    assert len(before.encode("utf-8")) == emoji.start  # nothing non-ASCII before it
    d2 = next(s for s in project.sources if s.guid == guid("doc", "d2"))
    assert "\r\n" in d2.text
    crlf = next(sel for sel in d2.selections if "\r\n" in d2.text[sel.start:sel.end])
    assert d2.text[crlf.start:crlf.end] == "luistert niet naar ons.\r\nWe"
    later = next(sel for sel in d2.selections
                 if d2.text[sel.start:sel.end] == "schoner en veiliger")
    # CRLF counts as two characters: the offset equals Python's, one more than with LF
    assert later.start == d2.text.index("schoner")
    assert later.start == d2.text.replace("\r\n", "\n").index("schoner") + 2


def _tags(store, source: str) -> set[tuple[str, str, str, tuple]]:
    with store.session() as s:
        return {
            (t.segment_id, t.code, t.polarity,
             tuple((e["start"], e["end"], e["text"]) for e in t.evidence))
            for t in s.scalars(select(Tag).where(Tag.source == source))
        }


def test_import_brings_human_codings_back(store, tmp_path: Path) -> None:
    before = _tags(store, "human:anna")
    path = write_qdpx(store, codebook(), tmp_path / "k.qdpx")
    with store.session() as s:
        for tag in s.scalars(select(Tag).where(Tag.source == "human:anna")):
            s.delete(tag)
    summary = import_qdpx(store, codebook(), path)
    assert summary.users == ["human:anna"]
    assert summary.machine_codings_skipped == 12  # 11 machine tags, one with two spans
    assert summary.unknown_codes == {}
    assert _tags(store, "human:anna") == before
    again = import_qdpx(store, codebook(), path)
    assert again.tags_written == summary.tags_written
    assert _tags(store, "human:anna") == before  # idempotent


def _edit_project(path: Path, target: Path, edit, texts: dict[str, str] | None = None) -> Path:
    """Play a QDA tool: change project.qde (and maybe source texts) and zip it again."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    root = etree.fromstring(members["project.qde"])
    edit(root)
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    for name, text in (texts or {}).items():
        members[name] = text.encode("utf-8")
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return target


def _el(parent, tag: str, **attrs: str):
    return etree.SubElement(parent, f"{{{NS_PROJECT}}}{tag}", **attrs)


def test_import_from_a_qda_tool(store, tmp_path: Path) -> None:
    exported = write_qdpx(store, codebook(), tmp_path / "k.qdpx")
    with store.session() as s:
        d3 = s.get(Document, "d3")
        d1 = s.get(Document, "d1")
        d3_text, d1_text = d3.text, d1.text
    carla, buurtfeest, renamed = (str(uuid.uuid4()) for _ in range(3))
    span_start = d3_text.index("kookavond")
    span_end = d3_text.index("ontmoet ik") + len("ontmoet ik")

    def edit(root) -> None:
        _el(root.find("q:Users", N), "User", guid=carla, name="Carla")
        codes = root.find("q:CodeBook/q:Codes", N)
        # a tool that re-created the code with its own GUID, but kept the name
        _el(codes, "Code", guid=renamed, name="ontmoeting", isCodable="true")
        _el(codes, "Code", guid=buurtfeest, name="Buurtfeest", isCodable="true")
        src3 = root.find(f"q:Sources/q:TextSource[@guid='{guid('doc', 'd3')}']", N)
        sel = etree.Element(f"{{{NS_PROJECT}}}PlainTextSelection", guid=str(uuid.uuid4()),
                            startPosition=str(span_start), endPosition=str(span_end))
        src3.insert(1, sel)  # after Description, before other selections
        for code_guid in (renamed, guid("code", "eigenaarschap"), buurtfeest):
            coding = _el(sel, "Coding", guid=str(uuid.uuid4()), creatingUser=carla)
            _el(coding, "CodeRef", targetGUID=code_guid)
        src1 = root.find(f"q:Sources/q:TextSource[@guid='{guid('doc', 'd1')}']", N)
        start = d1_text.index("Wat betekent")  # an interviewer question
        sel1 = etree.Element(f"{{{NS_PROJECT}}}PlainTextSelection", guid=str(uuid.uuid4()),
                             startPosition=str(start), endPosition=str(start + 12))
        src1.insert(1, sel1)
        coding = _el(sel1, "Coding", guid=str(uuid.uuid4()), creatingUser=carla)
        _el(coding, "CodeRef", targetGUID=guid("code", "ontmoeting"))
        validate(root, "project")

    path = _edit_project(exported, tmp_path / "tool.qdpx", edit)
    summary = import_qdpx(store, codebook(), path)
    assert summary.unknown_codes == {"Buurtfeest": 1}
    assert summary.outside_resident_segments == 1
    assert summary.users == ["human:Carla", "human:anna"]
    carla_tags = {(seg, code): (pol, ev) for seg, code, pol, ev in _tags(store, "human:Carla")}
    assert set(carla_tags) == {("d3-0", "ontmoeting"), ("d3-0", "eigenaarschap"),
                               ("d3-1", "ontmoeting"), ("d3-1", "eigenaarschap")}
    pol, evidence = carla_tags[("d3-1", "ontmoeting")]
    assert pol == "positive"  # no polarity in a QDA coding: the machine's is kept
    assert evidence == ((0, len("In de buurtkamer ontmoet ik"), "In de buurtkamer ontmoet ik"),)
    pol0, evidence0 = carla_tags[("d3-0", "ontmoeting")]
    assert pol0 == "neutral"
    assert evidence0[0][2] == "kookavond opgezet, daar ben ik trots op."


def test_import_refuses_a_source_whose_text_changed(store, tmp_path: Path) -> None:
    exported = write_qdpx(store, codebook(), tmp_path / "k.qdpx")
    member = f"sources/{guid('doc', 'd2')}.txt"
    with store.session() as s:
        text = s.get(Document, "d2").text
    path = _edit_project(exported, tmp_path / "lf.qdpx", lambda root: None,
                         {member: text.replace("\r\n", "\n")})
    with store.session() as s:
        for tag in s.scalars(select(Tag).where(Tag.source == "human:anna")):
            s.delete(tag)
    summary = import_qdpx(store, codebook(), path)
    assert summary.text_mismatch == ["d2.txt"]
    assert _tags(store, "human:anna") == set()


def test_invalid_project_is_refused_before_writing(store, tmp_path: Path) -> None:
    root = etree.Element(f"{{{NS_PROJECT}}}Project", nsmap={None: NS_PROJECT})  # no name
    with pytest.raises(RefiError, match="does not validate"):
        validate(root, "project")
    with pytest.raises(RefiError, match=r"not a \.qdpx"):
        read_qdpx(tmp_path / "missing.qdpx")


def test_cli_import_reports_unknown_codes(store, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from kracht.commands import report as report_commands

    exported = write_qdpx(store, codebook(), tmp_path / "k.qdpx")
    extra = str(uuid.uuid4())

    def edit(root) -> None:
        _el(root.find("q:CodeBook/q:Codes", N), "Code", guid=extra, name="Buurtfeest",
            isCodable="true")
        sel = root.find(".//q:PlainTextSelection", N)
        coding = _el(sel, "Coding", guid=str(uuid.uuid4()),
                     creatingUser=guid("user", "human:anna"))
        _el(coding, "CodeRef", targetGUID=extra)

    path = _edit_project(exported, tmp_path / "x.qdpx", edit)
    store.close()
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "k.db").rename(home / "kracht.db")
    app = typer.Typer()
    report_commands.register(app)
    result = CliRunner().invoke(app, ["import", str(path), "--home", str(home)])
    assert result.exit_code == 1
    assert "Buurtfeest" in result.output and "human:anna" in result.output
