"""The fake 1177 inbox through the platform: answers, state, validation faults, persistence."""

from __future__ import annotations

from lxml import etree

from mockplatform import Application, Config, Settings, ns
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, PATIENTPORTAL_CORE
from mockplatform.domains.inbox1177.store import read_inbox, sync_inbox
from mockplatform.http_routes import handle as route

from .conftest import stored
from .soap import (
    ACTIVE_NO_NOTIFICATION,
    ACTIVE_SMS_EMAIL,
    INACTIVE,
    SYSTEM_ID,
    add_message,
    is_active_user,
)

R_ADD = f"{{{ADD_MESSAGE_NS}}}"
R_IS = f"{{{IS_ACTIVE_USER_NS}}}"


def payload(response):
    root = etree.fromstring(response.content)
    return root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]


def inbox(platform, pnr):
    return read_inbox(platform.app.journal, pnr)


def test_is_active_user_reports_status_and_active_methods(platform):
    p = payload(platform.post(is_active_user(ACTIVE_SMS_EMAIL)))
    assert p.tag == f"{R_IS}IsActiveUserResponse"
    assert p.findtext(f"{R_IS}status") == "true"
    assert [e.text for e in p.findall(f"{R_IS}activeNotificationMethods")] == ["SMS", "Email"]
    p = payload(platform.post(is_active_user(ACTIVE_NO_NOTIFICATION)))
    assert p.findtext(f"{R_IS}status") == "true" and p.find(f"{R_IS}activeNotificationMethods") is None


def test_is_active_user_false_for_inactive_and_unknown(platform):
    for pnr in (INACTIVE, "200001012384"):
        p = payload(platform.post(is_active_user(pnr)))
        assert p.findtext(f"{R_IS}status") == "false"


def test_add_message_is_stored_unread_and_answered_ok(platform):
    r = platform.post(add_message(ACTIVE_SMS_EMAIL, description="Provsvar", text="Ditt provsvar är klart."))
    p = payload(r)
    assert p.tag == f"{R_ADD}AddMessageToPatientPortalInboxResponse"
    assert p.findtext(f"{R_ADD}resultCode") == "OK"
    assert p.find(f"{R_ADD}messageThreadId") is None
    assert p.find(f"{R_ADD}notificationSent") is None
    cases = inbox(platform, ACTIVE_SMS_EMAIL)
    assert len(cases) == 1
    message = cases[0]["messages"][0]
    assert message["unread"] is True
    assert message["description"] == "Provsvar" and message["text"] == "Ditt provsvar är klart."
    assert message["unit_id"] == "SE2321000016-A1B2" and message["source_system"] == SYSTEM_ID
    assert message["correlation_id"] == r.headers["x-skltp-correlation-id"]


def test_notification_sent_with_notify_and_source_system(platform):
    p = payload(platform.post(add_message(ACTIVE_SMS_EMAIL, notify=True)))
    assert [e.text for e in p.findall(f"{R_ADD}notificationSent")] == ["SMS", "Email"]
    p = payload(platform.post(add_message(ACTIVE_SMS_EMAIL, notify=True, source_system=None)))
    assert p.find(f"{R_ADD}notificationSent") is None
    p = payload(platform.post(add_message(ACTIVE_NO_NOTIFICATION, notify=True)))
    assert p.find(f"{R_ADD}notificationSent") is None and p.findtext(f"{R_ADD}resultCode") == "OK"
    p = payload(platform.post(add_message(ACTIVE_SMS_EMAIL, notify=False)))
    assert p.find(f"{R_ADD}notificationSent") is None


def test_threaded_messages_share_one_main_case_and_thread_id_is_echoed(platform):
    for i in range(3):
        p = payload(platform.post(add_message(ACTIVE_SMS_EMAIL, thread_id="case-42", text=f"del {i}")))
        assert p.findtext(f"{R_ADD}messageThreadId") == "case-42"
    platform.post(add_message(ACTIVE_SMS_EMAIL, thread_id="case-43"))
    platform.post(add_message(ACTIVE_SMS_EMAIL))
    cases = inbox(platform, ACTIVE_SMS_EMAIL)
    assert sorted(len(c["messages"]) for c in cases) == [1, 1, 3]
    threaded = next(c for c in cases if len(c["messages"]) == 3)
    assert [m["text"] for m in threaded["messages"]] == ["del 0", "del 1", "del 2"]


