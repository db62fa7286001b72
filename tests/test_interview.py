"""Mock interviews: choosing cards and follow-ups, the flow on real databases, the report."""

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from razbor.cards import Deck, KeyPoint, Rubric
from razbor.grading import Feedback, PointResult
from razbor.grading.semantic import SemanticGrader
from razbor.interview import (
    CARD,
    FOLLOW_UP,
    RELATED,
    WORD_OVERLAP,
    AlreadyAnswered,
    FollowUp,
    Interviews,
    InterviewSettings,
    choose_cards,
    choose_follow_up,
    follow_up_questions,
    likeness_for,
)
from razbor.practice import Conflict, InvalidInput, Locked, NotFound, Trainer
from razbor.scheduling import Planner, SchedulerSettings
from razbor.storage.interviews import PracticeSignals

from .conftest import NOW, seed_deck

BN_TYPED = "Mean and variance per channel over the batch, then learnable gamma and beta."
EVAL_MODE = "In eval mode the layer uses the running mean and variance from training."


def missed_only(card, *missed: str) -> Feedback:
    """Feedback on an answer that covered every key point of the card but these."""
    return Feedback(card.id, "test", tuple(PointResult(point.id, point.id not in missed, 1.0)
                                           for point in card.rubric.key_points), ())


@pytest.fixture(scope="module")
def grader():
    """One grader for the module: its sentence encoder loads once, not once a test."""
    return SemanticGrader()


@pytest.fixture
def trainer(store, clock, grader):
    return Trainer(seed_deck(), store, Planner(SchedulerSettings(fuzz=False)), clock=clock,
                   grader=grader)


@pytest.fixture(scope="module")
def sentences(grader):
    return likeness_for(grader)


# Choosing cards and follow-ups, without a database

def test_the_follow_up_questions_are_the_cards_follow_up_lines():
    questions = follow_up_questions(seed_deck().get("batchnorm"))
    assert questions == [
        "Validation accuracy collapses in eval mode although training accuracy looks fine: "
        "what would you check first?",
        "With only 2 images per GPU, when would you replace BatchNorm with GroupNorm or "
        "LayerNorm rather than use SyncBatchNorm?"]


def test_due_cards_come_first_then_weak_ones_then_new_ones_then_the_rest():
    deck = seed_deck()
    signals = PracticeSignals(due={"mixed-precision": NOW - timedelta(days=1)},
                              coverage={"roc-auc": 0.2, "batchnorm": 0.9},
                              started=frozenset({"mixed-precision", "batchnorm"}))
    chosen = choose_cards(deck.cards, signals, 4)
    assert [card.id for card in chosen] == ["mixed-precision", "roc-auc", "dental-lesions-3d",
                                            "batchnorm"]
    assert [card.id for card in choose_cards(deck.cards, signals, 2)] == ["mixed-precision",
                                                                          "roc-auc"]


def test_the_most_overdue_card_and_the_weakest_card_lead_their_groups():
    deck = seed_deck()
    signals = PracticeSignals(due={"roc-auc": NOW - timedelta(days=1),
                                   "batchnorm": NOW - timedelta(days=5)},
                              coverage={"mixed-precision": 0.5, "dental-lesions-3d": 0.1},
                              started=frozenset({"roc-auc", "batchnorm"}))
    assert [card.id for card in choose_cards(deck.cards, signals, 4)] == [
        "batchnorm", "roc-auc", "dental-lesions-3d", "mixed-precision"]


def test_a_topic_mix_takes_turns_between_its_topics():
    deck = seed_deck()
    signals = PracticeSignals(due={"batchnorm": NOW, "mixed-precision": NOW}, coverage={},
                              started=frozenset({"batchnorm", "mixed-precision"}))
    chosen = choose_cards(deck.cards, signals, 2, topics=("deep-learning", "metrics"))
    assert [card.id for card in chosen] == ["batchnorm", "roc-auc"]
    assert choose_cards(deck.cards, signals, 5, topics=("metrics",)) == [deck.get("roc-auc")]


