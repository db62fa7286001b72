"""A card's vocabulary for speech: the terms an answer to it is likely to say, in both scripts.

Whisper base knows general Russian and English but not "батчнорм", "SyncBatchNorm" or "ROC-AUC".
Telling the decoder which terms to expect, and mending the transcript's spellings of them
afterwards, recovers much of what it loses on such answers. Everything here is derived from the
card itself (title, question, rubric statements, short answer) and the deck around it, so a new
or imported card gets a vocabulary with no authoring.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import zip_longest

from razbor.cards import Card

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")
CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
# Marked terms: an inner capital (BatchNorm), an acronym (GPU, ROC), a digit (FP16), code
# (predict_proba, model.eval).
MARKED = re.compile(r"[a-z][A-Z]|[A-Z]{2}|\d|[_.]\w")
ENGLISH_STOPWORDS = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "how", "if", "in", "into", "is", "it",
    "its", "itself", "just", "more", "most", "no", "nor", "not", "now", "of", "off", "on", "once",
    "only", "or", "other", "our", "out", "over", "own", "same", "should", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours", "one", "two", "three", "per", "use", "used", "uses", "using", "via", "versus", "vs",
    "whose", "every", "many", "much", "make", "makes", "made", "get", "gets", "take", "takes",
    "give", "gives", "like", "within", "without", "instead", "rather", "often", "usually",
    "mainly", "still", "even", "whether", "either", "neither", "another"
})
RUSSIAN_STOPWORDS = frozenset({
    "и", "в", "во", "не", "что", "он", "на", "я", "с", "со", "как", "а", "то", "все", "она",
    "так", "его", "но", "да", "ты", "к", "у", "же", "вы", "за", "бы", "по", "только", "ее", "её",
    "мне", "было", "вот", "от", "меня", "еще", "ещё", "нет", "о", "из", "ему", "теперь", "когда",
    "даже", "ну", "вдруг", "ли", "если", "уже", "или", "ни", "быть", "был", "него", "до", "вас",
    "нибудь", "опять", "уж", "вам", "ведь", "там", "потом", "себя", "ничего", "ей", "может",
    "они", "тут", "где", "есть", "надо", "ней", "для", "мы", "тебя", "их", "чем", "была", "сам",
    "чтоб", "без", "будто", "чего", "раз", "тоже", "себе", "под", "будет", "ж", "тогда", "кто",
    "этот", "того", "потому", "этого", "какой", "совсем", "ним", "здесь", "этом", "один", "почти",
    "мой", "тем", "чтобы", "нее", "сейчас", "были", "куда", "зачем", "всех", "никогда", "можно",
    "при", "наконец", "два", "об", "другой", "хоть", "после", "над", "больше", "тот", "через",
    "эти", "нас", "про", "всего", "них", "какая", "много", "разве", "три", "эту", "моя",
    "впрочем", "хорошо", "свою", "этой", "перед", "иногда", "лучше", "чуть", "том", "нельзя",
    "такой", "им", "более", "всегда", "конечно", "всю", "между", "против"
})
# A term is distinctive when at most this share of the deck's cards use the word.
DISTINCTIVE_SHARE = 0.06
MOST_TERMS = 40
# The longest prompt for a Russian answer: about 35 of Whisper's tokens.
PROMPT_CHARACTERS = 120

# Russian letters as they are usually written in Latin: enough to compare "батчнорм" with
# "batchnorm" or "эпсилон" with "epsilon", not a standard romanisation.
ROMAN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                 ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o",
                  "p", "r", "s", "t", "u", "f", "h", "ts", "ch", "sh", "sch", "", "y", "", "e",
                  "yu", "ya"], strict=True))
# English spellings reduced towards their sound, so both scripts meet in one key ("C" holds
# the sound of "ch" while the rules for "c" run).
SOUND_RULES = tuple((re.compile(pattern), replacement) for pattern, replacement in (
    (r"t?ch", "C"), (r"ck", "k"), (r"ph", "f"), (r"c(?=[eiy])", "s"), (r"c", "k"), (r"q", "k"),
    (r"x", "ks"), (r"w", "v"), (r"oo", "u"), (r"ou", "au"), (r"ee|ea", "i"), (r"y", "i"),
    (r"j", "dzh"), (r"(.)\1", r"\1"), (r"(?<=\w\w\w)e$", ""), (r"C", "ch")))


def romanise(word: str) -> str:
    """Cyrillic letters in Latin ones; other characters stay."""
    return "".join(ROMAN.get(letter, letter) for letter in word.lower())


def sound_key(phrase: str) -> str:
    """A spelling-blind key: "батчнорм", "BatchNorm" and "batch norm" all give "bachnorm"."""
    key = re.sub(r"[^a-z0-9]", "", romanise(phrase))
    for pattern, replacement in SOUND_RULES:
        key = pattern.sub(replacement, key)
    return key


@dataclass(frozen=True)
class Vocabulary:
    """What a spoken answer to one card is expected to contain.

    `terms` are the card's terms as the card writes them (mostly Latin); `spoken` are Russian
    spellings of terms and the card's Russian words, as a transcript of Russian speech should
    show them.
    """

    card_id: str
    title: str
    question: str
    terms: tuple[str, ...]
    spoken: tuple[str, ...]

    def forms(self) -> tuple[str, ...]:
        """Every spelling the transcript may be mended towards."""
        return tuple(dict.fromkeys((*self.terms, *self.spoken)))

    def prompt(self, language: str | None) -> str:
        """Text the decoder reads before every 30 s window: for a Russian answer, the card's
        terms and their Russian spellings, alternately, up to PROMPT_CHARACTERS; for an English
        answer, the card's question.

        On the development clips the list of terms heard the English terms of Russian answers
        far better than the card's title did (term recall 0.61 -> 0.82), and the question beat
        both for English answers. The whole list, a hundred tokens and more, sent the decoder
        into loops ("GPUs, GPUs, GPUs, ...") and doubled its time; cut short, it costs no more
        than the title. A window that loops or reads the prompt back is decoded again without
        it (see WhisperTranscriber._decode).
        """
        if language == "en":
            return _sentence(self.question or self.title)
        chosen: list[str] = []
        for pair in zip_longest(self.terms, self.spoken):
            for form in pair:
                if form and len(", ".join([*chosen, form])) <= PROMPT_CHARACTERS:
                    chosen.append(form)
        return ", ".join(dict.fromkeys(chosen))

    def term_prompt(self) -> str:
        """Text the decoder reads before stretches of a Russian answer decoded again as
        English: the card's terms, up to PROMPT_CHARACTERS.

        The English terms inside a Russian answer are what that pass is for; on the
        development clips the list heard them better than the card's question did ("gamma",
        "syncBatchNorm" against "Gamut", "SynthBatchNorm") for the same CPU time.
        """
        chosen: list[str] = []
        for term in self.terms:
            if len(", ".join([*chosen, term])) <= PROMPT_CHARACTERS:
                chosen.append(term)
        return ", ".join(chosen)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!")) else f"{text}."


def card_vocabulary(card: Card, deck: Iterable[Card] = ()) -> Vocabulary:
    """The vocabulary of a card; `deck` (the cards around it) tells its terms from words every
    card uses."""
    frequency = _deck_frequency(tuple(deck))
    terms = _terms(card, frequency)
    spoken = _spoken_forms(card, terms)
    return Vocabulary(card.id, card.title, card.question, terms, spoken)


def _card_text(card: Card) -> str:
    rubric = card.gradable_rubric
    statements = [point.text for point in rubric.key_points] + [m.text for m in rubric.mistakes]
    text = "\n".join([card.title, card.question, *statements, card.short_answer, card.analysis])
    return MATH.sub(" ", text)


def _card_words(card: Card) -> frozenset[str]:
    return frozenset(word.lower() for word in LATIN_WORD.findall(_card_text(card)))


@lru_cache(maxsize=4)
def _deck_frequency(cards: tuple[Card, ...]) -> _Frequency:
    counts: Counter = Counter()
    for card in cards:
        counts.update(_card_words(card))
    return _Frequency(len(cards), counts)


@dataclass(frozen=True)
class _Frequency:
    cards: int
    counts: Counter

    def share(self, word: str) -> float:
        return self.counts.get(word.lower(), 0) / self.cards if self.cards else 0.0


def _terms(card: Card, frequency: _Frequency) -> tuple[str, ...]:
    """Marked words and words few other cards use, ranked by how specific and frequent they are.

    The title's Latin words come first: the author put them there because they name the topic.
    """
    title = [word for word in LATIN_WORD.findall(card.title)
             if word.lower() not in ENGLISH_STOPWORDS]
    counts = Counter(LATIN_WORD.findall(_card_text(card)))
    scored = {}
    for word, count in counts.items():
        lowered = word.lower()
        if lowered in ENGLISH_STOPWORDS or len(word) < 2:
            continue
        share = frequency.share(word)
        marked = bool(MARKED.search(word))
        if not marked and (len(word) < 4 or share > DISTINCTIVE_SHARE or count < 2):
            continue
        scored[word] = count * math.log(1 + 1 / max(share, 1 / max(frequency.cards, 1)))
    ranked = sorted(scored, key=lambda word: (-scored[word], word))
    unique: dict[str, str] = {}
    for word in [*title, *ranked]:
        unique.setdefault(word.lower(), word)
    return tuple(unique.values())[:MOST_TERMS]


def _spoken_forms(card: Card, terms: tuple[str, ...]) -> tuple[str, ...]:
    """Russian spellings of the card's terms (from the shared lexicon, where a Russian phrase
    sounds like one of the terms) and the Russian words of the title."""
    keys = {sound_key(term) for term in terms}
    keys |= {sound_key(word) for term in terms for word in re.split(r"[-_.]", term)
             if len(word) >= 4}
    forms = [phrase for phrase in _lexicon_cyrillic() if sound_key(phrase) in keys]
    title = [word.lower() for word in CYRILLIC_WORD.findall(card.title)
             if len(word) >= 4 and word.lower() not in RUSSIAN_STOPWORDS]
    return tuple(dict.fromkeys(title + forms))


@lru_cache(maxsize=1)
def _lexicon_cyrillic() -> tuple[str, ...]:
    """Every Russian phrase of the grader's lexicon: how people say the field's terms aloud."""
    import yaml

    text = (resources.files("razbor.grading") / "lexicon.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ten times faster
    phrases = (str(phrase) for entries in yaml.load(text, Loader=loader).values()
               for phrase in entries)
    return tuple(dict.fromkeys(phrase for phrase in phrases
                               if CYRILLIC.search(phrase) and not phrase.startswith("@")))
