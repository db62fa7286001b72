"""What the grader says about one attempt: a value object, stored with the attempt as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

Span = tuple[int, int]


@dataclass(frozen=True)
class PointResult:
    """A key point: covered or not, how sure, and where in the attempt it is said."""

    id: str
    covered: bool
    confidence: float
    evidence: tuple[Span, ...] = ()


@dataclass(frozen=True)
class MistakeResult:
    """A typical mistake: asserted or not, and where."""

    id: str
    asserted: bool
    confidence: float
    evidence: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Feedback:
    card_id: str
    backend: str
    key_points: tuple[PointResult, ...]
    mistakes: tuple[MistakeResult, ...]
    notice: str = ""
    suggested_rating: int = field(default=0)

    def covered_ids(self) -> list[str]:
        return [point.id for point in self.key_points if point.covered]

    def mistake_ids(self) -> list[str]:
        return [mistake.id for mistake in self.mistakes if mistake.asserted]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Feedback:
        return cls(
            card_id=data["card_id"], backend=data["backend"], notice=data.get("notice", ""),
            suggested_rating=data.get("suggested_rating", 0),
            key_points=tuple(PointResult(p["id"], p["covered"], p["confidence"],
                                         tuple(tuple(s) for s in p["evidence"]))
                             for p in data["key_points"]),
            mistakes=tuple(MistakeResult(m["id"], m["asserted"], m["confidence"],
                                         tuple(tuple(s) for s in m["evidence"]))
                           for m in data["mistakes"]),
        )


def suggest_rating(points: tuple[PointResult, ...], mistakes: tuple[MistakeResult, ...]) -> int:
    """A rating to propose (1-4) from the share of key points covered and any mistakes.

    Nothing covered is Again; a mistake caps the answer at Hard; most points make it Good,
    all of them Easy. The user always has the last word.
    """
    if not points:
        return 0
    share = sum(point.covered for point in points) / len(points)
    if share == 0:
        return 1
    if any(m.asserted for m in mistakes) or share < 0.5:
        return 2
    return 4 if share >= 0.85 else 3
