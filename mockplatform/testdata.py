"""Invented Swedish healthcare test data: a Faker provider, and generated inbox fixtures.

Integrators need identities that pass the same checks real ones do (a real date, a correct
Luhn digit, an HSA-id under a plausible organisation number), but belong to no one in particular.
How to get the provider. Faker has no plugin entry points: it loads provider *modules* by dotted
path, a localized one being a package with one subpackage per locale. This provider is Swedish
whatever the generator's locale, so it is a plain module, added to an sv_SE generator:

    fake = faker_sv(seed=42)                               # sv_SE, seeded, provider added
    fake = Faker("sv_SE"); fake.add_provider(SwedishHealthcareProvider)
    fake = Faker("sv_SE", includes=["mockplatform.testdata"])     # Faker loads ``Provider``
    fake = Faker(["sv_SE", "en_US"]); fake["sv_SE"].add_provider(SwedishHealthcareProvider)

The same seed gives the same data with the same Faker version; names come from Faker's sv_SE
lists, everything else from this module's own lists and Faker's seeded random generator.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from faker import Faker
from faker.providers import BaseProvider

from .personnummer import luhn_digit, with_check_digit

__all__ = [
    "FIXTURES_AS_OF",
    "INBOX_LOGICAL_ADDRESS",
    "Address",
    "CareUnit",
    "Provider",
    "SwedishHealthcareProvider",
    "age_on",
    "faker_sv",
    "format_number",
    "generate_fixtures",
    "is_valid_organisationsnummer",
    "parse_number",
    "sex_of",
]

Sex = Literal["male", "female"]
# contract: YYYYMMDDNNNC (what the contracts carry); long: YYYYMMDD-NNNC; short: YYMMDD-NNNC, or
# YYMMDD+NNNC from the calendar year the person turns 100 (folkbokföringslagen 18 §).
Form = Literal["contract", "long", "short"]

INBOX_LOGICAL_ADDRESS = "SE5565594230-1177"
# Ages in generated fixtures are counted on this day, so a seed gives the same file on any day.
FIXTURES_AS_OF = date(2025, 1, 1)

_FORMATTED = re.compile(r"^(\d{2})?(\d{6})([-+]?)(\d{4})$")
_ORGNR = re.compile(r"^(\d{6})-?(\d{4})$")
_SUFFIX_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Legal-entity groups (first digit of an organisationsnummer): 2 state, regions, municipalities;
# 3 foreign companies; 5 limited companies; 6 partnerships; 7 economic associations;
# 8 non-profit associations and foundations; 9 trading partnerships.
_ORG_GROUPS = (2, 3, 5, 6, 7, 8, 9)

# city, first three digits of its postal codes (low, high), area code
_CITIES: tuple[tuple[str, tuple[int, int], str], ...] = (
    ("Stockholm", (111, 129), "08"),
    ("Göteborg", (411, 426), "031"),
    ("Malmö", (211, 218), "040"),
    ("Uppsala", (751, 757), "018"),
    ("Linköping", (581, 589), "013"),
    ("Örebro", (702, 703), "019"),
    ("Västerås", (721, 725), "021"),
    ("Norrköping", (602, 605), "011"),
    ("Jönköping", (551, 556), "036"),
    ("Umeå", (901, 907), "090"),
    ("Lund", (222, 227), "046"),
    ("Gävle", (802, 806), "026"),
    ("Sundsvall", (852, 857), "060"),
    ("Karlstad", (652, 656), "054"),
    ("Halmstad", (302, 305), "035"),
    ("Växjö", (352, 355), "0470"),
    ("Kalmar", (392, 394), "0480"),
    ("Luleå", (972, 977), "0920"),
    ("Östersund", (831, 832), "063"),
    ("Falun", (791, 791), "023"),
)
_PLACES = (
    "Björkhagen", "Eriksberg", "Solhem", "Västerby", "Ekbacken", "Lindö", "Tallbacka", "Sjöstaden",
    "Granby", "Berga", "Högdalen", "Ängby", "Strandby", "Kvarnholmen", "Hagaby", "Furulund", "Rosendal",
    "Söderby", "Norrby", "Backa", "Fridhem", "Lövgärdet", "Ekeby", "Skogås", "Mariedal", "Kungsängen",
)
_LOCAL_UNITS = (
    "Vårdcentralen", "Vårdcentralen", "Vårdcentralen", "Barnavårdscentralen", "Barnmorskemottagningen",
    "Ungdomsmottagningen", "Folktandvården", "Distriktssköterskemottagningen", "Rehabiliteringsmottagningen",
)
_SPECIALTIES = (
    "Hud", "Ögon", "Hjärt", "Diabetes", "Ortoped", "Kvinno", "Barn", "Smärt", "Njur", "Lung", "Reumatolog",
    "Neurolog", "Urolog", "Onkolog", "Handkirurg", "Öron-näsa-hals",
)
_HOSPITALS = ("Universitetssjukhuset i {city}", "Länssjukhuset {city}", "{city} lasarett", "Sjukhuset i {city}")
_STREET_STEMS = (
    "Stor", "Kyrko", "Skol", "Park", "Strand", "Björk", "Lasarett", "Sjukhus", "Apoteks", "Stations", "Torg",
    "Hamn", "Linné", "Drottning", "Kungs", "Ekbacks", "Lind", "Vårds", "Bäck", "Trädgårds",
)
_STREET_ENDS = ("gatan", "gatan", "vägen", "vägen", "allén", "backen", "gränd")
_REGION_NAMES = (
    "Exempel", "Testlanda", "Fjällmark", "Sjöland", "Skogsbygd", "Kustlanda", "Mälarbygd", "Norrskog",
)
_SYSTEM_KINDS = (
    ("Journalsystem", "journal", "/sso/1177"),
    ("Tidbokning", "tidbok", "/bokning/sso"),
    ("Kallelsesystem", "kallelse", "/sso"),
    ("Enkätsystem", "enkat", "/enkat"),
    ("Kvalitetsregister", "register", "/enkat"),
    ("Provsvar", "provsvar", "/sso/1177"),
)


@dataclass(frozen=True)
class Address:
    """A postal address the way OrganisationUnitType splits it (unitAddress, unitPostalCode, unitPostalCity)."""

    street: str
    postal_code: str
    city: str


@dataclass(frozen=True)
class CareUnit:
    """Everything OrganisationUnitType can carry about a sending unit."""

    unit_id: str
    name: str
    address: Address
    telephone: str


def age_on(born: date, today: date) -> int:
    """Completed years on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def sex_of(number: str) -> Sex:
    """The sex a personnummer or samordningsnummer records: its 9th digit (in the 10-digit form), odd = male."""
    digits = re.sub(r"\D", "", number)
    return "male" if int(digits[-2]) % 2 else "female"


