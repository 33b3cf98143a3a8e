"""Schema findings in plain words: every violation names its element by plain name, says what is wrong and
how to fix it, in Swedish and in English; none comes without a hint in either language, neither from the
rich (xmlschema) pass nor from lxml's own messages for a request too large for it."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import docx
import lxml.html
import pytest
from lxml import etree

from mockplatform.contracts import ContractRegistry, load_package
from mockplatform.contracts import validation as validation_module
from mockplatform.contracts.package import ContractPackage, Interaction
from mockplatform.domains import installed
from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, IS_ACTIVE_USER_NS, PATIENTPORTAL_CORE
from mockplatform.envelope import MalformedRequest, read_envelope
from mockplatform.findings import Finding
from mockplatform.protocol import render_docx, render_html, render_json, render_junit, render_markdown
from mockplatform.xmlsafe import hardened_parser

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
    assert finding.message_sv == "'True' är inget xs:boolean-värde (true, false, 1 eller 0) i <notify>"
    assert finding.hint_sv == "skriv 'true' med små bokstäver: 'True' är inget xs:boolean-värde"


def test_yes_as_a_boolean_names_the_boolean_values(registry):
    finding = one(registry, NOTIFY.replace("<notify>true", "<notify>yes").encode())
    assert "true or false (or 1 or 0)" in finding.hint
    assert finding.hint_sv == ("ett xs:boolean skrivs true eller false (eller 1 eller 0), med små bokstäver: "
                               "'yes' är inget av dem")


def test_an_element_out_of_order_says_which_comes_before_which(registry):
    swapped = NOTIFY.replace(TAIL, f"<sourceSystem>{soap.SYSTEM_ID}</sourceSystem><notify>true</notify>")
    finding = one(registry, swapped.encode())
    assert "<notify> comes after <sourceSystem>" in finding.message_en
    assert finding.hint.startswith("move <notify> before <sourceSystem>")
    assert "subjectOfCareId, message, notify, sourceSystem" in finding.hint
    assert finding.path == "/AddMessageToPatientPortalInbox/notify"
    assert finding.message_sv.startswith("<notify> kommer efter <sourceSystem>, men kontraktets ordning")
    assert finding.hint_sv == ("flytta <notify> så att det står före <sourceSystem> (ordningen i "
                               "<AddMessageToPatientPortalInbox>: subjectOfCareId, message, notify, sourceSystem)")


def test_an_element_sent_too_early_says_what_must_come_before_it(registry):
    message = re.search(r"<message .*</message>", NOTIFY).group(0)
    early = NOTIFY.replace(message, "").replace("<notify>true</notify>", "<notify>true</notify>" + message)
    finding = one(registry, early.encode())
    assert finding.hint.startswith("move <message> before <notify>")
    assert finding.hint_sv.startswith("flytta <message> så att det står före <notify>")


def test_message_children_out_of_order_name_both(registry):
    body = soap.add_message().decode()
    body = body.replace("<c:messageDescription>Kallelse</c:messageDescription>", "").replace(
        "</c:messageText>", "</c:messageText><c:messageDescription>Kallelse</c:messageDescription>")
    finding = one(registry, body.encode())
    assert finding.hint.startswith("move <messageDescription> before <messageText>")
    assert finding.hint_sv.startswith("flytta <messageDescription> så att det står före <messageText>")
    assert finding.path == "/AddMessageToPatientPortalInbox/message/messageDescription"
    lines = body.replace("><", ">\n<").splitlines()
    assert finding.line == 1 + next(i for i, t in enumerate(lines) if t.startswith("<c:messageDescription>"))
    # the misplaced element's own line, not its parent's


def test_whitespace_around_a_pattern_checked_value_is_named(registry):
    finding = one(registry, soap.add_message(pnr=" 191212121212\n"))
    assert "whitespace around '191212121212'" in finding.message_en
    assert finding.hint.startswith("remove the spaces and line breaks around '191212121212'")
    assert "har blanksteg runt '191212121212'" in finding.message_sv
    assert finding.hint_sv == ("ta bort mellanslag och radbrytningar runt '191212121212': "
                               "skicka <subjectOfCareId>191212121212</subjectOfCareId>")


def test_a_repeated_element_and_a_missing_one_are_named(registry):
    twice = soap.is_active_user().replace(b"</IsActiveUser>",
                                          b"<subjectOfCareId>191212121212</subjectOfCareId></IsActiveUser>")
    repeated = one(registry, twice)
    assert "send <subjectOfCareId> once" in repeated.hint
    assert repeated.hint_sv == "skicka <subjectOfCareId> en gång i <IsActiveUser>: ta bort upprepningen"
    missing = one(registry, soap.is_active_user().replace(b"<subjectOfCareId>191212121212</subjectOfCareId>", b""))
    assert missing.message_en == "<IsActiveUser> is missing <subjectOfCareId>"
    assert missing.message_sv == "<IsActiveUser> saknar <subjectOfCareId>"
    assert missing.hint_sv == f"lägg till <subjectOfCareId> (namnrymd {IS_ACTIVE_USER_NS}) sist i <IsActiveUser>"
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
    "root": soap.is_active_user().replace(b"IsActiveUser>", b"IsActiveUserRequest>")
                                 .replace(b"<IsActiveUser ", b"<IsActiveUserRequest "),
}


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
@pytest.mark.parametrize("name", list(BROKEN))
def test_every_schema_finding_has_a_hint_and_a_plain_path(registry, monkeypatch, name, rich):
    if not rich:  # as for a request too large for the rich explanation
        monkeypatch.setattr(validation_module, "_RICH_MAX_ELEMENTS", 0)
    found = findings(registry, BROKEN[name])
    assert found
    for f in found:
        assert f.hint and f.hint_sv, f
        assert f.path and f.path.startswith("/") and "{" not in f.path and ":" not in f.path, f
        assert f.line and f.line > 1, f
        assert not re.search(r"\{(urn|http)[^}]*\}", f.message_en + f.message_sv + f.hint + f.hint_sv), f


# -- in Swedish as well as English ------------------------------------------------------------------------------

# BROKEN's name -> (in message_sv, in hint_sv) of one of its findings, from the rich pass and from lxml's messages
# alike; a dict where the two passes can say different things (lxml does not know the contract's order)
SWEDISH = {
    "boolean": ("'True' är inget xs:boolean-värde", "skriv 'true' med små bokstäver: 'True' är inget xs:boolean"),
    "order": {"xmlschema": ("<notify> kommer efter <sourceSystem>", "flytta <notify> så att det står före "
                                                                    "<sourceSystem>"),
              "lxml": ("elementet <notify> hör inte hemma här", "flytta <notify> till dess plats i kontraktets "
                                                                "ordning")},
    "spaces": ("värdet i <subjectOfCareId> har blanksteg runt '191212121212'",
               "ta bort mellanslag och radbrytningar runt '191212121212'"),
    "hyphen": ("värdet '19121212-1212' i <subjectOfCareId> matchar inte mönstret",
               "skriv personnumret eller samordningsnumret som 12 siffror utan bindestreck"),
    "namespace": (f"elementet <organisationUnit> ligger i namnrymden {ADD_MESSAGE_NS}, men kontraktet kräver "
                  f"namnrymden {PATIENTPORTAL_CORE}", f"lägg <organisationUnit> i namnrymden {PATIENTPORTAL_CORE}"),
    "attribute": ("attributet 'a' är inte tillåtet på <unitName>", "ta bort attributet 'a' från <unitName>"),
    "text": ("<IsActiveUser> innehåller text mellan sina barnelement ('text')", "ta bort texten från <IsActiveUser>"),
    "missing": ("<IsActiveUser> saknar <subjectOfCareId>", "lägg till <subjectOfCareId> (namnrymd "),
    "repeated": {"xmlschema": ("<subjectOfCareId> förekommer fler gånger i <IsActiveUser> än kontraktet tillåter "
                               "(en gång)", "ta bort upprepningen"),
                 "lxml": ("elementet <subjectOfCareId> hör inte hemma här i <IsActiveUser>",
                          "ta bort det om det skickas fler gånger än kontraktet tillåter")},
    "unknown": ("elementet <foo> hör inte hemma här i <IsActiveUser>", "här väntas: subjectOfCareId (namnrymd "),
    "unknown core": ("elementet <foo> hör inte hemma här i <message>", "här väntas: messageText (namnrymd "),
    "element in text": ("<unitId> innehåller barnelement, men kontraktet anger bara text",
                        "skicka <unitId> som text; märkning som ska vara text måste kodas"),
    "enumeration": ("värdet 'newTarget' i <type> är inte ett av CurrentTarget, Embedded, Widget, NewTarget "
                    "(värdena är skiftlägeskänsliga)", "skriv 'NewTarget', inte 'newTarget'"),
    "root": ("<IsActiveUserRequest> är inget element i kontraktet IsActiveUser: dess anropselement är "
             "<IsActiveUser>", f"skicka <IsActiveUser> (namnrymd {IS_ACTIVE_USER_NS}) som enda element i "
                               "SOAP-kroppen (Body), inte <IsActiveUserRequest>"),
}


def lean(monkeypatch) -> None:
    """As for a request too large for the rich explanation: lxml's own messages."""
    monkeypatch.setattr(validation_module, "_RICH_MAX_ELEMENTS", 0)


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
@pytest.mark.parametrize("name", list(SWEDISH))
def test_every_class_of_schema_finding_says_what_and_how_to_fix_in_swedish(registry, monkeypatch, name, rich):
    if not rich:
        lean(monkeypatch)
    expected = SWEDISH[name]
    message_sv, hint_sv = expected["xmlschema" if rich else "lxml"] if isinstance(expected, dict) else expected
    found = findings(registry, BROKEN[name])
    assert any(message_sv in f.message_sv and hint_sv in (f.hint_sv or "") for f in found), found
    for f in found:
        assert not f.message_sv.startswith("Schemafel: "), f  # not the English message behind a Swedish word
        assert f.hint_sv != f.hint and f.message_sv != f.message_en, f


