"""The pytest plugin as a consumer's test suite sees it: fixtures, explained misses, contract checks."""

from __future__ import annotations

import pytest

from mockplatform import Application, Config
from mockplatform.expectations import Expectation, verify_count
from mockplatform.http_routes import handle
from mockplatform.journal import Exchange
from mockplatform.messages import Request

from .soap import is_active_user

pytest_plugins = ["pytester"]

HELPERS = '''
import requests
from tests_soap import add_message, is_active_user

def post(handle, body, **headers):
    return requests.post(handle.vp_url, data=body, headers={"Content-Type": "text/xml", **headers}, timeout=10)
'''


@pytest.fixture
def suite(pytester):
    from pathlib import Path

    pytester.makepyfile(tests_soap=(Path(__file__).parent / "soap.py").read_text())
    pytester.makepyfile(helpers=HELPERS)
    return pytester


def test_fixtures_give_a_clean_platform_per_test_and_misses_are_explained(suite):
    suite.makepyfile(test_consumer='''
from helpers import post, is_active_user, add_message

def test_first(mockplatform):
    post(mockplatform, is_active_user())
    mockplatform.assert_received(contract="IsActiveUser", count=1)

def test_second_starts_empty(mockplatform_inprocess):
    assert mockplatform_inprocess.calls() == []
    post(mockplatform_inprocess, add_message(), **{"x-vp-sender-id": "SE2321000016-8KVR"})
    mockplatform_inprocess.assert_received(contract="AddMessageToPatientPortalInbox", consumer="SE2321000016-8KVR")

def test_miss(mockplatform):
    post(mockplatform, is_active_user(address="SE2321000016-A1B2"))
    mockplatform.assert_received(contract="IsActiveUser", logical_address="SE5565594230-1177", http_status=200)
''')
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*Expected exactly 1 call(s) matching contract='IsActiveUser'*received 0*",
        "*Nearest misses:*",
        "*MISS logical_address: expected 'SE5565594230-1177', got 'SE2321000016-A1B2'*",
        "*note: answered VP004*",
    ])


def test_check_contract_option_fails_a_test_whose_calls_break_the_rules(suite):
    suite.makepyfile(test_consumer='''
from helpers import post, add_message

def test_sends_without_heading(mockplatform):
    post(mockplatform, add_message(description=None))
''')
    result = suite.runpytest("-p", "no:cacheprovider", "--mockplatform-check-contract")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*contract rule violation(s)*", "*INBOX-MESSAGE-DESCRIPTION*"])
    assert suite.runpytest("-p", "no:cacheprovider").ret == 0  # without the option the same test passes


def test_an_internal_platform_error_is_raised_in_the_test(suite):
    suite.makepyfile(test_consumer='''
from helpers import post, is_active_user

def test_breaks(mockplatform, monkeypatch):
    def boom(call):
        raise RuntimeError("producer exploded")
    monkeypatch.setitem(mockplatform.app.pipeline.builtin_producers, "inbox", boom)
    assert post(mockplatform, is_active_user()).status_code == 500
''')
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*PlatformInternalError*", "*producer exploded*"])


def _exchange(**kw) -> Exchange:
    base = dict(time="t", duration_ms=1, client="c", method="POST", path="/vp", request_headers=[],
                request_body=b"", http_status=200, response_headers=[], response_body=b"", id=1,
                contract="urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1",
                logical_address="SE5565594230-1177", consumer="SE1")
    base.update(kw)
    return Exchange(**base)