def format_number(number: str, form: Form = "contract", today: date | None = None) -> str:
    """Write a 12-digit personnummer or samordningsnummer in one of its usual forms.

    ``today`` decides the separator of the short form: ``+`` from the calendar year the person turns 100.
    """
    if not re.fullmatch(r"\d{12}", number):
        raise ValueError(f"{number!r}: not a 12-digit YYYYMMDDNNNC number")
    if form == "contract":
        return number
    if form == "long":
        return f"{number[:8]}-{number[8:]}"
    if form == "short":
        age = (today or date.today()).year - int(number[:4])
        if not 0 <= age < 200:
            raise ValueError(f"{number}: the short form covers people born 0-199 years ago")
        sep = "+" if age >= 100 else "-"
        return f"{number[2:8]}{sep}{number[8:]}"
    raise ValueError(f"form {form!r}: expected 'contract', 'long' or 'short'")


def parse_number(text: str, today: date | None = None) -> str:
    """The contracts' 12-digit form of a personnummer or samordningsnummer written in any usual form.

    A 10-digit form gets the century that makes the person 0-99 years old this calendar year
    (100-199 with ``+``). The check digit is not checked here: that is ``personnummer.problems``.
    """
    m = _FORMATTED.match(text.strip())
    if not m:
        raise ValueError(f"{text!r}: not a personnummer (YYYYMMDD-NNNC, YYMMDD-NNNC or YYMMDD+NNNC)")
    century, rest, sep, tail = m.groups()
    if century:
        if sep == "+":
            raise ValueError(f"{text!r}: '+' belongs to the 10-digit form only")
        return century + rest + tail
    year = (today or date.today()).year
    born = year - (year - int(rest[:2])) % 100 - (100 if sep == "+" else 0)
    return f"{born:04d}{rest[2:]}{tail}"


def is_valid_organisationsnummer(number: str) -> bool:
    """True for NNNNNN-NNNN (hyphen optional) with a correct Luhn digit and third digit >= 2."""
    m = _ORGNR.match(number)
    if not m:
        return False
    digits = m.group(1) + m.group(2)
    return int(digits[2]) >= 2 and luhn_digit(digits[:9]) == int(digits[9])


