"""The one reader of the inbox's requests: the producer, the store, the rules and the test cases all
read an AddMessageToPatientPortalInbox or IsActiveUser payload through ``read_request``.

Children are found by local name whatever their namespace, the first of a name winning, so a
request with a namespace mistake is still read (the namespace rules and the schema name the
mistake). Values are read whole (``xmlsafe.text_value``). ``notify`` is an xs:boolean: "true" or
"1", spaces around allowed, case-sensitive as XML Schema has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from sys import intern

from lxml import etree

from ...xmlsafe import text_value

# What a stored message keeps of its request, in the store's column order.
CONTENT_FIELDS = (
    "unit_id", "unit_name", "unit_address", "unit_postal_code", "unit_postal_city", "unit_telephone",
    "thread_id", "description", "text", "sso_system_id", "sso_text", "sso_query", "sso_type", "notify",
    "source_system",
)
_UNIT = {"unitId": "unit_id", "unitName": "unit_name", "unitAddress": "unit_address",
         "unitPostalCode": "unit_postal_code", "unitPostalCity": "unit_postal_city", "unitTelephone": "unit_telephone"}
_SSO = {"systemId": "sso_system_id", "text": "sso_text", "queryString": "sso_query", "type": "sso_type"}
_MESSAGE = {"messageThreadId": "thread_id", "messageDescription": "description", "messageText": "text"}


@dataclass(slots=True)
class InboxRequest:
    """What a request says. ``elements`` maps the path below the request element ("subjectOfCareId",
    "message/messageText", ...) to each element read, for rules that point at a line."""

    subject_of_care_id: str | None = None
    source_system: str | None = None
    notify: bool | None = None  # None: no notify element
    unit_id: str | None = None
    unit_name: str | None = None
    unit_address: str | None = None
    unit_postal_code: str | None = None
    unit_postal_city: str | None = None
    unit_telephone: str | None = None
    thread_id: str | None = None
    description: str | None = None
    text: str | None = None
    sso_system_id: str | None = None
    sso_text: str | None = None
    sso_query: str | None = None
    sso_type: str | None = None
    elements: dict[str, etree._Element] = field(default_factory=dict)

    @property
    def wants_notification(self) -> bool:
        return self.notify is True

    @property
    def names_source_system(self) -> bool:
        """A sourceSystem that names a system: whitespace alone names none."""
        return bool(self.source_system and self.source_system.strip())

    @property
    def has_sso_link(self) -> bool:
        return "message/ssoLink" in self.elements

    def content(self) -> tuple:
        """The values the store keeps, in ``CONTENT_FIELDS`` order (notify as 0/1)."""
        return tuple(int(bool(self.notify)) if name == "notify" else getattr(self, name) for name in CONTENT_FIELDS)


def is_true(text: str) -> bool:
    """An xs:boolean's value: "true" or "1" (spaces around allowed)."""
    return text.strip() in ("true", "1")


def _children(parent: etree._Element, prefix: str, into: InboxRequest,
              names: dict[str, str]) -> dict[str, etree._Element]:
    """One pass over the children: the first of each local name, kept in ``into.elements``; those in
    ``names`` read as text into the field named there."""
    seen: dict[str, etree._Element] = {}
    for child in parent:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        name = tag.rpartition("}")[2]
        if name in seen:
            continue
        seen[name] = child
        into.elements[intern(prefix + name)] = child  # one key object for every request (see journal._shared)
        attribute = names.get(name)
        if attribute is not None:
            setattr(into, attribute, text_value(child))
    return seen


def read_request(payload: etree._Element, whole: bool = True) -> InboxRequest:
    """Read an IsActiveUser or AddMessageToPatientPortalInbox payload (any element: unknown children
    are kept in ``elements`` only). ``whole=False`` leaves the unit and the SSO link unread: what the
    producer needs to answer, on the hot path (the store reads the whole request later)."""
    request = InboxRequest()
    top = _children(payload, "", request, {"subjectOfCareId": "subject_of_care_id", "sourceSystem": "source_system"})
    notify = top.get("notify")
    if notify is not None:
        request.notify = is_true(text_value(notify))
    message = top.get("message")
    if message is not None:
        parts = _children(message, "message/", request, _MESSAGE)
        if not whole:
            return request
        unit = parts.get("organisationUnit")
        if unit is not None:
            _children(unit, "message/organisationUnit/", request, _UNIT)
        sso = parts.get("ssoLink")
        if sso is not None:
            _children(sso, "message/ssoLink/", request, _SSO)
    return request
