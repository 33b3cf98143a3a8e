"""The generic producer (``builtin:generic``): answers any loaded contract's operation from its schema.

It behaves as the fake inbox does towards a request: a SOAP 1.2 envelope gets the SOAP 1.1 VersionMismatch
fault, and a request its contract's schema refuses gets the Client fault naming every violation (unless
lenient). Then it answers the operation's response: from the folder's template for the operation, if there
is one (``templates``), else the smallest schema-valid response, made once per operation (``synthesis``), with
the time of each call put in its dates and timestamps (``MinimalAnswer``).
Every answer is checked against the same schema before it leaves; a template that fails on a real request
(an error in its code, an answer the schema refuses) is answered with a Server fault that says so, naming
the template's file and line: the platform never passes on an answer it made wrong.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from ...domains import shipped
from ...localtime import zone
from ...producers import ProducerAnswer, ProducerCall, fault_answer, schema_fault, soap_answer, version_mismatch
from .names import ADDRESS
from .store import ScenarioState
from .synthesis import SynthesisError, minimal_element, minimal_made, times
from .templates import RenderProblem, RequestView, Templates

if TYPE_CHECKING:
    from ...app import Application
    from ...contracts.registry import LoadedContract


class GenericProducer:
    def __init__(self, app: Application, templates: Templates) -> None:
        self.contracts = app.contracts
        self.domains = app.domains
        self.lenient = app.settings.lenient
        self.templates = templates
        self.state = ScenarioState(app.journal)
        self._minimal: dict[str, MinimalAnswer] = {}  # responder namespace (lower case) -> the minimal answer
        # responder namespace (lower case) -> its ERROR answer and the local name of its text (see logical_error)
        self._errors: dict[str, tuple[etree._Element, str | None] | None] = {}
        self._lock = threading.Lock()

    def __call__(self, call: ProducerCall) -> ProducerAnswer:
        mismatch = version_mismatch(call.envelope.soap_namespace)
        if mismatch is not None:
            return mismatch
        loaded = self.contracts.get(call.contract)
        if loaded is None:
            return fault_answer("SOAP-ENV:Server", f"The generic producer ({ADDRESS}) knows no contract "
                                f"{call.contract}: load its release package with --contracts")
        payload = call.envelope.payload
        if not self.lenient:
            findings = loaded.validator.findings(payload)
            if findings:
                return schema_fault(findings)
        template = self.templates.get(call.contract)
        if template is None:
            try:
                return soap_answer(self.minimal(loaded).text())
            except SynthesisError as exc:
                return fault_answer("SOAP-ENV:Server", f"The generic producer cannot make an answer to "
                                    f"{loaded.interaction.name}: {exc}")
        request = RequestView(payload, call.logical_address, call.consumer)
        try:
            rendered = template.answer(request, self.state, loaded)
        except RenderProblem as problem:
            return fault_answer("SOAP-ENV:Server", f"The generic producer's response template failed: {problem}")
        answer = soap_answer(etree.tostring(rendered.element, encoding="unicode"))
        answer.effects.extend(rendered.effects)
        return answer

    def minimal(self, loaded: LoadedContract) -> MinimalAnswer:
        """The smallest valid response of the contract's operation, made and checked once (its times said anew
        for each call: ``MinimalAnswer.text``)."""
        key = loaded.interaction.responder_namespace.lower()
        xml = self._minimal.get(key)
        if xml is None:
            with self._lock:
                xml = self._minimal.get(key)
                if xml is None:
                    xml = self._minimal[key] = minimal_answer(loaded)
        return xml


    def logical_error(self, contract: str, text: str) -> bytes | None:
        """A complete answer with a logical ERROR for a contract loaded from a package the user gave, whose
        response declares a result code (an element named resultCode or ResultCode, anywhere in it, whose type
        takes ERROR): the smallest valid response with that code ERROR and ``text`` in its result text (resultText,
        ResultText, comment or Comment, when the response has one). None for any other contract: a contract a
        domain ships has that domain's fake (and its own ``logical_error``, if any)."""
        key = contract.lower()
        if key not in self._errors:  # asked for every call while a logical_error is armed: worked out once
            loaded = self.contracts.get(contract)
            if loaded is None:
                return None
            with self._lock:
                if key not in self._errors:
                    shipped_here = shipped(loaded.interaction.package, self.domains)
                    self._errors[key] = None if shipped_here else error_response(loaded)
        made = self._errors[key]
        if made is None:
            return None
        element, text_name = made
        element = copy.deepcopy(element)
        if text_name is not None:
            for found in element.iter():
                if isinstance(found.tag, str) and etree.QName(found).localname == text_name:
                    found.text = text
                    break
        return soap_answer(etree.tostring(element, encoding="unicode")).body


