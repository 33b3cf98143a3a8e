"""Times as a reader in Sweden reads them: the one conversion for the protocol and the pages.

The journal keeps every time as ISO 8601 in UTC, and so does protocol.json (for machines, and so that
``protocol check`` compares values as stored). Whatever people read (the protocol's HTML, Word, Markdown and
JUnit text, the console summary, the web pages) shows Swedish local time, to the second, with the zone:
``2026-12-03 17:05:09 CET`` (``CEST`` in summer time). The zone comes from the tz database (``zoneinfo``);
where the machine has none (a slim container, Windows), from the ``tzdata`` package, a dependency for that.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

__all__ = ["ZONE_NAME", "rivta_ts", "swedish_time", "zone"]

ZONE_NAME = "Europe/Stockholm"
FORMAT = "%Y-%m-%d %H:%M:%S %Z"  # 2026-12-03 17:05:09 CET


@cache
def zone() -> tzinfo:
    """Europe/Stockholm, from the system's tz database or else the ``tzdata`` package."""
    return ZoneInfo(ZONE_NAME)


def swedish_time(value: str | datetime | None) -> str:
    """An ISO time (or a datetime) in Swedish local time with its zone, to the second.

    ``2026-12-03T16:05:09.123456+00:00`` -> ``2026-12-03 17:05:09 CET``. A time without an offset is taken
    as UTC (the journal's); None or "" gives ""; anything that is not an ISO time is
    returned as it is (the reader then sees what was stored).
    """
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())  # Python 3.11 reads "Z" too
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone()).strftime(FORMAT)


def rivta_ts(moment: datetime | None = None) -> str:
    """A moment (default now) as RIVTA contracts write times: Swedish local time, ``yyyyMMddHHmmss``, no zone."""
    return (moment or datetime.now(UTC)).astimezone(zone()).strftime("%Y%m%d%H%M%S")
