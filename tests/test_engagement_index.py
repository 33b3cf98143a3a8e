"""The fake national engagement index over real HTTP: Update and FindContent, its error codes, its
notifications through the platform, 1177 as subscriber turning them into inbox messages, its state
across restarts and resets, and its page."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from mockplatform import Application, Config
from mockplatform.domains.engagementindex.store import IndexStore
from mockplatform.domains.inbox1177.store import InboxStore
from mockplatform.fixtures import builtin_fixtures_dir
from mockplatform.outbox import Outbox
from mockplatform.xmlsafe import parse

from .conftest import stored

UPDATE = "urn:riv:itintegration:engagementindex:UpdateResponder:1"
FIND = "urn:riv:itintegration:engagementindex:FindContentResponder:1"
NOTIFY = "urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1"
CORE = "urn:riv:itintegration:engagementindex:1"
DETAILS = "urn:riv:crm:scheduling:GetBookingDetailsResponder:1"
OWNER = "5565594230"
BOOKING_SYSTEM = "SE2321000016-BOKA"
UNIT = "SE2321000016-A1B2"
CITIZEN = "191212121212"


def engagement(booking_id: str = "BK-1", categorization: str = "Booking", *, delete: bool = False,
               domain: str = "riv:crm:scheduling", source: str = BOOKING_SYSTEM, owner: str | None = None,
               unit: str = UNIT, resident: str = CITIZEN, most_recent: str | None = "20301210093000",
               raw: dict[str, str] | None = None) -> str:
    values = {"registeredResidentIdentification": resident, "serviceDomain": domain,
              "categorization": categorization, "logicalAddress": unit,
              "businessObjectInstanceIdentifier": booking_id, "clinicalProcessInterestId": f"{booking_id}-cpi",
              "mostRecentContent": most_recent, "sourceSystem": source, "dataController": source, "owner": owner}
    values.update(raw or {})
    fields = "".join(f"<core:{k}>{v}</core:{k}>" for k, v in values.items() if v is not None)
    return (f"<engagementTransaction><core:deleteFlag>{'true' if delete else 'false'}</core:deleteFlag>"
            f"<core:engagement>{fields}</core:engagement></engagementTransaction>")


def soap(payload: str, address: str) -> bytes:
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:itr="urn:riv:itintegration:registry:1"><s:Header><itr:LogicalAddress>{address}'
            f"</itr:LogicalAddress></s:Header><s:Body>{payload}</s:Body></s:Envelope>").encode()


def update(platform, *transactions: str, address: str = OWNER, sender: str = BOOKING_SYSTEM) -> requests.Response:
    body = soap(f'<Update xmlns="{UPDATE}" xmlns:core="{CORE}">{"".join(transactions)}</Update>', address)
    return platform.post(body, headers={"x-vp-sender-id": sender, "SOAPAction": f"{UPDATE}:Update"})


def find(platform, resident: str = CITIZEN, domain: str = "riv:crm:scheduling", **filters: str) -> list[dict]:
    more = "".join(f"<{k}>{v}</{k}>" for k, v in filters.items())
    body = soap(f'<FindContent xmlns="{FIND}"><registeredResidentIdentification>{resident}'
                f"</registeredResidentIdentification><serviceDomain>{domain}</serviceDomain>{more}</FindContent>",
                OWNER)
    r = platform.post(body, headers={"x-vp-sender-id": "SE5565594230-1177"})
    assert r.status_code == 200, r.text
    answer = parse(r.content)
    payload = answer.find(f".//{{{FIND}}}FindContentResponse")
    validator = platform.app.contracts.get(FIND).validator
    assert validator.findings(payload) == []  # the answer is what the contract says (one validator for both)
    return [{etree.QName(c).localname: c.text for c in e} for e in payload.iter(f"{{{FIND}}}engagement")]


def fault(r: requests.Response) -> str:
    assert r.status_code == 500, r.text
    return parse(r.content).findtext(".//faultstring")


def posts(platform) -> list[dict]:
    return IndexStore(platform.app.journal).posts()


# -- Update ---------------------------------------------------------------------------------------

def test_an_update_creates_posts_with_the_index_as_owner_and_its_own_times(platform):
    r = update(platform, engagement("BK-1", owner="SOMEONE-ELSE"), engagement("BK-2", "Invitation"))
    assert r.status_code == 200 and b"<ResultCode>OK</ResultCode>" in r.content
    stored = {p["businessObjectInstanceIdentifier"]: p for p in posts(platform)}
    assert set(stored) == {"BK-1", "BK-2"}
    post = stored["BK-1"]
    assert post["owner"] == OWNER  # overwritten: the index's own id
    assert re.fullmatch(r"\d{14}", post["creationTime"]) and re.fullmatch(r"\d{14}", post["updateTime"])
    expected_key = hashlib.sha256("".join([CITIZEN, "riv:crm:scheduling", "Booking", UNIT, "BK-1", BOOKING_SYSTEM,
                                           BOOKING_SYSTEM, OWNER, "BK-1-cpi"]).encode()).hexdigest()
    assert post["key"] == expected_key


def test_the_same_key_updates_the_post_and_delete_removes_it(platform):
    update(platform, engagement("BK-1", most_recent="20301210093000"))
    created = posts(platform)[0]["creationTime"]
    assert update(platform, engagement("BK-1", most_recent="20301211100000")).status_code == 200
    [post] = posts(platform)
    assert post["mostRecentContent"] == "20301211100000" and post["creationTime"] == created
    assert update(platform, engagement("BK-1", delete=True)).status_code == 200
    assert posts(platform) == []


@pytest.mark.parametrize(("transactions", "code", "says"), [
    ([], "EI000", "1 to 1000"),
    ([engagement("BK-1")] * 0 + [engagement(f"BK-{i}") for i in range(1001)], "EI000", "1001"),
    ([engagement("BK-1", most_recent="2030121009")], "EI001", "mostRecentContent"),
    ([engagement("BK-1"), engagement("BK-1")], "EI002", "#1 and #2 have the same key"),
    ([engagement("BK-1"), engagement(" BK-2")], "EI004", "leading or trailing whitespace"),
    ([engagement("BK-1", raw={"categorization": ""})], "EI004", "categorization is mandatory"),
    ([engagement("x" * 129)], "EI004", "at most 128"),
    ([engagement("BK-1", most_recent="20300231093000")], "EI004", "not a date"),
    ([engagement("BK-1", unit="SE5565594230-RESERVED")], "EI005", "#1 is reserved"),
    ([engagement("BK-1", source="SE5565594230-RESERVED")], "EI006", "#1 is reserved"),
])
def test_a_refused_update_is_a_fault_with_the_index_code_and_changes_nothing(platform, transactions, code, says):
    update(platform, engagement("KEEP"))
    said = fault(update(platform, *transactions))
    assert said.startswith(f"{code}: ") and says in said
    assert [p["businessObjectInstanceIdentifier"] for p in posts(platform)] == ["KEEP"]


def test_an_update_to_another_address_than_the_owner_is_invalid_routing(start_platform, tmp_path):
    tak = tmp_path / "tak.toml"
    tak.write_text((builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8") + f"""
