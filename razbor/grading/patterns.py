"""Rubric match patterns: which ideas must be stated together, and with which polarity.

A pattern is a few groups joined by ' + '; all groups must be found in one sentence.
  - a group is alternatives joined by '|': '@concept' (from the lexicon) or a literal phrase;
  - '!group' must be negated ("we don't use the current batch"); when a pattern has such a
    group its other groups may be either way, otherwise every group must be affirmed;
  - '?group' may be either way ("don't score hard labels: the ROC collapses to a point");
  - ' - group' must not be affirmed in a clause where the others were found, and
    ' -- group' nowhere in the sentence;
  - 'a ~ b' inside a group: a and b in the same clause (as in "FP16 ~ more precise");
    'a > b': the same, with a before b ("BF16 > more precise than").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from razbor.grading.lexicon import Lexicon
from razbor.grading.text import CONJUNCTIONS, Sentence, stems_match

PHRASE_GAP = 1


class PatternError(ValueError):
    """A pattern that cannot be compiled, with what is wrong in it."""


@dataclass(frozen=True)
class Term:
    """One or two-sided ('a ~ b', 'a > b') set of phrase alternatives."""

    sides: tuple[tuple[tuple[str, ...], ...], ...]
    ordered: bool = False


@dataclass(frozen=True)
class Group:
    term: Term
    mode: str  # "need", "negated", "any", "exclude" or "exclude_sentence"


@dataclass(frozen=True)
class Pattern:
    source: str
    groups: tuple[Group, ...]

    @property
    def polar(self) -> bool:
        return any(group.mode == "negated" for group in self.groups)


@dataclass(frozen=True)
class Occurrence:
    first: int
    last: int
    negated: bool
    clause: int


def compile_pattern(source: str, lexicon: Lexicon) -> Pattern:
    """Parse a pattern string; PatternError names an unknown concept or an empty group."""
    groups = []
    parts = re.split(r"\s(\+|--|-)\s", " + " + source.strip())[1:]
    for operator, raw in zip(parts[::2], parts[1::2], strict=True):
        raw = raw.strip()
        mode = ("exclude" if operator == "-" else "exclude_sentence" if operator == "--"
                else "negated" if raw.startswith("!") else "any" if raw.startswith("?")
                else "need")
        body = raw.lstrip("!?").strip()
        sides = tuple(_alternatives(side, lexicon, source) for side in re.split(r"[~>]", body))
        if len(sides) > 2:
            raise PatternError(f"pattern {source!r}: '~' or '>' joins at most two terms")
        groups.append(Group(Term(sides, ">" in body), mode))
    if not any(not group.mode.startswith("exclude") for group in groups):
        raise PatternError(f"pattern {source!r} has nothing to find")
    return Pattern(source, tuple(groups))


def _alternatives(side: str, lexicon: Lexicon, source: str) -> tuple[tuple[str, ...], ...]:
    phrases: list[tuple[str, ...]] = []
    for alternative in side.split("|"):
        alternative = alternative.strip()
        if alternative.startswith("@"):
            phrases.extend(lexicon.phrases(alternative[1:], source))
        elif alternative:
            phrases.extend(lexicon.literal(alternative))
    if not phrases:
        raise PatternError(f"pattern {source!r} has an empty group")
    return tuple(phrases)


def _phrase_at(sentence: Sentence, phrase: tuple[str, ...], start: int) -> int | None:
    """Index of the last token if the phrase starts at `start`, else None.

    Words may come in any order (Russian word order is free: "делим градиенты обратно",
    "градиенты делим обратно") within a window one token longer than the phrase, and no
    conjunction may sit inside it ("mean and variance" is not "mean of variances").
    """
    tokens = sentence.tokens
    window = tokens[start:start + len(phrase) + PHRASE_GAP]
    remaining = list(phrase[1:])
    last = start
    for offset, token in enumerate(window[1:], start=1):
        if not remaining:
            break
        hit = next((i for i, stem in enumerate(remaining) if stems_match(stem, token.stem)), None)
        if hit is not None:
            remaining.pop(hit)
            last = start + offset
        elif token.stem in CONJUNCTIONS:
            return None
    return None if remaining else last


def occurrences(sentence: Sentence, phrases: tuple[tuple[str, ...], ...]) -> list[Occurrence]:
    """Every place one of the phrases occurs in the sentence (memoised per sentence)."""
    key = id(phrases)
    cached = sentence.cache.get(key)
    if cached is None:
        cached = sentence.cache[key] = _occurrences(sentence, phrases)
    return cached


def _occurrences(sentence: Sentence, phrases: tuple[tuple[str, ...], ...]) -> list[Occurrence]:
    found = []
    possible = [phrase for phrase in phrases if all(sentence.has_stem(stem) for stem in phrase)]
    for start, token in enumerate(sentence.tokens):
        for phrase in possible:
            first = next((stem for stem in phrase if stems_match(stem, token.stem)), None)
            if first is None:
                continue
            ordered = (first, *(stem for stem in phrase if stem is not first))
            last = _phrase_at(sentence, ordered, start)
            if last is not None:
                span = sentence.tokens[start:last + 1]
                found.append(Occurrence(start, last, any(t.negated for t in span), token.clause))
    return found


def _term_occurrences(sentence: Sentence, term: Term) -> list[Occurrence]:
    if len(term.sides) == 1:
        return occurrences(sentence, term.sides[0])
    left, right = (occurrences(sentence, side) for side in term.sides)
    return [Occurrence(min(a.first, b.first), max(a.last, b.last), a.negated or b.negated,
                       a.clause)
            for a in left for b in right
            if a.clause == b.clause and (not term.ordered or a.last < b.first)]


def match(pattern: Pattern, sentence: Sentence) -> tuple[int, list[Occurrence]] | None:
    """Matched groups and their evidence, or None if an exclusion fires.

    Returns how many required groups were found, so partial matches can feed a confidence.
    """
    evidence: list[Occurrence] = []
    matched = 0
    for group in pattern.groups:
        if group.mode.startswith("exclude"):
            continue
        found = _term_occurrences(sentence, group.term)
        if group.mode == "negated":
            usable = [o for o in found if o.negated]
        elif pattern.polar or group.mode == "any":
            usable = found
        else:
            usable = [o for o in found if not o.negated]
        if usable:
            matched += 1
            evidence.append(usable[0])
    clauses = {occurrence.clause for occurrence in evidence}
    for group in pattern.groups:
        if group.mode.startswith("exclude") and any(
                not o.negated and (group.mode == "exclude_sentence" or o.clause in clauses)
                for o in _term_occurrences(sentence, group.term)):
            return None
    return matched, evidence


def required(pattern: Pattern) -> int:
    return sum(not group.mode.startswith("exclude") for group in pattern.groups)
