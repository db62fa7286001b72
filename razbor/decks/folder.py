"""A deck is a folder of card files; sub-folders are topics. Loading is all or nothing."""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from pathlib import Path

from razbor.cards import Card, Deck
from razbor.decks import cache as deck_cache
from razbor.decks.markdown import parse_card
from razbor.decks.problems import DeckError, Problem, rubric_problems
from razbor.labs import lab_names


def builtin_deck_path() -> Path:
    """The folder of the deck that ships inside the package."""
    return Path(str(resources.files("razbor") / "content"))


def check_deck(root: Path) -> tuple[list[Card], list[Problem]]:
    """Parse every card under root; returns the cards and every problem (errors and warnings)."""
    root = Path(root)
    if not root.is_dir():
        return [], [Problem(root, 0, "the deck folder does not exist",
                            "pass the path of a folder of card files")]
    cards: list[Card] = []
    problems: list[Problem] = []
    for path in _card_files(root):
        relative = path.relative_to(root)
        topics = (relative.parts[0],) if len(relative.parts) > 1 else ()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            problems.append(Problem(path, 1, f"the file is not UTF-8 ({error.reason})",
                                    "save the file as UTF-8"))
            continue
        card, found = parse_card(path, text, topics)
        problems.extend(found)
        if card is not None:
            cards.append(card)
            problems.extend(rubric_problems(card, path))
    problems.extend(_cross_card_problems(cards))
    if not cards and not problems:
        problems.append(Problem(root, 0, "the deck has no card files",
                                "add at least one '<card-id>.md' file"))
    return cards, problems


def _cross_card_problems(cards: list[Card]) -> list[Problem]:
    """Ids must be unique across the deck: card ids, and rubric ids across all cards."""
    problems = []
    card_paths: dict[str, list[str]] = defaultdict(list)
    rubric_owner: dict[str, str] = {}
    for card in cards:
        card_paths[card.id].append(card.source)
        for rubric_id in card.rubric.ids():
            owner = rubric_owner.setdefault(rubric_id, card.source)
            if owner != card.source or card.rubric.ids().count(rubric_id) > 1:
                problems.append(Problem(Path(card.source), 1,
                                        f"rubric id '{rubric_id}' is used more than once"
                                        f" (also in {owner})",
                                        "give every key point and mistake its own id"))
    for card_id, paths in card_paths.items():
        for path in paths[1:]:
            problems.append(Problem(Path(path), 1, f"card id '{card_id}' is already used by "
                                    f"{paths[0]}", "give each card its own id"))
    for card in cards:
        for other in card.related:
            if other not in card_paths or other == card.id:
                problems.append(Problem(Path(card.source), 1, f"related card '{other}' is not "
                                        "another card of this deck",
                                        "name the id of another card in 'related'"))
        if card.lab and card.lab not in lab_names():
            problems.append(Problem(Path(card.source), 1, f"lab '{card.lab}' does not exist",
                                    "use one of: " + ", ".join(sorted(lab_names()))))
    return problems


def load_deck(root: Path | None = None) -> Deck:
    """Load a deck (the built-in one by default); raises DeckError if anything is wrong.

    A deck that loaded before, unchanged, is read back from the cache (razbor.decks.cache).
    """
    root = Path(root) if root else builtin_deck_path()
    key = _fingerprint(root)
    if key and (kept := deck_cache.read(root, key)) is not None:
        return Deck(tuple(kept))
    cards, problems = check_deck(root)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise DeckError(errors)
    if key and _fingerprint(root) == key:  # not kept if a file changed while it was parsed
        deck_cache.write(root, key, cards)
    return Deck(tuple(cards))


def _fingerprint(root: Path) -> str | None:
    """The deck's cache key; None where its files cannot all be read (parsing says why)."""
    try:
        files = _card_files(root) if root.is_dir() else []
        return deck_cache.fingerprint(root, files) if files else None
    except OSError:
        return None


def _card_files(root: Path) -> list[Path]:
    """The card files of a deck folder, in the order they load."""
    return [path for path in sorted(root.rglob("*.md")) if path.name.lower() != "readme.md"]
