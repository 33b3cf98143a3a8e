"""The platform's handling of one SOAP call: identify, parse, route, authorise, produce, record.

A plain function over a Request value; the HTTP server, the in-process ``responses`` mode and the
tests all call it. The order of checks is the real platform's, so the same request gets the same
fault: VP011, VP002, VP014, VP015, VP013, VP008, VP003, VP004/VP006/VP010, VP007, VP005, VP009.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import date

from . import faults
from .database import UNREACHABLE, first_line
from .envelope import MalformedRequest, read_answer, read_envelope, rewrite_address_header
from .faults import VPFault
from .journal import Effect, Exchange, Journal
from .messages import XML_CONTENT_TYPE, Request, Response
from .producers import Producer, ProducerAnswer, ProducerCall
from .producers.faults import FaultInjector
from .settings import Settings
from .shortcuts import local_today, new_correlation_id, utc_now_iso
from .tak import PROFILES, RouteOutcome, Tak

log = logging.getLogger("mockplatform")

CORRELATION = "x-skltp-correlation-id"
ROUTING_HISTORY = "x-rivta-routing-history"
ORIGINAL_CONSUMER = "x-rivta-original-serviceconsumer-hsaid"
BUILTIN_SCHEME = "builtin:"
# How the consumer was identified (the journal's identified_by): a verified client certificate over TLS;
# a trusted x-vp-sender-id over plain HTTP; the configured default consumer, because nothing named one.
BY_CERTIFICATE, BY_SENDER_HEADER, BY_DEFAULT = "certificate", "sender-header", "default"
# A request larger than this is handled by a worker thread, not on the event loop: parsing and validating
# it may take long (eight megabytes of attributes take seconds), and lxml lets the loop answer the
# others meanwhile. Ordinary calls are a few kilobytes.
LARGE_REQUEST_BYTES = 256 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade",
               "proxy-authenticate", "proxy-authorization", "content-type", "soapaction", "date", "server"}
_NOT_PASSED_ON = frozenset(_HOP_BY_HOP | {CORRELATION, "x-skltp-prt"})  # producer headers the consumer never sees


class _Context:
    """What the pipeline has learnt so far; becomes the journal row. (A slotted class: one is made per call.)"""

    __slots__ = ("correlation_id", "consumer", "identified_by", "logical_address", "contract", "trace",
                 "producer_address", "producer_status", "producer_ms", "effects", "deferred", "injected",
                 "observations")

    def __init__(self, correlation_id: str) -> None:
        self.correlation_id = correlation_id
        self.consumer: str | None = None
        self.identified_by: str | None = None  # how the consumer was identified (IDENTIFIED_BY)
        self.logical_address: str | None = None
        self.contract: str | None = None
        self.trace: list[str] = []
        self.producer_address: str | None = None
        self.producer_status: int | None = None
        self.producer_ms: float | None = None
        self.effects: list[Effect] = []
        self.deferred: str | None = None
        self.injected: str | None = None  # the kind of the fault injected into this call's answer
        self.observations: str | None = None  # JSON: what a domain's endpoint observed (``record_endpoint``)


def _header_map(request: Request) -> dict[str, str]:
    """The request's headers by lower-case name, the first of each name winning as in ``Request.header``:
    one pass, where the pipeline would otherwise scan the list once per header it asks for."""
    headers: dict[str, str] = {}
    for key, value in request.headers:
        headers.setdefault(key.lower(), value)
    return headers


def correlation_id_for(given: str | None) -> str:
    """The consumer's correlation id, echoed; a new one when it sent none, or one with control characters
    (a NUL, an escape sequence), which cannot go back in a header or into a log line as it is."""
    return given if given and given.isprintable() else new_correlation_id()


class SoapPipeline:
    def __init__(
        self,
        settings: Settings,
        tak: Tak | None,
        journal: Journal,
        builtin_producers: dict[str, Producer],
        http_producer: Producer,
        faults: FaultInjector | None = None,
        today: Callable[[], date] = local_today,
    ) -> None:
        self.settings = settings
        self.tak = tak
        self.journal = journal
        self.builtin_producers = {k.lower(): v for k, v in builtin_producers.items()}
        self.http_producer = http_producer
        self.faults = faults
        self.today = today
        self._tak_checked: Tak | None = None
        self._remote_routes = True

    def may_wait(self, request: Request) -> bool:
        """Whether handling this call may wait on something outside the process: an armed fault, or a
        route to a producer URL; or takes long in itself, as a large request may (LARGE_REQUEST_BYTES).
        The HTTP server hands such calls to a worker thread and answers the rest on its event loop. The
        envelope read here is kept on the request for ``handle`` on the loop."""
        if self.faults is not None:
            request.faults_armed = self.faults.armed()
            if request.faults_armed:
                return True
        if len(request.body) > LARGE_REQUEST_BYTES:
            return True
        tak = self.tak
        if tak is None:
            return False
        if tak is not self._tak_checked:
            self._remote_routes = any(not r.address.lower().startswith(BUILTIN_SCHEME) for r in tak.routes)
            self._tak_checked = tak
        if not self._remote_routes or request.body_size is not None:  # over the limit: VP015 at once
            return False
        try:
            envelope = read_envelope(request.body)
        except MalformedRequest:
            return False  # VP015 at once
        address = envelope.logical_address
        if address is not None and address.strip():
            route = tak.route(envelope.contract, address, self.today()).route
            if route is not None and not route.address.lower().startswith(BUILTIN_SCHEME):
                return True  # the worker reads its own envelope: an lxml tree is best kept to one thread
        request.envelope = envelope
        return False

    # -- the one entry point ------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        wall = utc_now_iso()
        headers = _header_map(request)
        ctx = _Context(correlation_id_for(headers.get(CORRELATION)))
        vp_fault: VPFault | None = None
        try:
            outcome = self._process(request, headers, ctx)
        except UNREACHABLE as exc:  # the database is down: nothing can be journaled, so the call is not answered
            log.error("the database cannot be reached (%s): %s answered VP012", first_line(exc), ctx.correlation_id)
            outcome = faults.vp012("the journal's database cannot be reached")
        except Exception as exc:  # a bug of ours: answer like the platform would, and keep the evidence
            log.exception("internal error while handling %s", ctx.correlation_id)
            outcome = faults.vp012(f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, VPFault):
            vp_fault = outcome = _xml_safe(outcome)
            response = fault_response(outcome, ctx.correlation_id, self.settings.instance_name)
            ctx.effects, ctx.deferred = [], None
        else:
            response = outcome
        try:
            response.exchange_id = self._record(request, response, ctx, vp_fault, wall, started)
        except UNREACHABLE as exc:
            log.error("the database cannot be reached (%s): exchange %s not journaled", first_line(exc),
                      ctx.correlation_id)
            return unrecorded(response, self.settings.instance_name)
        except Exception:  # the journal is broken (disk full, locked): say so, never answer unrecorded
            log.exception("could not record exchange %s", ctx.correlation_id)
            return unrecorded(response, self.settings.instance_name)
        return response  # journaled, or held for ``commit_held`` when inside ``HeldGroup.handle``

    # -- answering many calls with one commit ---------------------------------------------------

    def hold(self) -> HeldGroup:
        """A group of calls answered now and journaled later, together, in one transaction: the HTTP
        server answers every call of one turn of its event loop this way. ``commit_held`` then says what
        may be sent, by the same rule as ``handle``: never an answer that is not in the journal."""
        return HeldGroup(self)

    def commit_held(self, group: HeldGroup) -> list[Response]:
        """Commit the group's exchanges in one transaction. Returns, for each call in the order it was
        handled, the response to send: its own, or VP012 (``unrecorded``) when an exchange it recorded
        could not be written. The others in the group are kept and answered as usual."""
        held, calls = group.held, group.calls
        group.held, group.calls = [], []
        try:
            if held:
                self.journal.commit(held)
        except Exception as exc:  # the commit itself broke: nothing of the group can be trusted to be kept
            if isinstance(exc, UNREACHABLE):
                log.error("the database cannot be reached (%s): %d exchange(s) not journaled", first_line(exc),
                          len(held))
            else:
                log.exception("could not commit %d held exchange(s)", len(held))
            for pending in held:
                pending.error = exc
        answers, start = [], 0
        for response, end in calls:
            error = next((p.error for p in held[start:end] if p.error is not None), None)
            if error is not None:
                log.error("could not record exchange: %s", error)
                response = unrecorded(response, self.settings.instance_name)
            answers.append(response)
            start = end
        return answers

    # -- the steps, in the real platform's order ------------------------------------------------

    def _process(self, request: Request, headers: dict[str, str], ctx: _Context) -> Response | VPFault:
        s = self.settings
        identity = self._consumer(request, headers, ctx)
        if isinstance(identity, VPFault):
            return identity
        ctx.consumer = identity

        history = headers.get(ROUTING_HISTORY)
        if history and s.instance_id in [h.strip() for h in history.split("#")]:
            return faults.vp014()

        if request.body_size is not None and request.body_size > s.max_body_bytes:
            return faults.vp015(
                f"Request body of {request.body_size} bytes exceeds the limit of {s.max_body_bytes} bytes"
            )
        envelope = request.envelope
        if envelope is None:
            try:
                envelope = read_envelope(request.body)
            except MalformedRequest as exc:
                return faults.vp015(str(exc))
        ctx.contract = envelope.contract
        ctx.logical_address = envelope.logical_address

        if (s.original_consumer_allowed is not None and (headers.get(ORIGINAL_CONSUMER) or "").strip()
                and identity.lower() not in {c.lower() for c in s.original_consumer_allowed}):
            return faults.vp013()
        if self.tak is None:
            return faults.vp008()
        address = envelope.logical_address
        if address is None or not address.strip():
            return faults.vp003()

        day = self.today()
        decision = self.tak.route(envelope.contract, address, day)
        ctx.trace = list(decision.shown_trace)
        if decision.outcome is RouteOutcome.NOT_FOUND:
            return faults.vp004(envelope.contract, address)
        if decision.outcome is RouteOutcome.AMBIGUOUS:
            return faults.vp006(envelope.contract, address)
        if decision.outcome is RouteOutcome.NO_ADDRESS:
            return faults.vp010(envelope.contract, address)
        route = decision.route
        ctx.producer_address = route.address

        auth = self.tak.authorise(identity, envelope.contract, address, day)
        ctx.trace += auth.shown_trace
        if not auth.allowed:
            return faults.vp007(envelope.contract, address, identity)

        if route.profile.upper() not in PROFILES:
            return faults.vp005(envelope.profile or "rivtabp21")
        rewrite_address_header(envelope, route.profile)

        producer = self._producer_for(route.address)
        if producer is None:
            return faults.vp009(route.address, faults.VP009_UNSUPPORTED_ADDRESS)
        call = ProducerCall(
            route=route,
            contract=envelope.contract,
            logical_address=address,
            consumer=identity,
            correlation_id=ctx.correlation_id,
            envelope=envelope,
            # What goes to a producer over HTTP; an in-process producer reads no headers.
            headers=self._producer_headers(request, identity, ctx.correlation_id, route.address)
            if producer is self.http_producer else [],
            timeout_s=s.producer_timeout_s(envelope.contract),
            request_size=len(request.body),
        )
        fault = self.faults.take(call, request.faults_armed) if self.faults is not None else None
        t0 = time.perf_counter()
        if fault is not None:
            ctx.trace.append(f"fault injected: {fault}")
            ctx.injected = fault.kind.value
            answer = self.faults.call(producer, call, fault)
        else:
            answer = producer(call)
        ctx.producer_ms = (time.perf_counter() - t0) * 1000.0
        ctx.producer_status = answer.status
        return self._judge(answer, route.address, ctx)

    def _consumer(self, request: Request, headers: dict[str, str], ctx: _Context) -> str | VPFault:
        """Who is calling: certificate SERIALNUMBER over TLS; x-vp-sender-id or the default over HTTP.
        How it was told is noted in ``ctx.identified_by`` (the protocol says it)."""
        s = self.settings
        if request.tls:  # x-vp-sender-id is for the internal plain-HTTP entry only: the certificate decides
            if not request.tls_serialnumber:
                return faults.vp002()
            ctx.identified_by = BY_CERTIFICATE
            return request.tls_serialnumber
        sender = (headers.get("x-vp-sender-id") or "").strip()
        if not s.strict_sender:
            if sender:
                ctx.identified_by = BY_SENDER_HEADER
                return sender
            if s.default_consumer:
                ctx.identified_by = BY_DEFAULT
                return s.default_consumer
            return faults.vp002()
        if not sender or (headers.get("x-vp-instance-id") or "").strip() != s.instance_id:
            return faults.vp002()  # not trusted: ignored, as on the real platform, and there is no certificate
        if not (request.client_ip in s.sender_allowed_ips if s.sender_allowed_ips else request.from_loopback):
            return faults.vp011(request.client_ip, "x-vp-sender-id")
        ctx.identified_by = BY_SENDER_HEADER
        return sender

    def _producer_headers(self, request: Request, consumer: str, correlation_id: str, address: str):
        out: list[tuple[str, str]] = [("Content-Type", XML_CONTENT_TYPE)]
        original = None
        history = None
        for key, value in request.headers:
            low = key.lower()
            if low == "soapaction":
                out.append((key, value))
            elif low == ROUTING_HISTORY:
                history = value
            elif low == ORIGINAL_CONSUMER:
                original = value
            elif low.startswith("x-rivta-"):
                out.append((key, value))
        out.append((ORIGINAL_CONSUMER, original if original else consumer))
        out.append((ROUTING_HISTORY, f"{history or consumer}#{self.settings.instance_id}"))
        if not address.lower().startswith("https:"):
            out += [("x-vp-sender-id", consumer), ("x-vp-instance-id", self.settings.instance_id),
                    (CORRELATION, correlation_id)]
        return out

    def _producer_for(self, address: str) -> Producer | None:
        low = address.lower()
        if low.startswith(BUILTIN_SCHEME):
            return self.builtin_producers.get(low[len(BUILTIN_SCHEME):])
        if low.startswith(("http://", "https://")):
            return self.http_producer
        return None

    def _judge(self, answer: ProducerAnswer, url: str, ctx: _Context) -> Response | VPFault:
        """The real platform's table: what the consumer gets for what the producer did."""
        if answer.status is None:
            return faults.vp009(url, answer.failure or "")
        if not answer.body.strip():
            return faults.vp009(url, faults.VP009_EMPTY, answer.status if answer.status >= 300 else None)
        if 200 <= answer.status < 300 or (answer.status == 500 and _is_soap11_fault(answer.body)):
            ctx.effects, ctx.deferred = answer.effects, answer.deferred
            headers = [(k, v) for k, v in answer.headers if k.lower() not in _NOT_PASSED_ON]
            headers += [("Content-Type", XML_CONTENT_TYPE), (CORRELATION, ctx.correlation_id)]
            if 200 <= answer.status < 300:
                headers.append(("x-skltp-prt", str(int(round(ctx.producer_ms or 0)))))
            return Response(answer.status, headers, answer.body)
        return faults.vp009(url, faults.vp009_http_status(answer.status), answer.status)

    def record_plain(self, request: Request, response: Response) -> None:
        """Record an exchange that never reached the pipeline: a POST outside /vp, or one the HTTP server
        refused for its framing (two Content-Length headers, a body cut short)."""
        ctx = _Context(correlation_id_for(request.header(CORRELATION)))
        self._record(request, response, ctx, None, utc_now_iso(), time.perf_counter())

    def record_endpoint(self, request: Request, response: Response, *, consumer: str | None, contract: str,
                        logical_address: str | None = None, trace: list[str] | None = None,
                        injected: str | None = None, observations: dict | None = None,
                        effects: list[Effect] | None = None, started: float | None = None,
                        wall: str | None = None, identified_by: str | None = None) -> int | None:
        """Record an exchange answered by a domain's own endpoint (``Domain.endpoints``: an SSO message, not a
        SOAP call), with what it observed, so that its rules judge it like a call; ``effects`` are its state
        changes, written in the same transaction. ``started``/``wall``: when the request came (default now);
        ``identified_by``: how the sender was known (the protocol says it)."""
        ctx = _Context(correlation_id_for(request.header(CORRELATION)))
        ctx.consumer, ctx.contract, ctx.logical_address = consumer, contract, logical_address
        ctx.trace = list(trace or [])
        ctx.injected = injected
        ctx.observations = json.dumps(observations, ensure_ascii=False, sort_keys=True) if observations else None
        ctx.effects = list(effects or [])
        ctx.identified_by = identified_by
        return self._record(request, response, ctx, None, wall or utc_now_iso(),
                            time.perf_counter() if started is None else started)

    # -- the one place the journal is written -----------------------------------------------------

    def _record(self, request: Request, response: Response, ctx: _Context, vp_fault: VPFault | None,
                wall: str, started: float) -> int | None:
        """``wall``: when the request came, as ``utc_now_iso`` gives it."""
        limit = self.settings.journal_body_bytes
        body = request.body if len(request.body) <= limit else request.body[:limit]
        exchange = Exchange(
            time=wall,
            duration_ms=(time.perf_counter() - started) * 1000.0,
            client=request.client,
            method=request.method,
            path=request.path,
            request_headers=list(request.headers),
            request_body=body,
            request_size=request.body_size if request.body_size is not None else len(request.body),
            http_status=response.status,
            response_headers=list(response.headers),
            response_body=response.body,
            consumer=ctx.consumer,
            logical_address=ctx.logical_address,
            contract=ctx.contract,
            correlation_id=ctx.correlation_id,
            vp_code=vp_fault.code if vp_fault else None,
            fault_detail=vp_fault.detail if vp_fault else None,
            route_trace=ctx.trace,
            producer_address=ctx.producer_address,
            producer_status=ctx.producer_status,
            producer_ms=ctx.producer_ms,
            effect=ctx.deferred,
            injected=ctx.injected,
            identified_by=ctx.identified_by,
            client_certificate=_certificate(request) if ctx.identified_by == BY_CERTIFICATE else None,
            observations=ctx.observations,
        )
        return self.journal.record(exchange, ctx.effects)


