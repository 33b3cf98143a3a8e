"""Schema validation of a contract payload.

The hot path is lxml's compiled schema (about a microsecond for a valid request). Only when it
says "invalid" do we ask xmlschema, which names every violation with path, line and reason, and
turn those into Findings in plain words, each with its message and fix hint in English and in Swedish
(the protocol shows the Swedish first). A request too large for xmlschema gets lxml's own messages,
read into the same classes of violation; one neither can classify keeps the validator's words with
where it is and what was sent there.
"""

from __future__ import annotations

import queue
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from .. import ns
from ..findings import Finding, Severity
from ..xmlsafe import UnsafeXMLError, local_name, parse_file, text_value
from .package import Interaction, xml_error

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
        try:
            compiled = etree.XMLSchema(self._schema_doc)
        except etree.XMLSchemaParseError as exc:  # said as a problem of the package, naming the file and line
            package = interaction.package
            raise xml_error(package.source, package.root, interaction.responder_file, exc,
                            package.repairs) from None
        self._pool.put(compiled)
        self._rich: xmlschema.XMLSchema | None = None
        # element local name -> namespace it is declared in -> the types (or elements) declaring it there
        self._declared: dict[str, dict[str, set[_Owner]]] = {}
        self._roles: dict[str, tuple[str, str]] | None = None  # namespace -> what it is, in English and Swedish
        self._rich_lock = threading.Lock()
        self._below: dict[str, dict[str, str]] = {}  # see declared_below

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
                        owners = self._declared.setdefault(local_name_of(element.name), {})
                        owners.setdefault(namespace_of(element.name), set()).update(_owner_of(element))
            return self._rich

    def xsd_schema(self) -> xmlschema.XMLSchema:
        """The contract's responder schema as xmlschema reads it, with its components (compiled once, on first
        use, and never from the network): for whoever needs more than a verdict, e.g. to make a valid element."""
        return self._rich_schema()

    def declared_below(self, qname: str) -> dict[str, str]:
        """Every element the schema lets stand below the ``qname`` element (``{namespace}local``: the request or
        the response element), by local name, whatever its namespace: the path of local names to its shallowest
        declaration (``{"unitId": "message/organisationUnit/unitId"}``). Read once per element from the rich schema
        (``xsd_schema``); what an ``xs:any`` may hold is not in it."""
        found = self._below.get(qname)
        if found is None:
            found = self._below[qname] = elements_below(self.xsd_schema(), qname)
        return found

    def _namespace_roles(self) -> dict[str, tuple[str, str]]:
        """Which namespace is the responder namespace and which are core namespaces, read once from the schema
        files (RIVTA layout: a core namespace's schema lives in schemas/core_components/)."""
        if self._roles is None:
            package = self.interaction.package
            self._roles = _namespace_roles(package.file_path(self.interaction.responder_file), package.root,
                                           self.interaction.responder_namespace)
        return self._roles

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
                yield _to_finding(error, self.interaction, payload, self._declared, self._namespace_roles())
            if found > MAX_FINDINGS:
                yield self._more(f"more than {MAX_FINDINGS}", payload)
                return
        if not found:  # too large for the rich pass, or the two validators disagree: say what lxml said
            for entry in entries[:MAX_FINDINGS]:
                yield _from_lxml(entry, self.interaction, payload, self._namespace_roles())
            if len(entries) > MAX_FINDINGS:
                yield self._more(str(len(entries)), payload)

    def _more(self, how_many: str, payload: etree._Element) -> Finding:
        return Finding(RULE_ID, Severity.ERROR, f"... {how_many} schema violations in all; only the first "
                       f"{MAX_FINDINGS} are listed", f"... totalt {how_many} schemafel; bara de första "
                       f"{MAX_FINDINGS} visas", path=_path_in(payload, payload), line=payload.sourceline,
                       source=self.interaction.responder_file,
                       hint="fix the first ones: the rest often follow from them",
                       hint_sv="rätta de första: resten följer ofta av dem")

    def findings(self, payload: etree._Element) -> list[Finding]:
        """As ``iter_findings``; a valid payload (the usual case) goes without the generator."""
        valid, entries = self._validate(payload)
        return [] if valid else list(self._explain(payload, entries))


