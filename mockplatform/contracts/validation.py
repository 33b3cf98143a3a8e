"""Schema validation of a contract payload.

The hot path is lxml's compiled schema (about a microsecond for a valid request). Only when it
says "invalid" do we ask xmlschema, which names every violation with path, line and reason, and
turn those into Findings with a fix hint for the classic mistakes (wrong namespace, wrong case).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from ..findings import Finding, Severity
from ..xmlsafe import local_name, parse_file, text_value
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
                yield _to_finding(error, self.interaction, payload, self._declared)
            if found > MAX_FINDINGS:
                yield self._more(f"more than {MAX_FINDINGS}", payload)
                return
        if not found:  # too large for the rich pass, or the two validators disagree: say what lxml said
            for entry in entries[:MAX_FINDINGS]:
                yield _from_lxml(entry, self.interaction, payload)
            if len(entries) > MAX_FINDINGS:
                yield self._more(str(len(entries)), payload)

    def _more(self, how_many: str, payload: etree._Element) -> Finding:
        return Finding(RULE_ID, Severity.ERROR, f"... {how_many} schema violations in all; only the first "
                       f"{MAX_FINDINGS} are listed", f"... totalt {how_many} schemafel; bara de första "
                       f"{MAX_FINDINGS} visas", path=_path_in(payload, payload), line=payload.sourceline,
                       source=self.interaction.responder_file,
                       hint="fix the first ones: the rest often follow from them")

    def findings(self, payload: etree._Element) -> list[Finding]:
        """As ``iter_findings``; a valid payload (the usual case) goes without the generator."""
        valid, entries = self._validate(payload)
        return [] if valid else list(self._explain(payload, entries))


def namespace_of(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def local_name_of(tag: str) -> str:
    return tag.partition("}")[2] if tag.startswith("{") else tag


_QNAME = re.compile(r"\{[^{}\s']*:[^{}\s']*\}")  # {urn:...}, not a regex {8} or a set {'a'}


def plain(text: str) -> str:
    """A validator's message with ``{namespace}name`` written as the plain name."""
    return _QNAME.sub("", text)


def _shown(tag: str) -> str:
    ns_ = namespace_of(tag)
    return f"{local_name_of(tag)} (namespace {ns_})" if ns_ else tag


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _path_in(payload: etree._Element, element: etree._Element | None) -> str | None:
    """``/Request/message/messageText``: plain local names from the validated payload down to ``element``."""
    if element is None or not isinstance(getattr(element, "tag", None), str):
        return None
    names = []
    while element is not None:
        names.append(local_name(element))
        if element is payload:
            break
        element = element.getparent()
    return "/" + "/".join(reversed(names))


@dataclass
class _Said:
    """What one violation says, before it becomes a Finding."""

    en: str
    sv: str
    hint: str
    at: etree._Element | None = None  # the element the finding points at (path and line)
    below: str = ""  # a name below ``at`` for what is missing there


def _to_finding(error: xmlschema.XMLSchemaValidationError, interaction: Interaction, payload: etree._Element,
                declared: dict[str, set[str]]) -> Finding:
    """Convert at the boundary: xmlschema's error -> our Finding, in plain words, with a fix hint for every
    violation. ``declared``: the namespaces each element name is declared in, to tell a misplaced namespace even
    where the schema no longer says what it expected (after an earlier error in the same sequence)."""
    import xmlschema

    elem = error.elem if getattr(error, "elem", None) is not None else error.obj
    if not isinstance(getattr(elem, "tag", None), str):
        elem = None
    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        said = _children(error, elem, interaction, declared)
    else:
        said = _value(error, elem) or _other(error, elem, interaction)
    at = said.at if said.at is not None else elem
    path = _path_in(payload, at)
    if path is not None and said.below:
        path += "/" + said.below
    return Finding(RULE_ID, Severity.ERROR, said.en, said.sv, path=path,
                   line=getattr(at, "sourceline", None), source=interaction.responder_file, hint=said.hint)


