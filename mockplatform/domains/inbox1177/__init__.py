"""The 1177 inbox (Inkorgen, patientportal 1.x): IsActiveUser and AddMessageToPatientPortalInbox.

Everything about it is in this folder: the contract package (``contracts/``), the fake producer
(``producer``) and its state (``store``), the one reader of its requests (``request``), its
fixtures section (``section``), its rule profiles "1177-inbox" (``profile`` with its rules and test
cases) and "1177-inbox-2" (``profile2``: the rules that carry over to the 2.0 contracts of a loaded
package), the cost estimate of its protocol section (``pricing``), its pages (``pages``, templates,
static files) and the demo. The core finds it through the ``mockplatform.domains`` entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...domains import AdminRoute, Domain, FrontPageItem, Page
from ...messages import json_response
from ...personnummer import WRITTEN_FORMS, from_written
from .names import ADD_MESSAGE_NS, CONTRACTS, DOMAIN_NAME, PRODUCER, PROFILE2_ID, PROFILE_ID
from .section import inbox_address, read_section
from .store import INBOX_SCHEMA, InboxStore, reset_inbox

if TYPE_CHECKING:
    import sqlite3

    from ...app import Application
    from ...fixtures import Fixtures
    from ...journal import Exchange
    from ...messages import Request
    from ...producers import Producer
    from ...rules import Profile

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "contracts" / "patientportal"  # the built-in release package, patientportal 1.0


class InboxDomain(Domain):
    def fixtures(self, data: dict[str, Any], path: Path) -> Any:
        return read_section(data, path)

    def producers(self, app: Application) -> dict[str, Producer]:
        from .producer import InboxProducer

        return {PRODUCER: InboxProducer(app.fixtures, app.contracts, lenient=app.settings.lenient,
                                        journal_body_bytes=app.settings.journal_body_bytes)}

    def reset(self, conn: sqlite3.Connection) -> None:
        reset_inbox(conn)

    def profiles(self) -> dict[str, Callable[[], Profile]]:
        from .profile import profile
        from .profile2 import profile as profile2

        return {PROFILE_ID: profile, PROFILE2_ID: profile2}

    def logical_error(self, contract: str, text: str) -> bytes | None:
        if contract.lower() != ADD_MESSAGE_NS.lower():
            return None  # IsActiveUser reports errors as SOAP faults
        from .producer import add_message_answer

        return add_message_answer(ADD_MESSAGE_NS, "ERROR", text).body

    def pages(self) -> Sequence[Page]:
        from .pages import inbox_page, message_page

        return (
            Page(r"/inbox/?", lambda app, req, m: inbox_page(app, req), nav=("inbox", "Inkorg")),
            Page(r"/message/(\d{1,18})", lambda app, req, m: message_page(app, req, int(m[1]))),
        )

    def admin_routes(self) -> Sequence[AdminRoute]:
        return (AdminRoute("GET", "inbox", "a citizen's inbox as the fake producer holds it: /admin/inbox/<citizen> "
                           "(191212121212 or 19121212-1212)",
                           _admin_inbox),)

    def front_page(self, app: Application) -> Sequence[FrontPageItem]:
        messages, unread = InboxStore(app.journal).counts()
        text = (f"1177-inkorgen per invånare: {messages} meddelanden, {unread} olästa. "
                f"Logisk adress {inbox_address(app.fixtures)}.")
        return (FrontPageItem("Inkorg", text, "Inbox preview per citizen", "/ui/inbox"),)

    def exchange_links(self, app: Application, exchange: Exchange) -> Sequence[tuple[str, str, str]]:
        if (exchange.contract or "").lower() != ADD_MESSAGE_NS.lower():
            return ()
        message_id = InboxStore(app.journal).message_of_exchange(exchange.id)
        if not message_id:
            return ()
        return (("I inkorgen", "Visa meddelandet som invånaren ser det (öppnar och markerar det som läst)",
                 f"/ui/message/{message_id}"),)

    def banner(self, app: Application) -> Sequence[str]:
        return (f"inbox logical address: {inbox_address(app.fixtures)}",)

    def test_api(self, app: Application) -> dict[str, Any]:
        from .section import inbox_address
        return {"inbox": InboxStore(app.journal).cases, "inbox_logical_address": inbox_address(app.fixtures)}

    def tak_section(self, fixtures: Fixtures, consumers: Sequence[str]) -> str:
        from ...tak_files import toml_entries

        return toml_entries("The inbox contracts route to the fake inbox, and every consumer with a system-id may "
                            "call them.", CONTRACTS, [inbox_address(fixtures)], f"builtin:{PRODUCER}", consumers)

    def demo(self, out: Path) -> int | None:
        from .demo import run_demo

        return run_demo(out)




def _admin_inbox(app: Application, request: Request, parts: list[str]) -> Any:
    """GET /admin/inbox/<citizen>: the personnummer or samordningsnummer in its 12 digits, written as the
    contracts write it (191212121212) or as the pages show it (19121212-1212)."""
    if len(parts) != 1:
        return None
    written = unquote(parts[0]).strip()
    citizen = from_written(written)
    if citizen is None:
        return json_response(400, {"error": f"'{written}' is not a personnummer or samordningsnummer in its "
                                            f"12 digits: write {WRITTEN_FORMS}"})
    known = any(c.subject_of_care_id == citizen for c in app.fixtures.citizens)
    return {"citizen": citizen, "known_citizen": known, "cases": InboxStore(app.journal).cases(citizen)}


domain = InboxDomain(
    name=DOMAIN_NAME,
    title="1177 Inkorg (patientportal 1.x)",
    contract_packages=(PACKAGE,),
    store_schema=INBOX_SCHEMA,
    template_dir=HERE / "templates",
    static_dir=HERE / "static",
    gives_default_profile=True,  # the platform began as the inbox's: verify without --profile judges it
)


__all__ = ["PACKAGE", "InboxDomain", "domain"]
