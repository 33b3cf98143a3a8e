"""Journal rules: how a consumer behaves across exchanges (warnings, not contract violations).

Each rule is fed the judged requests of the set in time order (``rules.JournalState``), groups them
per consumer itself, and yields ``(exchange id, Hit)``. Each keeps state per consumer, citizen or
message only, never the requests: judging takes the same memory whatever the journal's size.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from ...localtime import swedish_time
from ...rules import Hit
from ...rules.base import JournalState
from .names import ADD_MESSAGE, IS_ACTIVE_USER
from .view import InboxContext as RuleContext
from .view import InboxView as RequestView


def _who(view: RequestView) -> str:
    return (view.exchange.consumer or "").lower()


def _citizen(view: RequestView) -> str:
    return (view.subject_of_care_id or "").strip()


def message_keys(view: RequestView) -> tuple[tuple, ...]:
    """What makes a later request the same message again (a retry, a resend): the same consumer and body,
    or the same consumer, citizen and messageText of an AddMessage. Made once per view (the retry rule and two
    test cases ask for them)."""
    keys = view.keys
    if keys is None:
        who = _who(view)
        keys = (("body", who, view.body_sha256),)
        if view.operation == ADD_MESSAGE and view.message_text is not None:
            keys += (("message", who, _citizen(view), view.message_text),)
        view.keys = keys
    return keys


def _clock(t: float) -> str:
    """A time in a finding's text: Swedish local time with its zone, as the protocol writes times."""
    return swedish_time(datetime.fromtimestamp(t, UTC))


class active_user_checked(JournalState):  # noqa: N801 - named as the rule it is
    """AddMessage to a citizen whom the same consumer has not checked with IsActiveUser before.

    Checked = an earlier IsActiveUser for that citizen that got an answer (HTTP 200). One warning
    per consumer and citizen, at the first unchecked message; a message sent after IsActiveUser
    answered status=false warns too (once per such answer).
    """

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.status: dict[tuple[str, str], bool | None] = {}  # last answer per (consumer, citizen)
        self.warned: set[tuple[str, str]] = set()

    def feed(self, view: RequestView) -> Iterator[tuple[int, Hit]]:
        status, warned = self.status, self.warned
        key = (_who(view), _citizen(view))
        if not key[1]:
            return
        if view.operation == IS_ACTIVE_USER:
            if view.exchange.http_status == 200:
                status[key] = view.active
                warned.discard(key)
            return
        if key in warned or view.operation != ADD_MESSAGE:
            return
        path, line = view.where("subjectOfCareId")
        if key not in status:
            warned.add(key)
            yield view.exchange.id, Hit(
                f"Message to {key[1]} without an earlier IsActiveUser for that citizen; the contract requires the "
                "consumer to make sure the citizen is an active 1177 user before sending",
                f"Meddelande till {key[1]} utan ett tidigare IsActiveUser för invånaren; kontraktet kräver att "
                "tjänstekonsumenten säkerställer att invånaren är aktiv användare av 1177 innan den skickar",
                path=path, line=line,
                hint="call IsActiveUser first and send only when status=true (if you check in an equivalent way, "
                "say so in the test protocol)",
                hint_sv="anropa IsActiveUser först och skicka bara när svaret är status=true (kontrollerar ni på ett "
                "likvärdigt sätt, ange det i testprotokollet)")
        elif status[key] is False:
            warned.add(key)
            yield view.exchange.id, Hit(
                f"Message to {key[1]} although IsActiveUser answered status=false for that citizen; the inbox "
                "answers 'Target person is not active user'",
                f"Meddelande till {key[1]} trots att IsActiveUser svarade status=false för invånaren; inkorgen "
                "svarar 'Target person is not active user'",
                path=path, line=line, hint="send only when IsActiveUser answers status=true",
                hint_sv="skicka bara när IsActiveUser svarar status=true")


class retry_backoff(JournalState):  # noqa: N801 - named as the rule it is
    """A retry sooner than ``ctx.min_retry_s`` after a technical fault.

    A technical fault is one a retry can cure (``RequestView.technical_fault``: VP009, a producer's
    Server fault); a Client fault needs a corrected request, and resultCode=ERROR is a logical answer.
    A retry is a later request of the same consumer with the same body (SHA-256), or an AddMessage
    with the same citizen and messageText. A success ends the sequence: a later identical request is
    a new send, not a retry. Kept: the failed attempts not yet answered by a success.
    """

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.failed: dict[tuple, tuple[float, int]] = {}  # key -> (time, exchange id) of the last failed attempt

    def feed(self, view: RequestView) -> Iterator[tuple[int, Hit]]:
        failed, ctx = self.failed, self.ctx
        if view.t is None:
            return
        keys = message_keys(view)
        earlier = next((failed[k] for k in keys if k in failed), None)
        if earlier is not None and view.t - earlier[0] < ctx.min_retry_s:
            wait = view.t - earlier[0]
            yield view.exchange.id, Hit(
                f"Retried {wait:.1f} s after the failed attempt (exchange {earlier[1]}, HTTP 500); the contract asks "
                f"for a growing back-off, the first retry after {ctx.min_retry_s:g} s at the earliest",
                f"Nytt försök {wait:.1f} s efter det misslyckade anropet (anrop {earlier[1]}, HTTP 500); kontraktet "
                f"kräver ökande väntetid, första omförsöket tidigast efter {ctx.min_retry_s:g} s",
                path="/Envelope",
                hint="retry after 4 s, then +20 s, +5 min, +30 min and so on",
                hint_sv="försök igen efter 4 s, sedan efter ytterligare 20 s, 5 min, 30 min och så vidare")
        if view.technical_fault:
            for k in keys:
                failed[k] = (view.t, view.exchange.id)
        elif failed:
            for k in keys:
                failed.pop(k, None)