def _children(error: xmlschema.XMLSchemaChildrenValidationError, parent: etree._Element | None,
              interaction: Interaction, declared: dict[str, set[str]]) -> _Said:
    """An unexpected, misplaced, repeated, out-of-order or missing child element."""
    invalid = error.invalid_tag
    expected_tags = [getattr(e, "name", None) for e in (error.expected or [])]
    expected_tags = [e for e in expected_tags if e]
    children = _elements(parent) if parent is not None else []
    child = getattr(error, "invalid_child", None)
    index = next((i for i, c in enumerate(children) if c is child), None)
    if index is None:  # xmlschema's index counts comments too: only a fallback
        index = error.index if isinstance(error.index, int) else len(children)
        child = children[index] if invalid and 0 <= index < len(children) else None
    where = local_name(parent) if parent is not None else "the request"
    if not invalid:  # the content ended too soon: something is missing
        missing = expected_tags[0] if expected_tags else None
        if missing is None:
            return _Said(f"the content of <{where}> is not complete", f"innehållet i <{where}> är inte komplett",
                         f"complete <{where}> as the contract's schema ({interaction.responder_file}) says")
        name = local_name_of(missing)
        return _Said(f"<{where}> is missing <{name}>", f"<{where}> saknar <{name}>",
                     "add " + " or ".join(f"<{local_name_of(e)}> (namespace {namespace_of(e)})" if namespace_of(e)
                                          else f"<{local_name_of(e)}>" for e in expected_tags)
                     + f" at the end of <{where}>", parent, name)
    name, have = local_name_of(invalid), namespace_of(invalid)
    misplaced = [e for e in expected_tags if local_name_of(e) == name and namespace_of(e) != have]
    if not misplaced:
        elsewhere = declared.get(name, set()) - {have}
        if len(elsewhere) == 1:
            misplaced = [f"{{{next(iter(elsewhere))}}}{name}"]
    if misplaced:
        want = namespace_of(misplaced[0])
        hint = f"put <{name}> in namespace {want}, not {have}"
        if have == interaction.responder_namespace:
            hint += (" (children of message, organisationUnit and ssoLink belong to the core namespace, "
                     "not the responder namespace)")
        return _Said(f"element <{name}> is in namespace {have}, but the contract expects it in namespace {want}",
                     f"elementet <{name}> ligger i namnrymden {have} men kontraktet kräver namnrymden {want}",
                     hint, child)
    particles = list(error.validator.iter_elements()) if hasattr(error.validator, "iter_elements") else []
    model = [e for e in particles if getattr(e, "name", None)]  # the declared elements, in order
    order = [e.name for e in model]
    before = children[:index]
    after = children[index + 1:]
    if invalid in order:
        position = order.index(invalid)
        particle = model[position]
        if any(c.tag == invalid for c in before) and particle.max_occurs is not None \
                and sum(c.tag == invalid for c in before) >= particle.max_occurs:
            times = "once" if particle.max_occurs == 1 else f"{particle.max_occurs} times"
            return _Said(f"<{name}> appears more often in <{where}> than the contract allows ({times})",
                         f"<{name}> förekommer fler gånger i <{where}> än kontraktet tillåter",
                         f"send <{name}> {times} in <{where}>: remove the repeated one", child)
        sequence = ", ".join(local_name_of(t) for t in order)
        later = [c for c in before if c.tag in order and order.index(c.tag) > position]
        if later:
            first = local_name(later[0])
            return _Said(f"<{name}> comes after <{first}>, but the contract's order in <{where}> puts <{name}> "
                         f"before <{first}>",
                         f"<{name}> kommer efter <{first}>, men kontraktets ordning i <{where}> sätter <{name}> "
                         f"före <{first}>",
                         f"move <{name}> before <{first}> (the order in <{where}>: {sequence})", child)
        for tag in expected_tags:
            if tag in order and order.index(tag) < position and any(c.tag == tag for c in after):
                want = local_name_of(tag)
                return _Said(f"<{want}> comes after <{name}>, but the contract's order in <{where}> puts <{want}> "
                             f"before <{name}>",
                             f"<{want}> kommer efter <{name}>, men kontraktets ordning i <{where}> sätter <{want}> "
                             f"före <{name}>",
                             f"move <{want}> before <{name}> (the order in <{where}>: {sequence})", child)
        required = [t for t in expected_tags if t in order and order.index(t) < position]
        if required:
            want = local_name_of(required[0])
            return _Said(f"<{where}> is missing <{want}>, which comes before <{name}>",
                         f"<{where}> saknar <{want}>, som ska stå före <{name}>",
                         f"add <{want}> before <{name}> (the order in <{where}>: {sequence})", child)
    known = ", ".join(local_name_of(t) for t in order) or "(none)"
    hint = ("expected here: " + ", ".join(_shown(e) for e in expected_tags) if expected_tags
            else f"remove <{name}>; the contract's elements in <{where}> are: {known}")
    if len(model) < len(particles):  # an xs:any extension point
        hint += " (an element of your own goes last, in a namespace of your own)"
    return _Said(f"element <{name}> is not expected here in <{where}>",
                 f"elementet <{name}> hör inte hemma här i <{where}>", hint, child)


