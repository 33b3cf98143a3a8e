"""DocBook inside a messageText: is it inside the subset the 1177 inbox (1.x) shows, or the wider one of the
standalone 1177 Inkorg (2.0, ``SUBSET_2``)?

Any element or combination outside the subset reaches the citizen as the text
``##### Mismatched Element in Source #####``, so a consumer wants to know before it sends.
The subset is one table (``SUBSET``); ``tree()`` is the one walk that judges every element
against it. The checker collects the walk's problems; an HTML preview of the inbox can render
the same tree, showing ``MISMATCH_TEXT`` where a node has problems.

The text comes from outside, so it is parsed with the hardened parser of ``xmlsafe`` (no DTD,
no entities, no network). Elements may be in no namespace or in the DocBook 5 namespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from ...xmlsafe import UnsafeXMLError, local_name, parse

DOCBOOK5 = "http://docbook.org/ns/docbook"
MISMATCH_TEXT = "##### Mismatched Element in Source #####"
_WEB_LINK = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
ROOT = "(root)"  # the "parent" of the root element in the table


XLINK = "http://www.w3.org/1999/xlink"
XLINK_HREF = f"{{{XLINK}}}href"  # DocBook 5's link target: <link xlink:href="...">


@dataclass(frozen=True)
class Allowed:
    """One row of the subset table: where an element may stand and what it may hold."""

    parents: frozenset[str]
    children: frozenset[str] = frozenset()
    text: bool = False  # may hold text (besides whitespace)
    required: tuple[str, ...] = ()  # attributes that must be present and non-blank
    values: tuple[tuple[str, frozenset[str]], ...] = ()  # (attribute, the values it may have): present and one of them


def _row(parents: str, children: str = "", text: bool = False, required: tuple[str, ...] = (),
         values: dict[str, str] | None = None) -> Allowed:
    return Allowed(frozenset(parents.split()), frozenset(children.split()), text, required,
                   tuple((name, frozenset(allowed.split())) for name, allowed in (values or {}).items()))


# The DocBook subset the 1.x inbox accepts (table on 1177's connection page), in one place.
SUBSET: dict[str, Allowed] = {
    "article": _row(ROOT, "info para section bibliography variablelist"),
    "info": _row("article section", "title"),
    "section": _row("article", "info title para bibliography variablelist"),
    "para": _row("article section", "ulink", text=True),
    "bibliography": _row("article section", text=True),
    "variablelist": _row("article section", "title varlistentry"),
    "title": _row("info section variablelist", text=True),
    "ulink": _row("para", text=True, required=("url",)),
    "varlistentry": _row("variablelist", "term listitem"),
    "term": _row("varlistentry", text=True),
    "listitem": _row("varlistentry", text=True),
}

# The wider DocBook 5.0 subset the standalone 1177 Inkorg (AddMessage 2.0) documents: the 1.x table, and besides
# it ``link`` (a link, as ulink, with its target in xlink:href), ``emphasis`` in a para with a role from 1177's
# list, and ``itemizedlist`` with ``listitem``s. Where an itemizedlist may stand is not written down: here where
# a variablelist may (article, section), as DocBook has it. Nor what a listitem holds: the 1.x table's text, or
# what DocBook 5 itself requires there, block content (``para``), in either list (the 2.0 subset is DocBook 5.0's).
EMPHASIS_ROLES = "bold italics underline collapsible bgcolor information observe"
SUBSET_2: dict[str, Allowed] = {
    **SUBSET,
    "article": _row(ROOT, "info para section bibliography variablelist itemizedlist"),
    "section": _row("article", "info title para bibliography variablelist itemizedlist"),
    "para": _row("article section listitem", "ulink link emphasis", text=True),
    "link": _row("para", text=True, required=(XLINK_HREF,)),
    "emphasis": _row("para", text=True, values={"role": EMPHASIS_ROLES}),
    "itemizedlist": _row("article section", "listitem"),
    "listitem": _row("varlistentry itemizedlist", "para", text=True),
}


@dataclass(frozen=True)
class Problem:
    """Something in the DocBook that 1177 will not show as meant."""

    path: str  # e.g. /article/section[2]/para[1]/emphasis; "" when the text cannot be read at all
    line: int | None  # line within the messageText (1 = its first line)
    message_en: str
    message_sv: str
    mismatch: bool = True  # the inbox shows MISMATCH_TEXT instead of the element


@dataclass(slots=True)
class Node:
    """An element of the DocBook as the walk judged it; ``problems`` empty = shown as written.

    The walk does not descend into a mismatched node: 1177 shows the mismatch text instead of the
    whole element, so what is inside it does not matter.
    """

    name: str
    path: str
    line: int | None
    element: etree._Element
    problems: list[Problem] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    @property
    def mismatched(self) -> bool:
        return any(p.mismatch for p in self.problems)


class DocBookError(ValueError):
    """The text cannot be read as XML (not well-formed, or refused as unsafe)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message_en)
        self.problem = problem


