"""The one hardened XML parser for everything that comes from outside.

No entity expansion, no DTD loading, no network, libxml2's size limits on; a document
with a DOCTYPE is refused outright, so nothing a consumer sends can make the parser fetch,
read files or expand an entity bomb.
"""

from __future__ import annotations

import threading

from lxml import etree

_local = threading.local()


class UnsafeXMLError(ValueError):
    """Raised for well-formed XML that we refuse to read (a DOCTYPE)."""


class _RefuseExternal(etree.Resolver):
    """Every external resource (DTD subset, entity) resolves to nothing; libxml2 otherwise reads
    local files for a SYSTEM identifier even with load_dtd off."""

    def resolve(self, url, pubid, context):
        return self.resolve_string("", context)


def _parser() -> etree.XMLParser:
    # lxml parsers are not safe to share between threads: one per thread.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            collect_ids=False,
            remove_comments=False,
        )
        parser.resolvers.add(_RefuseExternal())
        _local.parser = parser
    return parser


def parse(data: bytes) -> etree._Element:
    """Parse untrusted bytes; raise etree.XMLSyntaxError (not well-formed) or UnsafeXMLError (DOCTYPE)."""
    root = etree.fromstring(data, _parser())
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXMLError("DOCTYPE is not allowed in a SOAP message")
    return root


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
