"""FHIR R4 in: a PAS request Bundle, a CDS Hooks order request or a QuestionnaireResponse to
sijfasp's questionnaire, read into the raw case a YAML file gives.

What is read is decided by the vocabulary's codes and the expressions of `mapping.py`; this
module only walks the resources and applies them. Every fact keeps the resource it came from
(`FhirCase.sources`), every resource or code left unread is named in a notice, and bad input
stops with one message naming its JSON path (exit 2).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ..core import codings
from ..core.codings import Coding
from ..core.diagnostics import Diagnostic, SijfaspError, did_you_mean
from ..language.semantics import FactDef, FieldDef, RecordKind, Vocabulary
from . import HOOKS, mapping, require

QUESTIONNAIRE_BASE = f"{codings.CANONICAL_BASE}/Questionnaire/"
# A Bundle may hold Bundles (a prefetch's search results); this deep is plenty.
MAX_BUNDLE_DEPTH = 4
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VOID_STATUSES = {"entered-in-error", "cancelled", "not-done", "revoked"}
_SHORT = {v: k.upper().replace("ICD10CM", "ICD-10-CM") for k, v in codings.SYSTEMS.items()}
_SHORT[codings.PROJECT_SYSTEM] = "sijfasp"
_SHORT[codings.HCPCS_ALSO] = "HCPCS"
_SHORT[codings.SNOMED] = "SNOMED CT"


@dataclass(frozen=True)
class FhirCase:
    """The raw case read from FHIR, where each part came from, and what was not read."""

    data: dict[str, Any]
    # "vas_score", "request.side", "records.injection[0]", "records.injection[0].relief_percent"
    # -> the resources it was read from ("Observation/vas-1").
    sources: dict[str, tuple[str, ...]]
    notices: tuple[str, ...]
    # The same keys -> the JSON path of the first resource, to point a later problem at it.
    paths: dict[str, str] = field(default_factory=dict)
    # Fields of documented records a QuestionnaireResponse fills: (kind, index, field, value,
    # JSON path); merge_answers writes them into the case.
    fills: tuple[tuple[str, int, str, Any, str], ...] = ()

    def locate(self, case_path: str) -> str | None:
        """The JSON path of the resource a case field path (`records.injection[0].date`) was
        read from, with the resource named, or None."""
        parts = case_path.split(".")
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if key in self.paths:
                rest = ".".join(parts[end:])
                where = f"{self.paths[key]} ({self.sources[key][0]})"
                return f"{where}: {rest}" if rest else where
        return None


@dataclass
class _Fact:
    value: Any
    source: str
    path: str
    date: dt.date | None = None


@dataclass
class _Resource:
    data: dict[str, Any]
    path: str
    used: bool = False

    @property
    def type(self) -> str:
        return str(self.data.get("resourceType"))

    @property
    def ref(self) -> str:
        return f"{self.type}/{self.data.get('id', '?')}"


def _void(status: list[Any]) -> bool:
    """The resource is marked entered-in-error, cancelled, not done or revoked."""
    return any(isinstance(s, str) and s in _VOID_STATUSES for s in status)


def _at(path: str, rest: str) -> str:
    return f"{path}.{rest}" if path else rest


def _fail(name: str, path: str, message: str, hint: str | None = None) -> SijfaspError:
    return SijfaspError([Diagnostic("case", message, None, "error", hint, path or "(top)", name)])


@lru_cache(maxsize=256)
def _compiled(expression: str) -> Callable[[Any], list[Any]]:
    from fhirpathpy import compile as fhirpath_compile
    from fhirpathpy.models import models

    compiled = fhirpath_compile(expression, models["r4"])
    return lambda resource: list(compiled(resource, None))


def evaluate(resource: dict[str, Any], expression: str) -> list[Any]:
    """A FHIRPath expression over a resource (R4 model: choice types resolve); a resource
    whose shape the expression cannot walk is bad input, not a crash."""
    try:
        return list(_compiled(expression)(resource))
    except Exception as error:  # fhirpathpy raises plain exceptions on malformed elements
        where = f"{resource.get('resourceType', 'resource')}/{resource.get('id', '?')}"
        raise SijfaspError(
            [
                Diagnostic(
                    "case",
                    f"{where}: its elements cannot be read as FHIR R4 ({expression}: "
                    f"{str(error)[:80]})",
                    field_path=str(resource.get("resourceType", "resource")),
                )
            ]
        ) from None


def _describe(system: str, code: str) -> str:
    return f"{_SHORT.get(codings.canonical_system(system), system)} {code}"


# ------------------------------------------------------------------ the codes of an item
def _item_codings(key: str, codes: tuple[Coding, ...]) -> tuple[Coding, ...]:
    """The item's own codes: its `code` clauses without `for`, and its project code."""
    own = tuple(c for c in codes if c.value is None)
    return (*own, Coding(codings.PROJECT_SYSTEM, key))


def _value_codings(
    key: str, values: Iterable[str], codes: tuple[Coding, ...]
) -> tuple[Coding, ...]:
    found = tuple(c for c in codes if c.value is not None)
    return found + tuple(
        Coding(codings.PROJECT_SYSTEM, codings.project_code(key, v), None, v) for v in values
    )


def _values_of(type_kind: str, type_values: tuple[str, ...]) -> tuple[str, ...]:
    return ("true", "false") if type_kind == "bool" else type_values


