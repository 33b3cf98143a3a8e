"""Serving contracts' WSDL and XSD files the way the real platform does.

``GET /vp/<domain path>/<Name>/<major>/rivtabp21?wsdl`` returns the WSDL with its schema imports
rewritten to ``?xsd=<relative path>`` on this server and ``soap:address`` pointing here, so a SOAP
toolkit builds a client from the URL alone.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lxml import etree

from .. import ns
from ..messages import XML_CONTENT_TYPE
from ..xmlsafe import parse_file
from .package import Interaction
from .registry import ContractRegistry


@dataclass
class Document:
    status: int
    content_type: str
    body: bytes


def serve(registry: ContractRegistry, path: str, query: dict[str, str], base_url: str) -> Document:
    interaction = registry.by_wsdl_path(path)
    if interaction is None:
        listing = "\n".join(sorted(f"{base_url}{i.wsdl_path}?wsdl" for i in registry.interactions))
        text = f"No WSDL at {path}. Available WSDL paths:\n{listing}\n"
        return Document(500, "text/plain; charset=UTF-8", text.encode("utf-8"))
    endpoint = base_url + interaction.wsdl_path
    if "xsd" in query:
        relative = query["xsd"]
        target = posixpath.normpath(posixpath.join(interaction.wsdl_dir, relative))
        if target.startswith("..") or target not in interaction.package.files or not target.endswith(".xsd"):
            return Document(404, "text/plain; charset=UTF-8", f"No schema {relative!r} here\n".encode())
        return Document(200, XML_CONTENT_TYPE, _rewrite(interaction, target, endpoint))
    return Document(200, XML_CONTENT_TYPE, _rewrite(interaction, interaction.wsdl_file, endpoint))


def _rewrite(interaction: Interaction, file: str, endpoint: str) -> bytes:
    tree = parse_file(interaction.package.file_path(file))
    here = posixpath.dirname(file)
    for tag in (f"{{{ns.XSD}}}import", f"{{{ns.XSD}}}include"):
        for el in tree.iter(tag):
            location = el.get("schemaLocation")
            if not location or "://" in location:
                continue
            target = posixpath.normpath(posixpath.join(here, location))
            relative = posixpath.relpath(target, interaction.wsdl_dir)
            el.set("schemaLocation", f"{endpoint}?xsd={relative}")
    for address in tree.iter(f"{{{ns.WSDL_SOAP}}}address"):
        address.set("location", endpoint)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