RESULT_CODES = ("resultCode", "ResultCode")
RESULT_TEXTS = ("resultText", "ResultText", "comment", "Comment")


def error_response(loaded: LoadedContract) -> tuple[etree._Element, str | None] | None:
    """The contract's smallest valid response with its result code ERROR (and a result text, if the response
    declares one), and the local name of that text element; None when the response has no result code that
    takes ERROR, or no such answer can be made valid."""
    interaction = loaded.interaction
    qname = f"{{{interaction.responder_namespace}}}{interaction.response_element}"
    declared = loaded.validator.declared_below(qname)
    code = next((name for name in RESULT_CODES if name in declared), None)
    if code is None:
        return None
    text = next((name for name in RESULT_TEXTS if name in declared), None)
    values = {code: "ERROR"} | ({text: "-"} if text is not None else {})
    try:
        element = minimal_element(loaded.validator.xsd_schema(), qname, values=values)
    except SynthesisError:
        return None
    return (element, text) if not loaded.validator.findings(element) else None


@dataclass(frozen=True)
class MinimalAnswer:
    """The smallest valid response as text, cut where it says the time it was made at (a date, a timestamp):
    ``text()`` puts the time of the call there, so an answer made once says "now" for every call."""

    parts: tuple[str, ...]  # the text around the times: one more than ``kinds``
    kinds: tuple[str, ...] = ()  # the kind of ``synthesis.times`` each time is said in

    def text(self, now: datetime | None = None) -> str:
        if not self.kinds:
            return self.parts[0]
        said = times(now or datetime.now(zone()))
        out = [self.parts[0]]
        for kind, part in zip(self.kinds, self.parts[1:], strict=True):
            out += (said[kind], part)
        return "".join(out)


def minimal_answer(loaded: LoadedContract) -> MinimalAnswer:
    """The operation's smallest schema-valid response element, checked, with its times left open; SynthesisError
    when none can be made (or what was made is not valid, which would be this module's mistake: said, never
    sent)."""
    interaction = loaded.interaction
    made = minimal_made(loaded.validator.xsd_schema(),
                        f"{{{interaction.responder_namespace}}}{interaction.response_element}")
    findings = loaded.validator.findings(made.element)
    if findings:
        raise SynthesisError(f"the answer made for {interaction.response_element} is not valid: "
                             + "; ".join(f"{f.path}: {f.message_en}" for f in findings))
    token = secrets.token_hex(8)
    for number, (element, attribute, _) in enumerate(made.timed):
        marker = f"mockplatformtime{number}x{token}"
        if attribute is None:
            element.text = marker
        else:
            element.set(attribute, marker)
    pieces = re.split(f"mockplatformtime([0-9]+)x{token}", etree.tostring(made.element, encoding="unicode"))
    return MinimalAnswer(tuple(pieces[0::2]), tuple(made.timed[int(n)][2] for n in pieces[1::2]))


def minimal_response(loaded: LoadedContract) -> str:
    """The operation's smallest schema-valid response element, as text, saying the time now."""
    return minimal_answer(loaded).text()