def _certificate(request: Request) -> str:
    """The client certificate as the journal keeps it: its subject and its issuer."""
    return f"subject: {request.tls_subject or '?'}; issuer: {request.tls_issuer or '?'}"


class HeldGroup:
    """Calls answered but not yet journaled (see ``SoapPipeline.hold``): each call's exchanges are held,
    not committed, until ``commit`` writes them all in one transaction and returns what may be sent."""

    __slots__ = ("pipeline", "held", "calls")

    def __init__(self, pipeline: SoapPipeline) -> None:
        self.pipeline = pipeline
        self.held: list = []  # the journal's pending exchanges, in the order they were recorded
        self.calls: list[tuple[Response, int]] = []  # each call's response, and where its exchanges end in held

    def handle(self, handler: Callable[[Request], Response], request: Request) -> None:
        """Answer ``request`` with ``handler`` (the HTTP routes' ``handle``, or the pipeline's own),
        holding what it journals; the answer waits for ``commit``."""
        with self.pipeline.journal.holding(self.held):
            response = handler(request)
        self.calls.append((response, len(self.held)))

    def commit(self) -> list[Response]:
        """Journal the group in one transaction; the response to send for each call, in order."""
        return self.pipeline.commit_held(self)


def fault_response(fault: VPFault, correlation_id: str, instance_name: str) -> Response:
    """The platform's own fault as an HTTP answer: 500, SOAP 1.1, the correlation id echoed."""
    return Response(500, [("Content-Type", XML_CONTENT_TYPE), (CORRELATION, correlation_id)],
                    fault.render(instance_name))


def unrecorded(response: Response, instance_name: str) -> Response:
    """What is answered instead of ``response`` when its exchange could not be journaled: never an
    answer that is not in the journal."""
    correlation = next((v for k, v in response.headers if k.lower() == CORRELATION), None) or new_correlation_id()
    return fault_response(faults.vp012("the journal could not be written"), correlation, instance_name)


_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(fault: VPFault) -> VPFault:
    """The detail may quote what the consumer sent (a sender header, a parser message); a character
    XML 1.0 cannot carry would make the fault itself unreadable, so it becomes U+FFFD."""
    detail = _NOT_XML_CHAR.sub("\ufffd", fault.detail)
    return fault if detail == fault.detail else VPFault(fault.code, detail)


def _is_soap11_fault(body: bytes) -> bool:
    """Whether a producer's HTTP 500 is a SOAP 1.1 fault (passed on) rather than an error page (VP009)."""
    answer = read_answer(body)
    return answer is not None and answer.soap11 and answer.is_fault