def _value(error: xmlschema.XMLSchemaValidationError, elem: etree._Element | None) -> _Said | None:
    """A value its simple type refuses: an enumeration, a boolean, a pattern."""
    validator = error.validator
    if validator is None:
        return None
    value = text_value(elem) if elem is not None else str(error.obj)
    name = local_name(elem) if elem is not None else "the value"
    stripped = value.strip()
    allowed = getattr(validator, "enumeration", None)
    if allowed:
        allowed = [str(v) for v in allowed]
        same = [a for a in allowed if a.lower() == stripped.lower()]
        if same and same[0] == stripped:  # right but for the whitespace around it
            return _Said(f"the value '{value}' of <{name}> has whitespace around '{same[0]}'",
                         f"värdet '{value}' har mellanslag runt '{same[0]}'; ta bort dem",
                         f"remove the spaces around '{same[0]}': the value must be exactly one of the allowed ones")
        if same:
            return _Said(f"the value '{stripped}' of <{name}> is not one of {', '.join(allowed)} (values are "
                         "case-sensitive)", f"värdet '{stripped}' ska skrivas '{same[0]}' (skiftlägeskänsligt)",
                         f"values are case-sensitive: write '{same[0]}', not '{stripped}'")
        return _Said(f"the value '{value}' of <{name}> is not one of {', '.join(allowed)}",
                     f"värdet '{value}' i <{name}> är inte ett av {', '.join(allowed)}",
                     "allowed values: " + ", ".join(allowed))
    patterns = getattr(validator, "patterns", None)
    if patterns and getattr(validator, "regexps", None):
        shown = " or ".join(f"'{r}'" for r in validator.regexps)
        if stripped != value and any(p.match(stripped) for p in patterns):
            return _Said(f"the value of <{name}> has whitespace around '{stripped}', and a pattern-checked value "
                         f"must match {shown} exactly",
                         f"värdet i <{name}> har blanksteg runt '{stripped}', och ett mönsterkontrollerat värde "
                         f"måste matcha {shown} exakt",
                         f"remove the spaces and line breaks around '{stripped}': send <{name}>{stripped}</{name}>")
        en = f"the value '{value}' of <{name}> does not match the pattern {shown}"
        sv = f"värdet '{value}' i <{name}> matchar inte mönstret {shown}"
        if name == "subjectOfCareId":
            hint = "write the personnummer or samordningsnummer as 12 digits without hyphen, e.g. 191212121212"
            if "-" in value or "+" in value:
                hint += " (no '-' or '+' between date and number)"
        else:
            hint = f"write <{name}> so that it matches {shown}"
        return _Said(en, sv, hint)
    primitive = getattr(getattr(validator, "primitive_type", None), "local_name", None)
    if primitive == "boolean":
        word = stripped.lower() in ("true", "false")
        right = stripped.lower() if word else "true"
        hint = (f"xs:boolean is written in lower case: write '{right}', not '{stripped}'" if word
                else f"an xs:boolean is true or false (or 1 or 0), in lower case: '{stripped}' is neither")
        return _Said(f"'{value}' is not an xs:boolean value (true, false, 1 or 0) in <{name}>",
                     f"'{value}' är inget xs:boolean-värde (true, false, 1 eller 0) i <{name}>", hint)
    if primitive:
        return _Said(f"'{value}' is not a valid xs:{primitive} value in <{name}>",
                     f"'{value}' är inget giltigt xs:{primitive}-värde i <{name}>",
                     f"write <{name}> as an xs:{primitive} value")
    return None