def is_docbook(text: str | None) -> bool:
    """A messageText is taken as DocBook when, stripped, it starts with '<'; otherwise it is plain text."""
    return bool(text) and text.lstrip().startswith("<")


_DECLARED_ENCODING = re.compile(r"""^(<\?xml[^>]*?encoding\s*=\s*["'])[^"']*""")


def read(text: str) -> tuple[etree._Element, int]:
    """Parse the text with the hardened parser; returns the root and the lines skipped before it.

    Raises DocBookError with a Problem that says what to fix.
    """
    stripped = text.lstrip()
    offset = text[: len(text) - len(stripped)].count("\n")
    # The text is already characters: any encoding its declaration names is no longer true.
    if stripped.startswith("<?xml"):
        stripped = _DECLARED_ENCODING.sub(r"\g<1>UTF-8", stripped)
    data = stripped.encode("utf-8")
    try:
        return parse(data), offset
    except UnsafeXMLError:
        raise DocBookError(Problem(
            "", None,
            "The DocBook in messageText has a DOCTYPE; DTDs and entity declarations are refused. Remove the "
            "DOCTYPE and write special characters as character references (&#160;) or plain UTF-8.",
            "DocBook-texten i messageText har en DOCTYPE; DTD:er och entitetsdeklarationer tas inte emot. Ta bort "
            "DOCTYPE och skriv specialtecken som teckenreferenser (&#160;) eller vanlig UTF-8.",
        )) from None
    except (etree.LxmlError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        reason = getattr(exc, "msg", None) or str(exc)
        raise DocBookError(Problem(
            "", line + offset if line else None,
            f"The DocBook in messageText is not well-formed XML: {reason}. The inbox cannot show it.",
            f"DocBook-texten i messageText är inte välformad XML: {reason}. Inkorgen kan inte visa den.",
        )) from None


def tree(root: etree._Element, offset: int = 0, subset: dict[str, Allowed] = SUBSET) -> Node:
    """The one walk: every element judged against the subset table, in document order."""
    node = _judge(root, ROOT, f"/{local_name(root)}", offset, subset)
    _descend(node, offset, subset)
    return node


def _descend(node: Node, offset: int, subset: dict[str, Allowed]) -> None:
    if node.problems and node.mismatched:
        return
    kids: list[tuple[etree._Element, str]] = []  # each child element with its local name
    counts: dict[str, int] = {}
    for kid in node.element:
        tag = kid.tag
        if isinstance(tag, str):  # not a comment or processing instruction
            name = tag.rpartition("}")[2]
            kids.append((kid, name))
            counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    for kid, name in kids:
        if counts[name] > 1:
            seen[name] = nth = seen.get(name, 0) + 1
            step = f"{name}[{nth}]"
        else:
            step = name
        child = _judge(kid, node.name, f"{node.path}/{step}", offset, subset, name)
        node.children.append(child)
        _descend(child, offset, subset)


def _judge(element: etree._Element, parent: str, path: str, offset: int, subset: dict[str, Allowed],
           name: str | None = None) -> Node:
    tag = element.tag
    if name is None:
        name = tag.rpartition("}")[2]
    sourceline = element.sourceline
    line = sourceline + offset if sourceline else None
    node = Node(name, path, line, element)
    for en, sv, mismatch in _verdicts(element, tag, name, parent, subset):
        _problem(node, en, sv, mismatch)
    return node


def _verdicts(element: etree._Element, tag: str, name: str, parent: str,
              subset: dict[str, Allowed]) -> list[tuple[str, str, bool]]:
    """What is wrong with one element where it stands, by the subset table: (English, Swedish, whether the
    inbox then shows the mismatch text instead of the message); empty for an element as the subset allows."""
    out: list[tuple[str, str, bool]] = []
    ns_ = tag[1:].partition("}")[0] if tag[:1] == "{" else ""  # xmlsafe.namespace
    row = subset.get(name)
    if ns_ and ns_ != DOCBOOK5:
        out.append((f"<{name}> is in namespace {ns_}, which is not DocBook (use no namespace or {DOCBOOK5})",
                    f"<{name}> ligger i namnrymden {ns_}, som inte är DocBook (använd ingen namnrymd eller "
                    f"{DOCBOOK5})", True))
    elif row is None:
        out.append((f"<{name}> is not in the subset 1177 accepts",
                    f"<{name}> ingår inte i den delmängd av DocBook som 1177 tar emot", True))
    elif parent not in row.parents:
        where = ", ".join("the root" if p == ROOT else f"<{p}>" for p in sorted(row.parents))
        if parent == ROOT:
            out.append((f"<{name}> cannot be the root element: the text must start with <article>",
                        f"<{name}> kan inte vara rotelement: texten måste börja med <article>", True))
        else:
            out.append((f"<{name}> is not allowed inside <{parent}> (allowed inside: {where})",
                        f"<{name}> får inte stå i <{parent}> (får stå i: {where})", True))
    else:
        for attribute in row.required:
            if not (element.get(attribute) or "").strip():
                shown = "xlink:href" if attribute == XLINK_HREF else attribute
                out.append((f"<{name}> needs a non-empty '{shown}' attribute; without it the link leads "
                    "nowhere", f"<{name}> måste ha ett attribut '{shown}' som inte är tomt; utan det leder "
                    "länken ingenstans", False))
        for attribute, allowed in row.values:
            value = (element.get(attribute) or "").strip()
            if value not in allowed:
                listed = ", ".join(sorted(allowed))
                said, said_sv = ((f"{attribute}='{value[:40]}'",) * 2 if value
                                 else (f"no '{attribute}'", f"inget '{attribute}'"))
                out.append((f"<{name}> has {said}; 1177 shows it as meant only with {attribute} one of {listed}",
                    f"<{name}> har {said_sv}; 1177 visar den som avsett bara med {attribute} ett av {listed}",
                    False))
        if name in ("ulink", "link"):
            attribute = "url" if name == "ulink" else XLINK_HREF
            url = (element.get(attribute) or "").strip()
            if url and not _WEB_LINK.match(url):
                shown = "url" if name == "ulink" else "xlink:href"
                out.append((f"<{name} {shown}='{url[:80]}'> is not an absolute http(s) address; a citizen's "
                    "browser cannot (or must not) open it", f"<{name} {shown}='{url[:80]}'> är ingen absolut "
                    "http(s)-adress; invånarens webbläsare kan inte (eller får inte) öppna den", False))
        if not row.text and _has_text(element):
            hold = ", ".join(f"<{c}>" for c in sorted(row.children))
            out.append((f"<{name}> cannot hold text directly (only {hold}), so the text may not be shown; "
                    "put it in a <para>",
                        f"<{name}> kan inte innehålla text direkt (bara {hold}), så texten kanske inte visas; "
                    "lägg den i en <para>", False))
    return out


def _clean(root: etree._Element, subset: dict[str, Allowed]) -> bool:
    """Whether every element is as the subset allows: ``_verdicts`` of each, without the nodes, paths and lines
    of ``tree`` (the usual text is clean, and then those are never shown)."""
    stack = [(root, ROOT)]
    while stack:
        element, parent = stack.pop()
        tag = element.tag
        name = tag.rpartition("}")[2]
        if _verdicts(element, tag, name, parent, subset):
            return False
        stack.extend([(kid, name) for kid in element if isinstance(kid.tag, str)])
    return True


def _problem(node: Node, en: str, sv: str, mismatch: bool = True) -> None:
    if mismatch:
        en, sv = f"{en}; the citizen will see '{MISMATCH_TEXT}'", f"{sv}; invånaren ser texten '{MISMATCH_TEXT}'"
    node.problems.append(Problem(node.path, node.line, en, sv, mismatch))


def _has_text(element: etree._Element) -> bool:
    if element.text and element.text.strip():
        return True
    return any(child.tail and child.tail.strip() for child in element)


def walk(node: Node) -> Iterator[Node]:
    """The judged nodes in document order."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if node.children:
            stack.extend(reversed(node.children))


def check(text: str, subset: dict[str, Allowed] = SUBSET) -> list[Problem]:
    """Every problem of a DocBook messageText (empty = the inbox shows it as written)."""
    try:
        root, offset = read(text)
    except DocBookError as exc:
        return [exc.problem]
    return _problems(root, offset, subset)


def ulink_urls(text: str) -> list[str]:
    """The url of every <ulink> in a DocBook text, wherever it stands (empty if unreadable)."""
    try:
        root, _ = read(text)
    except DocBookError:
        return []
    return _ulinks(root)


def examine(text: str, subset: dict[str, Allowed] = SUBSET) -> tuple[list[Problem], list[str]]:
    """``(check(text, subset), ulink_urls(text))`` from one parse of the text: what the inbox's rule and its test
    cases ask of a messageText (``InboxView.docbook``); with ``SUBSET_2``, the target of each ``link`` too."""
    try:
        root, offset = read(text)
    except DocBookError as exc:
        return [exc.problem], []
    urls = _ulinks(root)
    if "link" in subset:
        urls += [el.get(XLINK_HREF) or "" for el in root.iter() if el.tag in _LINKS]
    return _problems(root, offset, subset), urls


def _problems(root: etree._Element, offset: int, subset: dict[str, Allowed]) -> list[Problem]:
    if _clean(root, subset):
        return []
    return [p for node in walk(tree(root, offset, subset)) if node.problems for p in node.problems]


_ULINKS = frozenset({"ulink", f"{{{DOCBOOK5}}}ulink"})  # its Clark names: no namespace, or DocBook 5's
_LINKS = frozenset({"link", f"{{{DOCBOOK5}}}link"})


def _ulinks(root: etree._Element) -> list[str]:
    return [el.get("url") or "" for el in root.iter() if el.tag in _ULINKS]
