"""The smallest schema-valid element for a contract's request or response, made from its schema.

Read with xmlschema from the contract's responder schema (the one the validator compiles): the
required elements only, each as often as ``minOccurs`` says, in the schema's order; of a choice the
first branch (the first that is not an ``xs:any``); ``xs:any`` with ``minOccurs="0"`` left out;
required attributes; an abstract element by its first substitute. Values are type-correct: a fixed
value as fixed; an enumeration's first value; ``xs:boolean`` false; numbers 0, or the nearest value the
range facets allow; ``xs:date``/``xs:dateTime``/``xs:time`` now, in Swedish local time; a pattern a
generated matching value (``patterns``), honouring the length facets; other strings ``x`` (as long as
a length facet asks). A generated value the same length as the current time written ``yyyyMMddHHmmss``
(or ``yyyyMMdd``) that the type also accepts is replaced by that time, and likewise by the test
personnummer 191212121212: a time and a citizen read as one.

Elements are qualified as the schema says (``elementFormDefault``, ``form``); the root element's
namespace is the default one and every other namespace gets the prefix the schema files give it.
What cannot be made (a required ``xs:any``, a pattern outside the generator's subset, a type no value
fits) raises ``SynthesisError`` naming the type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from ...errors import MockplatformError
from ...localtime import zone
from ...ns import XSD
from .patterns import PatternError, generate

if TYPE_CHECKING:
    import xmlschema

__all__ = ["Made", "SynthesisError", "minimal_element", "minimal_made", "minimal_xml", "times"]

TEST_PERSONNUMMER = "191212121212"  # Tolvan Tolvansson, the Swedish test personnummer
_MAX_DEPTH = 40
_EXTRAS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24, 32, 48, 64, 100, 128, 256)


class SynthesisError(MockplatformError):
    """A schema for which no minimal valid element can be made; the message names the type."""


@dataclass
class _Node:
    tag: str  # {namespace}local, or local for an unqualified element
    attributes: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    children: list[_Node] = field(default_factory=list)


def _type_name(xsd_type: Any) -> str:
    seen = xsd_type
    for _ in range(20):
        name = getattr(seen, "name", None)
        if name:
            return name.rpartition("}")[2] if name.startswith("{") else name
        seen = getattr(seen, "parent", None)
        if seen is None:
            break
        if getattr(seen, "name", None):
            return f"the anonymous type of {seen.name.rpartition('}')[2]}"
    return "an anonymous type"


def _builtin(xsd_type: Any) -> str:
    """The local name of the nearest built-in XSD type ``xsd_type`` is or derives from (``string``, ``int``)."""
    seen = xsd_type
    for _ in range(30):
        if seen is None:
            break
        name = getattr(seen, "name", None)
        if isinstance(name, str) and name.startswith(f"{{{XSD}}}"):
            return name.rpartition("}")[2]
        seen = getattr(seen, "base_type", None)
    primitive = getattr(xsd_type, "primitive_type", None)
    name = getattr(primitive, "name", None) or ""
    return name.rpartition("}")[2]


def _chain(xsd_type: Any) -> Iterator[Any]:
    seen = xsd_type
    for _ in range(30):
        if seen is None:
            return
        yield seen
        seen = getattr(seen, "base_type", None)


def _facet(xsd_type: Any, name: str) -> Any:
    """The nearest value of a facet property (``min_length``) along the derivation."""
    for step in _chain(xsd_type):
        value = getattr(step, name, None)
        if value is not None:
            return value
    return None


def _patterns(xsd_type: Any) -> list[str]:
    found: list[str] = []
    for step in _chain(xsd_type):
        facets = getattr(step, "patterns", None)
        if facets is not None:
            found += [r for r in getattr(facets, "regexps", []) if r not in found]
    return found


def times(now: datetime) -> dict[str, str]:
    """Every way a made value says the time ``now``: the XSD date and time types' (by their name) and the two
    pattern-typed timestamps (``stamp``: yyyyMMddHHmmss, ``day``: yyyyMMdd)."""
    return {**_moments(now), "stamp": now.strftime("%Y%m%d%H%M%S"), "day": now.strftime("%Y%m%d")}


def _time_kind(xsd_type: Any, value: str, now: datetime) -> str | None:
    """Which of ``times(now)`` a value made for the type is (None: not a time), so that it can be made again for
    another moment: a date or time type's value of now, or a string that is now written as a timestamp."""
    builtin = _builtin(xsd_type)
    moments = _moments(now)
    if builtin in moments:
        return builtin if value == moments[builtin] else None
    if value == now.strftime("%Y%m%d%H%M%S"):
        return "stamp"
    return "day" if value == now.strftime("%Y%m%d") else None


