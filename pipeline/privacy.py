"""Pseudonymization: personal data is replaced before any other stage sees the text.

Names, addresses, postcodes, places, phone numbers, e-mail addresses, BSNs, URLs and (opt-in)
dates become numbered tags like ``[PERSOON-1]``, consistent within one document. Detection is
``deduce`` (Dutch de-identification, built for clinical notes), adapted to resident stories:

* a few regexes back deduce up where its patterns are narrow (e-mail TLDs, phone formats);
* speaker labels that look like names (``Fatima:``) and deny-listed names are always replaced,
  with the same tag as the same name in the text, so role detection still sees one speaker;
* a short mention of a full name (``Anouk`` after ``Anouk de Vries``) gets the full name's tag,
  and a name deduce found once (``meneer Kowalski``) is replaced wherever else it stands;
* deduce reads capitalised common words at the start of a sentence as names (``Samen``,
  ``Hoop``); such hits are dropped when the word is a common Dutch or codebook word, and
  allow-listed names (initiatives, funds, the document's own collection) are never touched.

deduce builds its lookup tries on first use (about a minute); they are cached under
``KRACHT_HOME`` (plus one copy per user, since they are the same for every home) so later runs
load in 2-3 s, lazily and once per Pseudonymizer. Loaded they take ~0.6 GB (~1.1 GB with the
opt-in ``instelling`` category, whose healthcare-institution list is half of deduce's tries).
"""

from __future__ import annotations

import bisect
import gc
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import Settings
from pipeline.ingest.transcript import (
    HEADER_LABELS,
    INTERVIEWER_LABELS,
    LABELED_LINE,
    NOT_NAMES,
    OTHER_LABELS,
    PSEUDONYM_TAG,
    RESIDENT_LABELS,
)

log = logging.getLogger(__name__)

# Tag label per category; the category names are those of ``PrivacySettings.categories``.
TAG_OF_CATEGORY = {
    "persoon": "PERSOON",
    "adres": "ADRES",
    "postcode": "POSTCODE",
    "locatie": "LOCATIE",
    "telefoon": "TELEFOON",
    "email": "EMAIL",
    "bsn": "BSN",
    "url": "URL",
    "id": "ID",
    "datum": "DATUM",
    "leeftijd": "LEEFTIJD",
    "instelling": "INSTELLING",
}

# deduce processors (by name) that produce each category; the rest of deduce is disabled.
_DEDUCE_PROCESSORS = {
    "persoon": ("names",),
    "adres": ("street_pattern", "street_lookup", "housenumber"),
    "postcode": ("postal_code",),
    "locatie": ("placename", "postbus"),
    "telefoon": ("phone_numbers",),
    "email": ("email_addresses",),
    "bsn": ("bsn",),
    "url": ("urls",),
    "id": ("identifier",),
    "datum": ("dates",),
    "leeftijd": ("ages",),
    "instelling": ("institutions",),
}
# deduce's own redactor is not used (we number tags ourselves), and street+number is kept
# apart from places instead of being folded into "locatie".
_ALWAYS_DISABLED = {"redactor", "clean_street_tags"}
# Give postcodes their own deduce tag so "3511 AB Utrecht" is POSTCODE + LOCATIE, not one span,
# and merge adjacent names only across a space or hyphen: deduce's default slack also crosses
# ". ", which glues "… Amrani. Anouk …" into one name and swallows the sentence end.
_DEDUCE_CONFIG = {
    "annotators": {"postal_code": {"args": {"tag": "postcode"}}},
    "adjacent_annotations_slack": "[ \\-]?",
}
_INSTITUTION_ANNOTATORS = ("hospital", "institution")
_INSTITUTION_STRUCTS = ("hospital", "healthcare_institution")

