"""The FastAPI application: wiring, language choice, body limits and error pages."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from razbor import __version__
from razbor.deferred_grading import DeferredGrading
from razbor.labs.background import LabCache, QueuedLabs
from razbor.practice import Conflict, InvalidInput, Locked, NotFound, PracticeError, Trainer
from razbor.rendering import render_markdown
from razbor.transcription import TranscriptionService
from razbor.web.i18n import LANGUAGES, translator
from razbor.web.security import install_security

if TYPE_CHECKING:
    from razbor.storage import AttemptRecord
    from razbor.storage.accounts import Accounts

HERE = Path(__file__).parent
MAX_BODY_BYTES = 1_000_000
# A Content-Length with more digits than this is over any limit (and int() refuses 4,301).
LONGEST_LENGTH = 12
MAX_MESSAGE_CHARS = 300
MAX_ECHO_CHARS = 40
LANGUAGE_COOKIE = "razbor_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
STATUS = {NotFound: 404, InvalidInput: 400, Conflict: 409, Locked: 403}


def status_of(error: PracticeError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)


def brief(text: str, limit: int) -> str:
    """Text fit to send back: cut to `limit` characters, anything not Unicode made '?'.

    Error replies quote the request (a field name, a card id); a megabyte of it, or a lone
    surrogate that cannot be encoded, must not come back.
    """
    cut = text if len(text) <= limit else text[:limit] + "…"
    return cut.encode("utf-8", "replace").decode("utf-8")


def validation_problems(error: RequestValidationError) -> list[dict]:
    """What is wrong and where, without the rejected input that FastAPI's default echoes."""
    return [{"type": problem["type"], "msg": brief(problem["msg"], MAX_MESSAGE_CHARS),
             "loc": [part if isinstance(part, int) else brief(str(part), MAX_ECHO_CHARS)
                     for part in problem["loc"]]}
            for problem in error.errors()]


class BodyTooLarge(HTTPException):
    """Raised while the body is read; an HTTPException, because FastAPI passes those on (as a
    413 here) and turns any other error met while reading a body into a 400."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    """Refuse request bodies over a limit, never holding more than the limit in memory.

    A declared Content-Length over the limit is refused before anything is read; a chunked
    body (or one longer than it declared) is counted while the app reads it, and reading stops
    with 413 at the limit. Recording uploads get their own, larger limit (the audio size
    setting plus form overhead).
    """

    def __init__(self, app, limit: int = MAX_BODY_BYTES, upload_limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].endswith("/recordings") else self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length and length.isdigit() and (len(length) > LONGEST_LENGTH or int(length) > limit):
            await self._refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            return message

        async def noted_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, noted_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope, receive, send) -> None:
        response = JSONResponse({"detail": BodyTooLarge(limit).detail}, status_code=413)
        await response(scope, receive, send)


class RememberLanguage:
    """Keep a language chosen with ?lang= in a cookie, so later pages come in it too.

    Plain ASGI rather than Starlette's @app.middleware("http"), which runs every request
    through a task group and memory streams and costs more than many a page itself.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        chosen = _chosen_language(scope) if scope["type"] == "http" else None
        if chosen is None:
            await self.app(scope, receive, send)
            return
        cookie = SimpleCookie()
        cookie[LANGUAGE_COOKIE] = chosen
        cookie[LANGUAGE_COOKIE].update({"max-age": LANGUAGE_COOKIE_SECONDS, "path": "/",
                                        "samesite": "lax"})
        header = cookie.output(header="").strip().encode("latin-1")

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"set-cookie", header)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _chosen_language(scope) -> str | None:
    """The language a request's ?lang= names, if razbor has it."""
    query = scope.get("query_string", b"")
    if not query:
        return None
    chosen = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)).get("lang")
    return chosen if chosen in LANGUAGES else None


