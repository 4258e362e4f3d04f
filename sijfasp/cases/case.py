"""Load a case (YAML or JSON) and validate it against the vocabulary into a plain `Case`.

Every value is checked against the vocabulary before it goes near the solver (see
`solve/case_facts.py` for the symbols the solver receives): a string in a case can at most be refused
as an unknown value. Every problem is reported with its field path, together.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.diagnostics import (
    SijfaspError,
    did_you_mean,
    non_ascii_note,
    normalized_name,
    script_problem,
)
from ..core.kinds import LineOfBusiness
from ..core.limits import DEFAULT_LIMITS, ID_CHARACTERS, MAX_ID_LENGTH, Limits, raise_hint
from ..core.wording import article
from ..language.semantics import CPT_FIELD, FieldDef, RecordKind, ValueType, Vocabulary
from .reader import STDIN_NAME, Yaml11Scalar, display_name, read_case_file, read_case_text
from .values import EARLIEST, LATEST, Problems, checked_value, kind_of, show, suggest

__all__ = [
    "EARLIEST",
    "LATEST",
    "Case",
    "Record",
    "load_case",
    "read_case_text",
    "restrict_case",
    "validate_case",
]


# Who and what the case is about, for a letter's header; each optional, never read by the solver.
DETAILS = ("patient", "member_id", "payer", "plan", "reference_id")
# The plan's line of business: chooses among a policy's versions (policies/versions.py), never read by
# the solver; one of kinds.LineOfBusiness. Kept with the details (`details` in JSON).
LINE_OF_BUSINESS = "line_of_business"
# Details that select behaviour (a payer selects policies): NFKC-normalized and written in
# one script, so that a look-alike letter cannot name another payer or plan unnoticed.
ONE_SCRIPT = ("payer", "plan")
TOP_LEVEL = ("id", "request", "findings", "records", *DETAILS, LINE_OF_BUSINESS)
MAX_DETAIL_LENGTH = 80
# Letters (any script), digits, space and the punctuation of names and ids: nothing that a
# terminal or Markdown reads as markup is needed, and what is refused cannot be echoed wrongly.
_DETAIL = re.compile(r"[^\W_](?:[\w .,'/:#()&+-]*[\w.)])?")


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
    details: dict[str, str] = field(default_factory=dict)  # DETAILS given, by name

    @property
    def service(self) -> str:
        return self.request["service"]

    @property
    def date(self) -> dt.date:
        return self.request["date"]

    def record(self, kind: str, index: int) -> Record | None:
        return self._records_by_key.get((kind, index))

    @functools.cached_property
    def _records_by_key(self) -> dict[tuple[str, int], Record]:
        """The records by kind and index: the explanation looks up every record it names, so
        a scan per lookup would grow with the square of a long chart."""
        found: dict[tuple[str, int], Record] = {}
        for record in self.records:
            found.setdefault((record.kind, record.index), record)
        return found


_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._:/ -]*[A-Za-z0-9._:/-])?")


def load_case(path: Path | str, vocabulary: Vocabulary, limits: Limits = DEFAULT_LIMITS) -> Case:
    """Read and validate a case file, or standard input when `path` is `-`."""
    data = read_case_file(path, limits)
    return validate_case(data, vocabulary, display_name(path), limits)


def validate_case(
    data: Any, vocabulary: Vocabulary, path: str = "<case>", limits: Limits = DEFAULT_LIMITS
) -> Case:
    problems = Problems(path)
    if not isinstance(data, dict):
        problems.add("", f"a case is a mapping with {', '.join(TOP_LEVEL)}; found {kind_of(data)}")
        raise SijfaspError(problems.items)
    # Duplicate keys and over-long texts first: nothing else is worth checking on such input.
    _check_raw(data, limits, problems)
    if problems.items:
        raise SijfaspError(problems.items)
    for key in data:
        if key not in TOP_LEVEL:
            problems.add(
                show(key),
                f"unknown field '{show(key)}'",
                suggest(key, TOP_LEVEL) or "a case has " + ", ".join(TOP_LEVEL),
            )
    case_id = _validate_id(data.get("id"), path, problems)
    request = _validate_request(data.get("request"), vocabulary, problems)
    findings = _validate_findings(data.get("findings"), vocabulary, problems)
    request_date = request.get("date") if isinstance(request.get("date"), dt.date) else None
    records = _validate_records(data.get("records"), vocabulary, request_date, limits, problems)
    details = _validate_details(data, problems)
    _check_implied(findings, vocabulary, problems)
    _check_service_code(request, vocabulary, problems)
    if problems.items:
        raise SijfaspError(problems.items)
    return Case(case_id, path, request, findings, tuple(records), details)


def _check_implied(findings: dict, vocabulary: Vocabulary, problems: Problems) -> None:
    """A narrow finding documented true and a finding it implies documented false (the
    vocabulary's `implies`): the case contradicts itself, and no reading of it is safe."""
    for narrow, broad in vocabulary.contradictions(findings):
        problems.add(
            f"findings.{broad}",
            f"'{broad}' is false, but '{narrow}' is true and implies it",
            f"document one of them again: '{narrow}' true makes '{broad}' true",
        )


def _check_service_code(request: dict, vocabulary: Vocabulary, problems: Problems) -> None:
    """A procedure code the vocabulary's table of codes gives to other services only, not to
    the requested one: the request states two different procedures."""
    service, code = request.get("service"), request.get("cpt_code")
    if service is None or code is None:
        return
    codes = vocabulary.codes_of(str(service))
    others = [name for name, listed in vocabulary.service_codes if str(code) in listed]
    # A code the table gives to no service (an extension's own) says nothing about the service.
    if codes is None or str(code) in codes or not others:
        return
    problems.add(
        "request.cpt_code",
        f"CPT {code} is a code of {' or '.join(others)}, not of the requested service {service}",
        f"the codes of {service} are " + ", ".join(codes) + "; correct the code or the service",
    )


# ------------------------------------------------------------------ one policy's view
def _fits(value: Any, value_type: ValueType) -> Any:
    """The value as a vocabulary of this type reads it: a choice it does not list is None,
    a set keeps the members it lists."""
    if value_type.kind == "choice":
        return value if value in value_type.values else None
    if value_type.kind == "set" and isinstance(value, tuple):
        return tuple(v for v in value if v in value_type.values)
    return value


def _own_facts(values: dict[str, Any], vocabulary: Vocabulary, scope: str) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if scope == "request" and name in ("service", "date"):
            kept[name] = value  # what is asked and when: a policy without it does not apply
            continue
        fact = vocabulary.fact(scope, name)
        if scope == "request" and name == CPT_FIELD and fact is not None:
            # A code the policy does not list still tells it the procedure is not its own.
            kept[name] = value
            continue
        fitted = _fits(value, fact.type) if fact is not None else None
        if fitted is not None:
            kept[name] = fitted
    return kept


def _own_record(record: Record, fields: dict[str, FieldDef]) -> Record | None:
    """The record as a policy of this record kind (its fields by name) sees it; None when a
    required field holds a value the policy does not know (the record is not one the policy
    speaks of). The record itself when the policy sees every value as it is."""
    values: dict[str, Any] = {}
    for name, value in record.values.items():
        field_def = fields.get(name)
        fitted = _fits(value, field_def.type) if field_def is not None else None
        if fitted is not None:
            values[name] = fitted
        elif field_def is not None and field_def.required:
            return None
    if values == record.values:
        return record
    return Record(record.kind, record.index, values)


def restrict_case(case: Case, vocabulary: Vocabulary) -> Case:
    """The case as a policy of this vocabulary sees it: the items of other policies' vocabulary
    extensions (language/extensions.py) left out, so its solver and its explanation never meet them.
    Records keep their index, so evidence still points at the case file's entries."""
    request = _own_facts(case.request, vocabulary, "request")
    findings = _own_facts(case.findings, vocabulary, "finding")
    # Each kind's fields by name, looked up once per kind rather than once per record.
    kinds: dict[str, dict[str, FieldDef] | None] = {}
    records = []
    for record in case.records:
        if record.kind not in kinds:
            kind = vocabulary.record(record.kind)
            kinds[record.kind] = {f.name: f for f in kind.fields} if kind is not None else None
        fields = kinds[record.kind]
        own = _own_record(record, fields) if fields is not None else None
        if own is not None:
            records.append(own)
    if (
        request == case.request
        and findings == case.findings
        and len(records) == len(case.records)
        and all(a is b for a, b in zip(records, case.records))
    ):
        return case
    return Case(case.id, case.path, request, findings, tuple(records), case.details)


def _validate_details(data: dict, problems: Problems) -> dict[str, str]:
    details: dict[str, str] = {}
    for name in DETAILS:
        raw = data.get(name)
        if raw is None:
            continue
        if not isinstance(raw, str) or isinstance(raw, Yaml11Scalar):
            # A bare number is refused rather than read: it would lose leading zeros (00123).
            problems.add(
                name,
                f"'{name}' is a text; found {kind_of(raw)}",
                "write it in quotes" if isinstance(raw, (int, Decimal)) else None,
            )
            continue
        text = normalized_name(raw).strip() if name in ONE_SCRIPT else raw.strip()
        if len(text) > MAX_DETAIL_LENGTH or _DETAIL.fullmatch(text) is None:
            problems.add(
                name,
                f"'{name}' '{show(raw)}' is not accepted: at most {MAX_DETAIL_LENGTH} "
                "characters, of letters, digits, space and . , ' / : # ( ) & + - _",
            )
            continue
        mixed = script_problem(text) if name in ONE_SCRIPT else None
        if mixed is not None:
            problems.add(
                name,
                f"'{name}' '{show(raw)}' is not accepted: it {mixed}",
                "write the name in one script, as the payer writes it",
            )
            continue
        details[name] = text
    line = _line_of_business(data.get(LINE_OF_BUSINESS), problems)
    if line is not None:
        details[LINE_OF_BUSINESS] = line
    return details


def _line_of_business(raw: Any, problems: Problems) -> str | None:
    """`line_of_business`: one of kinds.LineOfBusiness, in any letter case, with spaces or
    hyphens for `_` (`Medicare Advantage`); anything else is refused with the list."""
    if raw is None:
        return None
    known = [line.value for line in LineOfBusiness]
    if not isinstance(raw, str) or isinstance(raw, Yaml11Scalar):
        problems.add(
            LINE_OF_BUSINESS,
            f"'{LINE_OF_BUSINESS}' is one of {', '.join(known)}; found {kind_of(raw)}",
        )
        return None
    text = normalized_name(raw).strip()
    key = re.sub(r"[\s_-]+", "_", text.casefold()).strip("_")
    if key in known:
        return key
    problems.add(
        LINE_OF_BUSINESS,
        f"'{show(raw)}' is not a line of business{non_ascii_note(text)}: expected one of "
        + ", ".join(known),
        did_you_mean(key, known) or "the plan's kind of coverage; 'other' when it is none of these",
    )
    return None


def _check_raw(data: Any, limits: Limits, problems: Problems) -> None:
    """Keys written twice and texts past the length limit, anywhere in the case."""
    stack: list[tuple[str, Any]] = [("", data)]
    longest = limits.max_string_length
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if len(value) > longest:
                problems.add(
                    where,
                    f"a text of {len(value):,} characters; at most {longest:,} are read "
                    f"('{show(value)}')",
                    raise_hint("max_string_length"),
                )
        elif isinstance(value, dict):
            for key, line in getattr(value, "duplicates", ()):
                problems.add(
                    _join(where, key),
                    f"'{show(key)}' is written twice"
                    + (f" (again at line {line})" if line else "")
                    + "; a key may appear once in a mapping",
                )
            for key, item in value.items():
                if isinstance(key, str) and len(key) > longest:
                    problems.add(
                        where,
                        f"a key of {len(key):,} characters; at most {longest:,} are read "
                        f"('{show(key)}')",
                        raise_hint("max_string_length"),
                    )
                    continue
                stack.append((_join(where, key), item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
    problems.items.sort(key=lambda d: d.field_path or "")


def _join(where: str, key: Any) -> str:
    return f"{where}.{show(key)}" if where else show(key)


def _validate_id(raw: Any, path: str, problems: Problems) -> str:
    if raw is None:
        return _id_from_file_name("stdin" if path == STDIN_NAME else Path(path).stem)
    if (isinstance(raw, Decimal) and raw.is_finite()) or (
        isinstance(raw, int) and not isinstance(raw, bool)
    ):
        raw = str(raw)
    if not isinstance(raw, str) or isinstance(raw, Yaml11Scalar):
        problems.add("id", f"the id is a text; found {kind_of(raw)}")
        return "case"
    if not _is_id(raw):
        problems.add(
            "id",
            f"the id '{show(raw)}' is not a valid id: at most {MAX_ID_LENGTH} characters, "
            f"of {ID_CHARACTERS}",
        )
        return "case"
    return raw


def _id_from_file_name(stem: str) -> str:
    """The file name as an id: characters an id cannot have become `_` ("case (1)" gives
    "case _1_"); what is left at the ends that is not a letter or a digit is dropped."""
    text = re.sub(r"[^A-Za-z0-9._:/ -]", "_", stem[:MAX_ID_LENGTH])
    text = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9._:/-]+$", "", text)
    return text if _is_id(text) else "case"


def _is_id(text: str) -> bool:
    return len(text) <= MAX_ID_LENGTH and _ID.fullmatch(text) is not None


def _validate_request(data: Any, vocabulary: Vocabulary, problems: Problems) -> dict:
    if not isinstance(data, dict):
        problems.add(
            "request",
            "the case needs a 'request' mapping with "
            + ", ".join(f.name for f in vocabulary.request_fields if f.required)
            + ("" if data is None else f"; found {kind_of(data)}"),
        )
        return {}
    values: dict[str, Any] = {}
    names = [f.name for f in vocabulary.request_fields]
    for key, raw in data.items():
        fact = vocabulary.fact("request", str(key))
        if fact is None:
            problems.add(
                f"request.{show(key)}",
                f"unknown request field '{show(key)}'",
                suggest(key, names) or "request fields: " + ", ".join(names),
            )
            continue
        value = checked_value(raw, fact.type, f"request.{key}", problems)
        if value is not None:
            values[fact.name] = value
    for fact in vocabulary.request_fields:
        if fact.required and fact.name not in values and fact.name not in data:
            problems.add(
                f"request.{fact.name}", f"missing: {fact.means.lower()} ({fact.type.describe()})"
            )
    return values


def _validate_findings(data: Any, vocabulary: Vocabulary, problems: Problems) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.add("findings", f"findings are a mapping of name: value; found {kind_of(data)}")
        return {}
    values: dict[str, Any] = {}
    names = [f.name for f in vocabulary.findings]
    for key, raw in data.items():
        fact = vocabulary.fact("finding", str(key))
        if fact is None:
            hint = suggest(key, names)
            if vocabulary.fact("request", str(key)) is not None:
                hint = f"'{key}' belongs under request"
            problems.add(f"findings.{show(key)}", f"unknown finding '{show(key)}'", hint)
            continue
        if raw is None:
            continue  # written out but left empty: not documented
        value = checked_value(raw, fact.type, f"findings.{key}", problems)
        if value is not None:
            values[fact.name] = value
    return values


def _validate_records(
    data: Any,
    vocabulary: Vocabulary,
    request_date: dt.date | None,
    limits: Limits,
    problems: Problems,
) -> list[Record]:
    if data is None:
        return []
    if not isinstance(data, dict):
        problems.add("records", f"records are a mapping of kind: list; found {kind_of(data)}")
        return []
    count = sum(len(items) for items in data.values() if isinstance(items, list))
    if count > limits.max_records:
        problems.add(
            "records",
            f"{count:,} records; at most {limits.max_records:,} are read in one case",
            raise_hint("max_records"),
        )
        return []
    records: list[Record] = []
    names = [r.name for r in vocabulary.records]
    for key, items in data.items():
        kind = vocabulary.record(str(key))
        if kind is None:
            problems.add(
                f"records.{show(key)}",
                f"unknown record kind '{show(key)}'",
                suggest(key, names) or "record kinds: " + ", ".join(names),
            )
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            problems.add(
                f"records.{key}", f"a list of {key} records is expected; found {kind_of(items)}"
            )
            continue
        for index, item in enumerate(items):
            record = _validate_record(kind, index, item, request_date, limits, problems)
            if record is not None:
                records.append(record)
    return records


def _validate_record(
    kind: RecordKind,
    index: int,
    item: Any,
    request_date: dt.date | None,
    limits: Limits,
    problems: Problems,
) -> Record | None:
    where = f"records.{kind.name}[{index}]"
    if not isinstance(item, dict):
        problems.add(where, f"{article(kind.name)} record is a mapping; found {kind_of(item)}")
        return None
    before = len(problems.items)
    values: dict[str, Any] = {}
    names = [f.name for f in kind.fields if not f.derived]
    for key, raw in item.items():
        field = kind.field(str(key))
        if field is None or field.derived:
            hint = suggest(key, names) or "fields: " + ", ".join(names)
            if field is not None:
                hint = f"'{key}' is computed from the record, not written in it"
            problems.add(
                f"{where}.{show(key)}",
                f"unknown field '{show(key)}' of {article(kind.name)} record",
                hint,
            )
            continue
        if raw is None:
            continue
        value = checked_value(raw, field.type, f"{where}.{key}", problems)
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
                f"{where}.{field.name}",
                f"'{field.name}' applies only to {article(str(field.only_for))} record",
            )
    if len(problems.items) > before:
        return None
    _check_dates(values, where, request_date, limits, problems)
    if "start" in values and request_date is not None and kind.field("duration_days"):
        end = min(values.get("end", request_date), request_date)
        values["duration_days"] = Decimal((end - values["start"]).days + 1)
    return Record(kind.name, index, values)


def _check_dates(
    values: dict, where: str, request_date: dt.date | None, limits: Limits, problems: Problems
) -> None:
    if request_date is None:
        return
    years = limits.max_record_years
    try:
        earliest = request_date.replace(year=request_date.year - years)
    except ValueError:  # 29 February, or before year 1
        earliest = dt.date(max(1, request_date.year - years), 3, 1)
    for name in ("date", "start"):
        value = values.get(name)
        if isinstance(value, dt.date) and value > request_date:
            problems.add(
                f"{where}.{name}",
                f"{value} is after the request date "
                f"{request_date}: only documentation up to the request counts",
            )
        elif isinstance(value, dt.date) and value < earliest:
            problems.add(
                f"{where}.{name}",
                f"{value} is more than {years} years before the request date {request_date}",
                raise_hint("max_record_years"),
            )
    start, end = values.get("start"), values.get("end")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        problems.add(f"{where}.end", f"the end {end} is before the start {start}")
