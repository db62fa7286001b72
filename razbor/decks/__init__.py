"""Loading cards: card files, whole decks, and the original trainer's page format."""

from razbor.decks.folder import builtin_deck_path, check_deck, load_deck
from razbor.decks.markdown import dump_card, parse_card
from razbor.decks.page import parse_page
from razbor.decks.problems import DeckError, Problem

__all__ = [
    "DeckError",
    "Problem",
    "builtin_deck_path",
    "check_deck",
    "dump_card",
    "load_deck",
    "parse_card",
    "parse_page",
]
