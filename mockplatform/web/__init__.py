"""Web pages of the running platform: the citizen's 1177 inbox preview and the integrator's journal.

``handle(app, request)`` answers GET/HEAD of ``/ui/...`` (and the POSTs of the pages' own forms) and
returns None for anything else; the pages are rendered with Jinja2 (autoescape) and a strict
Content-Security-Policy.
"""

from .dispatch import handle

__all__ = ["handle"]
