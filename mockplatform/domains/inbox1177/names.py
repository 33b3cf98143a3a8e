"""The inbox's names, in one place: its contracts, operations, rule profile and answer texts."""

PATIENTPORTAL_CORE = "urn:riv:infrastructure:eservicesupply:patientportal:1"
IS_ACTIVE_USER_NS = "urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1"
ADD_MESSAGE_NS = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"
CONTRACTS = (IS_ACTIVE_USER_NS, ADD_MESSAGE_NS)

IS_ACTIVE_USER = "IsActiveUser"
ADD_MESSAGE = "AddMessageToPatientPortalInbox"
OPERATIONS = (IS_ACTIVE_USER, ADD_MESSAGE)

DOMAIN_NAME = "inbox1177"  # its entry point and fixtures section
PROFILE_ID = "1177-inbox"
PROFILE_NAME = "1177 Inkorg (patientportal 1.x)"
PROFILE2_ID = "1177-inbox-2"  # the rules that carry over to the 2.0 contracts of a loaded package
PROFILE2_NAME = "1177 Inkorg 2.0 (loaded package, fields found by name)"
PRODUCER = "inbox"  # builtin:inbox in the TAK

NOT_ACTIVE_TEXT = "Target person is not active user"
