"""A conformant consumer of the 1177 inbox, as an example to copy from (standard library only).

What makes it conformant, in the order a reviewer at 1177 looks:
- `LogicalAddress` is the inbox *producer system*, never the sending unit (the unit goes in the body);
- the citizen is checked with IsActiveUser before a message is sent, and nothing is sent to an
  inactive citizen;
- every message has `messageDescription` (the heading) and `sourceSystem` (the system-id 1177
  issued); `notify` only together with `sourceSystem`;
- DocBook goes into `messageText` as text (so it is entity-encoded), within the accepted subset,
  and a message with an SSO link always has DocBook text;
- `resultCode=ERROR` is final (the citizen is not an active user): it is not resent;
- technical faults (a Server fault such as VP009, a refused connection, a timeout) are retried with
  the contract's growing back-off: 4 s, then +20 s, +5 min, +30 min; a Client fault (VP004, VP007,
  a schema violation) is not: the request or the setup must be fixed.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from lxml import etree

from ... import ns
from ...envelope import read_answer
from ...messages import DEMONSTRATION_HEADER, XML_CONTENT_TYPE
from ...version import __version__
from .names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, PATIENTPORTAL_CORE

BACKOFF_S: tuple[float, ...] = (4.0, 20.0, 300.0, 1800.0)


class TechnicalFault(Exception):
    """The platform or the producer could not answer (a Server fault, HTTP error, timeout): retry later."""


class RequestRejected(Exception):
    """A SOAP fault with faultcode Client: the request or the setup is wrong, and a retry cannot help."""


@dataclass
class SendResult:
    result_code: str
    result_text: str | None = None
    thread_id: str | None = None
    notifications: list[str] = field(default_factory=list)
    attempts: int = 1


@dataclass(frozen=True)
class SsoLink:
    system_id: str
    text: str
    type: str = "NewTarget"
    query_string: str | None = None


def docbook_article(title: str, paragraphs: Sequence[str], links: Sequence[tuple[str, str]] = ()) -> str:
    """A DocBook article in the subset the 1177 inbox accepts: info/title, then paragraphs.

    Built with an XML library, never by pasting strings, so a patient's name cannot break it.
    """
    article = etree.Element("article")
    etree.SubElement(etree.SubElement(article, "info"), "title").text = title
    for text in paragraphs:
        etree.SubElement(article, "para").text = text
    for url, text in links:
        para = etree.SubElement(article, "para")
        link = etree.SubElement(para, "ulink", url=url)
        link.text = text
    return etree.tostring(article, encoding="unicode")


class InboxConsumer:
    """Calls IsActiveUser and AddMessageToPatientPortalInbox through the platform."""

    def __init__(self, endpoint: str, logical_address: str, source_system: str, sender_id: str | None = None,
                 timeout_s: float = 30.0, backoff_s: Sequence[float] = BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint
        self.logical_address = logical_address
        self.source_system = source_system
        self.sender_id = sender_id
        self.timeout_s = timeout_s
        self.backoff_s = tuple(backoff_s)
        self.sleep = sleep

    # -- the two operations ------------------------------------------------------------------------

    def is_active_user(self, subject_of_care_id: str) -> tuple[bool, list[str]]:
        payload = (f'<IsActiveUser xmlns="{IS_ACTIVE_USER_NS}"><subjectOfCareId>{escape(subject_of_care_id)}'
                   "</subjectOfCareId></IsActiveUser>")
        answer = self._with_retry(lambda: self._call(IS_ACTIVE_USER_NS, "IsActiveUser", payload))[0]
        status = answer.findtext(f"{{{IS_ACTIVE_USER_NS}}}status")
        methods = [m.text or "" for m in answer.findall(f"{{{IS_ACTIVE_USER_NS}}}activeNotificationMethods")]
        return status == "true", methods

    def add_message(self, subject_of_care_id: str, unit_id: str, unit_name: str, description: str, text: str,
                    thread_id: str | None = None, notify: bool = False, sso: SsoLink | None = None) -> SendResult:
        c = PATIENTPORTAL_CORE
        parts = [f'<AddMessageToPatientPortalInbox xmlns="{ADD_MESSAGE_NS}" xmlns:core="{c}">',
                 f"<subjectOfCareId>{escape(subject_of_care_id)}</subjectOfCareId><message>",
                 f"<core:organisationUnit><core:unitId>{escape(unit_id)}</core:unitId>"
                 f"<core:unitName>{escape(unit_name)}</core:unitName></core:organisationUnit>"]
        if thread_id:
            parts.append(f"<core:messageThreadId>{escape(thread_id)}</core:messageThreadId>")
        parts.append(f"<core:messageDescription>{escape(description)}</core:messageDescription>")
        parts.append(f"<core:messageText>{escape(text)}</core:messageText>")  # DocBook is entity-encoded here
        if sso is not None:
            query = f"<core:queryString>{escape(sso.query_string)}</core:queryString>" if sso.query_string else ""
            parts.append(f"<core:ssoLink><core:systemId>{escape(sso.system_id)}</core:systemId>"
                         f"<core:text>{escape(sso.text)}</core:text>{query}<core:type>{escape(sso.type)}</core:type>"
                         "</core:ssoLink>")
        parts.append("</message>")
        if notify:
            parts.append("<notify>true</notify>")
        parts.append(f"<sourceSystem>{escape(self.source_system)}</sourceSystem></AddMessageToPatientPortalInbox>")
        answer, attempts = self._with_retry(lambda: self._call(ADD_MESSAGE_NS, "AddMessageToPatientPortalInbox",
                                                               "".join(parts)))
        r = ADD_MESSAGE_NS
        return SendResult(
            result_code=answer.findtext(f"{{{r}}}resultCode") or "",
            result_text=answer.findtext(f"{{{r}}}resultText"),
            thread_id=answer.findtext(f"{{{r}}}messageThreadId"),
            notifications=[n.text or "" for n in answer.findall(f"{{{r}}}notificationSent")],
            attempts=attempts,
        )

    def deliver(self, subject_of_care_id: str, **message: object) -> SendResult | None:
        """Flow 2 of the contract: IsActiveUser first, then AddMessage only to an active citizen."""
        active, _ = self.is_active_user(subject_of_care_id)
        if not active:
            return None
        return self.add_message(subject_of_care_id, **message)

    # -- transport ---------------------------------------------------------------------------------

    def _with_retry(self, call: Callable[[], etree._Element]) -> tuple[etree._Element, int]:
        """Retry technical faults with growing back-off; logical answers (even ERROR) come back at once."""
        for attempt, wait in enumerate((*self.backoff_s, None), start=1):
            try:
                return call(), attempt
            except TechnicalFault:
                if wait is None:
                    raise
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _call(self, responder_ns: str, operation: str, payload: str) -> etree._Element:
        body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ns.SOAP11}">'
                f'<soapenv:Header><LogicalAddress xmlns="{ns.REGISTRY}">{escape(self.logical_address)}'
                f"</LogicalAddress></soapenv:Header><soapenv:Body>{payload}</soapenv:Body></soapenv:Envelope>")
        headers = {"Content-Type": XML_CONTENT_TYPE, "SOAPAction": f'"{responder_ns}:{operation}"',
                   "x-skltp-correlation-id": str(uuid.uuid4()),
                   # the journal keeps the mark: a protocol on these calls is a demonstration, not evidence
                   DEMONSTRATION_HEADER: "sample-consumer",
                   "User-Agent": f"mockplatform-sample-consumer/{__version__}"}
        if self.sender_id:
            headers["x-vp-sender-id"] = self.sender_id
        request = urllib.request.Request(self.endpoint, data=body.encode("utf-8"), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = response.read()
        except urllib.error.HTTPError as exc:  # a SOAP fault comes with HTTP 500
            fault = exc.read()
            said = read_answer(fault)
            if said is not None and said.fault_code == "Client":
                raise RequestRejected(fault.decode("utf-8", "replace")) from None
            raise TechnicalFault(f"HTTP {exc.code}: {fault[:500]!r}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TechnicalFault(str(exc)) from None
        answer = read_answer(data)
        if answer is None:
            raise TechnicalFault(f"unreadable answer: {data[:200]!r}")
        if answer.payload is None or answer.payload.tag != f"{{{responder_ns}}}{operation}Response":
            raise TechnicalFault(f"no {operation}Response in the answer")
        return answer.payload
