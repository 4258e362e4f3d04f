"""One value of a case checked against the vocabulary's type of its field (a number in range
and of bounded precision, a strict ISO date within the accepted years, a choice or set of listed
values, a procedure code written as a number), and the wording every case problem shares: how a
value found is named, and a did-you-mean for a misspelt name. Problems are collected, with their
field paths, and reported together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.diagnostics import Diagnostic, did_you_mean, non_ascii_note
from ..core.limits import MAX_SUGGEST_LENGTH
from ..core.textsafe import for_diagnostic, terminal
from ..core.units import DECIMALS, is_code
from ..language.semantics import CODE_DIGITS, ValueType
from .reader import Yaml11Scalar

MAX_DECIMALS = DECIMALS  # the precision policies are held to as well (core/units.py)


class Problems:
    """The problems of one case, each with its field path, reported together."""

    def __init__(self, path: str):
        self.path = terminal(path)
        self.items: list[Diagnostic] = []

    def add(self, field_path: str, message: str, hint: str | None = None) -> None:
        self.items.append(
            Diagnostic("case", message, None, "error", hint, field_path or "(top)", self.path)
        )


# The dates a case may hold.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")


def show(value: Any) -> str:
    """A key or value of the case as a message may echo it: escaped, and cut when long."""
    return for_diagnostic(value)


def suggest(name: Any, candidates: Iterable[str]) -> str | None:
    # Only short names get a did-you-mean: comparing long ones costs time and says nothing.
    text = str(name)
    if len(text) > MAX_SUGGEST_LENGTH:
        return None
    names = sorted(set(candidates))
    folded = text.strip().lower()
    # The same name in other letters (MRI for mri), then a name it begins (vas for vas_score).
    same = next((c for c in names if c.lower() == folded), None)
    if same is None and folded:
        same = next((c for c in names if c.lower().startswith(folded + "_")), None)
    if same is not None:
        return f"did you mean '{same}'?"
    hint = did_you_mean(folded, names) or did_you_mean(text, names)
    # A look-alike letter (a Cyrillic e for a Latin one): the hint names the odd character.
    note = non_ascii_note(text)
    return f"{hint}{note}" if hint and note else hint


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, Yaml11Scalar):
        return (
            f"{show(value)} unquoted, which YAML 1.1 reads as {show(value.reading)}: "
            "a case is read as YAML 1.2 (write true or false, a plain decimal number, "
            "or a quoted text)"
        )
    if isinstance(value, (int, float, Decimal)):
        return f"the number {show(value)}"
    if isinstance(value, str):
        return f"the text '{show(value)}'"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value}"
    return type(value).__name__


def _as_code(raw: Any, value_type: ValueType) -> Any:
    """A procedure code written as a number (`cpt_code: 27278`) as its digits, for a choice of
    codes; anything else unchanged."""
    if not any(is_code(v) for v in value_type.values) or isinstance(raw, bool):
        return raw
    whole = isinstance(raw, int) or (
        isinstance(raw, Decimal) and raw.is_finite() and raw.as_tuple().exponent == 0
    )
    if whole and raw >= 0:
        return f"{int(raw):0{CODE_DIGITS}d}"
    return raw


def checked_value(raw: Any, value_type: ValueType, where: str, problems: Problems) -> Any:
    """A raw YAML/JSON value checked against its type; None (and a problem) when it does not fit."""
    expected = value_type.describe()
    if isinstance(raw, Yaml11Scalar):
        problems.add(where, f"expected {expected}; found {kind_of(raw)}")
        return None
    if value_type.kind == "bool":
        if isinstance(raw, bool):
            return raw
        problems.add(where, f"expected true or false; found {kind_of(raw)}")
        return None
    if value_type.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal)):
            problems.add(where, f"expected {expected}; found {kind_of(raw)}")
            return None
        try:
            # Read as written: a Decimal from the file is exact; a float given through the API
            # is taken by its shortest text.
            value = raw if isinstance(raw, Decimal) else Decimal(str(raw))
        except InvalidOperation:
            problems.add(where, f"expected {expected}; found {kind_of(raw)}")
            return None
        if not value.is_finite():
            problems.add(where, f"expected {expected}; found {show(raw)}")
            return None
        assert value_type.low is not None and value_type.high is not None
        if value < value_type.low or value > value_type.high:
            problems.add(where, f"{show(raw)} is out of range: expected {expected}")
            return None
        exponent = value.as_tuple().exponent
        if (
            isinstance(exponent, int)
            and exponent < -MAX_DECIMALS
            and value != value.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
        ):
            problems.add(where, f"{show(raw)} has more than {MAX_DECIMALS} decimal places")
            return None
        return value
    if value_type.kind == "date":
        return checked_date(raw, where, problems)
    if value_type.kind == "choice":
        value = _as_code(raw, value_type)
        if not isinstance(value, str) or value not in value_type.values:
            hint = suggest(value, value_type.values) if isinstance(value, str) else None
            problems.add(where, f"expected {expected}; found {kind_of(raw)}", hint)
            return None
        return value
    if value_type.kind == "set":
        if not isinstance(raw, list):
            problems.add(where, f"expected {expected}; found {kind_of(raw)}")
            return None
        items: list[str] = []
        for position, entry in enumerate(raw):
            if not isinstance(entry, str) or entry not in value_type.values:
                hint = suggest(entry, value_type.values) if isinstance(entry, str) else None
                problems.add(
                    f"{where}[{position}]",
                    f"expected one of {', '.join(value_type.values)}; found {kind_of(entry)}",
                    hint,
                )
                return None
            if entry not in items:
                items.append(entry)
        return tuple(items)
    raise AssertionError(value_type.kind)


def checked_date(raw: Any, where: str, problems: Problems) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        problems.add(where, f"expected a date YYYY-MM-DD; found a date and time {raw}")
        return None
    value = raw if isinstance(raw, dt.date) else None
    if isinstance(raw, str):
        # Strictly YYYY-MM-DD: fromisoformat alone would also take 2026-W29-3 or 20260715.
        if _ISO_DATE.fullmatch(raw):
            try:
                value = dt.date.fromisoformat(raw)
            except ValueError:
                value = None
        if value is None:
            if _ISO_DATE_TIME.match(raw):
                problems.add(
                    where,
                    f"expected a date YYYY-MM-DD; found a date and time "
                    f"'{show(raw)}': give the date alone",
                )
            else:
                problems.add(where, f"expected a date YYYY-MM-DD; found '{show(raw)}'")
            return None
    if value is not None:
        if not EARLIEST <= value <= LATEST:
            problems.add(
                where, f"{value} is outside the dates sijfasp accepts ({EARLIEST}..{LATEST})"
            )
            return None
        return value
    problems.add(where, f"expected a date YYYY-MM-DD; found {kind_of(raw)}")
    return None
