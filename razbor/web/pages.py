"""HTML pages: plain forms that work without JavaScript; app.js only adds comfort."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import URL

from razbor.cards import Card
from razbor.practice import InvalidInput, Locked, NotFound, Trainer
from razbor.speech.whisper import speech_installed
from razbor.transcription import SPEECH_CHOICES
from razbor.web.app import language, render, submit_for_grading
from razbor.web.auth import looks_up_session, user_id_of
from razbor.web.charts import stats_charts
from razbor.web.db_threads import run_read, run_write
from razbor.web.feedback_view import feedback_view
from razbor.web.i18n import translator
from razbor.web.recordings import SPEECH_LANGUAGE_COOKIE, speech_language

router = APIRouter(include_in_schema=False)
LAB_SEED = 0


def _trainer(request: Request) -> tuple[Trainer, int]:
    return request.app.state.trainer, request.state.user_id


def _next_card(request: Request, topic: str | None) -> Card | None:
    return request.app.state.trainer.next_card(user_id_of(request), topic)


def _with_topic(path: str, topic: str | None) -> str:
    return str(URL(path).include_query_params(topic=topic)) if topic else path


@router.get("/")
def home(request: Request):
    trainer, user_id = _trainer(request)
    return render(request, "home.html", _home_context(trainer, user_id))


def _home_context(trainer: Trainer, user_id: int, plan_error: str = "",
                  typed: tuple[str, list[str]] | None = None) -> dict:
    """The topic counts, and the interview-date form with the plan's status.

    typed: the date and topics a refused form sent, shown again for correction.
    """
    counts = trainer.topic_counts(user_id)
    totals = {kind: sum(getattr(c, kind) for c in counts) for kind in ("due", "new", "learned")}
    target = trainer.target_date(user_id)
    day, topics = typed or ((target.day.isoformat(), list(target.topics)) if target else ("", []))
    return {"counts": counts, "totals": totals, "readiness": trainer.readiness(user_id),
            "plan_day": day, "plan_topics": topics, "plan_error": plan_error,
            "tomorrow": (trainer.clock() + timedelta(days=1)).date().isoformat()}


@router.post("/plan")
def save_plan(request: Request, date: Annotated[str, Form(max_length=40)] = "",
              topics: Annotated[list[str] | None, Form()] = None,
              clear: Annotated[str, Form(max_length=10)] = ""):
    """Set or clear the interview date from the home page's form; a refused one is shown again
    with the reason."""
    trainer, user_id = _trainer(request)
    try:
        if clear:
            trainer.clear_target_date(user_id)
        else:
            trainer.set_target_date(user_id, date, topics or [])
    except InvalidInput as error:
        context = _home_context(trainer, user_id, str(error), (date, topics or []))
        return render(request, "home.html", context, status_code=400)
    return RedirectResponse("/", status_code=303)


@router.get("/docs")
def api_docs(request: Request):
    """The OpenAPI explorer, served from files installed with the package, never a CDN."""
    return render(request, "docs.html", {})


@router.get("/practice")
@looks_up_session
async def practice(request: Request, topic: str | None = None):
    """Async, with the session and the choice of the card on one read thread trip (see
    razbor.web.db_threads)."""
    card = await run_read(_next_card, request, topic or None)
    if card is None:
        return render(request, "done.html", {"topic": topic})
    return RedirectResponse(_with_topic(f"/cards/{card.id}", topic), status_code=303)


@router.get("/cards/{card_id}")
async def card_page(request: Request, card_id: str, topic: str | None = None):
    """Async: the question comes from the deck in memory, so no thread is needed."""
    trainer, _ = _trainer(request)
    card = trainer.card(card_id)
    context = _practice_context(card, topic, "", trainer.clock())
    context["recording_on"] = (request.app.state.speech is not None
                               and request.cookies.get("razbor_record") != "off")
    return render(request, "practice.html", context)


def _practice_context(card, topic: str | None, text: str, now: datetime,
                      error: str = "") -> dict:
    return {"card": card, "topic": topic or "", "text": text, "error": error,
            "started_at": now.isoformat(),
            "speech_installed": _speech_installed()}


@cache
def _speech_installed() -> bool:
    """Looked up once: a package search walks sys.path, and installing speech needs a restart."""
    return speech_installed()


@router.post("/cards/{card_id}/attempts")
def submit_attempt(
    request: Request, card_id: str,
    text: Annotated[str, Form()] = "",
    aloud: Annotated[str, Form()] = "",
    started_at: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "",
    recording_id: Annotated[int | None, Form()] = None,
):
    trainer, user_id = _trainer(request)
    card = trainer.card(card_id)
    try:
        seconds = _seconds_since(started_at, trainer.clock())
        attempt = submit_for_grading(request, user_id, card_id, text, bool(aloud), seconds,
                                     recording_id)
    except InvalidInput as error:
        context = _practice_context(card, topic, text, trainer.clock(), str(error))
        context["started_at"] = started_at or context["started_at"]
        return render(request, "practice.html", context, status_code=400)
    return RedirectResponse(_with_topic(f"/attempts/{attempt.id}", topic), status_code=303)


def _seconds_since(started_at: str, now: datetime) -> float:
    """Time spent, measured by the server's clock (the trainer's) from the moment it rendered
    the form."""
    try:
        started = datetime.fromisoformat(started_at)
    except ValueError as error:
        raise InvalidInput("the form lost its start time; reload the card") from error
    if started.tzinfo is None:
        raise InvalidInput("the form's start time has no timezone; reload the card")
    return max(0.0, (now - started).total_seconds())


@router.get("/attempts/{attempt_id}")
def attempt_page(request: Request, attempt_id: int, topic: str | None = None):
    trainer, user_id = _trainer(request)
    attempt = trainer.attempt(user_id, attempt_id)
    card = trainer.analysis(user_id, attempt_id)
    return render(request, "attempt.html", {
        "attempt": attempt, "card": card, "delivery": attempt.delivery,
        "feedback": feedback_view(card, attempt.text, trainer.feedback(attempt)),
        "review": trainer.store.review_of(attempt_id), "topic": topic or "",
        "open": request.query_params.get("reveal") == "1",
    })


@router.post("/attempts/{attempt_id}/rating")
@looks_up_session
async def rate_attempt(request: Request, attempt_id: int,
                       rating: Annotated[str, Form()], topic: Annotated[str, Form()] = ""):
    """Async, with the session and the rating on one write thread trip."""
    await run_write(_rate, request, attempt_id, rating)
    return RedirectResponse(_with_topic("/practice", topic), status_code=303)


def _rate(request: Request, attempt_id: int, rating: str) -> None:
    request.app.state.trainer.rate(user_id_of(request), attempt_id, rating)


@router.get("/browse")
def browse(request: Request, q: str = "", topic: str | None = None):
    trainer, _ = _trainer(request)
    cards = trainer.deck.search(q, topic or None)
    return render(request, "browse.html", {"cards": cards, "q": q, "topic": topic or "",
                                           "topics": trainer.deck.topics()})


@router.get("/cards/{card_id}/history")
def history(request: Request, card_id: str):
    trainer, user_id = _trainer(request)
    card = trainer.card(card_id)
    entries = [(attempt, review, feedback_view(card, attempt.text, trainer.feedback(attempt)))
               for attempt, review in trainer.history(user_id, card_id)]
    return render(request, "history.html", {"card": card, "entries": entries})


@router.get("/stats")
def stats(request: Request):
    """Progress over the last year, drawn as SVG on the server, each chart with its table."""
    trainer, user_id = _trainer(request)
    result = trainer.stats(user_id)
    charts = stats_charts(result.progress, translator(language(request)))
    return render(request, "stats.html", {"stats": result, "progress": result.progress,
                                          "charts": charts})


@router.get("/settings")
def settings_page(request: Request):
    return render(request, "settings.html", {
        "speech_available": request.app.state.speech is not None,
        "recording_on": request.cookies.get("razbor_record") != "off",
        "speech_choices": SPEECH_CHOICES,
        "speech_language": speech_language(request) or "auto",
    })


@router.post("/settings")
def save_settings(request: Request, recording: Annotated[str, Form()] = "off",
                  lang: Annotated[str, Form()] = "", speech_lang: Annotated[str, Form()] = ""):
    response = RedirectResponse("/settings", status_code=303)
    response.set_cookie("razbor_record", "on" if recording == "on" else "off",
                        max_age=365 * 24 * 3600, samesite="lax")
    if lang in ("ru", "en"):
        response.set_cookie("razbor_lang", lang, max_age=365 * 24 * 3600, samesite="lax")
    if speech_lang in SPEECH_CHOICES:
        response.set_cookie(SPEECH_LANGUAGE_COOKIE, speech_lang, max_age=365 * 24 * 3600,
                            samesite="lax")
    return response


@router.get("/cards/{card_id}/lab")
def lab_page(request: Request, card_id: str):
    """A card's lab, once the user has attempted the card: its claims give the answer away.

    The lab runs in the background once per lab; until it is done the page says so and
    reloads itself.
    """
    trainer, user_id = _trainer(request)
    try:
        trainer.analysis_of_card(user_id, card_id)
    except Locked as error:
        raise Locked("make an attempt at this card before opening its lab") from error
    card = trainer.card(card_id)
    if not card.lab:
        raise NotFound(f"card {card_id!r} has no lab")
    outcome = request.app.state.labs.outcome(card.lab, LAB_SEED)
    return render(request, "lab.html", {"card": card, "outcome": outcome},
                  status_code=200 if outcome else 202)
