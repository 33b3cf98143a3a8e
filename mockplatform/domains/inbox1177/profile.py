"""The "1177-inbox" profile: how 1177 judges a consumer of the patientportal 1.x contracts.

The catalogue below is the one place where rule ids, severities, titles and sources are written;
ids are stable once published. The order is the order of the protocol's rule table.
"""

from __future__ import annotations

from ...contracts import ContractRegistry
from ...findings import Severity
from ...fixtures import Fixtures
from ...rules import Profile, RuleInfo, rivta
from ...rules.base import JOURNAL, REQUEST, JournalRule, RequestRule
from ...rules.cases import major_version
from . import behaviour_rules as behaviour
from . import payload_rules as payload
from .cases import CATALOGUE as CASES
from .names import ADD_MESSAGE, CONTRACTS, DOMAIN_NAME, IS_ACTIVE_USER, PROFILE_ID, PROFILE_NAME
from .pricing import estimate
from .view import InboxContext, read_inbox_view

CATALOGUE_NAME = "Inkorgsfunktionen"  # the name of its test cases' catalogue in the protocol
TKB = "TKB patientportal 1.0"
SCHEMAS = "patientportal release 1.0 schemas"
REQ_1177 = "1177: Förutsättningar och krav för Inkorgsfunktionen"
DOCBOOK_1177 = "1177: DocBook-delmängd för Inkorgen"
ERR, WARN = Severity.ERROR, Severity.WARNING
BOTH = (IS_ACTIVE_USER, ADD_MESSAGE)
ADD = (ADD_MESSAGE,)

CATALOGUE: tuple[tuple[RuleInfo, RequestRule | JournalRule], ...] = (
    *rivta.catalogue(SCHEMAS, ("The request is in a known patientportal contract namespace",
                               "Anropet ligger i en känd namnrymd för patientportal-kontrakten"),
                     (RuleInfo("RIVTA-LOGICAL-ADDRESS", ERR, "LogicalAddress names the inbox producer system",
                               "LogicalAddress anger inkorgens producentsystem",
                               f"{rivta.BP21}; {TKB} (system-addressed domain)", REQUEST), payload.logical_address)),
    (RuleInfo("INBOX-SOURCE-SYSTEM", ERR, "sourceSystem is the system-id 1177 issued to the consumer",
              "sourceSystem är det system-id som 1177 har tilldelat tjänstekonsumenten",
              f"{REQ_1177}; {TKB}, AddMessageToPatientPortalInbox", REQUEST, ADD), payload.source_system),
    (RuleInfo("INBOX-MESSAGE-DESCRIPTION", ERR, "messageDescription (the heading) is given",
              "messageDescription (rubriken) är angiven", REQ_1177, REQUEST, ADD), payload.message_description),
    (RuleInfo("INBOX-UNIT-CONNECTED", ERR, "unitId is a unit connected to 1177's e-services",
              "unitId är en enhet som är ansluten till 1177:s e-tjänster", REQ_1177, REQUEST, ADD),
     payload.unit_connected),
    (RuleInfo("PP-NOTIFY-NEEDS-SOURCE-SYSTEM", ERR, "notify=true comes with sourceSystem",
              "notify=true anges tillsammans med sourceSystem", f"{TKB}, AddMessageToPatientPortalInbox",
              REQUEST, ADD), payload.notify_needs_source),
    (RuleInfo("PP-SUBJECT-OF-CARE-ID", ERR, "subjectOfCareId is a valid personnummer or samordningsnummer",
              "subjectOfCareId är ett giltigt personnummer eller samordningsnummer",
              f"{TKB}, SubjectOfCareIdType", REQUEST, BOTH), payload.subject_of_care_id),
    (RuleInfo("PP-SUBJECT-OF-CARE-ID-RESERVNUMMER", WARN, "subjectOfCareId is not a reservnummer (T, F or P)",
              "subjectOfCareId är inte ett reservnummer (T, F eller P)",
              f"{TKB}, SubjectOfCareIdType; Socialstyrelsen, reservnummer", REQUEST, BOTH),
     payload.subject_of_care_id_reservnummer),
    (RuleInfo("INBOX-DOCBOOK", ERR, "DocBook in messageText is encoded, well-formed and inside the 1177 subset",
              "DocBook i messageText är kodad, välformad och inom 1177:s delmängd", DOCBOOK_1177, REQUEST, ADD),
     payload.docbook_subset),
    (RuleInfo("INBOX-SSO-NEEDS-DOCBOOK", ERR, "A message with an SSO link has DocBook messageText",
              "Ett meddelande med SSO-länk har messageText i DocBook", REQ_1177, REQUEST, ADD),
     payload.sso_needs_docbook),
    (RuleInfo("INBOX-SSO-SYSTEM-ID", ERR, "ssoLink/systemId is a system registered for SSO at 1177",
              "ssoLink/systemId är ett system som är registrerat för SSO hos 1177",
              f"{TKB}, SSOLinkType (AB-2.2); {REQ_1177}", REQUEST, ADD), payload.sso_system_registered),
    (RuleInfo("PP-ACTIVE-USER-CHECKED", WARN, "Messages go to citizens checked with IsActiveUser first",
              "Meddelanden skickas till invånare som först kontrollerats med IsActiveUser",
              f"{TKB}, flows", JOURNAL, BOTH), behaviour.active_user_checked),
    (RuleInfo("PP-RETRY-BACKOFF", WARN, "Retries after a fault wait with a growing back-off",
              "Omförsök efter fel väntar med ökande intervall", f"{TKB}, retries", JOURNAL, BOTH),
     behaviour.retry_backoff),
    (RuleInfo("PP-BATCH-SIZE", WARN, "Batches hold at most 1000 messages, 5 minutes apart",
              "Körningar har högst 1000 meddelanden med 5 minuter emellan", f"{TKB}, SLA", JOURNAL, ADD),
     behaviour.batch_size),
    (RuleInfo("INBOX-GENERAL-INFORMATION", WARN, "The inbox is not used as a general information channel",
              "Inkorgen används inte som kanal för allmän information", REQ_1177, JOURNAL, ADD),
     behaviour.general_information),
)