[[route]]
contract = "{UPDATE}"
logical_address = "SE2321000016-NOTOWNER"
address = "builtin:engagementindex"

[[authorisation]]
consumer = "{BOOKING_SYSTEM}"
contract = "{UPDATE}"
logical_address = "SE2321000016-NOTOWNER"
""", encoding="utf-8")
    platform = start_platform(tak=tak)
    said = fault(update(platform, engagement(), address="SE2321000016-NOTOWNER"))
    assert said == ("EI003: Invalid routing. Logical address is SE2321000016-NOTOWNER but the owner is 5565594230. "
                    "They must be the same. See rule for Update-R7 in service contract")


# -- FindContent ------------------------------------------------------------------------------------

def test_find_content_answers_from_the_index(platform):
    update(platform, engagement("BK-1"), engagement("BK-2", "Invitation"),
           engagement("BK-3", resident="198505133283"), engagement("X-1", domain="riv:other"))
    found = find(platform)
    assert sorted(p["businessObjectInstanceIdentifier"] for p in found) == ["BK-1", "BK-2"]
    assert {p["owner"] for p in found} == {OWNER}
    assert [p["businessObjectInstanceIdentifier"] for p in find(platform, categorization="Invitation")] == ["BK-2"]
    assert find(platform, resident="200103292389") == []


def test_a_zeep_client_from_the_served_wsdl_updates_the_index(platform):
    path = platform.app.contracts.get(UPDATE).interaction.wsdl_path
    session = requests.Session()
    session.headers["x-vp-sender-id"] = BOOKING_SYSTEM
    client = zeep.Client(platform.url + path + "?wsdl", transport=Transport(session=session))
    engagement_type = client.get_type(f"{{{CORE}}}EngagementType")
    post = engagement_type(registeredResidentIdentification=CITIZEN, serviceDomain="riv:crm:scheduling",
                           categorization="Booking", logicalAddress=UNIT, businessObjectInstanceIdentifier="Z-1",
                           clinicalProcessInterestId="Z-1-cpi", mostRecentContent="20301210093000",
                           sourceSystem=BOOKING_SYSTEM, dataController=BOOKING_SYSTEM)
    answer = client.service.Update(engagementTransaction=[{"deleteFlag": False, "engagement": post}],
                                   _soapheaders={"LogicalAddress": OWNER})
    assert answer.ResultCode == "OK"
    assert [p["businessObjectInstanceIdentifier"] for p in posts(platform)] == ["Z-1"]


# -- notifications, and 1177 as subscriber ------------------------------------------------------------

DETAILS_ANSWER = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                  f'<GetBookingDetailsResponse xmlns="{DETAILS}" xmlns:c="urn:riv:crm:scheduling:1" '
                  f'xmlns:e="urn:riv:crm:scheduling:1.1"><timeslotDetail><c:healthcare_facility>{UNIT}'
                  f"</c:healthcare_facility><c:bookingId>BK-2</c:bookingId><c:subject_of_care>{CITIZEN}"
                  "</c:subject_of_care><c:purpose>Du är kallad till en hälsokontroll &lt;script&gt;</c:purpose>"
                  "<c:healthcare_facility_name>Vårdcentralen Exempelby</c:healthcare_facility_name>"
                  "<c:timeTypeID>T1</c:timeTypeID><c:cancel_booking_allowed>true</c:cancel_booking_allowed>"
                  "<c:rebooking_allowed>false</c:rebooking_allowed><c:message_allowed>false</c:message_allowed>"
                  "<e:isInvitation>true</e:isInvitation></timeslotDetail></GetBookingDetailsResponse>"
                  "</s:Body></s:Envelope>").encode()


def fixtures_with(tmp_path: Path, extra: str = "", replace: tuple[str, str] | None = None) -> Path:
    text = (builtin_fixtures_dir() / "inbox.toml").read_text(encoding="utf-8")
    if replace:
        text = text.replace(*replace)
    path = tmp_path / "fixtures.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def tak_to(tmp_path: Path, booking_system_url: str, extra: str = "") -> Path:
    text = (builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8")
    path = tmp_path / "tak.toml"
    path.write_text(text.replace("http://127.0.0.1:8089/scheduling", booking_system_url) + extra, encoding="utf-8")
    return path


def test_the_index_notifies_each_subscriber_through_the_platform_with_what_it_asked_for(start_platform, tmp_path,
                                                                                       producer):
    fixtures = fixtures_with(tmp_path, """
