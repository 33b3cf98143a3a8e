"""Broken contract packages and response templates are refused at start: one error naming the file (its path in
the package) and the problem in plain words, exit code 2, no traceback, nothing half-loaded (no journal made or
changed, nothing listening, nothing of the package registered).

Each broken package is the built-in inbox package, copied and then broken in one place, as a folder or a zip."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mockplatform.cli import main
from mockplatform.contracts import ContractRegistry, load_package
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.domains.inbox1177.names import IS_ACTIVE_USER_NS
from mockplatform.errors import ContractPackageError
from mockplatform.journal import Journal

INTERACTIONS = "schemas/interactions"
CORE_XSD = "schemas/core_components/infrastructure_eservicesupply_patientportal_1.0.xsd"
ACTIVE_WSDL = f"{INTERACTIONS}/IsActiveUserInteraction/IsActiveUserInteraction_1.0_RIVTABP21.wsdl"
ACTIVE_XSD = f"{INTERACTIONS}/IsActiveUserInteraction/IsActiveUserResponder_1.0.xsd"
ADD_XSD = f"{INTERACTIONS}/AddMessageToPatientPortalInboxInteraction/AddMessageToPatientPortalInboxResponder_1.0.xsd"
RESPONDER = IS_ACTIVE_USER_NS


def edit(folder: Path, rel: str, old: str, new: str) -> int:
    """Replace ``old`` (once) in the package's file; the line the change is on."""
    path = folder / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def line_of(folder: Path, rel: str, text: str) -> int:
    """The line of the package's file that ``text`` starts on."""
    whole = (folder / rel).read_text(encoding="utf-8")
    return whole[:whole.index(text)].count("\n") + 1


