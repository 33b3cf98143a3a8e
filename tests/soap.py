"""Building requests the way consumers send them, for the tests."""

from __future__ import annotations

from xml.sax.saxutils import escape

from mockplatform import ns
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, PATIENTPORTAL_CORE

INBOX = "SE5565594230-1177"
ACTIVE_SMS_EMAIL = "191212121212"
ACTIVE_NO_NOTIFICATION = "198505133283"
INACTIVE = "199002272392"
CONSUMER = "SE2321000016-7XQA"
OTHER_CONSUMER = "SE2321000016-8KVR"
UNAUTHORISED = "SE2321000016-9NOA"
UNIT = "SE2321000016-A1B2"
SYSTEM_ID = "SE2321000016-7XQA"


def envelope(payload: str, address: str | None = INBOX, header_xml: str | None = None, soap_ns: str = ns.SOAP11,
             wsa: bool = False) -> bytes:
    if header_xml is None:
        if address is None:
            header_xml = ""
        elif wsa:
            header_xml = f'<wsa:To xmlns:wsa="{ns.WSA}">{escape(address)}</wsa:To>'
        else:
            header_xml = f'<reg:LogicalAddress xmlns:reg="{ns.REGISTRY}">{escape(address)}</reg:LogicalAddress>'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{soap_ns}">'
        f"<soap:Header>{header_xml}</soap:Header><soap:Body>{payload}</soap:Body></soap:Envelope>"
    ).encode()


def is_active_user(pnr: str = ACTIVE_SMS_EMAIL, **kw) -> bytes:
    return envelope(
        f'<IsActiveUser xmlns="{IS_ACTIVE_USER_NS}"><subjectOfCareId>{pnr}</subjectOfCareId></IsActiveUser>', **kw
    )


def add_message(
    pnr: str = ACTIVE_SMS_EMAIL,
    text: str = "Välkommen till din tid på vårdcentralen.",
    description: str | None = "Kallelse",
    thread_id: str | None = None,
    notify: bool | None = None,
    source_system: str | None = SYSTEM_ID,
    unit_id: str = UNIT,
    sso: str | None = None,
    message_ns: str = PATIENTPORTAL_CORE,
    **kw,
) -> bytes:
    c = message_ns
    parts = [
        f'<message xmlns:c="{c}">',
        f"<c:organisationUnit><c:unitId>{unit_id}</c:unitId><c:unitName>Vårdcentralen Exempelby</c:unitName>"
        "</c:organisationUnit>",
    ]
    if thread_id is not None:
        parts.append(f"<c:messageThreadId>{escape(thread_id)}</c:messageThreadId>")
    if description is not None:
        parts.append(f"<c:messageDescription>{escape(description)}</c:messageDescription>")
    parts.append(f"<c:messageText>{escape(text)}</c:messageText>")
    if sso is not None:
        parts.append(sso)
    parts.append("</message>")
    tail = ""
    if notify is not None:
        tail += f"<notify>{'true' if notify else 'false'}</notify>"
    if source_system is not None:
        tail += f"<sourceSystem>{escape(source_system)}</sourceSystem>"
    payload = (
        f'<AddMessageToPatientPortalInbox xmlns="{ADD_MESSAGE_NS}"><subjectOfCareId>{pnr}</subjectOfCareId>'
        + "".join(parts) + tail + "</AddMessageToPatientPortalInbox>"
    )
    return envelope(payload, **kw)
