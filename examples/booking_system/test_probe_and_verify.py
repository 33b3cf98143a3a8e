"""The issue's proof: the example booking system passes ``mockplatform probe`` and ``verify`` with the
web-booking profile, and its broken variant fails with each planted mistake named by its rule."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from booking_system import start

from mockplatform.cli import main

REPO = Path(__file__).resolve().parents[2]
PLANTED = ("WB-DETAILS-FLAGS", "WB-EMPTY-ELEMENT", "WB-BOOKINGID-RESULT", "WB-EI-AFTER-CHANGE", "WB-EI-MOST-RECENT",
           "WB-PASSED-TIMES", "WB-EI-CATEGORIZATION")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(tmp_path: Path, broken: bool) -> tuple[int, dict, Path]:
    port = free_port()
    system = start(port=0, platform_url=f"http://127.0.0.1:{port}", broken=broken)
    try:
        tak = tmp_path / "tak.toml"
        tak.write_text((REPO / "fixtures" / "tak.toml").read_text(encoding="utf-8")
                       .replace("http://127.0.0.1:8089/scheduling", system.url), encoding="utf-8")
        out = tmp_path / "out"
        journal = tmp_path / "journal.sqlite"
        code = main(["probe", "--profile", "web-booking", "--port", str(port), "--tak", str(tak),
                     "--journal", str(journal), "--out", str(out), "--wait", "4"])
    finally:
        system.stop()
    return code, json.loads((out / "protocol.json").read_text(encoding="utf-8")), journal


def violated(protocol: dict) -> set[str]:
    return {r["rule_id"] for r in protocol["rules"] if r["violations"]}


def test_the_example_booking_system_passes_the_probe_and_verify(tmp_path):
    code, protocol, journal = probe(tmp_path, broken=False)
    assert violated(protocol) == set(), violated(protocol)
    assert code == 0, protocol["verdict"]
    assert (tmp_path / "out" / "probe.md").is_file()
    # The system under test is the booking system of the units probed, not 1177 whose part the probe played.
    assert protocol["head"]["consumer_hsa_id"] == "SE2321000016-BOKA"
    assert protocol["head"]["selection"]["consumer"] == "SE2321000016-BOKA"
    again = main(["verify", "--profile", "web-booking", "--journal", str(journal), "--out", str(tmp_path / "v")])
    assert again == 0


def test_the_broken_booking_system_fails_with_each_planted_mistake_named(tmp_path):
    code, protocol, _ = probe(tmp_path, broken=True)
    assert code == 1
    missing = [rule for rule in PLANTED if rule not in violated(protocol)]
    assert missing == [], f"not named: {missing}; named: {sorted(violated(protocol))}"


@pytest.mark.parametrize("argv, says", [
    (["probe", "--profile", "no-such"], "no probe for profile 'no-such'"),
    (["probe", "--profile", "web-booking", "--citizen", "nonsense"], "--citizen nonsense"),
])
def test_probe_usage_errors_say_what_to_give(argv, says, capsys):
    assert main(argv) == 2
    assert says in capsys.readouterr().err
