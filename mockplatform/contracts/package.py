"""Reading a RIVTA release package, unpacked or as the zip, in the official layout.

    schemas/core_components/<domain>_<m.n>.xsd
    schemas/interactions/<Op>Interaction/<Op>Interaction_<m.n>_RIVTABP21.wsdl
    schemas/interactions/<Op>Interaction/<Op>Responder_<m.n>.xsd

Published patterns written as ``^...$`` are repaired on load (in XML Schema, ``^`` and ``$`` are
literal characters, so such a facet rejects every real value); each repair is reported.
A package is materialised into a private folder so that lxml and xmlschema both read plain
files and never the network.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .. import ns
from ..errors import ContractPackageError, UnreadableFile
from ..xmlsafe import UnsafeXMLError, parse_file

MAX_PACKAGE_BYTES = 50 * 1024 * 1024
_VERSION_IN_NAME = re.compile(r"_(\d+)\.(\d+)(?:\.\d+)?_RIVTABP(\d\d)\.wsdl$", re.IGNORECASE)


@dataclass(frozen=True)
class PatternRepair:
    file: str
    type_name: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.file}: {self.type_name}: pattern '{self.before}' repaired to '{self.after}'"


@dataclass
class Interaction:
    """One service contract (interaction) of a package."""

    name: str  # e.g. DoSomething
    wsdl_namespace: str  # urn:riv:...:DoSomething:1:rivtabp21
    responder_namespace: str  # urn:riv:...:DoSomethingResponder:1
    profile: str  # RIVTABP21
    version: str  # 1.0
    wsdl_file: str  # package-relative path
    responder_file: str | None
    request_element: str
    response_element: str
    soap_action: str | None
    package: ContractPackage = field(repr=False)

    @property
    def domain(self) -> str:
        """The contract domain from the namespace, e.g. ``clinicalprocess:activity:request``."""
        parts = self.wsdl_namespace.split(":")
        return ":".join(parts[2:-3])

    @property
    def wsdl_path(self) -> str:
        """The URL path the real platform serves the WSDL on."""
        parts = self.wsdl_namespace.split(":")
        return "/vp/" + "/".join(parts[2:]).replace("::", "/")

    @property
    def wsdl_dir(self) -> str:
        return posixpath.dirname(self.wsdl_file)


@dataclass
class ContractPackage:
    source: str
    root: Path  # materialised folder holding schemas/
    interactions: list[Interaction]
    repairs: list[PatternRepair]
    files: list[str]

    def file_path(self, relative: str) -> Path:
        return self.root / relative

    def read(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()


PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # mockplatform/: packages under it are built in


def is_builtin(package: ContractPackage) -> bool:
    """A package that ships inside mockplatform (a domain's), rather than one the user loaded."""
    return Path(package.source).resolve().is_relative_to(PACKAGE_ROOT)


def load_package(source: str | Path, workdir: Path | None = None) -> ContractPackage:
    """Load a release package from a folder or a zip; raise ContractPackageError naming the file."""
    source = Path(source)
    if not source.exists():
        raise UnreadableFile(f"{source}: no such contract package (file or folder)")
    owned = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="mockplatform-contracts-")) if owned else workdir
    try:
        package = _materialise(source, workdir)
    except BaseException:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    if owned:  # the private copy lives as long as the package object
        weakref.finalize(package, shutil.rmtree, str(workdir), True)
    return package


def _materialise(source: Path, workdir: Path) -> ContractPackage:
    if source.is_dir():
        base = _find_schemas_parent_dir(source)
        shutil.copytree(base / "schemas", workdir / "schemas", dirs_exist_ok=True)
    elif zipfile.is_zipfile(source):
        _extract_zip(source, workdir)
    else:
        raise ContractPackageError(f"{source}: neither a folder nor a zip file")
    files = sorted(p.relative_to(workdir).as_posix() for p in workdir.rglob("*") if p.is_file())
    if not any(f.startswith("schemas/interactions/") and f.lower().endswith(".wsdl") for f in files):
        raise ContractPackageError(
            f"{source}: no schemas/interactions/*/*.wsdl found; is this a RIVTA release package?"
        )
    repairs = []
    for rel in files:
        if rel.lower().endswith(".xsd"):
            repairs += _repair_patterns(workdir, rel)
    interactions: list[Interaction] = []
    package = ContractPackage(str(source), workdir, interactions, repairs, files)
    for rel in files:
        if rel.startswith("schemas/interactions/") and rel.lower().endswith(".wsdl"):
            interactions.append(_read_interaction(package, rel))
    return package


def _find_schemas_parent_dir(folder: Path) -> Path:
    if (folder / "schemas").is_dir():
        return folder
    for candidate in sorted(folder.rglob("schemas")):
        if candidate.is_dir() and (candidate / "interactions").is_dir():
            return candidate.parent
    raise ContractPackageError(f"{folder}: no 'schemas' folder with 'interactions' inside")


