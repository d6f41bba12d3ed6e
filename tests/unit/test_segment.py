"""Segments: sentence windows inside one turn with exact offsets."""

from __future__ import annotations

from pipeline.ingest.segment import segment_turns, sentence_spans
from pipeline.ingest.transcript import parse_turns


def test_sentences_respect_abbreviations_and_line_breaks():
    text = "Ik kom bijv. elke week. Dat is fijn!\nEn de buren? Top."
    pieces = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert pieces == ["Ik kom bijv. elke week.", "Dat is fijn!", "En de buren?", "Top."]


def test_windows_of_at_most_n_sentences_never_cross_turns():
    text = "R: Een. Twee. Drie. Vier.\nI: Vijf? Zes.\n"
    turns = parse_turns(text)
    segs = segment_turns(text, turns, max_sentences=3)
    assert [(s.role, text[s.start:s.end]) for s in segs] == [
        ("resident", "Een. Twee. Drie."),
        ("resident", "Vier."),
        ("interviewer", "Vijf? Zes."),
    ]
    assert [s.ordinal for s in segs] == [0, 1, 2]


def test_long_run_on_sentence_is_cut_at_white_space():
    text = "R: " + " ".join(["woord"] * 300) + "\nI: ok.\n"
    segs = segment_turns(text, parse_turns(text), max_sentences=3, max_chars=200)
    resident = [s for s in segs if s.role == "resident"]
    assert len(resident) > 5
    for seg in resident:
        assert seg.end - seg.start <= 200
        assert text[seg.start:seg.end].startswith("woord")


def test_offsets_exact_with_emoji_crlf_and_nbsp():
    text = "I: Hoe gaat het? 😀\r\nR1: Goed\u00a0hoor. Ik 💚 de tuin!\u00a0\r\n\r\nI: Mooi 👍\r\n"
    segs = segment_turns(text, parse_turns(text))
    assert [text[s.start:s.end] for s in segs] == [
        "Hoe gaat het? 😀", "Goed\u00a0hoor. Ik 💚 de tuin!", "Mooi 👍",
    ]
