"""Mock interviews in the browser: plain forms that work without JavaScript.

A question page never links to an analysis: an answer goes to the next question, and the
analyses, feedback and ratings wait for the report. interview.js adds the countdown and
Ctrl+Enter on the report; app.js already records and sends answers with the keyboard.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from razbor.interview import (
    MAX_MINUTES,
    MAX_QUESTIONS,
    PRESETS,
    AlreadyAnswered,
    Interviews,
    InterviewSettings,
    Question,
    as_clock,
)
from razbor.practice import InvalidInput, NotFound
from razbor.speech.audio import AudioRejected
from razbor.speech.whisper import speech_installed
from razbor.storage import MAX_ID
from razbor.transcription import Busy
from razbor.web.api import RowId
from razbor.web.app import MAX_MESSAGE_CHARS, brief, language, render
from razbor.web.recordings import speech_language

router = APIRouter(prefix="/interviews", include_in_schema=False)
RATING_FIELD = "rating-"
ROW_ID = re.compile(r"[0-9]{1,10}")


def _interviews(request: Request) -> tuple[Interviews, int]:
    """The app's interview use cases (made on first use) and the signed-in user."""
    state = request.app.state
    if not hasattr(state, "interviews"):
        state.interviews = Interviews(state.trainer)
    return state.interviews, request.state.user_id


def _whole(value: str, name: str, limit: int) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise InvalidInput(f"{name} must be between 1 and {limit}") from error


@router.get("")
def interviews_page(request: Request):
    return _list_page(request, InterviewSettings(), "")


def _list_page(request: Request, chosen: InterviewSettings, error: str, status_code: int = 200):
    interviews, user_id = _interviews(request)
    past = interviews.past(user_id)
    finished = [summary for summary in reversed(past)
                if summary.finished_at is not None and summary.share is not None]
    return render(request, "interview_list.html", {
        "past": past, "trend": finished[-10:], "chosen": chosen, "error": error,
        "topics": list(dict.fromkeys(card.topic for card in interviews.trainer.deck)),
        "max_questions": MAX_QUESTIONS,
        "max_minutes": MAX_MINUTES, "clock": as_clock,
        "case": "system-design" in interviews.trainer.deck.topics(),
    }, status_code=status_code)


@router.post("")
def start_interview(request: Request, topics: Annotated[list[str] | None, Form()] = None,
                    questions: Annotated[str, Form()] = "5",
                    minutes: Annotated[str, Form()] = "30",
                    follow_ups: Annotated[str, Form()] = "",
                    preset: Annotated[str, Form()] = ""):
    interviews, user_id = _interviews(request)
    chosen = InterviewSettings(tuple(topic for topic in topics or () if topic),
                               follow_ups=bool(follow_ups))
    try:
        if preset:
            if preset not in PRESETS:
                raise InvalidInput(f"no preset named {preset!r}")
            chosen = PRESETS[preset]
        else:
            chosen = InterviewSettings(
                chosen.topics, _whole(questions, "questions", MAX_QUESTIONS),
                _whole(minutes, "minutes", MAX_MINUTES), chosen.follow_ups)
        started = interviews.start(user_id, chosen)
    except InvalidInput as error:
        return _list_page(request, chosen, brief(str(error), MAX_MESSAGE_CHARS), status_code=400)
    return RedirectResponse(f"/interviews/{started.id}", status_code=303)


@router.get("/{interview_id}")
def question_page(request: Request, interview_id: RowId, recording: int | None = None):
    interviews, user_id = _interviews(request)
    question = interviews.current(user_id, interview_id)
    if question is None:
        return RedirectResponse(f"/interviews/{interview_id}/report", status_code=303)
    return _question(request, question, recording_id=recording)


