"""The command line: fixtures, journal, serve (as a real process), exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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


def test_serve_prints_url_answers_records_and_stops_cleanly(tmp_path):
    journal = tmp_path / "j.sqlite"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockplatform", "serve", "--port", "0", "--journal", str(journal)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        started = time.monotonic()
        url = None
        lines = []
        while url is None:
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
            if "listening on" in line:
                url = line.strip().rsplit(" ", 1)[-1]
        assert time.monotonic() - started < 10
        assert url.endswith("/vp")
        r = requests.post(url, data=is_active_user(), headers={"Content-Type": "text/xml"}, timeout=10)
        assert r.status_code == 200
        r2 = requests.post(url, data=add_message(INACTIVE), timeout=10)
        cid = r2.headers["x-skltp-correlation-id"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    result = subprocess.run([sys.executable, "-m", "mockplatform", "journal", "--json", "--journal", str(journal)],
                            capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert rows[1]["correlation_id"] == cid
    assert {"correlation_id", "contract", "logical_address", "consumer", "http_status", "vp_code"} <= set(rows[0])
    assert rows[0]["contract"].endswith("IsActiveUserResponder:1")


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
