"""Forms of the pages: POSTs that change something (cancel a booking, book a time), read and guarded.

A state-changing POST is taken only from the pages themselves: its ``Origin`` (or, when a browser sends
none or ``null``, its ``Referer``) must name the site the request was sent to (its scheme, and the host
and port of ``Host``), or it is refused before any page sees it. A page with such a form is served with
the referrer policy ``same-origin`` (``responses.FORM_REFERRER_POLICY``): under the pages' default
``no-referrer`` a browser sends ``Origin: null`` with a POST, and the check could not tell the pages' own
form from a stranger's.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from ..messages import Request, from_this_site

FORM_TYPE = "application/x-www-form-urlencoded"


def same_origin(request: Request) -> str | None:
    """None when the POST comes from a page of this site (its Origin, else its Referer, names the request's
    scheme, host and port: ``messages.from_this_site``); otherwise why not, as the refusal says it."""
    host = request.header("host")
    if not host:
        return "the request has no Host header"
    origin = (request.header("origin") or "").strip()
    referer = (request.header("referer") or "").strip()
    if origin and origin != "null":
        source, named = "Origin", origin
    elif referer:
        source, named = "Referer", referer
    elif origin:
        return "its Origin is null (the browser hid where the form came from) and it has no Referer"
    else:
        return "it has neither an Origin nor a Referer header naming this site"
    if from_this_site(request, named):
        return None
    return f"its {source} '{named}' is not {request.scheme}://{host}, the site it was sent to"


def fields(request: Request) -> dict[str, str]:
    """A form's fields (``application/x-www-form-urlencoded``, UTF-8); the first of a repeated name; {} for
    another body type. Names as written (the query's keys are lower-cased by the server; these are not)."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE or not request.body:
        return {}
    out: dict[str, str] = {}
    for name, value in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
        out.setdefault(name, value)
    return out


__all__ = ["FORM_TYPE", "fields", "same_origin"]
