"""Choosing a grading backend, and falling back to the embedded one when another fails."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from razbor.cards import Card
from razbor.grading.feedback import Feedback

BACKENDS = ("semantic", "rules", "embedding", "llm")


class Grader(Protocol):
    name: str

    def grade(self, card: Card, text: str) -> Feedback: ...


@dataclass(frozen=True)
class GraderSettings:
    backend: str = "semantic"
    embedding_model: str = ""
    llm_url: str = ""
    llm_model: str = ""
    llm_key: str = ""


class FallbackGrader:
    """Try a stronger backend; on any failure grade with the rules and say so in the notice."""

    def __init__(self, primary: Grader, fallback: Grader):
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.slow = getattr(primary, "slow", False)

    def grade(self, card: Card, text: str) -> Feedback:
        try:
            return self.primary.grade(card, text)
        except Exception as error:  # any failure of a backend must not cost the attempt
            feedback = self.fallback.grade(card, text)
            return replace(feedback, notice=f"The {self.primary.name} grader failed "
                                            f"({type(error).__name__}: {error}); showing the "
                                            "built-in grader's feedback instead.")


class BrokenBackend:
    """A backend that could not even be set up: every call falls through with the reason."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason

    def grade(self, card: Card, text: str) -> Feedback:
        raise RuntimeError(self.reason)


def make_grader(settings: GraderSettings | None = None) -> Grader:
    """The grader the settings ask for; anything but the rules is wrapped in a fallback."""
    from razbor.grading.rules import RuleGrader
    from razbor.grading.semantic import SemanticGrader

    settings = settings or GraderSettings()
    rules = RuleGrader()
    if settings.backend == "rules":
        return rules
    if settings.backend == "semantic":
        return SemanticGrader(rules=rules)
    if settings.backend not in BACKENDS:
        raise ValueError(f"grader backend must be one of {', '.join(BACKENDS)}")
    try:
        if settings.backend == "embedding":
            from razbor.grading.embedding import EmbeddingGrader

            primary = EmbeddingGrader.from_path(settings.embedding_model, rules)
        else:
            from razbor.grading.llm import LLMJudge

            primary = LLMJudge(settings.llm_url, settings.llm_model, settings.llm_key)
    except Exception as error:  # a missing extra or model must not stop razbor
        primary = BrokenBackend(settings.backend, f"{type(error).__name__}: {error}")
    return FallbackGrader(primary, rules)