def create_app(trainer: Trainer, lang: str = "ru",
               speech: TranscriptionService | None = None,
               allowed_hosts: Sequence[str] | None = None,
               accounts: Accounts | None = None,
               grading: DeferredGrading | None = None,
               labs: LabCache | QueuedLabs | None = None) -> FastAPI:
    """The web trainer for one deck and database.

    Without accounts it serves the local user with no login; with them, every page and API
    call needs a signed-in account. allowed_hosts are the Host names it answers (None: any,
    as for tests; `serve` passes them). Attempts a slow grader grades are graded by
    `grading` after the request, and labs are computed by `labs` (by default both in a
    thread of this process).
    """
    from razbor.web import admin, api, auth, interview, media, pages, recordings

    grading = grading or DeferredGrading(trainer)
    labs = labs or LabCache()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        labs.start()
        grading.start()
        if speech is not None:
            speech.start()
        yield
        if speech is not None:
            speech.stop()
        grading.stop()
        labs.stop()

    app = FastAPI(title="razbor", version=__version__, lifespan=lifespan,
                  description="Attempt-first practice for ML interviews.",
                  docs_url=None, redoc_url=None)
    app.state.trainer = trainer
    app.state.speech = speech
    app.state.grading = grading
    app.state.accounts = accounts
    app.state.user_id = trainer.user() if accounts is None else None
    app.state.default_lang = lang
    app.state.labs = labs
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # Templates are read once: checking every file's time on each page costs several stat calls.
    templates.env.auto_reload = False
    templates.env.filters["markdown"] = render_markdown
    templates.env.globals["titles"] = {card.id: card.title for card in trainer.deck}
    app.state.templates = templates
    app.mount("/static/docs", StaticFiles(packages=[("fastapi_offline", "static")]),
              name="docs-assets")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    signed_in = [Depends(auth.signed_in)]
    app.include_router(api.router, dependencies=signed_in)
    app.include_router(recordings.router, dependencies=signed_in)
    app.include_router(pages.router, dependencies=signed_in)
    app.include_router(interview.router, dependencies=signed_in)
    app.include_router(media.router, dependencies=signed_in)
    if accounts is not None:
        app.include_router(auth.router)
        app.include_router(admin.router)
    app.add_middleware(BodyLimit, upload_limit=(speech.max_bytes + 100_000 if speech
                                                else MAX_BODY_BYTES))

    app.add_middleware(RememberLanguage)

    @app.exception_handler(PracticeError)
    async def practice_error(request: Request, error: PracticeError):
        message = brief(str(error), MAX_MESSAGE_CHARS)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status_of(error))
        return render(request, "error.html", {"message": message},
                      status_code=status_of(error))

    @app.exception_handler(auth.NotSignedIn)
    async def not_signed_in(request: Request, _error: auth.NotSignedIn):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in first: POST /login with name and password "
                                           "sets the session cookie"}, status_code=401)
        return auth.login_redirect(request)

    @app.exception_handler(auth.NotAllowed)
    async def not_allowed(request: Request, _error: auth.NotAllowed):
        return render(request, "error.html", {"message": translator(language(request))(
            "admins_only")}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        try:
            await auth.settle_session(request)
        except auth.NotSignedIn as anonymous:
            return await not_signed_in(request, anonymous)
        return JSONResponse({"detail": validation_problems(error)}, status_code=422)

    install_security(app, allowed_hosts)
    return app


def language(request: Request) -> str:
    """?lang= wins and is remembered in a cookie; else the cookie; else the server default."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else request.app.state.default_lang


def render(request: Request, template: str, context: dict, status_code: int = 200):
    lang = language(request)
    return request.app.state.templates.TemplateResponse(
        request, template, {"t": translator(lang), "lang": lang,
                            "user": getattr(request.state, "user", None), **context},
        status_code=status_code)


def submit_for_grading(request: Request, user_id: int, card_id: str, text: str, aloud: bool,
                       seconds: float, recording_id: int | None) -> AttemptRecord:
    """Store an attempt; with a slow grader, answer at once and have it graded after."""
    grading = request.app.state.grading
    attempt = request.app.state.trainer.submit_attempt(
        user_id, card_id, text, aloud, seconds, recording_id=recording_id,
        grade_later=grading.defers)
    if attempt.grading:
        grading.grade_later(attempt.id)
    return attempt