def _extract_zip(source: Path, workdir: Path) -> None:
    with zipfile.ZipFile(source) as zf:
        names = zf.namelist()
        prefix = None
        for name in names:
            idx = name.find("schemas/interactions/")
            if idx >= 0:
                prefix = name[:idx]
                break
        if prefix is None:
            raise ContractPackageError(f"{source}: the zip holds no schemas/interactions/ folder")
        total = 0
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(prefix + "schemas/"):
                continue
            rel = posixpath.normpath(info.filename[len(prefix):])
            if rel.startswith("..") or rel.startswith("/"):
                raise ContractPackageError(f"{source}: unsafe path in zip: {info.filename}")
            total += info.file_size
            if total > MAX_PACKAGE_BYTES:
                raise ContractPackageError(f"{source}: unpacks to more than {MAX_PACKAGE_BYTES} bytes")
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))


def _repair_patterns(root: Path, rel: str) -> list[PatternRepair]:
    path = root / rel
    try:
        tree = parse_file(path)
    except etree.XMLSyntaxError as exc:
        raise ContractPackageError(f"{rel}: not well-formed XML: {exc}") from None
    except UnsafeXMLError as exc:
        raise ContractPackageError(f"{rel}: {exc}") from None
    repairs = []
    for pattern in tree.iter(f"{{{ns.XSD}}}pattern"):
        value = pattern.get("value", "")
        if value.startswith("^") or (value.endswith("$") and not value.endswith("\\$")):
            fixed = value[1:] if value.startswith("^") else value
            if fixed.endswith("$") and not fixed.endswith("\\$"):
                fixed = fixed[:-1]
            pattern.set("value", fixed)
            owner = next(
                (a.get("name") for a in pattern.iterancestors() if a.get("name")), "(anonymous type)"
            )
            repairs.append(PatternRepair(rel, owner, value, fixed))
    if repairs:
        tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return repairs


def _read_interaction(package: ContractPackage, rel: str) -> Interaction:
    try:
        tree = parse_file(package.root / rel)
    except etree.XMLSyntaxError as exc:
        raise ContractPackageError(f"{package.source}: {rel}: not well-formed XML: {exc}") from None
    except UnsafeXMLError as exc:
        raise ContractPackageError(f"{package.source}: {rel}: {exc}") from None
    defs = tree.getroot()
    wsdl_ns = defs.get("targetNamespace", "")
    parts = wsdl_ns.split(":")
    if len(parts) < 5 or not parts[-1].lower().startswith("rivtabp"):
        raise ContractPackageError(
            f"{package.source}: {rel}: targetNamespace '{wsdl_ns}' is not of the form "
            "urn:riv:<domain>:<Name>:<major>:rivtabpNN"
        )
    name = parts[-3]
    nsmap = {"wsdl": ns.WSDL, "xs": ns.XSD, "soap": ns.WSDL_SOAP}
    # The responder namespace: the element of the request message's body part.
    responder_ns, request_el, response_el = None, name, name + "Response"
    for message in defs.findall("wsdl:message", nsmap):
        for part in message.findall("wsdl:part", nsmap):
            element = part.get("element", "")
            if ":" not in element:
                continue
            prefix, local = element.split(":", 1)
            uri = part.nsmap.get(prefix)
            if uri and uri != ns.REGISTRY and local == name:
                responder_ns, request_el = uri, local
            elif uri and uri != ns.REGISTRY and local == name + "Response":
                response_el = local
    if responder_ns is None:
        raise ContractPackageError(f"{package.source}: {rel}: no request message part with element '{name}'")
    responder_file = None
    wsdl_dir = posixpath.dirname(rel)
    for imp in defs.iter(f"{{{ns.XSD}}}import"):
        if imp.get("namespace") == responder_ns and imp.get("schemaLocation"):
            responder_file = posixpath.normpath(posixpath.join(wsdl_dir, imp.get("schemaLocation")))
    if responder_file is None or responder_file not in package.files:
        raise ContractPackageError(
            f"{package.source}: {rel}: the responder schema for {responder_ns} is not imported or not in the package"
        )
    soap_action = None
    op = defs.find("wsdl:binding/wsdl:operation/soap:operation", nsmap)
    if op is not None:
        soap_action = op.get("soapAction")
    m = _VERSION_IN_NAME.search(rel)
    version = f"{m.group(1)}.{m.group(2)}" if m else parts[-2]
    return Interaction(
        name=name,
        wsdl_namespace=wsdl_ns,
        responder_namespace=responder_ns,
        profile=parts[-1].upper(),
        version=version,
        wsdl_file=rel,
        responder_file=responder_file,
        request_element=request_el,
        response_element=response_el,
        soap_action=soap_action,
        package=package,
    )
