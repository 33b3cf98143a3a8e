"""The yearly cost of sending to the 1177 inbox, from a declared message volume.

1177 charges per sent message and connected system per year in tiers, by the message's ordinal
number in the year (message 1-49 999 at one price, and so on), plus a one-time connection fee.
The test protocol shows the estimate so the integrator's organisation sees the cost it commits to.
Amounts are computed in Decimal so the tier sums are exact; the model carries floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ...protocol.model import CostEstimate


@dataclass(frozen=True)
class Tier:
    """Messages number ``first`` to ``last`` (inclusive; None = no upper bound) cost ``sek_each``."""

    first: int
    last: int | None
    sek_each: Decimal


# The one place the price list lives. Tiers are contiguous, start at message 1 and the last is open.
TIERS: tuple[Tier, ...] = (
    Tier(1, 49_999, Decimal("3.10")),
    Tier(50_000, 499_999, Decimal("2.40")),
    Tier(500_000, None, Decimal("1.40")),
)
CONNECTION_FEE_SEK = Decimal("25000")


def estimate(messages_per_year: int) -> CostEstimate:
    """Price ``messages_per_year`` by the tiers; the connection fee is reported apart, not added.

    Only tiers that carry messages are listed, so the breakdown reads like 1177's worked example
    (75 000 messages = 49 999 x 3.10 + 25 001 x 2.40).
    """
    if isinstance(messages_per_year, bool) or not isinstance(messages_per_year, int):
        raise TypeError(f"messages_per_year must be an int, not {type(messages_per_year).__name__}")
    if messages_per_year < 0:
        raise ValueError(f"messages_per_year must not be negative: {messages_per_year}")
    rows: list[tuple[int, int | None, float, int, float]] = []
    total = Decimal(0)
    for tier in TIERS:
        upper = messages_per_year if tier.last is None else min(tier.last, messages_per_year)
        count = upper - tier.first + 1
        if count <= 0:
            break
        amount = tier.sek_each * count
        total += amount
        rows.append((tier.first, tier.last, float(tier.sek_each), count, float(amount)))
    return CostEstimate(
        messages_per_year=messages_per_year,
        tiers=rows,
        per_year_sek=float(total),
        connection_fee_sek=float(CONNECTION_FEE_SEK),
    )


def round_sek(amount: float) -> int:
    """Whole kronor, half up, the way 1177 states its totals (214 999.3 -> 214 999)."""
    return int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
