"""The index notifying a subscriber: a ProcessNotification through the platform, as the index's consumer
id, to the subscriber's logical address, holding the changed posts that match its filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .names import EI_CORE, PROCESS_NOTIFICATION_NS
from .producer import engagement_xml
from .section import index_fixtures

if TYPE_CHECKING:
    from ...app import Application

ORIGIN = "engagementindex"


def notification_xml(transactions: list[dict[str, Any]]) -> str:
    """A ProcessNotification request: one ``notification`` (an EngagementTransactionType) per changed post, in order."""
    body = "".join(
        f"<notification><core:deleteFlag>{'true' if t['delete'] else 'false'}</core:deleteFlag>"
        f"<core:engagement>{engagement_xml(t['engagement'])}</core:engagement></notification>"
        for t in transactions)
    return f'<ProcessNotification xmlns="{PROCESS_NOTIFICATION_NS}" xmlns:core="{EI_CORE}">{body}</ProcessNotification>'


def notifier(app: Application):
    """The follow-up handler: send one subscriber its ProcessNotification."""
    from ...outbound import call

    def notify(payload: dict[str, Any]) -> None:
        section = index_fixtures(app.fixtures)
        call(app, origin=ORIGIN, consumer=section.hsa_id, logical_address=payload["subscriber"],
             contract=PROCESS_NOTIFICATION_NS, operation="ProcessNotification",
             payload_xml=notification_xml(payload["transactions"]))

    return notify
