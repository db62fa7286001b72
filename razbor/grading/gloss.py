"""Russian terms glossed in English, so the encoder compares like with like.

The multilingual encoder places a Russian sentence near its English paraphrase, but less near
than two English sentences, and least for the field's jargon ("скользящие средние", "дисперсия",
"батчнорм"). The concept lexicon already pairs the Russian ways of saying an idea with the
English ones, so a Russian stretch of an attempt is also read with each term it knows replaced
by the concept's English name; the grader keeps the better similarity of the two readings.
"""

from __future__ import annotations

import re
from functools import lru_cache

from razbor.grading.lexicon import default_lexicon
from razbor.grading.text import TOKEN, stem

CYRILLIC_WORD = re.compile(r"[а-яё]", re.I)
LONGEST_PHRASE = 4


@lru_cache(maxsize=1)
def _glossary() -> dict[tuple[str, ...], str]:
    """Stems of each Russian phrase of a concept -> the concept's first English phrase."""
    glossary: dict[tuple[str, ...], str] = {}
    for entries in default_lexicon().raw_concepts().values():
        phrases = [str(entry) for entry in entries if not str(entry).startswith("@")]
        english = next((phrase for phrase in phrases if phrase.isascii()), None)
        if english is None:
            continue
        for phrase in phrases:
            if CYRILLIC_WORD.search(phrase):
                words = tuple(stem(word.lower()) for word in TOKEN.findall(phrase))
                if 0 < len(words) <= LONGEST_PHRASE:
                    glossary.setdefault(words, english)
    return glossary


def gloss(text: str) -> str:
    """The text with every Russian phrase the lexicon knows replaced by its English name;
    the text itself when there is none."""
    if not CYRILLIC_WORD.search(text):
        return text
    glossary = _glossary()
    words = list(TOKEN.finditer(text))
    stems = [stem(word.group().lower()) for word in words]
    pieces, cursor, index = [], 0, 0
    while index < len(words):
        for size in range(min(LONGEST_PHRASE, len(words) - index), 0, -1):
            english = glossary.get(tuple(stems[index:index + size]))
            if english and CYRILLIC_WORD.search(words[index].group()):
                pieces.append(text[cursor:words[index].start()] + english)
                cursor = words[index + size - 1].end()
                index += size
                break
        else:
            index += 1
    return "".join(pieces) + text[cursor:]