def test_inactive_or_unknown_citizen_gets_error_and_nothing_is_stored(platform):
    for pnr in (INACTIVE, "200001012384"):
        p = payload(platform.post(add_message(pnr, thread_id="t1")))
        assert p.findtext(f"{R_ADD}resultCode") == "ERROR"
        assert p.findtext(f"{R_ADD}resultText") == "Target person is not active user"
        assert p.findtext(f"{R_ADD}messageThreadId") == "t1"
        assert inbox(platform, pnr) == []


def test_a_comment_inside_a_value_does_not_cut_it_short(platform):
    """A comment or processing instruction splits an element's text in the parsed tree; the schema reads the
    whole value, and so must the inbox (and the rules), or a valid request is misread."""
    split = ACTIVE_SMS_EMAIL[:4] + "<!--x-->" + ACTIVE_SMS_EMAIL[4:]
    p = payload(platform.post(is_active_user(split)))
    assert p.findtext(f"{R_IS}status") == "true"
    body = add_message(ACTIVE_SMS_EMAIL, thread_id="T2", description="Kallelse", notify=True)
    body = (body.replace(f"<subjectOfCareId>{ACTIVE_SMS_EMAIL}<".encode(), f"<subjectOfCareId>{split}<".encode())
                .replace(b">T2<", b">T<?pi x?>2<").replace(b">Kallelse<", b">Kal<!--y-->lelse<")
                .replace(b"<notify>true", b"<notify><!--z-->true"))
    p = payload(platform.post(body))
    assert p.findtext(f"{R_ADD}resultCode") == "OK"
    assert p.findtext(f"{R_ADD}messageThreadId") == "T2"
    assert [e.text for e in p.findall(f"{R_ADD}notificationSent")] == ["SMS", "Email"]
    message = inbox(platform, ACTIVE_SMS_EMAIL)[0]["messages"][0]
    assert message["description"] == "Kallelse" and message["thread_id"] == "T2"


def test_a_source_system_of_spaces_alone_sends_no_notification(platform):
    p = payload(platform.post(add_message(ACTIVE_SMS_EMAIL, notify=True, source_system="  ")))
    assert p.findtext(f"{R_ADD}resultCode") == "OK" and p.find(f"{R_ADD}notificationSent") is None


def producer_fault(r) -> str:
    assert r.status_code == 500
    f = etree.fromstring(r.content).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert f.findtext("faultcode") == "SOAP-ENV:Client"
    return f.findtext("faultstring")


def test_message_children_in_the_responder_namespace_get_a_plain_explanation(platform):
    text = producer_fault(platform.post(add_message(message_ns=ADD_MESSAGE_NS)))
    assert "organisationUnit" in text
    assert f"expects it in namespace {PATIENTPORTAL_CORE}" in text
    assert "core namespace" in text
    for later in ("messageDescription", "messageText"):  # each named, also after the first went wrong
        assert f"element <{later}> is in namespace {ADD_MESSAGE_NS}" in text
    assert inbox(platform, ACTIVE_SMS_EMAIL) == []


def test_enumeration_case_is_explained(platform):
    sso = (f'<c:ssoLink xmlns:c="{PATIENTPORTAL_CORE}"><c:systemId>{SYSTEM_ID}</c:systemId><c:text>Öppna</c:text>'
           "<c:type>newTarget</c:type></c:ssoLink>")
    text = producer_fault(platform.post(add_message(sso=sso)))
    assert "write 'NewTarget', not 'newTarget'" in text
    text = producer_fault(platform.post(add_message(sso=sso.replace("newTarget", " NewTarget "))))
    assert "remove the spaces around 'NewTarget'" in text


def test_every_violation_is_named_with_its_path(platform):
    body = add_message("19121212-1212").replace(b"<sourceSystem>", b"<notify>yes</notify><sourceSystem>")
    text = producer_fault(platform.post(body))
    assert "2 violation(s)" in text
    assert "subjectOfCareId" in text and "notify" in text
    assert "12 digits" in text