# name -> (break the copied package, returning the line the error names; the file it names; the problem, a regex)
Breaker = Callable[[Path], int]
BROKEN: dict[str, tuple[Breaker, str, str]] = {
    "an import of a file that is missing": (
        lambda d: edit(d, ACTIVE_XSD, "infrastructure_eservicesupply_patientportal_1.0.xsd", "patientportal_9.9.xsd"),
        ACTIVE_XSD,
        r"the import of namespace urn:riv:infrastructure:eservicesupply:patientportal:1 names schemaLocation "
        r"'../../core_components/patientportal_9.9.xsd', which is not in the package \(no file "
        r"schemas/core_components/patientportal_9.9.xsd\): add that file to the package, or correct the "
        r"schemaLocation$"),
    "the imported file deleted": (
        lambda d: ((d / CORE_XSD).unlink(), line_of(d, ADD_XSD, 'schemaLocation="../../core_components/'))[1],
        ADD_XSD,  # the first file (in the package's order) that imports it
        r"the import of .* names schemaLocation '../../core_components/infrastructure_eservicesupply_patientportal_"
        r"1.0.xsd', which is not in the package"),
    "a WSDL that is not well-formed": (
        lambda d: edit(d, ACTIVE_WSDL, "</wsdl:types>", "</wsdl:type>"),
        ACTIVE_WSDL,
        r"not well-formed XML: Opening and ending tag mismatch: types line 12 and type: correct the file, or ask the "
        r"package's publisher for a corrected release$"),
    "a WSDL naming a message it does not define": (
        lambda d: edit(d, ACTIVE_WSDL, 'message="tjsi:IsActiveUserRequest"/>', 'message="tjsi:IsActiveUserQuery"/>'),
        ACTIVE_WSDL,
        r"the input of operation 'IsActiveUser' names the message 'tjsi:IsActiveUserQuery', which this WSDL does not "
        r"define \(its messages: IsActiveUserRequest, IsActiveUserResponse\): correct the name, or add the message "
        r"'IsActiveUserQuery'$"),
    "a WSDL naming an element no schema declares": (
        lambda d: edit(d, ACTIVE_WSDL, 'element="tjsr:IsActiveUserResponse"', 'element="tjsr:IsActiveUserAnswer"'),
        ACTIVE_WSDL,
        r"part 'parameters' of message 'IsActiveUserResponse' names the element 'tjsr:IsActiveUserAnswer', which no "
        rf"schema of the package declares in namespace {RESPONDER} \(declared there: IsActiveUser, "
        r"IsActiveUserResponse\): correct the element, or add its declaration to the schema$"),
    "a WSDL whose binding names a portType it does not define": (
        lambda d: edit(d, ACTIVE_WSDL, 'type="tjsi:IsActiveUserResponderInterface"', 'type="tjsi:Interface"'),
        ACTIVE_WSDL,
        r"binding 'IsActiveUserResponderBinding' names the portType 'tjsi:Interface', which this WSDL does not "
        r"define"),
    "a schema referring to a type it does not define": (
        lambda d: edit(d, ACTIVE_XSD, 'type="xs:boolean"', 'type="YesNoType"'),
        ACTIVE_XSD,
        rf"the schema does not compile: the element 'status' names the type 'YesNoType' \(type=\) in namespace "
        rf"{RESPONDER}, which neither this schema nor a schema it imports defines: correct the file, or ask the "
        r"package's publisher for a corrected release$"),
    "an imported schema that does not compile": (
        lambda d: (edit(d, CORE_XSD, 'base="xs:string"', 'base="xs:strin"'),
                   line_of(d, CORE_XSD, '<xs:simpleType name="SubjectOfCareIdType">'))[1],  # libxml2 names the type's
        CORE_XSD,  # the file the problem is in, not the one being compiled when it was found
        r"the schema does not compile: the simple type 'SubjectOfCareIdType' names the simple type 'strin' \(base=\) "
        r"in namespace http://www.w3.org/2001/XMLSchema, which neither this schema nor a schema it imports defines "
        r"\(found compiling schemas/interactions/.*Responder_1.0.xsd\)"),
    "a schema that is not well-formed": (
        lambda d: edit(d, ACTIVE_XSD, "</xs:complexType>", "</xs:complexType") + 2,  # where the next tag starts
        ACTIVE_XSD,
        r"not well-formed XML: expected '>': correct the file"),
    "a published ^...$ pattern that does not compile without them either": (
        lambda d: edit(d, CORE_XSD, "[0-9]{8}[0-9pPtTfF][0-9]{3}", "^[0-9]{8}[0-9pPtTfF[0-9]{3}$"),
        CORE_XSD,  # the pattern's line, and its value as the file writes it (not the xs:schema's, nor as repaired)
        r"the schema does not compile: Element '\{http://www.w3.org/2001/XMLSchema\}pattern': The value "
        + re.escape("'^[0-9]{8}[0-9pPtTfF[0-9]{3}$'") + r" of the facet 'pattern' is not a valid regular expression "
        + re.escape("(nor without its ^ and $, '[0-9]{8}[0-9pPtTfF[0-9]{3}', as the platform reads a published "
                    "pattern: XML Schema takes ^ and $ as ordinary characters)") + r" \(found compiling "),
    "a problem below a repaired pattern": (
        lambda d: (edit(d, CORE_XSD, "[0-9]{8}[0-9pPtTfF][0-9]{3}", "^[0-9]{8}[0-9pPtTfF][0-9]{3}$"),
                   edit(d, CORE_XSD, '<xs:extension base="HsaIdType"/>', '<xs:extension base="HsaIdTyp"/>'),
                   line_of(d, CORE_XSD, '<xs:complexType name="OrganisationUnitIdType">'))[2],  # libxml2: the type's
        CORE_XSD,  # line as the file has it: the repair above it moves no line
        r"the schema does not compile: .*'HsaIdTyp'"),
}


def broken_package(folder: Path, case: str) -> tuple[Path, int]:
    """The built-in inbox package copied to ``folder`` and broken as ``case`` says; it and the line broken."""
    shutil.copytree(INBOX_PACKAGE, folder)
    return folder, BROKEN[case][0](folder)


