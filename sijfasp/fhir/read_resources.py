"""The base of the FHIR reader: the resources of a document collected by reference (Bundles
inside Bundles too), FHIRPath evaluated over them, dates and numbers read with their JSON path
named on bad input, findings from Observations and Conditions, and the codes an item is known
by.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ..core import codings
from ..core.codings import Coding
from ..core.diagnostics import Diagnostic, SijfaspError
from ..language.semantics import FactDef, FieldDef, Vocabulary
from . import mapping

QUESTIONNAIRE_BASE = f"{codings.CANONICAL_BASE}/Questionnaire/"
# A Bundle may hold Bundles (a prefetch's search results); this deep is plenty.
MAX_BUNDLE_DEPTH = 4
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
RESOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VOID_STATUSES = {"entered-in-error", "cancelled", "not-done", "revoked"}
_SHORT = {v: k.upper().replace("ICD10CM", "ICD-10-CM") for k, v in codings.SYSTEMS.items()}
_SHORT[codings.PROJECT_SYSTEM] = "sijfasp"
_SHORT[codings.HCPCS_ALSO] = "HCPCS"
_SHORT[codings.SNOMED] = "SNOMED CT"
CONTRADICTION_HINT = (
    "documents that contradict each other are not merged: correct one, remove it, or mark it "
    "entered-in-error"
)


@dataclass
class Fact:
    value: Any
    source: str
    path: str
    date: dt.date | None = None
    # What the resource says, for a message on disagreement ("confirms ICD-10-CM C41.4");
    # empty: it says the item has its value.
    says: str = ""
    # A reading (an Observation, an answer): of several dated ones that disagree, the latest
    # is used. A Condition's verification status is not one: its dates say when the condition
    # began or was recorded, not which of two contradicting assessments stands.
    reading: bool = True


@dataclass(frozen=True)
class Verified:
    """A Condition confirmed or refuted, with the codes it was read by (system, code), kept to
    find two Conditions that contradict each other on one kind of a finding."""

    key: str
    confirmed: bool
    codes: tuple[tuple[str, str], ...]
    source: str
    path: str


@dataclass
class Resource:
    data: dict[str, Any]
    path: str
    used: bool = False
    # How it is cited when it is not a resource of its own (a Claim's diagnosis).
    name: str | None = None

    @property
    def type(self) -> str:
        return str(self.data.get("resourceType"))

    @property
    def ref(self) -> str:
        return self.name or f"{self.type}/{self.data.get('id', '?')}"


def void(status: list[Any]) -> bool:
    """The resource is marked entered-in-error, cancelled, not done or revoked."""
    return any(isinstance(s, str) and s in _VOID_STATUSES for s in status)


def _written(found: Iterable[Any], listed: tuple[Coding, ...]) -> tuple[tuple[str, str], ...]:
    """The codes of a resource (canonical system, code) that name one of `listed`."""
    out: list[tuple[str, str]] = []
    for coding in found:
        system = coding.get("system") if isinstance(coding, dict) else None
        code = coding.get("code") if isinstance(coding, dict) else None
        if (
            isinstance(system, str)
            and isinstance(code, str)
            and any(codings.matches(system, code, c) for c in listed)
        ):
            out.append((codings.canonical_system(system), code))
    return tuple(dict.fromkeys(out))


def path_at(path: str, rest: str) -> str:
    return f"{path}.{rest}" if path else rest


_OF_TYPE = re.compile(r"\.ofType\((\w+)\)")


def element_path(resource: dict[str, Any], base: str, expression: str) -> str:
    """The JSON path of what an expression of `mapping.py` reads in a resource at `base`: of its
    alternatives (`a | b`), the first that gives a value; a choice element by its JSON name
    (`performed.ofType(Period).start` is `performedPeriod.start`, `value` is `valueQuantity`);
    a list by the index of the first element that holds it (`series[0].modality`)."""
    alternatives = [a.strip() for a in expression.split("|")]
    chosen = next((a for a in alternatives if evaluate(resource, a, base)), alternatives[0])
    steps = _OF_TYPE.sub(lambda m: m[1][:1].upper() + m[1][1:], chosen).split(".")
    return _walk(resource, steps, base) or path_at(base, ".".join(steps))


def _walk(node: Any, steps: list[str], path: str) -> str | None:
    if not steps:
        return path if node is not None else None
    if isinstance(node, list):
        for index, each in enumerate(node):
            found = _walk(each, steps, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if not isinstance(node, dict):
        return None
    name = steps[0]
    keys = [name] if name in node else [k for k in node if _choice_of(k, name)]
    for key in keys:
        found = _walk(node[key], steps[1:], path_at(path, key))
        if found is not None:
            return found
    return None


def _choice_of(key: str, name: str) -> bool:
    """`valueQuantity` is the JSON name of the choice element `value` (FHIR's `value[x]`)."""
    return key.startswith(name) and key[len(name) : len(name) + 1].isupper()


def failure(name: str, path: str, message: str, hint: str | None = None) -> SijfaspError:
    return SijfaspError([Diagnostic("case", message, None, "error", hint, path or "(top)", name)])


@lru_cache(maxsize=256)
def _compiled(expression: str) -> Callable[[Any], list[Any]]:
    from fhirpathpy import compile as fhirpath_compile
    from fhirpathpy.models import models

    compiled = fhirpath_compile(expression, models["r4"])
    return lambda resource: list(compiled(resource, None))


def evaluate(resource: dict[str, Any], expression: str, path: str | None = None) -> list[Any]:
    """A FHIRPath expression over a resource (R4 model: choice types resolve); a resource
    whose shape the expression cannot walk is bad input at its JSON path, not a crash."""
    try:
        return list(_compiled(expression)(resource))
    except Exception as error:  # fhirpathpy raises plain exceptions on malformed elements
        where = f"{resource.get('resourceType', 'resource')}/{resource.get('id', '?')}"
        raise SijfaspError(
            [
                Diagnostic(
                    "case",
                    f"the elements of {where} that give {expression} cannot be read as FHIR "
                    f"R4 ({str(error)[:80]})",
                    hint="each element of the type FHIR R4 gives it",
                    field_path=path or "(top)",
                )
            ]
        ) from None


def describe(system: str, code: str) -> str:
    return f"{_SHORT.get(codings.canonical_system(system), system)} {code}"


def item_codings(key: str, codes: tuple[Coding, ...]) -> tuple[Coding, ...]:
    """The item's own codes: its `code` clauses without `for`, and its project code."""
    own = tuple(c for c in codes if c.value is None)
    return (*own, Coding(codings.PROJECT_SYSTEM, key))


def value_codings(key: str, values: Iterable[str], codes: tuple[Coding, ...]) -> tuple[Coding, ...]:
    found = tuple(c for c in codes if c.value is not None)
    return found + tuple(
        Coding(codings.PROJECT_SYSTEM, codings.project_code(key, v), None, v) for v in values
    )


def values_of(type_kind: str, type_values: tuple[str, ...]) -> tuple[str, ...]:
    return ("true", "false") if type_kind == "bool" else type_values


def matching(found: Iterable[Any], listed: tuple[Coding, ...]) -> list[Coding]:
    out: list[Coding] = []
    for coding in found:
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            continue
        out.extend(c for c in listed if codings.matches(system, code, c))
    return out


class ResourceReader:
    """What the reader has collected so far, and how it reads a value or a finding."""

    def __init__(self, vocabulary: Vocabulary, name: str):
        self.vocabulary = vocabulary
        self.name = name
        self.resources: list[Resource] = []
        self.by_ref: dict[str, Resource] = {}
        self.facts: dict[str, list[Fact]] = {}
        self.verified: list[Verified] = []  # Conditions confirmed or refuted, in order read
        self.records: dict[str, list[tuple[dict[str, Any], Resource, dict[str, str]]]] = {}
        self.notices: list[str] = []
        self.unread: Counter[str] = Counter()
        self.details: dict[str, str] = {}
        self.case_id: str | None = None
        # Fields of documented records a response fills: (kind, index, field, value, path).
        self.fills: list[tuple[str, int, str, Any, str]] = []
        self.patient_ref: str | None = None
        self.depth = 0  # Bundles inside the one being read (a prefetch's search results)

    def fail(self, path: str, message: str, hint: str | None = None) -> SijfaspError:
        return failure(self.name, path, message, hint)

    def add(self, resource: Any, path: str, full_url: Any = None) -> Resource:
        if not isinstance(resource, dict):
            raise self.fail(path, "expected a FHIR resource (a JSON object)")
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or not kind:
            raise self.fail(path_at(path, "resourceType"), "a resource names its resourceType")
        rid = resource.get("id")
        if rid is not None and not isinstance(rid, str):
            raise self.fail(path_at(path, "id"), "a resource id is a text")
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
            return Resource(resource, path, used=True)
        found = Resource(resource, path)
        self.resources.append(found)
        if rid is not None:
            self.by_ref[f"{kind}/{rid}"] = found
        if isinstance(full_url, str):
            self.by_ref[full_url] = found
        return found

    def bundle_entries(self, bundle: dict[str, Any], path: str) -> list[Resource]:
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise self.fail(path_at(path, "entry"), "a Bundle's entry is a list")
        out = []
        for index, entry in enumerate(entries):
            where = f"{path}.entry[{index}]" if path else f"entry[{index}]"
            if not isinstance(entry, dict) or "resource" not in entry:
                raise self.fail(where, "a Bundle entry holds a resource")
            out.append(self.add(entry["resource"], f"{where}.resource", entry.get("fullUrl")))
        return out

    def resolve(self, reference: Any) -> Resource | None:
        if isinstance(reference, dict):
            reference = reference.get("reference")
        if not isinstance(reference, str):
            return None
        return self.by_ref.get(reference)

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
            path = f"{path}.value"
        if value is None:
            raise self.fail(path, "the quantity has no value", "a JSON number")
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise self.fail(path, f"'{str(value)[:40]}' is not a number", "a JSON number")
        try:
            return value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise self.fail(path, f"'{str(value)[:40]}' is not a number", "a JSON number") from None

    def put(self, key: str, fact: Fact) -> None:
        self.facts.setdefault(key, []).append(fact)

    def fact_value(
        self, fact: FactDef | FieldDef, key: str, raw: list[Any], resource: Resource, path: str
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
            listed = value_codings(key, values_of(kind, fact.type.values), fact.codes)
            matched = {c.value for c in matching(value["coding"], listed)}
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
                    describe(str(c.get("system")), str(c.get("code")))
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

    def findings_of(self, resource: Resource) -> None:
        source = next((s for s in mapping.FINDING_SOURCES if s.resource == resource.type), None)
        if source is None:
            return
        data, path = resource.data, resource.path
        status = evaluate(data, source.status, path)
        if void(status):
            self.notices.append(f"ignored: {resource.ref} is marked {status[0]}")
            resource.used = True
            return
        found = evaluate(data, source.codes, path)
        dates = evaluate(data, source.date, path)
        when = self.date(dates[0], element_path(data, path, source.date)) if dates else None
        pool = [(f, f.key) for f in (*self.vocabulary.findings, *self.vocabulary.request_fields)]
        for fact, key in pool:
            own = item_codings(key, fact.codes)
            kinds = tuple(c for c in fact.codes if c.value is not None and fact.type.kind == "bool")
            whole = matching(found, own)
            partial = matching(found, kinds)
            if not whole and not partial:
                continue
            resource.used = True
            if resource.type == "Condition":
                written = _written(found, own if whole else kinds)
                self.condition(fact, key, resource, status, bool(whole), partial, when, written)
                continue
            if not whole:
                continue
            value = self.fact_value(
                fact,
                key,
                evaluate(data, source.value, path),
                resource,
                element_path(data, path, source.value),
            )
            if value is not None:
                self.put(key, Fact(value, resource.ref, resource.path, when))

    def condition(
        self,
        fact: FactDef,
        key: str,
        resource: Resource,
        status: list[Any],
        whole: bool,
        partial: list[Coding],
        when: dt.date | None,
        written: tuple[tuple[str, str], ...],
    ) -> None:
        """A Condition's verification status: confirmed true, refuted false (a refuted code
        of one kind of the finding leaves it not documented); kept in `verified` to find
        two Conditions that contradict each other (`contradictions`)."""
        if fact.type.kind != "bool":
            return
        verification = next((s for s in status if isinstance(s, str)), None)
        shown = ", ".join(describe(system, code) for system, code in written)
        ref, path = resource.ref, resource.path
        if verification == "confirmed":
            value = True if whole else partial[0].value == "true"
            self.put(key, Fact(value, ref, path, when, f"confirms {shown}", reading=False))
            self.verified.append(Verified(key, True, written, ref, path))
        elif verification == "refuted":
            if whole:
                self.put(key, Fact(False, ref, path, when, f"refutes {shown}", reading=False))
            elif any(c.value == "false" for c in partial):
                self.put(key, Fact(True, ref, path, when, f"refutes {shown}", reading=False))
            else:
                self.verified.append(Verified(key, False, written, ref, path))
                self.notices.append(
                    f"not read: {ref} refutes {shown}, one kind of {key} only: {key} is left "
                    "not documented"
                )
        else:
            self.notices.append(
                f"not read: {resource.ref} is {verification or 'without a verification status'}"
                f": {key} is left not documented"
            )

    def contradictions(self) -> None:
        """Two Conditions that contradict each other on one kind of a finding: one refutes a
        code naming one kind only (C41.4, of a tumor), another confirms that code or one under
        it (ICD-10-CM by category). A confirmed other kind, or a broader code, does not
        contradict it; two resources that disagree on the finding itself are found by
        `resolve_facts`, and through the vocabulary's implications by the case's checks."""
        for refuted in (v for v in self.verified if not v.confirmed):
            for confirmed in (v for v in self.verified if v.confirmed and v.key == refuted.key):
                pairs = [
                    (found, denied)
                    for found in confirmed.codes
                    for denied in refuted.codes
                    if codings.matches(found[0], found[1], Coding(*denied))
                ]
                if not pairs:
                    continue
                found, denied = pairs[0]
                said = {
                    confirmed: f"{confirmed.source} (at {confirmed.path}) confirms "
                    f"{describe(*found)}",
                    refuted: f"{refuted.source} (at {refuted.path}) refutes {describe(*denied)}",
                }
                first, second = sorted(said, key=self.verified.index)
                raise self.fail(
                    second.path,
                    f"{said[first]} and {said[second]}: the two contradict each other on "
                    f"{refuted.key}",
                    CONTRADICTION_HINT,
                )

    def codes_text(self, concept: Any) -> str:
        found = concept.get("coding", []) if isinstance(concept, dict) else []
        shown = [
            describe(str(c.get("system")), str(c.get("code"))) for c in found if isinstance(c, dict)
        ]
        return ", ".join(shown) or "no code"