def _matching(found: Iterable[Any], listed: tuple[Coding, ...]) -> list[Coding]:
    out: list[Coding] = []
    for coding in found:
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            continue
        out.extend(c for c in listed if codings.matches(system, code, c))
    return out


class _Reader:
    def __init__(self, vocabulary: Vocabulary, name: str):
        self.vocabulary = vocabulary
        self.name = name
        self.resources: list[_Resource] = []
        self.by_ref: dict[str, _Resource] = {}
        self.facts: dict[str, list[_Fact]] = {}
        self.records: dict[str, list[tuple[dict[str, Any], _Resource, dict[str, str]]]] = {}
        self.notices: list[str] = []
        self.unread: Counter[str] = Counter()
        self.details: dict[str, str] = {}
        self.case_id: str | None = None
        # Fields of documented records a response fills: (kind, index, field, value, path).
        self.fills: list[tuple[str, int, str, Any, str]] = []
        self.patient_ref: str | None = None
        self.depth = 0  # Bundles inside the one being read (a prefetch's search results)

    def fail(self, path: str, message: str, hint: str | None = None) -> SijfaspError:
        return _fail(self.name, path, message, hint)

    # -------------------------------------------------------------- collecting resources
    def add(self, resource: Any, path: str, full_url: Any = None) -> _Resource:
        if not isinstance(resource, dict):
            raise self.fail(path, "expected a FHIR resource (a JSON object)")
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or not kind:
            raise self.fail(_at(path, "resourceType"), "a resource names its resourceType")
        rid = resource.get("id")
        if rid is not None and not isinstance(rid, str):
            raise self.fail(_at(path, "id"), "a resource id is a text")
        if kind == "Bundle":
            if self.depth >= MAX_BUNDLE_DEPTH:
                raise self.fail(
                    path, f"a Bundle nested more than {MAX_BUNDLE_DEPTH} deep", "a few levels serve"
                )
            self.depth += 1
            try:
                self.bundle_entries(resource, path)
            finally:
                self.depth -= 1
            return _Resource(resource, path, used=True)
        found = _Resource(resource, path)
        self.resources.append(found)
        if rid is not None:
            self.by_ref[f"{kind}/{rid}"] = found
        if isinstance(full_url, str):
            self.by_ref[full_url] = found
        return found

    def bundle_entries(self, bundle: dict[str, Any], path: str) -> list[_Resource]:
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise self.fail(_at(path, "entry"), "a Bundle's entry is a list")
        out = []
        for index, entry in enumerate(entries):
            where = f"{path}.entry[{index}]" if path else f"entry[{index}]"
            if not isinstance(entry, dict) or "resource" not in entry:
                raise self.fail(where, "a Bundle entry holds a resource")
            out.append(self.add(entry["resource"], f"{where}.resource", entry.get("fullUrl")))
        return out

    def resolve(self, reference: Any) -> _Resource | None:
        if isinstance(reference, dict):
            reference = reference.get("reference")
        if not isinstance(reference, str):
            return None
        return self.by_ref.get(reference)

    # -------------------------------------------------------------- values
    def date(self, value: Any, path: str) -> dt.date:
        if isinstance(value, dt.date):
            return value
        text = str(value)
        match = _DATE.match(text)
        if match is None:
            raise self.fail(
                path, f"'{text[:40]}' is not a date", "a full date, YYYY-MM-DD"
            ) from None
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise self.fail(
                path, f"'{text[:40]}' is not a date", "a full date, YYYY-MM-DD"
            ) from None

    def number(self, value: Any, path: str, unit: str | None) -> Decimal:
        """A number from a FHIR value: a Quantity (its UCUM unit checked), an integer or a
        decimal."""
        if isinstance(value, dict):
            system = value.get("system")
            if system is not None and system != codings.UCUM:
                raise self.fail(
                    f"{path}.system", f"the unit system is {system}", f"UCUM ({codings.UCUM})"
                )
            written = value.get("code", value.get("unit"))
            accepted = mapping.UCUM_UNITS.get(unit or "", ())
            if written is not None and accepted and written not in accepted:
                raise self.fail(
                    f"{path}.code",
                    f"the unit '{written}' is not the item's unit ({unit})",
                    "UCUM " + " or ".join(f"'{u}'" for u in accepted),
                )
            value = value.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise self.fail(path, "expected a number")
        try:
            return value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise self.fail(path, "expected a number") from None

    # -------------------------------------------------------------- facts
    def put(self, key: str, fact: _Fact) -> None:
        self.facts.setdefault(key, []).append(fact)

    def fact_value(
        self, fact: FactDef | FieldDef, key: str, raw: list[Any], resource: _Resource, path: str
    ) -> Any:
        """The value of an Observation (its `value` evaluated) for an item, or None."""
        if not raw:
            return None
        value = raw[0]
        kind = fact.type.kind
        if kind == "number":
            return self.number(value, path, fact.unit)
        if kind == "date":
            return self.date(value, path)
        if isinstance(value, bool):
            return value if kind == "bool" else None
        if isinstance(value, dict) and "coding" in value:
            listed = _value_codings(key, _values_of(kind, fact.type.values), fact.codes)
            matched = {c.value for c in _matching(value["coding"], listed)}
            if kind == "bool" and not matched:
                for coding in value["coding"]:
                    if isinstance(coding, dict) and coding.get("system") == codings.SNOMED:
                        if coding.get("code") == mapping.SNOMED_POSITIVE:
                            matched.add("true")
                        elif coding.get("code") == mapping.SNOMED_NEGATIVE:
                            matched.add("false")
            if kind == "set" and matched:
                return [v for v in fact.type.values if v in matched]
            if len(matched) > 1:
                raise self.fail(path, f"the answer names several values of {key}")
            if not matched:
                shown = ", ".join(
                    _describe(str(c.get("system")), str(c.get("code")))
                    for c in value["coding"]
                    if isinstance(c, dict)
                )
                self.notices.append(
                    f"not read: {resource.ref} answers {key} with {shown or 'no code'}, "
                    "a value sijfasp does not know; left not documented"
                )
                return None
            answer = matched.pop()
            return (answer == "true") if kind == "bool" else answer
        raise self.fail(path, f"expected {fact.type.describe()} for {key}")

    def findings_of(self, resource: _Resource) -> None:
        source = next((s for s in mapping.FINDING_SOURCES if s.resource == resource.type), None)
        if source is None:
            return
        status = evaluate(resource.data, source.status)
        if _void(status):
            self.notices.append(f"ignored: {resource.ref} is marked {status[0]}")
            resource.used = True
            return
        found = evaluate(resource.data, source.codes)
        dates = evaluate(resource.data, source.date)
        when = self.date(dates[0], f"{resource.path}") if dates else None
        pool = [(f, f.key) for f in (*self.vocabulary.findings, *self.vocabulary.request_fields)]
        for fact, key in pool:
            whole = _matching(found, _item_codings(key, fact.codes))
            partial = _matching(
                found,
                tuple(c for c in fact.codes if c.value is not None and fact.type.kind == "bool"),
            )
            if not whole and not partial:
                continue
            resource.used = True
            if resource.type == "Condition":
                self.condition(fact, key, resource, status, bool(whole), partial, when)
                continue
            if not whole:
                continue
            value = self.fact_value(
                fact, key, evaluate(resource.data, source.value), resource, f"{resource.path}.value"
            )
            if value is not None:
                self.put(key, _Fact(value, resource.ref, resource.path, when))

    def condition(
        self,
        fact: FactDef,
        key: str,
        resource: _Resource,
        status: list[Any],
        whole: bool,
        partial: list[Coding],
        when: dt.date | None,
    ) -> None:
        if fact.type.kind != "bool":
            return
        verification = next((s for s in status if isinstance(s, str)), None)
        if verification == "confirmed":
            value = True if whole else partial[0].value == "true"
            self.put(key, _Fact(value, resource.ref, resource.path, when))
        elif verification == "refuted":
            if whole:
                self.put(key, _Fact(False, resource.ref, resource.path, when))
            elif any(c.value == "false" for c in partial):
                self.put(key, _Fact(True, resource.ref, resource.path, when))
            else:
                code = partial[0]
                self.notices.append(
                    f"not read: {resource.ref} refutes {_describe(code.system, code.code)}, one "
                    f"kind of {key} only: {key} is left not documented"
                )
        else:
            self.notices.append(
                f"not read: {resource.ref} is {verification or 'without a verification status'}"
                f": {key} is left not documented"
            )

    # -------------------------------------------------------------- records
    def record_of(self, resource: _Resource) -> None:
        for kind_name, sources in mapping.RECORD_SOURCES.items():
            kind = self.vocabulary.record(kind_name)
            if kind is None:
                continue
            for source in sources:
                if source.resource != resource.type:
                    continue
                found = evaluate(resource.data, source.codes)
                listed = _item_codings(kind.name, kind.codes)
                for name in source.identify:
                    field_def = kind.field(name)
                    if field_def is not None:
                        listed += _value_codings(
                            f"{kind.name}.{name}", field_def.type.values, field_def.codes
                        )
                if _matching(found, listed):
                    self.read_record(kind, source, resource)
                    return

    def read_record(
        self, kind: RecordKind, source: mapping.RecordSource, resource: _Resource
    ) -> None:
        resource.used = True
        status = evaluate(resource.data, source.status)
        if _void(status):
            self.notices.append(f"ignored: {resource.ref} is marked {status[0]}")
            return
        values: dict[str, Any] = {}
        field_sources: dict[str, str] = {}
        self.record_fields(kind, source, resource, values, field_sources)
        if resource.type == "DiagnosticReport":
            for reference in evaluate(resource.data, mapping.IMAGING_STUDY_OF_REPORT):
                study = self.by_ref.get(reference) if isinstance(reference, str) else None
                if study is None or study.type != "ImagingStudy":
                    continue
                study.used = True
                study_source = next(
                    s for s in mapping.RECORD_SOURCES["imaging"] if s.resource == "ImagingStudy"
                )
                more: dict[str, Any] = {}
                self.record_fields(kind, study_source, study, more, field_sources)
                for name, value in more.items():
                    values.setdefault(name, value)
        for part in self.parts_of(resource, source.parts):
            self.record_part(kind, part, values, field_sources)
        self.records.setdefault(kind.name, []).append((values, resource, field_sources))

    def record_fields(
        self,
        kind: RecordKind,
        source: mapping.RecordSource,
        resource: _Resource,
        values: dict[str, Any],
        field_sources: dict[str, str],
    ) -> None:
        for name, expression in source.fields.items():
            field_def = kind.field(name)
            if field_def is None:
                continue
            found = evaluate(resource.data, expression)
            if not found:
                continue
            where = f"{resource.path} {expression.split(' ')[0].split('.')[0]}"
            value = self.field_value(kind, field_def, found, where)
            if value is not None:
                values[name] = value
                field_sources[name] = resource.ref

    def field_value(
        self, kind: RecordKind, field_def: FieldDef, found: list[Any], where: str
    ) -> Any:
        key = f"{kind.name}.{field_def.name}"
        type_kind = field_def.type.kind
        if type_kind == "date":
            return self.date(found[0], where)
        if type_kind == "number":
            return self.number(found[0], where, field_def.unit)
        listed = _value_codings(key, _values_of(type_kind, field_def.type.values), field_def.codes)
        values = list(dict.fromkeys(c.value for c in _matching(found, listed)))
        if not values:
            return None
        if type_kind == "set":
            return values
        if len(values) > 1:
            raise self.fail(
                where, f"the codes name several values of {key}: {', '.join(map(str, values))}"
            )
        return (values[0] == "true") if type_kind == "bool" else values[0]

    def parts_of(self, resource: _Resource, how: str) -> list[_Resource]:
        if how == "result":
            found = [self.resolve(r) for r in resource.data.get("result", []) or []]
            return [r for r in found if r is not None and r.type == "Observation"]
        own = {resource.ref} | {u for u, r in self.by_ref.items() if r is resource}
        return [
            r
            for r in self.resources
            if r.type == "Observation"
            and any(
                isinstance(p, dict) and p.get("reference") in own
                for p in r.data.get("partOf", []) or []
            )
        ]

    def record_part(
        self,
        kind: RecordKind,
        part: _Resource,
        values: dict[str, Any],
        field_sources: dict[str, str],
    ) -> None:
        found = evaluate(part.data, "code.coding")
        for field_def in kind.fields:
            key = f"{kind.name}.{field_def.name}"
            if not _matching(found, _item_codings(key, field_def.codes)):
                continue
            part.used = True
            value = self.fact_value(
                field_def, key, evaluate(part.data, "value"), part, f"{part.path}.value"
            )
            if value is None:
                continue
            if field_def.name in values and values[field_def.name] != value:
                raise self.fail(
                    f"{part.path}.value",
                    f"{part.ref} says {key} is {value}, {field_sources[field_def.name]} "
                    f"says {values[field_def.name]}",
                )
            values[field_def.name] = value
            field_sources[field_def.name] = part.ref

    # -------------------------------------------------------------- the request
    def request_items(self, resource: _Resource, items: list[tuple[dict[str, Any], str]]) -> None:
        """The service, code and side of the request from a Claim's items or service
        requests; the request date from the resource."""
        source = mapping.REQUEST_SOURCES[resource.type]
        service = self.vocabulary.fact("request", "service")
        assert service is not None
        read_any = False
        sides: set[str] = set()
        for item, path in items:
            found = evaluate(item, source.fields["service"])
            if not found:
                raise self.fail(
                    f"{path}.{source.fields['service'].split('.')[0]}",
                    "the item has no procedure code",
                )
            listed = _value_codings("request.service", service.type.values, service.codes)
            matched = _matching(found, listed)
            own = [c for c in matched if c.system == codings.PROJECT_SYSTEM]
            chosen = {c.value for c in (own or matched)}
            if not chosen:
                shown = ", ".join(
                    _describe(str(c.get("system")), str(c.get("code")))
                    for c in found
                    if isinstance(c, dict)
                )
                self.notices.append(f"not read: {resource.ref} item with {shown}")
                continue
            if len(chosen) > 1:
                raise self.fail(
                    path,
                    "the item's codes name several services: "
                    + ", ".join(sorted(str(c) for c in chosen)),
                )
            read_any = True
            self.put("request.service", _Fact(chosen.pop(), resource.ref, path))
            code_field = self.vocabulary.fact("request", "cpt_code")
            if code_field is not None:
                codes = {
                    c.value
                    for c in _matching(
                        evaluate(item, source.fields["cpt_code"]),
                        _value_codings(
                            "request.cpt_code", code_field.type.values, code_field.codes
                        ),
                    )
                    if c.system != codings.PROJECT_SYSTEM
                }
                for code in codes:
                    self.put("request.cpt_code", _Fact(code, resource.ref, path))
            side = self.vocabulary.fact("request", "side")
            if side is not None:
                listed = _value_codings("request.side", side.type.values, side.codes)
                sides |= {
                    str(c.value) for c in _matching(evaluate(item, source.fields["side"]), listed)
                }
        if not read_any:
            cpt = sorted({c.code for c in service.codes if c.system == codings.CPT})
            raise self.fail(
                f"{resource.path}.item" if resource.type == "Claim" else f"{resource.path}.code",
                f"{resource.ref} requests no procedure sijfasp reads",
                "an SI joint fusion: CPT " + ", ".join(cpt),
            )
        if sides:
            both = "bilateral" if "bilateral" in sides or {"left", "right"} <= sides else None
            value = both or next(iter(sides))
            self.put("request.side", _Fact(value, resource.ref, resource.path))
        dates = evaluate(resource.data, source.date)
        if not dates:
            raise self.fail(
                f"{resource.path}.{source.date}",
                f"{resource.ref} has no {source.date}: the request date",
            )
        when = self.date(dates[0], f"{resource.path}.{source.date}")
        self.put("request.date", _Fact(when, resource.ref, resource.path))
        resource.used = True

    def claim(self, resource: _Resource) -> None:
        data = resource.data
        if data.get("use") != "preauthorization":
            raise self.fail(
                f"{resource.path}.use",
                f"the Claim's use is '{data.get('use')}'",
                "a prior-authorization request has use 'preauthorization'",
            )
        items = data.get("item")
        if not isinstance(items, list) or not items:
            raise self.fail(f"{resource.path}.item", "the Claim has no item to authorize")
        self.request_items(
            resource, [(item, f"{resource.path}.item[{i}]") for i, item in enumerate(items)]
        )
        for index, diagnosis in enumerate(data.get("diagnosis", []) or []):
            concept = (
                diagnosis.get("diagnosisCodeableConcept") if isinstance(diagnosis, dict) else None
            )
            path = f"{resource.path}.diagnosis[{index}]"
            if concept is None:
                target = self.resolve(
                    diagnosis.get("diagnosisReference") if isinstance(diagnosis, dict) else None
                )
                if target is None:
                    raise self.fail(path, "a diagnosis names a code or a Condition of the Bundle")
                continue  # the Condition is read as an entry of the Bundle
            synthetic = {
                "resourceType": "Condition",
                "id": f"{data.get('id', 'claim')}-diagnosis-{index + 1}",
                "code": concept,
                "verificationStatus": {"coding": [{"code": "confirmed"}]},
            }
            before = len(self.facts), sum(len(v) for v in self.facts.values())
            diagnosis_resource = _Resource(synthetic, path)
            self.findings_of(diagnosis_resource)
            for facts in self.facts.values():
                for fact in facts:
                    if fact.source == diagnosis_resource.ref:
                        fact.source = f"{resource.ref} diagnosis {index + 1}"
            if (len(self.facts), sum(len(v) for v in self.facts.values())) == before:
                self.unread[f"Claim diagnosis {self.codes_text(concept)}"] += 1
        identifiers = data.get("identifier") or []
        if identifiers and isinstance(identifiers[0], dict):
            value = identifiers[0].get("value")
            if isinstance(value, str):
                self.details["reference_id"] = value
        if isinstance(data.get("id"), str):
            self.case_id = data["id"]

    def codes_text(self, concept: Any) -> str:
        found = concept.get("coding", []) if isinstance(concept, dict) else []
        shown = [
            _describe(str(c.get("system")), str(c.get("code")))
            for c in found
            if isinstance(c, dict)
        ]
        return ", ".join(shown) or "no code"

    # -------------------------------------------------------------- people and coverage
    def patient(self, resource: _Resource) -> None:
        resource.used = True
        self.patient_ref = resource.ref
        names = resource.data.get("name") or []
        if names and isinstance(names[0], dict):
            name = names[0]
            text = (
                name.get("text")
                or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
            )
            if isinstance(text, str) and text:
                self.details["patient"] = text

    def coverage(self, resource: _Resource) -> None:
        resource.used = True
        member = resource.data.get("subscriberId")
        if isinstance(member, str):
            self.details["member_id"] = member
        # The payer is not read: sijfasp chooses policies by its own payer ids, which a
        # Coverage does not carry.
        self.notices.append(f"read for the member id only: {resource.ref}")

    # -------------------------------------------------------------- sijfasp's questionnaire
    def answers(self, resource: _Resource, alone: bool) -> None:
        data = resource.data
        canonical = data.get("questionnaire")
        if not (isinstance(canonical, str) and canonical.startswith(QUESTIONNAIRE_BASE)):
            if alone:
                raise self.fail(
                    f"{resource.path}.questionnaire" if resource.path else "questionnaire",
                    "the QuestionnaireResponse does not answer a questionnaire of sijfasp",
                    f"its questionnaire starts with {QUESTIONNAIRE_BASE}",
                )
            return  # another payer's form: listed as not read
        resource.used = True
        if data.get("status") == "entered-in-error":
            self.notices.append(f"ignored: {resource.ref} is marked entered-in-error")
            return
        items = data.get("item", [])
        self.answer_items(items, f"{resource.path}.item" if resource.path else "item", resource)

    def answer_items(self, items: Any, path: str, resource: _Resource) -> None:
        if not isinstance(items, list):
            raise self.fail(path, "expected a list of items")
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
                raise self.fail(where, "an item names its linkId")
            link = item["linkId"]
            if link == "set":  # which minimal set the responder chose: nothing to document
                continue
            fill = re.fullmatch(r"([a-z][a-z0-9_]*)#([0-9]{1,6})", link)
            if fill is not None and self.vocabulary.record(fill.group(1)) is not None:
                self.answer_fill(fill.group(1), int(fill.group(2)) - 1, item, where, resource)
                continue
            kind = self.vocabulary.record(link)
            if kind is not None:
                self.answer_record(kind, item, where, resource)
                continue
            fact = self.fact_by_key(link)
            if fact is not None:
                self.answer_fact(fact, link, item, where, resource)
                continue
            if item.get("answer"):
                self.unread[f"answer to '{link[:40]}'"] += 1
            if "item" in item:
                self.answer_items(item["item"], f"{where}.item", resource)

    def fact_by_key(self, key: str) -> FactDef | None:
        if key.startswith("request."):
            return self.vocabulary.fact("request", key.removeprefix("request."))
        return self.vocabulary.fact("finding", key)

    def answer_value(self, item_def: FactDef | FieldDef, key: str, answer: Any, where: str) -> Any:
        if not isinstance(answer, dict):
            raise self.fail(where, "an answer is a JSON object with one value[x]")
        kind = item_def.type.kind
        for name, value in answer.items():
            if not name.startswith("value"):
                continue
            if name == "valueBoolean" and kind == "bool":
                return value
            if name in ("valueDecimal", "valueInteger") and kind == "number":
                return self.number(value, f"{where}.{name}", None)
            if name == "valueQuantity" and kind == "number":
                return self.number(value, f"{where}.{name}", item_def.unit)
            if name in ("valueDate", "valueDateTime") and kind == "date":
                return self.date(value, f"{where}.{name}")
            if name == "valueCoding" and kind in ("choice", "set", "bool"):
                listed = _value_codings(key, _values_of(kind, item_def.type.values), item_def.codes)
                matched = _matching([value], listed)
                if not matched:
                    code = value.get("code") if isinstance(value, dict) else None
                    values = _values_of(kind, item_def.type.values)
                    raise self.fail(
                        f"{where}.valueCoding",
                        f"'{code}' is not a value of {key}",
                        did_you_mean(str(code), [codings.project_code(key, v) for v in values])
                        or "values: " + ", ".join(values),
                    )
                chosen = matched[0].value
                return (chosen == "true") if kind == "bool" else chosen
            raise self.fail(f"{where}.{name}", f"{key} is {item_def.type.describe()}: not a {name}")
        raise self.fail(where, "the answer holds no value[x]")

    def answer_fact(
        self, fact: FactDef, key: str, item: dict[str, Any], where: str, resource: _Resource
    ) -> None:
        answers = item.get("answer") or []
        if not isinstance(answers, list):
            raise self.fail(f"{where}.answer", "expected a list of answers")
        for index, answer in enumerate(answers[:1]):
            value = self.answer_value(fact, key, answer, f"{where}.answer[{index}]")
            self.put(key, _Fact(value, resource.ref, where))

    def answer_fill(
        self, kind_name: str, index: int, item: dict[str, Any], where: str, resource: _Resource
    ) -> None:
        """Fields of a documented record (`injection#3`, its `injection#3.side`)."""
        kind = self.vocabulary.record(kind_name)
        assert kind is not None
        for number, sub in enumerate(item.get("item") or []):
            here = f"{where}.item[{number}]"
            link = sub.get("linkId") if isinstance(sub, dict) else None
            name = str(link).removeprefix(f"{kind_name}#{index + 1}.")
            field_def = kind.field(name)
            if field_def is None or field_def.derived:
                raise self.fail(f"{here}.linkId", f"'{link}' is not a field of {kind_name}")
            answers = sub.get("answer") or []
            if answers:
                value = self.answer_value(
                    field_def, f"{kind_name}.{name}", answers[0], f"{here}.answer[0]"
                )
                self.fills.append((kind_name, index, name, value, here))

    def answer_record(
        self, kind: RecordKind, item: dict[str, Any], where: str, resource: _Resource
    ) -> None:
        values: dict[str, Any] = {}
        field_sources: dict[str, str] = {}
        inner = item.get("item") or []
        if not isinstance(inner, list):
            raise self.fail(f"{where}.item", "expected a list of items")
        for index, sub in enumerate(inner):
            here = f"{where}.item[{index}]"
            link = sub.get("linkId") if isinstance(sub, dict) else None
            if not isinstance(link, str):
                raise self.fail(here, "an item names its linkId")
            name = link.removeprefix(f"{kind.name}.")
            field_def = kind.field(name)
            if field_def is None or field_def.derived:
                names = [f.name for f in kind.fields if not f.derived]
                raise self.fail(
                    f"{here}.linkId",
                    f"'{link}' is not a field of {kind.name}",
                    did_you_mean(name, names) or "fields: " + ", ".join(names),
                )
            answers = sub.get("answer") or []
            if field_def.type.kind == "set":
                values[name] = [
                    self.answer_value(field_def, link, a, f"{here}.answer[{i}]")
                    for i, a in enumerate(answers)
                ]
            elif answers:
                values[name] = self.answer_value(field_def, link, answers[0], f"{here}.answer[0]")
            if name in values:
                field_sources[name] = resource.ref
        if values:
            record_resource = _Resource(resource.data, where, used=True)
            self.records.setdefault(kind.name, []).append((values, record_resource, field_sources))

    # -------------------------------------------------------------- the whole
    def read_entries(self) -> None:
        for resource in self.resources:
            if resource.used:
                continue
            if resource.type == "Patient":
                self.patient(resource)
            elif resource.type == "Coverage":
                self.coverage(resource)
            elif resource.type == "QuestionnaireResponse":
                self.answers(resource, alone=False)
        for resource in self.resources:
            if not resource.used and resource.type in (
                "Procedure",
                "DiagnosticReport",
                "MedicationStatement",
                "MedicationRequest",
            ):
                self.record_of(resource)
        for resource in self.resources:
            if not resource.used and resource.type == "ImagingStudy":
                self.record_of(resource)
        for resource in self.resources:
            if not resource.used and resource.type in ("Condition", "Observation"):
                self.findings_of(resource)
        for resource in self.resources:
            if not resource.used:
                code = resource.data.get("code") or resource.data.get("medicationCodeableConcept")
                what = f" with {self.codes_text(code)}" if isinstance(code, dict) else ""
                self.unread[f"{resource.type}{what}"] += 1

    def resolve_facts(self) -> tuple[dict[str, Any], dict[str, tuple[str, ...]], dict[str, str]]:
        values: dict[str, Any] = {}
        sources: dict[str, tuple[str, ...]] = {}
        paths: dict[str, str] = {}
        for key, facts in self.facts.items():
            distinct = {_plain(f.value) for f in facts}
            chosen = facts[0]
            if len(distinct) > 1:
                dated = [f for f in facts if f.date is not None]
                latest = max((f.date for f in dated if f.date is not None), default=None)
                last = [f for f in dated if f.date == latest]
                if key != "request.service" and len({_plain(f.value) for f in last}) == 1 and last:
                    chosen = last[0]
                    others = ", ".join(
                        f"{f.source}: {_plain(f.value)}" for f in facts if f is not chosen
                    )
                    self.notices.append(
                        f"{key}: the latest reading is used, {chosen.source}: "
                        f"{_plain(chosen.value)} ({chosen.date}); also documented: {others}"
                    )
                else:
                    first, other = (
                        facts[0],
                        next(f for f in facts if _plain(f.value) != _plain(facts[0].value)),
                    )
                    raise self.fail(
                        other.path,
                        f"{other.source} says {key} is {_plain(other.value)}, {first.source} "
                        f"(at {first.path}) says {_plain(first.value)}",
                        "two documents disagree on one fact and neither is later: correct or "
                        "remove one",
                    )
            values[key] = chosen.value
            sources[key] = tuple(dict.fromkeys(f.source for f in facts))
            paths[key] = chosen.path
        return values, sources, paths

    def case(self, fallback_id: str) -> FhirCase:
        values, sources, paths = self.resolve_facts()
        request = {
            k.removeprefix("request."): v for k, v in values.items() if k.startswith("request.")
        }
        findings = {k: v for k, v in values.items() if not k.startswith("request.")}
        records: dict[str, list[dict[str, Any]]] = {}
        for kind, entries in self.records.items():
            for index, (record, resource, field_sources) in enumerate(entries):
                records.setdefault(kind, []).append(record)
                key = f"records.{kind}[{index}]"
                sources[key] = (resource.ref,)
                paths[key] = resource.path
                for name, ref in field_sources.items():
                    sources[f"{key}.{name}"] = (ref,)
                    if ref != resource.ref and ref in self.by_ref:
                        paths[f"{key}.{name}"] = self.by_ref[ref].path
        if self.patient_ref is not None:
            sources["patient"] = (self.patient_ref,)
        case_id = self.case_id if self.case_id and _ID.fullmatch(self.case_id) else fallback_id
        data: dict[str, Any] = {"id": case_id, "request": request, "findings": findings}
        if records:
            data["records"] = records
        data.update(self.details)
        notices = list(self.notices)
        if self.unread:
            notices.append(
                "not read: "
                + "; ".join(f"{count} {what}" for what, count in sorted(self.unread.items()))
            )
        return FhirCase(data, sources, tuple(notices), paths, tuple(self.fills))


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _fallback_id(name: str) -> str:
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:64]
    return cleaned if cleaned and cleaned[0].isalnum() else "fhir-case"


