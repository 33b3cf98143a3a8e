"""The example consumer's own tests, against mockplatform through its pytest plugin.

Both fixtures are used: `mockplatform` (a real server) and `mockplatform_inprocess` (no socket).
Every fault a consumer must survive is injected, and the retry behaviour is asserted.
"""

from __future__ import annotations

import pytest
from inbox_client import BACKOFF_S, GaveUp, InboxClient
from zeep.exceptions import Fault

ACTIVE, INACTIVE = "191212121212", "199002272392"
UNIT, UNIT_NAME = "SE2321000016-A1B2", "Vårdcentralen Exempelby"
SYSTEM = "SE2321000016-7XQA"
ADD = "AddMessageToPatientPortalInbox"
ADD_NS = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"


@pytest.fixture(params=["mockplatform", "mockplatform_inprocess"])
def platform(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(platform, waits):
    return InboxClient(platform.url, platform.inbox_logical_address, SYSTEM, SYSTEM, sleep=waits.append,
                       timeout_s=5)


def send(client, pnr=ACTIVE, text="Välkommen på besök.", **kw):
    return client.send(pnr, UNIT, UNIT_NAME, "Kallelse", text, **kw)


def test_message_reaches_the_inbox_and_the_calls_are_conformant(platform, client):
    delivery = send(client, notify=True)
    assert delivery.sent and delivery.notifications == ("SMS", "Email")
    platform.assert_received(contract="IsActiveUser", count=1)
    platform.assert_received(contract=ADD, count=1, http_status=200)
    assert platform.inbox(ACTIVE)[0]["messages"][0]["description"] == "Kallelse"
    platform.assert_conformant()


def test_nothing_is_sent_to_an_inactive_citizen(platform, client):
    assert send(client, pnr=INACTIVE).sent is False
    platform.assert_received(contract=ADD, count=0)


def test_logical_error_is_final_and_not_retried(platform, client, waits):
    platform.inject("logical_error", contract=ADD, text="Target person is not active user")
    delivery = send(client)
    assert (delivery.sent, delivery.result_code, delivery.attempts) == (False, "ERROR", 1)
    assert waits == []
    platform.assert_received(contract=ADD, count=1)


@pytest.mark.parametrize("kind, vp_code, status", [
    ("connection_refused", "VP009", 500),
    ("timeout", "VP009", 500),
    ("http_500", "VP009", 500),
    ("empty", "VP009", 500),
    ("soap_fault", None, 500),
])
def test_technical_faults_are_retried_with_the_contracts_backoff(platform, client, waits, kind, vp_code, status,
                                                                 monkeypatch):
    # A short producer read timeout, and no wait in the platform's own retry: not what is tested here.
    monkeypatch.setitem(platform.app.settings.producer_timeout_by_contract, ADD_NS.lower(), 200)
    monkeypatch.setattr(platform.app.faults, "connect_retry_delay_s", 0)
    platform.inject(kind, contract=ADD, count=2)
    delivery = send(client)
    assert delivery.sent and delivery.attempts == 3
    assert waits == list(BACKOFF_S[:2])
    platform.assert_received(contract=ADD, count=2, http_status=status, vp_code=vp_code)
    platform.assert_received(contract=ADD, count=1, http_status=200)


def test_delay_is_survived_without_a_retry(platform, client, waits):
    platform.inject("delay", contract=ADD, delay_ms=300)
    assert send(client).sent
    assert waits == []


def test_gives_up_after_the_last_backoff_step(platform, client, waits, monkeypatch):
    monkeypatch.setattr(platform.app.faults, "connect_retry_delay_s", 0)
    platform.inject("connection_refused", contract=ADD, count=None)
    with pytest.raises(GaveUp):
        send(client)
    assert waits == list(BACKOFF_S)
    platform.assert_received(contract=ADD, count=len(BACKOFF_S) + 1, vp_code="VP009")


def test_a_client_fault_is_not_retried(platform, client, waits):
    client.header = {"LogicalAddress": "SE0000000000-NOPE"}  # a setup mistake: no route (VP004)
    with pytest.raises(Fault) as fault:
        send(client)
    assert fault.value.message.startswith("VP004")
    assert waits == []
    platform.assert_received(vp_code="VP004", count=1)