def test_settings_are_checked_against_the_deck():
    deck = seed_deck()
    assert InterviewSettings(("metrics", "metrics")).checked(deck).topics == ("metrics",)
    for bad, message in ((InterviewSettings(questions=0), "questions must be between 1 and 20"),
                         (InterviewSettings(minutes=241), "minutes must be between 1 and 240"),
                         (InterviewSettings(("nope",)), "no topic named 'nope'")):
        with pytest.raises(InvalidInput, match=message):
            bad.checked(deck)


def test_a_main_question_gets_two_thirds_of_its_slot_and_its_follow_up_the_rest():
    settings = InterviewSettings(questions=5, minutes=30)
    assert (settings.budget(CARD), settings.budget(FOLLOW_UP)) == (240, 120)
    assert InterviewSettings(questions=5, minutes=30, follow_ups=False).budget(CARD) == 360
    assert InterviewSettings(("system-design",), 1, 45).budget(CARD) == 1800


def test_the_follow_up_question_nearest_a_missed_point_is_asked(sentences):
    card = seed_deck().get("batchnorm")
    eval_mode, small_batch = follow_up_questions(card)
    assert choose_follow_up(card, missed_only(card, "bn.sync"), seed_deck(), {card.id},
                            sentences) == FollowUp(FOLLOW_UP, "batchnorm", small_batch, "bn.sync")
    assert choose_follow_up(card, missed_only(card, "bn.inference"), seed_deck(), {card.id},
                            sentences).question == eval_mode


def test_word_overlap_finds_the_follow_up_when_no_encoder_is_at_hand():
    card = seed_deck().get("mixed-precision")
    chosen = choose_follow_up(card, missed_only(card, "amp.scaler"), seed_deck(), {card.id},
                              WORD_OVERLAP)
    assert chosen.question.startswith("An FP16 run starts producing inf or NaN gradients")
    assert chosen.missed_point == "amp.scaler"


def test_a_related_card_that_states_the_missed_point_is_asked_instead():
    deck = seed_deck()
    card = deck.get("batchnorm")
    missed = card.rubric.key_points[3]
    related = replace(deck.get("roc-auc"), rubric=Rubric((KeyPoint("auc.x", missed.text),)))
    linked = replace(card, related=("roc-auc",))
    deck = Deck((linked, related))
    chosen = choose_follow_up(linked, missed_only(card, missed.id), deck, {card.id},
                              WORD_OVERLAP)
    assert chosen == FollowUp(RELATED, "roc-auc", None, missed.id)
    assert choose_follow_up(linked, missed_only(card, missed.id), deck,
                            {card.id, "roc-auc"}, WORD_OVERLAP).kind == FOLLOW_UP


def test_with_nothing_missed_the_first_follow_up_question_is_asked():
    card = seed_deck().get("roc-auc")
    first = follow_up_questions(card)[0]
    assert choose_follow_up(card, missed_only(card), seed_deck(), {card.id}) == FollowUp(
        FOLLOW_UP, "roc-auc", first)
    assert choose_follow_up(card, None, seed_deck(), {card.id}).question == first
    bare = replace(card, interview="Say it plainly.", related=())
    assert choose_follow_up(bare, None, Deck((bare,)), {card.id}) is None


# The flow on SQLite and PostgreSQL

@pytest.fixture
def interviews(trainer):
    return Interviews(trainer)


def answer_current(interviews, user, interview_id, text="", aloud=False):
    question = interviews.current(user, interview_id)
    interviews.answer(user, interview_id, question.position, text, aloud)
    return question


