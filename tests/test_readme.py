"""The README's examples, parsed and run: every TOML and XML example parses (a TAK example loads through
the TAK loader), the AddMessage example is schema-valid and keeps the 1177 rules, the zeep and pytest
plugin examples run, commands follow one convention, and what the README promises about installing
and skipping holds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mockplatform import xmlsafe
from mockplatform.app import Application, Config
from mockplatform.domains.inbox1177 import docbook
from mockplatform.envelope import read_answer
from mockplatform.http_routes import handle
from mockplatform.messages import Request
from mockplatform.tak_files import load_tak
from mockplatform.verification import judge_exchanges, load_description

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^[ ]*```(\w*)\n(.*?)^[ ]*```", re.M | re.S)
HEREDOC = re.compile(r"<<'EOF'\n(.*?)^EOF$", re.M | re.S)
ADD_MESSAGE_NS = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"


def blocks(language: str) -> list[str]:
    return [m[2] for m in FENCE.finditer(README) if m[1] == language]


def xml_examples() -> list[str]:
    """The ```xml blocks and the XML a shell example sends from a here-document."""
    return blocks("xml") + [doc for sh in blocks("sh") for doc in HEREDOC.findall(sh)]


def block_with(language: str, needle: str) -> str:
    found = [b for b in blocks(language) if needle in b]
    assert len(found) == 1, f"one ```{language} block with {needle!r} in the README, found {len(found)}"
    return found[0]


def add_message_example() -> str:
    found = [x for x in xml_examples() if "<AddMessageToPatientPortalInbox" in x]
    assert len(found) == 1
    return found[0]


# -- TOML -----------------------------------------------------------------------------------------


def test_every_toml_example_parses_and_the_tak_and_description_ones_load(tmp_path):
    examples = blocks("toml")
    assert len(examples) >= 3
    kinds = set()
    for text in examples:
        data = tomllib.loads(text)
        if "route" in data:  # a TAK file: through the loader, with the export it imports beside it
            kinds.add("tak")
            for name in data.get("import", []):
                (tmp_path / name).write_text(json.dumps({"data": {}}), encoding="utf-8")
            (tmp_path / "tak.toml").write_text(text, encoding="utf-8")
            tak, timeouts = load_tak(tmp_path / "tak.toml")
            assert tak.routes and tak.authorisations
            if any(r.address == "builtin:generic" for r in tak.routes):  # routes to the generic producer
                assert not timeouts and "import" not in data
                continue
            assert timeouts == {ADD_MESSAGE_NS.lower(): 10000}  # `import` is not taken into this table
            assert data["import"] == ["tak-export.json"]
        elif "system_name" in data:  # the protocol description
            kinds.add("description")
            (tmp_path / "protocol.toml").write_text(text, encoding="utf-8")
            assert load_description(tmp_path / "protocol.toml").system_name == data["system_name"]
        elif "project" in data:  # a domain's entry point
            kinds.add("entry point")
            assert data["project"]["entry-points"]["mockplatform.domains"]
    assert kinds == {"tak", "description", "entry point"}


# -- XML ------------------------------------------------------------------------------------------


def test_every_xml_example_parses():
    examples = xml_examples()
    assert len(examples) >= 2
    for text in examples:
        root = xmlsafe.parse(text.encode("utf-8"))
        assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"


def _post(app: Application, body: str) -> bytes:
    request = Request(method="POST", path="/vp", headers=[("Content-Type", "text/xml; charset=UTF-8"),
                                                          ("x-vp-sender-id", "SE2321000016-7XQA")],
                      body=body.encode("utf-8"), query={}, client="127.0.0.1:1")
    response = handle(app, request)
    assert response.status == 200, response.body.decode()
    return response.body


def test_the_add_message_example_is_valid_docbook_and_keeps_the_1177_rules(tmp_path):
    """The IsActiveUser and AddMessage examples, as curl sends them: the schema-validating inbox answers OK,
    the DocBook is inside the 1177 subset, and the rule profile finds nothing, not even a warning."""
    example = add_message_example()
    text = xmlsafe.parse(example.encode()).findtext(".//{urn:riv:infrastructure:eservicesupply:patientportal:1}"
                                                    "messageText")
    assert docbook.is_docbook(text) and docbook.check(text) == []
    assert {"article", "info", "title", "section", "para", "ulink", "variablelist", "varlistentry", "term",
            "listitem"} <= {el.tag for el in xmlsafe.parse(text.encode()).iter()}
    is_active_user = next(x for x in xml_examples() if "<IsActiveUser " in x)
    app = Application(Config(journal=tmp_path / "journal.sqlite"))
    try:
        assert read_answer(_post(app, is_active_user)).child_text("status") == "true"
        answer = read_answer(_post(app, example))
        assert answer.child_text("resultCode") == "OK"
        assert answer.child_text("messageThreadId") == "kallelse-2026-0042"
        assert [n.text for n in answer.children_named("notificationSent")] == ["SMS", "Email"]
        assert judge_exchanges(app.journal.exchanges(), app.fixtures, app.contracts) == []
    finally:
        app.close()
    curl = block_with("sh", "@add-message.xml")
    assert "--data-binary @add-message.xml" in curl and "saved as `add-message.xml`" in README


# -- Python ---------------------------------------------------------------------------------------


def test_the_zeep_example_runs_against_the_platform(platform):
    code = block_with("python", "import zeep").replace("http://127.0.0.1:8080", platform.url)
    exec(compile(code, "README.md (zeep example)", "exec"), {})
    sent = [e for e in platform.app.journal.exchanges() if e.contract == ADD_MESSAGE_NS]
    assert len(sent) == 1 and sent[0].http_status == 200


