"""Which words can carry a sentence: a Russian verb form, or an English word that glues terms.

A run of terms without a single such word ("batchnorm running mean running variance inference
gamma beta SyncBN") names concepts and states nothing, however long; a sentence of the same
terms has a predicate or at least a preposition, an article or a pronoun. Russian is told by
its morphology (pymorphy3 and its shipped dictionary), English by a closed list: its function
words and the verbs that most often carry a claim about a method.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

CYRILLIC = re.compile(r"[а-яё]", re.I)
# Parts of speech that make a predicate: finite verb, infinitive, short participle and
# adjective, gerund, predicative ("нужно", "можно").
PREDICATES = {"VERB", "INFN", "PRTS", "GRND", "ADJS", "PRED"}
# A reading of a word this likely or more counts.
LIKELY = 0.2
GLUE_WORDS = """
a an the of to in on at by for with from into onto over under via about after before during
between without because since than then if when which while each every per across toward towards
against just only not no so as but also is are was were be been being it its we you i they he
she this that these those there here what how why where who whom whose can could should would
will shall may might must do does did has have had get gets got means use uses used using
gives give makes make takes take needs need keeps keep goes go works helps help
в во на по с со к о об из за для при от до через это мы я ты он она они вы не ни что как
чтобы если когда то так а но же ли бы есть вот ну его её ее их нет без под над между после
перед потому поэтому где который которая которое которые которых свой своя свои своим своей
"""
GLUE = frozenset(GLUE_WORDS.split())

_lock = threading.Lock()
_analyzer = None


def _morph():
    global _analyzer
    with _lock:
        if _analyzer is None:
            import pymorphy3

            _analyzer = pymorphy3.MorphAnalyzer(lang="ru")
    return _analyzer


@lru_cache(maxsize=65536)
def carries_sentence(word: str) -> bool:
    """Whether a lower-case word is glue or, in Russian, can be a predicate."""
    if word in GLUE:
        return True
    if not CYRILLIC.search(word):
        return False
    return any(parse.tag.POS in PREDICATES for parse in _morph().parse(word)[:2]
               if parse.score >= LIKELY)
