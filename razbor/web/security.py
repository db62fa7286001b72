"""Defences for a server other people can reach: security headers, trusted hosts, CSRF.

razbor has no accounts, so there is no session cookie for a CSRF token to guard: a page on
another origin could post a form to it whatever its cookies. The defence is therefore a strict
same-origin check on every unsafe request, from the headers browsers add themselves (Origin,
Sec-Fetch-Site). Token libraries (asgi-csrf and the like) tie tokens to session cookies and let
cookie-less requests through, which here would be every request, so none of them fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages and answers hold a user's attempts, so no cache (a shared proxy's, a browser's on a
# shared machine) keeps them; the static files may be cached as usual.
PRIVATE_RESPONSE = ("Cache-Control", "no-store")
STATIC_PREFIX = "/static/"
# Over TLS, the browser is told to come back only over TLS for a year.
STRICT_TRANSPORT = ("Strict-Transport-Security", "max-age=31536000")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def install_security(app: Starlette, allowed_hosts: Sequence[str] | None) -> None:
    """Add the defences to a Starlette app, outermost last so headers reach every response.

    allowed_hosts None accepts any Host header (tests, embedding); `razbor serve` always
    passes a list (see trusted_hosts).
    """
    app.add_middleware(CrossOriginGuard)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders)


def trusted_hosts(setting: str, bind_host: str) -> list[str]:
    """The Host names the server answers: those the setting lists (comma-separated), else the
    address it listens on plus the loopback names. IPv6 addresses get brackets, as a Host
    header writes them."""
    listed = [host.strip() for host in setting.split(",") if host.strip()]
    return _deduplicated(_as_host_header(host) for host in listed or [bind_host, *LOOPBACK_HOSTS])


def _as_host_header(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host.lower()


def _deduplicated(hosts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(hosts))


class SecurityHeaders:
    """Add the security headers to every response: pages, API, static files and errors.

    A route that sets one of them itself keeps its own, stricter value (recorded audio is
    served with a sandboxing CSP).

    An exception that escapes the app still gets a 500 with the headers before it is re-raised
    for the server to log, since Starlette's own error page is sent outside user middleware.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in _headers_for(scope):
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", status_code=500)(
                    scope, receive, send_with_headers)
            raise


def _headers_for(scope: Scope) -> list[tuple[str, str]]:
    """The security headers of a response to this request."""
    chosen = list(SECURITY_HEADERS.items())
    if not scope["path"].startswith(STATIC_PREFIX):
        chosen.append(PRIVATE_RESPONSE)
    if scope.get("scheme") == "https":
        chosen.append(STRICT_TRANSPORT)
    return chosen


class CrossOriginGuard:
    """Refuse unsafe requests (POST and the like) that a browser sent from another origin.

    Browsers mark cross-origin requests with Sec-Fetch-Site and Origin; scripts and command-line
    clients send neither and pass, as they cannot be made to act for the user by a web page.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            refusal = cross_origin_refusal(scope)
            if refusal:
                await _refuse(scope, refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def cross_origin_refusal(scope: Scope) -> str | None:
    """Why this request looks sent by another site's page, or None if it does not."""
    headers = Headers(scope=scope)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ALLOWED_FETCH_SITES:
        return f"Sec-Fetch-Site is {fetch_site!r}"
    origin = headers.get("origin")
    if origin is not None and _origin_of(origin) != _own_origin(scope, headers):
        return f"Origin {origin!r} is not this server's"
    return None


def _refuse(scope: Scope, reason: str):
    message = (f"cross-origin request refused ({reason}): razbor accepts changes only from its "
               "own pages or from clients that send no Origin header")
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=403)
    return PlainTextResponse(message, status_code=403)


def _origin_of(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the default port filled in; None for 'null' or garbage."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS.get(scheme)


def _own_origin(scope: Scope, headers: Headers) -> tuple[str, str, int | None] | None:
    host = headers.get("host")
    return _origin_of(f"{scope.get('scheme', 'http')}://{host}") if host else None
