"""The command line: fixtures, journal, serve (as a real process), exit codes."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from mockplatform.cli import main
from mockplatform.personnummer import is_valid

from .soap import INACTIVE, add_message, is_active_user


def test_fixtures_json_has_the_documented_shape(capsys):
    assert main(["fixtures", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inbox_logical_address"] == "SE5565594230-1177"
    assert data["default_consumer"] in {c["hsa_id"] for c in data["consumers"]}
    assert all(is_valid(c["subject_of_care_id"]) for c in data["citizens"])
    active = [c for c in data["citizens"] if c["active"]]
    assert any({"SMS", "Email"} <= set(c["notification_methods"]) for c in active)
    assert any(c["notification_methods"] == [] for c in active)
    assert any(not c["active"] for c in data["citizens"])
    assert {u["connected"] for u in data["units"]} == {True, False}
    assert all({"unit_id", "name", "connected"} <= set(u) for u in data["units"])
    assert data["system_ids"] and all(isinstance(s, str) for s in data["system_ids"])


def test_bad_tak_file_is_a_usage_error_naming_the_file(tmp_path, capsys):
    tak = tmp_path / "tak.toml"
    tak.write_text('[[route]]\ncontract = "urn:x"\n', encoding="utf-8")
    code = main(["serve", "--tak", str(tak), "--journal", str(tmp_path / "j.sqlite"), "--port", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(tak) in err and "[[route]] #1" in err and "logical_address" in err


def test_missing_journal_is_exit_3(tmp_path, capsys):
    assert main(["journal", "--journal", str(tmp_path / "none.sqlite")]) == 3


def _start_serve(journal, *options: str, lines: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """``mockplatform serve`` as a real process; returns it and the URL it printed (``lines``: what it
    printed up to there)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockplatform", "serve", "--port", "0", "--journal", str(journal), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    started = time.monotonic()
    lines = [] if lines is None else lines
    while True:
        line = proc.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
        if "listening on" in line:
            assert time.monotonic() - started < 10
            return proc, line.strip().rsplit(" ", 1)[-1]


def test_tls_without_a_client_ca_warns_that_every_call_will_be_vp002(tmp_path):
    from .certs import CA

    cert, key = CA(tmp_path).issue("server", "localhost", server=True)
    printed: list[str] = []
    proc, url = _start_serve(tmp_path / "j.sqlite", "--tls-cert", str(cert), "--tls-key", str(key), lines=printed)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert url.startswith("https://")
    assert any("without --client-ca" in line and "VP002" in line for line in printed), printed
    assert any("default consumer: none over TLS" in line for line in printed), printed


def _journal_rows(journal) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "mockplatform", "journal", "--json", "--journal", str(journal)],
                            capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_serve_prints_url_answers_records_and_stops_cleanly(tmp_path):
    journal = tmp_path / "j.sqlite"
    proc, url = _start_serve(journal)
    try:
        assert url.endswith("/vp")
        r = requests.post(url, data=is_active_user(), headers={"Content-Type": "text/xml"}, timeout=10)
        assert r.status_code == 200
        r2 = requests.post(url, data=add_message(INACTIVE), timeout=10)
        cid = r2.headers["x-skltp-correlation-id"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    rows = _journal_rows(journal)
    assert len(rows) == 2
    assert rows[1]["correlation_id"] == cid
    assert {"correlation_id", "contract", "logical_address", "consumer", "http_status", "vp_code"} <= set(rows[0])
    assert rows[0]["contract"].endswith("IsActiveUserResponder:1")


def _call_in_background(url: str, body: bytes) -> tuple[threading.Thread, list]:
    answers: list = []

    def call() -> None:
        try:
            answers.append(requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=30))
        except requests.RequestException as exc:
            answers.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    return thread, answers


def _inject(url: str, fault: dict) -> None:
    admin = url.rsplit("/vp", 1)[0] + "/admin/faults"
    assert requests.post(admin, json=fault, timeout=10).status_code == 201


def test_ctrl_c_during_a_call_answers_and_records_it_before_stopping(tmp_path):
    journal = tmp_path / "j.sqlite"
    proc, url = _start_serve(journal, "-v")
    try:
        _inject(url, {"kind": "delay", "contract": "IsActiveUser", "delay_ms": 1500})
        thread, answers = _call_in_background(url, is_active_user())
        time.sleep(0.5)  # the call waits in its injected delay
    finally:
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    thread.join(20)
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out
    assert "waiting for 1 call(s) still being answered" in out
    answer = answers[0]
    assert not isinstance(answer, Exception), out
    assert answer.status_code == 200 and "<status>true</status>" in answer.text
    assert answer.headers["Connection"] == "close"  # the platform is stopping: no more on this connection
    assert "POST /vp -> 200" in out  # -v logs every request
    rows = _journal_rows(journal)
    assert rows[-1]["correlation_id"] == answer.headers["x-skltp-correlation-id"]


