"""Mending a transcript's spellings of a card's terms before it is graded.

Whisper base writes the terms of an answer as it hears them: "инфиренсе" for "инференсе",
"бачно рм" for "батчнорм", "SyncBitchNorm" for "SyncBatchNorm". Each run of one to three
words is compared with the card's vocabulary in its own script (Latin by sound, Cyrillic by
spelling and stem); a close but inexact match is rewritten to the vocabulary's spelling,
keeping a Russian word's ending. Nothing is corrected towards words the card does not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from functools import lru_cache

from razbor.speech.transcript import Transcript, Word
from razbor.speech.vocabulary import CYRILLIC, Vocabulary, sound_key
from razbor.stemming import snowball_stem

LONGEST_SPAN = 3
# Russian endings are a few letters; a longer tail is not an ending.
MAX_ENDING = 3
# A run of words must match better than this over any shorter run inside it to be joined.
INNER_MARGIN = 0.05
# How alike a heard run and a term must be to be taken for it, by length of the term's key:
# short words differ by one letter from other words, long ones rarely.
SIMILARITY = ((4, 1.01), (6, 0.84), (9, 0.80), (100, 0.76))
EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


@dataclass(frozen=True)
class _Form:
    text: str
    key: str
    cyrillic: bool
    words: int


@lru_cache(maxsize=64)
def _forms(forms: tuple[str, ...]) -> tuple[_Form, ...]:
    return tuple(_Form(form, sound_key(form), bool(CYRILLIC.search(form)), len(re.split(r"[\s-]+", form)))
                 for form in forms if len(sound_key(form)) >= 3)


# A transcript's words and a card's forms repeat across the runs compared: stemming and keys
# were most of mending's time before they were remembered.
@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    return snowball_stem("russian", word.replace("ё", "е")) if CYRILLIC.search(word) else word


@lru_cache(maxsize=4096)
def _english_stem(word: str) -> str:
    return snowball_stem("english", word)


@lru_cache(maxsize=4096)
def _sound_key(text: str) -> str:
    return sound_key(text)


def _needed(key: str) -> float:
    return next(needed for longest, needed in SIMILARITY if len(key) <= longest)


def _similarity(first: str, second: str, needed: float = 0.0) -> float:
    """difflib's ratio, or 0 when its cheap upper bounds already fall short of `needed`."""
    matcher = SequenceMatcher(None, first, second, autojunk=False)
    if matcher.real_quick_ratio() < needed or matcher.quick_ratio() < needed:
        return 0.0
    return matcher.ratio()


def mend_terms(transcript: Transcript, vocabulary: Vocabulary) -> Transcript:
    """The transcript with near-miss spellings of the vocabulary's terms corrected; the text is
    rebuilt from the words, so word timings and text stay in step."""
    forms = _forms(vocabulary.forms())
    if not forms or not transcript.words:
        return transcript
    words = list(transcript.words)
    cores = [EDGE.match(word.text).group(2) for word in words]
    matches = _span_matches(cores, forms)
    mended: list[Word] = []
    index = 0
    while index < len(words):
        length, written = _correction(matches, index)
        if written is None:
            mended.append(words[index])
            index += 1
            continue
        lead = EDGE.match(words[index].text).group(1)
        trail = EDGE.match(words[index + length - 1].text).group(3)
        mended.append(Word(f"{lead}{written}{trail}", words[index].start,
                           words[index + length - 1].end,
                           min(word.probability for word in words[index:index + length])))
        index += length
    if mended == words:
        return transcript
    return replace(transcript, text=" ".join(word.text for word in mended), words=tuple(mended))


_Match = tuple[float, str, bool]  # score, how to write it, whether it already is the term


