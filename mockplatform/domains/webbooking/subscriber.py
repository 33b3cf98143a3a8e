"""1177 as a subscriber of the engagement index: ProcessNotification at 1177's logical address.

A notification about an Invitation or a Booking (service domain riv:crm:scheduling), from a booking
system activated for inbox messages (by the sourceSystem of the post), makes 1177 ask that booking
system for the booking's details (GetBookingDetails through the platform, a follow-up) and put a
message in the citizen's inbox: the invitation text from ``purpose`` (DocBook or plain), the unit, the
time. Deletions and posts of other systems are answered OK and change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...outbox import Outbox
from ...producers import ProducerAnswer, ProducerCall, fault_answer, schema_fault, soap_answer, version_mismatch
from .names import BOOKING, INVITATION, SERVICE_DOMAIN
from .section import web_booking

if TYPE_CHECKING:
    from ...app import Application

PROCESS_NOTIFICATION_NS = "urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1"
FETCH = "webbooking.fetch"  # the follow-up: GetBookingDetails, then the inbox message


def _engagements(payload) -> list[tuple[bool, dict[str, str]]]:
    """(deleted, fields) of each notification (an engagement transaction), by local name. 1177 reads only
    what it needs; the index's own reader belongs to the index's domain."""
    from ...xmlsafe import local_name, text_value

    out = []
    for transaction in payload:
        if local_name(transaction) != "notification":
            continue
        deleted, fields = False, {}
        for child in transaction:
            if local_name(child) == "deleteFlag":
                deleted = text_value(child).strip() in ("true", "1")
            elif local_name(child) == "engagement":
                fields = {local_name(f): text_value(f).strip() for f in child if len(f) == 0}
        out.append((deleted, fields))
    return out


class Subscriber1177:
    def __init__(self, app: Application) -> None:
        self.app = app

    def __call__(self, call: ProducerCall) -> ProducerAnswer:
        mismatch = version_mismatch(call.envelope.soap_namespace)
        if mismatch is not None:
            return mismatch
        if call.contract.lower() != PROCESS_NOTIFICATION_NS.lower():
            return fault_answer("SOAP-ENV:Server", f"The simulated 1177 subscriber does not implement {call.contract}")
        loaded = self.app.contracts.get(call.contract)
        if loaded is not None and not self.app.settings.lenient:
            findings = loaded.validator.findings(call.envelope.payload)
            if findings:
                return schema_fault(findings)
        answer = soap_answer(f'<ProcessNotificationResponse xmlns="{PROCESS_NOTIFICATION_NS}">'
                             "<ResultCode>OK</ResultCode></ProcessNotificationResponse>")
        section = web_booking(self.app.fixtures)
        for deleted, fields in _engagements(call.envelope.payload):
            if deleted or fields.get("serviceDomain") != SERVICE_DOMAIN:
                continue
            if fields.get("categorization") not in (BOOKING, INVITATION):
                continue
            system = section.system(fields.get("sourceSystem", ""))
            if system is None or not system.activated_for_inbox:
                continue  # not activated for inbox messages: 1177 makes none
            if fields.get("logicalAddress", "").lower() not in {u.lower() for u in system.units}:
                continue  # a unit not connected to web booking: 1177 does not call it
            answer.effects.append(Outbox.effect(FETCH, {
                "unit": fields.get("logicalAddress", ""),
                "booking_id": fields.get("businessObjectInstanceIdentifier", ""),
                "citizen": fields.get("registeredResidentIdentification", ""),
                "categorization": fields["categorization"], "source_system": system.hsa_id}))
        return answer


def fetcher(app: Application):
    """The follow-up handler: GetBookingDetails at the booking system, then the inbox message."""
    from .client import Scheduling
    from .notices import booking_message

    def fetch(payload: dict[str, Any]) -> None:
        answered = Scheduling(app).details(payload["unit"], payload["booking_id"], payload["citizen"])
        if not answered.ok or not answered.timeslots:
            return  # the exchange shows what the booking system answered; 1177 makes no message
        booking_message(app, payload["citizen"], answered, payload["categorization"], payload["source_system"])

    return fetch
