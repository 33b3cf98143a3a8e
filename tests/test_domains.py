"""Domains are found through the ``mockplatform.domains`` entry point: a third party's distribution
(here a tiny one in tests/data/tinydomain, with its dist-info) adds a producer, a rule profile with a
test case, a fixtures section and a page, and the core serves them without knowing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mockplatform import Application, Config, Request, Settings, domains
from mockplatform.fixtures import builtin_fixtures_dir
from mockplatform.http_routes import handle
from mockplatform.verification import VerifyOptions, verify
from mockplatform.web import responses

from .soap import CONSUMER, envelope

TINY = Path(__file__).parent / "data" / "tinydomain"
NAMESPACE = "urn:example:tiny:PingResponder:1"


def _clear_caches() -> None:
    domains.installed.cache_clear()
    responses.environment.cache_clear()
    responses.menu.cache_clear()


@pytest.fixture
def tiny(monkeypatch):
    """The tiny distribution on sys.path, as pip would put it in site-packages."""
    monkeypatch.syspath_prepend(str(TINY))
    _clear_caches()
    yield
    monkeypatch.undo()
    sys.modules.pop("tiny_domain", None)
    _clear_caches()


def _tak(tmp_path: Path) -> Path:
    tak = tmp_path / "tak.toml"
    tak.write_text(f'import = ["{builtin_fixtures_dir() / "tak.toml"}"]\n\n'
                   f'[[route]]\ncontract = "{NAMESPACE}"\nlogical_address = "TINY"\naddress = "builtin:tiny"\n\n'
                   f'[[authorisation]]\nconsumer = "{CONSUMER}"\ncontract = "{NAMESPACE}"\nlogical_address = "TINY"\n',
                   encoding="utf-8")
    return tak


def test_the_inbox_profile_stays_the_default_whatever_domains_come_before_it_by_name():
    """A domain named before the inbox's (a complaints domain: "complaints" < "inbox1177") does not take over
    verify without --profile."""
    from dataclasses import replace

    inbox = next(d for d in domains.installed() if d.name == "inbox1177")
    webbooking = next(d for d in domains.installed() if d.name == "webbooking")
    earlier = replace(webbooking, name="complaints")
    assert domains.default_profile([earlier, inbox]) == "1177-inbox"
    assert domains.default_profile([earlier]) == "web-booking"  # without it: the first domain's first


def test_an_installed_distribution_adds_a_domain(tiny, tmp_path):
    names = [d.name for d in domains.installed()]
    assert names == ["anycontract", "engagementindex", "inbox1177", "tiny", "uthopp", "webbooking"]
    assert set(domains.profiles()) == {"1177-inbox", "1177-inbox-2", "rivta-generic", "tiny", "uthopp", "web-booking"}
    assert domains.default_profile() == "1177-inbox"  # the generic profile (anycontract's) comes last
    app = Application(Config(journal=tmp_path / "j.sqlite", tak=_tak(tmp_path), settings=Settings(admin="on")))
    try:
        assert app.fixtures.section("tiny") == {}
        body = envelope(f'<Ping xmlns="{NAMESPACE}"></Ping>', address="TINY")
        answer = handle(app, Request("POST", "/vp", [("Content-Type", "text/xml")], body, client="127.0.0.1:1"))
        assert answer.status == 200 and f"<pong>{CONSUMER}</pong>".encode() in answer.body
        page = handle(app, Request("GET", "/ui/tiny", [], client="127.0.0.1:1"))
        assert page.status == 200 and page.body == b"tiny page"
        front = handle(app, Request("GET", "/ui/", [], client="127.0.0.1:1"))
        assert b'href="/ui/tiny"' in front.body  # in the menu
        assert app.status()["Domains"] == ["anycontract", "engagementindex", "inbox1177", "tiny", "uthopp",
                                           "webbooking"]
        journal = app.journal.path
    finally:
        app.close()
    protocol = verify(VerifyOptions(journal=journal, profile="tiny"))
    assert [c.id for c in protocol.cases] == ["TINY-1"] and protocol.cases[0].status.value == "failed"
    assert protocol.rules[0].rule_id == "TINY-WORD" and protocol.rules[0].violations == 1


def test_verify_profile_list_names_the_installed_profiles(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TINY), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "mockplatform", "verify", "--profile", "list"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "1177-inbox" in out.stdout and "tiny  Tiny ping  (domain tiny)" in out.stdout
    unknown = subprocess.run([sys.executable, "-m", "mockplatform", "verify", "--profile", "nosuch",
                              "--journal", str(tmp_path / "none.sqlite")], env=env, capture_output=True, text=True,
                             timeout=60)
    assert unknown.returncode == 2
    assert "installed: 1177-inbox, 1177-inbox-2, rivta-generic, tiny, uthopp, web-booking" in unknown.stderr


def test_a_domain_that_cannot_be_loaded_is_named(tmp_path, monkeypatch):
    broken = tmp_path / "broken-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text("[mockplatform.domains]\nbroken = no_such_module:domain\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    domains.installed.cache_clear()
    try:
        with pytest.raises(domains.ConfigError, match="domain 'broken' .*no_such_module.* cannot be loaded"):
            domains.installed()
    finally:
        monkeypatch.undo()
        domains.installed.cache_clear()


def test_application_leaves_the_given_settings_as_they_are(tmp_path):
    settings = Settings()
    app = Application(Config(journal=tmp_path / "j.sqlite", settings=settings))
    try:
        assert settings.default_consumer is None and settings.producer_timeout_by_contract == {}
        assert app.settings.default_consumer == app.fixtures.default_consumer
    finally:
        app.close()
