"""The embedded grader: concept patterns over stemmed sentences, with negation and warnings.

No model and no network: it runs anywhere razbor runs. Each key point and mistake carries
patterns (its card's authoring hints) written in terms of the shared lexicon; a point is
covered when one pattern's groups all occur in one sentence with the right polarity.
"""

from __future__ import annotations

from functools import lru_cache

from razbor.cards import Card
from razbor.grading.feedback import Feedback, MistakeResult, PointResult, suggest_rating
from razbor.grading.lexicon import Lexicon, default_lexicon
from razbor.grading.patterns import Pattern, compile_pattern, match, required
from razbor.grading.text import Sentence, continued, phrase_stems, sentences, stems_match

WARNINGS = [phrase_stems(p) for p in (
    "wrong", "incorrect", "mistake", "error", "trap", "pitfall", "myth", "misconception",
    "bug", "avoid", "нельзя", "неправильно", "неверно", "ошибка", "ошибочно", "ловушка",
    "заблуждение", "путать", "mix up", "confuse", "naive", "наивно",
)]
HEDGES = [phrase_stems(p) for p in ("вроде", "наверное", "кажется", "i think", "maybe",
                                    "probably", "не уверен", "not sure", "не помню")]


class RuleGrader:
    """The default backend: fast, offline, and explainable through its evidence spans."""

    name = "rules"

    def __init__(self, lexicon: Lexicon | None = None):
        self.lexicon = lexicon or default_lexicon()

    def grade(self, card: Card, text: str) -> Feedback:
        found = sentences(text)
        found += continued(text, found)
        rubric = card.gradable_rubric
        points = tuple(self._point(item.id, item.match, found) for item in rubric.key_points)
        mistakes = tuple(self._mistake(item.id, item.match, found) for item in rubric.mistakes)
        return Feedback(card.id, self.name, points, mistakes,
                        suggested_rating=suggest_rating(points, mistakes))

    @lru_cache(maxsize=1024)  # noqa: B019 - one grader lives as long as the process
    def _compiled(self, patterns: tuple[str, ...]) -> tuple[Pattern, ...]:
        return tuple(compile_pattern(source, self.lexicon) for source in patterns)

    def _best(self, patterns: tuple[str, ...], found: list[Sentence], mistake: bool):
        """The best (share of groups matched, evidence spans, sentence) over all sentences."""
        best = (0.0, (), None)
        for pattern in self._compiled(patterns):
            needed = required(pattern)
            for sentence in found:
                if sentence.is_keyword_list() or (mistake and _has(sentence, WARNINGS)):
                    continue
                result = match(pattern, sentence)
                if result is None:
                    continue
                matched, evidence = result
                share = matched / needed
                if share > best[0]:
                    spans = tuple(_span(sentence, o.first, o.last) for o in evidence)
                    best = (share, spans, sentence)
                if share == 1.0:
                    return best
        return best

    def _point(self, point_id: str, patterns: tuple[str, ...], found) -> PointResult:
        share, spans, sentence = self._best(patterns, found, mistake=False)
        covered = share == 1.0
        confidence = 0.9 if covered else round(0.5 * share, 2)
        if covered and _has(sentence, HEDGES):
            confidence = 0.7
        return PointResult(point_id, covered, confidence, spans if covered else ())

    def _mistake(self, mistake_id: str, patterns: tuple[str, ...], found) -> MistakeResult:
        share, spans, _ = self._best(patterns, found, mistake=True)
        asserted = share == 1.0
        return MistakeResult(mistake_id, asserted, 0.9 if asserted else round(0.5 * share, 2),
                             spans if asserted else ())


def _span(sentence: Sentence, first: int, last: int) -> tuple[int, int]:
    return sentence.tokens[first].start, sentence.tokens[last].end


def _has(sentence: Sentence | None, phrases: list[tuple[str, ...]]) -> bool:
    if sentence is None:
        return False
    stems = [token.stem for token in sentence.tokens]
    for phrase in phrases:
        if not all(sentence.has_stem(stem) for stem in phrase):
            continue
        for start in range(len(stems) - len(phrase) + 1):
            if all(stems_match(p, stems[start + i]) for i, p in enumerate(phrase)):
                return True
    return False
