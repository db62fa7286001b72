"""The FastAPI application: wiring, language choice, body limits and error pages."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from razbor import __version__
from razbor.practice import Conflict, InvalidInput, Locked, NotFound, PracticeError, Trainer
from razbor.rendering import render_markdown
from razbor.transcription import TranscriptionService
from razbor.web.i18n import LANGUAGES, translator

HERE = Path(__file__).parent
MAX_BODY_BYTES = 1_000_000
STATUS = {NotFound: 404, InvalidInput: 400, Conflict: 409, Locked: 403}


def status_of(error: PracticeError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)


class BodyLimit:
    """Refuse request bodies over a limit before they are read into memory.

    Recording uploads get their own, larger limit (the audio size setting plus form overhead).
    """

    def __init__(self, app, limit: int = MAX_BODY_BYTES, upload_limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            limit = self.upload_limit if scope["path"].endswith("/recordings") else self.limit
            length = dict(scope["headers"]).get(b"content-length")
            if length and length.isdigit() and int(length) > limit:
                response = JSONResponse({"detail": f"request body over {limit} bytes"},
                                        status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(trainer: Trainer, lang: str = "ru",
               speech: TranscriptionService | None = None) -> FastAPI:
    """The web trainer for one deck and database, serving the local user."""
    from razbor.web import api, pages, recordings

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if speech is not None:
            speech.start()
        yield
        if speech is not None:
            speech.stop()

    app = FastAPI(title="razbor", version=__version__, lifespan=lifespan,
                  description="Attempt-first practice for ML interviews.",
                  docs_url=None, redoc_url=None)
    app.state.trainer = trainer
    app.state.speech = speech
    app.state.user_id = trainer.user()
    app.state.default_lang = lang
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["markdown"] = render_markdown
    templates.env.globals["titles"] = {card.id: card.title for card in trainer.deck}
    app.state.templates = templates
    app.mount("/static/docs", StaticFiles(packages=[("fastapi_offline", "static")]),
              name="docs-assets")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(recordings.router)
    app.include_router(pages.router)
    app.add_middleware(BodyLimit, upload_limit=(speech.max_bytes + 100_000 if speech
                                                else MAX_BODY_BYTES))

    @app.middleware("http")
    async def remember_language(request: Request, call_next):
        response = await call_next(request)
        chosen = request.query_params.get("lang")
        if chosen in LANGUAGES:
            response.set_cookie("razbor_lang", chosen, max_age=365 * 24 * 3600, samesite="lax")
        return response

    @app.exception_handler(PracticeError)
    async def practice_error(request: Request, error: PracticeError):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(error)}, status_code=status_of(error))
        return render(request, "error.html", {"message": str(error)},
                      status_code=status_of(error))

    return app


def language(request: Request) -> str:
    """?lang= wins and is remembered in a cookie; else the cookie; else the server default."""
    chosen = request.query_params.get("lang") or request.cookies.get("razbor_lang")
    return chosen if chosen in LANGUAGES else request.app.state.default_lang


def render(request: Request, template: str, context: dict, status_code: int = 200):
    lang = language(request)
    return request.app.state.templates.TemplateResponse(
        request, template, {"t": translator(lang), "lang": lang, **context},
        status_code=status_code)
