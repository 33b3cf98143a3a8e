"""The one reader of the engagement index's messages: an engagement (a post), the transactions of an
Update or a ProcessNotification, and a FindContent's filters. By local name, as the platform reads
everything, so a wrong namespace is the schema's finding, not a crash here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

from lxml import etree

from ...xmlsafe import local_name, text_value

# The fields of an engagement in the contract's order (the sequence of EngagementType).
FIELDS = ("registeredResidentIdentification", "serviceDomain", "categorization", "logicalAddress",
          "businessObjectInstanceIdentifier", "clinicalProcessInterestId", "mostRecentContent", "sourceSystem",
          "creationTime", "updateTime", "dataController", "owner")
# What makes a post unique (the index's key), in the order it is hashed.
KEY_FIELDS = ("registeredResidentIdentification", "serviceDomain", "categorization", "logicalAddress",
              "businessObjectInstanceIdentifier", "sourceSystem", "dataController", "owner",
              "clinicalProcessInterestId")
REQUIRED = ("registeredResidentIdentification", "serviceDomain", "categorization", "logicalAddress",
            "businessObjectInstanceIdentifier", "clinicalProcessInterestId", "sourceSystem", "dataController")
MAX_LENGTH = {"registeredResidentIdentification": 32, "serviceDomain": 255, "categorization": 255,
              "logicalAddress": 64, "businessObjectInstanceIdentifier": 128, "clinicalProcessInterestId": 128,
              "mostRecentContent": 14, "creationTime": 14, "updateTime": 14, "sourceSystem": 64,
              "dataController": 64, "owner": 64}
DATES = ("mostRecentContent", "creationTime", "updateTime")


@dataclass
class Engagement:
    """One post, as sent (values unstripped: the index refuses surrounding whitespace, EI004)."""

    registeredResidentIdentification: str | None = None
    serviceDomain: str | None = None
    categorization: str | None = None
    logicalAddress: str | None = None
    businessObjectInstanceIdentifier: str | None = None
    clinicalProcessInterestId: str | None = None
    mostRecentContent: str | None = None
    sourceSystem: str | None = None
    creationTime: str | None = None
    updateTime: str | None = None
    dataController: str | None = None
    owner: str | None = None

    def key(self) -> str:
        """The index's key: SHA-256 (hex) of the key fields, one after the other, a missing one as empty."""
        return engagement_key(*(getattr(self, name) for name in KEY_FIELDS))

    def values(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def engagement_key(*values: str | None) -> str:
    return hashlib.sha256("".join(v or "" for v in values).encode("utf-8")).hexdigest()


@dataclass
class Transaction:
    delete: bool | None  # None: deleteFlag missing or not a boolean
    engagement: Engagement | None


def read_engagement(element: etree._Element) -> Engagement:
    engagement = Engagement()
    for child in element:
        name = local_name(child)
        if name in MAX_LENGTH and getattr(engagement, name) is None:
            setattr(engagement, name, text_value(child) if len(child) == 0 else None)
    return engagement


def read_transactions(payload: etree._Element) -> list[Transaction]:
    """The engagementTransaction elements of an Update (or a ProcessNotification), in order."""
    out = []
    for element in payload:
        if local_name(element) != "engagementTransaction":
            continue
        delete = engagement = None
        for child in element:
            name = local_name(child)
            if name == "deleteFlag":
                value = (text_value(child) or "").strip()
                delete = True if value in ("true", "1") else False if value in ("false", "0") else None
            elif name == "engagement" and engagement is None:
                engagement = read_engagement(child)
        out.append(Transaction(delete, engagement))
    return out


def read_filters(payload: etree._Element) -> dict[str, str]:
    """A FindContent's fields (registeredResidentIdentification and serviceDomain, then optional filters)."""
    out: dict[str, str] = {}
    for child in payload:
        name = local_name(child)
        if name in MAX_LENGTH and name not in out:
            out[name] = (text_value(child) or "").strip()
    return out