def test_count_expectations():
    calls = [_exchange(id=1), _exchange(id=2, consumer="SE2")]
    assert verify_count(calls, Expectation(contract="IsActiveUser"), 2) is None
    assert verify_count(calls, Expectation(consumer="se2"), 1) is None
    assert verify_count(calls, Expectation(consumer="SE3"), None).startswith("Expected at least 1")
    too_many = verify_count(calls, Expectation(contract="IsActiveUser"), 1)
    assert "received 2" in too_many and "Matching calls" in too_many
    assert "pointed at this platform" in verify_count([], Expectation(), 1)
    fault = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
             b'<faultcode>s:Client</faultcode><faultstring>Schema validation failed with 1 violation(s)</faultstring>'
             b'</s:Fault></s:Body></s:Envelope>')
    schema_fault = _exchange(id=3, http_status=500, response_body=fault)
    said = verify_count([schema_fault], Expectation(contract="IsActiveUser", http_status=200), 1)
    assert "note: answered a SOAP fault: Schema validation failed with 1 violation(s)" in said


def test_too_few_calls_are_explained_without_contradiction():
    """One matching call where two were expected: it says what came, never that nothing did."""
    said = verify_count([_exchange(id=1)], Expectation(contract="IsActiveUser"), 2)
    assert said.startswith("Expected exactly 2 call(s) matching contract='IsActiveUser'; received 1 (of 1 in total).")
    assert "No calls were received at all" not in said
    assert "Matching calls:\n  #1 " in said and "1 more expected" in said
    with_a_miss = verify_count([_exchange(id=1), _exchange(id=2, consumer="SE2")],
                               Expectation(contract="IsActiveUser", consumer="SE1"), 2)
    assert "Matching calls:\n  #1 " in with_a_miss and "Nearest misses:\n  #2 " in with_a_miss
    assert "No calls were received at all" not in with_a_miss


