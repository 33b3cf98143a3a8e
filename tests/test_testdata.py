"""Invented test data: valid numbers in every form, HSA-ids, units, determinism, generated fixtures."""

from __future__ import annotations

import random
import re
import tomllib
from datetime import date

import pytest
from faker import Faker

from mockplatform import Application, Config
from mockplatform.domains.inbox1177.section import inbox_address
from mockplatform.fixtures import Fixtures, load_fixtures
from mockplatform.http_routes import handle as route
from mockplatform.messages import Request
from mockplatform.personnummer import birth_date, is_samordningsnummer, problems
from mockplatform.testdata import (
    FIXTURES_AS_OF,
    INBOX_LOGICAL_ADDRESS,
    SwedishHealthcareProvider,
    _group,
    age_on,
    faker_sv,
    format_number,
    generate_fixtures,
    is_valid_organisationsnummer,
    parse_number,
    sex_of,
)

from .soap import add_message, is_active_user

TODAY = date(2026, 3, 15)
SAMPLES = 500
HSA_ID = re.compile(r"^SE(\d{10})-[0-9A-Z]+$")
ORGNR = re.compile(r"^\d{6}-\d{4}$")
LOCAL = ("Vårdcentralen", "Barnavårdscentralen", "Barnmorskemottagningen", "Ungdomsmottagningen", "Folktandvården",
         "Distriktssköterskemottagningen", "Rehabiliteringsmottagningen")
PHONE = re.compile(
    r"^(010-\d{3} \d{2} \d{2}"
    r"|08-(\d{3} \d{3} \d{2}|\d{3} \d{2} \d{2})"
    r"|0[1-9]\d-(\d{2} \d{2} \d{2}|\d{3} \d{2} \d{2})"
    r"|0[1-9]\d{2}-(\d{3} \d{2}|\d{2} \d{2} \d{2}))$"
)


