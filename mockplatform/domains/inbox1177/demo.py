"""``mockplatform demo``: the whole loop in one command.

Starts the platform in-process on a free port, plays the sample consumer through the scenarios
the test protocol asks for (with one injected producer fault and one logical ERROR, as production
would bring them), then judges the journal and writes a complete protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...app import Application, Config
from ...producers.faults import FaultKind, InjectedFault
from ...server import start_in_thread
from ...settings import Settings
from ...verification import Description, VerifyOptions, verify
from .names import NOT_ACTIVE_TEXT
from .sample_consumer import InboxConsumer, SsoLink, docbook_article
from .section import inbox_address

ACTIVE_SMS_EMAIL = "191212121212"
ACTIVE_NO_NOTIFICATION = "198505133283"
ACTIVE_EMAIL = "200103292389"
INACTIVE = "199002272392"
UNIT, UNIT_NAME = "SE2321000016-A1B2", "Vårdcentralen Exempelby"

DESCRIPTION = Description(
    system_name="Exempel Journalsystem (mockplatform demo)",
    organisation="Region Exempel",
    environment="mockplatform demo: platform and sample consumer in one process",
    messages_per_year=75_000,
    contacts=("Förvaltning Exempel Journalsystem, support@journal.exempel.invalid",),
)


def play(consumer: InboxConsumer, app: Application, say: Callable[[str], None] = print) -> None:
    """The scenarios, one per test case of the protocol."""
    say("TC-01/TC-02: IsActiveUser for an active and an inactive citizen")
    consumer.is_active_user(ACTIVE_SMS_EMAIL)
    consumer.deliver(INACTIVE, unit_id=UNIT, unit_name=UNIT_NAME, description="Kallelse", text="Ska inte skickas.")

    say("TC-03: a plain-text message")
    consumer.deliver(ACTIVE_NO_NOTIFICATION, unit_id=UNIT, unit_name=UNIT_NAME, description="Provsvar",
                     text="Dina provsvar är klara. Logga in för att läsa dem.")

    say("TC-04/TC-06: a DocBook message with notification")
    consumer.deliver(ACTIVE_SMS_EMAIL, unit_id=UNIT, unit_name=UNIT_NAME, description="Kallelse till besök",
                     notify=True, text=docbook_article("Kallelse", [
                         "Du är välkommen till Vårdcentralen Exempelby den 3 december kl. 09.30.",
                         "Ta med legitimation. Avboka senast 24 timmar innan.",
                     ]))

    say("TC-05: a message with an SSO link")
    consumer.deliver(ACTIVE_EMAIL, unit_id=UNIT, unit_name=UNIT_NAME, description="Enkät inför besök",
                     text=docbook_article("Enkät", ["Svara gärna på enkäten före ditt besök."]),
                     sso=SsoLink("SE2321000016-7XQA", "Öppna enkäten", "NewTarget", "enkat=4711"))

    say("TC-07: two messages in one thread")
    for text in ("Din remiss är mottagen.", "Din remiss är bedömd; du får en kallelse."):
        consumer.deliver(ACTIVE_NO_NOTIFICATION, unit_id=UNIT, unit_name=UNIT_NAME, description="Remiss",
                         text=text, thread_id="remiss-2026-0042")

    say("TC-08: the citizen is no longer active when the message arrives (logical ERROR, not resent)")
    app.faults.add(InjectedFault(FaultKind.LOGICAL_ERROR, count=1, text=NOT_ACTIVE_TEXT))
    result = consumer.deliver(ACTIVE_SMS_EMAIL, unit_id=UNIT, unit_name=UNIT_NAME, description="Påminnelse",
                              text="Påminnelse om ditt besök i morgon.")
    say(f"  answer: resultCode={result.result_code if result else '-'} (final, not resent)")

    say("TC-09: the producer refuses one connection (VP009); the consumer retries after 4 s")
    app.faults.add(InjectedFault(FaultKind.CONNECTION_REFUSED, contract=None, count=1))
    consumer.is_active_user(ACTIVE_EMAIL)  # the fault hits this call; the retry succeeds


def run_demo(out: Path, say: Callable[[str], None] = print) -> int:
    """Run the loop, write the protocol to ``out``; returns the verify exit code."""
    from ...cli import verdict_exit_code  # the CLI's exit code rule, in one place
    from ...protocol import write_all
    from ...protocol.console import render_summary
    from ...protocol.model import CaseStatus, Verdict

    out.mkdir(parents=True, exist_ok=True)
    journal = out / "journal.sqlite"
    for stale in out.glob("journal.sqlite*"):
        stale.unlink()
    settings = Settings(instance_name="mockplatform-demo", connect_retry_delay_s=0.5)
    app = Application(Config(journal=journal, settings=settings))
    server = start_in_thread(app)
    try:
        say(f"platform running at {server.url}/vp (journal {journal})")
        consumer = InboxConsumer(server.url + "/vp", inbox_address(app.fixtures),
                                 source_system="SE2321000016-7XQA", sender_id="SE2321000016-7XQA")
        play(consumer, app, say)
    finally:
        server.shutdown()
        server.server_close()
        app.close()
    protocol = verify(VerifyOptions(journal=journal, consumer="SE2321000016-7XQA", system_id="SE2321000016-7XQA",
                                    description=DESCRIPTION))
    _remove_reader_files(journal)
    written = write_all(protocol, out)
    say(render_summary(protocol))
    for path in written.values():
        say(f"  wrote {path}")
    # The sample consumer's calls make a demonstration, never "conformant": the demo succeeded when every
    # case it plays passed.
    played = protocol.verdict is Verdict.DEMONSTRATION and all(c.status is CaseStatus.PASSED for c in protocol.cases)
    return 0 if played else max(1, verdict_exit_code(protocol))


def _remove_reader_files(journal: Path) -> None:
    """The folder holds the journal and the protocol only. The platform folded its journal into the one file
    when it stopped; verify then read it read-only, and a read-only reader of a WAL database leaves an empty
    ``-wal`` and a ``-shm`` beside it (it may not fold them away). With every connection closed they hold
    nothing: remove them (a ``-wal`` with content is left alone)."""
    wal, shm = (journal.with_name(journal.name + suffix) for suffix in ("-wal", "-shm"))
    if wal.exists() and wal.stat().st_size:
        return
    for leftover in (wal, shm):
        leftover.unlink(missing_ok=True)
