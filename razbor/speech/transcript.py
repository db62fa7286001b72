"""A transcript with word timings: what the delivery report and the grader read."""

from __future__ import annotations

from dataclasses import asdict, dataclass


class SpeechUnavailable(RuntimeError):
    """Speech-to-text is not installed or its model cannot be loaded; the message says how."""


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    duration: float
    words: tuple[Word, ...]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        return cls(data["text"], data["language"], data["duration"],
                   tuple(Word(**word) for word in data["words"]))
