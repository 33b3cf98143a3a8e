"""The admin API over real HTTP: journal queries, reset, a citizen's inbox, fault injection, access."""

from __future__ import annotations

import time

import pytest
import requests

from mockplatform import Settings
from mockplatform.http_routes import handle as route
from mockplatform.messages import Request

from .soap import ACTIVE_SMS_EMAIL, INBOX, add_message, is_active_user
from .test_platform_http import fault

ADD_NS = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"


@pytest.fixture
def admin(start_platform):
    return start_platform(settings=Settings(admin="on", connect_retry_delay_s=0.1))


def test_journal_filters_by_contract_address_consumer_and_correlation(admin):
    admin.post(is_active_user(), headers={"x-skltp-correlation-id": "corr-1"})
    admin.post(add_message(), headers={"x-vp-sender-id": "SE2321000016-8KVR"})
    admin.post(is_active_user(address="SE-NOWHERE"))
    get = lambda **q: requests.get(admin.url + "/admin/journal", params=q, timeout=10).json()  # noqa: E731
    assert get()["count"] == 3
    assert [e["correlation_id"] for e in get(correlation_id="corr-1")["exchanges"]] == ["corr-1"]
    assert get(contract="AddMessageToPatientPortalInbox")["exchanges"][0]["contract"] == ADD_NS
    assert get(consumer="se2321000016-8kvr")["count"] == 1
    assert get(logical_address="SE-NOWHERE")["exchanges"][0]["vp_code"] == "VP004"
    first = get()["exchanges"][0]["id"]
    assert get(after=first)["count"] == 2
    assert "request_body" in get(bodies=1, limit=1)["exchanges"][0]
    assert requests.get(admin.url + "/admin/journal", params={"limit": "x"}, timeout=10).status_code == 400
    bad = requests.get(admin.url + "/admin/journal", params={"contract": "NoSuch"}, timeout=10)
    assert bad.status_code == 400 and "IsActiveUser" in bad.json()["error"]


def test_inbox_shows_what_the_producer_holds_and_reset_empties_it(admin):
    admin.post(add_message(thread_id="t1", description="Kallelse"))
    inbox = requests.get(f"{admin.url}/admin/inbox/{ACTIVE_SMS_EMAIL}", timeout=10).json()
    assert inbox["known_citizen"] is True
    assert inbox["cases"][0]["messages"][0]["description"] == "Kallelse"
    reset = requests.post(admin.url + "/admin/reset", timeout=10).json()
    assert reset["exchanges_removed"] == 1
    assert requests.get(f"{admin.url}/admin/inbox/{ACTIVE_SMS_EMAIL}", timeout=10).json()["cases"] == []
    assert requests.get(admin.url + "/admin/journal", timeout=10).json()["count"] == 0
    assert admin.app.journal.last_reset() == reset["reset_at"]


def test_inbox_takes_the_number_as_the_pages_show_it_and_refuses_other_forms(admin):
    admin.post(add_message(description="Kallelse"))
    for written in (ACTIVE_SMS_EMAIL, "19121212-1212", "19121212+1212", "19121212%2D1212"):
        inbox = requests.get(f"{admin.url}/admin/inbox/{written}", timeout=10)
        assert inbox.status_code == 200, written
        assert inbox.json()["citizen"] == ACTIVE_SMS_EMAIL and inbox.json()["known_citizen"] is True, written
        assert inbox.json()["cases"][0]["messages"][0]["description"] == "Kallelse", written
    for written in ("121212-1212", "1212121212", "19121212 1212", "Tolvan", "1912121212120"):
        refused = requests.get(f"{admin.url}/admin/inbox/{written}", timeout=10)
        assert refused.status_code == 400, written
        assert "write YYYYMMDDNNNC (191212121212) or YYYYMMDD-NNNC (19121212-1212)" in refused.json()["error"]
    unknown = requests.get(f"{admin.url}/admin/inbox/20000101-0008", timeout=10).json()
    assert unknown == {"citizen": "200001010008", "known_citizen": False, "cases": []}