def _moments(now: datetime) -> dict[str, str]:
    return {"date": now.strftime("%Y-%m-%d"), "dateTime": now.isoformat(timespec="seconds"),
            "time": now.strftime("%H:%M:%S"), "gYear": now.strftime("%Y"), "gYearMonth": now.strftime("%Y-%m"),
            "gMonth": now.strftime("--%m"), "gMonthDay": now.strftime("--%m-%d"), "gDay": now.strftime("---%d")}


def _number_candidates(xsd_type: Any) -> Iterator[str]:
    yield "0"
    low, high = _facet(xsd_type, "min_value"), _facet(xsd_type, "max_value")
    near = [v for bound, step in ((low, 1), (high, -1)) if bound is not None for v in (bound, bound + step)]
    yield from (str(v) for v in sorted(near, key=abs))  # the value within the range nearest 0
    yield from ("1", "-1", "0.0")


def _string_candidates(xsd_type: Any, patterns: list[str], now: datetime) -> Iterator[str]:
    if patterns:
        wanted = (now.strftime("%Y%m%d%H%M%S"), now.strftime("%Y%m%d"), TEST_PERSONNUMMER)
        for pattern in patterns:
            for last in (False, True):
                for extra in _EXTRAS:
                    value = generate(pattern, extra, last)
                    yield from (w for w in wanted if len(w) == len(value))  # a time or a citizen, if it fits
                    yield value
        return
    low = _facet(xsd_type, "min_length") or 0
    high = _facet(xsd_type, "max_length")
    length = _facet(xsd_type, "length")
    size = length if length is not None else max(low, 1 if high is None or high >= 1 else 0)
    yield "x" * size
    yield ""


def _candidates(xsd_type: Any, now: datetime) -> Iterator[str]:
    enumeration = _facet(xsd_type, "enumeration")
    if enumeration:
        yield from (str(v) for v in enumeration)
        return
    if getattr(xsd_type, "member_types", None):  # a union: each member's values
        for member in xsd_type.member_types:
            yield from _candidates(member, now)
        return
    item = getattr(xsd_type, "item_type", None)
    if item is not None:  # a list: one item, or none
        yield from _candidates(item, now)
        yield ""
        return
    builtin = _builtin(xsd_type)
    patterns = _patterns(xsd_type)
    if builtin == "boolean":
        yield from ("false", "true")
    elif builtin in _moments(now):
        yield _moments(now)[builtin]
        yield from (generate(p) for p in patterns)
    elif builtin == "duration":
        yield from ("PT0S", "P0D")
    elif builtin in ("hexBinary", "base64Binary"):
        yield from ("", "00" if builtin == "hexBinary" else "AA==")
    elif builtin == "anyURI" and not patterns:
        yield from ("https://example.invalid/", "urn:x")
    elif builtin in _NUMBERS and not patterns:
        yield from _number_candidates(xsd_type)
    else:
        yield from _string_candidates(xsd_type, patterns, now)


_NUMBERS = {"decimal", "integer", "int", "long", "short", "byte", "float", "double", "nonNegativeInteger",
            "positiveInteger", "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt",
            "unsignedShort", "unsignedByte"}


