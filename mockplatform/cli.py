"""The command line. Exit codes: 0 success, 2 usage or configuration error, 3 a file could not be
read or written (journal, TAK, fixtures, contracts), 1 reserved for "not conformant" (verify), 4 the
server could not listen on its address and port (in use, not permitted)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from . import domains
from .app import Application, Config
from .database import DATABASE_ENV, ERRORS, is_url, shown
from .errors import ConfigError, MockplatformError, UnreadableFile
from .fixtures import load_fixtures
from .journal import Journal, JournalError
from .protocol.errors import ProtocolWriteError
from .settings import ACCESS, DEFAULT_JOURNAL, Settings
from .version import __version__

if TYPE_CHECKING:
    from .protocol.model import Protocol
    from .verification import VerifyOptions

EXIT_OK, EXIT_NONCONFORMANT, EXIT_USAGE, EXIT_IO, EXIT_ADDRESS = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped with Ctrl-C


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (line breaks kept); each option's default shown, unless its help
    already names it or there is none to show (a flag, an option left out)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS) or default == []
                or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Every command's parser (subcommands inherit the class): help shown by ``_Help``."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)


def _epilog(example: str, exits: str) -> str:
    """The end of a command's help: an example, then its exit codes ("0 meaning; 2 meaning; ..."), one a line."""
    lines = []
    for text in re.split(r"; (?=\d )", exits):
        code, _, meaning = text.partition(" ")
        lines.append(textwrap.fill(meaning.rstrip("."), 92, initial_indent=f"  {code}  ", subsequent_indent="     "))
    return f"example:\n  {example}\n\nexit codes:\n" + "\n".join(lines)