def test_whitespace_around_an_enumerated_value_is_named_in_both_languages(registry):
    body = BROKEN["enumeration"].replace(b"newTarget", b" NewTarget ")
    finding = one(registry, body)
    assert finding.message_en == "the value ' NewTarget ' of <type> has whitespace around 'NewTarget'"
    assert finding.message_sv == "värdet ' NewTarget ' i <type> har blanksteg runt 'NewTarget'"
    assert finding.hint_sv == "ta bort blankstegen runt 'NewTarget': värdet måste vara exakt ett av de tillåtna"


# -- classes the inbox contract cannot show: a contract of its own -------------------------------------------------

PING_NS = "urn:riv:test:schemahints:PingResponder:1"
PING_XSD = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{PING_NS}"
    xmlns:t="{PING_NS}" elementFormDefault="qualified">
  <xs:element name="Ping">
    <xs:complexType><xs:sequence>
      <xs:element name="code"><xs:simpleType><xs:restriction base="xs:string">
        <xs:minLength value="2"/><xs:maxLength value="4"/></xs:restriction></xs:simpleType></xs:element>
      <xs:element name="exact" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string">
        <xs:length value="3"/></xs:restriction></xs:simpleType></xs:element>
      <xs:element name="day" type="xs:date" minOccurs="0"/>
      <xs:element name="when" type="xs:dateTime" minOccurs="0"/>
      <xs:element name="count" type="xs:int" minOccurs="0"/>
      <xs:element name="small" minOccurs="0"><xs:simpleType><xs:restriction base="xs:int">
        <xs:maxInclusive value="9"/></xs:restriction></xs:simpleType></xs:element>
      <xs:element name="amount" minOccurs="0"><xs:simpleType><xs:restriction base="xs:decimal">
        <xs:totalDigits value="4"/><xs:fractionDigits value="1"/></xs:restriction></xs:simpleType></xs:element>
      <xs:element name="item" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:simpleContent>
        <xs:extension base="xs:string"><xs:attribute name="id" type="xs:string" use="required"/></xs:extension>
      </xs:simpleContent></xs:complexType></xs:element>
    </xs:sequence></xs:complexType>
    <xs:unique name="oneId"><xs:selector xpath="t:item"/><xs:field xpath="@id"/></xs:unique>
  </xs:element>