def test_files_named_in_the_ini_file_are_found_beside_it_wherever_pytest_runs(suite):
    from mockplatform.fixtures import builtin_fixtures_dir

    folder = suite.mkdir("consumer_suite")
    (folder / "pytest.ini").write_text("[pytest]\nmockplatform_tak = my-tak.toml\n")
    (folder / "my-tak.toml").write_text((builtin_fixtures_dir() / "tak.toml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    (folder / "test_it.py").write_text('''
import pytest

def test_uses_the_tak_beside_the_ini_file(mockplatform):
    assert mockplatform.app.tak.source.endswith("my-tak.toml")

def test_an_unknown_fault_kind_names_the_kinds(mockplatform):
    with pytest.raises(ValueError, match="no fault kind 'connection_reset'; the kinds are .*connection_refused"):
        mockplatform.inject("connection_reset")
''')
    result = suite.runpytest("-p", "no:cacheprovider", "consumer_suite")  # run from the folder above
    result.assert_outcomes(passed=2)


def test_assert_conformant_can_fail_on_warnings_and_on_chosen_rules(suite):
    """A retry 0.1 s after a fault is only a warning (PP-RETRY-BACKOFF): assert_conformant() passes it by
    default, and fails it when asked to, by argument or by the ini file."""
    suite.makepyfile(test_consumer='''
import time
import pytest
from helpers import post, is_active_user

def retry_too_soon(handle):
    handle.inject("http_500", contract="IsActiveUser")
    assert post(handle, is_active_user()).status_code == 500
    time.sleep(0.1)
    assert post(handle, is_active_user()).status_code == 200

def test_default_errors_only(mockplatform):
    retry_too_soon(mockplatform)
    mockplatform.assert_conformant()
    assert [f.rule_id for _, f in mockplatform.contract_findings(errors_only=False)] == ["PP-RETRY-BACKOFF"]

def test_warnings(mockplatform):
    retry_too_soon(mockplatform)
    with pytest.raises(AssertionError, match="1 contract rule violation.*\\\\n.*warning PP-RETRY-BACKOFF"):
        mockplatform.assert_conformant(warnings=True)

def test_chosen_rule(mockplatform_inprocess):
    retry_too_soon(mockplatform_inprocess)
    with pytest.raises(AssertionError, match="PP-RETRY-BACKOFF"):
        mockplatform_inprocess.assert_conformant(rules=["pp-retry-backoff"])
    mockplatform_inprocess.assert_conformant(rules=["PP-ACTIVE-USER-CHECKED"])

def test_from_the_ini_file(mockplatform):
    retry_too_soon(mockplatform)
    mockplatform.assert_conformant(warnings=False)
    mockplatform.assert_conformant()
''')
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    suite.makeini("[pytest]\nmockplatform_fail_on_warnings = true\n")
    result = suite.runpytest("-p", "no:cacheprovider", "-k", "from_the_ini_file")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*warning PP-RETRY-BACKOFF*"])
    suite.makeini("[pytest]\n")
    result = suite.runpytest("-p", "no:cacheprovider", "-k", "from_the_ini_file", "--mockplatform-check-contract",
                             "--mockplatform-fail-on-rule", "PP-RETRY-BACKOFF")
    result.assert_outcomes(failed=1, errors=1)  # the test's own assert_conformant(), then the check after it


def test_a_responses_mock_of_the_tests_own_is_met_with_the_way_to_share_one(suite):
    """Activating responses beside mockplatform_inprocess: a refused call says to use intercept(..., mock=...);
    a mock already active when the fixture starts gets a warning that says the same."""
    suite.makepyfile(test_consumer='''
import pytest
import requests
import responses
from helpers import post, is_active_user

@responses.activate
def test_activated_after_the_fixture(mockplatform_inprocess):
    responses.add(responses.GET, "http://crm.example/api/patient", json={"pnr": "191212121212"})
    post(mockplatform_inprocess, is_active_user())

@pytest.fixture
def started_before():
    responses.start()
    yield
    responses.stop()
    responses.reset()

def test_active_before_the_fixture(started_before, mockplatform_inprocess):
    assert post(mockplatform_inprocess, is_active_user()).status_code == 200
''')
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*ConnectionError: Connection refused by Responses*",
        "*refused by another responses mock, activated after mockplatform_inprocess*",
        "*intercept(mockplatform_app, mock=rsps)*",
    ])
    result.stdout.fnmatch_lines(["*MockplatformWarning: a responses mock is already active*intercept(*"])


def test_the_plugin_keeps_its_platform_in_its_own_postgresql_database_and_never_empties_a_teams(suite,
                                                                                                 postgresql_cluster,
                                                                                                 monkeypatch):
    """--mockplatform-database: the tests' platform on PostgreSQL, emptied for each test. A database that holds
    exchanges the plugin did not make is refused (each test would empty a team's platform), and the team's
    variable $MOCKPLATFORM_DATABASE is not the plugin's."""
    suite.makepyfile(test_consumer='''
from helpers import post, is_active_user

def test_one(mockplatform):
    post(mockplatform, is_active_user())
    mockplatform.assert_received(contract="IsActiveUser", count=1)

def test_two(mockplatform):
    mockplatform.assert_received(count=0)
''')
    own = postgresql_cluster.create_database()
    result = suite.runpytest("-p", "no:cacheprovider", f"--mockplatform-database={own}")
    result.assert_outcomes(passed=2)
    assert suite.runpytest("-p", "no:cacheprovider", f"--mockplatform-database={own}").ret == 0  # its own again

    team = postgresql_cluster.create_database()
    app = Application(Config(database=team))  # the team's platform, with a call journaled
    handle(app, Request("POST", "/vp", [("Content-Type", "text/xml")], is_active_user(), client="127.0.0.1:1"))
    app.close()
    refused = suite.runpytest("-p", "no:cacheprovider", f"--mockplatform-database={team}")
    refused.assert_outcomes(errors=2)
    refused.stdout.fnmatch_lines(["*holds 1 exchanges that these tests did not make*"])
    monkeypatch.setenv("MOCKPLATFORM_DATABASE", team)  # the team's variable: not used by the plugin
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    journal = Application(Config(database=team)).journal
    try:
        assert journal.count() == 1  # the team's call is still there
    finally:
        journal.close()
