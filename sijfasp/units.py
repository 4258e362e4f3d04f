"""How numbers and dates become ASP integers, and back: the one place for both directions.

ASP compares integers only. Every number is fixed point, multiplied by `SCALE` (two decimal
places kept); every date is a day offset from the request date, which is day 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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


def is_code(value: str) -> bool:
    """A choice value written in digits: a procedure code such as 27278."""
    return value.isascii() and value.isdigit()


def value_term(value: str) -> str:
    """A choice value as the compiled program writes it. A procedure code is a string term
    ("27278"): a code is an identifier, never a quantity, so it must not meet the scaled numbers
    the program compares; a name is a constant."""
    return f'"{value}"' if is_code(value) else value