</xs:schema>"""


@pytest.fixture(scope="module")
def ping(tmp_path_factory) -> validation_module.SchemaValidator:
    root = tmp_path_factory.mktemp("ping")
    (root / "schemas").mkdir()
    (root / "schemas" / "PingResponder_1.0.xsd").write_text(PING_XSD, encoding="utf-8")
    package = ContractPackage(source="test", root=root, interactions=[], repairs=[],
                              files=["schemas/PingResponder_1.0.xsd"])
    interaction = Interaction(name="Ping", wsdl_namespace=PING_NS + ":rivtabp21", responder_namespace=PING_NS,
                              profile="RIVTABP21", version="1.0", wsdl_file="Ping.wsdl",
                              responder_file="schemas/PingResponder_1.0.xsd", request_element="Ping",
                              response_element="PingResponse", soap_action=None, package=package)
    return validation_module.SchemaValidator(interaction)


def ping_findings(ping, content: str, root: str = "Ping") -> list[Finding]:
    return ping.findings(etree.fromstring(f'<{root} xmlns="{PING_NS}">\n{content}\n</{root}>'))


# name -> (the content of <Ping>, in message_en, in message_sv, in hint, in hint_sv)
PING_BROKEN = {
    "too long": ("<code>abcdef</code>", "<code> is longer than the contract allows (6 characters): at most 4",
                 "<code> är längre än kontraktet tillåter (6 tecken): högst 4 tecken",
                 "shorten <code> to at most 4 characters", "korta <code> till högst 4 tecken"),
    "too short": ("<code>a</code>", "<code> is shorter than the contract allows (1 character): at least 2",
                  "<code> är kortare än kontraktet tillåter (1 tecken): minst 2 tecken",
                  "write at least 2 characters in <code>", "skriv minst 2 tecken i <code>"),
    "empty": ("<code></code>", "<code> is empty, but the contract requires at least 2 characters",
              "<code> är tomt, men kontraktet kräver minst 2 tecken", "fill in <code>", "fyll i <code>: minst 2"),
    "not the length": ("<code>ab</code><exact>abcd</exact>", "<exact> has another length than the contract's 3",
                       "<exact> har en annan längd än kontraktets 3 tecken (4 tecken)",
                       "write exactly 3 characters in <exact>", "skriv exakt 3 tecken i <exact>"),
    "not a date": ("<code>ab</code><day>2024-13-01</day>", "'2024-13-01' in <day> is not a valid date (xs:date)",
                   "'2024-13-01' i <day> är inget giltigt datum (xs:date)", "write the date as YYYY-MM-DD",
                   "skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2024-05-17"),
    "not a date and time": ("<code>ab</code><when>2024-05-17 14:30</when>", "is not a valid date and time",
                            "'2024-05-17 14:30' i <when> är inget giltigt datum med klockslag (xs:dateTime)",
                            "with a 'T' between them", "med ett 'T' emellan, t.ex. 2024-05-17T14:30:00"),
    "not a number": ("<code>ab</code><count>12,5</count>", "'12,5' in <count> is not a valid whole number (xs:int)",
                     "'12,5' i <count> är inget giltigt heltal (xs:int)", "as a whole number in digits",
                     "skriv <count> som ett heltal med siffror, utan mellanslag, decimaler"),
    "too large": ("<code>ab</code><small>12</small>", "it must be at most 9",
                  "värdet '12' i <small> ligger utanför kontraktets gränser: det ska vara högst 9",
                  "send a value in <small> that is at most 9", "skicka ett värde i <small> som är högst 9"),
    "too many digits": ("<code>ab</code><amount>12345</amount>", "the value '12345' of <amount> has more than 4 "
                        "digits", "värdet '12345' i <amount> har fler än 4 siffror",
                        "send <amount> with at most 4 digits", "skicka <amount> med högst 4 siffror"),
    "too many decimals": ("<code>ab</code><amount>1.25</amount>", "has more than 1 decimal",
                          "värdet '1.25' i <amount> har fler än 1 decimal", "round <amount> to at most 1 decimal",
                          "avrunda <amount> till högst 1 decimal"),
    "missing attribute": ("<code>ab</code><item>a</item>", "<item> is missing the required attribute 'id'",
                          "<item> saknar det obligatoriska attributet 'id'", "add the attribute 'id' to <item>",
                          "lägg till attributet 'id' på <item>"),
    # one neither validator's words can be classified by: still where, what was sent, and how to go on
    "unclassified": ('<code>ab</code><item id="1">a</item><item id="1">b</item>',
                     "<item> does not follow the contract's schema (sent: 'b'): ",
                     "<item> följer inte kontraktets schema (skickat: 'b'). Validatorns besked: ",
                     "make <item> match the contract's schema (schemas/PingResponder_1.0.xsd)",
                     "rätta <item> så att det följer kontraktets schema (schemas/PingResponder_1.0.xsd)"),
}


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
@pytest.mark.parametrize("name", list(PING_BROKEN))
def test_lengths_dates_numbers_and_the_rest_are_told_in_both_languages(ping, monkeypatch, name, rich):
    if not rich:
        lean(monkeypatch)
    content, message_en, message_sv, hint, hint_sv = PING_BROKEN[name]
    [finding] = ping_findings(ping, content)
    assert message_en in finding.message_en and message_sv in finding.message_sv, finding
    assert hint in finding.hint and hint_sv in finding.hint_sv, finding
    assert finding.path.startswith("/Ping/") and finding.line and finding.line > 1, finding


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
def test_an_unknown_root_element_names_the_contracts_request_element(ping, monkeypatch, rich):
    if not rich:
        lean(monkeypatch)
    [finding] = ping_findings(ping, "<code>ab</code>", root="ping")
    assert finding.message_en == "<ping> is no element of the contract Ping: its request element is <Ping>"
    assert finding.message_sv == "<ping> är inget element i kontraktet Ping: dess anropselement är <Ping>"
    assert "(element names are case-sensitive)" in finding.hint
    assert finding.hint_sv == (f"skicka <Ping> (namnrymd {PING_NS}) som enda element i SOAP-kroppen (Body) "
                               "(elementnamn är skiftlägeskänsliga), inte <ping>")
    assert finding.path == "/ping"


def test_more_violations_than_are_listed_says_so_in_both_languages(ping):
    found = ping_findings(ping, "<code>ab</code>" + "<item>a</item>" * (validation_module.MAX_FINDINGS + 1))
    assert found[-1].message_sv.startswith("... totalt") and found[-1].hint_sv.startswith("rätta de första")


# -- an element in the wrong namespace: the hint says what the contract's schema declares --------------------------


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
def test_message_children_in_the_responder_namespace_are_told_the_type_declares_them_in_the_core_namespace(
        registry, monkeypatch, rich):
    if not rich:  # lxml does not say the type: the parent it was sent in
        lean(monkeypatch)
    found = findings(registry, BROKEN["namespace"])
    names = ["organisationUnit", "messageDescription", "messageText"] if rich else ["organisationUnit"]
    assert [f.path.rpartition("/")[2] for f in found] == names
    for finding, name in zip(found, names, strict=True):
        start = f"put <{name}> in namespace {PATIENTPORTAL_CORE}, not {ADD_MESSAGE_NS} ("
        start_sv = f"lägg <{name}> i namnrymden {PATIENTPORTAL_CORE}, inte i {ADD_MESSAGE_NS} ("
        if rich:
            note = ("the contract declares every child of <message>, of type MessageType, in the core namespace, not "
                    "in the responder namespace of <message> itself)")
            note_sv = ("kontraktet deklarerar alla barn till <message>, av typen MessageType, i kärnnamnrymden (core), "
                       "inte i responder-namnrymden som <message> själv ligger i)")
        else:
            note = (f"the contract declares <{name}> in the core namespace, not in the responder namespace of its "
                    "parent <message>)")
            note_sv = (f"kontraktet deklarerar <{name}> i kärnnamnrymden (core), inte i responder-namnrymden som "
                       "föräldern <message> ligger i)")
        assert (finding.hint, finding.hint_sv) == (start + note, start_sv + note_sv)
        assert finding.message_sv == (f"elementet <{name}> ligger i namnrymden {ADD_MESSAGE_NS}, men kontraktet "
                                      f"kräver namnrymden {PATIENTPORTAL_CORE}")


# a contract of its own in the RIVTA layout: no name of a real contract helps the hint
BOX_CORE = "urn:riv:test:boxes:1"
BOX_NS = "urn:riv:test:boxes:PackResponder:1"
BOX_CORE_XSD = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{BOX_CORE}"
    xmlns="{BOX_CORE}" elementFormDefault="qualified">
  <xs:complexType name="CrateType"><xs:sequence>
    <xs:element name="lid" type="xs:string"/><xs:element name="content" type="xs:string"/>
  </xs:sequence></xs:complexType>
</xs:schema>"""
BOX_XSD = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{BOX_NS}"
    xmlns:core="{BOX_CORE}" elementFormDefault="qualified">
  <xs:import namespace="{BOX_CORE}" schemaLocation="../../core_components/test_boxes_1.0.xsd"/>
  <xs:element name="Pack"><xs:complexType><xs:sequence>
    <xs:element name="crate" type="core:CrateType"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""


