"""Snowball stems that any thread may ask for.

A snowballstemmer stemmer keeps the word it is stemming in the object itself, so two threads
sharing one corrupt each other's words: a wrong stem (which a cache then keeps) or an
IndexError. A web server grades and mends transcripts on many threads at once, so each thread
stems with stemmers of its own.
"""

from __future__ import annotations

import threading

import snowballstemmer

_per_thread = threading.local()


def snowball_stem(language: str, word: str) -> str:
    """The Snowball stem of a word in "russian" or "english", with this thread's stemmer."""
    stemmers = _per_thread.__dict__.setdefault("stemmers", {})
    stemmer = stemmers.get(language)
    if stemmer is None:
        stemmer = stemmers[language] = snowballstemmer.stemmer(language)
    return stemmer.stemWord(word)