def test_second_ctrl_c_ends_an_injected_timeout_at_once_and_still_records_the_call(tmp_path):
    journal = tmp_path / "j.sqlite"
    proc, url = _start_serve(journal)
    try:
        _inject(url, {"kind": "timeout", "contract": "IsActiveUser"})  # waits the producer timeout: 29 s
        thread, answers = _call_in_background(url, is_active_user())
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    thread.join(20)
    assert time.monotonic() - started < 5, out
    assert proc.returncode == 0 and "Traceback" not in out, out
    answer = answers[0]
    assert not isinstance(answer, Exception), out
    assert answer.status_code == 500 and "VP009" in answer.text
    rows = _journal_rows(journal)
    assert rows[-1]["vp_code"] == "VP009"
    assert rows[-1]["correlation_id"] == answer.headers["x-skltp-correlation-id"]


def test_out_of_range_options_are_usage_errors(tmp_path, capsys):
    for argv, says in ((["serve", "--port", "99999"], "99999 is not a port"),
                       (["journal", "--limit", "0"], "--limit: 0: must be 1 or more")):
        with pytest.raises(SystemExit) as exited:  # argparse's usage error
            main([*argv, "--journal", str(tmp_path / "j.sqlite")])
        assert exited.value.code == 2
        assert says in capsys.readouterr().err
    assert main(["journal", "--bodies", "--journal", str(tmp_path / "j.sqlite")]) == 2
    assert "--bodies goes with --json" in capsys.readouterr().err


def test_generated_fixtures_and_tak_serve_a_generated_consumer(tmp_path, capsys, start_platform):
    from mockplatform.fixtures import load_fixtures

    from .soap import is_active_user

    assert main(["fixtures", "--generate", "--seed", "3", "--out", str(tmp_path)]) == 0
    fixtures = load_fixtures(tmp_path / "inbox.toml")
    again = tmp_path / "again"
    assert main(["fixtures", "--generate", "--seed", "3", "--out", str(again)]) == 0
    assert (again / "inbox.toml").read_text() == (tmp_path / "inbox.toml").read_text()  # reproducible by seed
    running = start_platform(tak=tmp_path / "tak.toml", fixtures=tmp_path / "inbox.toml")
    citizen = next(c for c in fixtures.citizens if c.active)
    consumer = next(c for c in fixtures.consumers if c.system_ids)
    r = running.post(is_active_user(citizen.subject_of_care_id), headers={"x-vp-sender-id": consumer.hsa_id})
    assert r.status_code == 200 and "<status>true</status>" in r.text


def _leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) for every command, a group of subcommands (``protocol``) too; not the top."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if path:
        yield path, parser
    for group in groups:
        for name, sub in group.choices.items():
            yield from _leaf_parsers(sub, (*path, name))


def test_every_command_has_a_description_its_defaults_an_example_and_its_exit_codes():
    from mockplatform.cli import _parser

    leaves = dict(_leaf_parsers(_parser()))
    assert {("serve",), ("fixtures",), ("journal",), ("verify",), ("demo",), ("protocol",),
            ("protocol", "check")} <= set(leaves)
    for words, parser in leaves.items():
        assert parser.description, words
        text = parser.format_help()
        example, codes = text.rfind("example"), text.rfind("exit codes:")
        assert -1 < example < codes or (codes == -1 and "Exit 0" in parser.description), words
        assert f"mockplatform {' '.join(words)}" in text[example:], words  # the example runs this command
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
                shown = formatter._expand_help(action)
                assert str(action.default) in shown, (words, action.option_strings, shown)


def test_a_port_in_use_names_the_port_suggests_port_0_and_leaves_no_journal(tmp_path, capsys):
    import socket

    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    journal = tmp_path / "not-made" / "journal.sqlite"
    try:
        code = main(["serve", "--port", str(port), "--journal", str(journal)])
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert code == 4, err
    assert f"port {port} on 127.0.0.1 is already in use" in err and "--port 0" in err
    assert "Errno" not in err
    assert not journal.parent.exists()


def _as_another_user(action):
    """``action()``'s result, run as a user without root's right to write anywhere: as root, in a forked child
    that becomes nobody (root writes to read-only files and folders); otherwise here."""
    if os.geteuid() != 0:
        return action()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become nobody, run, send the result back, and never return into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = repr(action())
        except BaseException as exc:  # noqa: BLE001 - anything goes back to the parent
            result = repr(f"child failed: {exc!r}")
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    import ast

    return ast.literal_eval(said)