@pytest.fixture(scope="module")
def boxes(tmp_path_factory) -> validation_module.SchemaValidator:
    root = tmp_path_factory.mktemp("boxes")
    (root / "schemas" / "core_components").mkdir(parents=True)
    (root / "schemas" / "interactions" / "PackInteraction").mkdir(parents=True)
    (root / "schemas" / "core_components" / "test_boxes_1.0.xsd").write_text(BOX_CORE_XSD, encoding="utf-8")
    responder = "schemas/interactions/PackInteraction/PackResponder_1.0.xsd"
    (root / responder).write_text(BOX_XSD, encoding="utf-8")
    package = ContractPackage(source="test", root=root, interactions=[], repairs=[], files=[responder])
    interaction = Interaction(name="Pack", wsdl_namespace=BOX_NS + ":rivtabp21", responder_namespace=BOX_NS,
                              profile="RIVTABP21", version="1.0", wsdl_file="Pack.wsdl", responder_file=responder,
                              request_element="Pack", response_element="PackResponse", soap_action=None,
                              package=package)
    return validation_module.SchemaValidator(interaction)


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
def test_a_wrong_namespace_hint_comes_from_the_schema_of_any_contract(boxes, monkeypatch, rich):
    if not rich:
        lean(monkeypatch)
    found = boxes.findings(etree.fromstring(f'<Pack xmlns="{BOX_NS}">\n<crate>\n<lid>x</lid>\n'
                                            "<content>y</content>\n</crate>\n</Pack>"))
    finding = found[0]
    assert finding.path == "/Pack/crate/lid"
    assert finding.message_en == (f"element <lid> is in namespace {BOX_NS}, but the contract expects it in namespace "
                                  f"{BOX_CORE}")
    note, note_sv = (("the contract declares every child of <crate>, of type CrateType, in the core namespace, not in "
                      "the responder namespace of <crate> itself",
                      "kontraktet deklarerar alla barn till <crate>, av typen CrateType, i kärnnamnrymden (core), inte "
                      "i responder-namnrymden som <crate> själv ligger i") if rich else
                     ("the contract declares <lid> in the core namespace, not in the responder namespace of its "
                      "parent <crate>",
                      "kontraktet deklarerar <lid> i kärnnamnrymden (core), inte i responder-namnrymden som föräldern "
                      "<crate> ligger i"))
    assert finding.hint == f"put <lid> in namespace {BOX_CORE}, not {BOX_NS} ({note})"
    assert finding.hint_sv == f"lägg <lid> i namnrymden {BOX_CORE}, inte i {BOX_NS} ({note_sv})"
    for f in found:
        assert not re.search(r"message|organisationUnit|ssoLink", f.hint + f.hint_sv), f


