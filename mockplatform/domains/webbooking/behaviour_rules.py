"""Journal rules of web booking: what only several exchanges show, each a ``JournalState`` over the judged
exchanges in time order. The index rules follow the bookings through a ``Ledger`` of their own (state per live
booking and per change waiting for its update, never the exchanges)."""

from __future__ import annotations

from collections.abc import Iterator

from ...rules import Hit
from ...rules.base import JournalState
from .ledger import AFTER_CHANGE, CATEGORIZATION, MOST_RECENT, ONE_POST, Ledger
from .names import CHANGES, DETAILS
from .view import WebBookingContext as RuleContext
from .view import WebBookingView as RequestView


def _asked_booking(view: RequestView) -> tuple[str, str] | None:
    asked = (view.request.booking_id or "").strip() if view.request is not None else ""
    unit = (view.unit or "").strip()
    return (unit.lower(), asked) if asked and unit else None


class fault(JournalState):  # noqa: N801 - named as the rule it is
    """A SOAP fault, an HTTP error or VP009 from the booking system to a schema-valid request: a technical error.

    Not a finding when the request is about a booking the booking system has not said exists (in an answer, a
    change it made, or a live index post) or has cancelled since: a fault is how GetBookingDetails, which has
    no resultCode, says "no such booking", and a probe asks about unknown bookings on purpose. To a change
    (MakeBooking, UpdateBooking, CancelBooking) the message adds that a logical error is resultCode ERROR."""

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.ledger = Ledger(ctx.index_wait_s, ctx.until_t)

    def feed(self, view: RequestView) -> Iterator[tuple[int, Hit]]:
        if view.fault and view.request_valid is not False and view.operation not in (None, "Update"):
            booking = _asked_booking(view)
            if booking is None or self.ledger.known(booking):
                yield view.exchange.id, self._hit(view)
        self.ledger.feed(view)

    @staticmethod
    def _hit(view: RequestView) -> Hit:
        about = f" about bookingId {view.request.booking_id.strip()}" if _asked_booking(view) else ""
        about_sv = f" om bookingId {view.request.booking_id.strip()}" if _asked_booking(view) else ""
        logical = view.operation in CHANGES
        en = (f"The booking system answered a schema-valid {view.operation}{about} with a technical error "
              f"({view.fault}); 1177 can only show the citizen that something went wrong")
        sv = (f"Bokningssystemet svarade på ett schemagiltigt {view.operation}{about_sv} med ett tekniskt fel "
              f"({view.fault}); 1177 kan bara visa invånaren att något gick fel")
        if logical:
            en += "; a logical error (the time is taken, too late to cancel) is resultCode ERROR with a resultText"
            sv += "; ett logiskt fel (tiden är upptagen, för sent att avboka) är resultCode ERROR med en resultText"
        hint = ("answer logical errors with resultCode ERROR and a resultText for the citizen; keep SOAP faults for "
                "technical errors, and see that they are rare (99.5 % availability)" if logical else
                "find out why the call failed (the fault text, the booking system's log); a SOAP fault is for "
                "technical errors" + (", and for a booking it does not know" if view.operation == DETAILS else ""))
        hint_sv = ("svara på logiska fel med resultCode ERROR och en resultText till invånaren; använd SOAP-fel för "
                   "tekniska fel, och se till att de är sällsynta (99,5 % tillgänglighet)" if logical else
                   "ta reda på varför anropet misslyckades (feltexten, bokningssystemets logg); ett SOAP-fel är för "
                   "tekniska fel" + (", och för en bokning som det inte känner till" if view.operation == DETAILS
                                     else ""))
        return Hit(en, sv, path="/Envelope/Body", hint=hint, hint_sv=hint_sv)


def _ledger_rule(kind: str, doc: str) -> type[JournalState]:
    """A journal rule that reports one kind of the ledger's events."""

    class LedgerRule(JournalState):
        __doc__ = doc

        def __init__(self, ctx: RuleContext) -> None:
            super().__init__(ctx)
            self.ledger = Ledger(ctx.index_wait_s, ctx.until_t)

        def feed(self, view: RequestView) -> Iterator[tuple[int, Hit]]:
            return [(e.exchange_id, e.hit) for e in self.ledger.feed(view) if e.kind == kind]

        def finish(self) -> Iterator[tuple[int, Hit]]:
            return [(e.exchange_id, e.hit) for e in self.ledger.finish() if e.kind == kind]

    LedgerRule.__name__ = LedgerRule.__qualname__ = kind
    return LedgerRule


ei_categorization = _ledger_rule(CATEGORIZATION, "A post's categorization disagrees with what the booking system "
                                 "said of the booking (isInvitation in its GetBookingDetails and "
                                 "GetSubjectOfCareSchedule answers, or the change it made).")
ei_most_recent = _ledger_rule(MOST_RECENT, "A Booking post's mostRecentContent is not the start the booking system "
                              "said the booking has.")
ei_one_post = _ledger_rule(ONE_POST, "Two live posts for one booking (unit and bookingId) for longer than the wait: "
                           "a change of category, unit or citizen whose old post was not deleted.")
ei_after_change = _ledger_rule(AFTER_CHANGE, "A change answered OK (MakeBooking, UpdateBooking, CancelBooking) not "
                               "followed by its index update within the wait.")
