"""Accounts for a trainer hosted for a team: names, passwords, roles, tokens and throttling.

Off by default: on a laptop razbor serves one implicit user with no login. When a host turns
accounts on, every page and API call belongs to a signed-in user. This module holds the rules
(what a valid name or password is, how secrets are hashed, when logins are throttled); the
database side is `razbor.storage.accounts`, the web side `razbor.web.auth`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("admin", "member")
SESSION_LIFETIME = timedelta(days=14)
INVITATION_LIFETIME = timedelta(days=7)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 30
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about accounts that cannot be granted; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_name(name: str) -> str:
    """The name if it can sign in, else AccountError: names appear in URLs, logs and lists."""
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError("a user name is 2-64 characters: Latin letters, digits and . _ @ -, "
                           "starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    """The password if long enough to resist guessing and short enough to hash quickly."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current parameters (salted, memory-hard)."""
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether the password fits the hash; a user with no password never signs in.

    With no hash, a dummy one is still verified so that an unknown name costs as much time as
    a wrong password and timing does not reveal which names exist.
    """
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A secret for a session cookie or an invitation link (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: a leaked table then opens no session."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def throttled(failures_for_name: int, failures_from_address: int) -> bool:
    """Whether to refuse a login before checking its password: too many recent failures for
    this name (guessing one password) or from this address (trying many names)."""
    return (failures_for_name >= MAX_FAILURES_PER_NAME
            or failures_from_address >= MAX_FAILURES_PER_ADDRESS)


def window_start(now: datetime) -> datetime:
    return now - FAILURE_WINDOW


@cache
def _dummy_hash() -> str:
    return _hasher.hash(new_token())
