"""Reading a RIVTA release package, unpacked or as the zip, in the official layout.

    schemas/core_components/<domain>_<m.n>.xsd
    schemas/interactions/<Op>Interaction/<Op>Interaction_<m.n>_RIVTABP21.wsdl
    schemas/interactions/<Op>Interaction/<Op>Responder_<m.n>.xsd

Published patterns written as ``^...$`` are repaired on load (in XML Schema, ``^`` and ``$`` are
literal characters, so such a facet rejects every real value); each repair is reported.
A package is materialised into a private folder so that lxml and xmlschema both read plain
files and never the network.

A package loads whole or not at all: every file must be well-formed, every ``schemaLocation`` must name a
file of the package, and every message, portType, binding and element a WSDL refers to must be there (the
schemas are compiled when the package is registered, ``ContractRegistry.add``). Anything wrong is a
ContractPackageError naming the package, the file in it, the line and what to do; ``package_error`` and
``xml_error`` are the one place where lxml's errors on a package file become one.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
import time
import weakref
import zipfile
from collections.abc import Sequence
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
    line: int | None = None  # the xs:pattern's line in the file (the repaired copy keeps every line where it was)

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.type_name}: pattern '{self.before}' repaired to '{self.after}'"


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
    if owned:
        _sweep_left_behind()
    workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-")) if owned else workdir
    try:
        package = _materialise(source, workdir)
    except BaseException:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    if owned:  # the private copy lives as long as the package object
        weakref.finalize(package, shutil.rmtree, str(workdir), True)
    return package


_WORKDIR_PREFIX = "mockplatform-contracts-"  # + the process id + "-": whose copy it is
_swept = False


def _sweep_left_behind() -> None:
    """Remove the private copies of processes that are gone (killed, so their copies were never removed), once
    per process: they would pile up in the temporary folder. A copy from before the process id was in its name
    goes when it is a day old."""
    global _swept
    if _swept:
        return
    _swept = True
    for folder in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*"):
        pid = folder.name[len(_WORKDIR_PREFIX):].split("-", 1)[0]
        try:
            if pid.isdigit():
                if int(pid) == os.getpid() or _alive(int(pid)):
                    continue
            elif time.time() - folder.stat().st_mtime < 86400:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


FIX_FILE = "correct the file, or ask the package's publisher for a corrected release"
_AT_LINE = re.compile(r",? line \d+, column \d+$")
_UNRESOLVED = re.compile(r"^(?P<owner_kind>[\w. ]+?)\s*'(?P<owner>[^']*)', attribute '(?P<attribute>[\w:]+)': "
                         r"The QName value '(?P<name>[^']*)' does not resolve to a\(n\) (?P<kind>[\w ]+?) "
                         r"definition\.?$")


def package_error(source: str | Path, rel: str, line: int | None, problem: str,
                  todo: str = FIX_FILE) -> ContractPackageError:
    """The error for a problem in one file of a package: the package, the file in it, the line, what is wrong
    and what to do, in one line."""
    where = f"{rel}, line {line}" if line else rel
    return ContractPackageError(f"contract package {source}: {where}: {problem}" + (f": {todo}" if todo else ""))


def _local(qname: str) -> str:
    return qname.split("}", 1)[1] if qname.startswith("{") and "}" in qname else qname


def _in_plain_words(message: str) -> str:
    """libxml2's words for the commonest schema mistake, a name that refers to nothing, said plainly; any
    other message as libxml2 says it."""
    message = _AT_LINE.sub("", message.strip())
    found = _UNRESOLVED.match(message)
    if found:
        owner = found["owner_kind"].replace(" decl.", "").strip()
        namespace = found["name"][1:].split("}", 1)[0] if found["name"].startswith("{") else ""
        return (f"the {owner} '{_local(found['owner'])}' names the {found['kind']} '{_local(found['name'])}' "
                f"({found['attribute']}=)" + (f" in namespace {namespace}" if namespace else "")
                + ", which neither this schema nor a schema it imports defines")
    return message


def xml_error(source: str | Path, root: Path, rel: str, exc: etree.LxmlError,
              repairs: Sequence[PatternRepair] = ()) -> ContractPackageError:
    """lxml's error about a package file (not well-formed; a schema that does not compile) as a package_error.
    A schema's error log names the file the problem is in (an imported one, perhaps) and its line: those are
    said, relative to the package, rather than ``rel``, the file that was being read. A pattern the package's
    ``repairs`` changed is quoted as the file writes it, not as repaired."""
    line = getattr(exc, "lineno", None)
    if isinstance(exc, etree.XMLSyntaxError):
        return package_error(source, rel, line, f"not well-formed XML: {_AT_LINE.sub('', str(exc.msg or exc))}")
    entries = [e for e in getattr(exc, "error_log", []) if e.level >= etree.ErrorLevels.ERROR]
    if not entries:
        return package_error(source, rel, line, f"the schema does not compile: {_in_plain_words(str(exc))}")
    first = entries[0]
    try:
        where = Path(first.filename).resolve().relative_to(root.resolve()).as_posix()
    except (TypeError, ValueError):
        where = rel
    more = f" (and {len(entries) - 1} more problem(s) after it)" if len(entries) > 1 else ""
    problem = f"the schema does not compile: {_as_written(_in_plain_words(first.message), where, first.line, repairs)}"
    problem += more
    if where != rel:
        problem += f" (found compiling {rel})"
    return package_error(source, where, first.line or None, problem)


def _as_written(message: str, rel: str, line: int | None, repairs: Sequence[PatternRepair]) -> str:
    """libxml2's message about a pattern the platform repaired, with the value the file holds."""
    for repair in repairs:
        if repair.file == rel and repair.line == line and f"'{repair.after}'" in message:
            return (message.replace(f"'{repair.after}'", f"'{repair.before}'", 1).rstrip(".")
                    + f" (nor without its ^ and $, '{repair.after}', as the platform reads a published pattern: "
                    "XML Schema takes ^ and $ as ordinary characters)")
    return message


