"""Property-based tests: random mutations of valid requests, random catalogues, random journals.

Whatever a consumer sends, parsing gives an envelope or ``MalformedRequest``; the platform answers a
SOAP body or a documented fault (a VP code with its exact text, or the inbox's schema fault), never
VP012 (our own bug); the lookups follow their documented order; the rules judge without raising.

Profiles: the default is derandomized (the same examples every run, so CI is stable) and modest;
``HYPOTHESIS_PROFILE=explore pytest tests/test_properties.py`` searches far more, at random.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mockplatform import Application, Config, Settings, domains, ns
from mockplatform.contracts import ContractRegistry, load_package
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, PATIENTPORTAL_CORE
from mockplatform.domains.inbox1177.view import read_inbox_view as view_of
from mockplatform.envelope import Envelope, MalformedRequest, read_envelope
from mockplatform.faults import VP_CODES
from mockplatform.findings import Finding
from mockplatform.fixtures import load_fixtures
from mockplatform.http_routes import handle as route
from mockplatform.journal import Exchange
from mockplatform.messages import Request
from mockplatform.tak import Authorisation, Route, RouteOutcome, Tak

from .soap import ACTIVE_SMS_EMAIL, CONSUMER, INACTIVE, UNAUTHORISED, add_message, is_active_user

settings.register_profile("default", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=2000, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SCHEMA_FAULT = "Schema validation failed with "

VALID = [
    is_active_user(),
    is_active_user(pnr=INACTIVE),
    is_active_user(wsa=True),
    is_active_user(soap_ns=ns.SOAP12),
    add_message(),
    add_message(thread_id="tråd-1", notify=True),
    add_message(pnr=INACTIVE, description=None, source_system=None),
]
NAMESPACES = [ns.SOAP11, ns.SOAP12, ns.REGISTRY, ns.WSA, IS_ACTIVE_USER_NS, ADD_MESSAGE_NS, PATIENTPORTAL_CORE]

# Text that XML 1.0 can carry (no surrogates, no control characters but tab and line ends).
xml_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20 and c not in "\ufffe\uffff"), max_size=40)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True)


@st.composite
def mutation(draw, data: bytes) -> bytes:
    """One change of the kind a broken consumer (or a hostile one) makes."""
    kind = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate", "element", "namespace", "text"]))
    n = len(data)
    if kind == "flip":
        i = draw(st.integers(0, n - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    if kind == "truncate":
        return data[:draw(st.integers(0, n - 1))]
    if kind in ("delete", "duplicate"):
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i, min(n, i + 64)))
        return data[:i] + (data[i:j] * 2 if kind == "duplicate" else b"") + data[j:]
    if kind == "element":
        ends = [i + 1 for i, c in enumerate(data) if c == ord(">")] or [n]
        i = draw(st.sampled_from(ends))
        uri = draw(st.one_of(st.sampled_from(NAMESPACES), xml_text)) or "urn:x"
        name = draw(names)
        end = name if draw(st.booleans()) else draw(names)  # mostly well-formed, sometimes not
        element = f"<x:{name} xmlns:x={quoteattr(uri)}>{escape(draw(xml_text))}</x:{end}>"
        return data[:i] + element.encode() + data[i:]
    if kind == "namespace":
        present = [u for u in NAMESPACES if u.encode() in data]
        if not present:
            return data
        old = draw(st.sampled_from(present))
        new = draw(st.one_of(st.just(old.upper()), st.just(old + ":2"), st.sampled_from(NAMESPACES), xml_text))
        return data.replace(old.encode(), escape(new, {'"': "&quot;"}).encode(), draw(st.integers(1, 3)))
    # text: random unicode where the consumer's own words go
    targets = [t for t in (ACTIVE_SMS_EMAIL.encode(), INACTIVE.encode(), b"SE5565594230-1177", b"Kallelse",
                           "Välkommen till din tid på vårdcentralen.".encode()) if t in data]
    if not targets:
        return data
    return data.replace(draw(st.sampled_from(targets)), escape(draw(xml_text)).encode(), 1)


@st.composite
def mutated_request(draw) -> bytes:
    data = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 3))):
        if data:
            data = draw(mutation(data))
    return data


def _is_exact_vp_faultstring(text: str) -> bool:
    code = text[:5]
    return code in VP_CODES and text == f"{code} [mockplatform] {VP_CODES[code].text}"


# -- parsing -------------------------------------------------------------------------------------------

@given(st.one_of(mutated_request(), st.binary(max_size=300)))
def test_any_bytes_give_an_envelope_or_malformed_request(data):
    try:
        envelope = read_envelope(data)
    except MalformedRequest as exc:
        assert str(exc).strip()
        return
    assert isinstance(envelope, Envelope)
    assert isinstance(envelope.contract, str)
    assert envelope.logical_address is None or isinstance(envelope.logical_address, str)
    assert envelope.payload.getparent() is envelope.body
    assert read_envelope(envelope.to_bytes()).contract == envelope.contract  # what we forward reads the same


# -- the whole platform, in process ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tmp_path_factory):
    application = Application(Config(journal=tmp_path_factory.mktemp("props") / "journal.sqlite",
                                     settings=Settings()))
    yield application
    application.close()


@given(body=mutated_request(), sender=st.sampled_from([None, CONSUMER, UNAUTHORISED]))
def test_mutated_request_gets_an_answer_or_a_documented_fault_never_vp012(app, body, sender):
    headers = [("Content-Type", "text/xml; charset=UTF-8")] + ([("x-vp-sender-id", sender)] if sender else [])
    before = app.journal.count()
    response = route(app, Request("POST", "/vp", headers, body, client="127.0.0.1:50000"))

    assert response.status in (200, 500)
    root = etree.fromstring(response.body)
    assert etree.QName(root).localname == "Envelope"
    soap_body = root.find(f"{{{SOAP}}}Body")
    assert soap_body is not None and len(soap_body)
    fault = soap_body.find(f"{{{SOAP}}}Fault")
    if response.status == 200:
        assert fault is None
    else:
        assert fault is not None, response.body[:300]
        faultstring = fault.findtext("faultstring") or ""
        version_mismatch = fault.findtext("faultcode") == "SOAP-ENV:VersionMismatch"  # the inbox, to SOAP 1.2
        assert _is_exact_vp_faultstring(faultstring) or faultstring.startswith(SCHEMA_FAULT) or version_mismatch, \
            faultstring
        assert not faultstring.startswith("VP012"), fault.findtext("detail/detailString")
    correlation = dict(response.headers)["x-skltp-correlation-id"]
    assert app.journal.count() == before + 1
    assert [e.http_status for e in app.journal.exchanges(correlation_id=correlation)] == [response.status]


# -- routing and authorisation ----------------------------------------------------------------------------

CONTRACTS = ["urn:riv:a:AResponder:1", "urn:riv:b:BResponder:1"]
ADDRESSES = ["SE1", "se1", "SE1-UNIT", "SE1-CLINIC", "SE2", "SE", "*", "VG1#VE1", "VE1", "VG1"]
days = st.dates(date(2024, 1, 1), date(2024, 12, 31))
addresses = st.one_of(st.sampled_from(ADDRESSES), st.text(max_size=8))
ascii_addresses = st.one_of(st.sampled_from(ADDRESSES), st.text(st.characters(max_codepoint=127), max_size=8))
contracts = st.one_of(st.sampled_from(CONTRACTS), st.sampled_from([c.upper() for c in CONTRACTS]))


@st.composite
def validity(draw) -> tuple[date, date]:
    a, b = draw(days), draw(days)
    return min(a, b), max(a, b)


@st.composite
def catalogue(draw) -> Tak:
    routes = []
    for _ in range(draw(st.integers(0, 8))):
        start, end = draw(validity())
        routes.append(Route(draw(contracts), draw(addresses), draw(st.sampled_from(["http://p/1", "http://p/2", " "])),
                            valid_from=start, valid_to=end))
    auths = []
    for _ in range(draw(st.integers(0, 8))):
        start, end = draw(validity())
        auths.append(Authorisation(draw(st.sampled_from(["C1", "c1", "C2"])), draw(contracts), draw(addresses),
                                   valid_from=start, valid_to=end))
    parents = draw(st.dictionaries(st.sampled_from(ADDRESSES), st.sampled_from(ADDRESSES), max_size=4))
    return Tak(routes, auths, hsa_parents=parents, hsa_climb=draw(st.booleans()))


def _step_address(label: str) -> str:
    return label.removeprefix("(default)").removeprefix("(parent)")


def _climb(tak: Tak, address: str) -> list[str]:
    """The HSA-tree steps as the trace names them: each parent up to the root SE."""
    if not tak.hsa_climb or address.lower() == "se":
        return []
    return ["SE" if p == "SE" else f"(parent){p}" for p in tak.parents(address)]


def _valid_routes(tak: Tak, contract: str, address: str, day: date) -> list[Route]:
    return [r for r in tak.routes if r.contract.lower() == contract.lower()
            and r.logical_address.lower() == address.lower() and r.valid_on(day)]


@given(tak=catalogue(), contract=contracts, address=addresses, day=days)
def test_routing_stops_at_the_first_step_with_a_valid_route(tak, contract, address, day):
    decision = tak.route(contract, address, day)
    assert decision.trace, "the trace names every step tried"
    *passed, last = decision.trace
    for label in passed:
        assert not _valid_routes(tak, contract, _step_address(label), day), f"{label} had a route but was passed"
    found = _valid_routes(tak, contract, _step_address(last), day)
    if decision.outcome is RouteOutcome.NOT_FOUND:
        assert not found and decision.route is None
    elif decision.outcome is RouteOutcome.AMBIGUOUS:
        assert len(found) > 1
    else:
        assert found == [decision.route]
        assert decision.route.valid_on(day)
        assert (decision.outcome is RouteOutcome.NO_ADDRESS) == (not decision.route.address.strip())
    if "#" not in address and decision.outcome is RouteOutcome.NOT_FOUND:  # every step, in the documented order
        assert decision.trace == [address, *_climb(tak, address), "(default)*"]


@given(tak=catalogue(), contract=contracts, address=ascii_addresses, day=days)
def test_routing_ignores_case(tak, contract, address, day):
    a = tak.route(contract, address, day)
    b = tak.route(contract.swapcase(), address.swapcase(), day)
    assert (a.outcome, a.route) == (b.outcome, b.route)


@given(tak=catalogue(), consumer=st.sampled_from(["C1", "c1", "C2", "C3"]), contract=contracts, address=addresses,
       day=days)
def test_authorisation_is_granted_exactly_by_a_valid_row_on_a_tried_step(tak, consumer, contract, address, day):
    decision = tak.authorise(consumer, contract, address, day)
    tried = [_step_address(label) for label in decision.trace]
    rows = [a for a in tak.authorisations if a.consumer.lower() == consumer.lower()
            and a.contract.lower() == contract.lower() and a.valid_on(day)]
    matching = [a for a in rows if a.logical_address.lower() in {t.lower() for t in tried}]
    assert decision.allowed == bool(matching)
    if decision.allowed:
        assert decision.authorisation in matching
        assert decision.authorisation.logical_address.lower() == tried[-1].lower()
    if "#" not in address and not decision.allowed:  # every step, in the documented order (not routing's)
        assert decision.trace == [address, "(default)*", *_climb(tak, address)]


@given(contract=contracts, address=st.sampled_from(ADDRESSES[:5]), day=days)
def test_validity_dates_are_inclusive(contract, address, day):
    tak = Tak([Route(contract, address, "http://p", valid_from=day, valid_to=day)],
              [Authorisation("C1", contract, address, valid_from=day, valid_to=day)])
    assert tak.route(contract, address, day).outcome is RouteOutcome.FOUND
    assert tak.authorise("C1", contract, address, day).allowed
    assert tak.route(contract, address, day + timedelta(days=1)).outcome is RouteOutcome.NOT_FOUND


# -- the 1177 rules over what the journal holds ----------------------------------------------------------

@pytest.fixture(scope="module")
def rule_context():
    registry = ContractRegistry()
    registry.add(load_package(INBOX_PACKAGE))
    return domains.profile("1177-inbox").context(load_fixtures(), registry)


@pytest.fixture(scope="module")
def profile():
    return domains.profile("1177-inbox")


T0 = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)


@st.composite
def recorded_exchange(draw, n: int) -> Exchange:
    answer = draw(st.sampled_from([b"", b"<not xml", is_active_user(), add_message()]))
    return Exchange(
        time=(T0 + timedelta(seconds=draw(st.integers(0, 600)))).isoformat(timespec="microseconds"),
        duration_ms=1.0, client="127.0.0.1", method=draw(st.sampled_from(["POST", "GET"])),
        path=draw(st.sampled_from(["/vp", "/vp/x", "/other"])), request_headers=[],
        request_body=draw(mutated_request()),
        http_status=draw(st.sampled_from([200, 500])), response_headers=[], response_body=answer,
        consumer=draw(st.sampled_from([CONSUMER, None, "SE-OTHER"])), request_size=None, id=n,
    )


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True).flatmap(
    lambda ids: st.tuples(*[recorded_exchange(i + 1) for i in ids])))
def test_rules_judge_any_recorded_request_without_raising(profile, rule_context, exchanges):
    for view in (view_of(e) for e in exchanges):
        assert view.envelope is not None or view.parse_error
        for finding in profile.iter_request_findings(view, rule_context):
            assert isinstance(finding, Finding)
            assert profile.rule(finding.rule_id)
    for _, finding in profile.iter_findings(list(exchanges), rule_context):
        assert profile.rule(finding.rule_id)
