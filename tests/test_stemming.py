"""Stemming is shared by the threads of a server: each word gets its own stem, whoever asks."""

import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from razbor.grading.text import Sentence, Token, stem, stems_match
from razbor.stemming import snowball_stem

WORDS = ("переобучение", "градиентами", "нормализующих", "распределённого", "накопила",
         "normalization", "gradients", "overfitting", "distributed", "accumulated")
THREADS = 8


@pytest.fixture
def threads_switch_constantly():
    """Make the interpreter switch threads between almost every bytecode, so that two
    threads stemming at once interleave inside one word (the default 5 ms rarely does)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def stems_on_threads(stemming) -> list[dict[str, str]]:
    """What each of several threads, started together, got for every word."""
    start = threading.Barrier(THREADS)
    seen: list[dict[str, str]] = [{} for _ in range(THREADS)]

    def work(index: int) -> None:
        start.wait()
        for _ in range(50):
            for word in WORDS:
                seen[index][word] = stemming(word)

    workers = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return seen


def language(word: str) -> str:
    return "english" if word.isascii() else "russian"


def test_snowball_stems_on_many_threads_at_once_are_the_stems_of_one_thread(
        threads_switch_constantly):
    alone = {word: snowball_stem(language(word), word) for word in WORDS}
    assert alone["переобучение"] == "переобучен" and alone["gradients"] == "gradient"
    for seen in stems_on_threads(lambda word: snowball_stem(language(word), word)):
        assert seen == alone


def test_the_graders_stems_are_the_same_whatever_thread_asks_first(threads_switch_constantly):
    stem.cache_clear()
    seen = stems_on_threads(stem)
    stem.cache_clear()
    assert all(each == {word: stem(word) for word in WORDS} for each in seen)


stems = st.text(alphabet="абвгдеabcde", min_size=1, max_size=9)


@given(said=st.lists(stems, min_size=1, max_size=8), wanted=stems)
def test_a_sentence_finds_a_stem_by_lookup_exactly_as_by_comparing_each_word(said, wanted):
    sentence = Sentence(tuple(Token(found, at, at + 1, 0, False)
                              for at, found in enumerate(said)), 0, len(said))
    assert sentence.has_stem(wanted) == any(stems_match(wanted, found) for found in said)
