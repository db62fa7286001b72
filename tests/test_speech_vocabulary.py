"""A card's speech vocabulary, the mending of term spellings, and the choice of language.

No model runs here: transcripts are built by hand, as Whisper base writes them.
"""

import pytest

from razbor.cards import Card, KeyPoint, Rubric
from razbor.decks import load_deck
from razbor.speech.normalise import mend_terms
from razbor.speech.transcript import Transcript, Word
from razbor.speech.vocabulary import card_vocabulary, romanise, sound_key
from razbor.transcription import language_plan


@pytest.fixture(scope="module")
def deck():
    return load_deck()


def heard(text: str, language: str = "ru") -> Transcript:
    """A transcript of `text` with one word every half second."""
    words = tuple(Word(word, number * 0.5, number * 0.5 + 0.4)
                  for number, word in enumerate(text.split()))
    return Transcript(text, language, len(words) * 0.5, words)


@pytest.mark.parametrize(("first", "second"), [
    ("батчнорм", "BatchNorm"), ("батч норм", "batch norm"), ("эпсилон", "epsilon"),
    ("инференс", "inference"), ("софтмакс", "softmax"), ("дропаут", "dropout"),
    ("бустинг", "boosting"), ("рок аук", "ROC-AUC"),
])
def test_a_term_sounds_the_same_in_either_script(first, second):
    assert sound_key(first) == sound_key(second)


def test_romanise_spells_russian_letters_in_latin_ones():
    assert romanise("Щука и чай") == "schuka i chai"


def test_the_vocabulary_comes_from_the_card_and_tells_its_terms_from_common_words(deck):
    vocabulary = card_vocabulary(deck.get("batchnorm"), deck.cards)
    assert {"BatchNorm", "SyncBatchNorm", "mini-batch", "gamma", "beta"} <= set(vocabulary.terms)
    assert not {"the", "mean", "training", "model"} & {t.lower() for t in vocabulary.terms}
    # Russian spellings: the title's words and the lexicon's phrases that sound like a term.
    assert {"инференсе", "батчнорм", "гамма", "мини батч"} <= set(vocabulary.spoken)
    # A Russian answer's prompt: the terms in both scripts, the most telling first, cut short.
    assert vocabulary.prompt("ru") == ("BatchNorm, обучении, multi-GPU, инференсе, per-device, "
                                       "батч, channel, минибатч, SyncBatchNorm, мини батч, "
                                       "normalises")
    assert len(card_vocabulary(deck.get("kv-cache-memory"), deck.cards).prompt("ru")) <= 120
    assert vocabulary.prompt("en").startswith("You train a segmentation ResNet")
    # Stretches of a Russian answer decoded again as English: the card's (Latin) terms alone.
    assert vocabulary.term_prompt() == ("BatchNorm, multi-GPU, per-device, channel, "
                                        "SyncBatchNorm, normalises, device, mini-batch, "
                                        "workers, gamma, squares, beta")


def test_a_card_written_by_a_user_gets_a_vocabulary_too(deck):
    card = Card(id="my-card", title="Калибровка — Platt scaling и isotonic regression",
                lang="en", topics=("metrics",), difficulty=2,
                short_answer="Platt scaling fits a sigmoid on held-out scores; isotonic "
                             "regression fits a monotone step function.",
                analysis="", mistakes="", interview="",
                rubric=Rubric((KeyPoint("p1", "Platt scaling fits a sigmoid to the scores."),)))
    vocabulary = card_vocabulary(card, deck.cards)
    assert vocabulary.terms[:2] == ("Platt", "scaling")
    assert "калибровка" in vocabulary.spoken and "sigmoid" in vocabulary.terms


def test_near_miss_spellings_of_the_cards_terms_are_mended_keeping_the_russian_ending(deck):
    vocabulary = card_vocabulary(deck.get("batchnorm"), deck.cards)
    said = heard("на инфиренсе слой берёт скользящие средние, а бачно рм считает по мини батчу")
    mended = mend_terms(said, vocabulary)
    assert mended.text == ("на инференсе слой берёт скользящие средние, а батчнорм считает по "
                           "мини батчу")
    joined = mended.words[7]
    assert joined.text == "батчнорм" and (joined.start, joined.end) == (3.5, 4.4)


def test_words_the_card_does_not_use_and_correct_spellings_are_left_alone(deck):
    vocabulary = card_vocabulary(deck.get("batchnorm"), deck.cards)
    for text in ("Батчнорм считает дисперсию по батчу, а на инференсе нет.",
                 "SyncBatchNorm all reduces the sums of squares.",
                 "Погода сегодня хорошая, бета-версия вышла."):
        assert mend_terms(heard(text), vocabulary) == heard(text)


def test_a_latin_term_misheard_is_mended(deck):
    vocabulary = card_vocabulary(deck.get("batchnorm"), deck.cards)
    mended = mend_terms(heard("SyncBitchNorm all reduces the sums.", "en"), vocabulary)
    assert mended.text == "SyncBatchNorm all reduces the sums."


def test_the_language_is_the_users_choice_or_detected_among_the_served_ones(deck):
    card = deck.get("batchnorm")
    assert language_plan("ru", card, "en") == ("ru", None)
    assert language_plan("card", card) == (card.lang, None)
    language, priors = language_plan("auto", card, "ru")
    assert language is None and set(priors) == {"ru", "en"}
    assert language_plan(None, card, "ru") == (None, priors)
    assert language_plan("auto", card, "en")[1]["en"] > priors["en"]
