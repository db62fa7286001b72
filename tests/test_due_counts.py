"""The home page's due / new / learned counts, kept per day, always agree with counting the
schedules one by one: through ratings, days passing, deck edits, retirements and rebuilds."""

import random
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from razbor.cards import Deck
from razbor.practice import Trainer
from razbor.scheduling import Planner, Rating, SchedulerSettings
from razbor.storage.tables import cards, schedules

from .conftest import seed_deck


def counted_one_by_one(trainer: Trainer, user_id: int) -> dict[str, tuple[int, int, int]]:
    """The counts as the slow, obvious query gives them: every card against its schedule."""
    now = trainer.clock()
    query = (sa.select(cards.c.topic, schedules.c.due)
             .select_from(cards.outerjoin(schedules, sa.and_(
                 schedules.c.card_id == cards.c.id, schedules.c.user_id == user_id)))
             .where(cards.c.retired.is_(False)))
    tally: Counter = Counter()
    with trainer.store.engine.connect() as db:
        for topic, due in db.execute(query):
            kind = "new" if due is None else "due" if due <= now else "learned"
            tally[topic, kind] += 1
    topics = {topic for topic, _ in tally}
    return {topic: (tally[topic, "due"], tally[topic, "new"], tally[topic, "learned"])
            for topic in topics}


def as_shown(trainer: Trainer, user_id: int) -> dict[str, tuple[int, int, int]]:
    return {row.topic: (row.due, row.new, row.learned) for row in trainer.topic_counts(user_id)}


def moved_to(deck: Deck, card_id: str, topic: str) -> Deck:
    return Deck(tuple(replace(card, topics=(topic,)) if card.id == card_id else card
                      for card in deck))


@pytest.mark.parametrize("seed", [1, 2])
def test_counts_agree_with_counting_each_card_through_a_month_of_practice(store, clock, seed):
    chance = random.Random(seed)
    deck = seed_deck()
    trainer = Trainer(deck, store, Planner(SchedulerSettings(fuzz=False, new_per_day=20)),
                      clock=clock)
    user = trainer.user()
    other = trainer.user("other")
    for day in range(30):
        for _ in range(chance.randint(0, 3)):
            who = chance.choice([user, other])
            card = chance.choice([card.id for card in deck])
            attempt = trainer.submit_attempt(who, card, "an attempt", False, 20)
            trainer.rate(who, attempt.id, chance.choice(list(Rating)))
        clock.now += timedelta(hours=chance.choice([3, 11, 24, 30]))
        if day == 10:
            deck = moved_to(deck, "roc-auc", "statistics")
            store.sync_deck(deck, clock())
        if day == 20:
            store.sync_deck(Deck(tuple(card for card in deck if card.id != "batchnorm")),
                            clock())
        if day == 25:
            store.sync_deck(deck, clock())
            store.rebuild_schedules()
        for who in (user, other):
            assert as_shown(trainer, who) == counted_one_by_one(trainer, who), (day, who)


def test_counts_come_in_deck_order_and_include_topics_nobody_has_started(trainer):
    shown = trainer.topic_counts(trainer.user())
    assert [row.topic for row in shown] == list(dict.fromkeys(card.topic
                                                              for card in trainer.deck))
    assert sum(row.new for row in shown) == len(trainer.deck)