def test_lenient_inbox_accepts_invalid_requests(start_platform):
    p = start_platform(settings=Settings(lenient=True))
    r = p.post(add_message(message_ns=ADD_MESSAGE_NS))
    assert r.status_code == 200 and b"<resultCode>OK</resultCode>" in r.content


def test_inbox_state_and_journal_survive_a_restart(tmp_path):
    journal = tmp_path / "j.sqlite"
    from mockplatform.messages import Request

    def post(app, body):
        return route(app, Request("POST", "/vp", [("Content-Type", "text/xml")], body, client="127.0.0.1:1"))

    app = Application(Config(**stored(journal)))
    assert post(app, add_message(ACTIVE_SMS_EMAIL, thread_id="a")).status == 200
    app.close()
    app = Application(Config(**stored(journal)))
    assert post(app, add_message(ACTIVE_SMS_EMAIL, thread_id="a")).status == 200
    cases = read_inbox(app.journal, ACTIVE_SMS_EMAIL)
    assert len(cases) == 1 and len(cases[0]["messages"]) == 2
    assert app.journal.count() == 2
    app.close()


def test_stored_messages_match_journal_rows(platform):
    platform.post(add_message(ACTIVE_SMS_EMAIL))
    platform.post(add_message(INACTIVE))
    sync_inbox(platform.app.journal)
    conn = platform.app.journal.database.connect()
    rows = conn.execute("SELECT e.correlation_id, m.correlation_id FROM inbox_messages m "
                        "JOIN exchanges e ON e.id = m.exchange_id").fetchall()
    assert len(rows) == 1 and rows[0][0] == rows[0][1]


def test_a_message_is_taken_from_its_exchange_in_the_journal_when_the_inbox_is_read(platform):
    """The call's commit writes only the exchange, with the message as its effect; reading the inbox
    takes it into the inbox's tables, content and all."""
    r = platform.post(add_message(ACTIVE_SMS_EMAIL, description="Provsvar", text="Ditt provsvar är klart.",
                                  notify=True, thread_id="t-1"))
    conn = platform.app.journal.database.connect()
    try:
        assert conn.execute("SELECT count(*) FROM inbox_messages").fetchone()[0] == 0
        (effect,) = conn.execute("SELECT effect FROM exchanges").fetchone()
        assert ACTIVE_SMS_EMAIL in effect and "t-1" in effect
        message = inbox(platform, ACTIVE_SMS_EMAIL)[0]["messages"][0]
        assert message["text"] == "Ditt provsvar är klart." and message["description"] == "Provsvar"
        assert message["thread_id"] == "t-1" and message["notify"] is True
        assert message["notifications"] == ["SMS", "Email"]
        assert message["consumer"] == platform.app.settings.default_consumer
        assert message["correlation_id"] == r.headers["x-skltp-correlation-id"]
        assert len(message["received"]) == len("2026-01-01T00:00:00.000+00:00")  # UTC, to the millisecond
        stored = tuple(conn.execute("SELECT text, unit_id FROM inbox_messages").fetchone())
        assert stored == ("Ditt provsvar är klart.", "SE2321000016-A1B2")  # taken whole: reading is SQL only
    finally:
        conn.close()


def test_a_message_larger_than_the_journal_keeps_is_stored_whole(start_platform):
    """The journal keeps the first journal_body_bytes of a request: a longer message's content goes into
    its row, so the inbox still shows all of it."""
    platform = start_platform(settings=Settings(journal_body_bytes=2000))
    long_text = "Lång text. " * 400
    platform.post(add_message(ACTIVE_SMS_EMAIL, text=long_text, description="Lång", thread_id="big"))
    platform.post(add_message(ACTIVE_SMS_EMAIL, text="Kort.", description="Kort", thread_id="big"))
    (case,) = inbox(platform, ACTIVE_SMS_EMAIL)
    long_one, short_one = case["messages"]
    assert long_one["text"] == long_text and long_one["description"] == "Lång"
    assert long_one["unit_id"] and long_one["consumer"] == platform.app.settings.default_consumer
    assert short_one["text"] == "Kort." and short_one["thread_id"] == "big"
    assert len(platform.app.journal.exchanges()[0].request_body) == 2000  # cut: the row had to hold it