def _group(digits: str) -> str:
    """Subscriber digits grouped the Swedish way: 123 45, 12 34 56, 123 45 67, 123 456 78."""
    splits = {5: (3,), 6: (2, 4), 7: (3, 5), 8: (3, 6)}[len(digits)]
    parts, start = [], 0
    for end in (*splits, len(digits)):
        parts.append(digits[start:end])
        start = end
    return " ".join(parts)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class SwedishHealthcareProvider(BaseProvider):
    """Faker provider for Swedish healthcare identities: personnummer, HSA-ids, care units.

    Ages are counted on ``reference_date`` (None: today). Set it when data must not change from day to
    day: a birth date drawn for an age range depends on the day it is drawn.
    """

    __provider__ = "swedish_healthcare"
    __lang__ = "sv_SE"
    reference_date: date | None = None

    def _today(self) -> date:
        return self.reference_date or date.today()

    def _birth_date(self, min_age: int, max_age: int) -> date:
        if not 0 <= min_age <= max_age:
            raise ValueError(f"age range {min_age}..{max_age}: need 0 <= min_age <= max_age")
        today = self._today()
        latest = _years_before(today, min_age)
        earliest = _years_before(today, max_age + 1) + timedelta(days=1)
        return earliest + timedelta(days=self.random_int(0, (latest - earliest).days))

    def _serial(self, sex: Sex | None) -> str:
        """NNN: never 000; its last digit odd for men, even for women."""
        if sex not in (None, "male", "female"):
            raise ValueError(f"sex {sex!r}: expected 'male', 'female' or None")
        sex = sex or self.random_element(("male", "female"))
        tens = self.random_int(0, 99)
        if sex == "male":
            last = self.random_element((1, 3, 5, 7, 9))
        else:
            last = self.random_element((0, 2, 4, 6, 8) if tens else (2, 4, 6, 8))
        return f"{tens:02d}{last}"

    def _number(self, day_offset: int, min_age: int, max_age: int, sex: Sex | None, form: Form) -> str:
        born = self._birth_date(min_age, max_age)
        eleven = f"{born.year:04d}{born.month:02d}{born.day + day_offset:02d}{self._serial(sex)}"
        return format_number(with_check_digit(eleven), form, self._today())

    def personnummer(self, min_age: int = 0, max_age: int = 100, sex: Sex | None = None,
                     form: Form = "contract") -> str:
        """A valid personnummer (real date, Luhn digit) of someone ``min_age``..``max_age`` years old."""
        return self._number(0, min_age, max_age, sex, form)

    def samordningsnummer(self, min_age: int = 0, max_age: int = 100, sex: Sex | None = None,
                          form: Form = "contract") -> str:
        """A valid samordningsnummer: a personnummer with 60 added to the day of birth."""
        return self._number(60, min_age, max_age, sex, form)

    def organisationsnummer(self, group: int | None = None) -> str:
        """NNNNNN-NNNN of a legal entity: third digit >= 2 (never a month), Luhn digit last."""
        if group is None:
            group = self.random_element(_ORG_GROUPS)
        if group not in _ORG_GROUPS:
            raise ValueError(f"group {group!r}: expected one of {_ORG_GROUPS}")
        nine = f"{group}{self.random_int(0, 9)}{self.random_int(2, 9)}{self.random_int(0, 999999):06d}"
        return f"{nine[:6]}-{nine[6:]}{luhn_digit(nine)}"

    def region_organisationsnummer(self) -> str:
        """232100-NNNC: the series Swedish regions' organisation numbers belong to."""
        nine = f"232100{self.random_int(0, 999):03d}"
        return f"{nine[:6]}-{nine[6:]}{luhn_digit(nine)}"

    def hsa_id(self, organisationsnummer: str | None = None, suffix_length: int = 4) -> str:
        """SE<organisation number, 10 digits>-<suffix>, the form of unit and system HSA-ids (default: a region's)."""
        org = organisationsnummer or self.region_organisationsnummer()
        if not is_valid_organisationsnummer(org):
            raise ValueError(f"{org!r}: not a valid organisationsnummer")
        suffix = "".join(self.random_element(_SUFFIX_CHARS) for _ in range(suffix_length))
        return f"SE{org.replace('-', '')}-{suffix}"

    def care_unit_name(self, city: str | None = None) -> str:
        """A realistic unit name: a local unit in a district, or a clinic at a city's hospital."""
        if self.random_int(0, 1):
            return f"{self.random_element(_LOCAL_UNITS)} {self.random_element(_PLACES)}"
        city = city or self._city()[0]
        hospital = self.random_element(_HOSPITALS).format(city=city)
        return f"{self.random_element(_SPECIALTIES)}mottagningen {hospital}"

    def _city(self, city: str | None = None) -> tuple[str, tuple[int, int], str]:
        if city is None:
            return self.random_element(_CITIES)
        for row in _CITIES:
            if row[0] == city:
                return row
        raise ValueError(f"city {city!r}: expected one of {', '.join(r[0] for r in _CITIES)}")

    def swedish_postal_code(self, city: str | None = None) -> str:
        """NNN NN, within the city's postal code range when one is given."""
        low, high = self._city(city)[1]
        return f"{self.random_int(low, high):03d} {self.random_int(0, 99):02d}"

    def swedish_telephone_number(self, city: str | None = None, national: bool = False) -> str:
        """010-123 45 67 (national, the regions' common series) or the city's area code: 08-123 456 78, 031-12 34 56."""
        if national:
            return f"010-{_group(str(self.random_int(1000000, 9999999)))}"
        area = self._city(city)[2]
        lengths = {2: (7, 8), 3: (6, 7), 4: (5, 6)}[len(area)]
        n = self.random_element(lengths)
        return f"{area}-{_group(str(self.random_int(2 * 10 ** (n - 1), 10 ** n - 1)))}"

    def care_unit_address(self, city: str | None = None) -> Address:
        """Street and number, postal code NNN NN and city."""
        name = self._city(city)[0]
        street = f"{self.random_element(_STREET_STEMS)}{self.random_element(_STREET_ENDS)} {self.random_int(1, 120)}"
        return Address(street, self.swedish_postal_code(name), name)

    def care_unit(self, organisationsnummer: str | None = None) -> CareUnit:
        """A unit with HSA-id, name, address and telephone that fit together (one city)."""
        city = self._city()[0]
        return CareUnit(
            unit_id=self.hsa_id(organisationsnummer),
            name=self.care_unit_name(city),
            address=self.care_unit_address(city),
            telephone=self.swedish_telephone_number(city, national=bool(self.random_int(0, 1))),
        )


