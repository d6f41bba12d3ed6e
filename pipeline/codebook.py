"""The codebook: the 14 codes of gemeenschapskracht, loaded from versioned YAML and validated.

Researchers edit ``data/codebook.yaml`` (or point ``KRACHT_CODEBOOK`` at their own file), so every
mistake must come back as a message that names the line of the YAML, not a stack trace. The same
object feeds the rule tagger (patterns), the reports (labels, colours, groups) and the store (the
version hash that every tag refers to).

Pattern syntax (one string per pattern, matched per sentence on each token's lower-case form
*and* its lemma, so inflection is covered twice):

- ``buurtkamer``: the word exactly; ``eenzaam*``: a prefix (``eenzame`` needs ``eenza*``);
  ``*kamer``: a suffix, for Dutch compound heads (``buurtkamer``, ``wijkkamer``); ``*buurt*``:
  anywhere in the word.
- ``a|b|c``: alternatives for one token; words separated by spaces must follow each other;
  `` | `` (with spaces) separates alternatives for the whole pattern (``van ons | onze eigen``).
- ``...`` lets up to ``window`` tokens (default 4) sit between two words; ``...7`` sets it to 7.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Polarity = Literal["positive", "negative", "mixed", "neutral"]

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
CODE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_WORD = re.compile(r"^[\w'’.-]+$")
_GAP = re.compile(r"^\.\.\.(\d+)?$")
DEFAULT_GAP = 4


class CodebookError(ValueError):
    """A codebook that cannot be used; the message lists every problem with its YAML line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid codebook {path}:\n{lines}")


# --- pattern syntax -------------------------------------------------------------------------


@dataclass(frozen=True)
class Glob:
    """One alternative of a pattern element: ``kind`` is exact, prefix, suffix or infix."""

    kind: Literal["exact", "prefix", "suffix", "infix"]
    text: str

    def matches(self, word: str) -> bool:
        if self.kind == "exact":
            return word == self.text
        if self.kind == "prefix":
            return word.startswith(self.text)
        if self.kind == "suffix":
            return word.endswith(self.text)
        return self.text in word


@dataclass(frozen=True)
class Element:
    """One token position of a pattern: any of ``alternatives``, after up to ``gap`` free tokens."""

    alternatives: tuple[Glob, ...]
    gap: int = 0


def parse_glob(alt: str) -> Glob:
    """Parse ``*word``, ``word*``, ``*word*`` or ``word``; raise ``ValueError`` on anything else."""
    body = alt.strip("*")
    if not body or not _WORD.match(body) or "*" in body:
        raise ValueError(f"bad word {alt!r} (letters, digits, ' - . and * at the ends only)")
    starts, ends = alt.startswith("*"), alt.endswith("*")
    if (starts or ends) and len(body) < 3:
        raise ValueError(f"wildcard word {alt!r} is too short (3 letters at least)")
    kind = "infix" if starts and ends else "suffix" if starts else "prefix" if ends else "exact"
    return Glob(kind, body.lower())


def parse_variants(text: str) -> tuple[tuple[Element, ...], ...]:
    """Parse a pattern with whole-pattern alternatives (`` | ``) into element sequences."""
    return tuple(parse_pattern(part) for part in re.split(r"\s+\|\s+", text.strip()))


def parse_pattern(text: str) -> tuple[Element, ...]:
    """Parse one pattern sequence into elements; ``ValueError`` explains what is wrong."""
    elements: list[Element] = []
    gap = 0
    for part in text.split():
        gap_match = _GAP.match(part)
        if gap_match:
            if not elements:
                raise ValueError(f"pattern {text!r} starts with a gap '...'")
            gap = int(gap_match.group(1) or DEFAULT_GAP)
            continue
        alts = tuple(parse_glob(alt) for alt in part.split("|"))
        elements.append(Element(alts, gap))
        gap = 0
    if not elements:
        raise ValueError("empty pattern")
    if gap:
        raise ValueError(f"pattern {text!r} ends with a gap '...'")
    return tuple(elements)


# --- schema ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Strict):
    """A group of codes, as the one-pager and the reports order them."""

    id: str
    label: str
    description: str = ""


class Pattern(_Strict):
    """A rule pattern with how much it weighs as evidence and what it says about polarity."""

    match: str
    weight: float = Field(default=1.0, gt=0.0, le=1.0)
    valence: Polarity | None = None

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        parse_variants(value)
        return value

    @cached_property
    def variants(self) -> tuple[tuple[Element, ...], ...]:
        return parse_variants(self.match)


