"""Turn parsing and role detection on the transcript forms real interviews use."""

from __future__ import annotations

import pytest

from pipeline.ingest.transcript import parse_turns


def roles(text: str, **kw) -> list[tuple[str, str, str]]:
    return [(t.speaker, t.role, text[t.start:t.end]) for t in parse_turns(text, **kw)]


def test_i_r_labels_with_numbered_residents():
    text = (
        "I: Hoe lang woont u hier?\nR1: Twintig jaar.\nR2: Ik pas sinds maart.\n"
        "I: En bevalt het?\n"
    )
    assert roles(text) == [
        ("I", "interviewer", "Hoe lang woont u hier?"),
        ("R1", "resident", "Twintig jaar."),
        ("R2", "resident", "Ik pas sinds maart."),
        ("I", "interviewer", "En bevalt het?"),
    ]


def test_interviewer_bewoner_and_geinterviewde_labels():
    text = (
        "Interviewer: Wat doet u in de buurtkamer?\n"
        "Bewoner: Koffie schenken.\n"
        "Interviewer: En u?\n"
        "Geïnterviewde: Ik help met de taallessen.\n"
    )
    result = roles(text)
    assert [r[1] for r in result] == ["interviewer", "resident", "interviewer", "resident"]
    assert result[3][2] == "Ik help met de taallessen."


def test_first_names_with_header_naming_the_interviewer():
    text = (
        "Gesprek moestuin Lombok\n"
        "Datum: 3 juni 2025\n"
        "Aanwezig: Sanne (interviewer), Fatima, Henk\n"
        "\n"
        "Sanne: Hoe is de tuin begonnen?\n"
        "Fatima: Met drie buren en een schep.\n"
        "Henk: En veel koffie.\n"
    )
    result = roles(text)
    assert result[:3] == [
        ("kop", "other", "Gesprek moestuin Lombok"),
        ("kop", "other", "Datum: 3 juni 2025"),
        ("kop", "other", "Aanwezig: Sanne (interviewer), Fatima, Henk"),
    ]
    assert result[3][:2] == ("Sanne", "interviewer")
    assert result[4] == ("Fatima", "resident", "Met drie buren en een schep.")
    assert result[5][:2] == ("Henk", "resident")


def test_named_interviewer_found_from_questions_when_unmarked():
    text = (
        "Mo: hoe gaat het met de tuin?\nLisa: goed joh.\nMo: en de buren?\n"
        "Lisa: die helpen mee.\n"
    )
    assert [r[1] for r in roles(text)] == ["interviewer", "resident"] * 2


def test_manifest_interviewer_name_wins():
    text = "Kees: Dit is mijn verhaal.\nAnna: Vertel.\nKees: Nou, het begon zo.\nAnna: Ja?\n"
    result = roles(text, known_interviewers=["Anna"])
    assert [r[1] for r in result] == ["resident", "interviewer", "resident", "interviewer"]


def test_timestamp_lines_and_inline_timestamps():
    text = (
        "[00:01:23]\nI: Waar komt u vandaan?\n"
        "00:01:30 R: Uit Eritrea.\n"
        "[00:02:05] I: En nu?\n"
    )
    turns = parse_turns(text)
    assert [(t.speaker, t.timestamp) for t in turns] == [
        ("I", "00:01:23"), ("R", "00:01:30"), ("I", "00:02:05"),
    ]
    assert text[turns[1].start:turns[1].end] == "Uit Eritrea."


def test_continuation_lines_belong_to_the_turn():
    text = "I: Vertel eens.\nR: Eerst kende ik niemand.\n\nNu groet iedereen me.\nI: Mooi.\n"
    turns = parse_turns(text)
    assert text[turns[1].start:turns[1].end] == "Eerst kende ik niemand.\n\nNu groet iedereen me."


def test_plain_story_is_one_resident_and_headings_are_other():
    text = "# Mijn buurt\n\nIk woon hier al dertig jaar. Wat ik wil zeggen: het is fijn.\n"
    result = roles(text)
    assert result == [
        ("kop", "other", "# Mijn buurt"),
        ("bewoner", "resident", "Ik woon hier al dertig jaar. Wat ik wil zeggen: het is fijn."),
    ]


def test_sentence_with_colon_is_not_a_speaker():
    text = "Toen zei ik: dit moet anders.\nDus: we begonnen een tuin.\n"
    assert [r[1] for r in roles(text)] == ["resident"]


def test_pseudonym_tags_work_as_speaker_labels():
    text = (
        "[PERSOON-1]: Hoe was het?\n[PERSOON-2]: Gezellig.\n"
        "[PERSOON-1]: Echt?\n[PERSOON-2]: Ja.\n"
    )
    result = roles(text, known_interviewers=["[PERSOON-1]"])
    assert [r[:2] for r in result] == [
        ("[PERSOON-1]", "interviewer"), ("[PERSOON-2]", "resident"),
    ] * 2


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_offsets_exact_with_any_line_ending(newline):
    text = newline.join(["I: Hoe is het? 😀", "R: Goed\u00a0hoor 🌻 echt.", "I: Fijn."]) + newline
    for turn in parse_turns(text):
        piece = text[turn.start:turn.end]
        assert piece == piece.strip()
        assert "\r" not in piece and "\n" not in piece


def test_story_title_line_is_other():
    text = "Wat de buurtkamer ons gaf\n\nIk kwam er voor het eerst in de winter. Het was warm.\n"
    assert [r[1] for r in roles(text)] == ["other", "resident"]


def test_story_first_sentence_is_not_a_title():
    text = "Ik kwam er voor het eerst in de winter.\n\nHet was warm.\n"
    assert [r[1] for r in roles(text)] == ["resident"]
