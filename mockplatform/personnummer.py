"""Swedish personal identity numbers in the contracts' 12-digit form: checks and construction.

A personnummer or samordningsnummer (Skatteverket's) is 12 digits, YYYYMMDDNNNC: a real date (day + 60
for a samordningsnummer) and a Luhn check digit. ``problems`` checks exactly that.

The patientportal contracts' SubjectOfCareIdType also lets the ninth character be a letter ``T``, ``F``
or ``P`` (``[0-9]{8}[0-9pPtTfF][0-9]{3}``), e.g. ``19121212T212``. No Skatteverket number has a letter:
these are *reservnummer*, the temporary ids care gives a patient whose personnummer or samordningsnummer
is missing or unknown (Socialstyrelsen's term bank: no fixed format, but a real birth date and at least
one letter among the last four characters, so that it never collides with a personnummer). The letter
forms are regional or system conventions: IVO asks for ``YYYYMMDD-T123`` for a person without a Swedish
personnummer, and journal systems write a temporary number with a letter there (``TF10``, which the
contract's pattern does not allow); what ``F`` and ``P`` in the ninth position stand for is not documented
in any public source we found. A reservnummer has no check digit (a letter breaks Luhn) and is not known
outside the region or system that made it.

Decision: the letter forms are what the contract allows, so they are not errors; ``letter_form``
recognises them, and the 1177 inbox's profile warns (``PP-SUBJECT-OF-CARE-ID-RESERVNUMMER``): no 1177
user has a reservnummer, so the inbox knows no such citizen and a message to one reaches nobody. Only
their date part is checked, never a check digit. ``problems`` stays strict (fixtures hold real citizens).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

_TWELVE = re.compile(r"^(\d{8})(\d{4})$")
_LETTER_FORM = re.compile(r"^\d{8}[pPtTfF]\d{3}$")  # SubjectOfCareIdType's letter forms: a reservnummer


def luhn_digit(nine: str) -> int:
    """The check digit over YYMMDDNNN (the 10-digit form without its last digit)."""
    total = 0
    for i, ch in enumerate(nine):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def with_check_digit(yyyymmddnnn: str) -> str:
    """Complete an 11-digit YYYYMMDDNNN with its check digit."""
    return yyyymmddnnn + str(luhn_digit(yyyymmddnnn[2:]))


def letter_form(number: str) -> str | None:
    """The letter (upper case) of a reservnummer in SubjectOfCareIdType's letter form, ``19121212T212``;
    None for any other string."""
    return number[8].upper() if _LETTER_FORM.match(number) else None


def birth_date(number: str) -> date | None:
    """The date of birth, or None when the date part is not a real date.

    A samordningsnummer has 60 added to the day. A reservnummer's letter form has a date part too.
    """
    if not _TWELVE.match(number) and not _LETTER_FORM.match(number):
        return None
    year, month, day = int(number[:4]), int(number[4:6]), int(number[6:8])
    if day > 60:
        day -= 60
    try:
        return date(year, month, day)
    except ValueError:
        return None


def is_samordningsnummer(number: str) -> bool:
    return bool(_TWELVE.match(number)) and int(number[6:8]) > 60


def problems(number: str) -> list[str]:
    """What is wrong with a 12-digit personnummer or samordningsnummer (empty when valid). A reservnummer's
    letter form is neither."""
    return list(_problems(number))


@lru_cache(maxsize=4096)  # a journal names the same few citizens again and again; a bounded cache, flat memory
def _problems(number: str) -> tuple[str, ...]:
    return tuple(_find_problems(number))


def _find_problems(number: str) -> list[str]:
    letter = letter_form(number)
    if letter is not None:
        return [f"a reservnummer (the letter {letter} in the ninth position), not a personnummer or "
                "samordningsnummer"]
    if not _TWELVE.match(number):
        return ["not 12 digits (YYYYMMDDNNNC)"]
    out = []
    if birth_date(number) is None:
        out.append("the date part is not a real date")
    if luhn_digit(number[2:11]) != int(number[11]):
        out.append(f"wrong check digit (expected {luhn_digit(number[2:11])})")
    return out


def is_valid(number: str) -> bool:
    return not problems(number)


_WRITTEN = re.compile(r"(\d{8})[-+]?(\d{4})")
WRITTEN_FORMS = "YYYYMMDDNNNC (191212121212) or YYYYMMDD-NNNC (19121212-1212)"


def from_written(text: str) -> str | None:
    """A personnummer or samordningsnummer in its 12 digits, as the contracts write it, from the way people
    write it (with a hyphen or a plus, as the pages show it); None for anything else."""
    match = _WRITTEN.fullmatch(text.strip())
    return None if match is None else match[1] + match[2]