def simple_value(xsd_type: Any, now: datetime | None = None) -> str:
    """The first value of the type's candidates (see the module's docstring) that the type accepts."""
    now = now or datetime.now(zone())
    try:
        for value in _candidates(xsd_type, now):
            if xsd_type.is_valid(value):
                return value
    except PatternError as exc:
        raise SynthesisError(f"no value can be made for the simple type {_type_name(xsd_type)}: {exc}") from None
    raise SynthesisError(f"no value can be made for the simple type {_type_name(xsd_type)}: none of the values the "
                         "generator tries (the pattern's smallest, the facets' bounds) is valid")


class _Maker:
    def __init__(self, now: datetime, values: dict[str, str] | None = None) -> None:
        self.now = now
        self.values = values or {}  # local name -> the value it must have (see ``minimal_element``)
        self._leads: dict[int, bool] = {}
        self.timed: list[tuple[_Node, str | None, str]] = []  # (node, attribute or None for its text, time kind)

    def value(self, xsd_type: Any, node: _Node, attribute: str | None = None) -> str:
        """``simple_value`` for a node's text or attribute, noting it when it is the time (``timed``)."""
        made = simple_value(xsd_type, self.now)
        kind = _time_kind(xsd_type, made, self.now)
        if kind is not None:
            self.timed.append((node, attribute, kind))
        return made

    def leads(self, particle: Any) -> bool:
        """Does an element of ``values`` stand in this particle (it, or below it)?"""
        if not self.values or type(particle).__name__ == "XsdAnyElement":
            return False
        key = id(particle)
        if key not in self._leads:
            self._leads[key] = False  # a type that contains itself leads nowhere more than once
            if type(particle).__name__ == "XsdGroup":
                found = any(self.leads(p) for p in particle)
            else:
                name = particle.name or ""
                xsd_type = particle.type
                found = name.rpartition("}")[2] in self.values or (
                    not xsd_type.is_simple() and not xsd_type.has_simple_content() and not xsd_type.is_empty()
                    and self.leads(xsd_type.content))
            self._leads[key] = found
        return self._leads[key]

    def element(self, element: Any, depth: int) -> _Node:
        if depth > _MAX_DEPTH:
            raise SynthesisError(f"the required elements nest deeper than {_MAX_DEPTH} levels at "
                                 f"{element.name}: a schema whose required content never ends")
        if getattr(element, "abstract", False):
            substitute = next((s for s in element.iter_substitutes() if not s.abstract), None)
            if substitute is None:
                raise SynthesisError(f"the abstract element {element.name} has no element to stand in for it")
            element = substitute
        node = _Node(element.name)
        xsd_type = element.type
        fixed = getattr(element, "fixed", None)
        wanted = self.values.get(element.name.rpartition("}")[2]) if self.values else None
        if xsd_type.is_simple():
            if wanted is not None:
                if not xsd_type.is_valid(wanted):
                    raise SynthesisError(f"the element {element.name} cannot hold the value '{wanted}'")
                node.text = wanted
                return node
            node.text = fixed if fixed is not None else self.value(xsd_type, node)
            return node
        for attribute in getattr(xsd_type, "attributes", {}).values():
            if getattr(attribute, "use", None) == "required":
                value = attribute.fixed if attribute.fixed is not None else \
                    self.value(attribute.type, node, attribute.name)
                node.attributes[attribute.name] = value
        if xsd_type.has_simple_content():
            node.text = fixed if fixed is not None else self.value(xsd_type.content, node)
        elif not xsd_type.is_empty():
            node.children = self.group(xsd_type.content, depth, xsd_type)
        return node

    def particle(self, particle: Any, depth: int, owner: Any) -> list[_Node]:
        kind = type(particle).__name__
        if kind == "XsdAnyElement":
            if particle.min_occurs:
                raise SynthesisError(f"{_type_name(owner)} requires an xs:any element: nothing minimal can be made "
                                     "of it")
            return []
        times = max(particle.min_occurs, 1) if self.leads(particle) else particle.min_occurs
        if kind == "XsdGroup":
            out: list[_Node] = []
            for _ in range(times):
                out += self.group(particle, depth, owner)
            return out
        return [self.element(particle, depth + 1) for _ in range(times)]

    def group(self, group: Any, depth: int, owner: Any) -> list[_Node]:
        particles = list(group)
        if group.model == "choice":
            chosen = next((p for p in particles if self.leads(p)), None) or \
                next((p for p in particles if type(p).__name__ != "XsdAnyElement"), None)
            if chosen is None and particles:
                chosen = particles[0]
            return self.particle(chosen, depth, owner) if chosen is not None else []
        out: list[_Node] = []
        for particle in particles:
            out += self.particle(particle, depth, owner)
        return out


