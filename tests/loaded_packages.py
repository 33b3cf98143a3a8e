"""Release packages the platform does not ship, made by the tests from files in the repository, in the official
layout (``schemas/core_components``, ``schemas/interactions/<Op>Interaction/``), as folders and as zips:

- a stand-in for the 1177 Inkorg 2.0 package (whose schemas are not public): the built-in inbox package with its
  interactions moved to major version 2 (namespaces and file names), ``notify`` taken out of AddMessage's request
  (a field a 2.0 contract may not have), and a made-up GetMessageThreadStatus 2.0 (tests/packages/inbox2);
- a made-up complaints-like service, ``riv:ehr:complaints`` (RegisterComplaint, GetComplaintStatus), written as
  small files in tests/packages/complaints; its domain is tests/data/complaintsdomain.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from mockplatform.domains.inbox1177 import PACKAGE as INBOX_PACKAGE
from mockplatform.fixtures import builtin_fixtures_dir

from .soap import CONSUMER, OTHER_CONSUMER, envelope

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "packages"
COMPLAINTS_DOMAIN = HERE / "data" / "complaintsdomain"

PP = "urn:riv:infrastructure:eservicesupply:patientportal"
ADD_2 = f"{PP}:AddMessageToPatientPortalInboxResponder:2"
ACTIVE_2 = f"{PP}:IsActiveUserResponder:2"
STATUS_2 = f"{PP}:GetMessageThreadStatusResponder:2"
CORE = f"{PP}:1"  # the core namespace stays at 1
INBOX2 = (ADD_2, ACTIVE_2, STATUS_2)
INBOX2_ADDRESS = "SE2321000016-INK2"  # where the tests' TAK routes the version 2 contracts

REGISTER = "urn:riv:ehr:complaints:RegisterComplaintResponder:1"
COMPLAINT_STATUS = "urn:riv:ehr:complaints:GetComplaintStatusResponder:1"
COMPLAINTS_CORE = "urn:riv:ehr:complaints:1"
COMPLAINTS = (REGISTER, COMPLAINT_STATUS)
PATIENT_BOARD = "SE2321000016-PNMD"  # the complaints domain's registered recipient

CITIZEN = "199001012385"
ADD_XSD = "AddMessageToPatientPortalInboxInteraction/AddMessageToPatientPortalInboxResponder_2.0.xsd"


def make_inbox2(folder: Path) -> Path:
    """The stand-in for the 1177 Inkorg 2.0 package, as a folder (see the module's docstring)."""
    shutil.copytree(INBOX_PACKAGE, folder)
    interactions = folder / "schemas" / "interactions"
    for path in sorted(interactions.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        text = text.replace("Responder:1", "Responder:2").replace(":1:rivtabp21", ":2:rivtabp21")
        text = text.replace("Responder_1.0.xsd", "Responder_2.0.xsd").replace(' version="1.0">', ' version="2.0">')
        path.write_text(text, encoding="utf-8")
        if "_1.0" in path.name:
            path.rename(path.with_name(path.name.replace("_1.0", "_2.0")))
    add = interactions / ADD_XSD
    text = add.read_text(encoding="utf-8")
    notify = '      <xs:element name="notify" type="xs:boolean" minOccurs="0"/>\n'
    assert notify in text
    add.write_text(text.replace(notify, ""), encoding="utf-8")
    shutil.copytree(PACKAGES / "inbox2" / "GetMessageThreadStatusInteraction",
                    interactions / "GetMessageThreadStatusInteraction")
    return folder


def make_complaints(folder: Path) -> Path:
    """The made-up complaints package, as a folder."""
    shutil.copytree(PACKAGES / "complaints", folder)
    return folder


def as_zip(folder: Path, target: Path) -> Path:
    """The package as Inera ships one: a zip whose files lie under a folder named after the release."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{target.stem}/" + path.relative_to(folder).as_posix())
    return target


def make_tak(folder: Path) -> Path:
    """The built-in TAK, and both packages' contracts routed to the generic producer (the inbox 2.0 stand-in at
    INBOX2_ADDRESS, the complaints at the patient board), authorised for the test consumers."""
    tak = folder / "tak.toml"
    parts = [f'import = ["{builtin_fixtures_dir() / "tak.toml"}"]\n']
    for contracts, address in ((INBOX2, INBOX2_ADDRESS), (COMPLAINTS, PATIENT_BOARD)):
        listed = "[" + ", ".join(f'"{c}"' for c in contracts) + "]"
        parts.append(f'[[route]]\ncontracts = {listed}\nlogical_address = "{address}"\naddress = "builtin:generic"\n'
                     f'\n[[authorisation]]\nconsumers = ["{CONSUMER}", "{OTHER_CONSUMER}"]\ncontracts = {listed}\n'
                     f'logical_address = "{address}"\n')
    tak.write_text("\n".join(parts), encoding="utf-8")
    return tak


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def add_message_2(citizen: str = CITIZEN, thread: str | None = "thread-1", source_system: str | None = CONSUMER,
                  description: str | None = "Kallelse", text: str = "Hej", unit: str = "SE2321000016-A1B2",
                  address: str = INBOX2_ADDRESS, extra: str = "") -> bytes:
    parts = [f'<AddMessageToPatientPortalInbox xmlns="{ADD_2}" xmlns:c="{CORE}">',
             f"<subjectOfCareId>{citizen}</subjectOfCareId><message><c:organisationUnit>",
             f"<c:unitId>{unit}</c:unitId><c:unitName>Vårdcentralen</c:unitName></c:organisationUnit>"]
    if thread is not None:
        parts.append(f"<c:messageThreadId>{escape(thread)}</c:messageThreadId>")
    if description is not None:
        parts.append(f"<c:messageDescription>{escape(description)}</c:messageDescription>")
    parts.append(f"<c:messageText>{escape(text)}</c:messageText></message>{extra}")
    if source_system is not None:
        parts.append(f"<sourceSystem>{source_system}</sourceSystem>")
    parts.append("</AddMessageToPatientPortalInbox>")
    return envelope("".join(parts), address=address)


def thread_status_2(thread: str = "thread-1", citizen: str = CITIZEN, address: str = INBOX2_ADDRESS) -> bytes:
    return envelope(f'<GetMessageThreadStatus xmlns="{STATUS_2}"><subjectOfCareId>{citizen}</subjectOfCareId>'
                    f"<messageThreadId>{escape(thread)}</messageThreadId></GetMessageThreadStatus>", address=address)


def is_active_2(citizen: str = CITIZEN, address: str = INBOX2_ADDRESS) -> bytes:
    return envelope(f'<IsActiveUser xmlns="{ACTIVE_2}"><subjectOfCareId>{citizen}</subjectOfCareId></IsActiveUser>',
                    address=address)


def register_complaint(unit: str = PATIENT_BOARD, category: str = "CARE", citizen: str = CITIZEN,
                       address: str = PATIENT_BOARD, description: str = "Jag fick vänta i tre timmar.") -> bytes:
    return envelope(f'<RegisterComplaint xmlns="{REGISTER}"><subjectOfCareId>{citizen}</subjectOfCareId>'
                    f"<careUnitId>{unit}</careUnitId><category>{category}</category>"
                    f"<description>{escape(description)}</description><receivedTime>20261203101500</receivedTime>"
                    "</RegisterComplaint>", address=address)


def complaint_status(case_id: str = "SK-000001", address: str = PATIENT_BOARD) -> bytes:
    return envelope(f'<GetComplaintStatus xmlns="{COMPLAINT_STATUS}"><caseId>{case_id}</caseId></GetComplaintStatus>',
                    address=address)
