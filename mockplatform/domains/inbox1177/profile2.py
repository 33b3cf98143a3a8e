"""The "1177-inbox-2" profile: 1177's inbox rules that carry over to the 2.0 messages (the standalone 1177
Inkorg: AddMessage, IsActiveUser 2, GetMessageThreadStatus), whose schemas are not public.

There is no built-in 2.0 package: the profile judges whatever package the user loads (``--contracts``), and
finds the fields its rules read **by local name** in each request (``sourceSystem``, ``messageDescription``,
``unitId``, ``notify``, ``subjectOfCareId``, ``messageText``, ``ssoLink``), wherever they stand. The rules are
the 1.x profile's own (``payload_rules``), applied to a view that gives them the fields so found
(``Inbox2View``); DocBook is judged by the wider 2.0 subset (``docbook.SUBSET_2``: ``link``, ``emphasis`` with
1177's roles, ``itemizedlist``). What 1.x-only knowledge they need is left out: the inbox's logical address (the
address is checked as any RIVTA request's, ``rivta.logical_address``), the SSO systems' registry, and the journal
rules (IsActiveUser before AddMessage, retries, batches), which know the 1.x operations by name.

A rule whose field the contract does not have is **not applied**, and says so: when the loaded package's
request schema declares no element of that name (or, without the package, the request has none), the rule is
neither run nor counted as checked for the request, and the rule INBOX2-RULES-APPLIED (a warning) says once per
contract which rule was not applied and why. The rules about a message apply only to an operation that adds one
(its request declares a ``messageText``); the others (the citizen's id) to every operation of the contracts.
SCHEMA is not applied to a request whose contract's package is not loaded, and no rule but the envelope's to a
request that cannot be read as an envelope (``rivta.unapplicable``). Without a package the profile still judges
only its own contracts, known by their namespace (``Inbox2Context``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from ...contracts import ContractRegistry
from ...findings import Severity
from ...fixtures import Fixtures
from ...journal import Exchange
from ...rules import Hit, Profile, RequestView, RuleInfo, rivta
from ...rules.base import (
    JOURNAL,
    NO_CONTRACTS,
    REQUEST,
    JournalRule,
    JournalState,
    RequestRule,
    has_answer,
    read_view,
    xml_path,
)
from ...rules.cases import TestCase, answered_cases, major_version
from ...xmlsafe import local_name, text_value
from . import docbook
from . import payload_rules as payload
from .names import DOMAIN_NAME, PROFILE2_ID, PROFILE2_NAME
from .pricing import estimate
from .profile import UNREAD
from .request import is_true
from .view import InboxContext, InboxView

CATALOGUE_NAME = "Inkorgsfunktionen 2.0"  # the name of its test cases' catalogue in the protocol
CASE_PREFIX = "INBOX2"
SCHEMAS = "the 1177 Inkorg 2.0 contracts' schemas, from their release package (--contracts)"
REQ_1177 = "1177: Förutsättningar och krav för Inkorgsfunktionen"
DOCBOOK_2 = "1177 Inkorg: DocBook 5.0-delmängd (link, emphasis, itemizedlist)"
BY_NAME = "fields found by local name in the request (with --contracts, placed by the package's schema)"
ERR, WARN = Severity.ERROR, Severity.WARNING
RULES_APPLIED = "INBOX2-RULES-APPLIED"

# Where the 1.x rules look for each field (their names for it), by the local name it is found by.
KEYS = {"subjectOfCareId": "subjectOfCareId", "sourceSystem": "sourceSystem", "notify": "notify",
        "message": "message", "messageThreadId": "message/messageThreadId",
        "messageDescription": "message/messageDescription", "messageText": "message/messageText",
        "unitId": "message/organisationUnit/unitId", "ssoLink": "message/ssoLink"}
MESSAGE = "messageText"  # an operation whose request has it adds a message

CATALOGUE: tuple[tuple[RuleInfo, RequestRule | JournalRule], ...] = (
    *rivta.catalogue(SCHEMAS, ("The request is in the namespace of a loaded 1177 Inkorg 2.0 contract",
                               "Anropet ligger i namnrymden för ett inläst kontrakt för 1177 Inkorg 2.0")),
    (RuleInfo("INBOX-SOURCE-SYSTEM", ERR, "sourceSystem is the system-id 1177 issued to the consumer",
              "sourceSystem är det system-id som 1177 har tilldelat tjänstekonsumenten", f"{REQ_1177}; {BY_NAME}",
              REQUEST), payload.source_system),
    (RuleInfo("INBOX-MESSAGE-DESCRIPTION", ERR, "messageDescription (the heading) is given",
              "messageDescription (rubriken) är angiven", f"{REQ_1177}; {BY_NAME}", REQUEST),
     payload.message_description),
    (RuleInfo("INBOX-UNIT-CONNECTED", ERR, "unitId is a unit connected to 1177's e-services",
              "unitId är en enhet som är ansluten till 1177:s e-tjänster", f"{REQ_1177}; {BY_NAME}", REQUEST),
     payload.unit_connected),
    (RuleInfo("PP-NOTIFY-NEEDS-SOURCE-SYSTEM", ERR, "notify=true comes with sourceSystem",
              "notify=true anges tillsammans med sourceSystem", f"TKB patientportal 1.0, carried over; {BY_NAME}",
              REQUEST), payload.notify_needs_source),
    (RuleInfo("PP-SUBJECT-OF-CARE-ID", ERR, "subjectOfCareId is a valid personnummer or samordningsnummer",
              "subjectOfCareId är ett giltigt personnummer eller samordningsnummer",
              f"TKB patientportal 1.0, SubjectOfCareIdType, carried over; {BY_NAME}", REQUEST),
     payload.subject_of_care_id),
    (RuleInfo("PP-SUBJECT-OF-CARE-ID-RESERVNUMMER", WARN, "subjectOfCareId is not a reservnummer (T, F or P)",
              "subjectOfCareId är inte ett reservnummer (T, F eller P)",
              f"Socialstyrelsen, reservnummer; {BY_NAME}", REQUEST), payload.subject_of_care_id_reservnummer),
    (RuleInfo("INBOX-DOCBOOK", ERR, "DocBook in messageText is encoded, well-formed and inside the 1177 Inkorg 2.0 "
              "subset", "DocBook i messageText är kodad, välformad och inom 1177 Inkorgs delmängd för 2.0",
              DOCBOOK_2, REQUEST), payload.docbook_subset),
    (RuleInfo("INBOX-SSO-NEEDS-DOCBOOK", ERR, "A message with an SSO link has DocBook messageText",
              "Ett meddelande med SSO-länk har messageText i DocBook", f"{REQ_1177}; {BY_NAME}", REQUEST),
     payload.sso_needs_docbook),
    (RuleInfo(RULES_APPLIED, WARN, "Each 1177 rule found the fields it reads in the loaded contract",
              "Varje 1177-regel hittade fälten den läser i det inlästa kontraktet",
              "1177-inbox-2: which rules carry over to a package whose fields are found by name", JOURNAL),
     lambda ctx: _NotApplied(ctx)),
)

# The fields each carried-over rule reads; the message rules only for an operation that adds a message.
FIELDS: dict[str, tuple[str, ...]] = {
    "INBOX-SOURCE-SYSTEM": ("sourceSystem",),
    "INBOX-MESSAGE-DESCRIPTION": ("messageDescription",),
    "INBOX-UNIT-CONNECTED": ("unitId",),
    "PP-NOTIFY-NEEDS-SOURCE-SYSTEM": ("notify", "sourceSystem"),
    "PP-SUBJECT-OF-CARE-ID": ("subjectOfCareId",),
    "PP-SUBJECT-OF-CARE-ID-RESERVNUMMER": ("subjectOfCareId",),
    "INBOX-DOCBOOK": ("messageText",),
    "INBOX-SSO-NEEDS-DOCBOOK": ("messageText",),
}
MESSAGE_RULES = frozenset({"INBOX-SOURCE-SYSTEM", "INBOX-MESSAGE-DESCRIPTION", "INBOX-UNIT-CONNECTED",
                           "PP-NOTIFY-NEEDS-SOURCE-SYSTEM", "INBOX-DOCBOOK", "INBOX-SSO-NEEDS-DOCBOOK"})
_TITLES = {info.id: (info.title_en, info.title_sv) for info, _ in CATALOGUE}
REQUEST_RULES = frozenset(info.id for info, _ in CATALOGUE if info.scope == REQUEST)
NOT_THIS_OPERATION = ("", "")  # why a message rule is left out of an operation that adds no message: nothing to say


def owns_contract(namespace: str) -> bool:
    """A patientportal contract of major version 2 or later (the 1.x ones are the 1177-inbox profile's)."""
    major = major_version(namespace)
    return "patientportal" in namespace.lower() and major.isdigit() and int(major) >= 2


@dataclass
class Inbox2Context(InboxContext):
    """The inbox's context, judging only the profile's own contracts, known by their namespace (``owns_contract``)
    whether their package is loaded or not: a call to another contract (a complaints service's, the 1.x inbox's)
    is another profile's, even when its package is not loaded either. A request whose contract cannot be read (no
    envelope, an empty Body) is judged, by the envelope's rule alone."""

    def selects(self, view: RequestView) -> bool:
        contract = view.exchange.contract or ""
        if contract and not owns_contract(contract):
            return False
        return super().selects(view)


@dataclass
class Inbox2View(InboxView):
    """A 2.0 request as the 1.x rules read one: each field the first element of its local name, anywhere in the
    request, kept under the 1.x rules' name for it; ``paths`` where it really stands, ``declared`` where the
    contract's schema puts each field (for a missing one's place and hint)."""

    paths: dict[str, str] = field(default_factory=dict)  # 1.x name -> the element's path in the request
    declared: dict[str, str] = field(default_factory=dict)  # local name -> path below the request, in the schema

    DOCBOOK_SUBSET: ClassVar[dict[str, docbook.Allowed]] = docbook.SUBSET_2
    DOCBOOK_ELEMENTS: ClassVar[tuple[str, str]] = (
        "article, info, section, para, ulink, link (xlink:href), emphasis (role: bold, italics, underline, "
        "collapsible, bgcolor, information or observe), itemizedlist, bibliography, variablelist, varlistentry, "
        "term, listitem, title",
        "article, info, section, para, ulink, link (xlink:href), emphasis (role: bold, italics, underline, "
        "collapsible, bgcolor, information eller observe), itemizedlist, bibliography, variablelist, varlistentry, "
        "term, listitem, title")
    LINK_MARKS: ClassVar[tuple[tuple[str, str], ...]] = (("<ulink", "<ulink>"), ("<link ", "<link>"),
                                                         ("<link>", "<link>"))

    def where(self, rel: str) -> tuple[str | None, int | None]:
        if self.operation is None:
            return None, None
        path = self.paths.get(rel)
        if path is not None:
            return path, self.lines.get(rel)
        name = rel.rpartition("/")[2]
        return f"/Envelope/Body/{self.operation}/{self.declared.get(name, name)}", self.lines.get("")

    def placement(self, name: str) -> tuple[str, str] | None:
        declared = self.declared.get(name)
        if declared is None:
            return None
        parent = declared.rpartition("/")[0]
        inside = f"inside <{parent.rpartition('/')[2]}>" if parent else f"directly in <{self.operation}>"
        inside_sv = f"i <{parent.rpartition('/')[2]}>" if parent else f"direkt i <{self.operation}>"
        return (f"{inside}, where the contract's schema declares it ({declared})",
                f"{inside_sv}, där kontraktets schema deklarerar det ({declared})")


def _first_by_name(payload: object) -> dict[str, object]:
    """The first element of each field's local name, in document order."""
    found: dict[str, object] = {}
    for element in payload.iter():
        name = local_name(element)
        if name in KEYS and name not in found:
            found[name] = element
    return found


def read_inbox2_view(exchange: Exchange, contracts: ContractRegistry | None = None) -> Inbox2View:
    """Parse an exchange for the profile's rules; never raises (see ``rules.read_view``). ``contracts``: the
    loaded packages, to tell a field the request left out from one the contract does not have (None: only the
    request is known)."""
    view = read_view(exchange, (), Inbox2View)
    if view.operation is None:  # no envelope: only the envelope's rule can say anything of it
        view.unapplied = rivta.unapplicable(view, contracts, REQUEST_RULES)
        return view
    payload = view.envelope.payload
    found = _first_by_name(payload)
    for name, element in found.items():
        key = KEYS[name]
        view.elements[key], view.lines[key], view.paths[key] = element, element.sourceline, xml_path(element)
    if "message" not in found:
        holder = found.get("messageText", found.get("messageDescription"))
        if holder is not None and holder.getparent() is not None:
            parent = holder.getparent()
            view.elements["message"], view.lines["message"], view.paths["message"] = \
                parent, parent.sourceline, xml_path(parent)
    text = lambda name: text_value(found[name]) if name in found else None  # noqa: E731
    view.subject_of_care_id, view.source_system = text("subjectOfCareId"), text("sourceSystem")
    view.message_description, view.message_text = text("messageDescription"), text("messageText")
    view.unit_id, view.thread_id = text("unitId"), text("messageThreadId")
    view.notify = is_true(text("notify")) if "notify" in found else None
    loaded = contracts.get(view.envelope.contract) if contracts is not None else None
    if loaded is not None:
        interaction = loaded.interaction
        declared = loaded.validator.declared_below(f"{{{interaction.responder_namespace}}}"
                                                   f"{interaction.request_element}")
        view.declared = {name: declared[name] for name in KEYS if name in declared}
    view.unapplied = {**_unapplied(view, found, loaded), **rivta.unapplicable(view, contracts, REQUEST_RULES)}
    if exchange.http_status == 200 and has_answer(exchange) and view.answer is not None and not view.answer.is_fault:
        code = view.answer.child_text("resultCode")
        view.result_code = None if code is None else code.strip()
    return view


def _unapplied(view: Inbox2View, found: dict[str, object], loaded: object) -> dict[str, tuple[str, str]]:
    """The carried-over rules this request's fields do not let apply, with why."""
    known = loaded is not None
    has = (lambda name: name in view.declared) if known else (lambda name: name in found)
    adds_message = has(MESSAGE)
    out: dict[str, tuple[str, str]] = {}
    for rule_id, names in FIELDS.items():
        if rule_id in MESSAGE_RULES and not adds_message:
            out[rule_id] = NOT_THIS_OPERATION
            continue
        missing = [name for name in names if not has(name)]
        if not missing:
            continue
        listed = " or ".join(missing)
        listed_sv = " eller ".join(missing)
        if known:
            what = f"{loaded.interaction.name} {loaded.interaction.version}"
            out[rule_id] = (f"the request schema of {what} in the loaded package declares no element named {listed}",
                            f"anropsschemat för {what} i det inlästa paketet deklarerar inget element med namnet "
                            f"{listed_sv}")
        else:
            out[rule_id] = (f"no element named {listed} in this request (its contract's package is not loaded, so "
                            "whether the contract has one is not known: load it with --contracts)",
                            f"inget element med namnet {listed_sv} i anropet (kontraktets paket är inte inläst, så "
                            "om kontraktet har ett är okänt: läs in det med --contracts)")
    return out


class _NotApplied(JournalState):
    """Once per rule, contract and reason: the rule was not applied to the contract's requests, and why."""

    def __init__(self, ctx: InboxContext) -> None:
        super().__init__(ctx)
        self.said: set[tuple[str, str, str]] = set()

    def feed(self, view: Inbox2View) -> Iterator[tuple[int, Hit]]:
        for rule_id, (why, why_sv) in (view.unapplied or {}).items():
            key = (rule_id, (view.exchange.contract or "").lower(), why)
            if not why or key in self.said:
                continue
            self.said.add(key)
            title, title_sv = _TITLES[rule_id]
            yield view.exchange.id, Hit(
                f"Rule {rule_id} ({title}) not applied to {view.operation}: {why}. It is not counted as checked for "
                "these requests; this is said once per contract",
                f"Regeln {rule_id} ({title_sv}) tillämpades inte på {view.operation}: {why_sv}. Den räknas inte som "
                "kontrollerad för de här anropen; detta sägs en gång per kontrakt",
                path=f"/Envelope/Body/{view.operation}", line=view.lines.get(""),
                hint="nothing to correct in the request if the contract has no such field; if it names the field "
                "otherwise, the rule cannot follow it: judge those requests by hand",
                hint_sv="inget att rätta i anropet om kontraktet saknar fältet; har det ett annat namn kan regeln "
                "inte följa det: bedöm de anropen för hand")


class _Reading:
    """How the profile reads an exchange: with the contracts its context was made with (before a context is
    made, by the request alone)."""

    def __init__(self) -> None:
        self.contracts: ContractRegistry | None = None

    def read(self, exchange: Exchange) -> Inbox2View:
        return read_inbox2_view(exchange, self.contracts)

    def context(self, fixtures: Fixtures, contracts: ContractRegistry, consumer: str | None = None,
                system_ids: tuple[str, ...] = (), **options: object) -> Inbox2Context:
        """The context its rules judge in: its own contracts are the loaded 2.0 ones, every other loaded contract
        is another's; options of other profiles are ignored."""
        self.contracts = contracts
        mine = frozenset(i.responder_namespace.lower() for i in contracts.interactions
                         if owns_contract(i.responder_namespace))
        others = frozenset(i.responder_namespace.lower() for i in contracts.interactions) - mine
        return Inbox2Context(fixtures=fixtures, contracts=contracts, consumer=consumer, system_ids=tuple(system_ids),
                             contract_namespaces=mine or NO_CONTRACTS, foreign_namespaces=others,
                             inbox_logical_address=fixtures.section(DOMAIN_NAME).logical_address)


def cases_for(ctx: InboxContext) -> list[TestCase]:
    """One case per operation of the loaded 2.0 contracts: a valid request to it, answered."""
    return answered_cases([i for i in ctx.contracts.interactions
                           if i.responder_namespace.lower() in ctx.contract_namespaces], CASE_PREFIX)


def profile() -> Profile:
    """A fresh 1177-inbox-2 profile."""
    reading = _Reading()
    return Profile(PROFILE2_ID, PROFILE2_NAME, CATALOGUE, read=reading.read, context=reading.context,
                   cases_for=cases_for, owns_contract=owns_contract, cost=estimate, catalogue=CATALOGUE_NAME,
                   unread=UNREAD)


__all__ = ["CATALOGUE", "Inbox2View", "owns_contract", "profile", "read_inbox2_view"]
