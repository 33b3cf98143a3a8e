"""personnummer: the 12-digit personnummer and samordningsnummer, and the contract's letter form (a
reservnummer), told apart."""

from __future__ import annotations

from datetime import date

import pytest

from mockplatform.personnummer import birth_date, is_valid, letter_form, problems


@pytest.mark.parametrize(("number", "letter"), [("19121212T212", "T"), ("19121212t212", "T"), ("19800101F123", "F"),
                                                ("19800101p123", "P"), ("191212121212", None), ("19121212X212", None),
                                                ("19121212T2123", None), ("19121212-1212", None)])
def test_the_letter_form_is_the_contracts_t_f_or_p_in_the_ninth_position(number, letter):
    assert letter_form(number) == letter


def test_a_reservnummer_is_not_a_valid_personnummer_and_says_what_it_is():
    assert problems("19121212T212") == ["a reservnummer (the letter T in the ninth position), not a personnummer "
                                        "or samordningsnummer"]
    assert not is_valid("19121212T212")
    assert problems("19121212X212") == ["not 12 digits (YYYYMMDDNNNC)"]


def test_a_reservnummer_has_a_date_part_but_no_check_digit():
    assert birth_date("19121212T212") == date(1912, 12, 12)
    assert birth_date("19121312T212") is None
    assert birth_date("191212121212") == date(1912, 12, 12)