def namespace_of(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def elements_below(schema: xmlschema.XMLSchema, qname: str) -> dict[str, str]:
    """``SchemaValidator.declared_below`` for a schema: breadth first, so the shallowest declaration of a name
    wins, and each complex type is gone into once (a type that contains itself ends)."""
    root = schema.maps.elements.get(qname)
    if root is None:
        return {}
    out: dict[str, str] = {}
    entered: set[int] = set()
    waiting: deque[tuple[object, str]] = deque([(root, "")])
    while waiting:
        element, prefix = waiting.popleft()
        xsd_type = element.type
        if id(xsd_type) in entered or xsd_type.is_simple() or xsd_type.has_simple_content() or xsd_type.is_empty():
            continue
        entered.add(id(xsd_type))
        for child in _declared_elements(xsd_type.content):
            name = local_name_of(child.name)
            out.setdefault(name, prefix + name)
            waiting.append((child, f"{prefix}{name}/"))
    return out


def _declared_elements(group: object) -> Iterator[object]:
    """The element declarations of a model group, in its order, through nested groups (not an xs:any)."""
    for particle in group:
        kind = type(particle).__name__
        if kind == "XsdGroup":
            yield from _declared_elements(particle)
        elif kind != "XsdAnyElement" and getattr(particle, "name", None):
            yield particle


def local_name_of(tag: str) -> str:
    return tag.partition("}")[2] if tag.startswith("{") else tag


_QNAME = re.compile(r"\{[^{}\s']*:[^{}\s']*\}")  # {urn:...}, not a regex {8} or a set {'a'}


def plain(text: str) -> str:
    """A validator's message with ``{namespace}name`` written as the plain name."""
    return _QNAME.sub("", text)


# -- what the schema says about namespaces, for the hint on an element in the wrong one ---------------------------

_CORE = ("the core namespace", "kärnnamnrymden (core)")
_RESPONDER = ("the responder namespace", "responder-namnrymden")
_SCHEMA_REFERENCES = {f"{{{ns.XSD}}}{kind}" for kind in ("import", "include", "redefine", "override")}
_MAX_SCHEMA_FILES = 100


def _namespace_roles(responder_file: Path, root: Path, responder_namespace: str) -> dict[str, tuple[str, str]]:
    """namespace -> its role in words (English, Swedish): the contract's responder namespace, and every namespace
    whose schema lies in the package's ``core_components`` folder (the RIVTA layout) a core namespace. Read from the
    responder schema and the files it imports or includes, within the package."""
    roles: dict[str, tuple[str, str]] = {}
    root = root.resolve()
    todo, seen = [responder_file.resolve()], set()
    while todo and len(seen) < _MAX_SCHEMA_FILES:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            schema = parse_file(path).getroot()
        except (OSError, etree.XMLSyntaxError, UnsafeXMLError):
            continue
        target = schema.get("targetNamespace")
        if target and path.is_relative_to(root) and "core_components" in path.relative_to(root).parts[:-1]:
            roles.setdefault(target, _CORE)
        for reference in schema:
            location = reference.get("schemaLocation") if reference.tag in _SCHEMA_REFERENCES else None
            if location and "://" not in location:
                try:
                    referenced = (path.parent / location).resolve()
                    if referenced.is_relative_to(root) and referenced.is_file():
                        todo.append(referenced)
                except (OSError, ValueError, RuntimeError):  # an unreadable location: no role from it
                    continue
    roles[responder_namespace] = _RESPONDER
    return roles


_Owner = tuple[str, str]  # what declares an element: ("type", its name) or, for an anonymous type, ("element", ...)


def _owner_of(component: object) -> list[_Owner]:
    """The named type, or else the element of the anonymous type, whose content model declares ``component``."""
    from xmlschema.validators import XsdComplexType, XsdElement

    seen, parent = 0, getattr(component, "parent", None)
    while parent is not None and seen < 50:
        if isinstance(parent, XsdComplexType):
            if parent.name:
                return [("type", local_name_of(parent.name))]
            owner = getattr(parent, "parent", None)
            return [("element", local_name_of(owner.name))] if isinstance(owner, XsdElement) and owner.name else []
        parent, seen = getattr(parent, "parent", None), seen + 1
    return []


@dataclass
class _Place:
    """Where the contract declares the right element, as far as it is known: the parent element it was sent in,
    the named type of that parent's content (if named), and the qualified names of that content model's elements;
    or, for an element not in that content model at all, the types that declare its name elsewhere."""

    parent: str | None = None
    parent_namespace: str | None = None
    type_name: str | None = None
    model: list[str] = field(default_factory=list)
    owners: list[_Owner] = field(default_factory=list)


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
    """What one violation says, before it becomes a Finding: message and fix, in English and in Swedish."""

    en: str
    sv: str
    hint: str
    hint_sv: str
    at: etree._Element | None = None  # the element the finding points at (path and line)
    below: str = ""  # a name below ``at`` for what is missing there


def _to_finding(error: xmlschema.XMLSchemaValidationError, interaction: Interaction, payload: etree._Element,
                declared: dict[str, dict[str, set[_Owner]]], roles: dict[str, tuple[str, str]]) -> Finding:
    """Convert at the boundary: xmlschema's error -> our Finding, in plain words, with a fix hint for every
    violation. ``declared``: the namespaces each element name is declared in (and by which types), to tell a
    misplaced namespace for an element its content model does not have at all; ``roles``: which namespace is the
    responder's and which are core namespaces, for the hint."""
    import xmlschema

    elem = error.elem if getattr(error, "elem", None) is not None else error.obj
    if not isinstance(getattr(elem, "tag", None), str):
        elem = None
    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        said = _children(error, elem, interaction, declared, roles)
    else:
        said = _value(error, elem) or _other(error, elem, interaction)
    return _finding(said, elem, interaction, payload)


def _finding(said: _Said, elem: etree._Element | None, interaction: Interaction, payload: etree._Element,
             fallback_path: str | None = None, fallback_line: int | None = None) -> Finding:
    at = said.at if said.at is not None else elem
    path = _path_in(payload, at)
    if path is not None and said.below:
        path += "/" + said.below
    line = getattr(at, "sourceline", None) if at is not None else fallback_line
    return Finding(RULE_ID, Severity.ERROR, said.en, said.sv, path=path or fallback_path, line=line,
                   source=interaction.responder_file, hint=said.hint, hint_sv=said.hint_sv)


# -- the classes of violation, each in plain English and Swedish (shared by the rich pass and lxml's) --------------


def _shown(tag: str, word: str = "namespace") -> str:
    """``name (namespace urn:...)`` for a ``{namespace}name``; ``word="namnrymd"`` in Swedish."""
    ns_ = namespace_of(tag)
    return f"{local_name_of(tag)} ({word} {ns_})" if ns_ else tag


def _quoted(value: str, limit: int = 60) -> str:
    return f"'{value}'" if len(value) <= limit else f"'{value[:limit]}…'"


def _missing(where: str, expected_tags: list[str], parent: etree._Element | None) -> _Said:
    """The content of ``<where>`` ended while ``expected_tags`` (one of them) had to come."""
    name = local_name_of(expected_tags[0])
    en = " or ".join(f"<{local_name_of(e)}> (namespace {namespace_of(e)})" if namespace_of(e) else f"<{e}>"
                     for e in expected_tags)
    sv = " eller ".join(f"<{local_name_of(e)}> (namnrymd {namespace_of(e)})" if namespace_of(e) else f"<{e}>"
                        for e in expected_tags)
    return _Said(f"<{where}> is missing <{name}>", f"<{where}> saknar <{name}>",
                 f"add {en} at the end of <{where}>", f"lägg till {sv} sist i <{where}>", parent, name)


def _incomplete(where: str, interaction: Interaction) -> _Said:
    return _Said(f"the content of <{where}> is not complete", f"innehållet i <{where}> är inte komplett",
                 f"complete <{where}> as the contract's schema ({interaction.responder_file}) says",
                 f"komplettera <{where}> enligt kontraktets schema ({interaction.responder_file})")


def _wrong_namespace(name: str, have: str, want: str, child: etree._Element | None,
                     place: _Place | None = None, roles: dict[str, tuple[str, str]] | None = None) -> _Said:
    """<name> was sent in namespace ``have``; the contract declares it in ``want``. The hint says where the schema
    declares it (``place``): which children of the parent's type share that namespace, or which type declares it."""
    hint = f"put <{name}> in namespace {want}, not {have}"
    hint_sv = f"lägg <{name}> i namnrymden {want}, inte i {have}"
    note = _where_declared(name, have, want, place or _Place(), roles or {})
    if note:
        hint += f" ({note[0]})"
        hint_sv += f" ({note[1]})"
    return _Said(f"element <{name}> is in namespace {have}, but the contract expects it in namespace {want}",
                 f"elementet <{name}> ligger i namnrymden {have}, men kontraktet kräver namnrymden {want}",
                 hint, hint_sv, child)


def _listed(names: list[str], last: str) -> str:
    shown = [f"<{n}>" for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" {last} {shown[-1]}"


def _where_declared(name: str, have: str, want: str, place: _Place,
                    roles: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """The note on a misplaced namespace (English, Swedish), from the schema: nothing names a contract."""
    parent, parent_ns = place.parent, place.parent_namespace
    # a role ("the core namespace") only where it tells the namespaces apart
    role = roles.get(want) if roles.get(want) not in (roles.get(have), roles.get(parent_ns)) else None
    in_en, in_sv = role or (f"namespace {want}", f"namnrymden {want}")
    if place.model and parent:
        typed, typed_sv = (f", of type {place.type_name},", f", av typen {place.type_name},") if place.type_name \
            else ("", "")
        same = [local_name_of(t) for t in place.model if namespace_of(t) == want]
        if len(same) == len(place.model) and parent_ns == want:
            return (f"the contract declares every child of <{parent}>{typed} in the same namespace as <{parent}> "
                    "itself",
                    f"kontraktet deklarerar alla barn till <{parent}>{typed_sv} i samma namnrymd som <{parent}> själv")
        if len(same) == len(place.model):
            theirs = roles.get(parent_ns) if role else None
            theirs_en, theirs_sv = theirs or ("the namespace", "den namnrymd")
            return (f"the contract declares every child of <{parent}>{typed} in {in_en}, not in {theirs_en} of "
                    f"<{parent}> itself",
                    f"kontraktet deklarerar alla barn till <{parent}>{typed_sv} i {in_sv}, inte i {theirs_sv} som "
                    f"<{parent}> själv ligger i")
        only, only_sv = ("only ", "bara ") if len(same) == 1 else ("", "")
        return (f"of the children of <{parent}>{typed or ','} the contract declares {only}{_listed(same, 'and')} in "
                f"{in_en}",
                f"av barnen till <{parent}>{typed_sv} deklarerar kontraktet {only_sv}{_listed(same, 'och')} i "
                f"{in_sv}")
    if place.owners:  # not in this content model: where the contract declares the name
        kinds = {"type": ("type", "typen")}
        owners = sorted(place.owners)
        en = " and ".join(f"{kinds[k][0]} {n}" if k in kinds else f"<{n}>" for k, n in owners)
        sv = " och ".join(f"{kinds[k][1]} {n}" if k in kinds else f"<{n}>" for k, n in owners)
        return (f"the contract declares <{name}> in {in_en} as a child of {en}",
                f"kontraktet deklarerar <{name}> i {in_sv} som barn till {sv}")
    if parent and parent_ns == have:  # the namespace was taken over from the parent
        theirs = roles.get(parent_ns) if role else None
        theirs_en, theirs_sv = theirs or ("the namespace", "den namnrymd")
        return (f"the contract declares <{name}> in {in_en}, not in {theirs_en} of its parent <{parent}>",
                f"kontraktet deklarerar <{name}> i {in_sv}, inte i {theirs_sv} som föräldern <{parent}> ligger i")
    return None


def _repeated(name: str, where: str, max_occurs: int, child: etree._Element | None) -> _Said:
    times, times_sv = ("once", "en gång") if max_occurs == 1 else (f"{max_occurs} times", f"{max_occurs} gånger")
    return _Said(f"<{name}> appears more often in <{where}> than the contract allows ({times})",
                 f"<{name}> förekommer fler gånger i <{where}> än kontraktet tillåter ({times_sv})",
                 f"send <{name}> {times} in <{where}>: remove the repeated one",
                 f"skicka <{name}> {times_sv} i <{where}>: ta bort upprepningen", child)


def _out_of_order(late: str, early: str, where: str, sequence: str, child: etree._Element | None) -> _Said:
    """``late`` was sent after ``early``, but the contract puts ``late`` first."""
    return _Said(f"<{late}> comes after <{early}>, but the contract's order in <{where}> puts <{late}> "
                 f"before <{early}>",
                 f"<{late}> kommer efter <{early}>, men kontraktets ordning i <{where}> sätter <{late}> "
                 f"före <{early}>",
                 f"move <{late}> before <{early}> (the order in <{where}>: {sequence})",
                 f"flytta <{late}> så att det står före <{early}> (ordningen i <{where}>: {sequence})", child)


def _unexpected(name: str, where: str, hint: str, hint_sv: str, child: etree._Element | None) -> _Said:
    return _Said(f"element <{name}> is not expected here in <{where}>",
                 f"elementet <{name}> hör inte hemma här i <{where}>", hint, hint_sv, child)


def _boolean(value: str, name: str) -> _Said:
    stripped = value.strip()
    if stripped.lower() in ("true", "false"):
        right = stripped.lower()
        hint = f"xs:boolean is written in lower case: write '{right}', not '{stripped}'"
        hint_sv = f"skriv '{right}' med små bokstäver: '{stripped}' är inget xs:boolean-värde"
    else:
        hint = f"an xs:boolean is true or false (or 1 or 0), in lower case: '{stripped}' is neither"
        hint_sv = (f"ett xs:boolean skrivs true eller false (eller 1 eller 0), med små bokstäver: "
                   f"'{stripped}' är inget av dem")
    return _Said(f"'{value}' is not an xs:boolean value (true, false, 1 or 0) in <{name}>",
                 f"'{value}' är inget xs:boolean-värde (true, false, 1 eller 0) i <{name}>", hint, hint_sv)


def _enumeration(value: str, name: str, allowed: list[str]) -> _Said:
    stripped = value.strip()
    listed = ", ".join(allowed)
    same = [a for a in allowed if a.lower() == stripped.lower()]
    if same and same[0] == stripped:  # right but for the whitespace around it
        return _Said(f"the value '{value}' of <{name}> has whitespace around '{stripped}'",
                     f"värdet '{value}' i <{name}> har blanksteg runt '{stripped}'",
                     f"remove the spaces around '{stripped}': the value must be exactly one of the allowed ones",
                     f"ta bort blankstegen runt '{stripped}': värdet måste vara exakt ett av de tillåtna")
    if same:
        return _Said(f"the value '{stripped}' of <{name}> is not one of {listed} (values are case-sensitive)",
                     f"värdet '{stripped}' i <{name}> är inte ett av {listed} (värdena är skiftlägeskänsliga)",
                     f"values are case-sensitive: write '{same[0]}', not '{stripped}'",
                     f"värdena är skiftlägeskänsliga: skriv '{same[0]}', inte '{stripped}'")
    return _Said(f"the value '{value}' of <{name}> is not one of {listed}",
                 f"värdet '{value}' i <{name}> är inte ett av {listed}",
                 f"write one of the allowed values: {listed}", f"skriv ett av de tillåtna värdena: {listed}")


def _pattern(value: str, name: str, shown: str, only_whitespace: bool) -> _Said:
    """``only_whitespace``: the value without the whitespace around it would match."""
    stripped = value.strip()
    if only_whitespace:
        return _Said(f"the value of <{name}> has whitespace around '{stripped}', and a pattern-checked value "
                     f"must match {shown} exactly",
                     f"värdet i <{name}> har blanksteg runt '{stripped}', och ett mönsterkontrollerat värde "
                     f"måste matcha {shown} exakt",
                     f"remove the spaces and line breaks around '{stripped}': send <{name}>{stripped}</{name}>",
                     f"ta bort mellanslag och radbrytningar runt '{stripped}': skicka <{name}>{stripped}</{name}>")
    en = f"the value '{value}' of <{name}> does not match the pattern {shown}"
    sv = f"värdet '{value}' i <{name}> matchar inte mönstret {shown}"
    if name == "subjectOfCareId":
        hint = "write the personnummer or samordningsnummer as 12 digits without hyphen, e.g. 191212121212"
        hint_sv = "skriv personnumret eller samordningsnumret som 12 siffror utan bindestreck, t.ex. 191212121212"
        if "-" in value or "+" in value:
            hint += " (no '-' or '+' between date and number)"
            hint_sv += " (inget '-' eller '+' mellan datum och nummer)"
    else:
        hint = f"write <{name}> so that it matches {shown}"
        hint_sv = f"skriv <{name}> så att det matchar {shown}"
    return _Said(en, sv, hint, hint_sv)


def _length(name: str, kind: str, limit: object, length: int | None) -> _Said:
    """A value too long (``kind`` max), too short (min) or not of the one length (exact) the contract allows."""
    has = "" if length is None else " (1 character)" if length == 1 else f" ({length} characters)"
    has_sv = f" ({length} tecken)" if length is not None else ""
    if kind == "max":
        return _Said(f"<{name}> is longer than the contract allows{has}: at most {limit} characters",
                     f"<{name}> är längre än kontraktet tillåter{has_sv}: högst {limit} tecken",
                     f"shorten <{name}> to at most {limit} characters",
                     f"korta <{name}> till högst {limit} tecken")
    if kind == "min":
        if length == 0:
            return _Said(f"<{name}> is empty, but the contract requires at least {limit} characters",
                         f"<{name}> är tomt, men kontraktet kräver minst {limit} tecken",
                         f"fill in <{name}>: at least {limit} characters", f"fyll i <{name}>: minst {limit} tecken")
        return _Said(f"<{name}> is shorter than the contract allows{has}: at least {limit} characters",
                     f"<{name}> är kortare än kontraktet tillåter{has_sv}: minst {limit} tecken",
                     f"write at least {limit} characters in <{name}>", f"skriv minst {limit} tecken i <{name}>")
    return _Said(f"<{name}> has another length than the contract's {limit} characters{has}",
                 f"<{name}> har en annan längd än kontraktets {limit} tecken{has_sv}",
                 f"write exactly {limit} characters in <{name}>", f"skriv exakt {limit} tecken i <{name}>")


_RANGE = {  # facet -> (what the value must be, in English, in Swedish)
    "maxInclusive": ("at most", "högst"), "maxExclusive": ("less than", "mindre än"),
    "minInclusive": ("at least", "minst"), "minExclusive": ("greater than", "större än"),
}


def _range(value: str, name: str, facet: str, limit: object) -> _Said:
    en, sv = _RANGE[facet]
    return _Said(f"the value '{value.strip()}' of <{name}> is out of the contract's range: it must be {en} {limit}",
                 f"värdet '{value.strip()}' i <{name}> ligger utanför kontraktets gränser: det ska vara {sv} {limit}",
                 f"send a value in <{name}> that is {en} {limit}", f"skicka ett värde i <{name}> som är {sv} {limit}")


def _digits(value: str, name: str, facet: str, limit: object) -> _Said:
    if facet == "fractionDigits":
        decimals, decimals_sv = ("decimal", "decimal") if str(limit) == "1" else ("decimals", "decimaler")
        return _Said(f"the value '{value.strip()}' of <{name}> has more than {limit} {decimals}",
                     f"värdet '{value.strip()}' i <{name}> har fler än {limit} {decimals_sv}",
                     f"round <{name}> to at most {limit} {decimals}",
                     f"avrunda <{name}> till högst {limit} {decimals_sv}")
    return _Said(f"the value '{value.strip()}' of <{name}> has more than {limit} digits",
                 f"värdet '{value.strip()}' i <{name}> har fler än {limit} siffror",
                 f"send <{name}> with at most {limit} digits", f"skicka <{name}> med högst {limit} siffror")


_INTEGERS = {"integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
             "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"}
_TYPES = {  # XSD type -> (a plain word in English, in Swedish; the fix in English, in Swedish; {name} the element)
    "date": ("date", "datum", "write the date as YYYY-MM-DD, e.g. 2024-05-17: a real date, with hyphens and no time",
             "skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2024-05-17: ett verkligt datum, med bindestreck och utan klockslag"),
    "dateTime": ("date and time", "datum med klockslag",
                 "write date and time as YYYY-MM-DDThh:mm:ss with a 'T' between them, e.g. 2024-05-17T14:30:00 "
                 "(a zone such as +02:00 or Z may follow)",
                 "skriv datum och klockslag som ÅÅÅÅ-MM-DDTtt:mm:ss med ett 'T' emellan, t.ex. 2024-05-17T14:30:00 "
                 "(en tidszon som +02:00 eller Z får följa)"),
    "time": ("time of day", "klockslag", "write the time as hh:mm:ss, e.g. 14:30:00",
             "skriv klockslaget som tt:mm:ss, t.ex. 14:30:00"),
    "integer": ("whole number", "heltal",
                "write <{name}> as a whole number in digits, without spaces, decimals or thousands separators, e.g. 42",
                "skriv <{name}> som ett heltal med siffror, utan mellanslag, decimaler eller tusentalsavgränsare, "
                "t.ex. 42"),
    "decimal": ("number", "tal", "write <{name}> as a number with a point as decimal separator, e.g. 12.5",
                "skriv <{name}> som ett tal med punkt som decimaltecken, t.ex. 12.5 (inte kommatecken)"),
}


def _not_of_type(value: str, name: str, type_name: str) -> _Said:
    """A value that is no value of its XSD type at all (a boolean: ``_boolean``)."""
    if type_name == "boolean":
        return _boolean(value, name)
    key = "integer" if type_name in _INTEGERS else "decimal" if type_name in ("float", "double") else type_name
    if key in _TYPES:
        word, word_sv, hint, hint_sv = _TYPES[key]
        return _Said(f"'{value}' in <{name}> is not a valid {word} (xs:{type_name})",
                     f"'{value}' i <{name}> är inget giltigt {word_sv} (xs:{type_name})",
                     hint.format(name=name), hint_sv.format(name=name))
    return _Said(f"'{value}' is not a valid xs:{type_name} value in <{name}>",
                 f"'{value}' är inget giltigt xs:{type_name}-värde i <{name}>",
                 f"write <{name}> as an xs:{type_name} value", f"skriv <{name}> som ett giltigt xs:{type_name}-värde")


def _root(elem: etree._Element | None, name: str, interaction: Interaction) -> _Said:
    """A Body element in the contract's namespace that the contract does not declare."""
    want, ns_ = interaction.request_element, interaction.responder_namespace
    have = namespace_of(elem.tag) if elem is not None else ns_
    case = name.lower() == want.lower() and name != want
    return _Said(f"<{name}> is no element of the contract {interaction.name}: its request element is <{want}>",
                 f"<{name}> är inget element i kontraktet {interaction.name}: dess anropselement är <{want}>",
                 f"send <{want}> (namespace {ns_}) as the only element in the SOAP Body"
                 + (" (element names are case-sensitive)" if case else "")
                 + (f", not <{name}>" if have == ns_ else ""),
                 f"skicka <{want}> (namnrymd {ns_}) som enda element i SOAP-kroppen (Body)"
                 + (" (elementnamn är skiftlägeskänsliga)" if case else "")
                 + (f", inte <{name}>" if have == ns_ else ""))


def _attribute(attribute: str, name: str) -> _Said:
    return _Said(f"attribute '{attribute}' is not allowed on <{name}>",
                 f"attributet '{attribute}' är inte tillåtet på <{name}>",
                 f"remove the attribute '{attribute}' from <{name}>: the contract declares no such attribute",
                 f"ta bort attributet '{attribute}' från <{name}>: kontraktet har inget sådant attribut")


def _missing_attribute(attribute: str, name: str) -> _Said:
    return _Said(f"<{name}> is missing the required attribute '{attribute}'",
                 f"<{name}> saknar det obligatoriska attributet '{attribute}'",
                 f"add the attribute '{attribute}' to <{name}>", f"lägg till attributet '{attribute}' på <{name}>")


def _stray_text(name: str, stray: str) -> _Said:
    return _Said(f"<{name}> holds text between its child elements ({_quoted(stray, 40)})",
                 f"<{name}> innehåller text mellan sina barnelement ({_quoted(stray, 40)})",
                 f"remove the text from <{name}>: only child elements (and whitespace) may stand there",
                 f"ta bort texten från <{name}>: där får bara barnelement (och blanksteg) stå")


def _element_in_text(name: str) -> _Said:
    return _Said(f"<{name}> holds child elements, but the contract gives it text only",
                 f"<{name}> innehåller barnelement, men kontraktet anger bara text",
                 f"send <{name}> as text; markup meant as text must be escaped (&lt;...&gt;) or in CDATA",
                 f"skicka <{name}> som text; märkning som ska vara text måste kodas (&lt;...&gt;) eller ligga i CDATA")


def _unclassified(reason: str, elem: etree._Element | None, name: str | None, interaction: Interaction) -> _Said:
    """Any other violation: the validator's own words, with where it is and what was sent there."""
    value = text_value(elem).strip() if elem is not None and not _elements(elem) else ""
    sent, sent_sv = (f" (sent: {_quoted(value)})", f" (skickat: {_quoted(value)})") if value else ("", "")
    where, where_sv = (f"<{name}>", f"<{name}>") if name else ("the request", "anropet")
    return _Said(f"{where} does not follow the contract's schema{sent}: {reason}",
                 f"{where_sv} följer inte kontraktets schema{sent_sv}. Validatorns besked: {reason}",
                 f"make {where} match the contract's schema ({interaction.responder_file})",
                 f"rätta {where_sv} så att det följer kontraktets schema ({interaction.responder_file})")


# -- the rich pass: xmlschema's errors --------------------------------------------------------------------------


def _children(error: xmlschema.XMLSchemaChildrenValidationError, parent: etree._Element | None,
              interaction: Interaction, declared: dict[str, dict[str, set[_Owner]]],
              roles: dict[str, tuple[str, str]]) -> _Said:
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
        return _missing(where, expected_tags, parent) if expected_tags else _incomplete(where, interaction)
    name, have = local_name_of(invalid), namespace_of(invalid)
    particles = list(error.validator.iter_elements()) if hasattr(error.validator, "iter_elements") else []
    model = [e for e in particles if getattr(e, "name", None)]  # the declared elements, in order
    order = [e.name for e in model]
    if invalid not in order:  # not in this content model: perhaps its name in the wrong namespace
        place = _Place(local_name(parent) if parent is not None else None,
                       namespace_of(parent.tag) if parent is not None else None, _type_name(error.validator), order)
        misplaced = [e for e in [*expected_tags, *order] if local_name_of(e) == name and namespace_of(e) != have]
        if misplaced:
            return _wrong_namespace(name, have, namespace_of(misplaced[0]), child, place, roles)
        elsewhere = {n: owners for n, owners in declared.get(name, {}).items() if n != have}
        if len(elsewhere) == 1:  # declared by that name in one other namespace, though not here
            [(want, owners)] = elsewhere.items()
            place.model, place.owners = [], list(owners)
            return _wrong_namespace(name, have, want, child, place, roles)
    before = children[:index]
    after = children[index + 1:]
    if invalid in order:
        position = order.index(invalid)
        particle = model[position]
        if any(c.tag == invalid for c in before) and particle.max_occurs is not None \
                and sum(c.tag == invalid for c in before) >= particle.max_occurs:
            return _repeated(name, where, particle.max_occurs, child)
        sequence = ", ".join(local_name_of(t) for t in order)
        later = [c for c in before if c.tag in order and order.index(c.tag) > position]
        if later:
            return _out_of_order(name, local_name(later[0]), where, sequence, child)
        for tag in expected_tags:
            if tag in order and order.index(tag) < position and any(c.tag == tag for c in after):
                return _out_of_order(local_name_of(tag), name, where, sequence, child)
        required = [t for t in expected_tags if t in order and order.index(t) < position]
        if required:
            want = local_name_of(required[0])
            return _Said(f"<{where}> is missing <{want}>, which comes before <{name}>",
                         f"<{where}> saknar <{want}>, som ska stå före <{name}>",
                         f"add <{want}> before <{name}> (the order in <{where}>: {sequence})",
                         f"lägg till <{want}> före <{name}> (ordningen i <{where}>: {sequence})", child)
    if expected_tags:
        hint = "expected here: " + ", ".join(_shown(e) for e in expected_tags)
        hint_sv = "här väntas: " + ", ".join(_shown(e, "namnrymd") for e in expected_tags)
    else:
        known = ", ".join(local_name_of(t) for t in order)
        hint = f"remove <{name}>; the contract's elements in <{where}> are: {known or '(none)'}"
        hint_sv = f"ta bort <{name}>; kontraktets element i <{where}> är: {known or '(inga)'}"
    if len(model) < len(particles):  # an xs:any extension point
        hint += " (an element of your own goes last, in a namespace of your own)"
        hint_sv += " (ett eget element ska stå sist, i en egen namnrymd)"
    return _unexpected(name, where, hint, hint_sv, child)


def _type_name(validator: object) -> str | None:
    """The name of the complex type whose content model ``validator`` (a model group) is; None if anonymous."""
    from xmlschema.validators import XsdComplexType

    seen, component = 0, validator
    while component is not None and seen < 50:
        if isinstance(component, XsdComplexType):
            return local_name_of(component.name) if component.name else None
        component, seen = getattr(component, "parent", None), seen + 1
    return None


def _xsd_type(validator: object) -> str | None:
    """The name of the built-in XSD type a simple type is, or derives from nearest (``int``, ``date``)."""
    seen = 0
    while validator is not None and seen < 20:
        name = getattr(validator, "name", None)
        if isinstance(name, str) and namespace_of(name) == ns.XSD:
            return local_name_of(name)
        validator, seen = getattr(validator, "base_type", None), seen + 1
    return None


def _value(error: xmlschema.XMLSchemaValidationError, elem: etree._Element | None) -> _Said | None:
    """A value its simple type refuses: an enumeration, a pattern, a length or range facet, a type."""
    from xmlschema import validators as xv

    validator = error.validator
    if validator is None:
        return None
    value = text_value(elem) if elem is not None else str(error.obj)
    name = local_name(elem) if elem is not None else "the value"
    allowed = getattr(validator, "enumeration", None)
    if allowed:
        return _enumeration(value, name, [str(v) for v in allowed])
    patterns = getattr(validator, "patterns", None)
    if patterns and getattr(validator, "regexps", None):
        shown = " or ".join(f"'{r}'" for r in validator.regexps)
        stripped = value.strip()
        return _pattern(value, name, shown, stripped != value and any(p.match(stripped) for p in patterns))
    lengths = {xv.XsdMaxLengthFacet: "max", xv.XsdMinLengthFacet: "min", xv.XsdLengthFacet: "exact"}
    if type(validator) in lengths:
        checked = error.obj if isinstance(error.obj, str) else None
        length = len(checked) if checked is not None and _xsd_type(validator.base_type) != "hexBinary" else None
        return _length(name, lengths[type(validator)], validator.value, length)
    ranges = {xv.XsdMaxInclusiveFacet: "maxInclusive", xv.XsdMaxExclusiveFacet: "maxExclusive",
              xv.XsdMinInclusiveFacet: "minInclusive", xv.XsdMinExclusiveFacet: "minExclusive"}
    if type(validator) in ranges:
        return _range(value, name, ranges[type(validator)], validator.value)
    if isinstance(validator, (xv.XsdTotalDigitsFacet, xv.XsdFractionDigitsFacet)):
        facet = "fractionDigits" if isinstance(validator, xv.XsdFractionDigitsFacet) else "totalDigits"
        return _digits(value, name, facet, validator.value)
    if getattr(validator, "primitive_type", None) is not None:
        type_name = _xsd_type(validator) or validator.primitive_type.local_name
        if type_name:
            return _not_of_type(value, name, type_name)
    return None


def _other(error: xmlschema.XMLSchemaValidationError, elem: etree._Element | None,
           interaction: Interaction) -> _Said:
    """The Body's element itself, attributes, text between elements, child elements in a text field, and anything
    else."""
    name = local_name(elem) if elem is not None else None
    reason = plain((error.reason or str(error.message)).strip())
    if "is not an element of the schema" in reason and elem is not None and name:
        return _root(elem, name, interaction)
    if (m := re.match(r"'([^']+)' attribute not allowed", reason)) is not None:
        return _attribute(m.group(1), name or "the element")
    if (m := re.match(r"missing required attribute '([^']+)'", reason)) is not None:
        return _missing_attribute(m.group(1), name or "the element")
    if "character data" in reason and elem is not None and name:
        stray = next((t.strip() for t in [elem.text, *(c.tail for c in elem)] if t and t.strip()), "")
        return _stray_text(name, stray)
    if "simple content" in reason and elem is not None and name:
        return _element_in_text(name)
    return _unclassified(reason, elem, name, interaction)


# -- the lean pass: lxml's own messages, for a request too large for the rich one -------------------------------


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


_LXML_HEAD = re.compile(r"^Element '(?:\{[^}]*\})?([^']*)'(?:, attribute '[^']*')?: ")
_LXML_EXPECTED = re.compile(r"Expected is (?:one of )?\( (.+?) \)")
_LXML_FACET = re.compile(r"\[facet '(\w+)'\] ")


def _pattern_matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches an XSD ``pattern`` (read as a Python regex; unreadable: assume it does)."""
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return True


def _lxml_said(message: str, element: etree._Element | None, interaction: Interaction,
               roles: dict[str, tuple[str, str]] | None = None) -> _Said:
    """lxml's message (its ``{namespace}name``s still in it) in plain words, by the same classes as the rich pass."""
    head = _LXML_HEAD.match(message)
    name = local_name(element) if element is not None else (head.group(1) if head else None)
    reason = message[head.end():] if head else message
    shown_name = name or "the element"
    value = text_value(element) if element is not None else ""
    if "No matching global declaration available for the validation root" in reason and name:
        return _root(element, name, interaction)
    if (m := re.search(r"'([^']*)' is not a valid value of the atomic type '(?:xs:)?(\w+)'", reason)) is not None:
        return _not_of_type(m.group(1), shown_name, m.group(2))
    if (f := _LXML_FACET.search(reason)) is not None:
        facet, quoted = f.group(1), re.findall(r"'([^']*)'", reason[f.end():])
        if facet == "enumeration" and (s := re.search(r"the set \{(.+)\}", reason)) is not None:
            return _enumeration(quoted[0] if quoted else value, shown_name, re.findall(r"'([^']*)'", s.group(1)))
        if facet == "pattern" and len(quoted) >= 2:
            sent, pattern = quoted[0], quoted[-1]
            only_whitespace = sent != sent.strip() and _pattern_matches(pattern, sent.strip())
            return _pattern(sent, shown_name, f"'{pattern}'", only_whitespace)
        if facet in ("maxLength", "minLength", "length") and len(quoted) >= 2:
            kind = {"maxLength": "max", "minLength": "min", "length": "exact"}[facet]
            return _length(shown_name, kind, quoted[-1], int(quoted[0]) if quoted[0].isdigit() else None)
        if facet in _RANGE and len(quoted) >= 2:
            return _range(quoted[0], shown_name, facet, quoted[-1])
        if facet in ("totalDigits", "fractionDigits") and len(quoted) >= 2:
            return _digits(quoted[0], shown_name, facet, quoted[-1])
    parent = element.getparent() if element is not None else None
    where = local_name(parent) if parent is not None else "the request"
    if "This element is not expected" in reason and name:
        expected = _LXML_EXPECTED.search(reason)
        tags = expected.group(1).split(", ") if expected else []
        if any("##other" in t for t in tags) or not tags:
            return _unexpected(name, where,
                               f"none of the contract's elements fits here: move <{name}> to its place in the "
                               "contract's order, or remove it if it is sent more often than the contract allows",
                               f"inget av kontraktets element passar här: flytta <{name}> till dess plats i "
                               "kontraktets ordning, eller ta bort det om det skickas fler gånger än kontraktet "
                               "tillåter", element)
        have = namespace_of(element.tag) if element is not None else ""
        same = [t for t in tags if local_name_of(t) == name and namespace_of(t) != have]
        if same:
            place = _Place(local_name(parent), namespace_of(parent.tag)) if parent is not None else None
            return _wrong_namespace(name, have, namespace_of(same[0]), element, place, roles)
        return _unexpected(name, where, "expected here: " + ", ".join(_shown(t) for t in tags),
                           "här väntas: " + ", ".join(_shown(t, "namnrymd") for t in tags), element)
    if "Missing child element" in reason and name:
        expected = _LXML_EXPECTED.search(reason)
        if expected is None:
            return _incomplete(name, interaction)
        return _missing(name, expected.group(1).split(", "), element)
    if (m := re.search(r"The attribute '([^']+)' is not allowed", reason)) is not None:
        return _attribute(m.group(1), shown_name)
    if (m := re.search(r"The attribute '([^']+)' is required but missing", reason)) is not None:
        return _missing_attribute(m.group(1), shown_name)
    if "Character content other than whitespace" in reason and element is not None and name:
        stray = next((t.strip() for t in [element.text, *(c.tail for c in element)] if t and t.strip()), "")
        return _stray_text(name, stray)
    if "Element content is not allowed" in reason and name:
        return _element_in_text(name)
    return _unclassified(plain(reason.strip()), element, name, interaction)


def _from_lxml(entry: etree._LogEntry, interaction: Interaction, payload: etree._Element,
               roles: dict[str, tuple[str, str]] | None = None) -> Finding:
    """lxml's own message (for a request too large for the rich pass), in plain words, with a hint."""
    element = _lxml_element(payload, getattr(entry, "path", None))
    said = _lxml_said(entry.message, element, interaction, roles)
    return _finding(said, element, interaction, payload,
                    fallback_path=plain(getattr(entry, "path", "") or "") or None, fallback_line=entry.line)
