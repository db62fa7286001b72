"""The built-in deck: size, topic coverage, complete rubrics, links and labs that exist."""

import re
from collections import Counter

from razbor.decks import builtin_deck_path, check_deck, load_deck
from razbor.labs import lab_names
from razbor.rendering import render_markdown

from .conftest import SEED_IDS

# The deck a 2026 interview asks for: at least this many cards per topic folder.
TOPIC_MINIMUMS = {
    "classical-ml": 18, "metrics": 12, "probability": 12, "statistics": 18, "causal": 5,
    "deep-learning": 16, "architectures": 14, "llm-training": 12, "llm-inference": 14,
    "generative": 8, "applied": 6, "distributed": 12, "mlops": 12, "recsys": 8, "time-series": 5,
    "system-design": 16, "sql-coding": 8, "behavioural": 4,
}
DECK = load_deck()


def test_the_deck_has_two_hundred_cards_spread_over_the_topics_interviews_ask():
    assert len(DECK) >= 200
    per_topic = Counter(card.topic for card in DECK)
    short = {topic: per_topic[topic] for topic, least in TOPIC_MINIMUMS.items()
             if per_topic[topic] < least}
    assert short == {}


def test_every_card_words_the_interviewers_question_and_goes_deep():
    shallow = [card.id for card in DECK
               if not card.question or card.question == card.title or len(card.analysis) < 900
               or not 3 <= len(re.findall(r"^\s*- ", card.mistakes, flags=re.M)) <= 5
               or len(re.findall(r"^\s*-?\s*Follow-up:", card.interview, flags=re.M)) != 2]
    assert shallow == []


def test_every_topic_spans_difficulty_one_to_five():
    levels: dict[str, set[int]] = {}
    for card in DECK:
        levels.setdefault(card.topic, set()).add(card.difficulty)
    assert {topic: sorted(found) for topic, found in levels.items()
            if found != {1, 2, 3, 4, 5}} == {}


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