# Safety nets for what deduce's patterns miss (other TLDs, +31 formats).
_REGEXES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")),
    ("url", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[\w/]")),
    (
        "telefoon",
        re.compile(
            r"(?<![\w+])(?:\+31[\s-]?(?:\(0\)[\s-]?)?|0031[\s-]?|0)"
            r"(?:6[\s-]?(?:\d[\s-]?){7}\d|\d{2}[\s-]?(?:\d[\s-]?){6}\d|\d{3}[\s-]?(?:\d[\s-]?){5}\d)"
            r"(?!\d)"
        ),
    ),
    ("postcode", re.compile(r"\b[1-9]\d{3}\s?(?!SS|SA|SD)[A-Z]{2}\b")),
)

# Words that are never a person, whatever deduce's name lists say: the vocabulary of
# community work that the codebook relies on (codebook words are added at run time).
def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


PROTECTED_WORDS = _wordset(
    """
    buurtkamer buurthuis buurtcentrum buurtwerk buurtwerker buurtcoach buurtbewoner buurtbewoners
    buurtteam buurtkracht buurtvereniging buurtmoeder buurtvader buurtbus buurtfeest buurtapp
    wijkteam wijkcentrum wijkagent wijkraad wijkbudget wijkwerker wijkverpleegkundige wijkkrant
    moestuin tuin groentetuin gemeente gemeenteraad wethouder corporatie woningcorporatie
    welzijn welzijnswerk opbouwwerker opbouwwerk vrijwilliger vrijwilligers vrijwilligerswerk
    initiatief bewonersinitiatief bewoners bewoner stichting fonds subsidie koffie koffieochtend
    inloop inloopochtend ontmoeting samen samenwerking vertrouwen eenzaamheid eenzaam
    leefbaarheid eigenaarschap talenten netwerk netwerken betrokkenheid signalering financiering
    zelfvertrouwen voedselbank repaircafe taalcafe huiskamer speeltuin plein school kerk moskee
    bibliotheek jongerenwerk jongeren ouderen mantelzorg mantelzorger schuldhulp huurders
    huurdersvereniging energiecoach
    """
)
# Organisations that appear in stories and that deduce's name lists mistake for people.
# Always allowed, on top of ``privacy.allow_list``; the document's collection (the initiative)
# is allowed too.
KNOWN_ORGANISATIONS = (
    "Oranje Fonds", "VSBfonds", "Fonds 1818", "Kansfonds", "Skanfonds",
    "Nationale Postcode Loterij", "Rode Kruis", "Leger des Heils", "Zonnebloem", "Humanitas",
    "Movisie", "Voedselbank",
    "Buurtzorg", "Vluchtelingenwerk", "Stichting Present", "Resto VanHarte", "Repair Café",
)
_TITLES = _wordset(
    "meneer mevrouw mevr mevr. mw mw. dhr dhr. mr mr. dr dr. juf meester heer zuster "
    "broer oom tante opa oma buurman buurvrouw"
)
_INTERFIXES = _wordset("van de der den het ten ter te in 't op el al bin ben da di du le la von")
_SENTENCE_OPENERS = ".!?…:;\"“„'‘(*>-–—]"


@dataclass
class Pseudonymized:
    """Pseudonymized text plus the surface → tag map (kept in memory only, never stored)."""

    text: str
    mapping: dict[str, str] = field(default_factory=dict)

    def tag_for(self, surface: str) -> str | None:
        return self.mapping.get(surface)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    category: str
    source: str  # "forced" (labels, deny-list), "deduce" or "regex": order of trust
    text: str


_SOURCE_RANK = {"forced": 0, "deduce": 1, "regex": 2}