def _span_matches(cores: list[str], forms: tuple[_Form, ...]) -> dict[tuple[int, int], _Match]:
    """The best match of each run of words (start, length) that matches a form at all."""
    found: dict[tuple[int, int], _Match] = {}
    for start in range(len(cores)):
        for length in range(1, min(LONGEST_SPAN, len(cores) - start) + 1):
            run = cores[start:start + length]
            if not all(run):
                break
            scored = [m for form in forms if (m := _match(run, form)) is not None]
            if scored:
                found[(start, length)] = max(scored, key=lambda m: (m[2], m[0]))
    return found


def _correction(matches: dict[tuple[int, int], _Match], start: int) -> tuple[int, str | None]:
    """(words taken, their correction) at `start`: the run that matches best, if it beats every
    shorter run inside it (so "на инфиренсе" is not taken for "инференсе") and is not already
    a spelling of its term."""
    runs = [(length, match) for (first, length), match in matches.items() if first == start]
    if not runs:
        return 1, None
    length, (score, written, exact) = max(runs, key=lambda run: (run[1][2], run[1][0], -run[0]))
    inner = [match for (first, size), match in matches.items()
             if start <= first and first + size <= start + length and size < length]
    if exact or any(match[2] or match[0] >= score - INNER_MARGIN for match in inner):
        return 1, None
    return length, written


def _match(run: list[str], form: _Form) -> _Match | None:
    """How well a run of heard words matches a form, how to write it, and whether it already is
    a spelling of it (split into words the same way); None below the similarity the form's
    length needs.

    A word is respelled only within its script: a Russian word taken for an English term
    ("нормализации" for "normalises") is a translation, not a misspelling. Nor is a word one
    that a term contains ("probability" in "log-probability", "сколько" in "несколько").
    """
    heard = "".join(run).lower()
    heard_cyrillic = bool(CYRILLIC.search(heard))
    if heard_cyrillic != form.cyrillic:
        return None
    joined = re.sub(r"[\s._-]", "", form.text.lower())
    plain = re.sub(r"[._-]", "", heard)
    if plain != joined and (plain in joined or joined in plain):
        return None
    stem, form_stem = _stem(plain), _stem(joined)
    if heard_cyrillic:
        compared = ((plain, joined), (stem, form_stem))
        same_word = stem.startswith(form_stem) or form_stem.startswith(stem)
    else:
        compared = ((_sound_key(plain), form.key),)
        same_word = _sound_key(plain) == form.key or _english_stem(plain) == \
            _english_stem(joined)
    exact = same_word and len(run) == form.words
    needed = 0.0 if exact else _needed(form.key)
    score = max(_similarity(first, second, needed) for first, second in compared)
    if score < needed or (len(run) > 1 and not _each_word_counts(run, joined)):
        return None
    written = _with_ending(form.text, run) if heard_cyrillic else form.text
    if run[0][:1].isupper() and form.cyrillic:
        written = written[:1].upper() + written[1:]
    return score, written, exact


def _each_word_counts(run: list[str], joined: str) -> bool:
    """Whether every heard word lends at least half its letters to the form: "бачно рм" makes
    "батчнорм", but "variance plus" is "variance" and another word, not "variances"."""
    words = [re.sub(r"[._-]", "", word.lower()) for word in run]
    matched = [False] * sum(len(word) for word in words)
    for block in SequenceMatcher(None, "".join(words), joined, autojunk=False
                                 ).get_matching_blocks():
        matched[block.a:block.a + block.size] = [True] * block.size
    start = 0
    for word in words:
        if sum(matched[start:start + len(word)]) * 2 < len(word):
            return False
        start += len(word)
    return True


def _with_ending(form: str, run: list[str]) -> str:
    """The form with the heard word's Russian ending: "инференс" heard as "инфиренсе" is
    written "инференсе". A form heard as several words is written as it is."""
    *head, last = form.split(" ")
    heard = run[-1].lower()
    stem = _stem(heard)
    if len(run) > 1 or not heard.startswith(stem) or len(heard) - len(stem) > MAX_ENDING:
        return form
    return " ".join([*head, _stem(last.lower()) + heard[len(stem):]])
