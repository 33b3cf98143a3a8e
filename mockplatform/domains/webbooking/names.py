"""Web booking's names, in one place: the crm:scheduling contracts, their namespaces and the profile."""

SCHEDULING_CORE = "urn:riv:crm:scheduling:1"
SCHEDULING_EXT = "urn:riv:crm:scheduling:1.1"  # firstName, middleName, lastName, isInvitation
ACTOR_NS = "urn:riv:interoperability:headers:1"


def responder(operation: str) -> str:
    """The responder namespace of a crm:scheduling operation."""
    return f"urn:riv:crm:scheduling:{operation}Responder:1"


MANDATORY = ("GetSubjectOfCareSchedule", "GetBookingDetails")
CONDITIONAL = ("CancelBooking", "UpdateBooking", "GetAvailableDates", "GetAvailableTimeslots",
               "GetAllHealthcareFacilities")
OPTIONAL = ("MakeBooking", "GetAllTimeTypes", "GetAllCareTypes", "GetAllPerformers")
OPERATIONS = MANDATORY + CONDITIONAL + OPTIONAL
CONTRACTS = tuple(responder(op) for op in OPERATIONS)
# The answers that carry TimeslotType (timeslotDetail), and the calls that change a booking.
SCHEDULE, DETAILS, TIMESLOTS, DATES = ("GetSubjectOfCareSchedule", "GetBookingDetails", "GetAvailableTimeslots",
                                       "GetAvailableDates")
MAKE, UPDATE_BOOKING, CANCEL = "MakeBooking", "UpdateBooking", "CancelBooking"
TIMESLOT_ANSWERS = (SCHEDULE, DETAILS, TIMESLOTS)
CHANGES = (MAKE, UPDATE_BOOKING, CANCEL)
PERFORMED = ("OK", "INFO")  # resultCodes of a change that was made (INFO: made, with a text to show)
INDEX_UPDATE = "Update"  # the engagement index operation a booking system calls

SERVICE_DOMAIN = "riv:crm:scheduling"  # serviceDomain of the booking system's index posts
BOOKING, INVITATION = "Booking", "Invitation"  # their categorization

DOMAIN_NAME = "webbooking"  # its entry point and fixtures section
PROFILE_ID = "web-booking"
PROFILE_NAME = "1177 Webbtidbok (crm:scheduling 1.1 och engagemangsindex)"
SUBSCRIBER = "subscriber1177"  # builtin:subscriber1177 in the TAK: 1177 receiving ProcessNotification
