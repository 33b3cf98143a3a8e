"""examples/java_consumer: a JAX-WS client that wsimport generates from the WSDLs the platform serves, compiled with
javac and run against a real platform. It calls both operations with the LogicalAddress header, checks the answers
and the journal (admin API), and run.sh judges its calls with `mockplatform verify`. .ci/run installs the JDK and
Debian's jaxws package, so in CI this runs; elsewhere it is skipped when a tool is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from lxml import etree

from mockplatform.findings import Severity
from mockplatform.verification import judge_exchanges

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "java_consumer"
JAXWS_RT = Path(os.environ.get("JAXWS_CP", "/usr/share/java/jaxws-rt.jar"))
MISSING = [tool for tool in ("wsimport", "javac", "java") if shutil.which(tool) is None]
if not MISSING and not all(Path(p).is_file() for p in str(JAXWS_RT).split(os.pathsep)):
    MISSING = [f"the JAX-WS runtime ({JAXWS_RT})"]

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the Java consumer example needs {', '.join(MISSING)}: apt-get install default-jdk-headless jaxws "
           "(.ci/run installs them)")

ADD = "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1"
IS_ACTIVE = "urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1"


def _run(args: list[str], build: Path) -> subprocess.CompletedProcess:
    # `mockplatform` (for run.sh's verify step) is beside this Python, in the venv or the tox env
    env = {**os.environ, "BUILD_DIR": str(build),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=240)


def test_the_java_consumer_calls_both_operations_conformantly(platform, tmp_path):
    build = tmp_path / "build"
    run = _run(["bash", str(EXAMPLE / "run.sh"), platform.url + "/vp"], build)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "IsActiveUser 191212121212: status=true" in run.stdout, output
    assert "AddMessageToPatientPortalInbox: resultCode=OK" in run.stdout, output
    assert "java consumer: all checks passed" in run.stdout, output
    assert "verify found no error in the calls since" in run.stdout, output
    # the client really was generated from the served WSDL, the header as a parameter
    interface = next(build.glob("generated/**/IsActiveUserResponderInterface.java")).read_text()
    assert 'name = "LogicalAddress", targetNamespace = "urn:riv:itintegration:registry:1", header = true' in interface

    exchanges = sorted(platform.app.journal.iter_exchanges(), key=lambda e: e.id)
    assert [(e.contract, e.http_status, e.vp_code) for e in exchanges] == [(IS_ACTIVE, 200, None), (ADD, 200, None)]
    for exchange in exchanges:
        headers = {k.lower(): v for k, v in exchange.request_headers}
        assert headers["user-agent"].startswith("JAX-WS RI"), headers
        assert exchange.consumer == "SE2321000016-7XQA" and exchange.logical_address == "SE5565594230-1177"
        header = etree.fromstring(exchange.request_body).find("{http://schemas.xmlsoap.org/soap/envelope/}Header")
        assert [(h.tag, h.text) for h in header] == [("{urn:riv:itintegration:registry:1}LogicalAddress",
                                                      "SE5565594230-1177")]
    findings = judge_exchanges(exchanges, platform.app.fixtures, platform.app.contracts)
    assert [f for _, f in findings if f.severity is Severity.ERROR] == []
    assert [f for _, f in findings] == [], "not even a warning (IsActiveUser came first)"

    case = requests.get(platform.url + "/admin/inbox/191212121212", timeout=10).json()["cases"][0]
    assert case["messages"][0]["description"] == "Kallelse till provtagning"
    assert case["messages"][0]["notifications"] == ["SMS", "Email"]

    # its checks bite: an injected logical error makes the consumer fail (the client built above, run again)
    injected = requests.post(platform.url + "/admin/faults", timeout=10, json={
        "kind": "logical_error", "contract": "AddMessageToPatientPortalInbox", "text": "Injected"})
    assert injected.status_code == 201
    again = _run(["java", "-cp", f"{build / 'classes'}{os.pathsep}{JAXWS_RT}", "InboxConsumer", platform.url], build)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "FAILED: AddMessage resultCode is OK" in again.stdout
