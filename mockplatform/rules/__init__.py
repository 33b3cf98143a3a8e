"""Rule profiles that judge the requests a consumer sent (read from the journal).

A profile is a catalogue of rules (id, severity, titles, source) and the small callables that
apply them to a parsed request (``view_of``) or to the set of requests in time order.
"""

from collections.abc import Callable

from . import inbox1177
from .base import Hit, Profile, RequestView, RuleContext, RuleInfo, view_of

PROFILES: dict[str, Callable[[], Profile]] = {inbox1177.PROFILE_ID: inbox1177.profile}

__all__ = ["PROFILES", "Hit", "Profile", "RequestView", "RuleContext", "RuleInfo", "view_of"]
