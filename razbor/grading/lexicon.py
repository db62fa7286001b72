"""The concept lexicon: how an idea is said in Russian, English and the mix of both.

Concepts are shared by every card: a card's rubric patterns name them ('@variance') instead of
listing words, so what the grader learns about saying "variance" serves every card.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from razbor.grading.text import phrase_stems


class Lexicon:
    """Concept name -> phrases, each phrase as a tuple of stems."""

    def __init__(self, concepts: dict[str, list[str]]):
        self._raw = concepts
        self._compiled: dict[str, tuple[tuple[str, ...], ...]] = {}

    def phrases(self, name: str, context: str = "", _seen: frozenset = frozenset()
                ) -> tuple[tuple[str, ...], ...]:
        """The stemmed phrases of a concept, following '@other' references."""
        from razbor.grading.patterns import PatternError

        if name not in self._raw:
            raise PatternError(f"unknown concept '@{name}'" + (f" in {context!r}" if context
                                                               else ""))
        if name in self._compiled:
            return self._compiled[name]
        if name in _seen:
            raise PatternError(f"concept '@{name}' refers to itself")
        phrases: list[tuple[str, ...]] = []
        for entry in self._raw[name]:
            entry = str(entry)
            if entry.startswith("@"):
                phrases.extend(self.phrases(entry[1:], context, _seen | {name}))
            else:
                phrases.extend(self.literal(entry))
        self._compiled[name] = tuple(dict.fromkeys(phrases))
        return self._compiled[name]

    def raw_concepts(self) -> dict[str, list[str]]:
        """Concept name -> its entries as written (phrases and '@other' references)."""
        return self._raw

    @staticmethod
    def literal(text: str) -> list[tuple[str, ...]]:
        stems = phrase_stems(text)
        return [stems] if stems else []


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A YAML loader that refuses a concept defined twice (YAML would keep only the last)."""

    def construct_mapping(self, node, deep=False):
        names = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = {name for name in names if names.count(name) > 1}
        if repeated:
            raise ValueError(f"concepts defined more than once: {sorted(repeated)}")
        return super().construct_mapping(node, deep=deep)


def load_lexicon(text: str) -> Lexicon:
    return Lexicon(yaml.load(text, Loader=_UniqueKeyLoader))  # a safe loader subclass


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon that ships with razbor."""
    return load_lexicon((resources.files("razbor.grading") / "lexicon.yaml")
                        .read_text(encoding="utf-8"))
