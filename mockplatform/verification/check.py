"""``mockplatform protocol check``: judge the journal again, the way a protocol says it was judged, and
compare. A reviewer holding protocol.json and the journal it names can see that every hash, case and
verdict in it follows from that journal, and that nothing was edited afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..database import HIDDEN, is_url
from ..errors import ConfigError, UnreadableFile
from ..protocol.json_format import FORMAT_NAME, protocol_to_dict
from .engine import VerifyOptions, verify


@dataclass
class CheckResult:
    """What was compared, and every difference found (none: the protocol matches its journal)."""

    compared: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.differences


def load_protocol_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such protocol file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a protocol.json ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME or not isinstance(data.get("head"), dict):
        raise ConfigError(f"{path}: not a mockplatform protocol.json (format '{FORMAT_NAME}')")
    if "selection" not in data["head"]:
        raise ConfigError(f"{path}: format {data.get('format_version')} records no selection; protocols written "
                          "by mockplatform from format 1.1 on can be checked")
    return data


def check_protocol(path: Path, journal: Path | str | None = None, fixtures: Path | None = None,
                   contracts: list[Path] | None = None) -> CheckResult:
    """Judge ``journal`` (default: the one the protocol names) with the protocol's selection and profile, and
    compare hashes, counts, cases, rules and verdict. Raises ConfigError, UnreadableFile, JournalError."""
    claimed = load_protocol_json(path)
    head = claimed["head"]
    selection = head["selection"]
    fixtures = fixtures or (Path(selection["fixtures"]) if selection.get("fixtures") else None)
    contracts = contracts if contracts is not None else [Path(p) for p in selection.get("contracts") or []]
    named = journal or head["journal"]
    if is_url(named) and HIDDEN in str(named):  # the URL as the protocol shows it, password hidden
        raise ConfigError(f"the protocol names the journal {named}, whose password the protocol does not keep: give "
                          "the database with its password: protocol check --database URL")
    options = VerifyOptions(journal=named if is_url(named) else Path(named), since=selection.get("since"),
                            until=selection.get("until"), consumer=selection.get("consumer"),
                            system_id=selection.get("system_id"), profile=head.get("rule_profile") or None,
                            fixtures=fixtures, contracts=contracts,
                            same_text_threshold=selection.get("same_text_threshold") or 20,
                            wait_s=selection.get("wait_s"))
    again = protocol_to_dict(verify(options))
    result = CheckResult()

    def same(what: str, have: Any, want: Any) -> None:
        result.compared += 1
        if have != want:
            result.differences.append(f"{what}: the protocol says {have!r}, the journal gives {want!r}")

    same("journal SHA-256", head.get("journal_sha256"), again["head"]["journal_sha256"])
    same("exchanges judged", claimed.get("exchanges_judged"), again["exchanges_judged"])
    same("verdict", claimed.get("verdict"), again["verdict"])
    for key in ("injected", "identified", "demonstration", "period_from", "period_to"):
        same(f"head {key}", head.get(key), again["head"][key])
    if "subject" in head:  # from format 1.4 (a 1.3 file has none): the role its profile gives the system tested
        same("head subject", head["subject"], again["head"]["subject"])
    same("contracts (name, SHA-256)", [(c["name"], c["sha256"]) for c in head.get("contracts", [])],
         [(c["name"], c["sha256"]) for c in again["head"]["contracts"]])
    cases = {c["id"]: c for c in again["cases"]}
    same("case ids", [c.get("id") for c in claimed.get("cases", [])], list(cases))
    for case in claimed.get("cases", []):
        mine = cases.get(case.get("id"))
        if mine is None:
            continue
        same(f"{case['id']} status", case.get("status"), mine["status"])
        same(f"{case['id']} evidence (exchange, request SHA-256, response SHA-256)",
             [(e.get("exchange_id"), e.get("request_sha256"), e.get("response_sha256"))
              for e in case.get("evidence", [])],
             [(e["exchange_id"], e["request_sha256"], e["response_sha256"]) for e in mine["evidence"]])
        same(f"{case['id']} findings (rule ids)", [f.get("rule_id") for f in case.get("findings", [])],
             [f["rule_id"] for f in mine["findings"]])
        if "evidence_count" in case:  # from format 1.4: how many exchanges were evidence, and each finding's
            same(f"{case['id']} evidence in all", case["evidence_count"], mine["evidence_count"])
            same(f"{case['id']} findings (exchange ids)", [f.get("exchange_id") for f in case.get("findings", [])],
                 [f["exchange_id"] for f in mine["findings"]])
    rules = {r["rule_id"]: r for r in again["rules"]}
    same("rule ids", [r.get("rule_id") for r in claimed.get("rules", [])], list(rules))
    for rule in claimed.get("rules", []):
        mine = rules.get(rule.get("rule_id"))
        if mine is not None:
            same(f"rule {rule['rule_id']} (checked, violations)", (rule.get("checked"), rule.get("violations")),
                 (mine["checked"], mine["violations"]))
    return result
