"""The built-in deck: size, topic coverage, complete rubrics, links and labs that exist."""

import re
from collections import Counter

from razbor.decks import builtin_deck_path, check_deck, load_deck
from razbor.labs import lab_names
from razbor.rendering import render_markdown

from .conftest import SEED_IDS

TOPICS = ("classical-ml", "metrics", "deep-learning", "architectures", "distributed",
          "statistics", "system-design", "probability", "llm-training", "llm-inference", "mlops")
DECK = load_deck()


def test_the_deck_has_over_a_hundred_cards_beyond_the_seed_and_five_per_main_topic():
    assert len([c for c in DECK if c.id not in SEED_IDS]) >= 100
    per_topic = Counter(card.topic for card in DECK)
    assert all(per_topic[topic] >= 5 for topic in TOPICS), per_topic


def test_check_passes_with_no_problems_at_all():
    _, problems = check_deck(builtin_deck_path())
    assert problems == []


def test_every_card_is_complete_with_a_usable_rubric():
    seen = set()
    for card in DECK:
        assert all(s.strip() for s in (card.short_answer, card.analysis, card.mistakes,
                                       card.interview)), card.id
        assert re.search("[а-яё]", card.title, re.IGNORECASE), card.id
        assert 1 <= card.difficulty <= 5
        if card.id in SEED_IDS:
            continue
        assert 4 <= len(card.rubric.key_points) <= 8, card.id
        assert 2 <= len(card.rubric.mistakes) <= 4, card.id
        statements = [item.text for item in card.rubric.key_points + card.rubric.mistakes]
        assert all(len(text.split()) >= 5 for text in statements), card.id
        ids = card.rubric.ids()
        assert not seen & set(ids)
        seen |= set(ids)


def test_cards_link_to_follow_ups_and_name_labs_that_exist():
    linked = [card for card in DECK if card.related]
    assert len(linked) == len(DECK)
    assert all(other in {c.id for c in DECK} for card in DECK for other in card.related)
    named = {card.lab for card in DECK if card.lab}
    assert named <= lab_names() and len(named - {"batchnorm-stats", "fp16-bf16", "roc-auc",
                                                 "lesion-instances"}) >= 10


def test_every_formula_in_the_deck_renders_as_mathml():
    for card in DECK:
        for section in (card.short_answer, card.analysis, card.mistakes, card.interview):
            html = render_markdown(section)
            assert "<code>\\" not in html, (card.id, html[:200])
            assert not re.search(r"\$[^$\s]*\\[a-z]", html), (card.id, "unconverted LaTeX")
