"""Swedish personal identity numbers in the contracts' 12-digit form: checks and construction."""

from __future__ import annotations

import re
from datetime import date

_TWELVE = re.compile(r"^(\d{8})(\d{4})$")


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


def birth_date(number: str) -> date | None:
    """The date of birth, or None when the date part is not a real date.

    A samordningsnummer has 60 added to the day.
    """
    m = _TWELVE.match(number)
    if not m:
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
    """What is wrong with a 12-digit personnummer or samordningsnummer (empty when valid)."""
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
