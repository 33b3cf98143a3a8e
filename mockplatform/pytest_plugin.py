"""pytest fixtures for consumers written in Python (registered through the ``pytest11`` entry point).

    def test_sends_a_message(mockplatform):            # a real server on a free port
        my_system.send(url=mockplatform.vp_url, ...)
        mockplatform.assert_received(contract="DoSomething", count=1)
        mockplatform.assert_conformant()               # the 1177 contract rules on this test's calls

    def test_in_process(mockplatform_inprocess):       # requests/zeep intercepted with `responses`
        requests.post(mockplatform_inprocess.vp_url, data=..., headers=...)

The platform (schemas compiled, fixtures loaded) is built once per session; each test gets it with
an empty journal, an empty inbox and no faults. Internal errors of the platform during a test are
raised in that test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .app import Application, Config
from .database import is_url, shown
from .expectations import Expectation, verify_count
from .findings import Finding, Severity
from .journal import Exchange
from .producers.faults import FaultKind, InjectedFault
from .settings import Settings


class PlatformInternalError(AssertionError):
    """The platform itself failed while the test ran (it answered VP012); the traceback follows."""


class PlatformHandle:
    """What a test sees of the platform: its URLs, the calls it received, fault injection, and what each
    domain adds (``Domain.test_api``: the inbox adds ``inbox(pnr)`` and ``inbox_logical_address``)."""

    def __init__(self, app: Application, url: str, fail_on_warnings: bool = False,
                 fail_on_rules: Iterable[str] = ()) -> None:
        self.app = app
        self.url = url.rstrip("/")
        self.vp_url = self.url + "/vp"
        # What assert_conformant() fails on besides errors, unless it is told otherwise (the ini file's
        # mockplatform_fail_on_warnings and mockplatform_fail_on_rules, or their command-line options).
        self.fail_on_warnings = fail_on_warnings
        self.fail_on_rules = tuple(fail_on_rules)
        for domain in app.domains:
            for name, value in domain.test_api(app).items():
                if hasattr(self, name):
                    raise AttributeError(f"domain {domain.name} adds '{name}' to the test handle, which has one")
                setattr(self, name, value)

    def calls(self, **filters: Any) -> list[Exchange]:
        """The exchanges received since the test started (filters as in ``Journal.iter_exchanges``)."""
        return self.app.journal.exchanges(**filters)

    def assert_received(self, count: int | None = 1, contract: str | None = None, logical_address: str | None = None,
                        consumer: str | None = None, http_status: int | None = None,
                        vp_code: str | None = None) -> list[Exchange]:
        """Exactly ``count`` matching calls (None: at least one); else the nearest misses, explained."""
        expectation = Expectation(contract, logical_address, consumer, http_status, vp_code)
        calls = self.calls()
        problem = verify_count(calls, expectation, count)
        if problem:
            raise AssertionError(problem)
        return [c for c in calls if expectation.matches(c)]

    def inject(self, kind: str | FaultKind, contract: str | None = None, logical_address: str | None = None,
               count: int | None = 1, delay_ms: int = 0, text: str = "") -> InjectedFault:
        """Make the next ``count`` producer calls (None: all, until cleared) misbehave."""
        try:
            kind = FaultKind(kind)
        except ValueError:
            raise ValueError(f"no fault kind {kind!r}; the kinds are {', '.join(k.value for k in FaultKind)}") from None
        return self.app.faults.add(InjectedFault(
            kind, contract=self.app.contracts.resolve(contract) if contract else None,
            logical_address=logical_address, count=count, delay_ms=delay_ms, text=text))

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def contract_findings(self, errors_only: bool = True) -> list[tuple[int, Finding]]:
        """The contract rules (the first installed rule profile) applied to the calls of this test: a list of
        (exchange id, finding); a finding has ``rule_id``, ``severity``, ``message_en``/``message_sv``,
        ``path``, ``line`` and ``hint``. ``errors_only=False`` gives the warnings too."""
        from .verification import judge_exchanges

        found = judge_exchanges(self.calls(), self.app.fixtures, self.app.contracts)
        return [(i, f) for i, f in found if f.severity is Severity.ERROR or not errors_only]

    def assert_conformant(self, warnings: bool | None = None, rules: Iterable[str] | None = None) -> None:
        """Fail with every rule violation (path, reason, fix) in the requests this test made.

        Errors always fail. ``warnings=True`` fails on every warning too (a retry sooner than the back-off,
        a message to a citizen not checked first, ...); ``rules=["PP-RETRY-BACKOFF", ...]`` fails on these
        rule ids whatever their severity. Unset, both come from the ini file or the command line
        (``mockplatform_fail_on_warnings``, ``mockplatform_fail_on_rules``; default: errors only).
        """
        warnings = self.fail_on_warnings if warnings is None else warnings
        chosen = {r.upper() for r in (self.fail_on_rules if rules is None else rules)}
        found = [(i, f) for i, f in self.contract_findings(errors_only=False)
                 if f.severity is Severity.ERROR or warnings or f.rule_id.upper() in chosen]
        if found:
            raise AssertionError(f"{len(found)} contract rule violation(s) in this test's calls:\n"
                                 + "\n".join(f"  exchange #{i}: {f.severity.value} {f}" for i, f in found))

    def reset(self) -> None:
        self.app.reset()


class _ErrorTrap(logging.Handler):
    """Collects the platform's logged internal errors (each became a VP012 answer)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def raise_if_any(self) -> None:
        if self.records:
            text = "\n\n".join(self.format(r) for r in self.records)
            self.records.clear()
            raise PlatformInternalError(f"the platform failed internally during the test:\n{text}")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockplatform", "mockplatform (NTjP and 1177 inbox stand-in)")
    group.addoption("--mockplatform-fixtures", help="fixtures TOML for the platform (default: built-in)")
    group.addoption("--mockplatform-tak", help="TAK file for the platform (default: built-in)")
    group.addoption("--mockplatform-contracts", action="append", default=None, metavar="PATH",
                    help="an official release package (folder or zip) for the platform to load; repeatable")
    group.addoption("--mockplatform-templates", metavar="DIR",
                    help="a folder of response templates for the generic producer (builtin:generic)")
    group.addoption("--mockplatform-database", metavar="URL",
                    help="keep the platform's state in this PostgreSQL database (postgresql://...) instead of a SQLite "
                         "file in the session's temporary folder. Each test empties it: give the tests a database of "
                         "their own (one that holds exchanges the tests did not make is refused)")
    group.addoption("--mockplatform-check-contract", action="store_true", default=None,
                    help="after each test using the platform, fail it on contract rule violations in its calls")
    group.addoption("--mockplatform-fail-on-warnings", action="store_true", default=None,
                    help="assert_conformant() and --mockplatform-check-contract fail on rule warnings too")
    group.addoption("--mockplatform-fail-on-rule", dest="mockplatform_fail_on_rules", action="append",
                    metavar="RULE_ID", default=None,
                    help="assert_conformant() and --mockplatform-check-contract fail on this rule "
                         "whatever its severity (e.g. PP-RETRY-BACKOFF); repeatable")
    parser.addini("mockplatform_fixtures", "fixtures TOML for the platform", default="")
    parser.addini("mockplatform_tak", "TAK file for the platform", default="")
    parser.addini("mockplatform_contracts", "release packages for the platform to load, one a line",
                  type="linelist", default=[])
    parser.addini("mockplatform_templates", "a folder of response templates for the generic producer", default="")
    parser.addini("mockplatform_database", "a PostgreSQL database URL for the platform's state", default="")
    parser.addini("mockplatform_check_contract", "fail tests on contract rule violations", type="bool",
                  default=False)
    parser.addini("mockplatform_fail_on_warnings", "contract checks fail on rule warnings too", type="bool",
                  default=False)
    parser.addini("mockplatform_fail_on_rules", "contract checks fail on these rule ids whatever their severity",
                  type="linelist", default=[])


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"mockplatform_{name}")
    if value is not None:
        return value
    value = config.getini(f"mockplatform_{name}")
    if isinstance(value, list):
        return [_beside_ini(config, v) for v in value]
    return _beside_ini(config, value)