_OWN = frozenset(c.lower() for c in CONTRACTS)


def owns_contract(namespace: str) -> bool:
    """Its own contracts, and any patientportal namespace of major version 1 (a release candidate's, a wrong
    case): the 1.x rules judge them. Version 2 and later are the 1177-inbox-2 profile's (``profile2``)."""
    return namespace.lower() in _OWN or ("patientportal" in namespace.lower()
                                         and major_version(namespace) in ("", "1"))


def profile() -> Profile:
    """A fresh 1177-inbox profile."""
    return Profile(PROFILE_ID, PROFILE_NAME, CATALOGUE, read=read_inbox_view, context=inbox_context, cases=CASES,
                   owns_contract=owns_contract, cost=estimate, catalogue=CATALOGUE_NAME, unread=UNREAD)


# What of an exchange the inbox's rules and cases never read: the answer's headers, the platform's route trace,
# what the producer made of it, how long it took, and what only the protocol's evidence shows (it reads its few
# exchanges whole). Each column less is less to read, decode and hand back from verify's workers.
UNREAD = ("response_headers", "route_trace", "effect", "fault_detail", "observations", "producer_address",
          "producer_status", "producer_ms", "duration_ms", "client", "client_certificate", "correlation_id")


def inbox_context(fixtures: Fixtures, contracts: ContractRegistry, consumer: str | None = None,
                  system_ids: tuple[str, ...] = (), same_text_threshold: int = 20, **options: object) -> InboxContext:
    """The context the inbox's rules judge in: the core's, with the inbox's address and limits; options it has
    no use for (another profile's, the judged period's end) are ignored."""
    section = fixtures.section(DOMAIN_NAME)
    namespaces = frozenset(i.responder_namespace.lower() for i in contracts.interactions
                           if owns_contract(i.responder_namespace))
    # Every other loaded contract is another's: a built-in one's domain, or a loaded package's profile (the 2.0
    # contracts are 1177-inbox-2's, a loaded package of another service rivta-generic's or its domain's).
    foreign = frozenset(i.responder_namespace.lower() for i in contracts.interactions
                        if not owns_contract(i.responder_namespace))
    return InboxContext(fixtures=fixtures, contracts=contracts, consumer=consumer, system_ids=tuple(system_ids),
                        contract_namespaces=namespaces, foreign_namespaces=foreign,
                        inbox_logical_address=section.logical_address,
                        same_text_threshold=same_text_threshold)
