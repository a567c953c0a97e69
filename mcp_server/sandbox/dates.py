"""Time as PostHog writes and reads it: ISO timestamps and relative dates such as -7d."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

RELATIVE = re.compile(r"^-(\d+)([hdwmqy])$")
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """DRF's rendering of a UTC datetime; fixed width, so strings sort like the times they hold."""
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def parse_iso(text: str) -> datetime:
    """Read back a timestamp written by `iso` (or any ISO 8601 form)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_of_day(moment: datetime) -> datetime:
    """Midnight at the start of `moment`'s day."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def months_back(moment: datetime, months: int) -> datetime:
    """`moment` shifted back by whole months, clamping the day to the target month's length."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_date(text: str, now: datetime) -> datetime:
    """PostHog's relative_date_parse: -24h, -7d, -2w, -1m, -1q, -1y, dStart/mStart/yStart, or a date.

    Raises ValueError for anything else.
    """
    value = text.strip()
    match = RELATIVE.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if unit == "h":
            return now - timedelta(hours=amount)
        if unit == "d":
            return start_of_day(now - timedelta(days=amount))
        if unit == "w":
            return start_of_day(now - timedelta(weeks=amount))
        months = {"m": 1, "q": 3, "y": 12}[unit] * amount
        return start_of_day(months_back(now, months))
    if value == "dStart":
        return start_of_day(now)
    if value == "mStart":
        return start_of_day(now).replace(day=1)
    if value == "yStart":
        return start_of_day(now).replace(month=1, day=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