def luhn_ok(digits: str) -> bool:
    """Independent of personnummer.luhn_digit: the full number's Luhn sum is a multiple of 10."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@pytest.fixture
def fake() -> Faker:
    return faker_sv(1234, reference_date=TODAY)


# --- personnummer and samordningsnummer ---------------------------------------------------------------------------

def test_every_personnummer_is_valid_in_the_contract_form(fake):
    for _ in range(SAMPLES):
        pnr = fake.personnummer()
        assert re.fullmatch(r"\d{12}", pnr)
        assert problems(pnr) == [], pnr
        assert luhn_ok(pnr[2:]) and not is_samordningsnummer(pnr)
        assert pnr[8:11] != "000"


def test_every_samordningsnummer_is_valid_with_60_added_to_the_day(fake):
    for _ in range(SAMPLES):
        number = fake.samordningsnummer()
        assert problems(number) == [], number
        assert is_samordningsnummer(number) and 61 <= int(number[6:8]) <= 91
        assert luhn_ok(number[2:])


@pytest.mark.parametrize("kind", ["personnummer", "samordningsnummer"])
@pytest.mark.parametrize("form", ["contract", "long", "short"])
def test_formatted_forms_parse_back_to_the_contract_form(kind, form):
    fake = faker_sv(7, reference_date=TODAY)
    shape = {"contract": r"\d{12}", "long": r"\d{8}-\d{4}", "short": r"\d{6}[-+]\d{4}"}[form]
    for _ in range(200):
        text = getattr(fake, kind)(max_age=120, form=form)
        assert re.fullmatch(shape, text), text
        twelve = parse_number(text, today=TODAY)
        assert problems(twelve) == [], (text, twelve)
        assert format_number(twelve, form, TODAY) == text


def test_the_short_form_uses_plus_from_the_year_the_person_turns_100():
    assert format_number("191212121212", "short", date(2012, 12, 11)) == "121212+1212"
    assert format_number("192612311234", "short", date(2026, 1, 1)) == "261231+1234"
    assert format_number("192701011234", "short", date(2026, 12, 31)) == "270101-1234"
    assert parse_number("121212+1212", date(2026, 1, 1)) == "191212121212"
    assert parse_number("121212-1212", date(2026, 1, 1)) == "201212121212"
    assert parse_number("270101-1234", date(2026, 1, 1)) == "192701011234"
    assert parse_number("19121212-1212") == parse_number("191212121212") == "191212121212"


def test_centenarians_get_a_plus_and_others_a_hyphen(fake):
    for _ in range(100):
        old = fake.personnummer(min_age=100, max_age=110, form="short")
        assert old[6] == "+" and TODAY.year - int(parse_number(old, TODAY)[:4]) >= 100
        young = fake.personnummer(min_age=0, max_age=98, form="short")
        assert young[6] == "-"


def test_bad_input_to_the_form_functions_is_refused():
    for text in ("19121212121", "1212121212+", "19121212+1212", "abc"):
        with pytest.raises(ValueError):
            parse_number(text)
    with pytest.raises(ValueError):
        format_number("1212121212", "long")
    with pytest.raises(ValueError):
        format_number("191212121212", "medium")  # type: ignore[arg-type]


@pytest.mark.parametrize("today", [TODAY, date(2028, 2, 29), date(2027, 2, 28), date(2026, 12, 31)])
@pytest.mark.parametrize(("low", "high"), [(0, 0), (18, 18), (18, 19), (30, 65), (99, 101), (0, 120)])
def test_age_range_is_respected_and_reachable(today, low, high):
    fake = faker_sv(99, reference_date=today)
    ages = set()
    for _ in range(300):
        for number in (fake.personnummer(min_age=low, max_age=high), fake.samordningsnummer(low, high)):
            born = birth_date(number)
            assert born is not None and born <= today
            age = age_on(born, today)
            assert low <= age <= high, (number, age)
            ages.add(age)
    assert {low, high} <= ages


def test_age_range_must_make_sense(fake):
    for low, high in ((-1, 10), (20, 10)):
        with pytest.raises(ValueError):
            fake.personnummer(min_age=low, max_age=high)


@pytest.mark.parametrize("sex", ["male", "female"])
def test_sex_is_the_parity_of_the_ninth_digit(fake, sex):
    odd = sex == "male"
    for _ in range(200):
        for number in (fake.personnummer(sex=sex), fake.samordningsnummer(sex=sex, form="short")):
            assert sex_of(number) == sex
            assert (int(re.sub(r"\D", "", number)[-2]) % 2 == 1) is odd


def test_without_a_sex_both_occur_and_a_wrong_one_is_refused(fake):
    assert {sex_of(fake.personnummer()) for _ in range(100)} == {"male", "female"}
    with pytest.raises(ValueError):
        fake.personnummer(sex="M")  # type: ignore[arg-type]


# --- organisations, HSA-ids, units ------------------------------------------------------------------------------------

def test_organisation_numbers_are_luhn_valid_legal_entities(fake):
    groups = set()
    for _ in range(SAMPLES):
        org = fake.organisationsnummer()
        assert ORGNR.match(org), org
        digits = org.replace("-", "")
        assert luhn_ok(digits) and int(digits[2]) >= 2, org
        assert is_valid_organisationsnummer(org)
        groups.add(digits[0])
    assert groups == set("2356789")
    assert all(fake.organisationsnummer(group=5).startswith("5") for _ in range(20))
    with pytest.raises(ValueError):
        fake.organisationsnummer(group=1)


def test_region_numbers_are_in_the_232100_series(fake):
    for _ in range(200):
        org = fake.region_organisationsnummer()
        assert org.startswith("232100-") and luhn_ok(org.replace("-", "")), org


def test_organisation_number_check_refuses_wrong_numbers():
    assert is_valid_organisationsnummer("232100-0016") and is_valid_organisationsnummer("5565594230")
    assert not is_valid_organisationsnummer("232100-0017")  # wrong check digit
    assert not is_valid_organisationsnummer("851013-1239")  # a personnummer: third digit 1
    assert not is_valid_organisationsnummer("232100-001")


def test_hsa_ids_are_se_organisation_number_and_suffix(fake):
    for _ in range(SAMPLES):
        hsa_id = fake.hsa_id()
        m = HSA_ID.match(hsa_id)
        assert m and len(hsa_id.split("-")[1]) == 4, hsa_id
        org = m.group(1)
        assert org.startswith("232100") and luhn_ok(org) and int(org[2]) >= 2
    assert re.fullmatch(r"SE5565594230-[0-9A-Z]{6}", fake.hsa_id("556559-4230", suffix_length=6))
    with pytest.raises(ValueError):
        fake.hsa_id("556559-4231")


def test_care_units_carry_realistic_swedish_details(fake):
    for _ in range(200):
        unit = fake.care_unit()
        assert HSA_ID.match(unit.unit_id)
        assert re.fullmatch(
            rf"({'|'.join(LOCAL)}) \w+"
            r"|\S+mottagningen (Universitetssjukhuset i \w+|Länssjukhuset \w+|\w+ lasarett|Sjukhuset i \w+)",
            unit.name,
        ), unit.name
        assert re.fullmatch(r"\w+ \d{1,3}", unit.address.street), unit.address
        assert re.fullmatch(r"[1-9]\d{2} \d{2}", unit.address.postal_code), unit.address
        if not unit.name.startswith(LOCAL):
            assert unit.name.count(unit.address.city) == 1, unit  # the clinic's hospital is in the unit's city
        assert PHONE.match(unit.telephone), unit.telephone


def test_telephone_numbers_are_grouped_the_swedish_way(fake):
    assert _group("1234567") == "123 45 67" and _group("12345678") == "123 456 78"
    assert _group("123456") == "12 34 56" and _group("12345") == "123 45"
    assert fake.swedish_telephone_number(national=True).startswith("010-")
    assert fake.swedish_telephone_number("Stockholm").startswith("08-")
    for _ in range(SAMPLES):
        number = fake.swedish_telephone_number(national=fake.boolean())
        assert PHONE.match(number), number
        assert len(re.sub(r"\D", "", number)) in (9, 10), number


def test_postal_codes_follow_the_city(fake):
    for _ in range(100):
        code = fake.swedish_postal_code("Göteborg")
        assert re.fullmatch(r"4[12]\d \d{2}", code), code
    with pytest.raises(ValueError):
        fake.swedish_postal_code("Atlantis")


# --- registration and determinism ---------------------------------------------------------------------------------

def sequence(fake: Faker) -> list:
    return [
        fake.personnummer(form="short"), fake.samordningsnummer(sex="female"), fake.organisationsnummer(),
        fake.hsa_id(), fake.care_unit(), fake.first_name(), fake.swedish_telephone_number(),
        *(fake.personnummer(min_age=20, max_age=30) for _ in range(20)),
    ]


def test_the_same_seed_gives_the_same_data_and_other_seeds_differ():
    first = sequence(faker_sv(42, reference_date=TODAY))
    random.seed(0)
    Faker.seed(1)  # the global generator must not matter
    assert sequence(faker_sv(42, reference_date=TODAY)) == first
    assert sequence(faker_sv(43, reference_date=TODAY)) != first
    assert sequence(faker_sv(42)) == sequence(faker_sv(42))  # the default reference date: today


def test_the_provider_can_be_added_the_ways_faker_offers():
    included = Faker("sv_SE", includes=["mockplatform.testdata"])
    added = Faker("sv_SE")
    added.add_provider(SwedishHealthcareProvider)
    several = Faker(["sv_SE", "en_US"])
    several["sv_SE"].add_provider(SwedishHealthcareProvider)
    for fake in (included, added, several["sv_SE"], faker_sv(None)):
        assert problems(fake.personnummer()) == []
        assert HSA_ID.match(fake.hsa_id())
    assert faker_sv(None).locales == ["sv_SE"]


# --- generated fixtures -------------------------------------------------------------------------------------------

def write(tmp_path, text: str):
    path = tmp_path / "inbox.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_promises_kept(fx: Fixtures) -> None:
    """What the built-in fixtures promise, and what generated ones add: unique, valid ids."""
    assert inbox_address(fx) == INBOX_LOGICAL_ADDRESS
    for c in fx.citizens:
        assert problems(c.subject_of_care_id) == [] and c.name
        assert 18 <= age_on(birth_date(c.subject_of_care_id), FIXTURES_AS_OF) <= 90
    assert len({c.subject_of_care_id for c in fx.citizens}) == len(fx.citizens)
    active = [c for c in fx.citizens if c.active]
    assert any({"SMS", "Email"} <= set(c.notification_methods) for c in active)
    assert any(c.notification_methods == () for c in active)
    assert any(not c.active for c in fx.citizens)
    assert any(is_samordningsnummer(c.subject_of_care_id) for c in fx.citizens)

    assert {u.connected for u in fx.units} == {True, False}
    assert all(HSA_ID.match(u.unit_id) and u.name for u in fx.units)

    system_ids = {s.system_id for s in fx.systems}
    assert all(s.name and re.fullmatch(r"https://[a-z0-9.-]+\.invalid/\S*", s.sso_base_url) for s in fx.systems)
    with_ids = [c for c in fx.consumers if c.system_ids]
    assert with_ids and all(set(c.system_ids) <= system_ids for c in with_ids)
    assert fx.default_consumer in {c.hsa_id for c in with_ids}

    ids = [c.hsa_id for c in fx.consumers] + [u.unit_id for u in fx.units]
    assert len(ids) == len(set(ids)) and INBOX_LOGICAL_ADDRESS not in ids
    assert all(HSA_ID.match(i) and luhn_ok(HSA_ID.match(i).group(1)) for i in ids + list(system_ids))


@pytest.mark.parametrize(("seed", "citizens", "units", "systems"),
                         [(0, 8, 4, 2), (1, 4, 2, 1), (2, 30, 10, 8), (12345, 12, 3, 3)])
def test_generated_fixtures_load_and_keep_the_promises(tmp_path, seed, citizens, units, systems):
    text = generate_fixtures(seed, citizens=citizens, units=units, systems=systems)
    assert text.startswith("# ") and f"generate_fixtures(seed={seed}," in text.splitlines()[1]
    fx = load_fixtures(write(tmp_path, text))
    assert len(fx.citizens) == citizens and len(fx.units) == units and len(fx.systems) == systems
    assert_promises_kept(fx)


def test_the_smallest_fixtures_keep_the_promises_whatever_the_seed(tmp_path):
    for seed in range(40):
        assert_promises_kept(load_fixtures(write(tmp_path, generate_fixtures(seed, citizens=4, units=2, systems=1))))


def test_generated_fixtures_are_reproducible_by_seed():
    assert generate_fixtures(5) == generate_fixtures(5)
    assert generate_fixtures(5) != generate_fixtures(6)
    tomllib.loads(generate_fixtures(5))


def test_too_few_rows_for_the_promises_are_refused():
    for kw in ({"citizens": 3}, {"units": 1}, {"systems": 0}):
        with pytest.raises(ValueError):
            generate_fixtures(1, **kw)


def test_the_platform_serves_generated_fixtures(tmp_path):
    """End to end: with a TAK that authorises the generated consumers, the inbox knows the generated citizens."""
    fx = load_fixtures(write(tmp_path, generate_fixtures(77)))
    contracts = '", "'.join([
        "urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1",
        "urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1",
    ])
    consumers = '", "'.join(c.hsa_id for c in fx.consumers if c.system_ids)
    tak = tmp_path / "tak.toml"
    tak.write_text(
        f'[[route]]\ncontracts = ["{contracts}"]\nlogical_address = "{INBOX_LOGICAL_ADDRESS}"\n'
        'address = "builtin:inbox"\nprofile = "RIVTABP21"\nvalid_from = 2020-01-01\nvalid_to = 2099-12-31\n\n'
        f'[[authorisation]]\nconsumers = ["{consumers}"]\ncontracts = ["{contracts}"]\n'
        f'logical_address = "{INBOX_LOGICAL_ADDRESS}"\nvalid_from = 2020-01-01\nvalid_to = 2099-12-31\n',
        encoding="utf-8",
    )
    app = Application(Config(journal=tmp_path / "j.sqlite", tak=tak, fixtures=tmp_path / "inbox.toml"))
    try:
        def post(body: bytes) -> bytes:
            response = route(app, Request("POST", "/vp", [("Content-Type", "text/xml")], body, client="127.0.0.1:1"))
            assert response.status == 200, response.body
            return response.body

        notified = next(c for c in fx.citizens if c.active and {"SMS", "Email"} <= set(c.notification_methods))
        body = post(is_active_user(notified.subject_of_care_id))
        assert b"<status>true</status>" in body and b">SMS<" in body and b">Email<" in body
        inactive = next(c for c in fx.citizens if not c.active)
        assert b"<status>false</status>" in post(is_active_user(inactive.subject_of_care_id))
        coordination = next(c for c in fx.citizens if is_samordningsnummer(c.subject_of_care_id) and c.active)
        unit = next(u for u in fx.units if u.connected)
        system = fx.consumers[0].system_ids[0]
        body = post(add_message(coordination.subject_of_care_id, unit_id=unit.unit_id, source_system=system))
        assert b"<resultCode>OK</resultCode>" in body, body
    finally:
        app.close()
