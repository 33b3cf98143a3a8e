"""Domains: one folder per contract family (the 1177 inbox, web booking, ...), found through entry points.

A domain is an object of a ``Domain`` subclass, published in the ``mockplatform.domains`` entry-point
group of its distribution::

    [project.entry-points."mockplatform.domains"]
    inbox1177 = "mockplatform.domains.inbox1177:domain"

The core never imports a domain: it asks ``installed()`` for them and calls the hooks below. Every
hook has a default that contributes nothing, so a small domain overrides only what it has.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import sqlite3

    from ..app import Application
    from ..contracts import ContractPackage
    from ..fixtures import Fixtures
    from ..journal import Exchange
    from ..messages import Response
    from ..probing import ProbeOptions, ProbeRun
    from ..producers import Producer
    from ..rules import Profile

ENTRY_POINT_GROUP = "mockplatform.domains"


@dataclass(frozen=True)
class Page:
    """A web page of a domain under ``/ui``: ``pattern`` is matched in full against the rest of the path
    (a match's groups are the handler's arguments); ``nav`` names it in the pages' menu; ``methods`` are
    the HTTP methods it answers (GET brings HEAD; another is answered 405). A page taking POST (a form that
    changes something) gets it only from these pages' own forms (``web.forms.same_origin``) and reads the
    fields with ``web.forms.fields``."""

    pattern: str
    handler: Callable[..., Response | None]  # (app, request, match) -> Response, or None for 404
    nav: tuple[str, str] | None = None  # (menu key, Swedish label) for the top menu; None: not in it
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True)
class AdminRoute:
    """A route of a domain in the admin API below ``/admin/``; ``prefix`` is its first path part."""

    method: str
    prefix: str
    what: str
    handler: Callable[..., Any]  # (app, request, parts after the prefix) -> JSON-able data or a Response


@dataclass(frozen=True)
class Endpoint:
    """A path of a domain's own protocol outside /vp, /ui and /admin (SAML's single sign-on under /sso): every
    request whose path is ``prefix`` or below it goes to ``handler``, which answers it (None: 404) and journals
    what it judges through ``app.pipeline.record_endpoint``."""

    prefix: str  # e.g. "/sso"
    handler: Callable[..., Response | None]  # (app, request) -> Response, or None for 404
    what: str = ""


@dataclass(frozen=True)
class FrontPageItem:
    """A card on the pages' front page: what the domain holds, and where to see it."""

    title: str
    text_sv: str
    text_en: str
    href: str


@dataclass
class Domain:
    """What a domain contributes. Subclass it and override the hooks the domain has."""

    name: str  # the entry point's name, e.g. "inbox1177"
    title: str = ""
    # Release packages in the official layout (folders) whose contracts this domain serves.
    contract_packages: Sequence[Path] = field(default_factory=tuple)
    # SQL run at journal start (CREATE ... IF NOT EXISTS): its state lives beside the journal.
    store_schema: str = field(default="", repr=False)
    # Steps that bring its tables in an older journal up to this version: (journal schema version, SQL or a
    # function), see ``journal.Upgrade``. SQL that SQLite and PostgreSQL both run (``database``), table types as
    # SQLite has them.
    store_upgrades: Sequence[tuple[int, Any]] = field(default_factory=tuple, repr=False)
    # Folders of Jinja2 templates and static files (CSS, JS) for its pages.
    template_dir: Path | None = None
    static_dir: Path | None = None
    # Domains it builds on, by name (web booking puts messages in the inbox): the only domains it may
    # import, and installed with it or it is refused at start.
    requires: Sequence[str] = field(default_factory=tuple)
    # Its profiles judge any contract rather than a family of its own (the generic profile): they come after the
    # other domains' profiles, so they are never the default one, nor the journal page's choice for a contract
    # another profile owns.
    judges_any_contract: bool = False
    # Its first profile is the one used when none is named (verify without --profile), whatever other domains
    # are installed; without such a domain, the first of the first domain in name order.
    gives_default_profile: bool = False

    def fixtures(self, data: dict[str, Any], path: Path) -> Any:
        """Its section of the fixtures file (``data`` is the whole file); raise ConfigError naming the key."""
        return None

    def prepare(self, app: Application) -> Any:
        """Read and check what it needs of the configuration (``app.config``; fixtures, TAK, settings and
        contracts are loaded) before anything is opened or started: raise ConfigError naming the file and the
        line, so that a bad setup stops ``serve`` with nothing half-loaded. The result is
        ``app.prepared[name]``, for its other hooks."""
        return None

    def producers(self, app: Application) -> dict[str, Producer]:
        """Its in-process producers by name (``builtin:<name>`` in the TAK)."""
        return {}

    def follow_ups(self, app: Application) -> dict[str, Callable[[dict[str, Any]], None]]:
        """Handlers of the calls it makes after a call is journaled, by kind (see ``outbox``)."""
        return {}

    def attach(self, app: Application) -> None:
        """Called once the application is built: keep what the pages, the admin API and the tests need."""

    def reset(self, conn: sqlite3.Connection) -> None:
        """Forget its state (the journal is being emptied in the same transaction)."""

    def profiles(self) -> dict[str, Callable[[], Profile]]:
        """Its rule profiles by id (``verify --profile``), each a factory of a fresh Profile."""
        return {}

    def probes(self) -> dict[str, Callable[[Application, ProbeOptions], ProbeRun]]:
        """Its probes by rule profile id (``mockplatform probe --profile``): drive the system under test
        through the platform as 1177 would; the profile then judges what the journal holds."""
        return {}

    def logical_error(self, contract: str, text: str) -> bytes | None:
        """A complete answer with a logical ERROR (resultCode) for ``contract``; None if it has none."""
        return None

    def loaded_logical_error(self, app: Application, contract: str, text: str) -> bytes | None:
        """A logical ERROR answer for a contract no domain's ``logical_error`` answers (one loaded from a package
        the user gave: the generic producer's, made from its response schema); None if it has none."""
        return None

    def pages(self) -> Sequence[Page]:
        return ()

    def admin_routes(self) -> Sequence[AdminRoute]:
        return ()

    def endpoints(self) -> Sequence[Endpoint]:
        """Its own protocol's paths outside /vp, /ui and /admin (see ``Endpoint``)."""
        return ()

    def front_page(self, app: Application) -> Sequence[FrontPageItem]:
        return ()

    def exchange_links(self, app: Application, exchange: Exchange) -> Sequence[tuple[str, str, str]]:
        """Links from a journal exchange's page to what it made, as (row label, link text, href)."""
        return ()

    def banner(self, app: Application) -> Sequence[str]:
        """Lines ``serve`` prints at start."""
        return ()

    def test_api(self, app: Application) -> dict[str, Any]:
        """Attributes it adds to the pytest plugin's handle (methods bound to the app, or values)."""
        return {}

    def tak_section(self, fixtures: Fixtures, consumers: Sequence[str]) -> str:
        """TAK entries (TOML) that route its contracts to its producers and authorise ``consumers``."""
        return ""

    def demo(self, out: Path) -> int | None:
        """``mockplatform demo``: play a sample consumer and write a protocol; None if it has none."""
        return None


