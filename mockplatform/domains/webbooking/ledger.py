"""What a booking system said and did about each booking across the journal, against what it told the
engagement index: the one place web booking's journal rules and its index cases follow a booking.

Fed the judged exchanges in time order (``feed``), a ``Ledger`` keeps, per booking (the unit in lower case and
the bookingId):

- what the booking system last said of it: invitation or booking, and its start (its GetSubjectOfCareSchedule
  and GetBookingDetails answers, and a change it answered OK: MakeBooking, UpdateBooking, CancelBooking);
- its live index posts, from the Updates the index accepted (by the index's key, without the owner);

and, for a few seconds each, the changes waiting for their index update and the bookings with two live posts.
It yields ``Event``s: a post that disagrees with what the booking system said (its categorization, its
mostRecentContent), two live posts for one booking longer than the wait, a change not followed by its update
within the wait (and, for the cases, a change that was). A booking with no live post and nothing said of it is
forgotten, so what is kept grows with the live bookings, never with the exchanges.

The table it follows ("What web booking requires of index updates"): MakeBooking, a new Booking post (and the
Invitation post's delete when booked from an open invitation); CancelBooking, the delete of the post;
UpdateBooking, an update of the same post, or a delete and a new post for the citizen (another unit or bookingId).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ...localtime import swedish_time
from ...rules import Hit
from .names import BOOKING, CANCEL, CHANGES, INDEX_UPDATE, INVITATION, MAKE, UPDATE_BOOKING
from .view import WebBookingView

CATEGORIZATION, MOST_RECENT, ONE_POST, AFTER_CHANGE = "categorization", "most_recent", "one_post", "after_change"
FOLLOWED, NOT_JUDGED = "followed", "not_judged"  # a change followed by its update; one the journal ended before

Booking = tuple[str, str]  # (unit in lower case, bookingId)


@dataclass(frozen=True)
class Event:
    kind: str
    exchange_id: int  # the exchange the event is about (the post's Update, or the change)
    hit: Hit | None = None


@dataclass(slots=True)
class _Post:
    categorization: str
    most_recent: str | None
    exchange_id: int
    t: float
    unit: str
    reported: set[str] = field(default_factory=set)  # kinds of disagreement already reported


@dataclass(slots=True)
class _Booking:
    said_id: int | None = None  # the exchange whose answer last said what this booking is (None: nothing said)
    said_invitation: bool = False
    said_start: str | None = None
    changed_t: float = -math.inf  # the last change answered OK: posts older than it wait for their update
    posts: dict[str, _Post] = field(default_factory=dict)  # live posts by key


@dataclass(slots=True)
class _Expected:
    """A change answered OK, waiting for the booking system's index update."""

    exchange_id: int
    t: float  # when the change was answered: the wait for its update runs from here
    time: str  # the same, as an ISO time
    operation: str
    code: str
    unit: str
    booking_id: str
    post_of: tuple[Booking, ...] = ()  # a new (or updated) post for one of these
    delete_of: Booking | None = None  # the delete of this one
    citizen: str | None = None  # UpdateBooking: a delete and a new post for this citizen do too
    invitation: str | None = None  # MakeBooking from an open invitation: its bookingId
    got_post: bool = False
    got_delete: bool = False
    got_citizen_post: bool = False
    done: bool = False

    def satisfied(self) -> bool:
        if self.operation == UPDATE_BOOKING:
            return self.got_post or (self.got_delete and self.got_citizen_post)
        return (self.got_post or not self.post_of) and (self.got_delete or self.delete_of is None)


def _booking_of(unit: str | None, booking_id: str | None) -> Booking | None:
    unit, booking_id = (unit or "").strip(), (booking_id or "").strip()
    return (unit.lower(), booking_id) if unit and booking_id else None


