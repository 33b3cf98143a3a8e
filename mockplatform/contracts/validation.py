"""Schema validation of a contract payload.

The hot path is lxml's compiled schema (about a microsecond for a valid request). Only when it
says "invalid" do we ask xmlschema, which names every violation with path, line and reason, and
turn those into Findings with a fix hint for the classic mistakes (wrong namespace, wrong case).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lxml import etree

from ..findings import Finding, Severity
from ..xmlsafe import parse_file, text_value
from .package import Interaction

if TYPE_CHECKING:
    import xmlschema

RULE_ID = "SCHEMA"
MAX_FINDINGS = 50
# Beyond these the rich (xmlschema) explanation is skipped: its cost grows with every error.
_RICH_MAX_ERRORS, _RICH_MAX_ELEMENTS, _RICH_MAX_ATTRIBUTES = 50, 1000, 50


def _small_enough(payload: etree._Element, entries: list) -> bool:
    if len(entries) > _RICH_MAX_ERRORS:
        return False
    for count, element in enumerate(payload.iter(), 1):
        if count > _RICH_MAX_ELEMENTS or len(element.attrib) > _RICH_MAX_ATTRIBUTES:
            return False
    return True


class SchemaValidator:
    def __init__(self, interaction: Interaction) -> None:
        self.interaction = interaction
        path = interaction.package.file_path(interaction.responder_file)
        self._schema_doc = parse_file(path)
        # An lxml XMLSchema keeps its error log on the object, so a validation needs one to itself.
        # A pool instead of a lock: a thread preempted mid-validation holds up nobody.
        self._pool: queue.SimpleQueue[etree.XMLSchema] = queue.SimpleQueue()
        self._pool.put(etree.XMLSchema(self._schema_doc))
        self._rich: xmlschema.XMLSchema | None = None
        self._declared: dict[str, set[str]] = {}  # element local name -> the namespaces it is declared in
        self._rich_lock = threading.Lock()

    def _validate(self, payload: etree._Element) -> tuple[bool, list]:
        try:
            schema = self._pool.get_nowait()
        except queue.Empty:
            schema = etree.XMLSchema(self._schema_doc)
        try:
            valid = schema.validate(payload)
            return valid, ([] if valid else list(schema.error_log))
        finally:
            self._pool.put(schema)

    def is_valid(self, payload: etree._Element) -> bool:
        return self._validate(payload)[0]

    def _rich_schema(self) -> xmlschema.XMLSchema:
        with self._rich_lock:
            if self._rich is None:
                import xmlschema  # only when something is wrong: it costs a fifth of a second to import

                path = self.interaction.package.file_path(self.interaction.responder_file)
                self._rich = xmlschema.XMLSchema(str(path), allow="local", defuse="always")
                for element in self._rich.maps.iter_components(xmlschema.XsdElement):
                    if element.name:
                        self._declared.setdefault(local_name_of(element.name), set()).add(namespace_of(element.name))
            return self._rich

    def iter_findings(self, payload: etree._Element) -> Iterator[Finding]:
        """Every violation in the payload (at most MAX_FINDINGS, then a count); nothing when it is valid.

        xmlschema's rich errors cost time in proportion to the element, for every error: a hostile
        payload with thousands of violations would take minutes. Such payloads get lxml's own
        messages instead, which are found in one pass.
        """
        valid, entries = self._validate(payload)
        if not valid:
            yield from self._explain(payload, entries)

    def _explain(self, payload: etree._Element, entries: list) -> Iterator[Finding]:
        found = 0
        if _small_enough(payload, entries):
            for error in self._rich_schema().iter_errors(payload):
                found += 1
                if found > MAX_FINDINGS:
                    break
                yield _to_finding(error, self.interaction, self._declared)
            if found > MAX_FINDINGS:
                yield self._more(f"more than {MAX_FINDINGS}")
                return
        if not found:  # too large for the rich pass, or the two validators disagree: say what lxml said
            for entry in entries[:MAX_FINDINGS]:
                yield Finding(RULE_ID, Severity.ERROR, entry.message, f"Schemafel: {entry.message}",
                              path=getattr(entry, "path", None), line=entry.line,
                              source=self.interaction.responder_file)
            if len(entries) > MAX_FINDINGS:
                yield self._more(str(len(entries)))

    def _more(self, how_many: str) -> Finding:
        return Finding(RULE_ID, Severity.ERROR, f"... {how_many} schema violations in all; only the first "
                       f"{MAX_FINDINGS} are listed", f"... totalt {how_many} schemafel; bara de första "
                       f"{MAX_FINDINGS} visas", source=self.interaction.responder_file,
                       hint="fix the first ones: the rest often follow from them")

    def findings(self, payload: etree._Element) -> list[Finding]:
        """As ``iter_findings``; a valid payload (the usual case) goes without the generator."""
        valid, entries = self._validate(payload)
        return [] if valid else list(self._explain(payload, entries))


def namespace_of(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def local_name_of(tag: str) -> str:
    return tag.partition("}")[2] if tag.startswith("{") else tag


def _shown(tag: str) -> str:
    ns_ = namespace_of(tag)
    return f"{local_name_of(tag)} (namespace {ns_})" if ns_ else tag


def _to_finding(error: xmlschema.XMLSchemaValidationError, interaction: Interaction,
                declared: dict[str, set[str]]) -> Finding:
    """Convert at the boundary: xmlschema's error -> our Finding, with a hint for classic mistakes.
    ``declared``: the namespaces each element name is declared in, to tell a misplaced namespace even
    where the schema no longer says what it expected (after an earlier error in the same sequence)."""
    reason = (error.reason or str(error.message)).strip()
    elem = error.elem if hasattr(error, "elem") else error.obj
    line = getattr(elem, "sourceline", None)
    hint = message_sv = None
    import xmlschema

    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        invalid = error.invalid_tag
        expected = [getattr(e, "name", None) or str(e) for e in (error.expected or [])]
        expected = [e for e in expected if e]
        misplaced = [e for e in expected if invalid and e.startswith("{")
                     and local_name_of(e) == local_name_of(invalid) and namespace_of(e) != namespace_of(invalid)]
        if invalid and not misplaced:
            elsewhere = declared.get(local_name_of(invalid), set()) - {namespace_of(invalid)}
            if len(elsewhere) == 1:
                misplaced = [f"{{{next(iter(elsewhere))}}}{local_name_of(invalid)}"]
        if misplaced:
            name, have, want = local_name_of(invalid), namespace_of(invalid), namespace_of(misplaced[0])
            reason = f"element <{name}> is in namespace {have}, but the contract expects it in namespace {want}"
            message_sv = f"elementet <{name}> ligger i namnrymden {have} men kontraktet kräver namnrymden {want}"
            hint = f"put <{name}> in namespace {want}, not {have}"
            if have == interaction.responder_namespace:
                hint += (" (children of message, organisationUnit and ssoLink belong to the core namespace, "
                         "not the responder namespace)")
        elif expected:
            hint = ("expected here: " if invalid else "missing: ") + ", ".join(_shown(e) for e in expected)
    elif error.validator is not None and getattr(error.validator, "enumeration", None):
        allowed = [str(v) for v in error.validator.enumeration]
        value = text_value(elem) if hasattr(elem, "text") else str(error.obj)
        same = [a for a in allowed if a.lower() == value.strip().lower()]
        if same and same[0] == value.strip():  # right but for the spaces around it
            hint = f"remove the spaces around '{same[0]}': the value must be exactly one of the allowed ones"
            message_sv = f"värdet '{value}' har mellanslag runt '{same[0]}'; ta bort dem"
        elif same:
            hint = f"values are case-sensitive: write '{same[0]}', not '{value.strip()}'"
            message_sv = f"värdet '{value.strip()}' ska skrivas '{same[0]}' (skiftlägeskänsligt)"
        else:
            hint = "allowed values: " + ", ".join(allowed)
    elif "pattern" in reason.lower() and elem is not None and local_name_of(str(elem.tag)) == "subjectOfCareId":
        hint = "write the personnummer or samordningsnummer as 12 digits without hyphen, e.g. 191212121212"
    return Finding(RULE_ID, Severity.ERROR, reason, message_sv or f"Schemafel: {reason}", path=error.path,
                   line=line, source=interaction.responder_file, hint=hint)
