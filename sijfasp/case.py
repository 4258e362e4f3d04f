"""Load a case (YAML or JSON) and validate it against the vocabulary into a plain `Case`.

Every value is checked against the vocabulary before it goes near the solver (see
`case_facts.py` for the symbols the solver receives): a string in a case can at most be refused
as an unknown value. Every problem is reported with its field path, together.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, SijfaspError, did_you_mean
from .semantics import RecordKind, ValueType, Vocabulary

TOP_LEVEL = ("id", "request", "findings", "records")
MAX_DECIMALS = 2


@dataclass(frozen=True)
class Record:
    kind: str
    index: int
    values: dict[str, Any]  # field -> bool | str | Decimal | date | tuple[str, ...]

    @property
    def date(self) -> dt.date | None:
        value = self.values.get("date", self.values.get("start"))
        return value if isinstance(value, dt.date) else None


@dataclass(frozen=True)
class Case:
    id: str
    path: str
    request: dict[str, Any]
    findings: dict[str, Any]
    records: tuple[Record, ...]

    @property
    def service(self) -> str:
        return self.request["service"]

    @property
    def date(self) -> dt.date:
        return self.request["date"]

    def record(self, kind: str, index: int) -> Record | None:
        return next((r for r in self.records if r.kind == kind and r.index == index), None)


class _Problems:
    def __init__(self, path: str):
        self.path = path
        self.items: list[Diagnostic] = []

    def add(self, field_path: str, message: str, hint: str | None = None) -> None:
        self.items.append(
            Diagnostic("case", message, None, "error", hint, field_path or "(top)", self.path)
        )


# ------------------------------------------------------------------ reading
class _CaseYamlLoader(yaml.SafeLoader):
    """Safe YAML, but dates stay text, so the case checker reports a bad one with its field."""


_CaseYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)


def read_case_text(text: str, path: str) -> Any:
    """Parse YAML or JSON text; raise SijfaspError with the parser's position on failure."""
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.load(text, Loader=_CaseYamlLoader)
    except json.JSONDecodeError as error:
        raise SijfaspError(
            [
                Diagnostic(
                    "case",
                    f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
                    file=path,
                )
            ]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "cannot be read"
        raise SijfaspError(
            [Diagnostic("case", f"not valid YAML: {problem}{where}", file=path)]
        ) from None
    except (ValueError, RecursionError) as error:
        raise SijfaspError([Diagnostic("case", f"cannot be read: {error}", file=path)]) from None


def load_case(path: Path | str, vocabulary: Vocabulary) -> Case:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SijfaspError(
            [Diagnostic("case", f"cannot read the case: {reason}", file=str(path))]
        ) from None
    return validate_case(read_case_text(text, str(path)), vocabulary, str(path))


def validate_case(data: Any, vocabulary: Vocabulary, path: str = "<case>") -> Case:
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("", f"a case is a mapping with {', '.join(TOP_LEVEL)}; found {_kind_of(data)}")
        raise SijfaspError(problems.items)
    for key in data:
        if key not in TOP_LEVEL:
            problems.add(
                str(key),
                f"unknown field '{key}'",
                did_you_mean(str(key), TOP_LEVEL) or "a case has " + ", ".join(TOP_LEVEL),
            )
    case_id = data.get("id")
    if case_id is None:
        case_id = Path(path).stem
    elif not isinstance(case_id, (str, int)) or isinstance(case_id, bool):
        problems.add("id", f"the id is a text; found {_kind_of(case_id)}")
        case_id = Path(path).stem
    request = _validate_request(data.get("request"), vocabulary, problems)
    findings = _validate_findings(data.get("findings"), vocabulary, problems)
    request_date = request.get("date") if isinstance(request.get("date"), dt.date) else None
    records = _validate_records(data.get("records"), vocabulary, request_date, problems)
    if problems.items:
        raise SijfaspError(problems.items)
    return Case(str(case_id), path, request, findings, tuple(records))


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value}"
    return type(value).__name__