def _namespaces(node: _Node, found: list[str]) -> None:
    for tag in (node.tag, *node.attributes):
        if tag.startswith("{"):
            uri = tag[1:].partition("}")[0]
            if uri not in found:
                found.append(uri)
    for child in node.children:
        _namespaces(child, found)


def _unqualified(node: _Node) -> bool:
    return not node.tag.startswith("{") or any(_unqualified(c) for c in node.children)


def _prefixes(schema: xmlschema.XMLSchema) -> dict[str, str]:
    """namespace -> the prefix the schema files give it (the contract's own files first)."""
    out: dict[str, str] = {}
    for document in [schema, *schema.maps.iter_schemas()]:
        for prefix, uri in getattr(document, "namespaces", {}).items():
            if prefix and uri and uri not in out and prefix not in ("xml", "xs", "xsd"):
                out[uri] = prefix
    return out


def _build(node: _Node, parent: etree._Element | None, nsmap: dict[str | None, str],
           built: dict[int, etree._Element]) -> etree._Element:
    element = etree.Element(node.tag, nsmap=nsmap) if parent is None else etree.SubElement(parent, node.tag)
    built[id(node)] = element
    for name, value in node.attributes.items():
        element.set(name, value)
    element.text = node.text
    for child in node.children:
        _build(child, element, nsmap, built)
    return element


@dataclass
class Made:
    """A made element, and where it says the time it was made at: (element, attribute or None for its text, the
    kind of ``times``), to say another moment there."""

    element: etree._Element
    timed: list[tuple[etree._Element, str | None, str]] = field(default_factory=list)


def minimal_element(schema: xmlschema.XMLSchema, qname: str, now: datetime | None = None,
                    values: dict[str, str] | None = None) -> etree._Element:
    """The smallest valid ``qname`` element (``{namespace}local``) of ``schema``, as an lxml element. ``values``:
    elements (by local name, of a simple type) that must be there with these values, optional ones included (and
    what leads to them: an optional parent, a choice's branch), e.g. ``{"resultCode": "ERROR"}``; SynthesisError
    when such a value is not one the element's type accepts."""
    return minimal_made(schema, qname, now, values).element


def minimal_made(schema: xmlschema.XMLSchema, qname: str, now: datetime | None = None,
                 values: dict[str, str] | None = None) -> Made:
    """``minimal_element``, with where it says the time (``Made.timed``)."""
    declared = schema.maps.elements.get(qname)
    if declared is None:
        raise SynthesisError(f"the schema declares no element {qname}")
    maker = _Maker(now or datetime.now(zone()), values)
    root = maker.element(declared, 0)
    used: list[str] = []
    _namespaces(root, used)
    known = _prefixes(schema)
    root_ns = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else None
    nsmap: dict[str | None, str] = {}
    taken: set[str] = set()
    for number, uri in enumerate(used):
        if uri == root_ns and not _unqualified(root):
            nsmap[None] = uri
            continue
        prefix = known.get(uri) or f"ns{number}"
        while prefix in taken:
            prefix += "_"
        taken.add(prefix)
        nsmap[prefix] = uri
    built: dict[int, etree._Element] = {}
    element = _build(root, None, nsmap, built)
    return Made(element, [(built[id(node)], attribute, kind) for node, attribute, kind in maker.timed])


def minimal_xml(schema: xmlschema.XMLSchema, qname: str, now: datetime | None = None) -> str:
    """``minimal_element`` as text (no XML declaration): a SOAP Body's content."""
    return etree.tostring(minimal_element(schema, qname, now), encoding="unicode")
