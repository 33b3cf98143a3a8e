"""The citizen's side: the inbox list and an opened message, the way 1177 shows them.

The list shows main cases (huvudärenden): heading from ``messageDescription`` ("Meddelande" when it
is missing), sender unit, date, an unread marker, and the number of messages when a case holds a
thread. A case is shown by its newest message (heading, unit, date), this stand-in's convention, and
its row opens that message, the one it shows; the message page lists the rest of the thread, each
with its own unread marker. A case is unread while any of its messages is. Opening a message marks
it read (GET, as in 1177), and the store keeps the mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...fixtures import Citizen
from ...messages import Request, Response
from ...personnummer import WRITTEN_FORMS, from_written
from ...web import citizen as citizen_session
from ...web import responses
from ...web.display import display_pnr, local_time
from .links import sso_link
from .render_docbook import render_message_text
from .store import InboxStore

if TYPE_CHECKING:
    from ...app import Application

MISSING_HEADING = "Meddelande"


@dataclass(frozen=True)
class CaseRow:
    """One main case in the inbox list."""

    heading: str
    unit_name: str
    received: str
    unread: bool
    count: int
    message_id: int  # the message the row opens: the newest, the one it shows


def heading_of(description: str | None) -> str:
    """The list heading: messageDescription, or "Meddelande" when it is missing (as 1177 does)."""
    return description.strip() if description and description.strip() else MISSING_HEADING


def case_rows(cases: list[dict]) -> list[CaseRow]:
    rows = []
    for case in cases:
        messages = case["messages"]
        newest = messages[-1]
        unread = any(m["unread"] for m in messages)
        rows.append(CaseRow(heading_of(newest["description"]), newest["unit_name"] or "",
                            local_time(newest["received"]), unread, len(messages), newest["id"]))
    return rows


def _citizen(app: Application, pnr: str) -> Citizen | None:
    return next((c for c in app.fixtures.citizens if c.subject_of_care_id.lower() == pnr.strip().lower()), None)


def inbox_page(app: Application, request: Request) -> Response:
    """GET /ui/inbox?citizen=<personnummer>: the picker, and the citizen's main cases."""
    pnr = (request.query.get("citizen") or "").strip()
    number = from_written(pnr) if pnr else None  # as the contracts write it, or as this page shows it
    citizen = _citizen(app, number) if number else None
    rows = case_rows(InboxStore(app.journal).cases(citizen.subject_of_care_id)) if citizen else []
    page = responses.page(
        "inbox.html.j2", title="Inkorg", nav="inbox", citizens=app.fixtures.citizens, pnr=pnr, citizen=citizen,
        rows=rows, unread=sum(r.unread for r in rows), display_pnr=display_pnr, readable=number is not None,
        written_forms=WRITTEN_FORMS,
    )
    if citizen is not None:  # choosing a citizen logs the citizen in (an SSO link then needs no other login)
        page.headers.append(citizen_session.log_in(citizen.subject_of_care_id))
    return page


def message_page(app: Application, request: Request, message_id: int) -> Response:
    """GET /ui/message/<id>: the message as the citizen sees it, with its thread; opening marks it read."""
    store = InboxStore(app.journal)
    owner = store.message_owner(message_id)
    if owner is None:
        return responses.not_found("Meddelandet finns inte.", "No such message.")
    citizen, unread = owner
    if unread and request.method == "GET":
        store.mark_read(message_id)
    cases = store.cases(citizen)
    case = next(c for c in cases if any(m["id"] == message_id for m in c["messages"]))
    message = next(m for m in case["messages"] if m["id"] == message_id)
    thread = [dict(m, heading=heading_of(m["description"]), received_local=local_time(m["received"]))
              for m in case["messages"]]
    page = responses.page(
        "message.html.j2", title=heading_of(message["description"]), nav="inbox", message=message,
        received=local_time(message["received"]), citizen=_citizen(app, citizen),
        pnr=citizen, display_pnr=display_pnr, body=render_message_text(message["text"]),
        sso=sso_link(app.fixtures, message["sso_system_id"], message["sso_text"], message["sso_query"],
                     message["sso_type"]),
        thread=thread if len(thread) > 1 else [],
    )
    page.headers.append(citizen_session.log_in(citizen))  # the citizen reading: logged in, for the SSO link
    return page