# Lets ``Faker("sv_SE", includes=["mockplatform.testdata"])`` find the provider: Faker loads ``Provider``.
Provider = SwedishHealthcareProvider


def faker_sv(seed: int | None = None, reference_date: date | None = None) -> Faker:
    """An sv_SE Faker with its own random generator seeded with ``seed`` and the provider added.

    Its own generator (``seed_instance``) keeps it apart from the global one other fakers share.
    """
    return _faker_and_provider(seed, reference_date)[0]


def _faker_and_provider(seed: int | None, reference_date: date | None) -> tuple[Faker, SwedishHealthcareProvider]:
    fake = Faker("sv_SE")
    fake.seed_instance(seed)
    provider = SwedishHealthcareProvider(fake)
    provider.reference_date = reference_date
    fake.add_provider(provider)
    return fake, provider


def _toml(value: str | bool | list[str]) -> str:
    """A TOML value; JSON's string escapes are TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _faker_version() -> str:
    try:
        return version("Faker")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def generate_fixtures(seed: int, citizens: int = 8, units: int = 4, systems: int = 2) -> str:
    """A complete inbox.toml with invented data, the same for the same seed (and Faker version).

    Keeps what the built-in fixtures promise: an active citizen notified by SMS and e-mail, an active one
    without notifications, an inactive one, one with a samordningsnummer; a connected and an unconnected
    unit; consumers with system-ids (and one without); systems with an SSO base URL on an .invalid host.
    """
    if citizens < 4 or units < 2 or systems < 1:
        raise ValueError(f"citizens={citizens}, units={units}, systems={systems}: "
                         "need at least 4 citizens, 2 units and 1 system for the promised cases")
    fake, p = _faker_and_provider(seed, FIXTURES_AS_OF)
    region_org = p.region_organisationsnummer()
    region = f"Region {fake.random_element(_REGION_NAMES)}"
    used_ids = {INBOX_LOGICAL_ADDRESS}

    def new_hsa_id() -> str:
        while (hsa_id := p.hsa_id(region_org)) in used_ids:
            pass
        used_ids.add(hsa_id)
        return hsa_id

    out = [
        "# Generated test data of the fake 1177 inbox:",
        f"#   mockplatform.testdata.generate_fixtures(seed={seed}, citizens={citizens}, units={units}, "
        f"systems={systems})",
        f"# (Faker {_faker_version()}, sv_SE; ages as of {FIXTURES_AS_OF.isoformat()}). The same seed gives the "
        "same file;",
        "# only the names may differ with another Faker version.",
        "# All identities are invented: personnummer are valid (real date, correct check digit) in the",
        "# contracts' 12-digit form; samordningsnummer have 60 added to the day.",
        "# The consumers below must also be authorised in the TAK that is used with this file.",
        "",
        "# The HSA-id of the inbox *producer system*: consumers send this as LogicalAddress.",
        f"inbox_logical_address = {_toml(INBOX_LOGICAL_ADDRESS)}",
        "",
    ]

    system_rows = []
    for i in range(systems):
        label, host, path = _SYSTEM_KINDS[i % len(_SYSTEM_KINDS)]
        if i >= len(_SYSTEM_KINDS):
            host = f"{host}{i // len(_SYSTEM_KINDS) + 1}"
        system_rows.append((new_hsa_id(), f"{label} {region}", f"https://{host}.{_slug(region)}.invalid{path}"))
    unauthorised = new_hsa_id()

    out += ["# The consumer assumed for plain-HTTP calls that do not name one with x-vp-sender-id.",
            f"default_consumer = {_toml(system_rows[0][0])}", ""]
    for system_id, name, _ in system_rows:
        out += ["[[consumers]]", f"hsa_id = {_toml(system_id)}", f"name = {_toml(name)}",
                f"system_ids = {_toml([system_id])}", ""]
    out += ["[[consumers]]", f"hsa_id = {_toml(unauthorised)}",
            f"name = {_toml(f'System utan system-id, {region}')}", "system_ids = []", ""]

    out.append("# Systems that 1177 has issued a system-id to; sso_base_url is where ssoLink points.")
    for system_id, name, url in system_rows:
        out += ["[[systems]]", f"system_id = {_toml(system_id)}", f"name = {_toml(name)}",
                f"sso_base_url = {_toml(url)}", ""]

    # (comment, active, methods, samordningsnummer) for the promised cases, then random ones
    roles: list[tuple[str, bool, list[str], bool]] = [
        ("active, notified by SMS and e-mail", True, ["SMS", "Email"], False),
        ("active, no notification method", True, [], False),
        ("not an active user of 1177", False, [], False),
        ("samordningsnummer, active, notified by SMS", True, ["SMS"], True),
    ]
    for _ in range(citizens - len(roles)):
        active = fake.random_int(1, 10) <= 8
        methods = fake.random_element((["SMS", "Email"], ["SMS"], ["Email"], [])) if active else []
        roles.append(("active" if active else "not an active user of 1177", active, methods, False))
    used_numbers: set[str] = set()
    for comment, active, methods, coordination in roles:
        sex = fake.random_element(("male", "female"))
        make = p.samordningsnummer if coordination else p.personnummer
        while (number := make(min_age=18, max_age=90, sex=sex)) in used_numbers:
            pass
        used_numbers.add(number)
        first = fake.first_name_male() if sex == "male" else fake.first_name_female()
        name = f"{first} {fake.last_name()}" + (" (samordningsnummer)" if coordination else "")
        out += [f"# {comment}", "[[citizens]]", f"subject_of_care_id = {_toml(number)}", f"name = {_toml(name)}",
                f"active = {_toml(active)}", f"notification_methods = {_toml(methods)}", ""]

    used_names: set[str] = set()
    for i in range(units):
        connected = i == 0 or (i < units - 1 and fake.random_int(1, 10) <= 8)
        unit = p.care_unit(region_org)
        while unit.unit_id in used_ids or unit.name in used_names:
            unit = p.care_unit(region_org)
        used_ids.add(unit.unit_id)
        used_names.add(unit.name)
        a = unit.address
        state = "connected to 1177's e-services" if connected else "NOT connected to 1177's e-services"
        out += [f"# {state}; {a.street}, {a.postal_code} {a.city}, tel. {unit.telephone}", "[[units]]",
                f"unit_id = {_toml(unit.unit_id)}", f"name = {_toml(unit.name)}", f"connected = {_toml(connected)}",
                ""]
    return "\n".join(out).rstrip("\n") + "\n"
