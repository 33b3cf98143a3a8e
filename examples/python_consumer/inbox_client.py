"""An example Python consumer of the 1177 inbox through NTjP, built with zeep from the served WSDL.

What a production consumer needs, and what its tests (test_inbox_client.py) check against
mockplatform: check the citizen first, send only to an active citizen, treat resultCode=ERROR as
final, and retry technical faults with the contract's growing back-off (4 s, +20 s, +5 min, ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests
import zeep
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport

WSDL_PATH = "/vp/infrastructure/eservicesupply/patientportal/{name}/1/rivtabp21?wsdl"
BACKOFF_S = (4.0, 20.0, 300.0, 1800.0)


class GaveUp(Exception):
    """Every retry failed; the message must be queued for later (or reported), never dropped."""


@dataclass
class Delivery:
    sent: bool
    result_code: str | None = None
    result_text: str | None = None
    attempts: int = 0
    notifications: tuple[str, ...] = ()


class InboxClient:
    def __init__(self, base_url: str, logical_address: str, source_system: str, sender_id: str,
                 backoff_s: Sequence[float] = BACKOFF_S, sleep: Callable[[float], None] = time.sleep,
                 timeout_s: float = 30.0) -> None:
        session = requests.Session()
        session.headers["x-vp-sender-id"] = sender_id  # local stand-in for the certificate's SERIALNUMBER
        transport = Transport(session=session, timeout=timeout_s, operation_timeout=timeout_s)
        self._is_active = zeep.Client(base_url + WSDL_PATH.format(name="IsActiveUser"), transport=transport)
        self._add = zeep.Client(base_url + WSDL_PATH.format(name="AddMessageToPatientPortalInbox"),
                                transport=transport)
        self.header = {"LogicalAddress": logical_address}  # the inbox producer system, not our unit
        self.source_system = source_system
        self.backoff_s = tuple(backoff_s)
        self.sleep = sleep
        self.attempts = 0

    def _retrying(self, call: Callable[[], object]) -> object:
        self.attempts = 0
        for wait in (*self.backoff_s, None):
            self.attempts += 1
            try:
                return call()
            except Fault as fault:
                if (fault.code or "").endswith("Client"):
                    raise  # our request or our setup is wrong: a retry cannot help
            except (TransportError, requests.ConnectionError, requests.Timeout):
                pass
            if wait is None:
                raise GaveUp(f"no answer after {self.attempts} attempts")
            self.sleep(wait)
        raise AssertionError("unreachable")

    def is_active(self, subject_of_care_id: str) -> bool:
        answer = self._retrying(lambda: self._is_active.service.IsActiveUser(
            subjectOfCareId=subject_of_care_id, _soapheaders=self.header))
        return bool(answer.status)

    def send(self, subject_of_care_id: str, unit_id: str, unit_name: str, heading: str, text: str,
             notify: bool = False, thread_id: str | None = None) -> Delivery:
        if not self.is_active(subject_of_care_id):
            return Delivery(sent=False, attempts=0)
        message = {"organisationUnit": {"unitId": unit_id, "unitName": unit_name},
                   "messageThreadId": thread_id, "messageDescription": heading, "messageText": text}
        answer = self._retrying(lambda: self._add.service.AddMessageToPatientPortalInbox(
            subjectOfCareId=subject_of_care_id, message=message, notify=notify or None,
            sourceSystem=self.source_system, _soapheaders=self.header))
        return Delivery(sent=answer.resultCode == "OK", result_code=answer.resultCode,
                        result_text=answer.resultText, attempts=self.attempts,
                        notifications=tuple(answer.notificationSent or ()))
