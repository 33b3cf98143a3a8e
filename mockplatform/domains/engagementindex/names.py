"""The engagement index's names, in one place: its contracts, the owner's address and the error texts."""

EI_CORE = "urn:riv:itintegration:engagementindex:1"
UPDATE_NS = "urn:riv:itintegration:engagementindex:UpdateResponder:1"
FIND_CONTENT_NS = "urn:riv:itintegration:engagementindex:FindContentResponder:1"
PROCESS_NOTIFICATION_NS = "urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1"
GET_UPDATES_NS = "urn:riv:itintegration:engagementindex:GetUpdatesResponder:1"
# Served by the fake national index at the owner's address; ProcessNotification goes to the subscribers.
INDEX_CONTRACTS = (UPDATE_NS, FIND_CONTENT_NS)
CONTRACTS = (UPDATE_NS, FIND_CONTENT_NS, PROCESS_NOTIFICATION_NS, GET_UPDATES_NS)

DOMAIN_NAME = "engagementindex"  # its entry point and fixtures section
PRODUCER = "engagementindex"  # builtin:engagementindex in the TAK
# The national index's owner: Inera AB's organisation number, the logical address of Update and FindContent.
NATIONAL_OWNER = "5565594230"
MAX_TRANSACTIONS = 1000