@pytest.mark.parametrize("kind, status, code", [
    ("connection_refused", 500, "VP009"),
    ("http_500", 500, "VP009"),
    ("empty", 500, "VP009"),
    ("soap_fault", 500, None),
])
def test_injected_faults_reach_the_consumer_as_the_platform_would_answer(admin, kind, status, code):
    created = requests.post(admin.url + "/admin/faults", json={"kind": kind, "contract": "IsActiveUser"}, timeout=10)
    assert created.status_code == 201 and created.json()["count"] == 1
    r = admin.post(is_active_user())
    assert r.status_code == status
    if code:
        assert fault(r)["faultstring"].startswith(code)
    else:
        assert "Injected producer fault" in r.text
    assert admin.post(is_active_user()).status_code == 200  # count 1: the next call is normal again
    assert any("fault injected" in step for step in admin.app.journal.exchanges()[-2].route_trace)


def test_timeout_fault_waits_for_the_configured_read_timeout(start_platform, tmp_path):
    running = start_platform(settings=Settings(admin="on", producer_timeout_ms=300))
    requests.post(running.url + "/admin/faults", json={"kind": "timeout"}, timeout=10)
    started = time.monotonic()
    r = running.post(is_active_user())
    assert time.monotonic() - started >= 0.3
    assert "Timeout when waiting on response from producer." in fault(r)["detail"]


def test_logical_error_and_delay_and_until_cleared(admin):
    error = {"kind": "logical_error", "contract": "AddMessageToPatientPortalInbox", "count": None,
             "text": "Target person is not active user"}
    requests.post(admin.url + "/admin/faults", json=error, timeout=10)
    for _ in range(2):
        assert "<resultCode>ERROR</resultCode>" in admin.post(add_message()).text
    assert admin.post(is_active_user()).status_code == 200  # a logical ERROR never hits IsActiveUser
    assert requests.delete(admin.url + "/admin/faults", timeout=10).json()["cleared"] == 1
    assert "<resultCode>OK</resultCode>" in admin.post(add_message()).text
    fid = requests.post(admin.url + "/admin/faults", json={"kind": "delay", "delay_ms": 250, "logical_address": INBOX},
                        timeout=10).json()["id"]
    started = time.monotonic()
    assert admin.post(is_active_user()).status_code == 200
    assert time.monotonic() - started >= 0.25
    assert requests.delete(f"{admin.url}/admin/faults/{fid}", timeout=10).status_code == 404  # used up


def test_a_delay_and_an_answer_fault_compose_each_counted(admin):
    """A delay armed first no longer hides a logical_error armed for the same call: the call waits, then gets
    the ERROR; both are used up; a second delay waits for the next call (the first matching of each sort)."""
    post = lambda body: requests.post(admin.url + "/admin/faults", json=body, timeout=10).json()  # noqa: E731
    delay = post({"kind": "delay", "delay_ms": 250, "contract": "AddMessageToPatientPortalInbox"})
    later = post({"kind": "delay", "delay_ms": 10})
    error = post({"kind": "logical_error", "contract": "AddMessageToPatientPortalInbox", "text": "Not now"})
    started = time.monotonic()
    answer = admin.post(add_message())
    assert time.monotonic() - started >= 0.25
    assert "<resultCode>ERROR</resultCode>" in answer.text and "Not now" in answer.text
    trace = admin.app.journal.exchanges()[-1].route_trace
    assert f"fault injected: delay (#{delay['id']}) + logical_error (#{error['id']})" in trace
    left = requests.get(admin.url + "/admin/faults", timeout=10).json()
    assert [f["id"] for f in left["faults"]] == [later["id"]]  # the JSON of a fault is as it was
    assert set(left["faults"][0]) == {"kind", "contract", "logical_address", "count", "delay_ms", "text", "id", "hits"}
    assert "<resultCode>OK</resultCode>" in admin.post(add_message()).text
    assert requests.get(admin.url + "/admin/faults", timeout=10).json()["faults"] == []


