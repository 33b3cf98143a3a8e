"""The fake national engagement index: Update and FindContent at the owner's logical address.

Update takes 1 to 1000 transactions, all or nothing: each is checked (EI000-EI006, see ``texts``), the
index overwrites the owner with its own id and sets the creation and update times, and the posts are
written in the exchange's transaction. Then each subscriber whose filter (service domain,
categorization) matches a changed post gets a ProcessNotification through the platform (a follow-up,
see ``outbox``). Errors are SOAP faults whose faultstring starts with the code, as the reference
implementation throws them; the answer to a good Update is ResultCode OK.
"""

from __future__ import annotations

import re
from datetime import datetime
from xml.sax.saxutils import escape

from ...localtime import rivta_ts
from ...outbox import Outbox
from ...producers import ProducerAnswer, ProducerCall, fault_answer, soap_answer, version_mismatch
from . import texts
from .names import EI_CORE, FIND_CONTENT_NS, MAX_TRANSACTIONS, UPDATE_NS
from .request import DATES, FIELDS, MAX_LENGTH, REQUIRED, Engagement, read_filters, read_transactions
from .section import IndexFixtures
from .store import ApplyUpdate, IndexStore

NOTIFY = "engagementindex.notify"  # the follow-up kind: a ProcessNotification to one subscriber
_TS = re.compile(r"\d{14}")


def _index_fault(text: str, server: bool = False) -> ProducerAnswer:
    return fault_answer("SOAP-ENV:Server" if server else "SOAP-ENV:Client", text)


def _valid_date(value: str) -> bool:
    """A real moment written yyyyMMddHHmmss (the schema's pattern lets 20300231 through)."""
    if not _TS.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def engagement_problem(engagement: Engagement) -> str | None:
    """Why the index refuses a post's values (EI004's message), or None."""
    for name in FIELDS:
        value = getattr(engagement, name)
        if name in REQUIRED and (value is None or not value.strip()):
            return f"{name} is mandatory but missing or blank"
        if value is None:
            continue
        if value != value.strip():
            return f"{name} has leading or trailing whitespace: '{value}'"
        if len(value) > MAX_LENGTH[name]:
            return f"{name} is {len(value)} characters, at most {MAX_LENGTH[name]} are allowed"
        if name in DATES and value and not _valid_date(value):
            return f"{name} '{value}' is not a date of the form yyyyMMddHHmmss"
    return None


def engagement_xml(values: dict[str, str | None], core_prefix: str = "core") -> str:
    """An engagement's fields, in the contract's order, as elements of the core namespace."""
    return "".join(f"<{core_prefix}:{name}>{escape(values[name])}</{core_prefix}:{name}>"
                   for name in FIELDS if values.get(name) is not None)


class IndexProducer:
    """Update and FindContent against the posts in ``store``."""

    def __init__(self, app, section: IndexFixtures) -> None:
        self.app = app
        self.section = section
        self.store = IndexStore(app.journal)

    def __call__(self, call: ProducerCall) -> ProducerAnswer:
        mismatch = version_mismatch(call.envelope.soap_namespace)
        if mismatch is not None:
            return mismatch
        contract = call.contract.lower()
        if contract == UPDATE_NS.lower():
            return self._update(call)
        if contract == FIND_CONTENT_NS.lower():
            return self._find_content(call)
        return fault_answer("SOAP-ENV:Server", f"The fake engagement index does not implement {call.contract}")

    def _refused(self, call: ProducerCall) -> ProducerAnswer | None:
        """EI001 for a schema violation (unless lenient), then EI003 when not called at the owner's address."""
        loaded = self.app.contracts.get(call.contract)
        if loaded is not None and not self.app.settings.lenient:
            findings = loaded.validator.findings(call.envelope.payload)
            if findings:
                said = "; ".join(f"{f.path or '?'}: {f.message_en}" for f in findings)
                return _index_fault(texts.EI001.format(said))
        owner = self.section.owner
        if call.logical_address.strip().lower() != owner.lower():
            return _index_fault(texts.EI003.format(call.logical_address, owner))
        return None

    def _update(self, call: ProducerCall) -> ProducerAnswer:
        transactions = read_transactions(call.envelope.payload)
        if not 1 <= len(transactions) <= MAX_TRANSACTIONS:
            return _index_fault(texts.EI000.format(
                f"the request holds {len(transactions)} engagementTransaction(s); "
                f"1 to {MAX_TRANSACTIONS} are allowed in one call"), server=True)
        refused = self._refused(call)
        if refused is not None:
            return refused
        owner = self.section.owner
        now = rivta_ts()
        seen: dict[str, int] = {}
        # HSA-ids compare case-insensitively, here as everywhere
        reserved_addresses = {a.lower() for a in self.section.reserved_logical_addresses}
        reserved_systems = {a.lower() for a in self.section.reserved_source_systems}
        changes: list[tuple[str, bool, dict]] = []
        for number, transaction in enumerate(transactions, 1):
            engagement = transaction.engagement or Engagement()
            problem = engagement_problem(engagement)
            if problem is not None:
                return _index_fault(texts.EI004.format(f"engagementTransaction #{number}: {problem}"))
            if (engagement.logicalAddress or "").lower() in reserved_addresses:
                return _index_fault(texts.EI005.format(number, engagement.logicalAddress))
            if (engagement.sourceSystem or "").lower() in reserved_systems:
                return _index_fault(texts.EI006.format(number, engagement.sourceSystem))
            engagement.owner = owner  # the index's own id, whatever was sent
            key = engagement.key()
            if key in seen:
                return _index_fault(texts.EI002.format(seen[key], number))
            seen[key] = number
            post = engagement.values()
            post["creationTime"] = now
            post["updateTime"] = now
            changes.append((key, bool(transaction.delete), post))
        answer = soap_answer(f'<UpdateResponse xmlns="{UPDATE_NS}"><ResultCode>OK</ResultCode></UpdateResponse>')
        answer.effects.append(ApplyUpdate(changes))
        for subscriber in self.section.subscribers:
            notified = [{"delete": delete, "engagement": post} for _, delete, post in changes
                        if subscriber.wants(post["serviceDomain"], post["categorization"])]
            if notified:
                answer.effects.append(Outbox.effect(NOTIFY, {"subscriber": subscriber.logical_address,
                                                             "transactions": notified}))
        return answer

    def _find_content(self, call: ProducerCall) -> ProducerAnswer:
        refused = self._refused(call)
        if refused is not None:
            return refused
        filters = read_filters(call.envelope.payload)
        resident, domain = filters.get("registeredResidentIdentification"), filters.get("serviceDomain")
        if not resident or not domain:
            return _index_fault(texts.EI004.format("registeredResidentIdentification and serviceDomain are mandatory"))
        found = self.store.find(resident, domain, filters)
        posts = "".join(f"<engagement>{engagement_xml(e.values())}</engagement>" for e in found)
        return soap_answer(f'<FindContentResponse xmlns="{FIND_CONTENT_NS}" xmlns:core="{EI_CORE}">{posts}'
                           "</FindContentResponse>")
