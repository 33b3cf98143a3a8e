"""How the inbox's rules and test cases see an exchange: the core's ``RequestView`` with what the
request says (read by the one reader, ``request.read_request``) and what the answer said."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar, NamedTuple

from ...envelope import read_answer
from ...journal import Exchange
from ...rules import RequestView, RuleContext, read_view
from ...rules.base import has_answer
from . import docbook
from .names import ADD_MESSAGE, IS_ACTIVE_USER, OPERATIONS
from .request import is_true, read_request


@dataclass
class InboxView(RequestView):
    subject_of_care_id: str | None = None
    message_text: str | None = None  # the text content of messageText (DocBook still as text)
    message_description: str | None = None
    unit_id: str | None = None
    thread_id: str | None = None
    notify: bool | None = None  # None = no notify element
    source_system: str | None = None
    sso_system_id: str | None = None
    result_code: str | None = None  # AddMessage response resultCode (None: no readable answer)
    active: bool | None = None  # IsActiveUser response status (None: no readable answer)
    notifications_sent: int = 0  # notificationSent elements in the answer
    _docbook: tuple[list[docbook.Problem], list[str]] | None = field(default=None, repr=False, compare=False)
    keys: tuple[tuple, ...] | None = field(default=None, repr=False, compare=False)  # behaviour_rules.message_keys

    # The DocBook subset the messageText is judged by, its elements as the rule's hint lists them (English,
    # Swedish), and what in a plain text is a link that needs DocBook: the 1.x inbox's (a 2.0 view has its own).
    DOCBOOK_SUBSET: ClassVar[dict[str, docbook.Allowed]] = docbook.SUBSET
    DOCBOOK_ELEMENTS: ClassVar[tuple[str, str]] = (
        "article, info, section, para, ulink, bibliography, variablelist, varlistentry, term, listitem, title",
    ) * 2
    LINK_MARKS: ClassVar[tuple[tuple[str, str], ...]] = (("<ulink", "<ulink>"),)  # (in the text, as said)

    def docbook(self) -> tuple[list[docbook.Problem], list[str]]:
        """``docbook.examine`` of the messageText: its DocBook problems and the url of each ulink, from one
        parse of the text however many rules and cases ask (plain data: kept by ``slim``)."""
        if self._docbook is None:
            self._docbook = docbook.examine(self.message_text or "", self.DOCBOOK_SUBSET)
        return self._docbook

    def placement(self, name: str) -> tuple[str, str] | None:
        """Where a missing element goes, for a hint (English, Swedish); None: where the 1.x contract puts it, as
        each rule says."""
        return None

    @property
    def has_sso_link(self) -> bool:
        return "message/ssoLink" in self.lines

    def outcome(self) -> str | None:
        if self.active is not None:
            return f"status={'true' if self.active else 'false'}"
        if self.result_code is not None:
            return f"resultCode={self.result_code}"
        return None


class _Said(NamedTuple):
    """What an answer says that the inbox's rules and cases read: no tree, so it can be remembered."""

    fault_code: str | None
    is_fault: bool
    result_code: str | None  # the text of resultCode, as it stands
    notifications: int  # notificationSent elements
    status: str | None  # the text of status, as it stands


def _said(body: bytes) -> _Said | None:
    """``read_answer``, reduced to what the inbox reads, for an answer's body; None: not a SOAP answer. The
    inbox answers with a handful of distinct bodies (OK, ERROR, status true or false, a few faults), so a
    journal's answers are read from a small cache (of small bodies only) instead of being parsed again and
    again."""
    return _remembered(body) if len(body) <= _REMEMBERED_SIZE else _read_said(body)


_REMEMBERED_SIZE = 4096


@lru_cache(maxsize=256)
def _remembered(body: bytes) -> _Said | None:
    return _read_said(body)


def _read_said(body: bytes) -> _Said | None:
    answer = read_answer(body)
    if answer is None:
        return None
    return _Said(answer.fault_code, answer.is_fault, answer.child_text("resultCode"),
                 len(answer.children_named("notificationSent")), answer.child_text("status"))


def read_inbox_view(exchange: Exchange) -> InboxView:
    """Parse an exchange for the inbox's rules; never raises (see ``rules.read_view``). The answer is taken from
    ``_said`` (``answer`` stays None: no rule or case of the inbox needs its tree)."""
    view = read_view(exchange, OPERATIONS, InboxView, parse_answer=False)
    said = _said(exchange.response_body) if has_answer(exchange) else None
    if said is not None:
        view.fault_code = said.fault_code
    if view.operation is None:
        return view
    request = read_request(view.envelope.payload)
    elements, lines = request.elements, view.lines
    view.elements.update(elements)
    for rel, element in elements.items():
        lines[rel] = element.sourceline
    view.subject_of_care_id = request.subject_of_care_id
    if view.operation == ADD_MESSAGE:
        view.unit_id = request.unit_id
        view.thread_id = request.thread_id
        view.message_description = request.description
        view.message_text = request.text
        view.sso_system_id = request.sso_system_id
        view.notify = request.notify
        view.source_system = request.source_system
    if exchange.http_status == 200 and said is not None and not said.is_fault:
        if view.operation == ADD_MESSAGE:
            code = said.result_code
            view.result_code = None if code is None else code.strip()
            view.notifications_sent = said.notifications
        elif view.operation == IS_ACTIVE_USER:
            status = said.status
            view.active = None if status is None else is_true(status)
    return view


@dataclass
class InboxContext(RuleContext):
    """What the inbox's rules judge against, beyond the core's: its logical address and the limits of
    the behaviour rules."""

    inbox_logical_address: str = ""
    same_text_threshold: int = 20  # same messageText to this many distinct citizens = general information
    min_retry_s: float = 4.0  # contract back-off example: first retry after 4 s
    batch_max: int = 1000
    batch_gap_s: float = 300.0  # 5 minutes between batches
