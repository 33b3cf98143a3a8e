"""Journal rules: how a consumer behaves across exchanges (warnings, not contract violations).

Each rule gets the judged requests of the set in time order, grouped per consumer inside the
rule, and yields ``(exchange id, Hit)``. Each is one pass with dictionaries: O(n).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from ...rules import Hit
from .names import ADD_MESSAGE, IS_ACTIVE_USER
from .view import InboxContext as RuleContext
from .view import InboxView as RequestView


def _who(view: RequestView) -> str:
    return (view.exchange.consumer or "").lower()


def _citizen(view: RequestView) -> str:
    return (view.subject_of_care_id or "").strip()


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def active_user_checked(views: list[RequestView], ctx: RuleContext) -> Iterator[tuple[int, Hit]]:
    """AddMessage to a citizen whom the same consumer has not checked with IsActiveUser before.

    Checked = an earlier IsActiveUser for that citizen that got an answer (HTTP 200). One warning
    per consumer and citizen, at the first unchecked message; a message sent after IsActiveUser
    answered status=false warns too (once per such answer).
    """
    status: dict[tuple[str, str], bool | None] = {}  # last answer per (consumer, citizen)
    warned: set[tuple[str, str]] = set()
    for view in views:
        key = (_who(view), _citizen(view))
        if not key[1]:
            continue
        if view.operation == IS_ACTIVE_USER:
            if view.exchange.http_status == 200:
                status[key] = view.active
                warned.discard(key)
            continue
        if key in warned or view.operation != ADD_MESSAGE:
            continue
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


def retry_backoff(views: list[RequestView], ctx: RuleContext) -> Iterator[tuple[int, Hit]]:
    """A retry sooner than ``ctx.min_retry_s`` after a technical fault.

    A technical fault is one a retry can cure (``RequestView.technical_fault``: VP009, a producer's
    Server fault); a Client fault needs a corrected request, and resultCode=ERROR is a logical answer.
    A retry is a later request of the same consumer with the same body (SHA-256), or an AddMessage
    with the same citizen and messageText. A success ends the sequence: a later identical request is
    a new send, not a retry.
    """
    failed: dict[tuple, tuple[float, int]] = {}  # key -> (time, exchange id) of the last failed attempt
    for view in views:
        if view.t is None:
            continue
        who = _who(view)
        keys: list[tuple] = [("body", who, view.body_sha256)]
        if view.operation == ADD_MESSAGE and view.message_text is not None:
            keys.append(("message", who, _citizen(view), view.message_text))
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
        else:
            for k in keys:
                failed.pop(k, None)


def batch_size(views: list[RequestView], ctx: RuleContext) -> Iterator[tuple[int, Hit]]:
    """More than ``ctx.batch_max`` AddMessage calls in one batch.

    A batch is a consumer's run of AddMessage calls in which each call comes less than
    ``ctx.batch_gap_s`` after the one before; a pause of at least that long starts a new batch.
    So "at most 1000 per batch, 5 minutes between batches" is one test: no run longer than 1000.
    One warning per oversized batch, on its call number batch_max + 1, giving the batch's size.
    """
    runs: dict[str, list] = {}  # consumer -> [first time, last time, count, first id, id of call batch_max + 1]

    def report(run: list) -> Iterator[tuple[int, Hit]]:
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

    for view in views:
        if view.t is None:
            continue
        run = runs.get(_who(view))
        if run is None or view.t - run[1] >= ctx.batch_gap_s:
            if run is not None:
                yield from report(run)
            runs[_who(view)] = [view.t, view.t, 1, view.exchange.id, None]
            continue
        run[1] = view.t
        run[2] += 1
        if run[2] == ctx.batch_max + 1:
            run[4] = view.exchange.id
    for run in runs.values():
        yield from report(run)


def general_information(views: list[RequestView], ctx: RuleContext) -> Iterator[tuple[int, Hit]]:
    """The same messageText to ``ctx.same_text_threshold`` or more distinct citizens.

    The inbox is for messages about the citizen's own care, not a general information channel.
    One warning per consumer and text, on the message that reaches the threshold.
    """
    citizens: dict[tuple[str, str], set[str]] = {}
    for view in views:
        text = (view.message_text or "").strip()
        if not text:
            continue
        seen = citizens.setdefault((_who(view), text), set())
        before = len(seen)
        seen.add(_citizen(view))
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
