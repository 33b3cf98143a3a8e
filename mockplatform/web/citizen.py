"""Which test citizen is logged in to the pages (the inbox preview): one cookie, read and written here.

The inbox preview has no real login: choosing a citizen, or opening one of the citizen's messages, logs that
citizen in. A domain that acts on the citizen's behalf elsewhere (the SSO stand-in answering a service
provider) reads the same cookie, as 1177's identity provider knows who is logged in to 1177.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from ..messages import Request

COOKIE = "mockplatform-citizen"


def logged_in(request: Request) -> str | None:
    """The personnummer of the citizen logged in to the pages, or None."""
    return cookie(request, COOKIE)


def cookie(request: Request, name: str) -> str | None:
    """A cookie's value from the request (None when absent or unreadable)."""
    for key, value in request.headers:
        if key.lower() != "cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        if name in jar and jar[name].value:
            return jar[name].value
    return None


def log_in(pnr: str) -> tuple[str, str]:
    """The header that logs ``pnr`` in to the pages."""
    return ("Set-Cookie", f"{COOKIE}={pnr}; Path=/; HttpOnly; SameSite=Lax")


def log_out() -> tuple[str, str]:
    """The header that logs the citizen out of the pages."""
    return ("Set-Cookie", f"{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")


__all__ = ["COOKIE", "cookie", "log_in", "log_out", "logged_in"]
