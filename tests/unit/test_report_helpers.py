"""Hand-built stores for the report, export and REFI tests (and checks that they are sound).

``small_store`` is tiny and every figure in it is worked out by hand in the tests.
``rich_store`` is larger and seeded-random (texts from the codebook's examples), so the browser
test and the screenshot show a report that looks like a real one.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from pipeline.codebook import load_codebook
from pipeline.config import DEFAULT_CODEBOOK
from pipeline.store import Annotation, Document, Segment, Store, Tag

MODEL = "model:themes@1.0"


def codebook() -> Any:
    return load_codebook(DEFAULT_CODEBOOK)


def add_document(
    s: Any,
    doc_id: str,
    collection: str | None,
    neighbourhood: str | None,
    date: dt.date | None,
    turns: list[tuple[str, str]],
    newline: str = "\n",
) -> list[Segment]:
    """A document whose text is its turns (``I: ``/``B: `` prefixed), one segment per turn."""
    text, segments = "", []
    for i, (role, turn) in enumerate(turns):
        prefix = "I: " if role == "interviewer" else "B: "
        start = len(text) + len(prefix)
        text += prefix + turn + newline
        segments.append(Segment(
            id=f"{doc_id}-{i}", document_id=doc_id, ordinal=i, turn=i,
            speaker="Interviewer" if role == "interviewer" else "Bewoner", role=role,
            start=start, end=start + len(turn), text=turn,
        ))
    s.add(Document(id=doc_id, source_path=f"/data/{doc_id}.txt", sha256=doc_id, format="txt",
                   collection=collection, neighbourhood=neighbourhood, date=date, text=text,
                   pseudonymized=True))
    s.flush()
    s.add_all(segments)
    s.flush()
    return segments


def add_tag(
    s: Any, seg: Segment, code: str, polarity: str, source: str = MODEL,
    phrases: tuple[str, ...] = (), score: float = 0.8,
) -> Tag:
    """A tag with evidence spans found by phrase (offsets into the segment text)."""
    evidence = []
    for phrase in phrases:
        start = seg.text.index(phrase)
        evidence.append({"start": start, "end": start + len(phrase), "text": phrase})
    tag = Tag(segment_id=seg.id, code=code, score=score, polarity=polarity, evidence=evidence,
              source=source, codebook_hash="abc123", run_id=None)
    s.add(tag)
    return tag


def small_store(tmp_path: Path) -> Store:
    """Four documents, eight resident segments; the figures are worked out in the tests."""
    store = Store("sqlite:///" + str(tmp_path / "k.db"))
    with store.session() as s:
        d1 = add_document(s, "d1", "moestuin", "Transvaal", dt.date(2024, 5, 10), [
            ("interviewer", "Wat betekent de tuin voor u?"),
            ("resident", "Door de moestuin ken ik nu mijn buren. We drinken samen koffie."),
            ("interviewer", "En verder?"),
            ("resident", "Ik was eenzaam, maar nu minder eenzaam 😀 sinds ik hier kom."),
        ])
        add_tag(s, d1[1], "netwerken", "positive", phrases=("ken ik nu mijn buren",))
        add_tag(s, d1[1], "ontmoeting", "positive", phrases=("samen koffie",), score=0.7)
        add_tag(s, d1[2], "eenzaamheid", "negative", phrases=("verder",))  # interviewer: ignored
        add_tag(s, d1[3], "eenzaamheid", "mixed", phrases=("eenzaam", "minder eenzaam 😀"))
        d2 = add_document(s, "d2", "moestuin", "Transvaal", dt.date(2024, 11, 2), [
            ("resident", "De gemeente luistert niet naar ons.\r\nWe voelen ons niet serieus "
                         "genomen."),
            ("resident", "Het is hier schoner en veiliger geworden."),
            ("resident", "Ik kom hier gewoon graag."),
        ], newline="\r\n")
        add_tag(s, d2[0], "gezien_en_gewaardeerd", "negative", phrases=("niet serieus",))
        add_tag(s, d2[0], "gezien_en_gewaardeerd", "negative", source="human:anna",
                phrases=("luistert niet naar ons.\r\nWe", "niet serieus"),
                score=1.0)
        add_tag(s, d2[0], "samenwerking", "negative", source="human:anna",
                phrases=("De gemeente",), score=1.0)
        add_tag(s, d2[1], "leefbaarheid", "positive", phrases=("schoner en veiliger",))
        add_tag(s, d2[2], "ontmoeting", "neutral", phrases=("kom hier",), score=0.55)
        s.add(Annotation(id=1, task_id=1, segment_id=d2[2].id, annotator="bob", result=[]))
        d3 = add_document(s, "d3", "buurtkamer", "Kanaleneiland", dt.date(2025, 3, 1), [
            ("resident", "Ik heb zelf de kookavond opgezet, daar ben ik trots op."),
            ("resident", "In de buurtkamer ontmoet ik mensen die ik anders nooit zou zien."),
        ])
        add_tag(s, d3[0], "eigenaarschap", "positive", phrases=("zelf de kookavond opgezet",))
        add_tag(s, d3[0], "zelfvertrouwen", "positive", phrases=("trots",), score=0.9)
        add_tag(s, d3[1], "ontmoeting", "positive", phrases=("ontmoet ik mensen",), score=0.95)
        add_tag(s, d3[1], "netwerken", "positive", phrases=("mensen die ik anders nooit",))
        add_tag(s, d3[1], "oude_code", "positive", phrases=("buurtkamer",))
        add_document(s, "d4", "buurtkamer", "Kanaleneiland", None, [
            ("resident", "Het weer was mooi."),
            ("interviewer", "Dank u wel."),
        ])
    return store


FILLERS = [
    "Dat merk je echt in de straat.",
    "Vroeger was dat wel anders, eerlijk gezegd.",
    "Ik had dat zelf nooit verwacht.",
    "Het gaat niet vanzelf, het kost tijd.",
    "Mijn buurvrouw zegt precies hetzelfde.",
]
COLLECTIONS = [("moestuin", "Transvaal"), ("buurtkamer", "Kanaleneiland"),
               ("repaircafe", "Tarwewijk")]
WEIGHTS = {"ontmoeting": 5, "netwerken": 4, "gezien_en_gewaardeerd": 3, "eigenaarschap": 2,
           "onderlinge_hulp": 3, "leefbaarheid": 2, "eenzaamheid": 2, "samenwerking": 2,
           "financiering": 1, "zelfvertrouwen": 2, "vertrouwen": 1, "betrokkenheid": 2,
           "talenten": 1, "signalering": 1}
NEGATIVE_WORDS = ("niet", "niemand", "nooit", "schaamde", "dom", "beslist")


def rich_store(tmp_path: Path, seed: int = 7) -> Store:
    """24 documents in three collections over two years, seeded; quotes from codebook examples."""
    rng = random.Random(seed)
    cb = codebook()
    examples = {c.id: c.examples for c in cb.codes}
    codes = list(WEIGHTS)
    weights = [WEIGHTS[c] for c in codes]
    store = Store("sqlite:///" + str(tmp_path / "rich.db"))
    with store.session() as s:
        for n in range(24):
            collection, neighbourhood = COLLECTIONS[n % 3]
            date = dt.date(2024, 1, 15) + dt.timedelta(days=30 * n + rng.randint(0, 20))
            turns, plan = [], []
            for _ in range(rng.randint(3, 6)):
                turns.append(("interviewer", "Kunt u daar iets meer over vertellen?"))
                picked = sorted(set(rng.choices(codes, weights, k=rng.choice([0, 1, 1, 2]))))
                sentences, phrases = [], []
                for code in picked:
                    example = rng.choice(examples[code])
                    sentence = example[0].upper() + example[1:] + "."
                    sentences.append(sentence)
                    phrases.append((code, example[0].upper() + example[1:], example))
                sentences.append(rng.choice(FILLERS))
                rng.shuffle(sentences)
                turns.append(("resident", " ".join(sentences)))
                plan.append(phrases)
            segments = add_document(s, f"doc{n:02d}", collection, neighbourhood, date, turns)
            for seg, phrases in zip(segments[1::2], plan, strict=True):
                for code, phrase, example in phrases:
                    polarity = (
                        "negative" if any(w in example.split() for w in NEGATIVE_WORDS)
                        else rng.choice(["positive", "positive", "positive", "mixed", "neutral"])
                    )
                    add_tag(s, seg, code, polarity, phrases=(phrase,),
                            score=round(rng.uniform(0.55, 0.98), 2))
                    if rng.random() < 0.25:
                        add_tag(s, seg, code, polarity, source="human:anna", phrases=(phrase,),
                                score=1.0)
    return store


def test_small_store_offsets_are_consistent(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    with store.session() as s:
        for seg in s.query(Segment):
            doc = s.get(Document, seg.document_id)
            assert doc.text[seg.start:seg.end] == seg.text
        for tag in s.query(Tag):
            seg = s.get(Segment, tag.segment_id)
            for span in tag.evidence:
                assert seg.text[span["start"]:span["end"]] == span["text"]


def test_rich_store_builds(tmp_path: Path) -> None:
    store = rich_store(tmp_path)
    counts = store.counts()
    assert counts["documents"] == 24
    assert counts["tags"] > 40
