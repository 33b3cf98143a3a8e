"""The index's page: its posts per citizen, as an administrator of the index would look them up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...messages import Request, Response
from ...personnummer import WRITTEN_FORMS, from_written
from ...web import responses
from ...web.display import display_pnr
from .store import IndexStore

if TYPE_CHECKING:
    from ...app import Application


def index_page(app: Application, request: Request) -> Response:
    """GET /ui/engagements?citizen=<personnummer>: the citizens with posts, and one citizen's posts."""
    store = IndexStore(app.journal)
    pnr = (request.query.get("citizen") or "").strip()
    number = from_written(pnr) if pnr else None
    names = {c.subject_of_care_id: c.name for c in app.fixtures.citizens}
    return responses.page(
        "engagements.html.j2", title="Engagemangsindex", nav="engagements", residents=store.residents(),
        pnr=pnr, number=number, readable=number is not None or not pnr, names=names,
        posts=store.posts(number) if number else [], display_pnr=display_pnr, written_forms=WRITTEN_FORMS,
    )
