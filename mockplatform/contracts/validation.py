"""Schema validation of a contract payload.

The hot path is lxml's compiled schema (about a microsecond for a valid request). Only when it
says "invalid" do we ask xmlschema, which names every violation with path, line and reason, and
turn those into Findings with a fix hint for the classic mistakes (wrong namespace, wrong case).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import xmlschema
from lxml import etree

from ..findings import Finding, Severity
from ..xmlsafe import local_name, namespace
from .package import Interaction

RULE_ID = "SCHEMA"


class SchemaValidator:
    def __init__(self, interaction: Interaction) -> None:
        self.interaction = interaction
        path = interaction.package.file_path(interaction.responder_file)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self._lxml = etree.XMLSchema(etree.parse(str(path), parser))
        self._lxml_lock = threading.Lock()
        self._rich: xmlschema.XMLSchema | None = None
        self._rich_lock = threading.Lock()

    def is_valid(self, payload: etree._Element) -> bool:
        # An lxml XMLSchema keeps its error log on the object: one validation at a time.
        with self._lxml_lock:
            return self._lxml.validate(payload)

    def _rich_schema(self) -> xmlschema.XMLSchema:
        with self._rich_lock:
            if self._rich is None:
                path = self.interaction.package.file_path(self.interaction.responder_file)
                self._rich = xmlschema.XMLSchema(str(path), allow="local", defuse="always")
            return self._rich

    def iter_findings(self, payload: etree._Element) -> Iterator[Finding]:
        """Every violation in the payload; nothing when it is valid."""
        if self.is_valid(payload):
            return
        found = False
        for error in self._rich_schema().iter_errors(payload):
            found = True
            yield _to_finding(error, self.interaction)
        if not found:  # the two validators disagree: trust lxml and say what it said
            with self._lxml_lock:
                self._lxml.validate(payload)
                entries = list(self._lxml.error_log)
            for entry in entries:
                yield Finding(RULE_ID, Severity.ERROR, entry.message, f"Schemafel: {entry.message}",
                              line=entry.line, source=self.interaction.responder_file)

    def findings(self, payload: etree._Element) -> list[Finding]:
        return list(self.iter_findings(payload))


def _clark_to_text(tag: str) -> str:
    return tag if not tag.startswith("{") else f"{tag.partition('}')[2]} (namespace {namespace_of(tag)})"


def namespace_of(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _to_finding(error: xmlschema.XMLSchemaValidationError, interaction: Interaction) -> Finding:
    reason = (error.reason or str(error.message)).strip()
    elem = error.elem if hasattr(error, "elem") else error.obj
    line = getattr(elem, "sourceline", None)
    path = error.path
    hint = None
    message_sv = None
    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        invalid = error.invalid_tag
        expected = [getattr(e, "name", None) or str(e) for e in (error.expected or [])]
        if invalid:
            same_name = [e for e in expected if e and e.startswith("{") and e.partition("}")[2] == local_name_of(invalid)
                         and namespace_of(e) != namespace_of(invalid)]
            if same_name:
                want = namespace_of(same_name[0])
                hint = (f"put <{local_name_of(invalid)}> in namespace {want}, not {namespace_of(invalid)}"
                        + (" (children of message, organisationUnit and ssoLink belong to the core "
                           "namespace, not the responder namespace)" if namespace_of(invalid) ==
                           interaction.responder_namespace else ""))
                reason = (f"element <{local_name_of(invalid)}> is in namespace {namespace_of(invalid)}, "
                          f"but the contract expects it in namespace {want}")
                message_sv = (f"elementet <{local_name_of(invalid)}> ligger i namnrymden {namespace_of(invalid)} "
                              f"men kontraktet kräver namnrymden {want}")
            elif expected:
                shown = ", ".join(_clark_to_text(e) for e in expected if e)
                hint = f"expected here: {shown}"
        elif expected:
            hint = "missing: " + ", ".join(_clark_to_text(e) for e in expected if e)
    elif error.validator is not None and getattr(error.validator, "enumeration", None):
        allowed = [str(v) for v in error.validator.enumeration]
        value = str(error.obj) if not hasattr(error.obj, "text") else (error.obj.text or "")
        same = [a for a in allowed if a.lower() == value.strip().lower()]
        if same:
            hint = f"values are case-sensitive: write '{same[0]}', not '{value.strip()}'"
            message_sv = f"värdet '{value.strip()}' ska skrivas '{same[0]}' (skiftlägeskänsligt)"
        else:
            hint = "allowed values: " + ", ".join(allowed)
    elif "pattern" in reason.lower() and elem is not None and local_name_of(str(elem.tag)) == "subjectOfCareId":
        hint = "write the personnummer or samordningsnummer as 12 digits without hyphen, e.g. 191212121212"
    if message_sv is None:
        message_sv = f"Schemafel: {reason}"
    return Finding(RULE_ID, Severity.ERROR, reason, message_sv, path=path, line=line,
                   source=interaction.responder_file, hint=hint)


def local_name_of(tag: str) -> str:
    return tag.partition("}")[2] if tag.startswith("{") else tag


__all__ = ["SchemaValidator", "local_name", "namespace"]
