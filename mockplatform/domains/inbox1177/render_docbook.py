"""A messageText as the citizen's browser would show it: DocBook in the subset as readable HTML,
everything outside it as 1177's ``##### Mismatched Element in Source #####``, plain text as text.

The judging is ``docbook.tree()``'s (the one subset table, the one walk); this module only turns
the judged tree into HTML. Every piece of text goes through ``markupsafe.escape`` and only
http/https targets become links (``links.safe_url``), so nothing in a message can run or load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

from . import docbook
from .docbook import MISMATCH_TEXT, ROOT, DocBookError, Node, Problem
from .links import safe_url

# Heading level of a <title> by where it stands; the page's own <h1> is the message heading.
_TITLE_TAG = {"article": "h2", "section": "h3", "variablelist": "h4"}


@dataclass
class Rendered:
    """The HTML of a messageText, and what an integrator should know about it (not shown in 1177)."""

    html: Markup
    docbook: bool
    problems: list[Problem] = field(default_factory=list)  # the subset walk's findings
    refused_links: list[str] = field(default_factory=list)  # ulink targets shown as inert text


def render_message_text(text: str | None) -> Rendered:
    """The messageText as HTML: DocBook rendered through the subset walk, anything else as plain text."""
    if not docbook.is_docbook(text):
        return Rendered(Markup('<div class="plain-text">{}</div>').format(text or ""), docbook=False)
    try:
        root, offset = docbook.read(text)
    except DocBookError as exc:
        return Rendered(_mismatch_block(), docbook=True, problems=[exc.problem])
    node = docbook.tree(root, offset)
    renderer = _Renderer()
    renderer.block(node, ROOT)
    html = Markup('<div class="docbook">{}</div>').format(Markup("".join(renderer.out)))
    return Rendered(html, True, [p for n in docbook.walk(node) for p in n.problems], renderer.refused)


def _mismatch_block() -> Markup:
    return Markup('<p class="mismatch">{}</p>').format(MISMATCH_TEXT)


def _mismatch_inline() -> Markup:
    return Markup('<span class="mismatch">{}</span>').format(MISMATCH_TEXT)


class _Renderer:
    """Turns a judged tree into HTML, noting the link targets it refused."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.refused: list[str] = []

    def block(self, node: Node, parent: str) -> None:
        """A block-level element; its own stray text is not shown (the walk reports it)."""
        out = self.out
        if node.mismatched:
            out.append(_mismatch_block())
            return
        name = node.name
        if name == "title":
            tag = _TITLE_TAG.get(parent, "h4")
            out.append(Markup('<{0} class="db-title">{1}</{0}>').format(Markup(tag), self.inline(node)))
        elif name in ("para", "bibliography"):
            out.append(Markup('<p class="db-{}">{}</p>').format(name, self.inline(node)))
        elif name == "info":  # holds the title of its parent: rendered at the parent's heading level
            for child in node.children:
                self.block(child, parent)
        elif name == "variablelist":
            self.variablelist(node)
        else:  # article, section: containers
            out.append(Markup('<div class="db-{}">').format(name))
            for child in node.children:
                self.block(child, name)
            out.append(Markup("</div>"))

    def variablelist(self, node: Node) -> None:
        self.out.append(Markup('<div class="db-variablelist">'))
        entries: list[str] = []
        for child in node.children:
            if child.mismatched:
                entries.append(Markup('<div class="db-varlistentry">{}</div>').format(_mismatch_block()))
            elif child.name == "title":
                self.block(child, "variablelist")
            else:
                parts = []
                for part in child.children:
                    if part.mismatched:
                        parts.append(Markup('<dd class="mismatch">{}</dd>').format(MISMATCH_TEXT))
                    else:
                        tag = Markup("dt" if part.name == "term" else "dd")
                        parts.append(Markup('<{0} class="db-{1}">{2}</{0}>').format(tag, part.name, self.inline(part)))
                entries.append(Markup('<div class="db-varlistentry">{}</div>').format(Markup("".join(parts))))
        if entries:
            self.out.append(Markup("<dl>{}</dl>").format(Markup("".join(entries))))
        self.out.append(Markup("</div>"))

    def inline(self, node: Node) -> Markup:
        """Text content with its inline children (ulinks; anything else is a mismatch), tails kept."""
        element = node.element
        parts: list[str] = [escape(element.text or "")]
        judged = {id(n.element): n for n in node.children}
        for child in element:
            if isinstance(child.tag, str):
                kid = judged.get(id(child))
                if kid is not None and not kid.mismatched and kid.name == "ulink":
                    parts.append(self.ulink(kid))
                else:
                    parts.append(_mismatch_inline())
            parts.append(escape(child.tail or ""))  # comments and processing instructions keep their tails
        return Markup("".join(parts))

    def ulink(self, node: Node) -> Markup:
        url = node.element.get("url")
        label = self.inline(node) if (node.element.text or len(node.element)) else escape(url or "")
        href = safe_url(url)
        if href is None:
            self.refused.append(url or "")
            return Markup('<span class="inert-link" title="{}">{}</span>').format(
                "Ingen länk: bara http- och https-adresser blir länkar", label)
        return Markup('<a class="db-ulink" href="{}" target="_blank" rel="noopener noreferrer">{}</a>').format(
            href, label)