def shared_cache_dir() -> Path:
    """deduce's tries are the same for every home: one copy per user saves a build per home."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kracht" / "deduce"


class _DeduceEngine:
    """A loaded deduce model plus the word lists we use to judge its hits."""

    def __init__(self, cache_dir: Path, institutions: bool) -> None:
        self.model = _load_deduce(cache_dir, institutions)
        structs = self.model.lookup_structs
        self.common_words = _lowered(structs["common_word"].items())
        self.stop_words = _lowered(structs["stop_word"].items())
        self.prefixes = _lowered(structs["prefix"].items())

    def annotate(self, text: str, disabled: set[str]) -> list[tuple[int, int, str, str]]:
        doc = self.model.deidentify(text, disabled=disabled)
        return [(a.start_char, a.end_char, a.tag, a.text) for a in doc.annotations]


def _lowered(items: Iterable[str]) -> frozenset[str]:
    return frozenset(item.lower() for item in items)


def _import_deduce() -> Any:
    """deduce calls ``logging.basicConfig(DEBUG, stdout)`` on import: undo that."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import deduce

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return deduce


def _deduce_config(deduce: Any, institutions: bool) -> dict[str, Any]:
    """deduce's base config with our overrides, without the institution annotators if unused."""
    from deduce.deduce import _BASE_CONFIG_FILE
    from deduce.utils import overwrite_dict

    config = json.loads(Path(_BASE_CONFIG_FILE).read_text(encoding="utf-8"))
    overwrite_dict(config, _DEDUCE_CONFIG)
    if not institutions:
        for name in _INSTITUTION_ANNOTATORS:
            config["annotators"].pop(name, None)
    return config


def _cache_file(folder: Path) -> Path:
    return folder / "cache" / "lookup_structs.pickle"


def _load_deduce(cache_dir: Path, institutions: bool) -> Any:
    """Load deduce from the nearest cache, building it (once per machine) if there is none.

    Healthcare-institution names are half of deduce's tries (~0.5 GB in memory); unless the
    ``instelling`` category is on, a "lite" cache without them is built and loaded instead.
    """
    deduce = _import_deduce()
    variant = "full" if institutions else "lite"
    shared = shared_cache_dir() / deduce.__version__
    source = next(
        (d / variant for d in (cache_dir, shared) if _cache_file(d / variant).is_file()), None
    )
    # Millions of small trie objects: the cyclic GC would walk them all while they load (25 s
    # instead of 2 s) and again and again afterwards (pseudonymization 20x slower). They hold
    # no cycles, so the GC is paused while loading and the result is frozen out of its reach;
    # reference counting still frees them when this Pseudonymizer goes away.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if source is None:
            # A warning so it shows even where logging is not set up (last-resort handler).
            log.warning("building the Dutch name lists once (about a minute)…")
            source = _build_cache(deduce, cache_dir, shared, variant)
        model = deduce.Deduce(
            load_base_config=False, config=_deduce_config(deduce, institutions),
            cache_path=source,
        )
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    for folder in ("full", "lite"):  # the home keeps its own copy, the user one serves others
        mine, theirs = _cache_file(cache_dir / folder), _cache_file(shared / folder)
        if mine.is_file() and not theirs.is_file():
            _copy_quietly(mine, theirs)
        elif folder == variant and theirs.is_file() and not mine.is_file():
            _copy_quietly(theirs, mine)
    return model


def _build_cache(deduce: Any, cache_dir: Path, shared: Path, variant: str) -> Path:
    """Build (or reuse) the full tries under ``cache_dir/full``; derive the lite ones from them."""
    from deduce.deduce import _LOOKUP_LIST_PATH
    from deduce.lookup_structs import cache_lookup_structs, get_lookup_structs

    full = next(
        (d / "full" for d in (cache_dir, shared) if _cache_file(d / "full").is_file()),
        cache_dir / "full",
    )
    structs = get_lookup_structs(
        lookup_path=Path(_LOOKUP_LIST_PATH),
        cache_path=full,
        tokenizer=deduce.Deduce._initialize_tokenizer(Path(_LOOKUP_LIST_PATH)),
        deduce_version=deduce.__version__,
    )
    if variant == "full":
        return full
    for name in _INSTITUTION_STRUCTS:
        structs.pop(name, None)
    cache_lookup_structs(structs, cache_path=cache_dir / "lite", deduce_version=deduce.__version__)
    return cache_dir / "lite"