[[engagementindex.subscribers]]
logical_address = "SE2321000016-SUB2"
name = "Another subscriber"
service_domains = ["riv:other"]
""")
    tak = tak_to(tmp_path, "http://127.0.0.1:9/unused", f"""
[[route]]
contract = "{NOTIFY}"
logical_address = "SE2321000016-SUB2"
address = "{producer.url}"

[[authorisation]]
consumer = "SE5565594230-EI"
contract = "{NOTIFY}"
logical_address = "SE2321000016-SUB2"
""")
    producer.behaviour.body = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                               f'<ProcessNotificationResponse xmlns="{NOTIFY}"><ResultCode>OK</ResultCode>'
                               "</ProcessNotificationResponse></s:Body></s:Envelope>").encode()
    platform = start_platform(tak=tak, fixtures=fixtures)
    assert update(platform, engagement("X-1", domain="riv:other"), engagement("BK-9", source="SE-NOT-ACTIVATED"),
                  engagement("BK-10", "Other")).status_code == 200
    assert platform.app.outbox.wait_idle(20)
    notifications = [e for e in platform.app.journal.exchanges() if e.contract == NOTIFY]
    by_address = {e.logical_address: e for e in notifications}
    assert set(by_address) == {"SE5565594230-1177", "SE2321000016-SUB2"}
    assert all(e.consumer == "SE5565594230-EI" and e.http_status == 200 for e in notifications)
    assert ("x-mockplatform-origin", "engagementindex") in by_address["SE2321000016-SUB2"].request_headers
    to_1177 = by_address["SE5565594230-1177"].request_body
    assert b"BK-9" in to_1177 and b"X-1" not in to_1177 and b"BK-10" not in to_1177  # its filter: Booking, Invitation
    [(_, other)] = producer.behaviour.seen
    assert b"X-1" in other and b"BK-9" not in other
    # BK-9 came from a system not activated for inbox messages: 1177 asks nothing
    assert not [e for e in platform.app.journal.exchanges() if e.contract == DETAILS]


def test_1177_turns_an_invitation_from_an_activated_booking_system_into_an_inbox_message(start_platform, tmp_path,
                                                                                       producer):
    producer.behaviour.body = DETAILS_ANSWER
    platform = start_platform(tak=tak_to(tmp_path, producer.url))
    assert update(platform, engagement("BK-2", "Invitation")).status_code == 200
    assert platform.app.outbox.wait_idle(20)
    [details] = [e for e in platform.app.journal.exchanges() if e.contract == DETAILS]
    assert details.consumer == "SE5565594230-1177" and details.logical_address == UNIT and details.http_status == 200
    headers, body = producer.behaviour.seen[0]
    assert b"<hdr:actorId>191212121212</hdr:actorId>" in body and b"<bookingId>BK-2</bookingId>" in body
    [case] = InboxStore(platform.app.journal).cases(CITIZEN)
    [message] = case["messages"]
    assert message["description"] == "Kallelse" and message["unit_name"] == "Vårdcentralen Exempelby"
    assert "Du är kallad till en hälsokontroll <script>" in message["text"]
    assert message["exchange_id"] == details.id
    page = platform.session.get(platform.url + f"/ui/message/{message['id']}").text
    assert "&lt;script&gt;" in page and "<script>" not in page.split("</head>")[1]


def test_an_invitation_in_docbook_reaches_the_inbox_preview_as_docbook(start_platform, tmp_path, producer):
    encoded = ("&lt;article xmlns=&quot;http://docbook.org/ns/docbook&quot; version=&quot;5.0&quot;&gt;&lt;info&gt;"
               "&lt;title&gt;Kallelse till provtagning&lt;/title&gt;&lt;/info&gt;&lt;para&gt;Kom fastande &amp;amp; "
               "ta med legitimation.&lt;/para&gt;&lt;/article&gt;")
    producer.behaviour.body = DETAILS_ANSWER.replace("Du är kallad till en hälsokontroll &lt;script&gt;".encode(),
                                                     encoded.encode())
    platform = start_platform(tak=tak_to(tmp_path, producer.url))
    assert update(platform, engagement("BK-2", "Invitation")).status_code == 200
    assert platform.app.outbox.wait_idle(20)
    [case] = InboxStore(platform.app.journal).cases(CITIZEN)
    [message] = case["messages"]
    assert message["description"] == "Kallelse" and message["text"].startswith("<article")
    page = platform.session.get(platform.url + f"/ui/message/{message['id']}").text
    assert '<h2 class="db-title">Kallelse till provtagning</h2>' in page
    assert '<p class="db-para">Kom fastande &amp; ta med legitimation.</p>' in page


def test_a_deleted_post_makes_no_message(start_platform, tmp_path, producer):
    producer.behaviour.body = DETAILS_ANSWER
    platform = start_platform(tak=tak_to(tmp_path, producer.url))
    update(platform, engagement("BK-2", "Invitation", delete=True))
    assert platform.app.outbox.wait_idle(20)
    assert producer.behaviour.seen == [] and InboxStore(platform.app.journal).cases(CITIZEN) == []


# -- state across restarts and resets ---------------------------------------------------------------

def test_posts_and_unsent_notifications_survive_a_restart(tmp_path, producer):
    producer.behaviour.body = DETAILS_ANSWER
    journal = tmp_path / "journal.sqlite"
    tak = tak_to(tmp_path, producer.url)
    first = Application(Config(**stored(journal), tak=tak))
    first.outbox.stop()  # as if killed before the follow-ups ran
    from mockplatform.outbound import call

    payload = f'<Update xmlns="{UPDATE}" xmlns:core="{CORE}">{engagement("BK-2", "Invitation")}</Update>'
    assert call(first, origin="test", consumer=BOOKING_SYSTEM, logical_address=OWNER, contract=UPDATE,
                operation="Update", payload_xml=payload).status == 200
    assert first.outbox.pending() == 1
    first.close()
    second = Application(Config(**stored(journal), tak=tak))
    try:
        assert [p["businessObjectInstanceIdentifier"] for p in IndexStore(second.journal).posts()] == ["BK-2"]
        assert second.outbox.wait_idle(20)
        assert [e.contract for e in second.journal.exchanges()][-1] == DETAILS
        assert len(InboxStore(second.journal).cases(CITIZEN)) == 1
    finally:
        second.close()


def test_reset_forgets_the_posts_and_the_follow_ups(tmp_path):
    app = Application(Config(**stored(tmp_path / "journal.sqlite")))
    try:
        app.outbox.stop()
        app.journal.write(lambda conn: Outbox.effect("engagementindex.notify", {"x": 1})(conn, 0), exchanges_kept=True)
        from mockplatform.outbound import call

        payload = f'<Update xmlns="{UPDATE}" xmlns:core="{CORE}">{engagement()}</Update>'
        call(app, origin="test", consumer=BOOKING_SYSTEM, logical_address=OWNER, contract=UPDATE, operation="Update",
             payload_xml=payload)
        assert IndexStore(app.journal).count() == 1 and app.outbox.pending() == 2
        app.reset()
        assert IndexStore(app.journal).count() == 0 and app.outbox.pending() == 0
    finally:
        app.close()


# -- the page and the admin API ------------------------------------------------------------------------

def test_the_page_lists_the_posts_per_citizen_escaped(platform):
    update(platform, engagement("BK-<b>1</b>".replace("<", "&lt;").replace(">", "&gt;")))
    page = platform.session.get(platform.url + "/ui/engagements").text
    assert "Tolvan Tolvansson" in page and "1 post" in page
    one = platform.session.get(platform.url + "/ui/engagements?citizen=19121212-1212").text
    assert "BK-&lt;b&gt;1&lt;/b&gt;" in one and "<b>1</b>" not in one
    bad = platform.session.get(platform.url + "/ui/engagements?citizen=nonsense").text
    assert "inget personnummer" in bad
    admin = platform.session.get(platform.url + "/admin/engagements/19121212-1212").json()
    assert [p["businessObjectInstanceIdentifier"] for p in admin["posts"]] == ["BK-<b>1</b>"]


def test_the_inbox_profile_leaves_the_index_and_booking_calls_to_their_domains(platform, tmp_path):
    """A journal with a booking system's index updates (and the platform's own notifications) judged for
    the inbox: those calls are not the inbox consumer's, so they are neither judged nor counted."""
    from mockplatform.verification import VerifyOptions, verify
    from tests.soap import is_active_user

    assert platform.post(is_active_user()).status_code == 200
    update(platform, engagement("BK-1"), engagement("X", most_recent="2030"))  # one good, one refused (EI001)
    update(platform, engagement("BK-2"))
    assert platform.app.outbox.wait_idle(20)
    assert len(platform.app.journal.exchanges()) > 3
    protocol = verify(VerifyOptions(journal=platform.app.journal.path, profile="1177-inbox"))
    assert protocol.exchanges_judged == 1
    assert all(r.checked <= 1 and not r.violations for r in protocol.rules)