def _port(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535; anything else is a usage error (exit 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 picks a free one)")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mockplatform", description="A local NTjP and 1177 inbox for testing.",
                     epilog="'mockplatform COMMAND --help' shows a command's options with their defaults, "
                            "an example and its exit codes.")
    parser.add_argument("--version", action="version", version=f"mockplatform {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", help="run the platform as an HTTP(S) server",
        description="Run the platform as an HTTP(S) server: SOAP calls POSTed under /vp are routed through the "
                    "TAK to the fake inbox (or your producers) and journaled; the web pages are under /ui/, the "
                    "admin API under /admin/. Ctrl-C or SIGTERM stops it cleanly.",
        epilog=_epilog("mockplatform serve --port 8080 --journal .mockplatform/journal.sqlite",
                       "0 stopped cleanly (Ctrl-C, SIGTERM); 2 usage or configuration error (a bad option, TAK "
                       "or fixtures file, response template); 3 a file could not be read or written (journal, TAK, "
                       "fixtures, contract package, templates folder); 4 the address or port could not be listened "
                       "on (in use: stop the other server, or let --port 0 pick a free one)."))
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--journal", type=_journal_location,
                       help=f"SQLite journal (default {DEFAULT_JOURNAL})")
    _database_option(serve)
    serve.add_argument("--tak", type=Path, help="TAK file (TOML; default: the built-in fixtures/tak.toml)")
    serve.add_argument("--fixtures", type=Path, help="fixtures file (TOML; default: the built-in fixtures/inbox.toml)")
    serve.add_argument("--contracts", type=Path, action="append", default=[],
                       help="an official release package (folder or zip) to load; repeatable")
    serve.add_argument("--templates", type=Path, metavar="DIR",
                       help="a folder of response templates (<Operation>.xml) for the generic producer "
                            "(builtin:generic in the TAK), each checked at start")
    serve.add_argument("--lenient", action="store_true",
                       help="the fake inbox (and the generic producer) accept schema-invalid requests")
    serve.add_argument("--tls-cert", type=Path, help="server certificate (PEM); enables HTTPS")
    serve.add_argument("--tls-key", type=Path, help="server private key (PEM)")
    serve.add_argument("--client-ca", type=Path, help="CA (PEM) that client certificates must chain to")
    serve.add_argument("--strict-sender", action="store_true",
                       help="trust x-vp-sender-id only with a matching x-vp-instance-id, as the real platform")
    serve.add_argument("--instance-name", default="mockplatform", help="name shown in fault texts")
    serve.add_argument("--instance-id", default="mockplatform", help="id in x-vp-instance-id and routing history")
    serve.add_argument("--default-consumer", help="consumer HSA-id for plain-HTTP calls without x-vp-sender-id")
    serve.add_argument("--producer-timeout-ms", type=int, default=29_000, help="read timeout towards producers")
    serve.add_argument("--original-consumer-allowed", action="append", metavar="HSAID",
                       help="only these consumers may set x-rivta-original-serviceconsumer-hsaid (VP013); repeatable")
    serve.add_argument("--max-body-bytes", type=int, default=10 * 1024 * 1024, help="largest accepted request")
    serve.add_argument("--admin", choices=ACCESS, default="loopback",
                       help="the admin API under /admin/: on, loopback (default: only from this machine) or off")
    serve.add_argument("--ui", choices=ACCESS, default="on",
                       help="the web pages under /ui/: on (default), loopback (only from this machine) or off")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request")

    fixtures = sub.add_parser(
        "fixtures", help="print the built-in (or given) test data",
        description="Print the test data the platform serves (consumers, citizens, units, system-ids) from the "
                    "built-in fixtures or --fixtures; with --generate, make new reproducible test data and a "
                    "matching TAK file.",
        epilog=_epilog("mockplatform fixtures --generate --seed 42 --out my-fixtures",
                       "0 success; 2 a bad fixtures file or --generate value; 3 a file could not be read or "
                       "written."))
    fixtures.add_argument("--json", action="store_true", help="as one JSON object")
    fixtures.add_argument("--fixtures", type=Path, help="fixtures file (default: built-in)")
    fixtures.add_argument("--generate", action="store_true",
                          help="make new test data with the Faker provider (reproducible by --seed)")
    fixtures.add_argument("--seed", type=int, default=1177, help="seed for --generate (default 1177)")
    fixtures.add_argument("--citizens", type=int, default=8, help="citizens for --generate (default 8)")
    fixtures.add_argument("--units", type=int, default=4, help="units for --generate (default 4)")
    fixtures.add_argument("--out", type=Path,
                          help="with --generate: write inbox.toml and a matching tak.toml into this folder")

    journal = sub.add_parser(
        "journal", help="print the recorded exchanges",
        description="Print the recorded exchanges, oldest first, one a line under a header row: time, HTTP "
                    "status, VP code, contract, logical address, consumer, correlation id. The journal is "
                    "opened read-only, so this is safe while the server runs.",
        epilog=_epilog("mockplatform journal --limit 20 --journal .mockplatform/journal.sqlite",
                       "0 success; 2 usage error; 3 the journal could not be read."))
    journal.add_argument("--json", action="store_true", help="one JSON object per line")
    journal.add_argument("--journal", type=_journal_location, help="the journal to read")
    _database_option(journal)
    journal.add_argument("--bodies", action="store_true", help="include headers and bodies (with --json)")
    journal.add_argument("--limit", type=_positive, help="only the newest N exchanges")

    verify = sub.add_parser(
        "verify", help="judge a journal and write the test protocol",
        description="Judge the consumer requests in a journal against the contract schemas and the 1177 rules, "
                    "and write the test protocol (HTML, Word, Markdown, JSON, JUnit).",
        epilog=_epilog("mockplatform verify --journal .mockplatform/journal.sqlite --out protocol-out "
                       "--system-id SE2321000016-7XQA",
                       "0 conformant; 1 not conformant or incomplete (a journal with no exchanges is never a "
                       "pass); 2 usage error; 3 the journal or an output could not be read or written."))
    add_verify_arguments(verify)

    demo = sub.add_parser(
        "demo", help="play a sample consumer against an in-process platform and write a protocol",
        description="Start the platform in-process, play the sample consumer through every test case (with one "
                    "injected producer fault and one logical ERROR) and write a complete test protocol and its "
                    "journal into the output folder (about 5 s).",
        epilog=_epilog("mockplatform demo --out protocol-out",
                       "0 every test case passed (the protocol is marked a demonstration); 1 a case did not pass "
                       "(a bug: the sample consumer is conformant); 2 no installed domain has a demo; 3 the "
                       "output folder could not be written."))
    demo.add_argument("--out", type=Path, default=Path("protocol-out"), help="output folder (default protocol-out)")

    probe = sub.add_parser(
        "probe", help="act as 1177 against the system under test, then judge it into a protocol",
        description="Start the platform (listening, so the system under test can call it back), call the system "
                    "routed in the TAK as 1177 would, wait for its own calls (e.g. its index updates), and judge "
                    "everything from the probe's start with the profile's rules into the test protocol; what the "
                    "probe did is written beside it (probe.md).",
        epilog=_epilog("mockplatform probe --profile web-booking --out protocol-out --unit SE2321000016-A1B2",
                       "0 conformant; 1 not conformant or incomplete; 2 usage error (an unknown profile, one "
                       "without a probe); 3 the journal or an output could not be read or written; 4 the port "
                       "is in use."))
    probe.add_argument("--profile", required=True, help="the rule profile whose probe to run ('list' lists them)")
    probe.add_argument("--out", type=Path, default=Path("protocol-out"), help="output folder (default protocol-out)")
    probe.add_argument("--unit", action="append", default=[], metavar="HSAID",
                       help="a logical address to probe; repeatable (default: the profile's, from the fixtures)")
    probe.add_argument("--citizen", action="append", default=[], metavar="PNR",
                       help="a test citizen (191212121212 or 19121212-1212); repeatable (default: from the fixtures)")
    probe.add_argument("--wait", type=float, default=10, metavar="SECONDS",
                       help="how long to wait for the system's own calls after the last change (default 10)")
    probe.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    probe.add_argument("--port", type=_port, default=8080, help="port the system under test calls (default 8080)")
    probe.add_argument("--journal", type=_journal_location,
                       help=f"journal (default {DEFAULT_JOURNAL})")
    _database_option(probe)
    probe.add_argument("--tak", type=Path, help="TAK file (default: the built-in fixtures/tak.toml)")
    probe.add_argument("--fixtures", type=Path, help="fixtures file (default: the built-in fixtures/inbox.toml)")
    probe.add_argument("--contracts", type=Path, action="append", default=[], help="an extra contract package")
    probe.add_argument("--sp-metadata", metavar="PATH_OR_URL",
                       help="uthopp: the service provider's SAML metadata (a file or an http(s) URL)")
    probe.add_argument("--start", metavar="URL", help="uthopp: a protected page of the service provider")
    probe.add_argument("--logout", metavar="URL", help="uthopp: where the service provider's own logout starts "
                                                       "(optional)")
    probe.add_argument("--describe", type=Path, metavar="TOML", help="the system tested, for the protocol head")
    probe.add_argument("--system-name", help="name of the system tested (protocol head)")
    probe.add_argument("--organisation", help="organisation responsible for the system (protocol head)")
    probe.add_argument("--environment", help="test environment (protocol head)")

    check_exits = ("0 the protocol matches its journal; 1 something differs (each difference is printed); 2 usage "
                   "error, or not a protocol.json; 3 the protocol or the journal could not be read.")
    check_example = "mockplatform protocol check protocol-out/protocol.json --journal .mockplatform/journal.sqlite"
    protocol = sub.add_parser(
        "protocol", help="work with a written test protocol",
        description="Work with a test protocol that verify wrote. 'protocol check' judges the journal again and "
                    "says whether protocol.json matches it: that every hash, case and the verdict follow from "
                    "the journal, and nothing was edited afterwards.",
        epilog=_epilog(check_example, check_exits))
    protocol_sub = protocol.add_subparsers(dest="protocol_command", required=True)
    check = protocol_sub.add_parser(
        "check", help="judge the journal again and say whether protocol.json matches it",
        description="Judge the journal again with the protocol's own selection and profile, and compare every "
                    "hash, count, case status, evidence and the verdict with protocol.json.",
        epilog=_epilog(check_example, check_exits))
    check.add_argument("protocol_json", type=Path, metavar="PROTOCOL_JSON", help="the protocol.json to check")
    check.add_argument("--journal", type=_journal_location,
                       help="the journal it was made from (default: the path the protocol names)")
    _database_option(check)
    check.add_argument("--fixtures", type=Path, help="the fixtures it was judged with (default: as recorded)")
    check.add_argument("--contracts", type=Path, action="append",
                       help="a contract package it was judged with; repeatable (default: as recorded)")
    return parser


