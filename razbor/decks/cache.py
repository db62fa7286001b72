"""A parsed deck kept between runs: parsing 200 cards' YAML takes a quarter of a second, reading
them back as JSON a tenth of that, and every command and server start loads the deck.

An entry is keyed by the content of every card file and of razbor's own code, so an edited
card, or another razbor, is parsed again; only a deck that loaded without errors is kept. A
cache that is missing, unreadable or stale is never an error: the deck is parsed instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import replace
from functools import cache
from pathlib import Path

import platformdirs

from razbor.cards import Card

CACHE_FORMAT = 1
PACKAGE = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("razbor")) / "decks"


def fingerprint(root: Path, files: list[Path]) -> str:
    """What the parsed cards depend on: each card file's place and bytes, and razbor's code."""
    digest = hashlib.sha256(_code_digest().encode())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def read(root: Path, key: str) -> list[Card] | None:
    """The cards kept for this deck folder and fingerprint, or None."""
    try:
        kept = json.loads(_entry(root).read_text(encoding="utf-8"))
        if kept.get("fingerprint") != key:
            return None
        return [replace(Card.from_dict(data), source=data["source"]) for data in kept["cards"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write(root: Path, key: str, cards: list[Card]) -> None:
    """Keep the cards for this deck folder, replacing what was kept, in one step (a process
    reading at the same time sees the old entry or the new one); skipped where the cache
    folder cannot be written."""
    entry = _entry(root)
    payload = json.dumps({"fingerprint": key,
                          "cards": [{**card.to_dict(), "source": card.source} for card in cards]},
                         ensure_ascii=False)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temporary:
            temporary.write(payload)
        os.replace(name, entry)
    except OSError:
        Path(name).unlink(missing_ok=True)


def _entry(root: Path) -> Path:
    """One file per deck folder, so a deck edited many times keeps one entry."""
    return cache_dir() / f"{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]}.json"


@cache
def _code_digest() -> str:
    """A digest of razbor's code and data files besides the built-in deck: what parses and
    checks the cards, and what they refer to (lexicon concepts, labs)."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}".encode())
    content = PACKAGE / "content"
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".yaml") and content not in path.parents:
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