def test_1177_makes_no_second_message_when_the_index_is_told_the_same_again(start_platform, tmp_path, producer):
    """A booking system reloading its index unchanged: the index notifies again, 1177 asks again, but the
    citizen's inbox keeps one message of the invitation."""
    producer.behaviour.body = DETAILS_ANSWER
    platform = start_platform(tak=tak_to(tmp_path, producer.url))
    for _ in range(2):
        assert update(platform, engagement("BK-2", "Invitation")).status_code == 200
        assert platform.app.outbox.wait_idle(20)
    assert len(producer.behaviour.seen) == 2
    [case] = InboxStore(platform.app.journal).cases(CITIZEN)
    assert len(case["messages"]) == 1


def test_reserved_ids_are_matched_case_insensitively_as_hsa_ids_are(platform):
    said = fault(update(platform, engagement("BK-1", unit="se5565594230-reserved")))
    assert said.startswith("EI005: ")
    said = fault(update(platform, engagement("BK-1", source="se5565594230-Reserved")))
    assert said.startswith("EI006: ")


def test_1177_does_not_ask_about_a_post_at_a_unit_not_connected_to_web_booking(start_platform, tmp_path, producer):
    producer.behaviour.body = DETAILS_ANSWER
    platform = start_platform(tak=tak_to(tmp_path, producer.url))
    assert update(platform, engagement("BK-2", "Invitation", unit="SE2321000016-X9Z8")).status_code == 200
    assert platform.app.outbox.wait_idle(20)
    assert producer.behaviour.seen == []
    assert not [e for e in platform.app.journal.exchanges() if e.contract == DETAILS]