def test_the_zeep_header_forms_the_readme_names(platform):
    """A dict works (the README's form); a list of strings fails as the README says; a list of lxml
    elements works."""
    import zeep
    from lxml.builder import E

    client = zeep.Client(platform.url + "/vp/infrastructure/eservicesupply/patientportal/IsActiveUser/1/"
                                        "rivtabp21?wsdl")
    call = client.service.IsActiveUser
    assert call(subjectOfCareId="191212121212", _soapheaders={"LogicalAddress": "SE5565594230-1177"}).status
    with pytest.raises(ValueError, match="Invalid value given to _soapheaders"):
        call(subjectOfCareId="191212121212", _soapheaders=["SE5565594230-1177"])
    element = E("{urn:riv:itintegration:registry:1}LogicalAddress", "SE5565594230-1177")
    assert call(subjectOfCareId="191212121212", _soapheaders=[element]).status
    assert "fails with `Invalid value given to _soapheaders`" in README


def test_the_testdata_example_runs():
    exec(compile(block_with("python", "faker_sv(seed=42)"), "README.md (test data example)", "exec"), {})


MY_INBOX_CLIENT = '''
from xml.sax.saxutils import escape

import requests


class MyInboxClient:
    """The consumer the README's plugin examples test: sends AddMessage, retries a VP009 once."""

    def __init__(self, vp_url, logical_address):
        self.vp_url, self.logical_address = vp_url, logical_address

    def send(self, pnr, heading, text):
        body = (
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
            f'<LogicalAddress xmlns="urn:riv:itintegration:registry:1">{self.logical_address}</LogicalAddress>'
            '</s:Header><s:Body><AddMessageToPatientPortalInbox xmlns="urn:riv:infrastructure:eservicesupply:'
            'patientportal:AddMessageToPatientPortalInboxResponder:1" xmlns:c="urn:riv:infrastructure:'
            f'eservicesupply:patientportal:1"><subjectOfCareId>{pnr}</subjectOfCareId><message>'
            '<c:organisationUnit><c:unitId>SE2321000016-A1B2</c:unitId><c:unitName>Exempelby</c:unitName>'
            f'</c:organisationUnit><c:messageDescription>{escape(heading)}</c:messageDescription>'
            f'<c:messageText>{escape(text)}</c:messageText></message><sourceSystem>SE2321000016-7XQA'
            '</sourceSystem></AddMessageToPatientPortalInbox></s:Body></s:Envelope>').encode()
        for _ in range(2):
            answer = requests.post(self.vp_url, data=body, timeout=30, headers={
                "Content-Type": "text/xml; charset=UTF-8", "x-vp-sender-id": "SE2321000016-7XQA"})
            if "VP009" not in answer.text:
                return answer
        return answer
'''


def test_the_pytest_plugin_examples_run(pytester):
    """The README's plugin examples, as written, with a small MyInboxClient: the threaded and the in-process
    fixture (the same API), and a test that shares its own responses mock with the platform."""
    pytester.makepyfile(my_inbox_client=MY_INBOX_CLIENT)
    fixtures = block_with("python", "def test_without_a_socket(mockplatform_inprocess)")
    shared = block_with("python", "def test_with_my_own_mocks(mockplatform_app)")
    assert "..." not in fixtures.replace("Välkommen ...", "") + shared.replace("Välkommen ...", "")
    header = "from my_inbox_client import MyInboxClient\n"
    pytester.makepyfile(test_readme_fixtures=header + fixtures, test_readme_shared=header + shared)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


pytest_plugins = ["pytester"]


# -- what the README promises ---------------------------------------------------------------------


_TOOLS = re.compile(r"(?:mockplatform|tox|pip|python3?|pytest|ruff)\b")


def test_commands_are_written_one_way_with_the_virtualenv_path():
    """Every command of ours (mockplatform, pip, tox, python, pytest, ruff), in a shell example or inline,
    is written .venv/bin/<command>; only the command that makes the virtualenv uses the system python3."""
    wrong = []
    for sh in blocks("sh"):
        for line in sh.splitlines():
            for command in re.split(r"&&|\|\||;|\|", line.split(" #")[0]):
                command = command.strip()
                if _TOOLS.match(command) and not command.startswith("python3 -m venv .venv"):
                    wrong.append(command)
    outside = FENCE.sub("", README)
    wrong += [span for span in re.findall(r"`([^`\n]+)`", outside) if _TOOLS.match(span) and " " in span]
    assert wrong == []
    assert "with the virtualenv of step 1 in `.venv`" in README


def test_the_plugin_is_installed_with_an_extra_that_brings_what_it_needs():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {extra: {re.split(r"[<>=\[ ]", r)[0] for r in reqs} for extra, reqs in extras.items()}
    assert {"pytest", "requests", "responses"} <= names["pytest"]
    assert "zeep" in names["zeep"]
    plugin = README[README.index("### The pytest plugin"):]
    assert "installs neither pytest nor requests" in plugin[:400] and "[pytest,zeep]" in plugin[:800]


def test_a_machine_without_chromium_says_why_the_browser_tests_are_skipped(tmp_path):
    """The README names the packages, and the test summary names the reason (-rs in the pytest options)."""
    assert "apt-get install chromium chromium-driver" in README
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"][
        "addopts"]
    chars = re.search(r"-r\s*(\w+)", addopts)[1]
    assert set("fEs") <= set(chars)  # -r replaces the default fE: failures and errors stay in the summary
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_browser.py", "-p", "no:cacheprovider",
                             "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/nonexistent", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"SKIPPED \[\d+\] tests/test_browser.py.*browser tests: no (Chromium|chromedriver) on PATH "
                     r"\(Debian: apt-get install chromium chromium-driver\)", result.stdout), result.stdout
