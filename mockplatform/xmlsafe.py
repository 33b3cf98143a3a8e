"""The one hardened XML parser for everything that comes from outside: what consumers and producers
send, and the files of contract packages (``parse_file``). Nothing else makes an XMLParser.

No entity expansion, no DTD loading, no network, libxml2's size limits on; a document
with a DOCTYPE is refused outright, so nothing a consumer sends can make the parser fetch,
read files or expand an entity bomb.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lxml import etree

_local = threading.local()


class UnsafeXMLError(ValueError):
    """Raised for well-formed XML that we refuse to read (a DOCTYPE)."""


class _RefuseExternal(etree.Resolver):
    """Every external resource (DTD subset, entity) resolves to nothing; libxml2 otherwise reads
    local files for a SYSTEM identifier even with load_dtd off."""

    def resolve(self, url, pubid, context):
        return self.resolve_string("", context)


def hardened_parser(local_files: bool = False) -> etree.XMLParser:
    """The one parser configuration: no entities, no DTD, no network, libxml2's size limits on.
    ``local_files``: a contract package's file may import its neighbours (xs:import of the core
    schema); anything sent to the platform reads no file at all."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
        remove_comments=False,
    )
    if not local_files:
        parser.resolvers.add(_RefuseExternal())
    return parser


def _parser(local_files: bool = False) -> etree.XMLParser:
    # lxml parsers are not safe to share between threads: one per thread.
    name = "file_parser" if local_files else "parser"
    parser = getattr(_local, name, None)
    if parser is None:
        parser = hardened_parser(local_files)
        setattr(_local, name, parser)
    return parser


def _refuse_doctype(tree: etree._ElementTree, what: str) -> None:
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXMLError(f"DOCTYPE is not allowed in {what}")


def parse(data: bytes, what: str = "a SOAP message") -> etree._Element:
    """Parse untrusted bytes; raise etree.XMLSyntaxError (not well-formed) or UnsafeXMLError (DOCTYPE, refused
    in ``what``, as the error says)."""
    root = etree.fromstring(data, _parser())
    _refuse_doctype(root.getroottree(), what)
    return root


def parse_file(path: str | Path) -> etree._ElementTree:
    """Parse a file of a contract package the same way; raise etree.XMLSyntaxError or UnsafeXMLError."""
    tree = etree.parse(str(path), _parser(local_files=True))
    _refuse_doctype(tree, f"a contract file ({Path(path).name})")
    return tree


def text_value(element: etree._Element) -> str:
    """An element's whole character data. A comment or processing instruction inside a value splits it,
    and ``.text`` alone is only the part before it: a schema-valid value would be misread."""
    if len(element):  # comments and PIs are children; without any, .text is all (and ten times cheaper)
        return "".join(element.itertext())
    return element.text or ""


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(element: etree._Element) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].partition("}")[0]
    return ""