class Code(_Strict):
    """One code of the codebook; ``patterns`` drive the rule tagger, the rest guides people."""

    id: str
    label: str
    group: str
    color: str
    definition: str
    include: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    examples: list[str] = Field(min_length=5)
    aliases: list[str] = Field(default_factory=list)
    default_valence: Polarity | None = Field(
        default=None, description="polarity of a bare mention (eenzaamheid: negative)"
    )
    plain_valence: Polarity = Field(
        default="positive", description="polarity of a mention without any cue at all"
    )
    patterns: list[Pattern] = Field(default_factory=list)
    block: list[str] = Field(
        default_factory=list, description="patterns that cancel this code's evidence they overlap"
    )

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not CODE_ID.match(value):
            raise ValueError(f"code id {value!r} must be lower_snake_case")
        return value

    @field_validator("color")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX_COLOR.match(value):
            raise ValueError(f"color {value!r} must look like #1f77b4")
        return value

    @field_validator("patterns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """A bare string is a pattern with weight 1 and no valence of its own."""
        if isinstance(value, list):
            return [{"match": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("block")
    @classmethod
    def _block_compiles(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_variants(item)
        return value


class CodebookModel(_Strict):
    """The YAML document as a whole."""

    name: str
    version: str
    language: Literal["nl"]
    description: str = ""
    threshold: float = Field(default=0.5, gt=0.0, le=1.0, description="rule score to assign")
    groups: list[Group] = Field(min_length=1)
    codes: list[Code] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError(f"version {value!r} is not semver (e.g. 1.2.0)")
        return value

    @model_validator(mode="after")
    def _references(self) -> CodebookModel:
        problems: list[str] = []
        group_ids = [g.id for g in self.groups]
        if len(set(group_ids)) != len(group_ids):
            problems.append(f"duplicate group ids: {_duplicates(group_ids)}")
        names: list[str] = []
        for code in self.codes:
            if code.group not in group_ids:
                problems.append(f"code {code.id!r}: unknown group {code.group!r} ({group_ids})")
            names.append(code.id)
            names.extend(code.aliases)
        if len(set(names)) != len(names):
            problems.append(f"duplicate code ids or aliases: {_duplicates(names)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _duplicates(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({item for item in items if item in seen or seen.add(item)})


# --- the loaded codebook ---------------------------------------------------------------------


class Codebook:
    """A validated codebook plus the YAML text it came from and its content hash."""

    def __init__(self, model: CodebookModel, yaml_text: str, path: str = "<string>") -> None:
        self.model = model
        self.yaml_text = yaml_text
        self.path = path
        self._by_name = {code.id: code for code in model.codes}
        for code in model.codes:
            for alias in code.aliases:
                self._by_name[alias] = code

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def codes(self) -> list[Code]:
        return self.model.codes

    @property
    def groups(self) -> list[Group]:
        return self.model.groups

    @property
    def threshold(self) -> float:
        return self.model.threshold

    @property
    def ids(self) -> list[str]:
        return [code.id for code in self.model.codes]

    @cached_property
    def hash(self) -> str:
        """sha256 of the canonical content: comments, order of keys and layout do not count."""
        canonical = json.dumps(
            self.model.model_dump(mode="json"),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def resolve(self, code_or_alias: str) -> Code:
        """The code for an id or an alias (renamed codes keep working); ``KeyError`` if unknown."""
        key = code_or_alias.strip()
        try:
            return self._by_name[key]
        except KeyError:
            close = difflib.get_close_matches(key, list(self._by_name), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"unknown code {key!r}{hint}") from None

    def warnings(self) -> list[str]:
        """Patterns that are valid but probably not what was meant.

        The usual slip is a multi-word alternative inside a token list: ``a|b|open podium``
        means "(a or b or open) then podium"; the whole-pattern form is ``a|b | open podium``.
        """
        found: list[str] = []
        for code in self.codes:
            for pattern in code.patterns:
                for variant in pattern.variants:
                    for left, right in pairwise(variant):
                        if right.gap == 0 and len(left.alternatives) >= 4:
                            found.append(
                                f"{code.id}: pattern {pattern.match!r}: a word follows a list "
                                f"of {len(left.alternatives)} alternatives directly; for a "
                                "multi-word alternative use ' | ' (with spaces)"
                            )
                            break
        return found

    def group(self, group_id: str) -> Group:
        return next(g for g in self.model.groups if g.id == group_id)

    def __repr__(self) -> str:
        return f"Codebook({self.name!r}, version={self.version!r}, codes={len(self.codes)})"


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook file; ``CodebookError`` names each problem and its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodebookError(str(path), [f"cannot read: {exc}"]) from exc
    return parse_codebook(text, str(path))


def parse_codebook(text: str, path: str = "<string>") -> Codebook:
    """Validate codebook YAML text (see ``load_codebook``)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise CodebookError(path, [f"{where}not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise CodebookError(path, ["line 1: the codebook must be a mapping (name, version, ...)"])
    try:
        model = CodebookModel.model_validate(data)
    except ValidationError as exc:
        raise CodebookError(path, [_describe(err, root) for err in exc.errors()]) from None
    return Codebook(model, text, path)


def _describe(error: Any, root: yaml.Node | None) -> str:
    """One validation error as ``line N: codes[3].patterns[0]: message``."""
    loc = list(error["loc"])
    node, line = root, None
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    if node is not None:
        line = node.start_mark.line + 1
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    message = error["msg"].removeprefix("Value error, ")
    prefix = f"line {line}: " if line else ""
    return f"{prefix}{where or '<top>'}: {message}"


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None