def _validate_request(data: Any, vocabulary: Vocabulary, problems: _Problems) -> dict:
    if not isinstance(data, dict):
        problems.add(
            "request",
            "the case needs a 'request' mapping with "
            + ", ".join(f.name for f in vocabulary.request_fields if f.required)
            + ("" if data is None else f"; found {_kind_of(data)}"),
        )
        return {}
    values: dict[str, Any] = {}
    names = [f.name for f in vocabulary.request_fields]
    for key, raw in data.items():
        fact = vocabulary.fact("request", str(key))
        if fact is None:
            problems.add(
                f"request.{key}",
                f"unknown request field '{key}'",
                did_you_mean(str(key), names) or "request fields: " + ", ".join(names),
            )
            continue
        value = _value(raw, fact.type, f"request.{key}", problems)
        if value is not None:
            values[fact.name] = value
    for fact in vocabulary.request_fields:
        if fact.required and fact.name not in values and fact.name not in data:
            problems.add(
                f"request.{fact.name}", f"missing: {fact.means.lower()} ({fact.type.describe()})"
            )
    return values


def _validate_findings(data: Any, vocabulary: Vocabulary, problems: _Problems) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.add("findings", f"findings are a mapping of name: value; found {_kind_of(data)}")
        return {}
    values: dict[str, Any] = {}
    names = [f.name for f in vocabulary.findings]
    for key, raw in data.items():
        fact = vocabulary.fact("finding", str(key))
        if fact is None:
            hint = did_you_mean(str(key), names)
            if vocabulary.fact("request", str(key)) is not None:
                hint = f"'{key}' belongs under request"
            problems.add(f"findings.{key}", f"unknown finding '{key}'", hint)
            continue
        if raw is None:
            continue  # written out but left empty: not documented
        value = _value(raw, fact.type, f"findings.{key}", problems)
        if value is not None:
            values[fact.name] = value
    return values


def _validate_records(
    data: Any, vocabulary: Vocabulary, request_date: dt.date | None, problems: _Problems
) -> list[Record]:
    if data is None:
        return []
    if not isinstance(data, dict):
        problems.add("records", f"records are a mapping of kind: list; found {_kind_of(data)}")
        return []
    records: list[Record] = []
    names = [r.name for r in vocabulary.records]
    for key, items in data.items():
        kind = vocabulary.record(str(key))
        if kind is None:
            problems.add(
                f"records.{key}",
                f"unknown record kind '{key}'",
                did_you_mean(str(key), names) or "record kinds: " + ", ".join(names),
            )
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            problems.add(
                f"records.{key}", f"a list of {key} records is expected; found {_kind_of(items)}"
            )
            continue
        for index, item in enumerate(items):
            record = _validate_record(kind, index, item, request_date, problems)
            if record is not None:
                records.append(record)
    return records


def _validate_record(
    kind: RecordKind, index: int, item: Any, request_date: dt.date | None, problems: _Problems
) -> Record | None:
    where = f"records.{kind.name}[{index}]"
    if not isinstance(item, dict):
        problems.add(where, f"a {kind.name} record is a mapping; found {_kind_of(item)}")
        return None
    before = len(problems.items)
    values: dict[str, Any] = {}
    names = [f.name for f in kind.fields if not f.derived]
    for key, raw in item.items():
        field = kind.field(str(key))
        if field is None or field.derived:
            hint = did_you_mean(str(key), names) or "fields: " + ", ".join(names)
            if field is not None:
                hint = f"'{key}' is computed from the record, not written in it"
            problems.add(f"{where}.{key}", f"unknown field '{key}' of a {kind.name} record", hint)
            continue
        if raw is None:
            continue
        value = _value(raw, field.type, f"{where}.{key}", problems)
        if value is not None:
            values[field.name] = value
    for field in kind.fields:
        if field.required and field.name not in values and item.get(field.name) is None:
            problems.add(
                f"{where}.{field.name}", f"missing: {field.means.lower()} ({field.type.describe()})"
            )
    for field in kind.fields:
        if field.only_for and field.name in values and values.get("kind") != field.only_for:
            problems.add(
                f"{where}.{field.name}", f"'{field.name}' applies only to a {field.only_for} record"
            )
    if len(problems.items) > before:
        return None
    _check_dates(kind, values, where, request_date, problems)
    if "start" in values and request_date is not None and kind.field("duration_days"):
        end = min(values.get("end", request_date), request_date)
        values["duration_days"] = Decimal((end - values["start"]).days + 1)
    return Record(kind.name, index, values)


