"""The 1177 price tiers: the worked example from the connection page, the tier edges, the fee apart."""

from __future__ import annotations

import pytest

from mockplatform.domains.inbox1177.pricing import CONNECTION_FEE_SEK, TIERS, estimate, round_sek


def test_worked_example_from_the_1177_page_75000_messages_cost_214999_sek():
    cost = estimate(75_000)
    # 49 999 x 3.10 + 25 001 x 2.40 = 154 996.90 + 60 002.40 = 214 999.30
    assert cost.per_year_sek == pytest.approx(214_999.30)
    assert round_sek(cost.per_year_sek) == 214_999
    assert cost.tiers == [
        (1, 49_999, pytest.approx(3.10), 49_999, pytest.approx(154_996.90)),
        (50_000, 499_999, pytest.approx(2.40), 25_001, pytest.approx(60_002.40)),
    ]


def test_connection_fee_is_reported_apart_and_not_added_to_the_yearly_cost():
    cost = estimate(75_000)
    assert cost.connection_fee_sek == 25_000
    assert round_sek(cost.per_year_sek) != 214_999 + 25_000


@pytest.mark.parametrize(
    ("messages", "expected_sek", "tiers_used"),
    [
        (0, 0.0, 0),
        (1, 3.10, 1),
        (49_999, 49_999 * 3.10, 1),
        (50_000, 49_999 * 3.10 + 2.40, 2),
        (499_999, 49_999 * 3.10 + 450_000 * 2.40, 2),
        (500_000, 49_999 * 3.10 + 450_000 * 2.40 + 1.40, 3),
        (2_000_000, 49_999 * 3.10 + 450_000 * 2.40 + 1_500_001 * 1.40, 3),
    ],
)
def test_each_message_is_priced_by_the_tier_of_its_ordinal_number(messages, expected_sek, tiers_used):
    cost = estimate(messages)
    assert cost.messages_per_year == messages
    assert cost.per_year_sek == pytest.approx(expected_sek)
    assert len(cost.tiers) == tiers_used
    assert sum(row[3] for row in cost.tiers) == messages
    assert sum(row[4] for row in cost.tiers) == pytest.approx(cost.per_year_sek)


def test_tier_sums_are_exact_not_float_accumulated():
    # In binary floating point 3.1 * 9 is 27.900000000000002; the estimate must not drift.
    assert estimate(9).per_year_sek == 27.9
    assert estimate(75_000).per_year_sek == 214_999.3


def test_the_price_table_is_contiguous_from_message_one_and_open_at_the_top():
    assert TIERS[0].first == 1
    for lower, upper in zip(TIERS, TIERS[1:], strict=False):
        assert lower.last is not None and upper.first == lower.last + 1
        assert upper.sek_each < lower.sek_each
    assert TIERS[-1].last is None
    assert CONNECTION_FEE_SEK == 25_000


def test_round_sek_rounds_half_up_to_whole_kronor():
    assert round_sek(214_999.3) == 214_999
    assert round_sek(0.5) == 1
    assert round_sek(2.5) == 3  # not banker's rounding


@pytest.mark.parametrize("bad", [-1, -75_000])
def test_negative_volume_is_refused(bad):
    with pytest.raises(ValueError, match="negative"):
        estimate(bad)


@pytest.mark.parametrize("bad", [75_000.0, "75000", True, None])
def test_non_integer_volume_is_refused(bad):
    with pytest.raises(TypeError):
        estimate(bad)
