"""Russian terms glossed in English and notation spelled out, so the encoder compares like with
like.

The multilingual encoder places a Russian sentence near its English paraphrase, but less near
than two English sentences, and least for the field's jargon ("скользящие средние", "дисперсия",
"батчнорм"). The concept lexicon already pairs the Russian ways of saying an idea with the
English ones, so a Russian stretch of an attempt is also read with each term it knows replaced
by the concept's English name; the grader keeps the better similarity of the two readings.
Formulas get the same treatment: the encoder reads "(x − μ)/√(σ² + ε)" as a string of symbols,
and "x minus mu divided by square root of variance plus epsilon" as the statement it is.
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


# Signs of notation in the order they are spelled out: a sign made of others ("σ²", "P(A | B)")
# before its parts.
SPELLED = tuple((re.compile(pattern), words) for pattern, words in (
    (r"\bP\(([^()|]+)\|([^()]+)\)", r" probability of \1 given \2 "),
    (r"σ\s*²|σ\^2", " variance "),
    (r"σ\s*\(", " sigmoid ("),
    (r"√|\bsqrt\b", " square root of "),
    (r"\^\s*2\b|²", " squared "),
    (r"\^", " to the power "),
    (r"≈|~=", " approximately "),
    (r"≠|!=", " not equal to "),
    (r"≥|>=", " at least "),
    (r"≤|<=", " at most "),
    (r"=", " equals "),
    (r"→|->", " to "),
    (r"∝", " proportional to "),
    (r"[·×]|(?<=[\w)\]])\s*\*\s*(?=[\w(\[])", " times "),
    (r"(?<![^\W\d_])/|/(?![^\W\d_])", " divided by "),
    (r"−|(?<=\s)-(?=\s)|(?<=[\w)])-(?=[(])", " minus "),
    (r"\+", " plus "),
    (r"[Σ∑]", " sum of "),
    (r"∂", " derivative of "),
    (r"∇", " gradient of "),
    (r"μ", " mu "),
    (r"σ", " sigma "),
    (r"ε", " epsilon "),
    (r"η", " learning rate "),
    (r"λ", " lambda "),
    (r"α", " alpha "),
    (r"β", " beta "),
    (r"γ", " gamma "),
    (r"θ", " theta "),
))
FORMULA_SIGN = re.compile(r"[=≈≠≥≤√²^·×/∝→Σσ∑∂∇μεηλαβγθ−+]|\bP\(")


def spell(text: str) -> str:
    """The text with its formulas' signs spelled out in English words; the text itself when
    it has none."""
    if not FORMULA_SIGN.search(text):
        return text
    for pattern, words in SPELLED:
        text = pattern.sub(words, text)
    return re.sub(r"\s{2,}", " ", text).strip()


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
