"""1177 web booking (webbtidbok, crm:scheduling 1.1): the booking systems of the regions are the
producers, 1177 the consumer; they tell the engagement index about every booking and invitation, and
1177, a subscriber of the index, turns those into inbox messages.

Everything about it is in this folder: the contract package (``contracts/``), the one reader and
writer of its messages (``messages``), 1177's calls through the platform (``client``), 1177 as the
index's subscriber (``subscriber``) and the inbox messages it makes (``notices``), its fixtures
section (booking systems, units, test bookings: ``section``), and the citizen's pages as 1177 web
booking shows them (``pages``, templates, static files), its rule profile "web-booking" with the
"Webbtidbokning" catalogue (``profile``: ``view``, ``answer_rules``, ``ledger``, ``behaviour_rules``,
``cases``) and its probe (``probe``). The core finds it through the ``mockplatform.domains`` entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...domains import Domain, FrontPageItem, Page
from .names import CONTRACTS, DOMAIN_NAME, PROFILE_ID, SUBSCRIBER
from .section import read_section, web_booking

if TYPE_CHECKING:
    from ...app import Application
    from ...fixtures import Fixtures
    from ...producers import Producer
    from ...rules import Profile

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "contracts" / "crm_scheduling"  # the built-in release package, crm:scheduling 1.1


class WebBookingDomain(Domain):
    def fixtures(self, data: dict[str, Any], path: Path) -> Any:
        return read_section(data, path)

    def producers(self, app: Application) -> dict[str, Producer]:
        from .subscriber import Subscriber1177

        return {SUBSCRIBER: Subscriber1177(app)}

    def follow_ups(self, app: Application) -> dict[str, Callable[[dict[str, Any]], None]]:
        from .subscriber import FETCH, fetcher

        return {FETCH: fetcher(app)}

    def profiles(self) -> dict[str, Callable[[], Profile]]:
        from .profile import profile

        return {PROFILE_ID: profile}

    def probes(self) -> dict[str, Callable[..., Any]]:
        from .probe import probe

        return {PROFILE_ID: probe}

    def pages(self) -> Sequence[Page]:
        from .pages import book, booking_page, bookings_page, cancel, times_page

        one = r"/bookings/([^/]{1,400})/([^/]{1,800})"  # unit and bookingId, each one quoted path segment
        return (
            Page(r"/bookings/?", lambda app, req, m: bookings_page(app, req), nav=("bookings", "Tidbok")),
            Page(one, booking_page),
            Page(one + "/times", times_page),
            Page(one + "/cancel", cancel, methods=("POST",)),
            Page(one + "/book", book, methods=("POST",)),
        )

    def front_page(self, app: Application) -> Sequence[FrontPageItem]:
        section = web_booking(app.fixtures)
        systems = ", ".join(f"{s.name or s.hsa_id} ({s.address or 'ingen adress'})" for s in section.booking_systems)
        text = (f"Bokningssystem: {systems or 'inga'}. {len(section.units)} enheter anslutna till webbtidbok.")
        return (FrontPageItem("Webbtidbok", text, "Web booking: booking systems and their units", "/ui/bookings"),)

    def banner(self, app: Application) -> Sequence[str]:
        section = web_booking(app.fixtures)
        return tuple(f"booking system {s.hsa_id}: units {', '.join(s.units)} at {s.address}"
                     for s in section.booking_systems)

    def test_api(self, app: Application) -> dict[str, Any]:
        from .client import Scheduling

        return {"scheduling": Scheduling(app)}

    def tak_section(self, fixtures: Fixtures, consumers: Sequence[str]) -> str:
        """crm:scheduling at each booking system's units to it (1177 calls them); each booking system may update
        the index; the index's notifications to 1177 go to the simulated subscriber."""
        from ...tak_files import toml_entries
        from ..engagementindex.names import INDEX_CONTRACTS, PROCESS_NOTIFICATION_NS
        from ..engagementindex.section import index_fixtures

        section, index = web_booking(fixtures), index_fixtures(fixtures)
        out = [toml_entries(f"crm:scheduling at the units of {system.name or system.hsa_id} goes to it; 1177 calls "
                            "them.", CONTRACTS, system.units, system.address, [section.hsa_id_1177])
               for system in section.booking_systems if system.units and system.address]
        systems = [s.hsa_id for s in section.booking_systems]
        if systems:  # the index's own route is its domain's
            out.append(toml_entries("The booking systems (and 1177) may update and read the engagement index.",
                                    INDEX_CONTRACTS, [index.owner], None, [*systems, section.hsa_id_1177]))
        out.append(toml_entries("The index's notifications to 1177 go to the simulated subscriber.",
                                [PROCESS_NOTIFICATION_NS], [section.hsa_id_1177], f"builtin:{SUBSCRIBER}",
                                [index.hsa_id]))
        return "\n".join(out)


domain = WebBookingDomain(
    name=DOMAIN_NAME,
    title="1177 Webbtidbok (crm:scheduling 1.1)",
    contract_packages=(PACKAGE,),
    template_dir=HERE / "templates",
    static_dir=HERE / "static",
    requires=("inbox1177", "engagementindex"),
)


__all__ = ["PACKAGE", "WebBookingDomain", "domain"]
