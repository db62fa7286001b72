"""The practice flow on real databases: each test runs on SQLite and on PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from razbor.cards import Card, Deck
from razbor.practice import Conflict, InvalidInput, Locked, NotFound, Trainer
from razbor.scheduling import Rating

from .conftest import seed_deck


def answer(trainer: Trainer, user: int, card_id: str, rating: Rating = Rating.GOOD,
           text: str = "my attempt"):
    attempt = trainer.submit_attempt(user, card_id, text, False, 30)
    review, created = trainer.rate(user, attempt.id, rating)
    assert created
    return attempt, review


def test_new_cards_come_in_deck_order_and_return_when_due(trainer, clock):
    user = trainer.user()
    assert trainer.next_card(user).id == "batchnorm"
    answer(trainer, user, "batchnorm")
    assert trainer.next_card(user).id == "mixed-precision"
    clock.now += timedelta(minutes=11)
    assert trainer.next_card(user).id == "batchnorm"


def test_the_daily_new_card_limit_holds_until_the_next_day(trainer, clock):
    trainer.planner.settings = type(trainer.planner.settings)(fuzz=False, new_per_day=2)
    user = trainer.user()
    answer(trainer, user, "batchnorm", Rating.EASY)
    answer(trainer, user, "mixed-precision", Rating.EASY)
    assert trainer.next_card(user) is None
    clock.now += timedelta(days=1)
    assert trainer.next_card(user).id == "roc-auc"


def test_topic_filter_and_counts(trainer, clock):
    user = trainer.user()
    assert trainer.next_card(user, "metrics").id == "roc-auc"
    answer(trainer, user, "roc-auc", Rating.EASY)
    counts = {row.topic: (row.due, row.new, row.learned) for row in trainer.topic_counts(user)}
    assert counts == {"deep-learning": (0, 2, 0), "metrics": (0, 0, 1), "system-design": (0, 1, 0)}
    assert trainer.next_card(user, "metrics") is None


def test_the_analysis_is_locked_until_an_attempt(trainer):
    user = trainer.user()
    with pytest.raises(Locked):
        trainer.analysis_of_card(user, "roc-auc")
    attempt = trainer.submit_attempt(user, "roc-auc", "", True, 42)
    assert trainer.analysis(user, attempt.id).short_answer.startswith("ROC-AUC")
    assert trainer.analysis_of_card(user, "roc-auc").id == "roc-auc"


@pytest.mark.parametrize(("text", "aloud", "seconds", "message"), [
    ("", False, 10, "type your attempt"),
    ("x" * 50_001, False, 10, "limit is 50000"),
    ("ok", False, -1, "seconds must be"),
])
def test_bad_attempts_are_refused_and_nothing_is_stored(trainer, text, aloud, seconds, message):
    user = trainer.user()
    with pytest.raises(InvalidInput, match=message):
        trainer.submit_attempt(user, "batchnorm", text, aloud, seconds)
    assert trainer.history(user, "batchnorm") == []


def test_unknown_cards_and_attempts_are_not_found(trainer):
    user = trainer.user()
    with pytest.raises(NotFound, match="no card with id 'nope'"):
        trainer.submit_attempt(user, "nope", "text", False, 1)
    with pytest.raises(NotFound):
        trainer.rate(user, 999, 3)


def test_a_second_rating_is_idempotent_and_never_a_second_review(trainer, clock):
    user = trainer.user()
    attempt, first = answer(trainer, user, "batchnorm")
    clock.now += timedelta(minutes=5)
    again, created = trainer.rate(user, attempt.id, Rating.GOOD)
    assert not created and again == first
    with pytest.raises(Conflict, match="already rated good"):
        trainer.rate(user, attempt.id, Rating.EASY)
    assert trainer.store.schedule(user, "batchnorm") == first.state_after


def test_rating_an_attempt_of_another_card_or_user_is_refused(trainer):
    user, other = trainer.user(), trainer.user("someone-else")
    attempt = trainer.submit_attempt(user, "batchnorm", "text", False, 5)
    with pytest.raises(Conflict, match="belongs to card 'batchnorm'"):
        trainer.rate(user, attempt.id, 3, card_id="roc-auc")
    with pytest.raises(NotFound):
        trainer.rate(other, attempt.id, 3)
    with pytest.raises(InvalidInput):
        trainer.rate(user, attempt.id, 7)
    assert trainer.store.review_of(attempt.id) is None


def test_concurrent_ratings_of_one_attempt_make_exactly_one_review(trainer):
    user = trainer.user()
    attempt = trainer.submit_attempt(user, "batchnorm", "text", False, 5)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: trainer.rate(user, attempt.id, 3), range(8)))
    assert sum(created for _, created in results) == 1
    assert len({review.id for review, _ in results}) == 1


def test_history_keeps_every_attempt_and_the_card_version_it_answered(trainer, clock):
    user = trainer.user()
    old_attempt, _ = answer(trainer, user, "roc-auc", text="week 1")
    edited = [Card(**{**card.__dict__, "short_answer": "Rewritten."}) if card.id == "roc-auc"
              else card for card in seed_deck()]
    clock.now += timedelta(days=21)
    newer = Trainer(Deck(tuple(edited)), trainer.store, trainer.planner, clock=clock)
    new_attempt, _ = answer(newer, user, "roc-auc", text="week 4")
    assert [a.text for a, _ in newer.history(user, "roc-auc")] == ["week 4", "week 1"]
    assert newer.analysis(user, new_attempt.id).short_answer == "Rewritten."
    assert newer.analysis(user, old_attempt.id).short_answer.startswith("ROC-AUC")


def test_cards_removed_from_the_deck_retire_but_keep_history(trainer, clock):
    user = trainer.user()
    answer(trainer, user, "dental-lesions-3d")
    smaller = Trainer(Deck(seed_deck().cards[:3]), trainer.store, trainer.planner, clock=clock)
    clock.now += timedelta(days=30)
    assert smaller.next_card(user, "system-design") is None
    assert "system-design" not in {row.topic for row in smaller.topic_counts(user)}
    assert len(trainer.store.history(user, "dental-lesions-3d")) == 1


def test_schedules_rebuild_exactly_from_the_review_log(trainer, clock):
    user = trainer.user()
    for card_id, rating in [("batchnorm", 3), ("roc-auc", 1), ("batchnorm", 4)]:
        answer(trainer, user, card_id, Rating(rating))
        clock.now += timedelta(days=3)
    before = {card: trainer.store.schedule(user, card) for card in ("batchnorm", "roc-auc")}
    assert trainer.store.rebuild_schedules() == 2
    assert {card: trainer.store.schedule(user, card) for card in before} == before


def test_stats_count_reviews_per_day_and_measured_retention(trainer, clock):
    user = trainer.user()
    answer(trainer, user, "batchnorm", Rating.EASY)
    clock.now += timedelta(days=8)
    answer(trainer, user, "batchnorm", Rating.GOOD)
    clock.now += timedelta(days=40)
    answer(trainer, user, "batchnorm", Rating.AGAIN)
    stats = trainer.stats(user, days=60).progress
    assert sum(count for _, count in stats.reviews_per_day) == 3
    assert stats.recalls == 2 and stats.retention == 0.5
    assert stats.reviews_per_day[-1][1] == 1