def test_messages_committed_together_keep_their_threads_and_order(tmp_path):
    """Under load the server commits many calls at once, and the inbox stores their messages together:
    new and known threads, and a message without a thread among them, come out as one at a time would."""
    from mockplatform.messages import Request

    app = Application(Config(**stored(tmp_path / "j.sqlite")))
    try:
        def post(body):
            return route(app, Request("POST", "/vp", [("Content-Type", "text/xml")], body, client="127.0.0.1:1"))

        post(add_message(ACTIVE_SMS_EMAIL, thread_id="known", text="1"))
        for bodies in ([add_message(ACTIVE_SMS_EMAIL, thread_id=t, text=x) for t, x in
                        (("known", "2"), ("new", "3"), ("new", "4"), ("known", "5"))],
                       [add_message(ACTIVE_SMS_EMAIL, thread_id="new", text="6"),
                        add_message(ACTIVE_SMS_EMAIL, text="7"),
                        add_message(ACTIVE_SMS_EMAIL, thread_id="known", text="8")]):
            held: list = []
            with app.journal.holding(held):
                for body in bodies:
                    assert post(body).status == 200
            app.journal.commit(held)
            assert all(p.error is None for p in held)
        cases = read_inbox(app.journal, ACTIVE_SMS_EMAIL)
        texts = [[m["text"] for m in case["messages"]] for case in cases]
        assert texts == [["1", "2", "5", "8"], ["7"], ["3", "4", "6"]]  # newest case first, each oldest first
        exchange_ids = [m["exchange_id"] for case in cases for m in case["messages"]]
        assert len(set(exchange_ids)) == 8
    finally:
        app.close()


def test_the_inbox_takes_each_recorded_message_once_also_across_a_reset(platform):
    """Messages are taken from the journal when the inbox is read: each once, in order, and a reset
    (which empties journal and inbox) does not bring back what came before it."""
    platform.post(add_message(ACTIVE_SMS_EMAIL, text="före"))
    assert [m["text"] for c in inbox(platform, ACTIVE_SMS_EMAIL) for m in c["messages"]] == ["före"]
    assert len(inbox(platform, ACTIVE_SMS_EMAIL)) == 1  # read again: nothing taken twice
    platform.app.reset()
    assert inbox(platform, ACTIVE_SMS_EMAIL) == []
    platform.post(add_message(ACTIVE_SMS_EMAIL, text="efter 1", thread_id="t"))
    platform.post(add_message(ACTIVE_SMS_EMAIL, text="efter 2", thread_id="t"))
    platform.post(add_message(INACTIVE, text="aldrig"))  # ERROR: records nothing for the inbox
    (case,) = inbox(platform, ACTIVE_SMS_EMAIL)
    assert [m["text"] for m in case["messages"]] == ["efter 1", "efter 2"]
    assert inbox(platform, INACTIVE) == []


