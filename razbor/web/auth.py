"""Who is asking: the implicit local user, or (with accounts on) a signed-in account.

Every router that shows or changes practice data depends on `signed_in`, which puts the user on
`request.state`; the trainer's methods take that user's id and refuse another user's rows as
not found. Sessions are server-side (see razbor.storage.accounts), in an HttpOnly, SameSite=Lax
cookie that is Secure whenever the request came over HTTPS (a proxy passes the scheme on with
X-Forwarded-Proto, which uvicorn trusts from --forwarded-allow-ips).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, ParamSpec, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from razbor.accounts import (
    NAME_PATTERN,
    SESSION_LIFETIME,
    AccountError,
    User,
    check_name,
    check_password,
    hash_password,
    new_token,
    password_matches,
    token_digest,
)
from razbor.web.app import language, render
from razbor.web.db_threads import run_read
from razbor.web.i18n import translator

SESSION_COOKIE = "razbor_session"
# The attribute `looks_up_session` sets on an endpoint.
SESSION_IN_ENDPOINT = "razbor_looks_up_session"
P = ParamSpec("P")
R = TypeVar("R")
# Mounted only when accounts are on: without them there is nobody to sign in.
router = APIRouter(include_in_schema=False)


class NotSignedIn(Exception):
    """No live session on a request that needs one: pages go to the login form, the API 401s."""


class NotAllowed(Exception):
    """A signed-in user asked for something only an admin may do."""


async def signed_in(request: Request) -> User | None:
    """The dependency of every data route: the account signed in, or None without accounts.

    Async so that the laptop's single user costs no trip to a worker thread; a session is
    looked up in one of the read threads, as the database must not block the event loop.
    A route marked with `looks_up_session` is only noted as pending here: it looks the session
    up itself, in the same thread trip as its own database work (see `user_id_of`).
    """
    if request.app.state.accounts is None:
        request.state.user = None
        request.state.user_id = request.app.state.user_id
        return None
    if getattr(request.scope.get("endpoint"), SESSION_IN_ENDPOINT, False):
        request.state.session_pending = True
        return None
    return await run_read(session_user, request)


def looks_up_session(endpoint: Callable[P, R]) -> Callable[P, R]:
    """Mark a route whose every answer starts with `user_id_of` on a database thread.

    One thread trip instead of two: a trip costs more CPU than the lookup itself. A request
    whose input fails validation never reaches the endpoint; `settle_session` then looks the
    session up first, so an anonymous request is still refused as anonymous, as on any route.
    """
    setattr(endpoint, SESSION_IN_ENDPOINT, True)
    return endpoint


def user_id_of(request: Request) -> int:
    """The id of the request's user, looking up a pending session first (NotSignedIn without
    a live one); blocking, for a database thread."""
    if getattr(request.state, "session_pending", False):
        session_user(request)
        request.state.session_pending = False
    return request.state.user_id


async def settle_session(request: Request) -> None:
    """Look up a pending session now (NotSignedIn without a live one), for an answer that does
    not reach the endpoint."""
    if getattr(request.state, "session_pending", False):
        await run_read(user_id_of, request)


def session_user(request: Request) -> User:
    """The account of the request's live session; NotSignedIn without one."""
    accounts = request.app.state.accounts
    token = request.cookies.get(SESSION_COOKIE, "")
    user = accounts.session_user(token_digest(token), _now()) if token else None
    if user is None:
        raise NotSignedIn()
    request.state.user = user
    request.state.user_id = user.id
    return user


def admin(request: Request) -> User:
    """The dependency of the admin pages: a signed-in admin, or NotAllowed (403)."""
    user = session_user(request)
    if not user.is_admin:
        raise NotAllowed()
    return user


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _now() -> datetime:
    return datetime.now(UTC)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str) -> str:
    """Only a path on this site: never //host or a scheme, which would make an open redirect."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _start_session(request: Request, user: User, target: str) -> RedirectResponse:
    token = new_token()
    request.app.state.accounts.start_session(user.id, token_digest(token), _now())
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", {"next": _safe_next(next), "error": "", "name": ""})


@router.post("/login")
def login(request: Request, name: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=2000)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/"):
    accounts = request.app.state.accounts
    # A name no account can have ("bo\0b") is not looked up, and its failures count together.
    account_name = name if NAME_PATTERN.fullmatch(name) else ""
    failure = accounts.start_login(account_name, _address(request), _now())
    if failure is None:
        return render(request, "login.html", {
            "next": _safe_next(next), "name": name, "error": "too_many_failures"},
            status_code=429)
    user, stored_hash = accounts.credentials(account_name) if account_name else (None, None)
    if user is None or not user.active or not password_matches(stored_hash, password):
        return render(request, "login.html", {
            "next": _safe_next(next), "name": name, "error": "wrong_login"}, status_code=401)
    accounts.forget_failure(failure)
    return _start_session(request, user, next)


@router.post("/logout")
def logout(request: Request):
    accounts = request.app.state.accounts
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        accounts.end_session(token_digest(token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")
    return response


@router.get("/account/password")
def password_form(request: Request):
    session_user(request)
    return render(request, "password.html", {"error": "", "done": False})


@router.post("/account/password")
def change_password(request: Request, current: Annotated[str, Form(max_length=2000)] = "",
                    new: Annotated[str, Form(max_length=2000)] = "",
                    repeat: Annotated[str, Form(max_length=2000)] = ""):
    user = session_user(request)
    accounts = request.app.state.accounts
    # Guessing the current password here counts against the same limit as signing in: a
    # session left open must not become an unlimited way to learn the password.
    failure = accounts.start_login(user.name, _address(request), _now())
    if failure is None:
        return render(request, "password.html", {"error": "too_many_failures", "done": False},
                      status_code=429)
    if not password_matches(accounts.password_hash(user.id), current):
        return render(request, "password.html", {"error": "wrong_password", "done": False},
                      status_code=400)
    accounts.forget_failure(failure)
    try:
        if new != repeat:
            raise AccountError("the two new passwords differ")
        check_password(new)
    except AccountError as error:
        return render(request, "password.html", {"error": str(error), "done": False},
                      status_code=400)
    token = request.cookies.get(SESSION_COOKIE, "")
    accounts.set_password(user.id, hash_password(new), keep_session=token_digest(token))
    return render(request, "password.html", {"error": "", "done": True})


@router.get("/join/{token}")
def join_form(request: Request, token: str):
    if not request.app.state.accounts.invitation_open(token_digest(token), _now()):
        return _invitation_closed(request)
    return render(request, "join.html", {"token": token, "error": "", "name": ""})


def _invitation_closed(request: Request):
    message = translator(language(request))("invitation_closed")
    return render(request, "error.html", {"message": message}, status_code=404)


@router.post("/join/{token}")
def join(request: Request, token: str, name: Annotated[str, Form(max_length=200)] = "",
         password: Annotated[str, Form(max_length=2000)] = "",
         repeat: Annotated[str, Form(max_length=2000)] = ""):
    accounts = request.app.state.accounts
    if not accounts.invitation_open(token_digest(token), _now()):
        # Refused before the password is hashed: a made-up link must not cost 64 MiB and
        # a sixth of a second of work.
        return _invitation_closed(request)
    try:
        check_name(name)
        if password != repeat:
            raise AccountError("the two passwords differ")
        check_password(password)
        user = accounts.accept_invitation(token_digest(token), name, hash_password(password),
                                          _now())
    except AccountError as error:
        return render(request, "join.html", {"token": token, "name": name,
                                             "error": str(error)}, status_code=400)
    return _start_session(request, user, "/")
