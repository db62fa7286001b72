"""The JSON API: the same attempt-first flow for scripts and other front ends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from razbor.cards import Card
from razbor.practice import MAX_ATTEMPT_SECONDS, Trainer
from razbor.rendering import render_markdown
from razbor.storage import MAX_ID, AttemptRecord, ReviewRecord
from razbor.web.app import submit_for_grading
from razbor.web.auth import looks_up_session, user_id_of
from razbor.web.db_threads import run_read, run_write

router = APIRouter(prefix="/api", tags=["practice"])
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored row's id")]


class Strict(BaseModel):
    """Unknown fields are an error, and so are NaN and infinity (JSON has neither)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CardOut(Strict):
    """A question without its analysis: safe to send before an attempt."""

    id: str
    title: str
    question: str = Field(description="The interviewer's question, when the card words one "
                                      "beyond its title")
    lang: str
    topics: list[str]
    difficulty: int
    instruction: str


class Section(Strict):
    markdown: str
    html: str


class AnalysisOut(Strict):
    card_id: str
    title: str
    short_answer: Section
    analysis: Section
    mistakes: Section
    interview: Section


class AttemptIn(Strict):
    text: str = ""
    answered_aloud: bool = False
    seconds: float = Field(0, ge=0, le=MAX_ATTEMPT_SECONDS)
    recording_id: int | None = Field(None, ge=1, le=MAX_ID,
                                     description="A transcribed recording this attempt was "
                                     "made from (its transcript, possibly edited)")


class ReviewOut(Strict):
    id: int
    attempt_id: int
    rating: int
    reviewed_at: datetime
    next_due: datetime
    state: str


class AttemptOut(Strict):
    id: int
    card_id: str
    text: str
    answered_aloud: bool
    seconds: float
    created_at: datetime
    recording_id: int | None = None
    delivery: dict | None = None
    review: ReviewOut | None = None
    feedback: dict | None = Field(None, description="The grader's feedback: key points "
                                  "covered with evidence spans, mistakes, suggested rating")
    grading: str | None = Field(None, description='"queued" while a slow grader (the LLM '
                                'judge) has yet to write the feedback; null once it has')


class RatingIn(Strict):
    rating: int | str = Field(description="1-4 or again/hard/good/easy")
    card_id: str | None = None


class NextOut(Strict):
    card: CardOut | None


def _trainer(request: Request) -> tuple[Trainer, int]:
    return request.app.state.trainer, request.state.user_id


def _card_out(card: Card) -> CardOut:
    return CardOut(id=card.id, title=card.title, question=card.question, lang=card.lang,
                   topics=list(card.topics),
                   difficulty=card.difficulty, instruction=card.instruction)


def _analysis_out(card: Card) -> AnalysisOut:
    def section(source: str) -> Section:
        return Section(markdown=source, html=render_markdown(source))

    return AnalysisOut(card_id=card.id, title=card.title,
                       short_answer=section(card.short_answer), analysis=section(card.analysis),
                       mistakes=section(card.mistakes), interview=section(card.interview))


def _review_out(review: ReviewRecord) -> ReviewOut:
    return ReviewOut(id=review.id, attempt_id=review.attempt_id, rating=review.rating,
                     reviewed_at=review.reviewed_at, next_due=review.state_after.due,
                     state=review.state_after.state)


def _attempt_out(attempt: AttemptRecord, review: ReviewRecord | None) -> AttemptOut:
    return AttemptOut(id=attempt.id, card_id=attempt.card_id, text=attempt.text,
                      answered_aloud=attempt.answered_aloud, seconds=attempt.seconds,
                      created_at=attempt.created_at, feedback=attempt.feedback,
                      grading=attempt.grading,
                      recording_id=attempt.recording_id, delivery=attempt.delivery,
                      review=_review_out(review) if review else None)


@router.get("/next", summary="The next card to practise, without its analysis")
@looks_up_session
async def next_card(request: Request, topic: str | None = None) -> NextOut:
    card = await run_read(_next_card, request, topic)
    return NextOut(card=_card_out(card) if card else None)


@router.get("/cards", summary="All cards of the deck, optionally searched and filtered")
def list_cards(request: Request, q: str = "", topic: str | None = None) -> list[CardOut]:
    trainer, _ = _trainer(request)
    return [_card_out(card) for card in trainer.deck.search(q, topic)]


@router.get("/cards/{card_id}", summary="One card's question, without its analysis")
def get_card(request: Request, card_id: str) -> CardOut:
    trainer, _ = _trainer(request)
    return _card_out(trainer.card(card_id))


@router.get("/cards/{card_id}/analysis",
            summary="The analysis of a card: 403 until the user has made an attempt")
def card_analysis(request: Request, card_id: str) -> AnalysisOut:
    trainer, user_id = _trainer(request)
    return _analysis_out(trainer.analysis_of_card(user_id, card_id))


@router.post("/cards/{card_id}/attempts", status_code=201,
             summary="Submit an attempt (typed text, or answered aloud); unlocks the analysis")
def submit_attempt(request: Request, card_id: str, body: AttemptIn) -> AttemptOut:
    _, user_id = _trainer(request)
    attempt = submit_for_grading(request, user_id, card_id, body.text, body.answered_aloud,
                                 body.seconds, body.recording_id)
    return _attempt_out(attempt, None)


@router.get("/cards/{card_id}/attempts", summary="Every attempt at a card, newest first")
def card_history(request: Request, card_id: str) -> list[AttemptOut]:
    trainer, user_id = _trainer(request)
    return [_attempt_out(a, r) for a, r in trainer.history(user_id, card_id)]


@router.get("/attempts/{attempt_id}", summary="One attempt with its rating, if any")
def get_attempt(request: Request, attempt_id: RowId) -> AttemptOut:
    trainer, user_id = _trainer(request)
    attempt = trainer.attempt(user_id, attempt_id)
    return _attempt_out(attempt, trainer.store.review_of(attempt_id))


@router.get("/attempts/{attempt_id}/analysis",
            summary="The analysis of the card as it stood when the attempt was made")
def attempt_analysis(request: Request, attempt_id: RowId) -> AnalysisOut:
    trainer, user_id = _trainer(request)
    return _analysis_out(trainer.analysis(user_id, attempt_id))


@router.post("/attempts/{attempt_id}/rating", status_code=201,
             summary="Rate an attempt once; repeating the same rating returns it with 200")
@looks_up_session
async def rate_attempt(request: Request, response: Response, attempt_id: RowId,
                       body: RatingIn) -> ReviewOut:
    """Async, with the session and the rating on one write thread trip (see
    razbor.web.db_threads): FastAPI would otherwise take the answer's validation to a worker
    thread too, another trip for a few microseconds' work."""
    review, created = await run_write(_rate, request, attempt_id, body)
    if not created:
        response.status_code = 200
    return _review_out(review)


def _next_card(request: Request, topic: str | None) -> Card | None:
    return request.app.state.trainer.next_card(user_id_of(request), topic)


def _rate(request: Request, attempt_id: int, body: RatingIn) -> tuple[ReviewRecord, bool]:
    return request.app.state.trainer.rate(user_id_of(request), attempt_id, body.rating,
                                          card_id=body.card_id)
