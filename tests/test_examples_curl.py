"""examples/curl/inbox.sh: the admin API and both operations with bash and curl, against a running platform."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "curl" / "inbox.sh"
ADD = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="the curl example needs bash and curl (apt-get install curl)")


def _run(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), url], capture_output=True, text=True, timeout=60)


def test_the_curl_example_passes_against_the_platform(platform):
    run = _run(platform.url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith("curl example: every answer as expected")
    # what it did is in the journal: it reset first, then 3 good calls, a logical ERROR and a VP009
    exchanges = sorted(platform.app.journal.iter_exchanges(), key=lambda e: e.id)
    assert [(e.contract.rsplit(":", 2)[-2], e.http_status, e.vp_code) for e in exchanges] == [
        ("IsActiveUserResponder", 200, None), ("IsActiveUserResponder", 200, None),
        ("AddMessageToPatientPortalInboxResponder", 200, None),
        ("AddMessageToPatientPortalInboxResponder", 200, None),
        ("AddMessageToPatientPortalInboxResponder", 500, "VP009")]
    assert requests.get(platform.url + "/admin/faults", timeout=10).json() == {"faults": []}


def test_the_curl_example_fails_when_an_answer_is_wrong(start_platform, tmp_path):
    # a TAK without a route for AddMessage: that call gets VP004, and the script must say so and exit 1
    tak = tmp_path / "tak.toml"
    tak.write_text(f'''
[[route]]
contracts = ["urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1"]
logical_address = "SE5565594230-1177"
address = "builtin:inbox"

[[authorisation]]
consumers = ["SE2321000016-7XQA"]
contracts = ["urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1", "{ADD}"]
logical_address = "SE5565594230-1177"
''')
    run = _run(start_platform(tak=tak).url + "/vp")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED: AddMessage: HTTP 200 expected" in run.stderr
    assert "VP004" in run.stderr