# -- the hostile and invalid request corpus ------------------------------------------------------------------------

HOSTILE = Path(__file__).parent / "hostile"  # whole requests, most of them refused before any schema
DATA = Path(__file__).parent / "data"  # request payloads (and envelopes), valid and invalid, of any domain


@pytest.fixture(scope="module")
def every_contract() -> ContractRegistry:
    """The contracts of every installed domain, so that a payload in tests/data of any of them is validated."""
    reg = ContractRegistry()
    for domain in installed():
        for package in domain.contract_packages:
            reg.add(load_package(package))
    return reg


def _padded(payload: etree._Element) -> None:
    for element in payload.iter():
        if isinstance(element.tag, str) and len(element) == 0 and (element.text or "").strip():
            element.text = f" {element.text}\n"


def _stranger(payload: etree._Element) -> None:
    payload.insert(0, etree.Element(f"{{{etree.QName(payload).namespace}}}stranger"))


def _doubled(payload: etree._Element) -> None:
    if len(payload):
        payload.append(copy.deepcopy(payload[0]))


def _emptied(payload: etree._Element) -> None:
    for child in list(payload):
        payload.remove(child)


def _renamed(payload: etree._Element) -> None:
    payload.tag += "Request"


def _attributed(payload: etree._Element) -> None:
    for element in payload.iter():
        if isinstance(element.tag, str):
            element.set("lang", "sv")