def _parse(source: str | Path, root: Path, rel: str) -> etree._ElementTree:
    try:
        return parse_file(root / rel)
    except etree.XMLSyntaxError as exc:
        raise xml_error(source, root, rel, exc) from None
    except UnsafeXMLError as exc:
        raise package_error(source, rel, None, str(exc)) from None


_LOCATIONS = ((f"{{{ns.XSD}}}import", "schemaLocation"), (f"{{{ns.XSD}}}include", "schemaLocation"),
              (f"{{{ns.XSD}}}redefine", "schemaLocation"), (f"{{{ns.WSDL}}}import", "location"))


def _check_locations(source: str | Path, rel: str, tree: etree._ElementTree, files: set[str]) -> None:
    """Every file the file imports or includes by a relative location is in the package (an import libxml2
    cannot find is skipped with a warning, and the schema fails later on a type it no longer knows)."""
    here = posixpath.dirname(rel)
    for tag, attribute in _LOCATIONS:
        for element in tree.iter(tag):
            location = element.get(attribute)
            if not location or "://" in location:
                continue
            target = posixpath.normpath(posixpath.join(here, location))
            if target not in files:
                what = etree.QName(element).localname
                namespace = element.get("namespace")
                of = f" of namespace {namespace}" if namespace else ""
                raise package_error(source, rel, element.sourceline,
                                    f"the {what}{of} names {attribute} '{location}', which is not in the package "
                                    f"(no file {target})",
                                    f"add that file to the package, or correct the {attribute}")


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
    repairs: list[PatternRepair] = []
    declared: dict[str, set[str]] = {}  # target namespace -> the elements the package's schemas declare in it
    for rel in files:
        if rel.lower().endswith(".xsd"):
            tree = _parse(source, workdir, rel)
            _check_locations(source, rel, tree, set(files))
            root = tree.getroot()
            names = declared.setdefault(root.get("targetNamespace", ""), set())
            names.update(e.get("name") for e in root.findall(f"{{{ns.XSD}}}element") if e.get("name"))
            repairs += _repair_patterns(workdir, rel, tree)
    interactions: list[Interaction] = []
    package = ContractPackage(str(source), workdir, interactions, repairs, files)
    for rel in files:
        if rel.startswith("schemas/interactions/") and rel.lower().endswith(".wsdl"):
            interactions.append(_read_interaction(package, rel, declared))
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