def _journal_location(value: str) -> Path | str:
    """A SQLite file, or (as ``--database`` gives it) a PostgreSQL URL, which a Path would spoil."""
    return value if is_url(value) else Path(value)


def _database_url(value: str) -> str:
    if not is_url(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a PostgreSQL URL: write postgresql://USER:PASSWORD@HOST:PORT/"
                                         "DATABASE (a SQLite file is given with --journal)")
    return value


def _database_option(parser: argparse.ArgumentParser) -> None:
    """``--database``: PostgreSQL instead of the SQLite file ``--journal`` (default: $MOCKPLATFORM_DATABASE)."""
    parser.add_argument("--database", type=_database_url,
                        metavar="URL", help="keep everything in this PostgreSQL database instead of the SQLite "
                        f"journal: postgresql://USER:PASSWORD@HOST:PORT/DATABASE (default ${DATABASE_ENV}, else the "
                        "SQLite journal); one platform for a team, see the README")


def resolve_store(args: argparse.Namespace, default_journal: Path | None = DEFAULT_JOURNAL) -> None:
    """Where the command's state is, into ``args.journal``: ``--database`` (a PostgreSQL URL), else ``--journal``
    (a SQLite file), else $MOCKPLATFORM_DATABASE, else ``default_journal``. Both options at once is an error: the
    two name different places. (Given once; a second call leaves it.)"""
    if getattr(args, "store_resolved", False):
        return
    args.store_resolved = True
    journal, database = getattr(args, "journal", None), getattr(args, "database", None)
    if journal is not None and database is not None:
        raise ConfigError("--journal and --database name two different places: give one (--journal FILE for a "
                          "SQLite journal, --database URL for PostgreSQL)")
    if journal is None and database is None:
        database = os.environ.get(DATABASE_ENV) or None
        if database is not None and not is_url(database):
            raise ConfigError(f"${DATABASE_ENV} is {shown(database)!r}, not a PostgreSQL URL: set it to "
                              "postgresql://USER@HOST:PORT/DATABASE, or unset it to use the SQLite journal")
    args.journal = database or journal or default_journal


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``verify`` (the pytest suite in contract_tests/ takes the same ones)."""
    parser.add_argument("--journal", type=_journal_location,
                        help=f"journal (default {DEFAULT_JOURNAL})")
    _database_option(parser)
    parser.add_argument("--out", type=Path, default=Path("protocol-out"), help="output folder (default protocol-out)")
    parser.add_argument("--since", help="judge exchanges from this time (ISO 8601, e.g. 2026-11-26T09:00; "
                        "without a zone, Swedish local time)")
    parser.add_argument("--until", help="judge exchanges up to this time (ISO 8601; a date means the whole day)")
    parser.add_argument("--since-reset", action="store_true", help="judge only what came after the last reset")
    parser.add_argument("--consumer", metavar="HSAID", help="judge only this consumer's requests")
    parser.add_argument("--system-id", help="the system-id 1177 issued to the consumer (expected sourceSystem)")
    parser.add_argument("--profile", help="rule profile of an installed domain (default: the first installed; "
                                          "--profile list lists them)")
    parser.add_argument("--fixtures", type=Path, help="fixtures the platform ran with (default: built-in)")
    parser.add_argument("--contracts", type=Path, action="append", default=[],
                        help="an official release package the platform ran with; repeatable")
    parser.add_argument("--describe", type=Path, metavar="TOML",
                        help="protocol description file: system_name, organisation, environment, ... (see README)")
    parser.add_argument("--system-name", help="name of the system tested (protocol head)")
    parser.add_argument("--organisation", help="organisation responsible for the system (protocol head)")
    parser.add_argument("--environment", help="test environment (protocol head)")
    parser.add_argument("--messages-per-year", type=int, help="declared volume, for the yearly cost estimate")
    parser.add_argument("--contact", action="append", help="a contact for the protocol head; repeatable")
    parser.add_argument("--same-text-threshold", type=int, default=20, metavar="N",
                        help="the same message text to N citizens counts as a general information channel "
                             "(warning; default 20)")
    parser.add_argument("--wait", type=float, metavar="SECONDS", dest="wait_s",
                        help="how long what a call causes may take to come (web-booking: the index update after a "
                             "change; the profile's default: 10 s)")
    parser.add_argument("--allow-not-run", action="store_true",
                        help="exit 0 when nothing failed even if some cases were not run (they stay 'not run')")


def verify_options(args: argparse.Namespace) -> VerifyOptions:
    from .verification import Description, VerifyOptions, load_description

    resolve_store(args)
    description = load_description(args.describe) if args.describe else Description()
    if args.messages_per_year is not None and args.messages_per_year < 0:
        raise ConfigError("--messages-per-year must be 0 or more")
    if args.same_text_threshold < 2:
        raise ConfigError("--same-text-threshold must be at least 2 (citizens)")
    if args.wait_s is not None and args.wait_s < 0:
        raise ConfigError("--wait must be 0 seconds or more")
    description = description.merged(system_name=args.system_name, organisation=args.organisation,
                                     environment=args.environment, messages_per_year=args.messages_per_year,
                                     contacts=tuple(args.contact) if args.contact else None)
    return VerifyOptions(journal=args.journal, since=args.since, until=args.until, since_reset=args.since_reset,
                         consumer=args.consumer, system_id=args.system_id, profile=args.profile,
                         fixtures=args.fixtures, contracts=list(args.contracts), description=description,
                         same_text_threshold=args.same_text_threshold, wait_s=args.wait_s)


def verdict_exit_code(protocol: Protocol, allow_not_run: bool = False) -> int:
    """0 only when every check passed; a journal with no exchanges is never a pass."""
    from .protocol.model import Verdict

    if protocol.verdict is Verdict.CONFORMANT:
        return EXIT_OK
    if (allow_not_run and protocol.verdict is Verdict.INCOMPLETE and protocol.exchanges_judged
            and not protocol.counts["failed"]):
        return EXIT_OK
    return EXIT_NONCONFORMANT


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if hasattr(args, "journal"):
            resolve_store(args, None if args.command == "protocol" else DEFAULT_JOURNAL)
        if args.command == "serve":
            return _serve(args)
        if args.command == "fixtures":
            return _fixtures(args)
        if args.command == "journal":
            return _journal(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "demo":
            return _demo(args.out)
        if args.command == "protocol":
            return _protocol_check(args)
        if args.command == "probe":
            return _probe(args)
    except KeyboardInterrupt:  # Ctrl-C (serve has its own handler, and stops cleanly): stopped, nothing to add
        print("mockplatform: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (mockplatform journal | head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that exiting flushes nowhere
        return EXIT_OK
    except (JournalError, ProtocolWriteError, UnreadableFile, OSError, *ERRORS) as exc:
        print(f"mockplatform: {exc}", file=sys.stderr)
        return EXIT_IO
    except MockplatformError as exc:  # a bad option, TAK, fixtures or contract package
        print(f"mockplatform: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


def _serve(args: argparse.Namespace) -> int:
    from .server import PlatformHTTPServer, tls_context

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose:  # our own lines only: the libraries' debug output says nothing to an integrator
        logging.getLogger("mockplatform").setLevel(logging.DEBUG)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("mockplatform: --tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_USAGE
    if args.client_ca and not args.tls_cert:
        print("mockplatform: --client-ca needs --tls-cert and --tls-key", file=sys.stderr)
        return EXIT_USAGE
    problem = _cannot_listen(args.host, args.port)
    if problem:  # said before anything is built, so nothing (no journal) is left behind
        print(f"mockplatform: {problem}", file=sys.stderr)
        return EXIT_ADDRESS
    settings = Settings(
        instance_name=args.instance_name,
        instance_id=args.instance_id,
        strict_sender=args.strict_sender,
        default_consumer=args.default_consumer,
        original_consumer_allowed=tuple(args.original_consumer_allowed) if args.original_consumer_allowed else None,
        producer_timeout_ms=args.producer_timeout_ms,
        lenient=args.lenient,
        max_body_bytes=args.max_body_bytes,
        admin=args.admin,
        ui=args.ui,
    )
    app = Application(Config(journal=args.journal, tak=args.tak, fixtures=args.fixtures,
                             contracts=list(args.contracts), templates=args.templates, settings=settings))
    context = tls_context(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
    server = PlatformHTTPServer(app, args.host, args.port, context)
    for repair in app.contracts.repairs:
        print(f"contract repaired: {repair}", flush=True)
    for interaction in sorted(app.contracts.interactions, key=lambda i: i.wsdl_path):
        print(f"contract {interaction.name} {interaction.version}: {server.url}{interaction.wsdl_path}?wsdl",
              flush=True)
    print(f"TAK: {len(app.tak.routes)} routes, {len(app.tak.authorisations)} authorisations from {app.tak.source}")
    print(f"journal: {app.journal.location}")
    if context is not None and not args.client_ca:
        print("warning: TLS without --client-ca asks no client for a certificate, so every call gets VP002 "
              "(give the CA that issued your consumers' certificates)", file=sys.stderr)
    if context is not None:
        consumer = "none over TLS (the client certificate's SERIALNUMBER names the consumer)"
    elif settings.strict_sender:
        consumer = "none (--strict-sender: x-vp-sender-id is required)"
    else:
        consumer = app.settings.default_consumer
    for domain in app.domains:
        for line in domain.banner(app):
            print(line)
    print(f"default consumer: {consumer}")
    if settings.ui != "off":
        print(f"inbox preview and journal: {server.url}/ui/")
    print(f"mockplatform listening on {server.url}/vp", flush=True)

    def stop(*_):  # Ctrl-C or SIGTERM: finish what is being answered, then stop; a second one: sooner
        server.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
        print("mockplatform: stopping", flush=True)
    finally:
        server.server_close()
        app.close()
    if server.unanswered:
        # Their worker threads still wait on a producer, and the interpreter would wait for them at
        # exit; everything that was answered is committed, so there is nothing left to lose.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)
    return EXIT_OK


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` (None: it can), found by binding them the way the
    server does, for a moment. (Another program may still take the port before the server does.)"""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.create_server((host, port), family=family).close()
    except socket.gaierror as exc:
        return f"--host {host}: not an address of this machine ({exc.strerror}); try --host 127.0.0.1"
    except OSError as exc:
        where = f"port {port} on {host}"
        if exc.errno == errno.EADDRINUSE:
            return (f"{where} is already in use (another mockplatform serve?): stop that one, choose another "
                    "port with --port N, or let --port 0 pick a free one")
        if exc.errno == errno.EACCES:
            return f"{where} is not permitted for this user: choose --port 1024 or above, or --port 0"
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"--host {host} is not an address of this machine: try --host 127.0.0.1 (or 0.0.0.0 for all)"
        return f"cannot listen on {where}: {exc.strerror or exc}"
    return None


