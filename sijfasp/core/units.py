"""How numbers and dates become ASP integers, and back: the one place for both directions.

ASP compares integers only. Every number is fixed point, multiplied by `SCALE` (two decimal
places kept); every date is a day offset from the request date, which is day 0.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from functools import cache

DECIMALS = 2  # the one precision rule: policies and cases alike
SCALE = 10**DECIMALS


def scaled(value: Decimal) -> int:
    """A decimal as the integer the ASP program compares (two decimal places kept)."""
    return int((value * SCALE).to_integral_value())


def unscaled(value: int) -> str:
    """The decimal text of a scaled integer: 3000 -> "30", 750 -> "7.5"."""
    return format((Decimal(value) / SCALE).normalize(), "f")


def day_offset(day: dt.date, request_date: dt.date) -> int:
    """A date as days from the request date: negative before it."""
    return (day - request_date).days


def date_at(offset: int, request_date: dt.date) -> dt.date:
    """The date `offset` days from the request date."""
    return request_date + dt.timedelta(days=offset)


def months_before(date: dt.date, months: int) -> dt.date:
    """The first day of a window of `months` calendar months ending on `date`, inclusive: the
    same day of the month, `months` months back (the month's last day when it is shorter)."""
    index = date.year * 12 + date.month - 1 - months
    year, month = divmod(index, 12)
    day = min(date.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def month_days(request_date: dt.date, months: int) -> int:
    """How many days "N months" of a duration is for a request of this date: the days of the N
    calendar months that end on it, from the same day N months back up to the request date
    (2026-07-15, 6 months: from 2026-01-15, 181 days)."""
    return (request_date - months_before(request_date, months)).days


@cache
def month_days_range(months: int) -> tuple[int, int]:
    """The fewest and the most days `months` months of a duration can be, over every request
    date (four years of them hold every case: leap years, short months, month ends)."""
    start = dt.date(2023, 1, 1)
    lengths = [month_days(start + dt.timedelta(days=n), months) for n in range(4 * 366)]
    return min(lengths), max(lengths)


def is_code(value: str) -> bool:
    """A choice value written in digits: a procedure code such as 27278."""
    return value.isascii() and value.isdigit()


def value_term(value: str) -> str:
    """A choice value as the compiled program writes it. A procedure code is a string term
    ("27278"): a code is an identifier, never a quantity, so it must not meet the scaled numbers
    the program compares; a name is a constant."""
    return f'"{value}"' if is_code(value) else value