def as_zip(folder: Path, target: Path) -> Path:
    """The package as a release zip: its files under a folder named after the release."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, "ServiceContracts_patientportal_1.0/" + path.relative_to(folder).as_posix())
    return target


def expected(package: Path, case: str, line: int) -> str:
    """The whole error line: the package, the file in it, the line, the problem and what to do."""
    _, rel, problem = BROKEN[case]
    return rf"^mockplatform: contract package {re.escape(str(package))}: {re.escape(rel)}, line {line}: {problem}"


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(BROKEN))
def test_serve_with_a_broken_package_exits_2_naming_file_line_and_problem_with_nothing_loaded(case, tmp_path, capsys):
    package, line = broken_package(tmp_path / "package", case)
    journal = tmp_path / "journal.sqlite"
    code = main(["serve", "--port", "0", "--journal", str(journal), "--contracts", str(package)])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err  # one error, one line, no traceback
    assert re.search(expected(package, case, line), err.strip()), err
    assert "listening" not in out and "contract " not in out  # nothing was served or announced
    assert not journal.exists()


def test_a_broken_zip_is_named_with_the_path_inside_it(tmp_path, capsys):
    case = "a schema referring to a type it does not define"
    folder, line = broken_package(tmp_path / "package", case)
    package = as_zip(folder, tmp_path / "ServiceContracts_patientportal_1.0.zip")
    journal = tmp_path / "journal.sqlite"
    assert main(["serve", "--port", "0", "--journal", str(journal), "--contracts", str(package)]) == 2
    err = capsys.readouterr().err
    assert re.search(expected(package, case, line), err.strip()), err
    assert not journal.exists()


def test_the_real_command_prints_the_error_without_a_traceback_and_leaves_the_journal_as_it_was(tmp_path):
    """As a process: a zip whose WSDL names a message it does not define; an existing journal is not touched."""
    case = "a WSDL naming a message it does not define"
    folder, line = broken_package(tmp_path / "package", case)
    package = as_zip(folder, tmp_path / "broken.zip")
    journal = tmp_path / "journal.sqlite"
    Journal(journal).close()
    before = fingerprint(journal), sorted(p.name for p in tmp_path.iterdir())
    proc = subprocess.run([sys.executable, "-m", "mockplatform", "serve", "--port", "0", "--journal", str(journal),
                           "--contracts", str(package)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert re.search(expected(package, case, line), proc.stderr.strip()), proc.stderr
    assert "listening" not in proc.stdout
    assert (fingerprint(journal), sorted(p.name for p in tmp_path.iterdir())) == before


def test_a_package_whose_second_schema_does_not_compile_registers_nothing():
    """The inbox package's AddMessage compiles, its IsActiveUser does not: neither is registered."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        package, _ = broken_package(Path(scratch) / "package", "a schema referring to a type it does not define")
        registry = ContractRegistry()
        loaded = load_package(package)
        assert [i.name for i in loaded.interactions] == ["AddMessageToPatientPortalInbox", "IsActiveUser"]
        with pytest.raises(ContractPackageError, match="YesNoType"):
            registry.add(loaded)
        assert registry.packages == [] and registry.interactions == []


def test_a_schema_location_outside_the_package_is_refused(tmp_path):
    """A schemaLocation may not leave the package (the file would be read from wherever it points)."""
    package = tmp_path / "package"
    shutil.copytree(INBOX_PACKAGE, package)
    (tmp_path / "elsewhere.xsd").write_text((package / CORE_XSD).read_text(encoding="utf-8"), encoding="utf-8")
    edit(package, ACTIVE_XSD, "../../core_components/infrastructure_eservicesupply_patientportal_1.0.xsd",
         "../../../../elsewhere.xsd")
    with pytest.raises(ContractPackageError, match=r"IsActiveUserResponder_1.0.xsd, line \d+: the import of .* names "
                                                   r"schemaLocation '../../../../elsewhere.xsd', which is not in the "
                                                   r"package \(no file ../elsewhere.xsd\)"):
        load_package(package)