def _question(request: Request, question: Question, text: str = "", error: str = "",
              recording_id: int | None = None, status_code: int = 200):
    """The page of the open question; a recording sent from it (without JavaScript) shows its
    transcription, then fills the answer with the transcript."""
    speech = request.app.state.speech
    recording = None
    if recording_id is not None and speech is not None:
        recording = speech.recording(request.state.user_id, recording_id)
        if recording.card_id != question.card.id:
            raise NotFound(f"no recording with id {recording_id}")
        if recording.status == "done" and not text:
            text = (recording.transcript or {}).get("text", "")
    now = request.app.state.trainer.clock()
    return render(request, "interview_question.html", {
        "question": question, "text": text, "error": error, "recording": recording,
        "left": (question.ends_at - now).total_seconds(), "clock": as_clock,
        "recording_on": speech is not None and request.cookies.get("razbor_record") != "off",
        "speech_installed": speech_installed(),
    }, status_code=status_code)


@router.post("/{interview_id}/answers")
def answer(request: Request, interview_id: RowId,
           position: Annotated[str, Form()] = "",
           text: Annotated[str, Form()] = "",
           aloud: Annotated[str, Form()] = "",
           recording_id: Annotated[str, Form()] = ""):
    interviews, user_id = _interviews(request)
    question = interviews.current(user_id, interview_id)
    here = RedirectResponse(f"/interviews/{interview_id}", status_code=303)
    if question is None or position != str(question.position):
        return here
    try:
        interviews.answer(user_id, interview_id, question.position, text, bool(aloud),
                          _recording_id(recording_id))
    except AlreadyAnswered:
        return here
    except InvalidInput as error:
        return _question(request, question, text, brief(str(error), MAX_MESSAGE_CHARS),
                         status_code=400)
    return here


def _recording_id(value: str) -> int | None:
    if not value:
        return None
    return _row_id(value, "recording")


def _row_id(value: str, kind: str) -> int:
    """A row id sent as text; NotFound for anything else, "²" and a 5,000-digit number
    included (int() refuses both, isdigit() does not)."""
    if not ROW_ID.fullmatch(value) or not 0 < int(value) <= MAX_ID:
        raise NotFound(f"no {kind} with id {value[:20]}")
    return int(value)


@router.post("/{interview_id}/recordings")
def upload_recording(request: Request, interview_id: RowId,
                     audio: Annotated[UploadFile, File()]):
    """A spoken answer sent as a file (the way without JavaScript): transcribed in the
    background while the question page follows it."""
    interviews, user_id = _interviews(request)
    question = interviews.current(user_id, interview_id)
    if question is None:
        return RedirectResponse(f"/interviews/{interview_id}/report", status_code=303)
    service = request.app.state.speech
    if service is None:
        raise NotFound("speech is not enabled on this server: pip install 'razbor[speech]' "
                       "and restart it")
    try:
        recording = service.submit(user_id, question.card.id, audio.file,
                                   language=speech_language(request),
                                   interface=language(request))
    except (AudioRejected, Busy) as error:
        status = error.status if isinstance(error, AudioRejected) else 503
        return _question(request, question, error=str(error), status_code=status)
    return RedirectResponse(f"/interviews/{interview_id}?recording={recording.id}",
                            status_code=303)


@router.post("/{interview_id}/end")
def end_interview(request: Request, interview_id: RowId):
    interviews, user_id = _interviews(request)
    interviews.end(user_id, interview_id)
    return RedirectResponse(f"/interviews/{interview_id}/report", status_code=303)


@router.get("/{interview_id}/report")
def report_page(request: Request, interview_id: RowId):
    interviews, user_id = _interviews(request)
    return render(request, "interview_report.html", {
        "report": interviews.report(user_id, interview_id), "clock": as_clock})


@router.post("/{interview_id}/ratings")
async def rate_answers(request: Request, interview_id: RowId):
    """Every rating of the report's form at once; fields are rating-<attempt id>."""
    form = await request.form()
    ratings = {}
    for name, value in form.multi_items():
        if name.startswith(RATING_FIELD) and isinstance(value, str) and value:
            ratings[_row_id(name.removeprefix(RATING_FIELD), "attempt")] = value
    interviews, user_id = _interviews(request)
    await run_in_threadpool(interviews.rate, user_id, interview_id, ratings)
    return RedirectResponse(f"/interviews/{interview_id}/report#ratings", status_code=303)