def test_an_interview_follows_up_on_what_was_missed_and_reveals_nothing_until_the_end(
        interviews, trainer, clock):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(("deep-learning",), 2, 10))
    assert started.settings["cards"] == ["batchnorm", "mixed-precision"]
    first = interviews.current(user, started.id)
    assert (first.number, first.total, first.kind, first.card.id) == (1, 2, CARD, "batchnorm")
    assert first.budget == 200 and first.ends_at == NOW + timedelta(seconds=200)
    with pytest.raises(Locked, match="finish the interview"):
        interviews.report(user, started.id)

    clock.now += timedelta(seconds=75)
    interviews.answer(user, started.id, 0, BN_TYPED, False)
    follow_up = interviews.current(user, started.id)
    assert (follow_up.number, follow_up.kind, follow_up.card.id) == (1, FOLLOW_UP, "batchnorm")
    assert follow_up.follow_up in follow_up_questions(trainer.card("batchnorm"))
    assert follow_up.asked_at == clock.now and follow_up.budget == 100

    clock.now += timedelta(seconds=130)
    interviews.answer(user, started.id, 1, EVAL_MODE, False)
    second = answer_current(interviews, user, started.id, aloud=True)
    assert (second.number, second.card.id) == (2, "mixed-precision")
    answer_current(interviews, user, started.id, aloud=True)
    assert interviews.current(user, started.id) is None

    report = interviews.report(user, started.id)
    main, note, aloud, _ = report.questions
    assert (main.seconds, main.over_time, note.seconds, note.over_time) == (75, False, 130, True)
    assert {point.id for point in main.covered} >= {"bn.stats", "bn.affine"}
    assert "bn.inference" in {point.id for point in main.missed}
    assert "bn.inference" in {point.id for point in note.covered}
    assert {p.id for p in note.covered + note.missed} == {p.id for p in main.missed}
    assert note.analysis_attempt_id == main.attempt_id and not note.rateable
    assert aloud.answered_aloud and not aloud.graded and aloud.rateable
    assert report.recovered >= 1
    assert "bn.inference" not in {weak.point.id for weak in report.weakest}
    assert report.summary.answered == 4 and report.summary.points == 7


def test_answers_are_attempts_of_their_cards_rated_from_the_report_in_one_pass(
        interviews, trainer):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=1, minutes=5,
                                                       follow_ups=False))
    answer_current(interviews, user, started.id, BN_TYPED)
    (attempt, review), = trainer.history(user, "batchnorm")
    assert attempt.text == BN_TYPED and review is None
    question, = interviews.report(user, started.id).to_rate
    assert question.attempt_id == attempt.id and question.suggested_rating == 2

    with pytest.raises(InvalidInput):
        interviews.rate(user, started.id, {attempt.id: "superb"})
    with pytest.raises(NotFound, match="is not an answer of interview"):
        interviews.rate(user, started.id, {attempt.id + 100: 3})
    assert trainer.store.review_of(attempt.id) is None
    assert interviews.rate(user, started.id, {attempt.id: question.suggested_rating}) == 1
    assert trainer.store.schedule(user, "batchnorm") is not None
    assert interviews.rate(user, started.id, {attempt.id: 2}) == 0
    with pytest.raises(Conflict, match="already rated hard"):
        interviews.rate(user, started.id, {attempt.id: 4})
    assert interviews.report(user, started.id).questions[0].rating == 2


def test_the_report_and_the_ratings_wait_for_the_end(interviews, trainer):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=2, minutes=5))
    answer_current(interviews, user, started.id, BN_TYPED)
    attempt_id = interviews.interview(user, started.id).questions[0].attempt_id
    for refused in (lambda: interviews.report(user, started.id),
                    lambda: interviews.rate(user, started.id, {attempt_id: 3})):
        with pytest.raises(Locked):
            refused()
    assert trainer.store.review_of(attempt_id) is None


def test_a_second_answer_to_a_question_is_refused_and_stores_nothing(interviews, trainer):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=2, minutes=5))
    answer_current(interviews, user, started.id, BN_TYPED)
    with pytest.raises(AlreadyAnswered):
        interviews.answer(user, started.id, 0, "again", False)
    assert len(trainer.history(user, "batchnorm")) == 1
    assert len(interviews.interview(user, started.id).questions) == 2


def test_a_refused_answer_keeps_the_question_open(interviews, trainer):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=1, minutes=5))
    with pytest.raises(InvalidInput, match="type your attempt"):
        interviews.answer(user, started.id, 0, "   ", False)
    answer_current(interviews, user, started.id, BN_TYPED)
    with pytest.raises(InvalidInput, match="NUL"):
        interviews.answer(user, started.id, 1, "a\x00b", False)
    assert interviews.current(user, started.id).position == 1
    assert interviews.interview(user, started.id).questions[1].note is None


