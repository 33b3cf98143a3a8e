"""The national engagement index (engagemangsindex, itintegration:engagementindex 1.0): a fake of the
index that booking systems and other source systems update, and that notifies its subscribers.

Everything about it is in this folder: the contract package (``contracts/``), the fake index
(``producer``) and its posts (``store``), the one reader of its messages (``request``), its error texts
(``texts``), its fixtures section with the subscribers (``section``), the notifications it sends through
the platform (``notify``) and its page. The core finds it through the ``mockplatform.domains`` entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...domains import AdminRoute, Domain, FrontPageItem, Page
from ...messages import json_response
from ...personnummer import WRITTEN_FORMS, from_written
from .names import DOMAIN_NAME, INDEX_CONTRACTS, PRODUCER
from .section import index_fixtures, read_section
from .store import INDEX_SCHEMA, IndexStore, reset_index

if TYPE_CHECKING:
    import sqlite3

    from ...app import Application
    from ...fixtures import Fixtures
    from ...messages import Request
    from ...producers import Producer

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "contracts" / "engagementindex"  # the built-in release package, engagementindex 1.0


class EngagementIndexDomain(Domain):
    def fixtures(self, data: dict[str, Any], path: Path) -> Any:
        return read_section(data, path)

    def producers(self, app: Application) -> dict[str, Producer]:
        from .producer import IndexProducer

        return {PRODUCER: IndexProducer(app, index_fixtures(app.fixtures))}

    def follow_ups(self, app: Application) -> dict[str, Callable[[dict[str, Any]], None]]:
        from .notify import notifier
        from .producer import NOTIFY

        return {NOTIFY: notifier(app)}

    def reset(self, conn: sqlite3.Connection) -> None:
        reset_index(conn)

    def pages(self) -> Sequence[Page]:
        from .pages import index_page

        return (Page(r"/engagements/?", lambda app, req, m: index_page(app, req), nav=("engagements", "Index")),)

    def admin_routes(self) -> Sequence[AdminRoute]:
        return (AdminRoute("GET", "engagements", "the engagement index's posts: /admin/engagements (all) or "
                           "/admin/engagements/<citizen>", _admin_posts),)

    def front_page(self, app: Application) -> Sequence[FrontPageItem]:
        section = index_fixtures(app.fixtures)
        text = (f"Nationella engagemangsindex: {IndexStore(app.journal).count()} poster. Logisk adress "
                f"{section.owner}; {len(section.subscribers)} prenumeranter.")
        return (FrontPageItem("Engagemangsindex", text, "Engagement index posts per citizen", "/ui/engagements"),)

    def banner(self, app: Application) -> Sequence[str]:
        return (f"engagement index logical address: {index_fixtures(app.fixtures).owner}",)

    def test_api(self, app: Application) -> dict[str, Any]:
        return {"engagements": IndexStore(app.journal).posts,
                "engagement_index_address": index_fixtures(app.fixtures).owner}

    def tak_section(self, fixtures: Fixtures, consumers: Sequence[str]) -> str:
        """Update and FindContent to the fake index; who may call them is the source systems' domains' to say
        (web booking authorises its booking systems)."""
        from ...tak_files import toml_entries

        return toml_entries("Update and FindContent route to the fake national engagement index.", INDEX_CONTRACTS,
                            [index_fixtures(fixtures).owner], f"builtin:{PRODUCER}", ())


def _admin_posts(app: Application, request: Request, parts: list[str]) -> Any:
    """GET /admin/engagements[/<citizen>]: the index's posts, newest change first."""
    if len(parts) > 1:
        return None
    if not parts or not parts[0]:
        return {"posts": IndexStore(app.journal).posts()}
    written = unquote(parts[0]).strip()
    citizen = from_written(written)
    if citizen is None:
        return json_response(400, {"error": f"'{written}' is not a personnummer or samordningsnummer in its "
                                            f"12 digits: write {WRITTEN_FORMS}"})
    return {"citizen": citizen, "posts": IndexStore(app.journal).posts(citizen)}


domain = EngagementIndexDomain(
    name=DOMAIN_NAME,
    title="Nationella engagemangsindex (itintegration:engagementindex 1.0)",
    contract_packages=(PACKAGE,),
    store_schema=INDEX_SCHEMA,
    template_dir=HERE / "templates",
)


__all__ = ["PACKAGE", "EngagementIndexDomain", "domain"]
