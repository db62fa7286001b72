"""Grading attempts against a card's rubric: covered key points, missed ones, mistakes.

One small interface, `grade(card, text) -> Feedback`, pure: no database and no web.
"""

from razbor.grading.feedback import Feedback, MistakeResult, PointResult, suggest_rating

_default = None


def grade(card, text: str) -> Feedback:
    """Grade an attempt with the embedded default backend."""
    global _default
    if _default is None:
        from razbor.grading.semantic import SemanticGrader

        _default = SemanticGrader()
    return _default.grade(card, text)


def __getattr__(name: str):
    """The graders load on first use: they bring numpy and the lexicon, which a command that
    only parses its arguments (`razbor --help`) should not wait for."""
    if name == "RuleGrader":
        from razbor.grading.rules import RuleGrader

        return RuleGrader
    if name == "SemanticGrader":
        from razbor.grading.semantic import SemanticGrader

        return SemanticGrader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Feedback", "MistakeResult", "PointResult", "RuleGrader", "SemanticGrader", "grade",
           "suggest_rating"]
