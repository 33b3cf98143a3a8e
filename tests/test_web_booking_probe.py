"""`mockplatform probe --profile web-booking` as a vendor meets it when something is off: a unit the TAK does
not route, a booking system that answers nothing usable. What the probe says must be what happened."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from mockplatform import ns
from mockplatform.cli import main
from mockplatform.fixtures import builtin_fixtures_dir

BUILTIN_ADDRESS = "http://127.0.0.1:8089/scheduling"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(tmp_path: Path, *extra: str) -> int:
    return main(["probe", "--profile", "web-booking", "--port", str(free_port()), "--journal",
                 str(tmp_path / "journal.sqlite"), "--out", str(tmp_path / "out"), "--wait", "0", *extra])


def test_a_unit_the_tak_does_not_route_is_a_usage_error_before_any_call(tmp_path, capsys):
    assert probe(tmp_path, "--unit", "SE2321000016-ZZZZ") == 2
    err = capsys.readouterr().err
    assert "--unit SE2321000016-ZZZZ: the TAK" in err and "no route for GetSubjectOfCareSchedule" in err
    assert "VP004" in err and "--tak" in err
    assert not (tmp_path / "out").exists()
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM exchanges").fetchone()[0] == 0


def test_probe_md_says_why_nothing_was_booked_when_the_free_days_failed(tmp_path, producer):
    producer.behaviour.status = 500
    producer.behaviour.headers = {"Content-Type": "text/xml; charset=UTF-8"}
    producer.behaviour.body = (f'<s:Envelope xmlns:s="{ns.SOAP11}"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
                               "<faultstring>Tidboken är stängd för underhåll</faultstring></s:Fault></s:Body>"
                               "</s:Envelope>").encode()
    tak = tmp_path / "tak.toml"
    tak.write_text((builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8")
                   .replace(BUILTIN_ADDRESS, producer.url), encoding="utf-8")
    assert probe(tmp_path, "--tak", str(tak), "--unit", "SE2321000016-A1B2") == 1
    log = (tmp_path / "out" / "probe.md").read_text(encoding="utf-8")
    made = next(line for line in log.splitlines() if "| MakeBooking |" in line)
    assert "not run" in made
    assert "no free time to book: GetAvailableDates failed (Tidboken är stängd för underhåll)" in made


def test_probe_md_says_an_html_page_is_no_soap_answer_not_no_answer(tmp_path, producer):
    producer.behaviour.headers = {"Content-Type": "text/html"}
    producer.behaviour.body = b"<html><body><h1>Service Unavailable</h1></body></html>"
    tak = tmp_path / "tak.toml"
    tak.write_text((builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8")
                   .replace(BUILTIN_ADDRESS, producer.url), encoding="utf-8")
    assert probe(tmp_path, "--tak", str(tak), "--unit", "SE2321000016-A1B2") == 1
    log = (tmp_path / "out" / "probe.md").read_text(encoding="utf-8")
    listed = next(line for line in log.splitlines() if "| GetSubjectOfCareSchedule |" in line)
    assert "| failed |" in listed and "HTTP 200 without a SOAP answer (54 bytes)" in listed