def _worded(payload: etree._Element) -> None:
    payload.text = "hej"


def _capitalised(payload: etree._Element) -> None:
    for element in payload.iter():
        if isinstance(element.tag, str) and element.text in ("true", "false"):
            element.text = element.text.capitalize()


MUTATIONS = [_padded, _stranger, _doubled, _emptied, _renamed, _attributed, _worded, _capitalised]


def _payload(name: str, body: bytes) -> etree._Element | None:
    """The request payload of a corpus file: the Body's element of an envelope, or the file's root element."""
    try:
        return read_envelope(body).payload
    except MalformedRequest:
        if name.endswith(".xml") and b"Envelope" not in body[:500]:
            try:
                return etree.fromstring(body, hardened_parser())
            except etree.XMLSyntaxError:
                return None
        return None  # refused before any schema: tests/test_hostile.py


def corpus() -> list[tuple[str, etree._Element]]:
    """Every payload of the request corpus (tests/hostile, the files in tests/data and this module's broken
    requests) as it is and broken in each of the ways above."""
    files = [p for p in sorted(HOSTILE.iterdir()) if p.suffix != ".toml"] + sorted(DATA.rglob("*.xml"))
    bodies = [(str(p.relative_to(HOSTILE.parent)), p.read_bytes()) for p in files]
    bodies += [(f"{name}.xml", body) for name, body in BROKEN.items()]
    out = []
    for name, body in bodies:
        payload = _payload(name, body)
        if payload is None:
            continue
        out.append((name, payload))
        for mutate in MUTATIONS:
            broken = copy.deepcopy(payload)
            mutate(broken)
            out.append((f"{name}{mutate.__name__}", broken))
    return out


