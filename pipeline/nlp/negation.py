"""Dutch negation and hedging scope in the style of the ConText algorithm.

A trigger word ("niet", "geen", "nooit", "niemand", ...) opens a scope in its direction
(forward, backward or both) that runs for a window of tokens and stops early at a terminator
("maar", "toch", "alleen", ...) or at the end of the sentence. Pseudo-triggers ("niet alleen",
"geen probleem", "nooit gedacht") contain a trigger word but never open a scope. Hedges
("misschien", "denk ik", "soms", "een beetje") work the same way and set ``hedged``.

The rules are package data (``rules/context.yaml``) so a researcher can change them without
touching code. The component marks every theme match in ``doc._.theme_matches`` as negated or
hedged (a trigger *inside* the matched pattern does not count: the pattern already spelled it out)
and leaves per-token flags in ``doc._.context_flags`` for the polarity step.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.nlp.themes import (
    END,
    FLAGS,
    HEDGED,
    MATCHES,
    NEGATED,
    SENT,
    START,
    doc_view,
    register_extensions,
)

RULES_DIR = Path(__file__).resolve().parent / "rules"
DEFAULT_RULES = RULES_DIR / "context.yaml"

NEGATED_FLAG = 1
HEDGED_FLAG = 2
TRIGGER_FLAG = 4

Direction = Literal["forward", "backward", "both"]


@dataclass(frozen=True)
class Trigger:
    """A trigger phrase (lower-case words), its kind, direction and window."""

    words: tuple[str, ...]
    kind: Literal["negation", "hedge", "pseudo", "terminator"]
    direction: Direction = "both"
    window: int = 5


@dataclass(frozen=True)
class Scope:
    """Tokens ``[lo, hi)`` covered by the trigger at ``[trigger_start, trigger_end)``."""

    kind: str
    trigger_start: int
    trigger_end: int
    lo: int
    hi: int


class ContextRules:
    """Triggers indexed by their first word; longest phrase wins at each position.

    Words are compared through ``key``: plain strings by default, spaCy's string hashes in the
    component (``doc.to_array(LOWER)`` then needs no ``Token`` objects and no strings).
    """

    def __init__(
        self, triggers: Sequence[Trigger], key: Callable[[str], Hashable] = str
    ) -> None:
        self.triggers = list(triggers)
        self.by_first: dict[Hashable, list[tuple[tuple[Hashable, ...], Trigger]]] = {}
        for trigger in sorted(triggers, key=lambda t: -len(t.words)):
            keys = tuple(key(word) for word in trigger.words)
            self.by_first.setdefault(keys[0], []).append((keys, trigger))

    def keyed(self, key: Callable[[str], Hashable]) -> ContextRules:
        """The same rules comparing words through another ``key``."""
        return ContextRules(self.triggers, key)

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_RULES) -> ContextRules:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        window = int(data.get("window", 5))
        triggers: list[Trigger] = []
        for kind, key in (("negation", "negation"), ("hedge", "hedges")):
            for item in data.get(key, []):
                triggers.append(
                    Trigger(
                        tuple(str(item["phrase"]).lower().split()),
                        kind,  # type: ignore[arg-type]
                        item.get("direction", "both"),
                        int(item.get("window", window)),
                    )
                )
        for kind, key in (("pseudo", "pseudo"), ("terminator", "terminators")):
            for phrase in data.get(key, []):
                triggers.append(Trigger(tuple(str(phrase).lower().split()), kind))  # type: ignore[arg-type]
        return cls(triggers)

    def scopes(self, words: Sequence[Hashable], start: int, end: int) -> list[Scope]:
        """Negation and hedge scopes in the sentence ``words[start:end]``."""
        found: list[tuple[int, int, Trigger]] = []
        by_first = self.by_first
        sentence = words[start:end]
        if by_first.keys().isdisjoint(sentence):
            return []  # most sentences hold no trigger word: one set operation says so
        # Left to right over the tokens that start a trigger (found by a comprehension, not a
        # token loop); a matched phrase consumes its words, as the longest match at each start.
        after = start
        for i in [i for i, word in enumerate(sentence, start) if word in by_first]:
            if i < after:
                continue
            trigger = self._match_at(words, i, end)
            if trigger is not None:
                after = i + len(trigger.words)
                found.append((i, after, trigger))
        if not found:
            return []
        stops = {s for s, _, t in found if t.kind == "terminator"}
        scopes: list[Scope] = []
        for t_start, t_end, trigger in found:
            if trigger.kind not in ("negation", "hedge"):
                continue
            if trigger.direction in ("forward", "both"):
                hi = t_end
                while hi < min(end, t_end + trigger.window) and hi not in stops:
                    hi += 1
                if hi > t_end:
                    scopes.append(Scope(trigger.kind, t_start, t_end, t_end, hi))
            if trigger.direction in ("backward", "both"):
                lo = t_start
                while lo > max(start, t_start - trigger.window) and (lo - 1) not in stops:
                    lo -= 1
                if lo < t_start:
                    scopes.append(Scope(trigger.kind, t_start, t_end, lo, t_start))
        return scopes

    def _match_at(self, words: Sequence[Hashable], i: int, end: int) -> Trigger | None:
        for keys, trigger in self.by_first.get(words[i], ()):
            n = len(keys)
            if i + n <= end and (n == 1 or tuple(words[i : i + n]) == keys):
                return trigger
        return None


def doc_scopes(rules: ContextRules, doc: Doc, sentences: Iterable[int] | None = None
               ) -> list[Scope]:
    """Scopes in the doc's sentences (all, or those whose index is in ``sentences``)."""
    words, sent_of, sent_ends = doc_view(doc)
    wanted = None if sentences is None else set(sentences)
    scopes: list[Scope] = []
    i = 0
    while i < len(words):
        end = sent_ends[i]
        if wanted is None or sent_of[i] in wanted:
            scopes.extend(rules.scopes(words, i, end))
        i = end
    return scopes


