"""Schema findings in plain words: every violation names its element by plain name, says what is wrong and
how to fix it; none comes without a hint, neither from the rich (xmlschema) pass nor from lxml's own
messages for a request too large for it."""

from __future__ import annotations

import re

import pytest

from mockplatform.contracts import ContractRegistry, load_package
from mockplatform.contracts import validation as validation_module
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, PATIENTPORTAL_CORE
from mockplatform.envelope import read_envelope
from mockplatform.findings import Finding

from . import soap


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    reg = ContractRegistry()
    reg.add(load_package(INBOX_PACKAGE))
    return reg


def findings(registry: ContractRegistry, body: bytes) -> list[Finding]:
    env = read_envelope(body.replace(b"><", b">\n<"))  # one element a line: the lines say something
    return registry.get(env.contract).validator.findings(env.payload)


def one(registry: ContractRegistry, body: bytes) -> Finding:
    found = findings(registry, body)
    assert len(found) == 1, found
    return found[0]


NOTIFY = soap.add_message(notify=True).decode()
TAIL = f"<notify>true</notify><sourceSystem>{soap.SYSTEM_ID}</sourceSystem>"


def test_a_capitalised_boolean_is_told_to_be_written_in_lower_case(registry):
    finding = one(registry, NOTIFY.replace("<notify>true", "<notify>True").encode())
    assert "'True' is not an xs:boolean value" in finding.message_en
    assert finding.hint == "xs:boolean is written in lower case: write 'true', not 'True'"
    assert finding.path == "/AddMessageToPatientPortalInbox/notify"
    assert finding.message_sv != finding.message_en


def test_yes_as_a_boolean_names_the_boolean_values(registry):
    finding = one(registry, NOTIFY.replace("<notify>true", "<notify>yes").encode())
    assert "true or false (or 1 or 0)" in finding.hint


def test_an_element_out_of_order_says_which_comes_before_which(registry):
    swapped = NOTIFY.replace(TAIL, f"<sourceSystem>{soap.SYSTEM_ID}</sourceSystem><notify>true</notify>")
    finding = one(registry, swapped.encode())
    assert "<notify> comes after <sourceSystem>" in finding.message_en
    assert finding.hint.startswith("move <notify> before <sourceSystem>")
    assert "subjectOfCareId, message, notify, sourceSystem" in finding.hint
    assert finding.path == "/AddMessageToPatientPortalInbox/notify"


def test_an_element_sent_too_early_says_what_must_come_before_it(registry):
    message = re.search(r"<message .*</message>", NOTIFY).group(0)
    early = NOTIFY.replace(message, "").replace("<notify>true</notify>", "<notify>true</notify>" + message)
    finding = one(registry, early.encode())
    assert finding.hint.startswith("move <message> before <notify>")


def test_message_children_out_of_order_name_both(registry):
    body = soap.add_message().decode()
    body = body.replace("<c:messageDescription>Kallelse</c:messageDescription>", "").replace(
        "</c:messageText>", "</c:messageText><c:messageDescription>Kallelse</c:messageDescription>")
    finding = one(registry, body.encode())
    assert finding.hint.startswith("move <messageDescription> before <messageText>")
    assert finding.path == "/AddMessageToPatientPortalInbox/message/messageDescription"
    lines = body.replace("><", ">\n<").splitlines()
    assert finding.line == 1 + next(i for i, t in enumerate(lines) if t.startswith("<c:messageDescription>"))
    # the misplaced element's own line, not its parent's


def test_whitespace_around_a_pattern_checked_value_is_named(registry):
    finding = one(registry, soap.add_message(pnr=" 191212121212\n"))
    assert "whitespace around '191212121212'" in finding.message_en
    assert finding.hint.startswith("remove the spaces and line breaks around '191212121212'")


def test_a_repeated_element_and_a_missing_one_are_named(registry):
    twice = soap.is_active_user().replace(b"</IsActiveUser>",
                                          b"<subjectOfCareId>191212121212</subjectOfCareId></IsActiveUser>")
    assert "send <subjectOfCareId> once" in one(registry, twice).hint
    missing = one(registry, soap.is_active_user().replace(b"<subjectOfCareId>191212121212</subjectOfCareId>", b""))
    assert missing.message_en == "<IsActiveUser> is missing <subjectOfCareId>"
    assert missing.path == "/IsActiveUser/subjectOfCareId"


AGAIN = b"<subjectOfCareId>1</subjectOfCareId></IsActiveUser>"
BROKEN = {
    "boolean": NOTIFY.replace("<notify>true", "<notify>True").encode(),
    "order": NOTIFY.replace(TAIL, f"<sourceSystem>{soap.SYSTEM_ID}</sourceSystem><notify>true</notify>").encode(),
    "spaces": soap.add_message(pnr=" 191212121212 "),
    "hyphen": soap.add_message(pnr="19121212-1212"),
    "namespace": soap.add_message(message_ns=ADD_MESSAGE_NS),
    "attribute": soap.add_message().replace(b"<c:unitName>", b"<c:unitName a='1'>"),
    "text": soap.is_active_user().replace(b"</subjectOfCareId>", b"</subjectOfCareId>text"),
    "missing": soap.is_active_user().replace(b"<subjectOfCareId>191212121212</subjectOfCareId>", b""),
    "repeated": soap.is_active_user().replace(b"</IsActiveUser>", AGAIN),
    "unknown": soap.is_active_user().replace(b"<subjectOfCareId>", b"<foo/><subjectOfCareId>"),
    "unknown core": soap.add_message().replace(b"<c:messageText>", b"<c:foo/><c:messageText>"),
    "element in text": soap.add_message().replace(b">SE2321000016-A1B2<", b"><x/><"),
    "enumeration": soap.add_message(sso=f'<c:ssoLink xmlns:c="{PATIENTPORTAL_CORE}"><c:systemId>x</c:systemId>'
                                        "<c:text>t</c:text><c:type>newTarget</c:type></c:ssoLink>"),
}


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
@pytest.mark.parametrize("name", list(BROKEN))
def test_every_schema_finding_has_a_hint_and_a_plain_path(registry, monkeypatch, name, rich):
    if not rich:  # as for a request too large for the rich explanation
        monkeypatch.setattr(validation_module, "_RICH_MAX_ELEMENTS", 0)
    found = findings(registry, BROKEN[name])
    assert found
    for f in found:
        assert f.hint, f
        assert f.path and f.path.startswith("/") and "{" not in f.path and ":" not in f.path, f
        assert f.line and f.line > 1, f
        assert not re.search(r"\{(urn|http)[^}]*\}", f.message_en + f.message_sv + f.hint), f