def _generate_fixtures(args: argparse.Namespace) -> int:
    from .testdata import generate_fixtures  # Faker: imported only when asked for

    try:
        text = generate_fixtures(args.seed, citizens=args.citizens, units=args.units)
    except ValueError as exc:
        print(f"mockplatform: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.out is None:
        print(text, end="")
        return EXIT_OK
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inbox.toml").write_text(text, encoding="utf-8")
    fixtures = load_fixtures(args.out / "inbox.toml")
    consumers = [c.hsa_id for c in fixtures.consumers if c.system_ids]
    sections = [section for d in domains.installed() if (section := d.tak_section(fixtures, consumers))]
    (args.out / "tak.toml").write_text("# TAK for generated fixtures.\n\nhsa_climb = true\n\n" + "\n".join(sections),
                                       encoding="utf-8")
    print(f"wrote {args.out / 'inbox.toml'} and {args.out / 'tak.toml'}; start with:\n"
          f"  mockplatform serve --fixtures {args.out / 'inbox.toml'} --tak {args.out / 'tak.toml'}")
    return EXIT_OK


def _fixtures(args: argparse.Namespace) -> int:
    if args.generate:
        return _generate_fixtures(args)
    fixtures = load_fixtures(args.fixtures)
    data = fixtures.to_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    for domain, section in fixtures.sections.items():
        for key, value in (section.to_json() if hasattr(section, "to_json") else {}).items():
            print(f"{key.replace('_', ' ').capitalize()}: {value}  ({domain})")
    print(f"Default consumer: {data['default_consumer']}")
    print("Consumers:")
    for c in fixtures.consumers:
        print(f"  {c.hsa_id}  {c.name}  system-ids: {', '.join(c.system_ids) or '-'}")
    print("Citizens:")
    for c in fixtures.citizens:
        state = "active" if c.active else "inactive"
        print(f"  {c.subject_of_care_id}  {state:8}  {','.join(c.notification_methods) or '-':10}  {c.name}")
    print("Units:")
    for u in fixtures.units:
        print(f"  {u.unit_id}  {'connected' if u.connected else 'NOT connected':13}  {u.name}")
    print("Systems:")
    for s in fixtures.systems:
        print(f"  {s.system_id}  {s.sso_base_url}  {s.name}")
    return EXIT_OK


def _journal(args: argparse.Namespace) -> int:
    if args.bodies and not args.json:
        print("mockplatform: --bodies goes with --json (one JSON object per exchange, bodies included)",
              file=sys.stderr)
        return EXIT_USAGE
    journal = Journal(args.journal, read_only=True)
    try:
        rows = journal.exchanges(limit=args.limit, newest_first=True) if args.limit else journal.exchanges()
        if args.limit:
            rows.reverse()
        if args.json:
            for ex in rows:
                print(json.dumps(ex.to_json(bodies=args.bodies), ensure_ascii=False))
        else:
            print_table(JOURNAL_HEADER, [_journal_row(ex) for ex in rows])
    finally:
        journal.close()
    return EXIT_OK


JOURNAL_HEADER = ("TIME", "HTTP", "VP", "CONTRACT", "LOGICAL ADDRESS", "CONSUMER", "CORRELATION ID")


def _journal_row(ex) -> tuple[str, ...]:
    from .display_text import contract_name, one_line  # "DoSomething 1" for urn:...:DoSomethingResponder:1

    # What the consumer sent is shown, not obeyed: a line break, a tab or an escape sequence in a header or
    # an address would break the row or reach the terminal.
    return tuple(one_line(value) for value in (
        ex.time, str(ex.http_status), ex.vp_code or "-", contract_name(ex.contract) or "-",
        ex.logical_address or "-", ex.consumer or "-", ex.correlation_id or "-"))


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A header row and the rows under it, each column as wide as its widest value (the last one unpadded)."""
    from .display_text import terminal_width

    widths = [max(terminal_width(value) for value in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        cells = [value + " " * (width - terminal_width(value)) for value, width in zip(row[:-1], widths, strict=False)]
        print("  ".join(cells) + "  " + row[-1])


def _protocol_check(args: argparse.Namespace) -> int:
    from .verification.check import check_protocol

    result = check_protocol(args.protocol_json, args.journal, args.fixtures, args.contracts)
    if result.matches:
        print(f"{args.protocol_json}: matches its journal ({result.compared} values compared: hashes, counts, "
              "cases, evidence, rules, verdict)")
        return EXIT_OK
    print(f"{args.protocol_json}: does NOT match its journal ({len(result.differences)} of {result.compared} "
          "values differ):")
    for line in result.differences:
        print(f"  {line}")
    return EXIT_NONCONFORMANT


def _demo(out: Path) -> int:
    for domain in domains.installed():
        code = domain.demo(out)
        if code is not None:
            return code
    print("mockplatform: no installed domain has a demo", file=sys.stderr)
    return EXIT_USAGE


def _probe(args: argparse.Namespace) -> int:
    from .personnummer import WRITTEN_FORMS, from_written
    from .probing import ProbeOptions
    from .protocol import write_all
    from .protocol.console import render_summary
    from .server import start_in_thread
    from .shortcuts import utc_now_iso
    from .verification import Description, VerifyOptions, load_description, verify

    probes = {pid: fn for d in domains.installed() for pid, fn in d.probes().items()}
    if args.profile == "list":
        for profile_id in sorted(probes):
            print(profile_id)
        return EXIT_OK
    if args.profile not in probes:
        raise ConfigError(f"no probe for profile '{args.profile}'; profiles with a probe: "
                          f"{', '.join(sorted(probes)) or '(none)'}")
    citizens = []
    for written in args.citizen:
        number = from_written(written.strip())
        if number is None:
            raise ConfigError(f"--citizen {written}: not a personnummer or samordningsnummer; write {WRITTEN_FORMS}")
        citizens.append(number)
    if args.wait < 0:
        raise ConfigError("--wait must be 0 seconds or more")
    resolve_store(args)
    description = load_description(args.describe) if args.describe else Description()
    description = description.merged(system_name=args.system_name, organisation=args.organisation,
                                     environment=args.environment)
    problem = _cannot_listen(args.host, args.port)
    if problem:
        print(f"mockplatform: {problem}", file=sys.stderr)
        return EXIT_ADDRESS
    app = Application(Config(journal=args.journal, tak=args.tak, fixtures=args.fixtures,
                             contracts=list(args.contracts)))
    started = utc_now_iso()
    server = start_in_thread(app, args.host, args.port)
    print(f"mockplatform probe ({args.profile}) listening on {server.url}/vp; journal {app.journal.location}",
          flush=True)
    try:
        run = probes[args.profile](app, ProbeOptions(tuple(args.unit), tuple(citizens), args.wait,
                                                     lambda line: print(line, flush=True), platform_url=server.url,
                                                     sp_metadata=args.sp_metadata, start_url=args.start,
                                                     logout_url=args.logout))
    finally:
        server.shutdown()
        server.server_close()
        app.close()
    # Judged until now: the probe waited for what its calls should cause (index updates) and journaled until here.
    protocol = verify(VerifyOptions(journal=args.journal, since=started, until=utc_now_iso(), profile=args.profile,
                                    consumer=run.system, fixtures=args.fixtures, contracts=list(args.contracts),
                                    description=description, wait_s=args.wait))
    written = write_all(protocol, args.out)
    log = run.write(args.out)
    print(render_summary(protocol))
    for path in [*written.values(), log]:
        print(f"  wrote {path}")
    return verdict_exit_code(protocol)


def _profiles() -> int:
    """``verify --profile list``: the rule profiles the installed domains provide."""
    for domain in domains.installed():
        for profile_id, factory in domain.profiles().items():
            print(f"{profile_id}  {factory().name}  (domain {domain.name})")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    if args.profile == "list":
        return _profiles()
    # Imported here: the renderers (Word, templates) are not needed to serve.
    from .protocol import write_all
    from .protocol.console import render_summary
    from .verification import verify

    progress = None
    if sys.stderr.isatty():  # a long run on a terminal says how far it has come, on one line
        def progress(count: int) -> None:
            print(f"\rmockplatform: {count:,} exchanges judged ...".replace(",", " "), end="", file=sys.stderr,
                  flush=True)
    protocol = verify(verify_options(args), progress)
    if progress is not None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    written = write_all(protocol, args.out)
    print(render_summary(protocol))
    for path in written.values():
        print(f"  wrote {path}")
    if not protocol.exchanges_judged:
        print("mockplatform: the journal holds no consumer request in the judged period: nothing is demonstrated",
              file=sys.stderr)
    return verdict_exit_code(protocol, args.allow_not_run)


if __name__ == "__main__":
    sys.exit(main())