def token_flags(scopes: Sequence[Scope], length: int) -> bytes:
    """One byte per token: negated / hedged / trigger bits."""
    flags = bytearray(length)
    for scope in scopes:
        bit = NEGATED_FLAG if scope.kind == "negation" else HEDGED_FLAG
        for j in range(scope.lo, scope.hi):
            flags[j] |= bit
        if scope.kind == "negation":
            for j in range(scope.trigger_start, scope.trigger_end):
                flags[j] |= TRIGGER_FLAG
    return bytes(flags)


def covers(scope: Scope, start: int, end: int) -> bool:
    """Does ``scope`` reach the span ``[start, end)`` from a trigger outside it?"""
    inside = start <= scope.trigger_start and scope.trigger_end <= end
    return not inside and scope.lo < end and start < scope.hi


class ContextScope:
    """spaCy component: sets negated/hedged on theme matches, token flags for polarity."""

    def __init__(self, nlp: Language, name: str, rules: ContextRules) -> None:
        self.name = name
        self.rules = rules.keyed(nlp.vocab.strings.__getitem__)

    def __call__(self, doc: Doc) -> Doc:
        records: list[list[Any]] | None = doc.user_data.get(MATCHES)
        if not records:
            return doc
        scopes = doc_scopes(self.rules, doc, {record[SENT] for record in records})
        if not scopes:  # the usual case: no trigger in any sentence with a match
            for record in records:
                record[NEGATED] = record[HEDGED] = False
            doc.user_data[FLAGS] = bytes(len(doc))
            return doc
        negations = [s for s in scopes if s.kind == "negation"]
        hedges = [s for s in scopes if s.kind == "hedge"]
        for record in records:
            start, end = record[START], record[END]
            record[NEGATED] = any(covers(s, start, end) for s in negations)
            record[HEDGED] = any(covers(s, start, end) for s in hedges)
        doc.user_data[FLAGS] = token_flags(scopes, len(doc))
        return doc


@Language.factory("kracht_context", default_config={"rules": None})
def make_context_scope(nlp: Language, name: str, rules: str | None) -> ContextScope:
    """Negation/hedging scope from a rules YAML (``None``: the packaged Dutch rules)."""
    register_extensions()
    return ContextScope(nlp, name, ContextRules.from_yaml(rules or DEFAULT_RULES))