def test_readers_taking_messages_at_the_same_time_take_each_once(tmp_path):
    """Two readers syncing together (a page and the admin API, say): each message lands once, in order."""
    import threading

    from mockplatform.messages import Request

    app = Application(Config(**stored(tmp_path / "j.sqlite")))
    try:
        held: list = []
        with app.journal.holding(held):
            for i in range(450):  # more than two chunks
                body = add_message(ACTIVE_SMS_EMAIL, thread_id=f"t{i % 3}", text=str(i))
                route(app, Request("POST", "/vp", [("Content-Type", "text/xml")], body, client="127.0.0.1:1"))
        app.journal.commit(held)
        errors = []

        def read():
            try:
                sync_inbox(app.journal)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        readers = [threading.Thread(target=read) for _ in range(3)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        assert errors == []
        cases = read_inbox(app.journal, ACTIVE_SMS_EMAIL)
        texts = sorted((m["thread_id"], int(m["text"])) for case in cases for m in case["messages"])
        assert texts == sorted((f"t{i % 3}", i) for i in range(450))
        for case in cases:
            numbers = [int(m["text"]) for m in case["messages"]]
            assert numbers == sorted(numbers)
    finally:
        app.close()


def test_threads_of_different_senders_never_share_a_key():
    from mockplatform.domains.inbox1177.store import thread_key

    assert thread_key("c", "a|b", None) != thread_key("b|c", "a", None)
    assert thread_key("T-1", "SE2321000016-7XQA", None) == "se2321000016-7xqa|T-1"  # as journals already hold
    assert thread_key("T-1", None, "SE2321000016-7XQA") == thread_key("T-1", "se2321000016-7xqa", None)
    assert thread_key(None, "SE2321000016-7XQA", None) is None


def test_the_producer_and_the_rules_read_notify_alike(start_platform):
    """One reader of an AddMessage: "TRUE" is no xs:boolean, so neither the inbox (lenient, accepting it) nor
    the rules take it as a request to notify; " true " (spaces around) is one, for both. (The inbox read
    notify case-insensitively and the rules did not: the inbox notified where the rules saw no notify.)"""
    from mockplatform import domains
    from mockplatform.domains.inbox1177.view import read_inbox_view

    platform = start_platform(settings=Settings(lenient=True))
    profile = domains.profile("1177-inbox")
    ctx = profile.context(platform.app.fixtures, platform.app.contracts)
    for written, notifies in (("TRUE", False), (" true ", True), ("1", True)):
        notify = f"<notify>{written}</notify><sourceSystem>".encode()
        body = add_message(ACTIVE_SMS_EMAIL).replace(b"<sourceSystem>", notify)
        answer = platform.post(body)
        assert answer.status_code == 200, answer.text
        sent = b"<notificationSent>" in answer.content
        exchange = platform.app.journal.exchanges()[-1]
        view = read_inbox_view(exchange)
        assert sent is notifies and view.notify is notifies, written
        assert (view.notifications_sent > 0) is notifies
        without_source = body.replace(b"<sourceSystem>", b"<x>").replace(b"</sourceSystem>", b"</x>")
        platform.post(without_source)
        rules = {f.rule_id for f in profile.iter_request_findings(read_inbox_view(
            platform.app.journal.exchanges()[-1]), ctx)}
        assert ("PP-NOTIFY-NEEDS-SOURCE-SYSTEM" in rules) is notifies, written


def test_a_soap_12_request_gets_the_version_mismatch_fault_of_a_soap_11_only_producer(start_platform):
    """A SOAP 1.2 client cannot read a SOAP 1.1 answer: the inbox answers as a SOAP 1.1-only RIVTA producer
    does, with a SOAP 1.1 VersionMismatch fault (HTTP 500), which the platform passes on; also when lenient,
    and nothing is stored."""
    platform = start_platform(settings=Settings(lenient=True))
    for body in (is_active_user(ACTIVE_SMS_EMAIL, soap_ns=ns.SOAP12),
                 add_message(ACTIVE_SMS_EMAIL, soap_ns=ns.SOAP12)):
        r = platform.post(body, headers={"Content-Type": "application/soap+xml; charset=UTF-8"})
        assert r.status_code == 500
        assert r.headers["Content-Type"].startswith("text/xml")
        root = etree.fromstring(r.content)
        assert root.tag == f"{{{ns.SOAP11}}}Envelope"
        fault = root.find(f".//{{{ns.SOAP11}}}Fault")
        assert fault.findtext("faultcode") == "SOAP-ENV:VersionMismatch"
        said = fault.findtext("faultstring")
        assert said.startswith("A SOAP 1.2 message is not valid when sent to a SOAP 1.1 only endpoint.")
        assert "SOAP 1.2 is not supported: send SOAP 1.1" in said
    assert [(e.http_status, e.vp_code) for e in platform.app.journal.exchanges()] == [(500, None), (500, None)]
    assert inbox(platform, ACTIVE_SMS_EMAIL) == []


def test_a_reservnummer_is_schema_valid_and_no_active_user(platform):
    """The contract's letter form (T, F or P in the ninth position) passes the schema; nobody in the inbox
    has one, so IsActiveUser says false and a message gets the logical ERROR."""
    p = payload(platform.post(is_active_user("19121212T212")))
    assert p.findtext(f"{R_IS}status") == "false"
    p = payload(platform.post(add_message("19121212T212")))
    assert p.findtext(f"{R_ADD}resultCode") == "ERROR"
