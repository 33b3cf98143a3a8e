"""A third party's domain in a distribution of its own: the smallest one there is, registered through
the ``mockplatform.domains`` entry point (see tiny_domain-0.1.dist-info/entry_points.txt)."""

from __future__ import annotations

from mockplatform.domains import Domain, Page
from mockplatform.findings import Severity
from mockplatform.messages import Response
from mockplatform.producers import soap_answer
from mockplatform.rules import Hit, Profile, RuleInfo
from mockplatform.rules.base import REQUEST
from mockplatform.rules.cases import TestCase, select

NAMESPACE = "urn:example:tiny:PingResponder:1"


def ping(call):
    return soap_answer(f'<PingResponse xmlns="{NAMESPACE}"><pong>{call.consumer}</pong></PingResponse>')


def has_word(view, ctx):
    if view.envelope is not None and not (view.envelope.payload.text or "").strip():
        yield Hit("Ping has no word", "Ping saknar ord", hint="send <Ping>a word</Ping>")


class TinyDomain(Domain):
    def fixtures(self, data, path):
        return data.get("tiny", {})

    def producers(self, app):
        return {"tiny": ping}

    def profiles(self):
        rule = (RuleInfo("TINY-WORD", Severity.ERROR, "Ping has a word", "Ping har ett ord", "tiny", REQUEST), has_word)
        case = TestCase("TINY-1", "Pinga", "Ping", "a ping is answered", "send a Ping",
                        select(lambda v: v.exchange.http_status == 200))
        return {"tiny": lambda: Profile("tiny", "Tiny ping", [rule], cases=[case],
                                        owns_contract=lambda ns: ns == NAMESPACE)}

    def pages(self):
        return (Page(r"/tiny", lambda app, req, m: Response(200, [("Content-Type", "text/plain")], b"tiny page"),
                     nav=("tiny", "Tiny")),)


domain = TinyDomain(name="tiny")