class batch_size(JournalState):  # noqa: N801 - named as the rule it is
    """More than ``ctx.batch_max`` AddMessage calls in one batch.

    A batch is a consumer's run of AddMessage calls in which each call comes less than
    ``ctx.batch_gap_s`` after the one before; a pause of at least that long starts a new batch.
    So "at most 1000 per batch, 5 minutes between batches" is one test: no run longer than 1000.
    One warning per oversized batch, on its call number batch_max + 1, giving the batch's size.
    """

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.runs: dict[str, list] = {}  # consumer -> [first time, last time, count, first id, id of call max + 1]

    def report(self, run: list) -> Iterator[tuple[int, Hit]]:
        ctx = self.ctx
        first, last, count, first_id, over_id = run
        if count > ctx.batch_max:
            yield over_id, Hit(
                f"A batch of {count} AddMessage calls from {_clock(first)} to {_clock(last)} (exchange {first_id} "
                f"on) without a pause of {ctx.batch_gap_s:g} s; the contract allows at most {ctx.batch_max} "
                f"messages per batch with {ctx.batch_gap_s / 60:g} minutes between batches",
                f"En körning med {count} AddMessage-anrop från {_clock(first)} till {_clock(last)} (från anrop "
                f"{first_id}) utan paus på {ctx.batch_gap_s:g} s; kontraktet tillåter högst {ctx.batch_max} "
                f"meddelanden per körning med {ctx.batch_gap_s / 60:g} minuter mellan körningarna",
                path="/Envelope/Body/AddMessageToPatientPortalInbox",
                hint=f"send at most {ctx.batch_max} messages, then pause {ctx.batch_gap_s / 60:g} minutes",
                hint_sv=f"skicka högst {ctx.batch_max} meddelanden och gör sedan en paus på "
                f"{ctx.batch_gap_s / 60:g} minuter")

    def feed(self, view: RequestView) -> Iterator[tuple[int, Hit]]:
        if view.t is None:
            return
        run = self.runs.get(_who(view))
        if run is None or view.t - run[1] >= self.ctx.batch_gap_s:
            if run is not None:
                yield from self.report(run)
            self.runs[_who(view)] = [view.t, view.t, 1, view.exchange.id, None]
            return
        run[1] = view.t
        run[2] += 1
        if run[2] == self.ctx.batch_max + 1:
            run[4] = view.exchange.id

    def finish(self) -> Iterator[tuple[int, Hit]]:
        for run in self.runs.values():
            yield from self.report(run)


class general_information(JournalState):  # noqa: N801 - named as the rule it is
    """The same messageText to ``ctx.same_text_threshold`` or more distinct citizens.

    The inbox is for messages about the citizen's own care, not a general information channel.
    One warning per consumer and text, on the message that reaches the threshold. Kept per text: a
    64-bit digest of consumer and text, and its first citizen (a set only once a second one comes),
    so a journal of different texts costs little.
    """

    def __init__(self, ctx: RuleContext) -> None:
        super().__init__(ctx)
        self.citizens: dict[int, str | set[str]] = {}

    def feed(self, view: RequestView) -> Iterator[tuple[int, Hit]]:
        ctx = self.ctx
        text = (view.message_text or "").strip()
        if not text:
            return
        key = int.from_bytes(hashlib.blake2b(f"{_who(view)}\0{text}".encode("utf-8", "surrogatepass"),
                                             digest_size=8).digest())
        citizen = sys.intern(_citizen(view))  # one string per citizen, however many texts
        first = self.citizens.get(key)
        if first is None:
            self.citizens[key] = citizen
            seen = {citizen}
            before = 0
        else:
            seen = first if isinstance(first, set) else {first}
            before = len(seen)
            seen.add(citizen)
            if not isinstance(first, set) and len(seen) > 1:
                self.citizens[key] = seen
        if before < ctx.same_text_threshold <= len(seen):
            path, line = view.where("message/messageText")
            excerpt = text if len(text) <= 60 else text[:57] + "..."
            yield view.exchange.id, Hit(
                f"The same messageText went to {len(seen)} different citizens ('{excerpt}'); the 1177 inbox is for "
                "messages to one citizen about that citizen's own care, not a general information channel",
                f"Samma messageText har skickats till {len(seen)} olika invånare ('{excerpt}'); 1177:s inkorg är "
                "till för meddelanden till en invånare om dennes egen vård, inte för allmän information",
                path=path, line=line,
                hint="address each message to the citizen it concerns; publish general information elsewhere",
                hint_sv="skicka varje meddelande till den invånare det gäller; publicera allmän information på "
                "annat håll")