def _beside_ini(config: pytest.Config, value: Any) -> Any:
    if (isinstance(value, str) and value and config.inipath is not None and not Path(value).is_absolute()
            and not is_url(value)):
        return str(config.inipath.parent / value)  # a file named in the ini file is beside it, wherever pytest runs
    return value


@pytest.fixture(scope="session")
def mockplatform_app(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Application]:
    """The platform, built once per session (schemas compiled, fixtures and TAK loaded)."""
    fixtures, tak = _option(pytestconfig, "fixtures"), _option(pytestconfig, "tak")
    contracts, templates = _option(pytestconfig, "contracts") or [], _option(pytestconfig, "templates")
    # Only the plugin's own option: not $MOCKPLATFORM_DATABASE, which names a team's platform, and each test empties
    # the database it is given.
    database = _option(pytestconfig, "database") or None
    app = Application(Config(journal=tmp_path_factory.mktemp("mockplatform") / "journal.sqlite", database=database,
                             fixtures=Path(fixtures) if fixtures else None, tak=Path(tak) if tak else None,
                             contracts=[Path(c) for c in contracts], templates=Path(templates) if templates else None,
                             settings=Settings(admin="on")))
    if database:
        _claim_for_tests(app, database)
    yield app
    app.close()


_TESTS_MARK = "pytest_plugin"  # meta: the database is the tests' own, to empty


