"""The front page: where the pages are, what each domain holds, and the platform's status
(``Application.status()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..messages import Response
from . import responses

if TYPE_CHECKING:
    from ..app import Application


def front_page(app: Application) -> Response:
    items = [item for domain in app.domains for item in domain.front_page(app)]
    return responses.page("front.html.j2", title="Start", nav="front", status=app.status(),
                          exchanges=app.journal.count(), items=items)