def _unanchored(value: str) -> str:
    """A pattern without the ``^`` and ``$`` it was published with (in XML Schema they are literal characters)."""
    fixed = value[1:] if value.startswith("^") else value
    if fixed.endswith("$") and not fixed.endswith("\\$"):
        fixed = fixed[:-1]
    return fixed


def _anchored(value: str) -> bool:
    return value.startswith("^") or (value.endswith("$") and not value.endswith("\\$"))


def _repair_patterns(root: Path, rel: str, tree: etree._ElementTree) -> list[PatternRepair]:
    """Repair the file's ``^...$`` patterns in the private copy, each edited where it stands in the text (so a
    schema error found later names the line the user's file has), and report each repair."""
    path = root / rel
    repairs = []
    for pattern in tree.iter(f"{{{ns.XSD}}}pattern"):
        value = pattern.get("value", "")
        if _anchored(value):
            fixed = _unanchored(value)
            pattern.set("value", fixed)
            owner = next(
                (a.get("name") for a in pattern.iterancestors() if a.get("name")), "(anonymous type)"
            )
            repairs.append(PatternRepair(rel, owner, value, fixed, pattern.sourceline))
    if repairs and not _repair_in_place(path, tree.docinfo.encoding or "UTF-8", repairs):
        tree.write(str(path), xml_declaration=True, encoding="UTF-8")  # lines may move: said as they are then
    return repairs