@pytest.mark.parametrize("rich", [True, False], ids=["xmlschema", "lxml"])
def test_no_schema_finding_over_the_request_corpus_lacks_a_swedish_or_english_hint(every_contract, monkeypatch,
                                                                                   rich):
    if not rich:
        lean(monkeypatch)
    judged = 0
    for name, payload in corpus():
        contract = every_contract.get(etree.QName(payload).namespace or "")
        if contract is None:
            continue
        for f in contract.validator.findings(payload):
            judged += 1
            assert f.hint and f.hint.strip() and f.hint_sv and f.hint_sv.strip(), (name, f)
            assert f.message_sv.strip() and f.message_sv != f.message_en, (name, f)
            assert not f.message_sv.startswith("Schemafel: "), (name, f)
            assert f.path and not re.search(r"\{(urn|http)[^}]*\}", f.path + f.message_sv + f.hint_sv), (name, f)
    assert judged > 50  # the corpus does break the schema


# -- where a reviewer reads them ---------------------------------------------------------------------------------


def test_the_protocol_and_the_exchange_page_show_a_schema_findings_fix_in_swedish_first(tmp_path):
    from mockplatform import Application, Config
    from mockplatform.verification.engine import VerifyOptions, verify

    from .test_web import Client, css, text_of

    journal = tmp_path / "journal.sqlite"
    app = Application(Config(journal=journal))
    try:
        client = Client(app)
        client.post(BROKEN["boolean"])
        page = client.page("/ui/journal/1")
    finally:
        app.close()
    sv = "skriv 'true' med små bokstäver: 'True' är inget xs:boolean-värde"
    en = "xs:boolean is written in lower case: write 'true', not 'True'"
    [hint] = [h for h in css(page, "#findings .hint") if "xs:boolean" in text_of(h)]
    assert text_of(hint) == f"Åtgärd: {sv}{en}"  # the two on lines of their own
    assert text_of(css(hint, "span")[0]) == en and css(hint, "span")[0].get("lang") == "en"

    protocol = verify(VerifyOptions(journal=journal))
    found = [f for c in protocol.cases for _, f in c.findings] + [f for r in protocol.rules for _, f in r.examples]
    schema = next(f for f in found if f.rule_id == "SCHEMA")
    assert (schema.hint_sv, schema.hint) == (sv, en)
    for case in protocol.cases:  # one finding is enough to read in every format
        case.findings = [(case.findings[0][0], schema)] if case.findings else []
    shown = {
        "html": lxml.html.document_fromstring(render_html(protocol)).text_content(),
        "markdown": render_markdown(protocol).decode().replace("\\<", "<").replace("\\>", ">"),
        "junit": render_junit(protocol, hostname="ci").decode().replace("&lt;", "<").replace("&gt;", ">")
                                                           .replace("&apos;", "'"),
        "docx": "\n".join(c.text for t in docx.Document(io.BytesIO(render_docx(protocol))).tables
                          for r in t.rows for c in r.cells),
    }
    for form, text in shown.items():
        text = " ".join(text.split())
        assert sv in text and en in text and text.index(sv) < text.index(en), form
    assert any(f["hint_sv"] == sv for c in json.loads(render_json(protocol))["cases"] for f in c["findings"])