def _copy_quietly(src: Path, dst: Path) -> None:
    """Hard link when both are on one disk (free), else copy; a failure only costs a rebuild."""
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        log.info("could not copy the deduce cache to %s: %s", dst, exc)


def codebook_words(path: Path) -> frozenset[str]:
    """Lower-case words of the codebook (labels, examples, patterns) that must never be tagged.

    Only words written in lower case count, so a name in an example phrase is not protected.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return frozenset()
    words: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            words.update(w for w in re.findall(r"[^\W\d_]{4,}", value) if w.islower())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return frozenset(words)


def speaker_names(text: str) -> list[str]:
    """Speaker labels that are names (``Fatima:`` twice or more), so they are always replaced."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        match = LABELED_LINE.match(line)
        if not match:
            continue
        label = match.group("label").strip()
        base = re.sub(r"\s*\d+$", "", label.lower())
        known = INTERVIEWER_LABELS | RESIDENT_LABELS | HEADER_LABELS | OTHER_LABELS | NOT_NAMES
        if base in known or PSEUDONYM_TAG.match(label) or not label[:1].isupper():
            continue
        words = label.split()
        if len(words) > 4 or any(
            w.lower() not in _INTERFIXES and not w[:1].isupper() for w in words
        ):
            continue
        counts[label] = counts.get(label, 0) + 1
    return [name for name, n in counts.items() if n >= 2]