def _claim_for_tests(app: Application, database: str) -> None:
    """Refuse a database that holds exchanges the plugin did not make (a team's platform: each test would empty
    it); mark one it may empty."""
    reader = app.journal.reader()
    mine = reader.execute("SELECT value FROM meta WHERE key = ?", (_TESTS_MARK,)).fetchone()
    held = app.journal.count()
    if held and not mine:
        app.close()
        pytest.fail(f"--mockplatform-database {shown(database)} holds {held} exchanges that these tests did not make "
                    "(a team's platform?), and each test empties it: give the tests a database of their own "
                    "(createdb NAME)", pytrace=False)
    app.journal.write(lambda conn: conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, 'yes') ON CONFLICT(key) DO NOTHING", (_TESTS_MARK,)),
        exchanges_kept=True)


@pytest.fixture(scope="session")
def mockplatform_server(mockplatform_app: Application) -> Iterator[str]:
    """A real HTTP server for the session's platform, on a free loopback port; yields its URL."""
    from .server import start_in_thread

    server = start_in_thread(mockplatform_app)
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def _mockplatform_trap(mockplatform_app: Application, request: pytest.FixtureRequest) -> Iterator[_ErrorTrap]:
    mockplatform_app.reset()
    trap = _ErrorTrap()
    logger = logging.getLogger("mockplatform")
    logger.addHandler(trap)
    try:
        yield trap
    finally:
        logger.removeHandler(trap)
    trap.raise_if_any()


def _handle(app: Application, url: str, config: pytest.Config) -> PlatformHandle:
    return PlatformHandle(app, url, fail_on_warnings=bool(_option(config, "fail_on_warnings")),
                          fail_on_rules=_option(config, "fail_on_rules") or ())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A call to the in-process platform that another responses mock refused gets a note saying what to do."""
    outcome = yield
    if outcome.excinfo is not None and "mockplatform_inprocess" in getattr(item, "fixturenames", ()):
        from .inprocess import refused_hint

        exc = outcome.excinfo[1]
        hint = refused_hint(exc)
        if hint and hint not in getattr(exc, "__notes__", ()):
            exc.add_note(hint)


def _finish(handle: PlatformHandle, config: pytest.Config) -> None:
    if _option(config, "check_contract") and handle.calls():
        handle.assert_conformant()


@pytest.fixture
def mockplatform(mockplatform_app: Application, mockplatform_server: str, _mockplatform_trap: _ErrorTrap,
                 pytestconfig: pytest.Config) -> Iterator[PlatformHandle]:
    """The platform as a real server, clean for this test."""
    handle = _handle(mockplatform_app, mockplatform_server, pytestconfig)
    yield handle
    _finish(handle, pytestconfig)


@pytest.fixture
def mockplatform_inprocess(mockplatform_app: Application, _mockplatform_trap: _ErrorTrap,
                           pytestconfig: pytest.Config) -> Iterator[PlatformHandle]:
    """The platform without a socket: ``requests`` calls to its URL are answered in-process."""
    from .inprocess import intercept

    with intercept(mockplatform_app) as url:
        handle = _handle(mockplatform_app, url, pytestconfig)
        yield handle
    _finish(handle, pytestconfig)
