"""Codebook loading and validation: the 14 fixed codes, helpful errors with YAML line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.codebook import CodebookError, load_codebook, parse_codebook, parse_variants
from pipeline.config import DEFAULT_CODEBOOK, get_settings

CODE_IDS = [
    "gezien_en_gewaardeerd", "zelfvertrouwen", "eigenaarschap", "talenten", "netwerken",
    "ontmoeting", "onderlinge_hulp", "leefbaarheid", "vertrouwen", "samenwerking",
    "betrokkenheid", "signalering", "financiering", "eenzaamheid",
]


@pytest.fixture(scope="module")
def text() -> str:
    return DEFAULT_CODEBOOK.read_text(encoding="utf-8")


def test_default_codebook_has_the_fixed_codes() -> None:
    book = load_codebook(DEFAULT_CODEBOOK)
    assert sorted(book.ids) == sorted(CODE_IDS)
    assert book.model.language == "nl"
    assert book.version.count(".") == 2
    groups = {g.id for g in book.groups}
    for code in book.codes:
        assert code.group in groups
        assert len(code.examples) >= 5
        assert code.label and code.definition and code.include and code.patterns
        assert code.color.startswith("#") and len(code.color) == 7
    assert len(book.hash) == 64


def test_resolve_ids_and_aliases() -> None:
    book = load_codebook(DEFAULT_CODEBOOK)
    assert book.resolve("eenzaamheid").id == "eenzaamheid"
    assert book.resolve("regie").id == "eigenaarschap"
    assert book.resolve("isolement").id == "eenzaamheid"
    with pytest.raises(KeyError, match="did you mean"):
        book.resolve("eenzaamheit")


def test_hash_ignores_comments_and_layout(text: str) -> None:
    a = parse_codebook(text)
    b = parse_codebook("# another comment\n" + text.replace("version: ", "version:   "))
    assert a.hash == b.hash
    c = parse_codebook(text.replace("label: Eenzaamheid", "label: Eenzaamheid en isolement"))
    assert c.hash != a.hash


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _error(text: str) -> CodebookError:
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "test.yaml")
    return info.value


def test_duplicate_id_is_reported(text: str) -> None:
    bad = text.replace("  - id: talenten\n", "  - id: zelfvertrouwen\n")
    error = _error(bad)
    assert "duplicate code ids" in str(error) and "zelfvertrouwen" in str(error)


def test_unknown_group_is_reported(text: str) -> None:
    bad = text.replace("    group: werkwijze\n", "    group: werkwijzen\n", 1)
    assert "unknown group 'werkwijzen'" in str(_error(bad))


def test_bad_pattern_names_its_line(text: str) -> None:
    bad = text.replace('"applaus|', '"a*|applaus|', 1)
    error = _error(bad)
    line = _line_of(bad, '"a*|applaus|')
    assert f"line {line}:" in str(error)
    assert "too short" in str(error)


def test_bad_color_and_version_name_their_lines(text: str) -> None:
    bad = text.replace('color: "#1f77b4"', 'color: "blue"').replace("version: 1.", "version: v1.")
    error = _error(bad)
    color_line = _line_of(bad, 'color: "blue"')
    version_line = _line_of(bad, "version: v1.")
    assert f"line {color_line}:" in str(error)
    assert f"line {version_line}:" in str(error)
    assert len(error.problems) == 2


def test_unknown_field_is_reported(text: str) -> None:
    bad = text.replace("    aliases: [regie,", "    alias: [regie,", 1)
    assert "alias" in str(_error(bad)) and "Extra inputs" in str(_error(bad))


def test_invalid_yaml_names_its_line() -> None:
    error = _error("name: x\nversion: 1.0.0\ncodes: [\n  - id: a\n")
    assert "line" in str(error) and "not valid YAML" in str(error)


def test_too_few_examples(text: str) -> None:
    start = text.index("    examples:\n", text.index("  - id: talenten"))
    end = text.index("    patterns:", start)
    bad = text[:start] + "    examples: [een, twee]\n" + text[end:]
    assert "examples" in str(_error(bad))


def test_pattern_syntax() -> None:
    (variant,) = parse_variants("serieus ... genomen|nemen")
    assert [len(e.alternatives) for e in variant] == [1, 2]
    assert variant[1].gap == 4
    assert len(parse_variants("van ons | onze eigen")) == 2
    assert parse_variants("*kamer")[0][0].alternatives[0].kind == "suffix"
    for bad in ("... begin", "eind ...", "a*", "we(i)rd"):
        with pytest.raises(ValueError):
            parse_variants(bad)


def test_settings_point_at_another_codebook(tmp_path: Path, monkeypatch, text: str) -> None:
    own = tmp_path / "eigen.yaml"
    own.write_text(text.replace("name: kracht-gemeenschapskracht", "name: eigen"), "utf-8")
    monkeypatch.setenv("KRACHT_CODEBOOK", str(own))
    settings = get_settings()
    assert settings.codebook == own
    assert load_codebook(settings.codebook).name == "eigen"


def test_warning_for_a_multi_word_alternative(text: str) -> None:
    assert load_codebook(DEFAULT_CODEBOOK).warnings() == []
    slip = parse_codebook(text.replace('"applaus|', '"applaus|klap|klapt|open podium|', 1))
    (warning,) = slip.warnings()
    assert "gezien_en_gewaardeerd" in warning and "' | '" in warning