def _check_dates(
    kind: RecordKind, values: dict, where: str, request_date: dt.date | None, problems: _Problems
) -> None:
    if request_date is None:
        return
    for name in ("date", "start"):
        value = values.get(name)
        if isinstance(value, dt.date) and value > request_date:
            problems.add(
                f"{where}.{name}",
                f"{value} is after the request date "
                f"{request_date}: only documentation up to the request counts",
            )
    start, end = values.get("start"), values.get("end")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        problems.add(f"{where}.end", f"the end {end} is before the start {start}")


def _value(raw: Any, value_type: ValueType, where: str, problems: _Problems) -> Any:
    """A raw YAML/JSON value checked against its type; None (and a problem) when it does not fit."""
    expected = value_type.describe()
    if value_type.kind == "bool":
        if isinstance(raw, bool):
            return raw
        problems.add(where, f"expected true or false; found {_kind_of(raw)}")
        return None
    if value_type.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            problems.add(where, f"expected {expected}; found {_kind_of(raw)}")
            return None
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            problems.add(where, f"expected {expected}; found {_kind_of(raw)}")
            return None
        if not value.is_finite():
            problems.add(where, f"expected {expected}; found {raw}")
            return None
        assert value_type.low is not None and value_type.high is not None
        if value < value_type.low or value > value_type.high:
            problems.add(where, f"{raw} is out of range: expected {expected}")
            return None
        exponent = value.as_tuple().exponent
        if (
            isinstance(exponent, int)
            and exponent < -MAX_DECIMALS
            and value != value.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
        ):
            problems.add(where, f"{raw} has more than {MAX_DECIMALS} decimal places")
            return None
        return value
    if value_type.kind == "date":
        return _date(raw, where, problems)
    if value_type.kind == "choice":
        if not isinstance(raw, str) or raw not in value_type.values:
            hint = did_you_mean(raw, value_type.values) if isinstance(raw, str) else None
            problems.add(where, f"expected {expected}; found {_kind_of(raw)}", hint)
            return None
        return raw
    if value_type.kind == "set":
        if not isinstance(raw, list):
            problems.add(where, f"expected {expected}; found {_kind_of(raw)}")
            return None
        items: list[str] = []
        for position, entry in enumerate(raw):
            if not isinstance(entry, str) or entry not in value_type.values:
                hint = did_you_mean(entry, value_type.values) if isinstance(entry, str) else None
                problems.add(
                    f"{where}[{position}]",
                    f"expected one of {', '.join(value_type.values)}; found {_kind_of(entry)}",
                    hint,
                )
                return None
            if entry not in items:
                items.append(entry)
        return tuple(items)
    raise AssertionError(value_type.kind)


def _date(raw: Any, where: str, problems: _Problems) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        problems.add(where, f"expected a date YYYY-MM-DD; found a date and time {raw}")
        return None
    value = raw if isinstance(raw, dt.date) else None
    if isinstance(raw, str):
        try:
            if len(raw) == 10:
                value = dt.date.fromisoformat(raw)
        except ValueError:
            pass
        if value is None:
            try:
                dt.datetime.fromisoformat(raw)
                problems.add(
                    where,
                    f"expected a date YYYY-MM-DD; found a date and time "
                    f"'{raw[:40]}': give the date alone",
                )
            except ValueError:
                problems.add(where, f"expected a date YYYY-MM-DD; found '{raw[:40]}'")
            return None
    if value is not None:
        if not EARLIEST <= value <= LATEST:
            problems.add(
                where, f"{value} is outside the dates sijfasp accepts ({EARLIEST}..{LATEST})"
            )
            return None
        return value
    problems.add(where, f"expected a date YYYY-MM-DD; found {_kind_of(raw)}")
    return None