def test_verify_with_a_broken_package_exits_2_with_the_same_error_and_writes_no_protocol(tmp_path, capsys):
    case = "an import of a file that is missing"
    package, line = broken_package(tmp_path / "package", case)
    journal = tmp_path / "journal.sqlite"
    Journal(journal).close()
    out = tmp_path / "protocol"
    code = main(["verify", "--journal", str(journal), "--contracts", str(package), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and re.search(expected(package, case, line), err.strip()), err
    assert not out.exists()


# -- response templates: what tests/test_generic_producer.py does not cover (includes, the file's encoding) ---------

RESPONSE = f'<IsActiveUserResponse xmlns="{IS_ACTIVE_USER_NS}">\n'


@pytest.mark.parametrize(("files", "said"), [
    ({"IsActiveUser.xml": RESPONSE + '{% include "parts/status.inc" %}\n</IsActiveUserResponse>\n'},
     r"IsActiveUser.xml, line 2: TemplateNotFound: 'parts/status.inc' not found"),
    ({"IsActiveUser.xml": RESPONSE + '\n{% include "parts/status.inc" %}\n</IsActiveUserResponse>\n',
      "parts/status.inc": "<status>\n{{ 'true' </status>\n"},
     r"IsActiveUser.xml, line 3: in the included parts/status.inc, line 2: TemplateSyntaxError: unexpected '/'"),
    ({"IsActiveUser.xml": RESPONSE + '{% include "status.inc" %}\n</IsActiveUserResponse>\n',
      "status.inc": "\n\n<status>{{ active }}</status>\n"},
     r"IsActiveUser.xml, line 2: in the included status.inc, line 3: UndefinedError: 'active' is undefined"),
    ({"IsActiveUser.xml": b"<IsActiveUserResponse>\n<status>s\xe4kert</status>\n"},
     r"IsActiveUser.xml, line 2: not UTF-8 text \(byte 0xe4 at offset 32\): save the file as UTF-8"),
    ({"IsActiveUser.xml": RESPONSE + '  <status>{% include "parts/value.inc" %}</status>\n</IsActiveUserResponse>\n',
      "parts/value.inc": "{{ 'maybe' }}"},
     r"IsActiveUser.xml, line 2: in the included parts/value.inc, line 1: the rendered answer is not valid against "
     r"schemas/.*: 'maybe' is not an xs:boolean"),
    ({"IsActiveUser.xml": RESPONSE + '{% include "status.inc" %}\n</IsActiveUserResponse>\n',
      "status.inc": "\n\n  <status>maybe</status>\n"},
     r"IsActiveUser.xml, line 2: in the included status.inc, line 3: the rendered answer is not valid"),
    ({"IsActiveUser.xml": RESPONSE + '{{ "\\n\\n" }}\n  <status>{{ "maybe" }}</status>\n</IsActiveUserResponse>\n'},
     r"IsActiveUser.xml, line 3: the rendered answer is not valid .*'maybe'"),  # line 5 of the answer
    ({"IsActiveUser.xml": "\n"},
     r"IsActiveUser.xml: the template renders nothing: it must render the response element IsActiveUserResponse "
     r"\(in namespace"),
], ids=["an include of a missing file", "a syntax error in an included file", "an undefined name in an included file",
        "a template that is not UTF-8", "a wrong value from an included file", "a wrong element from an included file",
        "a template that prints line breaks of its own", "an empty template"])
def test_a_template_broken_in_a_file_it_includes_or_in_its_encoding_exits_2_naming_both(files, said, tmp_path,
                                                                                         capsys):
    folder = tmp_path / "templates"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            (folder / name).write_bytes(text)
        else:
            (folder / name).write_text(text, encoding="utf-8")
    journal = tmp_path / "journal.sqlite"
    code = main(["serve", "--port", "0", "--journal", str(journal), "--templates", str(folder)])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert re.search(re.escape(str(folder)) + "/" + said, err), err
    assert "Traceback" not in err and "listening" not in out
    assert not journal.exists()
