"""FHIR R4 in: a PAS request Bundle, a CDS Hooks order request or a QuestionnaireResponse to
sijfasp's questionnaire, read into the raw case a YAML file gives.

What is read is decided by the vocabulary's codes and the expressions of `mapping.py`; the
reader only walks the resources and applies them. Every fact keeps the resource it came from
(`FhirCase.sources`), every resource or code left unread is named in a notice, and bad input
stops with one message naming its JSON path (exit 2).

This module holds the entry points (a Bundle, a hook request, answers merged into a case) and
the reader that goes over every resource once; what it reads from each kind of resource is in
`read_resources` (resources collected, values, findings), `read_records`, `read_request` (the
Claim or order, the patient and coverage) and `read_answers` (sijfasp's questionnaire).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..core.diagnostics import did_you_mean
from ..language.semantics import Vocabulary
from . import HOOKS, mapping, require
from .read_answers import AnswerReading
from .read_records import RecordReading
from .read_request import RequestReading
from .read_resources import (
    CONTRADICTION_HINT,
    QUESTIONNAIRE_BASE,
    RESOURCE_ID,
    Fact,
    evaluate,
    failure,
    matching,
    path_at,
    value_codings,
)


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

    def locate(self, case_path: str) -> tuple[str, str] | None:
        """The JSON path of the resource a case field path (`records.injection[0].date`) was
        read from, and the resource (`Procedure/inj-1`); None when no resource gave it."""
        # Findings are kept by their name ("vas_score"), the case's path is findings.vas_score.
        parts = case_path.removeprefix("findings.").split(".")
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if key in self.paths:
                return self.paths[key], self.sources[key][0]
        return None


class _Reader(RecordReading, RequestReading, AnswerReading):
    """The whole reader: every resource read once, then the facts resolved into a case."""

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
        """One value per fact: the one every resource gives; of dated readings that disagree,
        the latest (with a notice); otherwise the disagreement is an error naming both."""
        self.contradictions()
        values: dict[str, Any] = {}
        sources: dict[str, tuple[str, ...]] = {}
        paths: dict[str, str] = {}
        kept: dict[str, Fact] = {}
        for key, facts in self.facts.items():
            distinct = {_plain(f.value) for f in facts}
            chosen = facts[0]
            if len(distinct) > 1:
                dated = [f for f in facts if f.date is not None]
                latest = max((f.date for f in dated if f.date is not None), default=None)
                last = [f for f in dated if f.date == latest]
                # Only dated readings are settled by their dates: an undated one could be
                # older or newer than any other.
                readings = key != "request.service" and all(
                    f.reading and f.date is not None for f in facts
                )
                if readings and last and len({_plain(f.value) for f in last}) == 1:
                    chosen = last[0]
                    others = ", ".join(
                        f"{f.source}: {_plain(f.value)}" for f in facts if f is not chosen
                    )
                    self.notices.append(
                        f"{key}: the latest reading is used, {chosen.source}: "
                        f"{_plain(chosen.value)} ({chosen.date}); also documented: {others}"
                    )
                else:
                    first = facts[0]
                    other = next(f for f in facts if _plain(f.value) != _plain(first.value))
                    raise self.fail(
                        other.path,
                        f"{_said(first, key)} and {_said(other, key)}: the two contradict each "
                        f"other on {key}",
                        CONTRADICTION_HINT,
                    )
            values[key] = chosen.value
            sources[key] = tuple(dict.fromkeys(f.source for f in facts))
            paths[key] = chosen.path
            kept[key] = chosen
        findings = {k: v for k, v in values.items() if not k.startswith("request.")}
        for narrow, broad in self.vocabulary.contradictions(findings):
            # The vocabulary's `finding NARROW implies BROAD`: documented true and false.
            raise self.fail(
                kept[broad].path,
                f"{_said(kept[narrow], narrow)} and {_said(kept[broad], broad)}, which "
                f"{narrow} implies: the two contradict each other",
                CONTRADICTION_HINT,
            )
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
        case_id = (
            self.case_id if self.case_id and RESOURCE_ID.fullmatch(self.case_id) else fallback_id
        )
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


def _said(fact: Fact, key: str) -> str:
    """What one resource says of a fact, with where it is: "Condition/t1 (at entry[3].resource)
    confirms ICD-10-CM C41.4", "Observation/vas-1 (at entry[1].resource) says vas_score is 7"."""
    says = fact.says or f"says {key} is {_show(fact.value)}"
    return f"{fact.source} (at {fact.path}) {says}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _fallback_id(name: str) -> str:
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:64]
    return cleaned if cleaned and cleaned[0].isalnum() else "fhir-case"


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
    return reader.case(
        bundle_id if bundle_id and RESOURCE_ID.fullmatch(bundle_id) else _fallback_id(name)
    )


def _no_duplicates(value: Any, path: str, name: str) -> None:
    """A key written twice in the JSON is an error at its path: which one was meant is not
    for sijfasp to guess (the JSON reader keeps the first and records the others)."""
    if isinstance(value, dict):
        for key, _ in getattr(value, "duplicates", ()):
            raise failure(name, path_at(path, str(key)), f"'{key}' is written twice", "keep one")
        for key, inner in value.items():
            _no_duplicates(inner, path_at(path, str(key)), name)
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
    listed = value_codings("request.service", service.type.values, service.codes)
    service_requests = [
        order
        for order in requests
        if matching(
            evaluate(
                order.data,
                mapping.REQUEST_SOURCES["ServiceRequest"].fields["service"],
                order.path,
            ),
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
                raise failure(
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
                raise failure(
                    name,
                    path,
                    f"the case has no {kind_name} record {index + 1} to fill in",
                    f"it documents {len(documented)} {kind_name} record(s)",
                )
            record = dict(documented[index])
            known = record.get(field_name)
            if known is not None and _same(known, value) is False:
                raise failure(
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