def _other(error: xmlschema.XMLSchemaValidationError, elem: etree._Element | None,
           interaction: Interaction) -> _Said:
    """Attributes, text between elements, child elements in a text field, and anything else."""
    name = local_name(elem) if elem is not None else "the request"
    reason = plain((error.reason or str(error.message)).strip())
    if (m := re.match(r"'([^']+)' attribute not allowed", reason)) is not None:
        attribute = m.group(1)
        return _Said(f"attribute '{attribute}' is not allowed on <{name}>",
                     f"attributet '{attribute}' är inte tillåtet på <{name}>",
                     f"remove the attribute '{attribute}' from <{name}>: the contract declares no such attribute")
    if "character data" in reason and elem is not None:
        stray = next((t.strip() for t in [elem.text, *(c.tail for c in elem)] if t and t.strip()), "")
        return _Said(f"<{name}> holds text between its child elements ('{stray[:40]}')",
                     f"<{name}> innehåller text mellan sina barnelement ('{stray[:40]}')",
                     f"remove the text from <{name}>: only child elements (and whitespace) may stand there")
    if "simple content" in reason and elem is not None:
        return _Said(f"<{name}> holds child elements, but the contract gives it text only",
                     f"<{name}> innehåller barnelement, men kontraktet anger bara text",
                     f"send <{name}> as text; markup meant as text must be escaped (&lt;...&gt;) or in CDATA")
    return _Said(reason, f"Schemafel: {reason}",
                 f"make <{name}> match the contract's schema ({interaction.responder_file})")


_STEP = re.compile(r"^(?:(?:[^:\[\]]+):)?([^:\[\]]+)(?:\[(\d+)\])?$")


def _lxml_element(payload: etree._Element, xpath: str | None) -> etree._Element | None:
    """The element an lxml error path (``/*/*[2]/c:organisationUnit``) names, below the validated payload."""
    steps = (xpath or "").split("/")[1:]
    if not steps:
        return None
    element = payload
    for step in steps[1:]:
        m = _STEP.match(step)
        if m is None:
            return None
        name, nth = m.group(1), int(m.group(2) or 1)
        matching = [c for c in _elements(element) if name == "*" or local_name(c) == name]
        if len(matching) < nth:
            return None
        element = matching[nth - 1]
    return element


def _lxml_hint(message: str, element: etree._Element | None, interaction: Interaction) -> str:
    """A fix hint from lxml's own message (a request too large for the rich explanation); ``message`` still
    has its ``{namespace}name``s."""
    name = local_name(element) if element is not None else "the element"
    if "'xs:boolean'" in message:
        return "an xs:boolean is true or false (or 1 or 0), in lower case"
    if (m := re.search(r"Expected is \( (.+?) \)", message)) is not None:
        if "##other" in m.group(1):
            return f"none of the contract's elements fits here: move <{name}> to its place in the contract's order"
        what = ", ".join(_shown(t) for t in m.group(1).split(", "))
        return ("missing: " if "Missing child" in message else "expected here: ") + what
    if (m := re.search(r"The attribute '([^']+)' is not allowed", message)) is not None:
        return f"remove the attribute '{m.group(1)}' from <{name}>"
    if "Character content other than whitespace" in message:
        return f"remove the text from <{name}>: only child elements (and whitespace) may stand there"
    if (m := re.search(r"not an element of the set \{(.+?)\}", message)) is not None:
        return "allowed values (case-sensitive): " + m.group(1).replace("'", "")
    if "[facet 'pattern']" in message and element is not None:
        value = text_value(element)
        if value != value.strip():
            return f"remove the spaces and line breaks around '{value.strip()}'"
        return f"write <{name}> so that it matches the pattern named in the message"
    return f"make <{name}> match the contract's schema ({interaction.responder_file})"


def _from_lxml(entry: etree._LogEntry, interaction: Interaction, payload: etree._Element) -> Finding:
    """lxml's own message (for a request too large for the rich pass), in plain names, with a hint."""
    element = _lxml_element(payload, getattr(entry, "path", None))
    message = plain(entry.message)
    return Finding(RULE_ID, Severity.ERROR, message, f"Schemafel: {message}",
                   path=_path_in(payload, element) or plain(getattr(entry, "path", "") or "") or None,
                   line=element.sourceline if element is not None else entry.line,
                   source=interaction.responder_file, hint=_lxml_hint(entry.message, element, interaction))
