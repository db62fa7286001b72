"""The web app built from settings, and from RAZBOR_ variables for servers that import it.

`razbor serve --workers N` and a deployment's own server command (for example one
`uvicorn --factory razbor.web.factory:app_from_environment --port P` per port behind a proxy)
start processes that import the app by name; each builds it here from the same variables, so
they are identical and hold no state of their own: the database has it all.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from razbor.config import SERVING, Settings
from razbor.practice import Trainer
from razbor.transcription import TranscriptionService

BIND_HOST_VARIABLE = "RAZBOR_BIND_HOST"


def build_app(settings: Settings, trainer: Trainer, speech: TranscriptionService | None,
              bind_host: str) -> FastAPI:
    from razbor.storage.accounts import Accounts
    from razbor.web.app import create_app
    from razbor.web.security import trusted_hosts

    return create_app(trainer, lang=settings.lang, speech=speech,
                      allowed_hosts=trusted_hosts(settings.allowed_hosts, bind_host),
                      accounts=Accounts(trainer.store) if settings.accounts else None,
                      grading=settings.deferred_grading(trainer),
                      labs=settings.lab_runs(trainer))


def app_from_environment() -> FastAPI:
    """The app as `razbor serve` would build it, from RAZBOR_ variables alone."""
    settings = Settings.load(SERVING)
    trainer = settings.open_trainer()
    return build_app(settings, trainer, settings.transcription(trainer),
                     os.environ.get(BIND_HOST_VARIABLE, "127.0.0.1"))