_PATTERN_TAG = re.compile(r"""<(?:[\w.-]+:)?pattern\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_VALUE = re.compile(r"""\bvalue\s*=\s*(["'])(.*?)\1""", re.DOTALL)


def _repair_in_place(path: Path, encoding: str, repairs: list[PatternRepair]) -> bool:
    """Drop each repaired pattern's ``^`` and ``$`` in the file's text, in the xs:pattern whose start tag ends on
    its line (lxml's ``sourceline``), leaving every other character, and so every line, as it was; False when a
    pattern is not found as expected there (its value written with character references, say): then nothing is
    changed."""
    try:
        text = path.read_bytes().decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False
    by_line: dict[int, list[tuple[int, int, str]]] = {}  # line of the tag's '>' -> each value's span and text
    for tag in _PATTERN_TAG.finditer(text):
        value = _VALUE.search(tag[0])
        if value is not None:
            line = text.count("\n", 0, tag.end() - 1) + 1
            by_line.setdefault(line, []).append((tag.start() + value.start(2), tag.start() + value.end(2), value[2]))
    edits: list[tuple[int, int, str]] = []
    for repair in repairs:
        found = next((v for v in by_line.get(repair.line or 0, []) if v[2] == repair.before and v not in edits), None)
        if found is None:  # not as written (escaped), or not where lxml says: leave it to the parsed tree
            return False
        edits.append(found)
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + _unanchored(value) + text[end:]
    path.write_bytes(text.encode(encoding))
    return True


def _read_interaction(package: ContractPackage, rel: str, declared: dict[str, set[str]]) -> Interaction:
    tree = _parse(package.source, package.root, rel)
    _check_locations(package.source, rel, tree, set(package.files))
    _check_wsdl_references(package.source, rel, tree.getroot(), declared)
    defs = tree.getroot()
    wsdl_ns = defs.get("targetNamespace", "")
    parts = wsdl_ns.split(":")
    if len(parts) < 5 or not parts[-1].lower().startswith("rivtabp"):
        raise package_error(package.source, rel, defs.sourceline,
                            f"targetNamespace '{wsdl_ns}' is not of the form urn:riv:<domain>:<Name>:<major>:rivtabpNN")
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
        raise package_error(package.source, rel, None, f"no request message part with element '{name}' (the "
                            "interaction's name, from the targetNamespace)")
    responder_file = None
    wsdl_dir = posixpath.dirname(rel)
    for imp in defs.iter(f"{{{ns.XSD}}}import"):
        if imp.get("namespace") == responder_ns and imp.get("schemaLocation"):
            responder_file = posixpath.normpath(posixpath.join(wsdl_dir, imp.get("schemaLocation")))
    if responder_file is None or responder_file not in package.files:
        raise package_error(package.source, rel, None, f"the responder schema for {responder_ns} is not imported "
                            "with a schemaLocation in wsdl:types", "add an xs:import of it")
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


def _check_wsdl_references(source: str, rel: str, defs: etree._Element, declared: dict[str, set[str]]) -> None:
    """Every message, part, portType and binding the WSDL names is one it defines, and every element a message
    part names is declared by a schema of the package in a namespace the WSDL imports: else a SOAP toolkit
    cannot build a client from it, and the platform would serve it as if it could."""
    tns = defs.get("targetNamespace", "")
    wsdl = f"{{{ns.WSDL}}}"
    defined: dict[str, dict[str, etree._Element]] = {
        kind: {e.get("name", ""): e for e in defs.findall(wsdl + kind)} for kind in ("message", "portType", "binding")
    }
    imported = {e.get("namespace") for e in defs.iterfind(f"{wsdl}types/{{{ns.XSD}}}schema/{{{ns.XSD}}}import")}
    declared = {uri: set(names) for uri, names in declared.items()}
    for inline in defs.iterfind(f"{wsdl}types/{{{ns.XSD}}}schema"):  # a schema written in the WSDL itself
        imported.add(inline.get("targetNamespace"))
        declared.setdefault(inline.get("targetNamespace", ""), set()).update(
            e.get("name") for e in inline.findall(f"{{{ns.XSD}}}element") if e.get("name"))

    def resolve(element: etree._Element, attribute: str) -> tuple[str | None, str, str]:
        value = element.get(attribute, "")
        prefix, _, local = value.rpartition(":")
        uri = element.nsmap.get(prefix or None)
        if prefix and uri is None:
            raise package_error(source, rel, element.sourceline,
                                f"{attribute}='{value}' uses the prefix '{prefix}', which is not declared",
                                f"declare xmlns:{prefix} or correct the {attribute}")
        return uri, local, value

    def expect(element: etree._Element, attribute: str, kind: str, what: str) -> etree._Element:
        uri, local, value = resolve(element, attribute)
        found = defined[kind].get(local) if uri == tns else None
        if found is None:
            known = ", ".join(sorted(defined[kind])) or "none"
            raise package_error(source, rel, element.sourceline,
                                f"{what} names the {kind} '{value}', which this WSDL does not define "
                                f"(its {kind}s: {known})", f"correct the name, or add the {kind} '{local}'")
        return found

    for operation in defs.iterfind(f"{wsdl}portType/{wsdl}operation"):
        for step in operation:
            if step.tag in (wsdl + "input", wsdl + "output", wsdl + "fault"):
                expect(step, "message", "message",
                       f"the {etree.QName(step).localname} of operation '{operation.get('name')}'")
    for binding in defs.findall(wsdl + "binding"):
        expect(binding, "type", "portType", f"binding '{binding.get('name')}'")
        for header in binding.iter(f"{{{ns.WSDL_SOAP}}}header"):
            message = expect(header, "message", "message", "a soap:header")
            parts = [p.get("name") for p in message.findall(wsdl + "part")]
            if header.get("part") not in parts:
                raise package_error(source, rel, header.sourceline,
                                    f"a soap:header names the part '{header.get('part')}' of message "
                                    f"'{message.get('name')}', which has the parts: {', '.join(parts) or 'none'}",
                                    "correct the part")
    for port in defs.iterfind(f"{wsdl}service/{wsdl}port"):
        expect(port, "binding", "binding", f"port '{port.get('name')}'")
    for part in defs.iterfind(f"{wsdl}message/{wsdl}part"):
        if part.get("element") is None:
            continue
        uri, local, value = resolve(part, "element")
        message = part.getparent().get("name")
        if uri not in imported:
            raise package_error(source, rel, part.sourceline,
                                f"part '{part.get('name')}' of message '{message}' names the element '{value}' in "
                                f"namespace {uri}, which wsdl:types does not import",
                                "add an xs:import of that namespace's schema to wsdl:types")
        if local not in declared.get(uri or "", set()):
            known = ", ".join(sorted(declared.get(uri or "", set()))) or "none"
            raise package_error(source, rel, part.sourceline,
                                f"part '{part.get('name')}' of message '{message}' names the element '{value}', "
                                f"which no schema of the package declares in namespace {uri} (declared there: "
                                f"{known})", "correct the element, or add its declaration to the schema")