# ------------------------------------------------------------------ entry points
def read_fhir(data: dict[str, Any], vocabulary: Vocabulary, name: str) -> FhirCase:
    """The raw case of a FHIR document: a PAS request Bundle (its Claim first), a CDS Hooks
    order request, or a QuestionnaireResponse to sijfasp's questionnaire."""
    require(name)
    _no_duplicates(data, "", name)
    reader = _Reader(vocabulary, name)
    if "hook" in data and "hookInstance" in data and "resourceType" not in data:
        _read_hook(reader, data)
    else:
        kind = data.get("resourceType")
        if kind == "Bundle":
            _read_bundle(reader, data)
        elif kind == "QuestionnaireResponse":
            resource = reader.add(data, "")
            reader.answers(resource, alone=True)
            reader.read_entries()
        else:
            raise reader.fail(
                "resourceType",
                f"a FHIR {str(kind)[:40]} is not a case sijfasp reads",
                "a PAS request Bundle (its Claim first), a CDS Hooks order request, or a "
                "QuestionnaireResponse to sijfasp's questionnaire",
            )
    bundle_id = data.get("id") if isinstance(data.get("id"), str) else None
    return reader.case(bundle_id if bundle_id and _ID.fullmatch(bundle_id) else _fallback_id(name))


def _no_duplicates(value: Any, path: str, name: str) -> None:
    """A key written twice in the JSON is an error at its path: which one was meant is not
    for sijfasp to guess (the JSON reader keeps the first and records the others)."""
    if isinstance(value, dict):
        for key, _ in getattr(value, "duplicates", ()):
            raise _fail(name, _at(path, str(key)), f"'{key}' is written twice", "keep one")
        for key, inner in value.items():
            _no_duplicates(inner, _at(path, str(key)), name)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _no_duplicates(inner, f"{path}[{index}]", name)