def test_a_journal_that_cannot_be_opened_names_the_file_and_what_to_do(tmp_path, capsys):
    import tempfile

    from mockplatform.journal import Journal, JournalError

    def opening(path) -> str:
        try:
            Journal(path).close()
        except JournalError as exc:
            return str(exc)
        return "opened"

    folder = Path(tempfile.mkdtemp(prefix="journal-")).resolve()  # nobody may enter it (tmp_path: root only)
    try:
        folder.chmod(0o777)
        (folder / "read-only").mkdir(mode=0o555)
        (folder / "read-only").chmod(0o555)
        made = folder / "made.sqlite"
        Journal(made).close()
        made.chmod(0o444)
        (folder / "text.sqlite").write_text("not a database\n")
        (folder / "a-file").write_text("x\n")
        cases = {
            folder / "read-only" / "journal.sqlite": "the folder " + str(folder / "read-only") + " is not writable",
            folder / "read-only" / "sub" / "journal.sqlite": "cannot make its folder",
            made: "the journal file is read-only: make it writable (chmod u+w), or give --journal another file",
            folder / "text.sqlite": "not a SQLite file, so not a mockplatform journal",
            folder: "is a folder, not a journal file: give --journal a file name",
            folder / "a-file" / "journal.sqlite": "a file is in the way",
        }
        for path, says in cases.items():
            said = _as_another_user(lambda path=path: opening(path))
            assert said.startswith(f"{path}: ") and says in said, (path, said)
            assert "unable to open database file" not in said
        assert main(["serve", "--port", "0", "--journal", str(folder / "text.sqlite")]) == 3
        assert f"{folder / 'text.sqlite'}: not a SQLite file" in capsys.readouterr().err
    finally:
        (folder / "read-only").chmod(0o755)
        shutil.rmtree(folder)


def test_journal_text_has_a_header_row_and_columns_aligned_for_long_contract_names(tmp_path, capsys):
    from mockplatform.app import Application, Config
    from mockplatform.http_routes import handle
    from mockplatform.messages import Request

    from .soap import envelope

    long_ns = "urn:riv:clinicalprocess:logistics:logistics:GetCareContactsWithAVeryLongNameIndeedResponder:3"
    app = Application(Config(journal=tmp_path / "j.sqlite"))
    try:
        for body in (is_active_user(), envelope(f'<x:GetCareContacts xmlns:x="{long_ns}"/>'),
                     envelope('<x:Odd xmlns:x="urn:a-namespace-without-a-responder-that-goes-on-and-on-and-on"/>')):
            handle(app, Request(method="POST", path="/vp", headers=[("Content-Type", "text/xml")], body=body,
                                query={}, client="127.0.0.1:1"))
    finally:
        app.close()
    assert main(["journal", "--journal", str(tmp_path / "j.sqlite")]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["TIME", "HTTP", "VP", "CONTRACT", "LOGICAL", "ADDRESS", "CONSUMER", "CORRELATION", "ID"]
    assert [r.split()[3] for r in rows] == ["IsActiveUser", "GetCareContactsWithAVeryLongNameIndeed",
                                            "urn:a-namespace-without-a-responder-that-goes-on-and-on-and-on"]
    for title in ("HTTP", "VP", "CONTRACT", "LOGICAL ADDRESS", "CONSUMER", "CORRELATION ID"):
        column = header.index(title)
        for row in rows:  # every value starts under its title
            assert row[column - 2:column] == "  " and row[column] != " ", (title, row)


def test_demo_leaves_only_the_journal_and_the_protocol(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "journal.sqlite", "junit.xml", "protocol.docx", "protocol.html", "protocol.json", "protocol.md"]


def test_journal_text_shows_what_a_consumer_sent_without_obeying_it(tmp_path, capsys):
    """A line break, a tab or an escape sequence in an address or a sender header is shown as [U+000A] and
    the like: one row a line, nothing reaches the terminal as a command, wide characters kept aligned."""
    from mockplatform.app import Application, Config
    from mockplatform.http_routes import handle
    from mockplatform.messages import Request

    from .soap import envelope

    app = Application(Config(journal=tmp_path / "j.sqlite"))
    try:
        handle(app, Request("POST", "/vp", [("Content-Type", "text/xml")],
                            envelope("<x:A xmlns:x='urn:a'/>", address="SE55\nline2\tÅÄÖ漢字"), client="127.0.0.1:1"))
        handle(app, Request("POST", "/vp", [("x-vp-sender-id", "SE\x1b[31mRED\x1b[0m\tX")], is_active_user(),
                            client="127.0.0.1:1"))
    finally:
        app.close()
    assert main(["journal", "--journal", str(tmp_path / "j.sqlite")]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert len(rows) == 2 and "\x1b" not in out and "\t" not in out
    assert "SE55[U+000A]line2[U+0009]ÅÄÖ漢字" in rows[0] and "SE[U+001B][31mRED" in rows[1]
    from mockplatform.display_text import terminal_width

    column = header.index("CONSUMER")
    for row in rows:  # the consumer starts under its title, counted in terminal columns (漢 takes two)
        at = next(i for i in range(len(row)) if terminal_width(row[:i]) == column)
        assert row[at - 2:at] == "  " and row[at] != " ", row


def test_ctrl_c_stops_a_command_with_a_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Ctrl-C during ``verify`` (a long judging) ends it with one line and exit 130, as a shell reports it."""
    from mockplatform import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_verify", interrupted)
    assert main(["verify", "--journal", str(tmp_path / "j.sqlite")]) == 130
    err = capsys.readouterr().err
    assert err == "mockplatform: interrupted\n"