@functools.cache
def installed() -> tuple[Domain, ...]:
    """Every domain published in the entry-point group, in name order (loaded once)."""
    found = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            domain = entry.load()
        except Exception as exc:  # a broken third-party distribution: say which
            raise ConfigError(f"domain '{entry.name}' ({entry.value}) cannot be loaded: "
                              f"{type(exc).__name__}: {exc}") from exc
        if callable(domain) and not isinstance(domain, Domain):
            domain = domain()
        if not isinstance(domain, Domain):
            raise ConfigError(f"domain '{entry.name}' ({entry.value}) is not a mockplatform.domains.Domain")
        found.append(domain)
    names = {d.name for d in found}
    for domain in found:
        missing = [name for name in domain.requires if name not in names]
        if missing:
            raise ConfigError(f"domain '{domain.name}' needs the domain(s) {', '.join(missing)}, which are not "
                              "installed")
    return tuple(found)


def shipped(package: ContractPackage, domains: Iterable[Domain] | None = None) -> bool:
    """Is this a package a domain ships (its ``contract_packages``: the built-in inbox, web booking, ...), rather
    than one the user loaded (``--contracts``)? A shipped contract is its domain's to answer and judge."""
    where = Path(package.source).resolve()
    return any(Path(folder).resolve() == where
               for domain in (installed() if domains is None else domains) for folder in domain.contract_packages)


def profiles(domains: Iterable[Domain] | None = None) -> dict[str, Callable[[], Profile]]:
    """The rule profiles of the installed domains, by id: the default one's first, a domain's that judges any
    contract last."""
    out: dict[str, Callable[[], Profile]] = {}
    for domain in sorted(installed() if domains is None else domains,
                         key=lambda d: (d.judges_any_contract, not d.gives_default_profile)):
        for profile_id, factory in domain.profiles().items():
            if profile_id in out:
                raise ConfigError(f"rule profile '{profile_id}' is provided by two domains")
            out[profile_id] = factory
    return out


def default_profile(domains: Iterable[Domain] | None = None) -> str:
    """The profile used when none is named: the first of the domain that ``gives_default_profile``, else of the
    first domain that has one."""
    known = profiles(domains)
    if not known:
        raise ConfigError("no rule profile is installed (no domain provides one)")
    return next(iter(known))


def profile(profile_id: str | None, domains: Iterable[Domain] | None = None) -> Profile:
    """A fresh profile by id (None: the default), or a ConfigError listing the installed ones."""
    known = profiles(domains)
    profile_id = profile_id or default_profile(domains)
    if profile_id not in known:
        raise ConfigError(f"unknown rule profile '{profile_id}'; installed: {', '.join(sorted(known)) or '(none)'}")
    return known[profile_id]()


__all__ = ["ENTRY_POINT_GROUP", "AdminRoute", "Domain", "Endpoint", "FrontPageItem", "Page", "default_profile",
           "installed",
           "profile", "profiles", "shipped"]
