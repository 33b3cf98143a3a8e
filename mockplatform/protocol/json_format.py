"""protocol.json: the protocol for machines, stable and versioned, described by protocol.schema.json.

Field names follow the model. Tuples in the model become objects with named members, so a reader
needs no knowledge of positions. ``format_version`` changes when a field is removed or changes
meaning (major) or when a field is added (minor); the schema admits no unknown members, so it
describes exactly what one version writes (1.2 added a case's ``purpose_sv`` and ``how_to_run_sv`` and a
finding's ``hint_sv``; 1.3 the head's ``catalogue``; 1.4 the head's ``subject``, the role of the system tested,
which words the documents for people; its id stays under ``consumer_hsa_id``; and a case's ``evidence_count``, how
many exchanges were evidence in all, of which ``evidence`` shows a few, and the ``exchange_id`` of each finding a
case lists, the exchange it was found on). A reader of protocol.json takes a file of an older minor version too: a
1.3 file has no ``subject`` (its documents called every system a consumer), no ``evidence_count`` and no case
finding's ``exchange_id``.

Times stay as the journal stores them, ISO 8601 in UTC: this file is for machines, and ``protocol check``
compares its values with the journal's. The formats for people show them in Swedish local time
(``localtime.swedish_time``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from importlib import resources
from typing import Any

from .model import CaseResult, ContractInfo, CostEstimate, Evidence, Protocol, ProtocolHead, RuleResult

FORMAT_NAME = "mockplatform-test-protocol"
SCHEMA_FILE = "protocol.schema.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped in the package; a fresh copy on every call."""
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def _contract(contract: ContractInfo) -> dict[str, Any]:
    return {
        "name": contract.name,
        "version": contract.version,
        "namespace": contract.namespace,
        "sha256": contract.sha256,
        "source": contract.source,
    }


def _cost(cost: CostEstimate | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    return {
        "messages_per_year": cost.messages_per_year,
        "tiers": [
            {"from": first, "to": last, "sek_each": each, "messages": count, "sek": amount}
            for first, last, each, count, amount in cost.tiers
        ],
        "per_year_sek": cost.per_year_sek,
        "connection_fee_sek": cost.connection_fee_sek,
    }


# The head's fields that are not JSON as they are; every other one is written as it is.
_HEAD_JSON: dict[str, Callable[[Any], Any]] = {
    "contracts": lambda contracts: [_contract(c) for c in contracts],
    "contacts": list,
    "cost": _cost,
}


def _head(head: ProtocolHead) -> dict[str, Any]:
    """Every field of the head, in the model's order."""
    out = {}
    for f in fields(head):
        value = getattr(head, f.name)
        convert = _HEAD_JSON.get(f.name)
        out[f.name] = convert(value) if convert else value
    return out


def _evidence(ev: Evidence) -> dict[str, Any]:
    """Every field of the evidence, in the model's order."""
    return {f.name: getattr(ev, f.name) for f in fields(ev)}


def _case(case: CaseResult) -> dict[str, Any]:
    return {
        "id": case.id,
        "title_sv": case.title_sv,
        "title_en": case.title_en,
        "purpose": case.purpose,
        "purpose_sv": case.purpose_sv,
        "status": str(case.status),
        "evidence": [_evidence(e) for e in case.evidence],
        "evidence_count": case.evidence_in_all,
        "findings": [{"exchange_id": exchange_id, **f.to_json()} for exchange_id, f in case.findings],
        "how_to_run": case.how_to_run,
        "how_to_run_sv": case.how_to_run_sv,
        "note": case.note,
    }


def _rule(rule: RuleResult) -> dict[str, Any]:
    return {
        "rule_id": rule.rule_id,
        "severity": str(rule.severity),
        "title_en": rule.title_en,
        "title_sv": rule.title_sv,
        "source": rule.source,
        "checked": rule.checked,
        "violations": rule.violations,
        "examples": [{"exchange_id": ex_id, "finding": f.to_json()} for ex_id, f in rule.examples],
    }


def protocol_to_dict(protocol: Protocol) -> dict[str, Any]:
    """Every field of the model, plus ``format`` (what this file is) and ``counts`` (for readers)."""
    return {
        "format": FORMAT_NAME,
        "format_version": protocol.format_version,
        "verdict": str(protocol.verdict),
        "exchanges_judged": protocol.exchanges_judged,
        "counts": protocol.counts,
        "head": _head(protocol.head),
        "cases": [_case(c) for c in protocol.cases],
        "rules": [_rule(r) for r in protocol.rules],
    }


def render_json(protocol: Protocol) -> bytes:
    """UTF-8 JSON, readable (indented, non-ASCII kept).

    A lone surrogate (bytes the consumer sent that were not UTF-8) cannot be encoded as UTF-8;
    ``backslashreplace`` writes it as a JSON ``\\udcXX`` escape, which loads back to the same string.
    """
    text = json.dumps(protocol_to_dict(protocol), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8", "backslashreplace")
