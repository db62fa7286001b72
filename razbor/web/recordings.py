"""Spoken attempts over HTTP: upload, follow the transcription, play the audio back.

The HTML routes work without JavaScript (a file upload and a page that refreshes itself);
app.js records with MediaRecorder and uses the JSON routes instead.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from razbor.practice import NotFound
from razbor.speech.audio import ACCEPTED_CONTAINERS, AUDIO_TYPES, AudioRejected
from razbor.storage import RecordingRecord
from razbor.transcription import SPEECH_CHOICES, Busy, TranscriptionService
from razbor.web.api import RowId
from razbor.web.app import language, render

router = APIRouter()
# The user's language for spoken answers (auto, ru or en), set on the settings page.
SPEECH_LANGUAGE_COOKIE = "razbor_speech_lang"
SUFFIXES = dict(ACCEPTED_CONTAINERS.values())
# The audio is the one thing served that a client wrote: whatever it holds must not render as a
# page of this origin, even when opened directly.
AUDIO_HEADERS = {"X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "sandbox; default-src 'none'"}


class RecordingOut(BaseModel):
    id: int
    card_id: str
    status: str
    progress: float
    duration: float
    transcript: str | None
    error: str | None
    audio_url: str


def speech_language(request: Request) -> str | None:
    """The user's choice of language for spoken answers, or None for the server's setting."""
    chosen = request.cookies.get(SPEECH_LANGUAGE_COOKIE)
    return chosen if chosen in SPEECH_CHOICES else None


def _service(request: Request) -> TranscriptionService:
    service = request.app.state.speech
    if service is None:
        raise NotFound("speech is not enabled on this server: pip install 'razbor[speech]' "
                       "and restart it")
    return service


def _out(recording) -> RecordingOut:
    return RecordingOut(id=recording.id, card_id=recording.card_id, status=recording.status,
                        progress=recording.progress, duration=recording.duration,
                        transcript=(recording.transcript or {}).get("text"),
                        error=recording.error, audio_url=f"/recordings/{recording.id}/audio")


def _submit(request: Request, card_id: str, audio: UploadFile):
    service = _service(request)
    try:
        return service.submit(request.state.user_id, card_id, audio.file,
                              language=speech_language(request), interface=language(request))
    except AudioRejected as error:
        return JSONResponse({"detail": str(error)}, status_code=error.status)
    except Busy as error:
        return JSONResponse({"detail": str(error)}, status_code=503,
                            headers={"Retry-After": "30"})


@router.post("/api/cards/{card_id}/recordings", status_code=202, tags=["speech"],
             summary="Upload a spoken attempt; it is transcribed in the background")
def upload_recording(request: Request, card_id: str,
                     audio: Annotated[UploadFile, File()]) -> RecordingOut:
    result = _submit(request, card_id, audio)
    return result if isinstance(result, JSONResponse) else _out(result)


@router.get("/api/recordings/{recording_id}", tags=["speech"],
            summary="Transcription state, progress and, when done, the transcript")
def recording_status(request: Request, recording_id: RowId) -> RecordingOut:
    service = _service(request)
    return _out(service.recording(request.state.user_id, recording_id))


@router.post("/cards/{card_id}/recordings", include_in_schema=False)
def upload_form(request: Request, card_id: str, audio: Annotated[UploadFile, File()],
                topic: Annotated[str, Form()] = ""):
    result = _submit(request, card_id, audio)
    if isinstance(result, JSONResponse):
        return render(request, "error.html", {"message": json.loads(result.body)["detail"]},
                      status_code=result.status_code)
    suffix = f"?topic={topic}" if topic else ""
    return RedirectResponse(f"/recordings/{result.id}{suffix}", status_code=303)


@router.get("/recordings/{recording_id}", include_in_schema=False)
def recording_page(request: Request, recording_id: RowId, topic: str = ""):
    service = _service(request)
    recording = service.recording(request.state.user_id, recording_id)
    card = request.app.state.trainer.card(recording.card_id)
    started = recording.created_at - timedelta(seconds=recording.duration)
    return render(request, "recording.html", {
        "recording": recording, "card": card, "topic": topic,
        "transcript": (recording.transcript or {}).get("text", ""),
        "started_at": started.isoformat(),
    })


@router.get("/recordings/{recording_id}/audio", include_in_schema=False)
def recording_audio(request: Request, recording_id: RowId):
    """The recording as a download that still plays in <audio>, inert if opened as a page."""
    service = _service(request)
    recording = service.recording(request.state.user_id, recording_id)
    mime = served_type(recording)
    return FileResponse(service.audio_path(recording), media_type=mime, headers=AUDIO_HEADERS,
                        filename=f"recording-{recording.id}{SUFFIXES.get(mime, '.audio')}",
                        content_disposition_type="attachment")


def served_type(recording: RecordingRecord) -> str:
    """The stored type if it is an accepted audio type, else application/octet-stream.

    Recordings uploaded before the server decided the type keep what the client declared,
    which may be anything (text/html included); parameters such as ;codecs=opus are dropped.
    """
    mime = recording.mime.split(";")[0].strip().lower()
    return mime if mime in AUDIO_TYPES else "application/octet-stream"