def test_when_the_time_is_up_the_interview_ends_with_the_answer_being_given(
        interviews, trainer, clock):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=3, minutes=10))
    clock.now += timedelta(minutes=11)
    answer_current(interviews, user, started.id, BN_TYPED)
    interview = interviews.interview(user, started.id)
    assert interview.finished_at == clock.now and len(interview.questions) == 1
    assert interviews.report(user, started.id).questions[0].over_time


def test_ending_early_leaves_the_open_question_unanswered(interviews, trainer, clock):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=3, minutes=10))
    clock.now += timedelta(minutes=1)
    interviews.end(user, started.id)
    interviews.end(user, started.id)
    with pytest.raises(AlreadyAnswered, match="has ended"):
        interviews.answer(user, started.id, 0, BN_TYPED, False)
    report = interviews.report(user, started.id)
    assert report.interview.finished_at == clock.now
    assert [q.answered for q in report.questions] == [False] and report.to_rate == ()
    assert trainer.history(user, "batchnorm") == []


def test_another_user_finds_no_interview_of_yours(interviews, trainer):
    anna, boris = trainer.user("anna"), trainer.user("boris")
    started = interviews.start(anna, InterviewSettings(questions=1, minutes=5))
    for call in (lambda: interviews.interview(boris, started.id),
                 lambda: interviews.current(boris, started.id),
                 lambda: interviews.answer(boris, started.id, 0, "mine now", False),
                 lambda: interviews.end(boris, started.id),
                 lambda: interviews.report(boris, started.id),
                 lambda: interviews.rate(boris, started.id, {})):
        with pytest.raises(NotFound, match=f"no interview with id {started.id}"):
            call()
    assert interviews.current(anna, started.id).position == 0
    assert interviews.past(boris) == [] and len(interviews.past(anna)) == 1


def test_due_and_weak_cards_from_past_practice_come_first(interviews, trainer, clock):
    user = trainer.user()
    rated = trainer.submit_attempt(user, "roc-auc", "It is an area under a curve.", False, 10)
    trainer.rate(user, rated.id, 1)
    trainer.submit_attempt(user, "mixed-precision", "Keep FP32 master weights.", False, 10)
    clock.now += timedelta(days=2)
    started = interviews.start(user, InterviewSettings(questions=4, minutes=20))
    assert started.settings["cards"] == ["roc-auc", "mixed-precision", "batchnorm",
                                         "dental-lesions-3d"]


def test_past_interviews_show_the_change_in_coverage(interviews, trainer, clock):
    user = trainer.user()
    for text in ("Gamma and beta.", BN_TYPED):
        started = interviews.start(user, InterviewSettings(("deep-learning",), 1, 5, False))
        answer_current(interviews, user, started.id, text)
        clock.now += timedelta(days=1)
    open_one = interviews.start(user, InterviewSettings(questions=1, minutes=5))
    newest, better, first = interviews.past(user)
    assert newest.id == open_one.id and newest.finished_at is None and newest.change is None
    assert first.change is None and better.share > first.share
    assert better.change == pytest.approx((better.share - first.share) * 100)


def test_the_interview_core_knows_nothing_of_the_front_ends():
    from .test_layout import PACKAGE, imports_of

    front = {name for name in imports_of(PACKAGE / "interview.py")
             if name.startswith(("razbor.web", "razbor.cli", "razbor.terminal", "fastapi",
                                 "starlette", "click", "rich", "sqlalchemy"))}
    assert front == set()


def test_two_answers_sent_at_once_record_one_and_ask_one_next_question(interviews, trainer):
    user = trainer.user()
    started = interviews.start(user, InterviewSettings(questions=2, minutes=5))
    barrier = threading.Barrier(2)
    outcomes = []

    def send(text: str) -> None:
        barrier.wait()
        try:
            interviews.answer(user, started.id, 0, text, False)
            outcomes.append("recorded")
        except AlreadyAnswered:
            outcomes.append("refused")

    threads = [threading.Thread(target=send, args=(text,)) for text in ("gamma", "beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["recorded", "refused"]
    first, follow_up = interviews.interview(user, started.id).questions
    assert first.answered and not follow_up.answered and follow_up.position == 1
