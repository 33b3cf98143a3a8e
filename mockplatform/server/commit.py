"""Group commit on the event loop: the calls answered in one turn of the loop share one transaction.

The loop answers a platform call as soon as it has read it, but the answer may leave only once its
exchange is journaled, and a transaction per call would cost more than the call. So the calls answered
in one turn are held (``SoapPipeline.hold``) and committed together once the turn has read what every
connection sent; then each connection writes what the pipeline returned for its call: its answer, or
VP012 when its exchange could not be written. That rule is the pipeline's (the in-process mode and the
tests go through it too); this module decides only *when* to commit, and whom to hand the answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..http1 import Message
from ..messages import Request, Response
from ..platform import HeldGroup, SoapPipeline

if TYPE_CHECKING:
    from .connection import Connection


class AfterCommit:
    """The calls of this turn of the loop whose answers wait for their commit."""

    __slots__ = ("loop", "pipeline", "group", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop, pipeline: SoapPipeline) -> None:
        self.loop = loop
        self.pipeline = pipeline
        self.group: HeldGroup | None = None
        self.waiting: list[tuple[Connection, Message]] = []

    def handle(self, connection: Connection, message: Message, handler: Callable[[Request], Response],
               request: Request) -> None:
        """Answer ``request`` now, its exchange held; the connection gets the answer after the commit,
        which runs once this turn of the loop is over (``flush``)."""
        if self.group is None:
            self.group = self.pipeline.hold()
            self.loop.call_soon(self.flush)
        self.group.handle(handler, request)
        self.waiting.append((connection, message))

    def flush(self) -> None:
        """Commit what is held, then hand each connection the response the pipeline says may be sent."""
        group, waiting = self.group, self.waiting
        if group is None:
            return
        self.group, self.waiting = None, []
        for (connection, message), response in zip(waiting, group.commit(), strict=True):
            connection.committed(message, response)
