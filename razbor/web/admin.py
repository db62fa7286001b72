"""The admin page of a hosted trainer: invite people, switch accounts off, see what the team
misses most (the cards and key points a teacher should go over with the group)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from razbor.accounts import AccountError, User, check_name, check_role, new_token, token_digest
from razbor.web.app import render
from razbor.web.auth import admin

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(admin)])
Admin = Annotated[User, Depends(admin)]


def _page(request: Request, invitation: str = "", error: str = "", status_code: int = 200):
    accounts = request.app.state.accounts
    points, cards = accounts.team_misses()
    return render(request, "admin.html", {
        "members": accounts.members(), "missed_points": points, "missed_cards": cards,
        "invitation": invitation, "error": error}, status_code=status_code)


@router.get("")
def admin_page(request: Request):
    return _page(request)


@router.post("/invitations")
def invite(request: Request, user: Admin, role: Annotated[str, Form()] = "member"):
    """A one-time registration link, shown once: only its digest is stored."""
    try:
        check_role(role)
    except AccountError as error:
        return _page(request, error=str(error), status_code=400)
    token = new_token()
    request.app.state.accounts.invite(token_digest(token), role, user.id, _now())
    return _page(request, invitation=str(request.url_for("join_form", token=token)))


@router.post("/users/{name}/active")
def set_active(request: Request, user: Admin, name: str,
               active: Annotated[str, Form()] = "off"):
    if name == user.name and active != "on":
        return _page(request, error="you cannot switch off your own account", status_code=400)
    try:
        request.app.state.accounts.set_active(check_name(name), active == "on")
    except AccountError as error:
        return _page(request, error=str(error), status_code=404)
    return RedirectResponse("/admin", status_code=303)


def _now() -> datetime:
    return datetime.now(UTC)
