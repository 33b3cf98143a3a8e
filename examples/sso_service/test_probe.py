"""The issue's proof: the example SP passes ``mockplatform probe --profile uthopp``, and each ``--skip``
variant fails with the case of the Response its skipped check would have refused named."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sso_service import SKIPPABLE, start

from mockplatform.cli import main

# The catalogue's case of each broken kind (cases.py: TC-UTH-03.. in the order of saml.KINDS).
CASE = {"bad-signature": "TC-UTH-03", "wrong-audience": "TC-UTH-05", "wrong-recipient": "TC-UTH-06",
        "wrong-destination": "TC-UTH-07", "expired": "TC-UTH-08", "not-yet-valid": "TC-UTH-09",
        "replayed": "TC-UTH-10", "unknown-in-response-to": "TC-UTH-11"}
NAMED = {"signature": {"bad-signature"}, "audience": {"wrong-audience"}, "recipient": {"wrong-recipient"},
         "destination": {"wrong-destination"}, "time": {"expired", "not-yet-valid"}, "replay": {"replayed"},
         "in-response-to": {"unknown-in-response-to"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(tmp_path: Path, skip: str | None) -> tuple[int, dict]:
    """The SP started first (the probe starts the platform: the SP reads the IdP metadata at the first login)."""
    port = free_port()
    sp = start(idp_metadata=f"http://127.0.0.1:{port}/sso/test/metadata", skip=skip)
    try:
        out = tmp_path / "out"
        code = main(["probe", "--profile", "uthopp", "--port", str(port), "--journal", str(tmp_path / "j.sqlite"),
                     "--sp-metadata", sp.metadata_url, "--start", sp.url, "--logout", f"{sp.url}logout",
                     "--out", str(out)])
    finally:
        sp.stop()
    return code, json.loads((out / "protocol.json").read_text(encoding="utf-8"))


def failed(protocol: dict) -> set[str]:
    return {c["id"] for c in protocol["cases"] if c["status"] != "passed"}


def test_the_example_sp_passes_the_probe(tmp_path):
    code, protocol = probe(tmp_path, None)
    assert failed(protocol) == set() and code == 0, (failed(protocol), protocol["verdict"])
    assert protocol["head"]["consumer_hsa_id"].endswith("/saml/metadata")


@pytest.mark.parametrize("skip", SKIPPABLE)
def test_a_skip_variant_fails_with_its_case_named(tmp_path, skip):
    code, protocol = probe(tmp_path, skip)
    assert code == 1
    assert failed(protocol) == {CASE[kind] for kind in NAMED[skip]}
