"""The fake 1177 inbox: a stateful stand-in for the remote producer of IsActiveUser and
AddMessageToPatientPortalInbox (patientportal 1.x).

It behaves as a validating producer: a request that violates the schema gets a SOAP fault naming
every violation (unless lenient). A message is recorded with its exchange, in the same commit, and
stored unread, grouped into main cases by messageThreadId, when the inbox is next read (see
``inbox_store``).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from lxml import etree

from .. import ns
from ..contracts import ContractRegistry
from ..faults import render_fault
from ..findings import Finding
from ..fixtures import Citizen, Fixtures
from .base import ProducerAnswer, ProducerCall
from .inbox_store import (
    StoreMessage,
    children_by_name,
    first_child_text,
    message_content,
    message_effect,
    text_of,
    texts_by_name,
    thread_key,
    wants_notification,
)

NOT_ACTIVE_TEXT = "Target person is not active user"
CONTENT_TYPE = "text/xml; charset=UTF-8"



def soap_response(payload: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ns.SOAP11}"><soapenv:Body>{payload}'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def validation_fault(findings: list[Finding]) -> bytes:
    lines = [f"{i}) {f.path or '?'}" + (f" (line {f.line})" if f.line else "") + f": {f.message_en}"
             + (f" [fix: {f.hint}]" if f.hint else "") for i, f in enumerate(findings, 1)]
    faultstring = f"Schema validation failed with {len(findings)} violation(s):\n" + "\n".join(lines)
    return render_fault("SOAP-ENV:Client", faultstring, "\n".join(lines))


class InboxProducer:
    """The fake inbox. Citizens, units and systems come from fixtures; messages live in SQLite."""

    def __init__(self, fixtures: Fixtures, contracts: ContractRegistry, lenient: bool = False,
                 journal_body_bytes: int = 1024 * 1024) -> None:
        self.fixtures = fixtures
        self.contracts = contracts
        self.lenient = lenient
        self.journal_body_bytes = journal_body_bytes  # the journal's limit on a request body it keeps
        self.citizens: dict[str, Citizen] = {c.subject_of_care_id.lower(): c for c in fixtures.citizens}
        self._is_active_bodies: dict[str | None, bytes] = {}  # the answer depends only on the citizen

    def __call__(self, call: ProducerCall) -> ProducerAnswer:
        payload = call.envelope.payload
        contract = call.contract.lower()
        loaded = self.contracts.get(contract)
        if not self.lenient and loaded is not None:
            findings = loaded.validator.findings(payload)
            if findings:
                return ProducerAnswer(500, validation_fault(findings), [("Content-Type", CONTENT_TYPE)])
        if contract == ns.IS_ACTIVE_USER.lower():
            return self._is_active_user(payload)
        if contract == ns.ADD_MESSAGE.lower():
            return self._add_message(call, payload)
        text = f"The fake 1177 inbox does not implement {call.contract}"
        return ProducerAnswer(500, render_fault("SOAP-ENV:Server", text, None), [("Content-Type", CONTENT_TYPE)])

    def active_citizen(self, subject_of_care_id: str | None) -> Citizen | None:
        citizen = self.citizens.get((subject_of_care_id or "").strip().lower())
        return citizen if citizen is not None and citizen.active else None

    def _is_active_user(self, payload: etree._Element) -> ProducerAnswer:
        citizen = self.active_citizen(texts_by_name(payload).get("subjectOfCareId"))
        key = citizen.subject_of_care_id if citizen else None
        body = self._is_active_bodies.get(key)
        if body is None:
            methods = "".join(
                f"<activeNotificationMethods>{m}</activeNotificationMethods>"
                for m in (citizen.notification_methods if citizen else ())
            )
            body = self._is_active_bodies[key] = soap_response(
                f'<IsActiveUserResponse xmlns="{ns.IS_ACTIVE_USER}">'
                f"<status>{'true' if citizen else 'false'}</status>{methods}</IsActiveUserResponse>"
            )
        return ProducerAnswer(200, body, [("Content-Type", CONTENT_TYPE)])

    def _add_message(self, call: ProducerCall, payload: etree._Element) -> ProducerAnswer:
        request = children_by_name(payload)
        thread_id = first_child_text(request.get("message"), "messageThreadId")
        echo = f"<messageThreadId>{escape(thread_id)}</messageThreadId>" if thread_id is not None else ""
        citizen = self.active_citizen(text_of(request, "subjectOfCareId"))
        if citizen is None:
            body = soap_response(
                f'<AddMessageToPatientPortalInboxResponse xmlns="{ns.ADD_MESSAGE}">{echo}'
                f"<resultCode>ERROR</resultCode><resultText>{NOT_ACTIVE_TEXT}</resultText>"
                "</AddMessageToPatientPortalInboxResponse>"
            )
            return ProducerAnswer(200, body, [("Content-Type", CONTENT_TYPE)])
        source_system = text_of(request, "sourceSystem")
        given = bool(source_system and source_system.strip())  # whitespace alone names no system
        sent = list(citizen.notification_methods) if given and wants_notification(request) else []
        thread = thread_key(thread_id, source_system, call.consumer)
        notifications = "".join(f"<notificationSent>{m}</notificationSent>" for m in sent)
        body = soap_response(
            f'<AddMessageToPatientPortalInboxResponse xmlns="{ns.ADD_MESSAGE}">{echo}{notifications}'
            "<resultCode>OK</resultCode></AddMessageToPatientPortalInboxResponse>"
        )
        answer = ProducerAnswer(200, body, [("Content-Type", CONTENT_TYPE)])
        if call.request_size > self.journal_body_bytes:  # the journal keeps only part: stored now, whole
            answer.effects.append(StoreMessage(citizen.subject_of_care_id, thread, ",".join(sent),
                                               call.correlation_id, message_content(payload), call.consumer))
        else:  # taken into the inbox from the journal when it is next read (inbox_store.sync_inbox)
            answer.deferred = message_effect(citizen.subject_of_care_id, thread, ",".join(sent))
        return answer
