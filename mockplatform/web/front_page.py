"""The front page: where the pages are, and the platform's status (``Application.status()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..messages import Response
from ..producers.inbox_store import sync_inbox
from . import responses

if TYPE_CHECKING:
    from ..app import Application


def front_page(app: Application) -> Response:
    sync_inbox(app.journal)
    messages, unread = app.journal.reader().execute(
        "SELECT count(*), coalesce(sum(unread), 0) FROM inbox_messages").fetchone()
    return responses.page(
        "front.html.j2", title="Start", nav="front", status=app.status(), exchanges=app.journal.count(),
        messages=messages, unread=unread, fixtures=app.fixtures,
    )
