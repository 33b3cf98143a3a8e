"""The fake 1177 inbox: a stateful stand-in for the remote producer of IsActiveUser and
AddMessageToPatientPortalInbox (patientportal 1.x).

It behaves as a validating producer: a request that violates the schema gets a SOAP fault naming
every violation (unless lenient). As a SOAP 1.1-only RIVTA producer does (in CXF's words), it answers
a SOAP 1.2 request with a SOAP 1.1 VersionMismatch fault, HTTP 500, which the platform passes on.
A message is recorded with its exchange, in the same commit, and stored unread, grouped into main
cases by messageThreadId, when the inbox is next read (see ``store``).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ...contracts import ContractRegistry
from ...fixtures import Citizen, Fixtures
from ...producers import ProducerAnswer, ProducerCall, fault_answer, schema_fault, soap_answer, version_mismatch
from .names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, NOT_ACTIVE_TEXT
from .request import InboxRequest, read_request
from .store import StoreMessage, message_effect, thread_key


def add_message_answer(contract: str, result_code: str, text: str | None = None, thread_id: str | None = None,
                       notifications: tuple[str, ...] = ()) -> ProducerAnswer:
    """An AddMessageToPatientPortalInboxResponse: the thread id echoed, notifications sent, the result."""
    echo = f"<messageThreadId>{escape(thread_id)}</messageThreadId>" if thread_id is not None else ""
    sent = "".join(f"<notificationSent>{m}</notificationSent>" for m in notifications)
    said = f"<resultText>{escape(text)}</resultText>" if text is not None else ""
    return soap_answer(f'<AddMessageToPatientPortalInboxResponse xmlns="{contract}">{echo}{sent}'
                       f"<resultCode>{result_code}</resultCode>{said}</AddMessageToPatientPortalInboxResponse>")


class InboxProducer:
    """The fake inbox. Citizens, units and systems come from fixtures; messages live in SQLite."""

    def __init__(self, fixtures: Fixtures, contracts: ContractRegistry, lenient: bool = False,
                 journal_body_bytes: int = 1024 * 1024) -> None:
        self.fixtures = fixtures
        self.contracts = contracts
        self.lenient = lenient
        self.journal_body_bytes = journal_body_bytes  # the journal's limit on a request body it keeps
        self.citizens: dict[str, Citizen] = {c.subject_of_care_id.lower(): c for c in fixtures.citizens}
        self._is_active_answers: dict[str | None, ProducerAnswer] = {}  # the answer depends only on the citizen

    def __call__(self, call: ProducerCall) -> ProducerAnswer:
        mismatch = version_mismatch(call.envelope.soap_namespace)
        if mismatch is not None:
            return mismatch
        payload = call.envelope.payload
        contract = call.contract.lower()
        loaded = self.contracts.get(contract)
        if not self.lenient and loaded is not None:
            findings = loaded.validator.findings(payload)
            if findings:
                return schema_fault(findings)
        if contract == IS_ACTIVE_USER_NS.lower():
            return self._is_active_user(read_request(payload, whole=False))
        if contract == ADD_MESSAGE_NS.lower():
            return self._add_message(call, read_request(payload, whole=call.request_size > self.journal_body_bytes))
        return fault_answer("SOAP-ENV:Server", f"The fake 1177 inbox does not implement {call.contract}")

    def active_citizen(self, subject_of_care_id: str | None) -> Citizen | None:
        citizen = self.citizens.get((subject_of_care_id or "").strip().lower())
        return citizen if citizen is not None and citizen.active else None

    def _is_active_user(self, request: InboxRequest) -> ProducerAnswer:
        citizen = self.active_citizen(request.subject_of_care_id)
        key = citizen.subject_of_care_id if citizen else None
        answer = self._is_active_answers.get(key)
        if answer is None:
            methods = "".join(
                f"<activeNotificationMethods>{m}</activeNotificationMethods>"
                for m in (citizen.notification_methods if citizen else ())
            )
            answer = self._is_active_answers[key] = soap_answer(
                f'<IsActiveUserResponse xmlns="{IS_ACTIVE_USER_NS}">'
                f"<status>{'true' if citizen else 'false'}</status>{methods}</IsActiveUserResponse>"
            )
        return ProducerAnswer(answer.status, answer.body, list(answer.headers))

    def _add_message(self, call: ProducerCall, request: InboxRequest) -> ProducerAnswer:
        citizen = self.active_citizen(request.subject_of_care_id)
        if citizen is None:
            return add_message_answer(ADD_MESSAGE_NS, "ERROR", NOT_ACTIVE_TEXT, request.thread_id)
        sent = citizen.notification_methods if request.names_source_system and request.wants_notification else ()
        thread = thread_key(request.thread_id, request.source_system, call.consumer)
        answer = add_message_answer(ADD_MESSAGE_NS, "OK", None, request.thread_id, tuple(sent))
        if call.request_size > self.journal_body_bytes:  # the journal keeps only part: stored now, whole
            answer.effects.append(StoreMessage(citizen.subject_of_care_id, thread, ",".join(sent),
                                               call.correlation_id, request.content(), call.consumer))
        else:  # taken into the inbox from the journal when it is next read (store.InboxStore)
            answer.deferred = message_effect(citizen.subject_of_care_id, thread, ",".join(sent))
        return answer