@pytest.mark.parametrize("body, needle", [
    ({"kind": "explode"}, "'kind' must be one of"),
    ({"kind": "delay", "count": "2"}, "'count'"),
    ({"kind": "delay", "colour": "red"}, "unknown field"),
    ({"kind": "logical_error", "contract": "IsActiveUser"}, "SOAP faults"),
    ([1, 2], "JSON object"),
])
def test_bad_fault_requests_get_400_naming_the_field(admin, body, needle):
    r = requests.post(admin.url + "/admin/faults", json=body, timeout=10)
    assert r.status_code == 400 and needle in r.json()["error"]


def test_admin_api_can_be_off_or_loopback_only(start_platform):
    off = start_platform(settings=Settings(admin="off"))
    assert requests.get(off.url + "/admin/journal", timeout=10).status_code == 404
    loopback = start_platform(settings=Settings(admin="loopback"))
    assert requests.get(loopback.url + "/admin/journal", timeout=10).status_code == 200

    remote = Request("GET", "/admin/journal", [], client="192.0.2.7:5555")
    assert route(loopback.app, remote).status == 403
    assert route(loopback.app, Request("GET", "/admin/journal", [], client="127.0.0.1:5555")).status == 200


@pytest.mark.parametrize("client", ["127.0.0.2:5555", "[::ffff:127.0.0.1]:5555", "[::1]:5555", "::1:5555"])
def test_admin_api_and_pages_agree_on_loopback(platform, client):
    """One loopback rule: a client the pages serve on loopback (127.0.0.0/8, ::1, mapped) is one the admin
    API serves too. (The admin API refused 127.0.0.2 while the pages served it.)"""
    app = platform.app
    app.settings.ui = "loopback"
    try:
        assert route(app, Request("GET", "/admin/journal", [], client=client)).status == 200
        assert route(app, Request("GET", "/ui/journal", [], client=client)).status == 200
    finally:
        app.settings.ui = "on"


def test_index_lists_every_endpoint(admin):
    endpoints = requests.get(admin.url + "/admin/", timeout=10).json()["endpoints"]
    assert {(e["method"], e["path"]) for e in endpoints} >= {
        ("GET", "/admin/journal"), ("POST", "/admin/reset"), ("POST", "/admin/faults"), ("DELETE", "/admin/faults")}
    assert requests.get(admin.url + "/admin/nothing", timeout=10).status_code == 404


def test_out_of_range_and_too_deep_input_gets_400_not_an_internal_error(admin):
    r = requests.post(admin.url + "/admin/faults", data="[" * 100_000, timeout=10)
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]
    for params in ({"limit": "99999999999999999999"}, {"after": str(2**63)}, {"after": "-1"}):
        r = requests.get(admin.url + "/admin/journal", params=params, timeout=10)
        assert r.status_code == 400 and "whole number" in r.json()["error"], params
    r = requests.get(admin.url + "/ui/api/journal", params={"after": str(2**63)}, timeout=10)
    assert r.status_code == 400 and "exchange id" in r.json()["error"]
    assert requests.get(admin.url + "/admin/journal", params={"after": str(2**63 - 1)}, timeout=10).json()["count"] == 0


def test_a_web_page_of_another_site_cannot_change_anything(admin):
    """A cross-site form or fetch reaches localhost without a preflight; its Origin header gives it away."""
    assert admin.post(is_active_user()).status_code == 200
    host = admin.url.split("://", 1)[1]
    for origin in ("https://evil.example", "null", f"http://{host}.evil.example"):
        headers = {"Origin": origin, "Content-Type": "text/plain"}
        r = requests.post(admin.url + "/admin/reset", headers=headers, timeout=10)
        assert r.status_code == 403 and "refused" in r.json()["error"], origin
        r = requests.post(admin.url + "/admin/faults", data='{"kind": "http_500"}', headers=headers, timeout=10)
        assert r.status_code == 403, origin
    assert requests.get(admin.url + "/admin/journal", timeout=10).json()["count"] >= 1  # nothing was wiped
    assert requests.get(admin.url + "/admin/faults", timeout=10).json()["faults"] == []
    own = requests.post(admin.url + "/admin/reset", headers={"Origin": f"http://{host}"}, timeout=10)
    assert own.status_code == 200  # the server's own pages may
    assert requests.post(admin.url + "/admin/reset", timeout=10).status_code == 200  # and tools, without Origin