class Ledger:
    def __init__(self, wait_s: float, until: float | None = None) -> None:
        """``until``: the end of the judged period, when it is known to be later than its last exchange."""
        self.wait_s = wait_s
        self.until = until
        self.bookings: dict[Booking, _Booking] = {}
        self.pending: deque[_Expected] = deque()  # in deadline order (each change's answer, see ``_expect``)
        self.doubles: dict[Booking, list] = {}  # booking -> [since, exchange id, reported]
        # Bookings whose double posts were reported, and are no longer looked at on every exchange (they stay
        # here until the booking has one post again); without this, time per exchange grew with the journal.
        self.reported_doubles: set[Booking] = set()
        self.end: float | None = None

    def known(self, booking: Booking | None) -> bool:
        """Has the booking system said this booking exists (and not cancelled it since), or has it a live post?"""
        held = self.bookings.get(booking) if booking is not None else None
        return held is not None and (held.said_id is not None or bool(held.posts))

    def feed(self, view: WebBookingView) -> list[Event]:
        events: list[Event] = []
        if view.t is None or view.operation is None:
            return events
        self.end = view.t if self.end is None else max(self.end, view.t)
        self._expire(view.t, events)
        if view.operation == INDEX_UPDATE:
            if view.index_ok:
                self._apply(view, events)
        elif view.operation in CHANGES:
            if view.performed:
                self._change(view)
        elif view.answered and view.reported:
            self._said(view, events)
        return events

    def finish(self) -> list[Event]:
        """What the end of the journal shows: changes whose wait was over without their update (or not over:
        not judged), and two live posts that outlived the wait."""
        events: list[Event] = []
        end = max(self.end if self.end is not None else -math.inf, self.until if self.until is not None else -math.inf)
        for expected in self.pending:
            if expected.done:
                continue
            if expected.t + self.wait_s <= end:
                events.append(Event(AFTER_CHANGE, expected.exchange_id, self._not_followed(expected)))
            else:
                events.append(Event(NOT_JUDGED, expected.exchange_id))
        self.pending.clear()
        for booking, (since, exchange_id, reported) in self.doubles.items():
            if not reported and since + self.wait_s <= end:
                events.append(Event(ONE_POST, exchange_id, self._double(booking)))
        self.doubles.clear()
        return events

    # -- time passing -----------------------------------------------------------------------------------------

    def _expire(self, now: float, events: list[Event]) -> None:
        while self.pending and self.pending[0].t + self.wait_s < now:
            expected = self.pending.popleft()
            if not expected.done:
                events.append(Event(AFTER_CHANGE, expected.exchange_id, self._not_followed(expected)))
        done = []
        for booking, double in self.doubles.items():
            since, exchange_id, reported = double
            if not reported and since + self.wait_s < now:
                events.append(Event(ONE_POST, exchange_id, self._double(booking)))
                done.append(booking)
        for booking in done:
            del self.doubles[booking]
            self.reported_doubles.add(booking)

    # -- what the booking system said -------------------------------------------------------------------------

    def _said(self, view: WebBookingView, events: list[Event]) -> None:
        for booking_id, invitation, start in view.reported:
            booking = _booking_of(view.unit, booking_id)
            if booking is None:
                continue
            held = self.bookings.setdefault(booking, _Booking())
            held.said_id, held.said_invitation, held.said_start = view.exchange.id, invitation, start
            for post in held.posts.values():
                if post.t >= held.changed_t:
                    events += self._compare(booking, held, post)

    def _change(self, view: WebBookingView) -> None:
        request, result, unit = view.request, view.result, (view.unit or "").strip()
        slot = request.requested if request is not None else None
        start = (slot.start or "").strip() or None if slot is not None else None
        asked = (request.booking_id or "").strip() if request is not None else ""
        # The wait runs from the answer, not from the request: the booking system cannot tell the index about a
        # change before it has made it, and a slow answer must not eat into the wait for the update.
        answered_t = view.t + max(view.exchange.duration_ms or 0.0, 0.0) / 1000.0
        common = dict(exchange_id=view.exchange.id, t=answered_t,
                      time=datetime.fromtimestamp(answered_t, UTC).isoformat(timespec="microseconds"),
                      operation=view.operation, code=result.code or "", unit=unit)
        if view.operation == MAKE:
            booking = _booking_of(unit, result.booking_id)
            if booking is None:
                return  # no bookingId: WB-BOOKINGID-RESULT says so
            self._now_booked(booking, view, start)
            invitation = _booking_of(unit, asked)
            if invitation is not None and invitation != booking:
                self._gone(invitation, view.t)
            self._expect(_Expected(**common, booking_id=booking[1], post_of=(booking,), delete_of=invitation,
                                   invitation=asked or None))
        elif view.operation == CANCEL:
            booking = _booking_of(unit, asked)
            if booking is None:
                return
            self._gone(booking, view.t)
            self._expect(_Expected(**common, booking_id=asked, delete_of=booking))
        elif view.operation == UPDATE_BOOKING:
            old = _booking_of(unit, asked)
            if old is None:
                return
            new = _booking_of((slot.healthcare_facility if slot is not None else None) or unit, asked) or old
            self._now_booked(new, view, start)
            if new != old:
                self._gone(old, view.t)
            self._expect(_Expected(**common, booking_id=asked, post_of=tuple(dict.fromkeys((new, old))),
                                   delete_of=old, citizen=view.citizen))

    def _expect(self, expected: _Expected) -> None:
        """Wait for a change's update: ``pending`` stays in deadline order, though a slow answer's deadline comes
        after that of a quicker change fed later."""
        at = len(self.pending)
        while at and self.pending[at - 1].t > expected.t:
            at -= 1
        self.pending.insert(at, expected)

    def _now_booked(self, booking: Booking, view: WebBookingView, start: str | None) -> None:
        held = self.bookings.setdefault(booking, _Booking())
        held.said_id, held.said_invitation, held.said_start = view.exchange.id, False, start
        held.changed_t = view.t

    def _gone(self, booking: Booking, t: float) -> None:
        held = self.bookings.get(booking)
        if held is not None:
            held.said_id, held.changed_t = None, t
            self._forget_if_empty(booking)

    def _forget_if_empty(self, booking: Booking) -> None:
        held = self.bookings.get(booking)
        if held is not None and held.said_id is None and not held.posts and not any(
                not e.done and booking in (*e.post_of, e.delete_of) for e in self.pending):
            del self.bookings[booking]

    # -- what it told the index -------------------------------------------------------------------------------

    def _apply(self, view: WebBookingView, events: list[Event]) -> None:
        touched: dict[Booking, None] = {}  # in the order met, so findings come in the same order every run
        for post in view.posts:
            booking = _booking_of(post.unit, post.booking_id)
            if booking is None:
                continue
            touched[booking] = None
            if post.delete:
                held = self.bookings.get(booking)
                if held is not None:
                    held.posts.pop(post.key, None)
                for expected in self.pending:
                    if expected.delete_of == booking:
                        expected.got_delete = True
                continue
            held = self.bookings.setdefault(booking, _Booking())
            kept = _Post(post.categorization, post.most_recent, view.exchange.id, view.t, post.unit)
            held.posts[post.key] = kept
            events += self._compare(booking, held, kept)
            for expected in self.pending:
                if booking in expected.post_of:
                    expected.got_post = True
                if expected.citizen and post.resident == expected.citizen and booking != expected.delete_of:
                    expected.got_citizen_post = True
        for expected in self.pending:
            if not expected.done and expected.satisfied():
                expected.done = True
                events.append(Event(FOLLOWED, expected.exchange_id))
        for booking in touched:
            held = self.bookings.get(booking)
            live = len(held.posts) if held is not None else 0
            if live > 1:
                if booking not in self.reported_doubles:
                    self.doubles.setdefault(booking, [view.t, view.exchange.id, False])
            else:
                self.doubles.pop(booking, None)
                self.reported_doubles.discard(booking)
            self._forget_if_empty(booking)

    def _compare(self, booking: Booking, held: _Booking, post: _Post) -> list[Event]:
        """A live post against what the booking system last said of the booking."""
        if held.said_id is None:
            return []
        out = []
        said = INVITATION if held.said_invitation else BOOKING
        unit, booking_id = post.unit, booking[1]
        if post.categorization in (BOOKING, INVITATION) and post.categorization != said \
                and CATEGORIZATION not in post.reported:
            post.reported.add(CATEGORIZATION)
            what = "an invitation (isInvitation=true)" if said == INVITATION else "a booking (isInvitation not true)"
            what_sv = ("en kallelse (isInvitation=true)" if said == INVITATION
                       else "en bokning (isInvitation inte true)")
            out.append(Event(CATEGORIZATION, post.exchange_id, Hit(
                f"The index post for bookingId {booking_id} at {unit} is categorized {post.categorization}, but the "
                f"booking system's own answer (exchange {held.said_id}) says it is {what}: categorization {said}",
                f"Indexposten för bookingId {booking_id} på {unit} har categorization {post.categorization}, men "
                f"bokningssystemets eget svar (anrop {held.said_id}) säger att den är {what_sv}: categorization "
                f"{said}",
                path="/Envelope/Body/Update/engagementTransaction/engagement/categorization",
                hint=f"send categorization {said} for it ({INVITATION} exactly when isInvitation is true); a change "
                "of category is a delete and a new post, since categorization is part of the key",
                hint_sv=f"skicka categorization {said} för den ({INVITATION} precis när isInvitation är true); byte "
                "av kategori är en borttagning och en ny post, eftersom categorization ingår i nyckeln")))
        if post.categorization == BOOKING and held.said_start and (post.most_recent or "") != held.said_start \
                and MOST_RECENT not in post.reported:
            post.reported.add(MOST_RECENT)
            have = post.most_recent or "(none)"
            out.append(Event(MOST_RECENT, post.exchange_id, Hit(
                f"The Booking post for bookingId {booking_id} at {unit} has mostRecentContent {have}, but the booking "
                f"system says the booking starts {held.said_start} (exchange {held.said_id})",
                f"Booking-posten för bookingId {booking_id} på {unit} har mostRecentContent "
                f"{post.most_recent or '(ingen)'}, men bokningssystemet säger att bokningen börjar {held.said_start} "
                f"(anrop {held.said_id})",
                path="/Envelope/Body/Update/engagementTransaction/engagement/mostRecentContent",
                hint="send the booking's start (startTimeInclusive) as mostRecentContent, and update the post when "
                "the time changes",
                hint_sv="skicka bokningens start (startTimeInclusive) som mostRecentContent, och uppdatera posten när "
                "tiden ändras")))
        return out

    # -- the findings of time -------------------------------------------------------------------------------------

    def _not_followed(self, e: _Expected) -> Hit:
        wait = f"{self.wait_s:g}"
        at = swedish_time(e.time)
        if e.operation == MAKE:
            missing = [f"a new {BOOKING} post for bookingId {e.booking_id} (logicalAddress {e.unit})"]
            missing_sv = [f"en ny {BOOKING}-post för bookingId {e.booking_id} (logicalAddress {e.unit})"]
            if e.invitation and not e.got_delete:
                missing.append(f"the delete of the {INVITATION} post for {e.invitation}, the open invitation "
                               "booked from")
                missing_sv.append(f"borttagningen av {INVITATION}-posten för {e.invitation}, den öppna kallelse som "
                                  "bokades")
            if e.got_post:
                missing, missing_sv = missing[1:], missing_sv[1:]
            hint = ("after a booking, send Update: the new Booking post (and, booked from an invitation, deleteFlag "
                    "true for the Invitation post) in the same call or right after")
            hint_sv = ("skicka Update efter en bokning: den nya Booking-posten (och, bokad från en kallelse, "
                       "deleteFlag true för Invitation-posten) i samma anrop eller direkt efter")
        elif e.operation == CANCEL:
            missing = [f"the delete (deleteFlag true) of the post for bookingId {e.booking_id} (logicalAddress "
                       f"{e.unit})"]
            missing_sv = [f"borttagningen (deleteFlag true) av posten för bookingId {e.booking_id} (logicalAddress "
                          f"{e.unit})"]
            hint = "after a cancellation, send Update with deleteFlag true for the booking's post"
            hint_sv = "skicka Update med deleteFlag true för bokningens post efter en avbokning"
        else:
            missing = [f"an update of the post for bookingId {e.booking_id}, or (to another unit or bookingId) its "
                       "delete and a new post"]
            missing_sv = [f"en uppdatering av posten för bookingId {e.booking_id}, eller (till en annan enhet eller "
                          "ett annat bookingId) en borttagning och en ny post"]
            hint = ("after a rebooking, send Update: the same post with the new start as mostRecentContent, or a "
                    "delete and a new post when the unit or the bookingId changed")
            hint_sv = ("skicka Update efter en ombokning: samma post med den nya starten som mostRecentContent, eller "
                       "en borttagning och en ny post när enheten eller bookingId ändrades")
        return Hit(f"{e.operation} answered resultCode={e.code} at {at} (bookingId {e.booking_id}, unit {e.unit}), "
                   f"but no Update from the booking system followed within {wait} s with "
                   + " and ".join(missing),
                   f"{e.operation} besvarades med resultCode={e.code} {at} (bookingId {e.booking_id}, enhet {e.unit}), "
                   f"men inget Update från bokningssystemet kom inom {wait} s med " + " och ".join(missing_sv),
                   path=f"/Envelope/Body/{e.operation}", hint=hint, hint_sv=hint_sv)

    def _double(self, booking: Booking) -> Hit:
        held = self.bookings.get(booking)
        posts = list(held.posts.values()) if held is not None else []
        shown = ", ".join(f"{p.categorization} (exchange {p.exchange_id})" for p in posts)
        shown_sv = ", ".join(f"{p.categorization} (anrop {p.exchange_id})" for p in posts)
        unit = posts[0].unit if posts else booking[0]
        return Hit(f"bookingId {booking[1]} at {unit} had {len(posts) or 'two or more'} live index posts for more "
                   f"than {self.wait_s:g} s: {shown or 'posts with different keys'}; one booking or invitation is "
                   "exactly one index post",
                   f"bookingId {booking[1]} på {unit} hade {len(posts) or 'två eller fler'} levande indexposter i mer "
                   f"än {self.wait_s:g} s: {shown_sv or 'poster med olika nyckel'}; en bokning eller kallelse är "
                   "exakt en indexpost",
                   path="/Envelope/Body/Update/engagementTransaction/engagement",
                   hint="delete the old post (deleteFlag true, with its own key values) when the booking changes "
                   "category, unit or citizen, in the same call as the new one",
                   hint_sv="ta bort den gamla posten (deleteFlag true, med dess egna nyckelvärden) när bokningen byter "
                   "kategori, enhet eller invånare, i samma anrop som den nya")

