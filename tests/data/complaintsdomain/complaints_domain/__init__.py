"""A complaints-like service's domain, in a distribution of its own (registered through the
``mockplatform.domains`` entry point, see complaints_domain-0.1.dist-info/entry_points.txt): the domain that owns
the contracts of the made-up package in tests/packages/complaints, which the user loads with ``--contracts``.

It has no producer: the contracts are routed to ``builtin:generic`` and answered from the schema or templates.
What it adds is what only the domain knows: its fixtures section (who may receive a complaint: the units and the
region's patient board), the TAK entries routing its contracts, and a profile "complaints" with the RIVTA rules
and one rule of its own (a complaint goes to a registered recipient).
"""

from __future__ import annotations

from mockplatform.domains import Domain
from mockplatform.findings import Severity
from mockplatform.rules import Hit, Profile, RuleContext, RuleInfo, rivta
from mockplatform.rules.base import REQUEST
from mockplatform.rules.cases import answered_cases
from mockplatform.tak_files import toml_entries
from mockplatform.xmlsafe import local_name, text_value

DOMAIN = "riv:ehr:complaints"
REGISTER = "urn:riv:ehr:complaints:RegisterComplaintResponder:1"
STATUS = "urn:riv:ehr:complaints:GetComplaintStatusResponder:1"
PATIENT_BOARD = "SE2321000016-PNMD"  # the region's patient board (patientnämnd), a registered recipient


def owns(namespace: str) -> bool:
    return DOMAIN in namespace.lower()


def recipients(ctx: RuleContext) -> list[str]:
    section = ctx.fixtures.section("complaints") or {}
    return [PATIENT_BOARD, *section.get("recipients", [])]


def registered_recipient(view, ctx):
    """A complaint goes to a unit registered for complaints, or to the patient board."""
    if view.envelope is None:
        return
    unit = next((e for e in view.envelope.payload if local_name(e) == "careUnitId"), None)
    if unit is None:
        return  # the schema says it is missing
    have = text_value(unit).strip()
    known = recipients(ctx)
    if have.lower() not in {k.lower() for k in known}:
        yield Hit(f"careUnitId '{have}' is not registered to receive complaints",
                  f"careUnitId '{have}' är inte registrerad som mottagare av klagomål",
                  path="/Envelope/Body/RegisterComplaint/careUnitId", line=unit.sourceline,
                  hint=f"send it to a registered unit or to the patient board: {', '.join(known)}",
                  hint_sv=f"skicka det till en registrerad enhet eller till patientnämnden: {', '.join(known)}")


RULES = (
    (RuleInfo("RIVTA-SOAP-ENVELOPE", Severity.ERROR, "SOAP 1.1", "SOAP 1.1", "RIVTA BP 2.1", REQUEST),
     rivta.soap_envelope),
    (RuleInfo("RIVTA-LOGICAL-ADDRESS", Severity.ERROR, "LogicalAddress", "LogicalAddress", "RIVTA BP 2.1", REQUEST),
     rivta.logical_address),
    (RuleInfo("RIVTA-CONTRACT-NAMESPACE", Severity.ERROR, "A complaints contract", "Ett klagomålskontrakt",
              "the complaints package", REQUEST), rivta.contract_namespace),
    (RuleInfo("SCHEMA", Severity.ERROR, "Schema-valid", "Giltigt enligt schemat", "the complaints package", REQUEST),
     rivta.schema),
    (RuleInfo("COMPLAINT-RECIPIENT", Severity.ERROR, "A complaint goes to a registered recipient",
              "Ett klagomål går till en registrerad mottagare", "Synpunkter och klagomål: anslutning", REQUEST,
              ("RegisterComplaint",)), registered_recipient),
)


def context(fixtures, contracts, consumer=None, system_ids=(), **options):
    mine = frozenset(i.responder_namespace.lower() for i in contracts.interactions if owns(i.responder_namespace))
    others = frozenset(i.responder_namespace.lower() for i in contracts.interactions) - mine
    return RuleContext(fixtures=fixtures, contracts=contracts, consumer=consumer, system_ids=tuple(system_ids),
                       contract_namespaces=mine, foreign_namespaces=others)


def cases(ctx):
    return answered_cases([i for i in ctx.contracts.interactions if owns(i.responder_namespace)], "COMPLAINT")


class ComplaintsDomain(Domain):
    def fixtures(self, data, path):
        return data.get("complaints", {})

    def profiles(self):
        return {"complaints": lambda: Profile("complaints", "Synpunkter och klagomål", RULES, context=context,
                                              cases_for=cases, owns_contract=owns, catalogue="Klagomål")}

    def tak_section(self, fixtures, consumers):
        return toml_entries("The complaints contracts route to the generic producer at the patient board.",
                            (REGISTER, STATUS), [PATIENT_BOARD], "builtin:generic", consumers)


domain = ComplaintsDomain(name="complaints", title="Synpunkter och klagomål (a test's domain)")