def test_the_tak_the_domains_write_for_fixtures_routes_and_authorises_as_the_built_in_one(tmp_path):
    """`fixtures --generate` and anyone else writing a TAK from fixtures: the index, 1177's subscriber, the
    booking systems' units and their Update calls, the same as the hand-written built-in TAK."""
    from datetime import date

    from mockplatform import domains
    from mockplatform.fixtures import load_fixtures
    from mockplatform.tak_files import load_tak

    fixtures = load_fixtures()
    consumers = [c.hsa_id for c in fixtures.consumers if c.system_ids]
    written = tmp_path / "tak.toml"
    written.write_text("\n".join(s for d in domains.installed() if (s := d.tak_section(fixtures, consumers))),
                       encoding="utf-8")
    today = date.today()
    for path in (written, builtin_fixtures_dir() / "tak.toml"):
        tak, _ = load_tak(path)
        calls = [(BOOKING_SYSTEM, UPDATE, OWNER, "builtin:engagementindex"),
                 ("SE5565594230-EI", NOTIFY, "SE5565594230-1177", "builtin:subscriber1177"),
                 ("SE5565594230-1177", DETAILS, UNIT, "http://127.0.0.1:8089/scheduling"),
                 ("SE2321000016-7XQA", "urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1",
                  "SE5565594230-1177", "builtin:inbox")]
        for consumer, contract, address, target in calls:
            route = tak.route(contract, address, today).route
            assert route is not None and route.address == target, (path.name, contract)
            assert tak.authorise(consumer, contract, address, today).allowed, (path.name, consumer, contract)
