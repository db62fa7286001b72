"""The card model: what a question, its analysis and its rubric are. No I/O here."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

DEFAULT_INSTRUCTION = (
    "Сначала проговорите ответ вслух или тезисами. Формулы, план решения, риски и примеры."
)


@dataclass(frozen=True)
class KeyPoint:
    """One idea a complete answer states, with a stable id the grader and labels refer to.

    `match` holds the grader's authoring hints: patterns of concepts that state the idea.
    `wordings` holds other ways a candidate says the same claim (Russian, mixed, terse), which
    the grader compares by meaning as it does the text: optional, like the hints.
    """

    id: str
    text: str
    match: tuple[str, ...] = ()
    wordings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mistake:
    """One wrong statement candidates make; an attempt makes it only by asserting it.

    `wordings` are the wrong claim as a candidate who believes it says it."""

    id: str
    text: str
    match: tuple[str, ...] = ()
    wordings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rubric:
    key_points: tuple[KeyPoint, ...] = ()
    mistakes: tuple[Mistake, ...] = ()

    def ids(self) -> list[str]:
        """Every key point and mistake id, in authored order."""
        return [point.id for point in self.key_points] + [m.id for m in self.mistakes]


MARKUP = re.compile(r"[*_`#>$]|\[|\]\([^)]*\)")
CLAIM_END = re.compile(r"(?<=[.!?;])\s+|\n\s*[-*•]\s+|\n{2,}")


def _claims_of(markdown: str) -> list[str]:
    """The sentences and bullet items of a short answer, without Markdown marks; a terse
    answer (a term, a number, "O(n log n)") is its own one claim."""
    plain = MARKUP.sub("", markdown)
    claims = [claim.strip(" -•\n") for claim in CLAIM_END.split(plain)
              if len(claim.split()) >= 3]
    terse = plain.strip(" -•.\n")
    return claims or ([terse] if re.search(r"\w", terse) else [])


@dataclass(frozen=True)
class Card:
    """A question and everything the trainer shows after the attempt.

    The four analysis sections are Markdown source; rendering happens at the edge.
    """

    id: str
    title: str
    lang: str
    topics: tuple[str, ...]
    difficulty: int
    short_answer: str
    analysis: str
    mistakes: str
    interview: str
    instruction: str = DEFAULT_INSTRUCTION
    rubric: Rubric = field(default_factory=Rubric)
    question: str = ""
    related: tuple[str, ...] = ()
    lab: str = ""
    source: str = ""

    @property
    def gradable_rubric(self) -> Rubric:
        """The rubric an attempt is graded against: the authored one, or, for a card with no
        key points (an imported note, a quick card of the user's), each sentence of its short
        answer as an implicit key point."""
        if self.rubric.key_points:
            return self.rubric
        claims = _claims_of(self.short_answer)
        return Rubric(tuple(KeyPoint(f"{self.id}.answer.{number}", claim)
                            for number, claim in enumerate(claims, start=1)), self.rubric.mistakes)

    @property
    def topic(self) -> str:
        """The primary topic: the deck folder the card lives in."""
        return self.topics[0] if self.topics else ""

    def to_dict(self) -> dict:
        """A JSON-ready dict of the content (without the source path)."""
        data = asdict(self)
        data.pop("source")
        data["topics"] = list(self.topics)
        data["related"] = list(self.related)
        if not self.question:
            del data["question"]  # cards without one keep the digest they always had
        for item in (*data["rubric"]["key_points"], *data["rubric"]["mistakes"]):
            if not item["wordings"]:
                del item["wordings"]  # likewise for rubrics without wordings
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Card:
        rubric = data.get("rubric") or {}
        return cls(
            id=data["id"],
            title=data["title"],
            lang=data["lang"],
            topics=tuple(data["topics"]),
            difficulty=int(data["difficulty"]),
            short_answer=data["short_answer"],
            analysis=data["analysis"],
            mistakes=data["mistakes"],
            interview=data["interview"],
            instruction=data.get("instruction") or DEFAULT_INSTRUCTION,
            related=tuple(data.get("related", ())), lab=data.get("lab", ""),
            question=data.get("question", ""),
            rubric=Rubric(
                key_points=tuple(KeyPoint(kp["id"], kp["text"], tuple(kp.get("match", ())),
                                          tuple(kp.get("wordings", ())))
                                 for kp in rubric.get("key_points", ())),
                mistakes=tuple(Mistake(m["id"], m["text"], tuple(m.get("match", ())),
                                       tuple(m.get("wordings", ())))
                               for m in rubric.get("mistakes", ())),
            ),
        )

    def content_hash(self) -> str:
        """A digest of the content, so storage keeps one version per distinct edit."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Deck:
    """An ordered collection of cards with unique ids."""

    cards: tuple[Card, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for card in self.cards:
            if card.id in seen:
                raise ValueError(f"duplicate card id {card.id!r}")
            seen.add(card.id)

    def __len__(self) -> int:
        return len(self.cards)

    def __iter__(self):
        return iter(self.cards)

    def get(self, card_id: str) -> Card | None:
        """The card with this id, or None."""
        return self._by_id().get(card_id)

    def _by_id(self) -> dict[str, Card]:
        cache = self.__dict__.get("_index")
        if cache is None:
            cache = {card.id: card for card in self.cards}
            object.__setattr__(self, "_index", cache)
        return cache

    def topics(self) -> list[str]:
        """Every topic tag used in the deck, in first-seen order."""
        ordered: dict[str, None] = {}
        for card in self.cards:
            for topic in card.topics:
                ordered.setdefault(topic, None)
        return list(ordered)

    def search(self, query: str = "", topic: str | None = None) -> list[Card]:
        """Cards whose id, question, instruction or topics contain every word of the query,
        case-insensitively.

        Only what a card shows before an attempt is searched: matching the answer or the
        analysis would let a search reveal them, one guessed word at a time.
        """
        words = query.casefold().split()
        found = []
        for card in self.cards:
            if topic and topic not in card.topics:
                continue
            haystack = " ".join((card.id, card.title, card.question, card.instruction,
                                 *card.topics)).casefold()
            if all(word in haystack for word in words):
                found.append(card)
        return found
