"""TAK files: the project's TOML, the public TAK export JSON, a TAK order JSON, and their errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from mockplatform.errors import ConfigError
from mockplatform.tak import RouteOutcome
from mockplatform.tak_files import load_tak, load_tak_toml

from .soap import CONSUMER, envelope

C = "urn:riv:test:PingResponder:1"

EXPORT = {
    "formatVersion": 1, "version": 4711, "tidpunkt": "2026-11-01T03:00:00+0100", "utforare": "tak-export",
    "kommentar": "test",
    "data": {
        "rivtaprofil": [{"id": 1, "namn": "RIVTABP21"}, {"id": 2, "namn": "RIVTABP20"}],
        "tjanstekontrakt": [{"id": 10, "namnrymd": C, "majorVersion": 1, "minorVersion": 0}],
        "logiskadress": [{"id": 20, "hsaId": "SE123-A", "beskrivning": "Enhet A"}],
        "tjanstekomponent": [{"id": 30, "hsaId": CONSUMER, "beskrivning": "Konsument"},
                             {"id": 31, "hsaId": "SE123-PROD", "beskrivning": "Producent"}],
        "anropsadress": [{"id": 40, "adress": "PRODUCER_URL",
                          "relationships": {"tjanstekomponent": 31, "rivtaprofil": 1}}],
        "vagval": [{"id": 50, "fromTidpunkt": "2020-01-01", "tomTidpunkt": "2099-12-31",
                    "relationships": {"anropsadress": 40, "logiskadress": 20, "tjanstekontrakt": 10}},
                   {"id": 51, "fromTidpunkt": "2010-01-01", "tomTidpunkt": "2015-12-31",
                    "relationships": {"anropsadress": 40, "logiskadress": 20, "tjanstekontrakt": 10}}],
        "anropsbehorighet": [{"id": 60, "integrationsavtal": "I-1", "fromTidpunkt": "2020-01-01",
                              "tomTidpunkt": "2099-12-31",
                              "relationships": {"logiskadress": 20, "tjanstekontrakt": 10, "tjanstekonsument": 30}}],
        "filter": [], "filtercategorization": [],
    },
}


def test_tak_export_json_is_imported(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(EXPORT), encoding="utf-8")
    tak, _ = load_tak(path)
    assert len(tak.routes) == 2 and len(tak.authorisations) == 1
    decision = tak.route(C, "se123-a", date(2026, 1, 1))
    assert decision.outcome is RouteOutcome.FOUND and decision.route.address == "PRODUCER_URL"
    assert decision.route.profile == "RIVTABP21"
    assert tak.authorise(CONSUMER, C, "SE123-A", date(2026, 1, 1)).allowed


def test_tak_export_with_a_dangling_relationship_names_the_row(tmp_path):
    broken = json.loads(json.dumps(EXPORT))
    broken["data"]["vagval"][0]["relationships"]["logiskadress"] = 999
    path = tmp_path / "export.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"vagval id 50: relationships.logiskadress = 999"):
        load_tak(path)


def test_tak_order_json_is_imported(tmp_path):
    order = {"inkludera": {
        "vagval": [{"adress": "http://p", "logiskAdress": "SE1", "tjanstekontrakt": C, "rivtaprofil": "RIVTABP20",
                    "tjanstekomponent": "SE1-P"}],
        "anropsbehorigheter": [{"logiskAdress": "SE1", "tjanstekontrakt": C, "tjanstekonsument": CONSUMER}]},
        "exkludera": {}}
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order), encoding="utf-8")
    tak, _ = load_tak(path)
    assert tak.route(C, "SE1", date.today()).route.profile == "RIVTABP20"
    assert tak.authorise(CONSUMER, C, "SE1", date.today()).allowed


def test_toml_import_merges_another_catalogue(tmp_path):
    (tmp_path / "export.json").write_text(json.dumps(EXPORT), encoding="utf-8")
    (tmp_path / "tak.toml").write_text('import = ["export.json"]\n[[route]]\ncontract = "urn:x"\n'
                                       'logical_address = "B"\naddress = "builtin:inbox"\n', encoding="utf-8")
    tak, _ = load_tak_toml(tmp_path / "tak.toml")
    assert len(tak.routes) == 3


@pytest.mark.parametrize("text, message", [
    ('[[route]]\nlogical_address = "A"\naddress = "x"\n', "'contract' is required"),
    ('[[route]]\ncontract = "c"\nlogical_address = "A"\naddress = "x"\nvalid_from = "next week"\n', "not a date"),
    ('[[authorisation]]\ncontract = "c"\nlogical_address = "A"\n', "'consumer' is required"),
    ('routes = []\n', "unknown key"),
    ('[[route]\n', "not valid TOML"),
])
def test_toml_errors_name_file_and_entry(tmp_path, text, message):
    path = tmp_path / "tak.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_tak_toml(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_toml_file_that_is_not_utf8_is_a_configuration_error_naming_the_line(tmp_path):
    path = tmp_path / "tak.toml"
    path.write_bytes('# TAK\n[[route]]\ncontract = "c"\nlogical_address = "Vårdcentralen"\n'.encode("cp1252"))
    with pytest.raises(ConfigError, match=r"tak.toml: not valid TOML: line 4 is not UTF-8 \(byte 0xe5\): save the file "
                                          "as UTF-8"):
        load_tak_toml(path)


def test_platform_routes_with_an_imported_export(start_platform, producer, tmp_path):
    producer.behaviour.body = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ok/>' \
                              b"</s:Body></s:Envelope>"
    data = json.loads(json.dumps(EXPORT).replace("PRODUCER_URL", producer.url))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    p = start_platform(tak=path)
    assert p.post(envelope(f'<Ping xmlns="{C}"/>', address="SE123-A")).status_code == 200


def _tak_importing(path, *imports: str) -> None:
    path.write_text(f"import = {list(imports)!r}\n".replace("'", '"'), encoding="utf-8")


def test_a_tak_file_importing_itself_is_a_usage_error_naming_the_cycle(tmp_path):
    """Directly, or through other files: a ConfigError with the files in order, not a RecursionError."""
    a, b, c = tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "c.toml"
    _tak_importing(a, "a.toml")
    with pytest.raises(ConfigError) as info:
        load_tak(a)
    assert str(info.value) == f"{a}: TAK imports form a cycle: {a} -> {a}"
    _tak_importing(a, "b.toml")
    _tak_importing(b, "c.toml")
    _tak_importing(c, f"../{tmp_path.name}/a.toml")  # written another way, the same file
    with pytest.raises(ConfigError) as info:
        load_tak(a)
    again = tmp_path / ".." / tmp_path.name / "a.toml"
    assert str(info.value) == f"{c}: TAK imports form a cycle: {a} -> {b} -> {c} -> {again}"


def test_a_file_imported_twice_without_a_cycle_is_no_error(tmp_path):
    """a imports b and c, both import d: d is read twice, which is no cycle."""
    for name, imports in (("a", ("b.toml", "c.toml")), ("b", ("d.toml",)), ("c", ("d.toml",))):
        _tak_importing(tmp_path / f"{name}.toml", *imports)
    (tmp_path / "d.toml").write_text(f'[[route]]\ncontract = "{C}"\nlogical_address = "A"\naddress = "builtin:x"\n',
                                     encoding="utf-8")
    tak, _ = load_tak(tmp_path / "a.toml")
    assert len(tak.routes) == 2


def test_import_must_be_a_list_of_file_names(tmp_path):
    path = tmp_path / "tak.toml"
    path.write_text('import = "export.json"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'import' must be a list of file names"):
        load_tak(path)


def test_serve_with_a_tak_import_cycle_exits_2_naming_the_cycle(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    _tak_importing(a, "b.toml")
    _tak_importing(b, "a.toml")
    done = subprocess.run([sys.executable, "-m", "mockplatform", "serve", "--tak", str(a), "--port", "0",
                           "--journal", str(tmp_path / "journal.sqlite")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"TAK imports form a cycle: {a} -> {b} -> {a}" in done.stderr
    assert "Traceback" not in done.stderr