def _read_bundle(reader: _Reader, data: dict[str, Any]) -> None:
    entries = reader.bundle_entries(data, "")
    if not entries:
        raise reader.fail(
            "entry", "the Bundle is empty", "a PAS request Bundle's first entry is its Claim"
        )
    first = entries[0]
    if first.type != "Claim":
        raise reader.fail(
            "entry[0].resource.resourceType",
            f"the first entry is a {first.type[:40]}",
            "a PAS request Bundle's first entry is its Claim",
        )
    reader.claim(first)
    for index, info in enumerate(first.data.get("supportingInfo", []) or []):
        reference = info.get("valueReference") if isinstance(info, dict) else None
        if reference is not None and reader.resolve(reference) is None:
            reader.notices.append(
                f"not read: supportingInfo {index + 1} of {first.ref} points at "
                f"{str(reference.get('reference'))[:60]}, which the Bundle does not hold"
            )
    reader.read_entries()


def _read_hook(reader: _Reader, data: dict[str, Any]) -> None:
    hook = data.get("hook")
    if hook not in HOOKS:
        raise reader.fail(
            "hook",
            f"'{str(hook)[:40]}' is not an order hook sijfasp answers",
            did_you_mean(str(hook), HOOKS) or "hooks: " + ", ".join(HOOKS),
        )
    context = data.get("context")
    if not isinstance(context, dict):
        raise reader.fail("context", "a CDS Hooks request carries its context")
    orders = context.get("draftOrders")
    if not isinstance(orders, dict) or orders.get("resourceType") != "Bundle":
        raise reader.fail("context.draftOrders", "the draft orders are a Bundle")
    drafted = reader.bundle_entries(orders, "context.draftOrders")
    requests = [r for r in drafted if r.type == "ServiceRequest"]
    if not requests:
        raise reader.fail(
            "context.draftOrders.entry", "the draft orders hold no ServiceRequest for a fusion"
        )
    prefetch = data.get("prefetch")
    prefetch = {} if prefetch is None else prefetch
    if not isinstance(prefetch, dict):
        raise reader.fail("prefetch", "prefetch is an object of resources by key")
    for key, value in prefetch.items():
        if value is not None:
            reader.add(value, f"prefetch.{key}")
    service = reader.vocabulary.fact("request", "service")
    assert service is not None
    listed = _value_codings("request.service", service.type.values, service.codes)
    service_requests = [
        order
        for order in requests
        if _matching(
            evaluate(order.data, mapping.REQUEST_SOURCES["ServiceRequest"].fields["service"]),
            listed,
        )
    ]
    if not service_requests:
        raise reader.fail(
            f"{requests[0].path}.code",
            "no draft order is for an SI joint fusion",
            "a ServiceRequest coded with CPT 27278, 27279 or 27280",
        )
    if len(service_requests) > 1:
        raise reader.fail(
            f"{service_requests[1].path}",
            "two draft orders are for an SI joint fusion",
            "one order is checked at a time",
        )
    order = service_requests[0]
    reader.request_items(order, [(order.data, order.path)])
    if isinstance(order.data.get("id"), str):
        reader.case_id = order.data["id"]
    reader.read_entries()


