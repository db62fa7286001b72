"""Grading attempts against a card's rubric: covered key points, missed ones, mistakes.

One small interface, `grade(card, text) -> Feedback`, pure: no database and no web.
"""

from razbor.grading.feedback import Feedback, MistakeResult, PointResult, suggest_rating
from razbor.grading.rules import RuleGrader
from razbor.grading.semantic import SemanticGrader

_default = None


def grade(card, text: str) -> Feedback:
    """Grade an attempt with the embedded default backend."""
    global _default
    if _default is None:
        _default = SemanticGrader()
    return _default.grade(card, text)


__all__ = ["Feedback", "MistakeResult", "PointResult", "RuleGrader", "SemanticGrader", "grade",
           "suggest_rating"]
