"""The judging engine: rule profiles (provided by the domains) applied to the requests of a journal.

A profile is a catalogue of rules (id, severity, titles, source) and the small callables that
apply them to a parsed request (``RequestView``) or to the set of requests in time order; its
domain says how a request is read for them and which test cases it has.
"""

from .base import Hit, Judgement, Profile, RequestView, RuleContext, RuleInfo, read_view
from .cases import Outcome, TestCase

__all__ = ["Hit", "Judgement", "Outcome", "Profile", "RequestView", "RuleContext", "RuleInfo", "TestCase",
           "read_view"]