def merge_answers(case: dict[str, Any], answers: FhirCase, name: str) -> dict[str, Any]:
    """A raw case with the answers of a QuestionnaireResponse merged in: a fact the case
    leaves out is added; one it documents otherwise is an error; records are added."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in case.items()}
    for part in ("request", "findings"):
        own = merged.setdefault(part, {})
        if not isinstance(own, dict):
            continue
        for key, value in answers.data.get(part, {}).items():
            if key in own and own[key] is not None and _same(own[key], value) is False:
                prefix = "request." if part == "request" else ""
                raise _fail(
                    name,
                    answers.paths.get(f"{prefix}{key}", "item"),
                    f"the answer for {prefix}{key} ({value}) differs from the case ({own[key]})",
                    "answer only what the case leaves out, or correct the case",
                )
            own.setdefault(key, value)
    records = merged.setdefault("records", {})
    if isinstance(records, dict):
        for kind_name, index, field_name, value, path in answers.fills:
            documented = list(records.get(kind_name) or [])
            if not 0 <= index < len(documented) or not isinstance(documented[index], dict):
                raise _fail(
                    name,
                    path,
                    f"the case has no {kind_name} record {index + 1} to fill in",
                    f"it documents {len(documented)} {kind_name} record(s)",
                )
            record = dict(documented[index])
            known = record.get(field_name)
            if known is not None and _same(known, value) is False:
                raise _fail(
                    name,
                    path,
                    f"the answer for {field_name} of {kind_name} record {index + 1} ({value}) "
                    f"differs from the case ({known})",
                )
            record[field_name] = value
            documented[index] = record
            records[kind_name] = documented
        for kind, entries in answers.data.get("records", {}).items():
            records[kind] = [*list(records.get(kind) or []), *entries]
    return merged


def _same(first: Any, second: Any) -> bool:
    if isinstance(first, (int, float, Decimal)) and isinstance(second, (int, float, Decimal)):
        if isinstance(first, bool) or isinstance(second, bool):
            return first is second
        return Decimal(str(first)) == Decimal(str(second))
    return str(first).lower() == str(second).lower()


__all__ = ["QUESTIONNAIRE_BASE", "FhirCase", "evaluate", "merge_answers", "read_fhir"]