class Pseudonymizer:
    """Replaces identifiers with ``[PERSOON-1]``-style tags, consistently within a document."""

    name = "deduce"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        privacy = settings.privacy
        self.enabled = privacy.enabled
        self.categories = set(privacy.categories) & set(TAG_OF_CATEGORY)
        if privacy.replace_dates:
            self.categories.add("datum")
        self.allow_list = [a for a in privacy.allow_list if a.strip()]
        self.protected = PROTECTED_WORDS | codebook_words(settings.codebook)
        self._engine: _DeduceEngine | None = None
        self._disabled = _ALWAYS_DISABLED | {
            proc
            for category, procs in _DEDUCE_PROCESSORS.items()
            if category not in self.categories
            for proc in procs
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonymizer:
        return cls(settings)

    @property
    def engine(self) -> _DeduceEngine:
        """deduce, loaded on first use (not at construction: a run may have nothing to read)."""
        if self._engine is None:
            institutions = "instelling" in self.categories
            self._engine = _DeduceEngine(self.settings.cache_dir / "deduce", institutions)
        return self._engine

    def pseudonymize(
        self, text: str, collection: str | None = None, extra_names: Sequence[str] = ()
    ) -> Pseudonymized:
        if not self.enabled or not text.strip():
            return Pseudonymized(text)
        spans = self._find(text, collection, extra_names)
        return _replace(text, spans)

    # --- detection --------------------------------------------------------------------------
    def _find(self, text: str, collection: str | None, extra_names: Sequence[str]) -> list[_Span]:
        spans: list[_Span] = []
        if "persoon" in self.categories:
            deny = self.settings.privacy.deny_list
            names = [*extra_names, *deny.get("*", []), *deny.get(collection or "", [])]
            names += speaker_names(text)
            spans += _name_spans(text, names)
        engine = self.engine
        for start, end, tag, surface in engine.annotate(text, self._disabled):
            category = _category_of(tag)
            if category in self.categories:
                spans += self._clean(text, _Span(start, end, category, "deduce", surface), engine)
        for category, pattern in _REGEXES:
            if category in self.categories:
                spans += [
                    _Span(m.start(), m.end(), category, "regex", m.group(0))
                    for m in pattern.finditer(text)
                ]
        allowed = _allowed_ranges(text, [*self.allow_list, *KNOWN_ORGANISATIONS, collection or ""])
        spans = [s for s in spans if not any(a < s.end and s.start < b for a, b in allowed)]
        spans += self._other_mentions(text, spans, engine)
        spans = [s for s in spans if not any(a < s.end and s.start < b for a, b in allowed)]
        spans = [s for s in spans if not _inside_tag(text, s)]
        return _resolve_overlaps(spans)

    def _other_mentions(
        self, text: str, spans: list[_Span], engine: _DeduceEngine
    ) -> list[_Span]:
        """A name found once (``meneer Kowalski``) is removed everywhere (``met Kowalski``).

        deduce judges each mention by its context, so a surname it recognised after a title
        would stay readable where it stands alone. Full names and their distinctive words
        (not interfixes, titles or common words) are searched again in the whole text.
        """
        names: set[str] = set()
        for span in spans:
            if span.category != "persoon":
                continue
            names.add(_norm(span.text))
            for word in re.findall(r"[^\W\d_][\w'’-]*", span.text):
                lower = word.lower()
                if (
                    len(word) >= 3 and word[0].isupper() and lower not in _INTERFIXES
                    and lower not in _TITLES and lower not in engine.prefixes
                    and lower not in engine.common_words and lower not in engine.stop_words
                    and lower not in self.protected
                ):
                    names.add(word)
        return [
            _Span(s.start, s.end, "persoon", "deduce", s.text) for s in _name_spans(text, names)
        ]

    def _clean(self, text: str, span: _Span, engine: _DeduceEngine) -> list[_Span]:
        """Trim titles off names and drop capitalised common words read as names."""
        if span.category != "persoon":
            return [span]
        span = _strip_titles(span, engine.prefixes)
        if span is None:
            return []
        words = span.text.split()
        if len(words) == 1:
            word = words[0].strip(".,'’-")
            lower = word.lower()
            if lower in self.protected or lower in engine.stop_words:
                return []
            if _at_sentence_start(text, span.start) and (
                lower in engine.common_words or _used_lowercase(text, lower)
            ):
                return []
        return [span]


def _category_of(tag: str) -> str | None:
    """deduce's tag (after our config) → our category name."""
    if tag in {"persoon", "patient"}:
        return "persoon"
    if tag.startswith("straat"):
        return "adres"
    return {
        "postcode": "postcode",
        "locatie": "locatie",
        "telefoonnummer": "telefoon",
        "emailadres": "email",
        "url": "url",
        "bsn": "bsn",
        "id": "id",
        "datum": "datum",
        "leeftijd": "leeftijd",
        "ziekenhuis": "instelling",
        "zorginstelling": "instelling",
    }.get(tag)


def _name_spans(text: str, names: Iterable[str]) -> list[_Span]:
    spans: list[_Span] = []
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        spans += [
            _Span(m.start(), m.end(), "persoon", "forced", m.group(0))
            for m in pattern.finditer(text)
        ]
    return spans


def _strip_titles(span: _Span, prefixes: frozenset[str]) -> _Span | None:
    """``mevrouw Ng`` → ``Ng``: the title says nothing about who it is and reads better."""
    start, surface = span.start, span.text
    while True:
        match = re.match(r"(\S+)(\s+)", surface)
        if not match:
            break
        word = match.group(1).lower()
        if word not in _TITLES and word.rstrip(".") not in prefixes:
            break
        start += match.end()
        surface = surface[match.end():]
    if not surface.strip() or surface.lower().rstrip(".") in _TITLES | prefixes:
        return None
    return _Span(start, span.end, span.category, span.source, surface)


def _at_sentence_start(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i] in " \t\u00a0":
        i -= 1
    return i < 0 or text[i] in "\r\n" or text[i] in _SENTENCE_OPENERS


def _used_lowercase(text: str, lower: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(lower)}(?!\w)", text) is not None


def _allowed_ranges(text: str, allow_list: Sequence[str]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for phrase in allow_list:
        if not phrase.strip():
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(phrase.strip())}(?!\w)", re.IGNORECASE)
        ranges += [(m.start(), m.end()) for m in pattern.finditer(text)]
    return ranges


def _inside_tag(text: str, span: _Span) -> bool:
    """Text that already is a tag (re-pseudonymizing) is left alone."""
    left = text.rfind("[", 0, span.start + 1)
    right = text.find("]", span.end - 1)
    return left >= 0 and right >= 0 and PSEUDONYM_TAG.match(text[left:right + 1]) is not None


def _resolve_overlaps(spans: list[_Span]) -> list[_Span]:
    """Keep the longest of overlapping spans; on a tie the more trusted source wins."""
    ordered = sorted(spans, key=lambda s: (-(s.end - s.start), _SOURCE_RANK[s.source], s.start))
    starts: list[int] = []  # kept spans never overlap, so only the neighbours need checking
    kept: list[_Span] = []
    for span in ordered:
        i = bisect.bisect_left(starts, span.start)
        if i > 0 and kept[i - 1].end > span.start:
            continue
        if i < len(kept) and kept[i].start < span.end:
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept


# --- numbering --------------------------------------------------------------------------------
def _name_words(surface: str) -> frozenset[str]:
    return frozenset(
        w for w in re.findall(r"[^\W\d_][\w'’-]*", surface.lower()) if w not in _INTERFIXES
    )


def _person_clusters(spans: list[_Span]) -> dict[str, int]:
    """Surface → cluster id: a shorter mention joins the one full name that contains it."""
    surfaces = sorted({_norm(s.text) for s in spans}, key=lambda s: (-len(_name_words(s)), s))
    clusters: list[frozenset[str]] = []
    assigned: dict[str, int] = {}
    for surface in surfaces:
        words = _name_words(surface)
        owners = [i for i, full in enumerate(clusters) if words and words <= full]
        if len(owners) == 1:
            assigned[surface] = owners[0]
        else:
            clusters.append(words)
            assigned[surface] = len(clusters) - 1
    return assigned


def _norm(surface: str) -> str:
    return re.sub(r"\s+", " ", surface.strip())


def _key(span: _Span) -> str:
    if span.category in {"telefoon", "bsn", "id"}:
        return re.sub(r"\D", "", span.text)
    return _norm(span.text).lower()


def _replace(text: str, spans: list[_Span]) -> Pseudonymized:
    clusters = _person_clusters([s for s in spans if s.category == "persoon"])
    numbers: dict[tuple[str, Any], str] = {}
    counters: dict[str, int] = {}
    mapping: dict[str, str] = {}
    pieces: list[str] = []
    cursor = 0
    for span in spans:  # in text order, so tags are numbered by first appearance
        kind = TAG_OF_CATEGORY[span.category]
        key: Any = clusters[_norm(span.text)] if span.category == "persoon" else _key(span)
        if (kind, key) not in numbers:
            counters[kind] = counters.get(kind, 0) + 1
            numbers[(kind, key)] = f"[{kind}-{counters[kind]}]"
        tag = numbers[(kind, key)]
        mapping.setdefault(span.text, tag)
        pieces += [text[cursor:span.start], tag]
        cursor = span.end
    pieces.append(text[cursor:])
    _add_first_name_aliases(mapping, [s for s in spans if s.category == "persoon"])
    return Pseudonymized("".join(pieces), mapping)


def _add_first_name_aliases(mapping: dict[str, str], persons: list[_Span]) -> None:
    """``Marieke`` → the tag of ``Marieke Jansen``, so a manifest's short name finds its tag."""
    firsts: dict[str, set[str]] = {}
    for span in persons:
        words = _norm(span.text).split()
        if len(words) >= 2 and words[0].lower() not in _INTERFIXES:
            firsts.setdefault(words[0], set()).add(mapping[span.text])
    for first, tags in firsts.items():
        if len(tags) == 1 and first not in mapping:
            mapping[first] = next(iter(tags))
