"""Where each vocabulary item is read in FHIR: data, not code.

The codes come from the vocabulary (`code` clauses, and each item's implicit project code);
this table says, per resource type, which FHIRPath expression gives the codes that identify a
resource, its value, its date and its status, and, per record kind, the expression that gives
each field. `read.py` evaluates the expressions with fhirpathpy over the R4 model (choice types
such as `value[x]` resolve with `ofType`). docs/fhir.md prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ------------------------------------------------------------------ shared expressions
PERFORMED_START = "performed.ofType(dateTime) | performed.ofType(Period).start"
PERFORMED_END = "performed.ofType(Period).end"
EFFECTIVE = (
    "effective.ofType(dateTime) | effective.ofType(instant) | effective.ofType(Period).start"
)


@dataclass(frozen=True)
class FindingSource:
    """A resource type that documents findings: the codings that name the finding, the value,
    the date that orders two readings, and the status that can void it."""

    resource: str
    codes: str
    value: str
    date: str
    status: str


FINDING_SOURCES: tuple[FindingSource, ...] = (
    FindingSource(
        "Condition",
        codes="code.coding",
        # confirmed -> true; refuted -> false; entered-in-error ignored; anything else, or no
        # status, leaves the finding not documented (read.py, and the notice says so).
        value="verificationStatus.coding.code",
        date="onset.ofType(dateTime) | onset.ofType(Period).start | recordedDate",
        status="verificationStatus.coding.code",
    ),
    FindingSource(
        "Observation",
        codes="code.coding",
        value="value",
        date=EFFECTIVE,
        status="status",
    ),
)


@dataclass(frozen=True)
class RecordSource:
    """A resource type that documents records of a kind: the codings that say it is one (the
    kind's own codes, or the codes of the values of its `identify` fields), the fields each
    from an expression, and how Observations add the fields it does not carry: `partOf`
    (Observation.partOf points at the resource) or `result` (the resource lists them)."""

    resource: str
    codes: str
    identify: tuple[str, ...]
    fields: dict[str, str]
    parts: str = "partOf"
    status: str = "status"


RECORD_SOURCES: dict[str, tuple[RecordSource, ...]] = {
    "therapy": (
        RecordSource(
            "Procedure",
            codes="code.coding",
            identify=("kind",),
            fields={"kind": "code.coding", "start": PERFORMED_START, "end": PERFORMED_END},
        ),
        RecordSource(
            "MedicationStatement",
            codes="medication.ofType(CodeableConcept).coding | category.coding",
            identify=("kind",),
            fields={
                "kind": "medication.ofType(CodeableConcept).coding | category.coding",
                "start": "effective.ofType(dateTime) | effective.ofType(Period).start",
                "end": "effective.ofType(Period).end",
            },
        ),
        RecordSource(
            "MedicationRequest",
            codes="medication.ofType(CodeableConcept).coding | category.coding",
            identify=("kind",),
            fields={
                "kind": "medication.ofType(CodeableConcept).coding | category.coding",
                "start": "dispenseRequest.validityPeriod.start | authoredOn",
                "end": "dispenseRequest.validityPeriod.end",
            },
        ),
    ),
    "injection": (
        RecordSource(
            "Procedure",
            codes="code.coding",
            identify=(),
            fields={
                "date": PERFORMED_START,
                "site": "code.coding | bodySite.coding",
                "image_guided": "code.coding",
                "side": "bodySite.coding",
            },
        ),
    ),
    "imaging": (
        RecordSource(
            "DiagnosticReport",
            codes="code.coding",
            identify=(),
            fields={
                "date": "effective.ofType(dateTime) | effective.ofType(Period).start",
                "modality": "code.coding",
                "region": "code.coding",
                "findings": "conclusionCode.coding",
            },
            parts="result",
        ),
        RecordSource(
            "ImagingStudy",
            codes="procedureCode.coding | modality",
            identify=("modality",),
            fields={
                "date": "started",
                "modality": "procedureCode.coding | modality | series.modality",
                "region": "procedureCode.coding | series.bodySite",
                "side": "series.laterality",
            },
            status="status",
        ),
    ),
    "surgery": (
        RecordSource(
            "Procedure",
            codes="code.coding",
            identify=("procedure",),
            fields={
                "date": PERFORMED_START,
                "procedure": "code.coding",
                "outcome": "outcome.coding",
                "side": "bodySite.coding",
            },
        ),
    ),
}

# A DiagnosticReport that names ImagingStudy resources takes the fields it lacks from them.
IMAGING_STUDY_OF_REPORT = "imagingStudy.reference"


@dataclass(frozen=True)
class RequestSource:
    """The resource that carries the request: its items, and per request field the expression
    on an item (or on the resource, for the date)."""

    resource: str
    items: str
    fields: dict[str, str] = field(default_factory=dict)
    date: str = ""


REQUEST_SOURCES: dict[str, RequestSource] = {
    "Claim": RequestSource(
        "Claim",
        items="item",
        fields={
            "service": "productOrServiceCode.coding",
            "cpt_code": "productOrServiceCode.coding",
            "side": "modifier.coding",
        },
        date="created",
    ),
    "ServiceRequest": RequestSource(
        "ServiceRequest",
        items="%resource",
        fields={"service": "code.coding", "cpt_code": "code.coding", "side": "bodySite.coding"},
        date="authoredOn",
    ),
}

# Positive and negative as SNOMED CT names them, for a finding read from an Observation coded
# by its value (a provocative test).
SNOMED_POSITIVE = "10828004"
SNOMED_NEGATIVE = "260385009"

# The unit a vocabulary item states, and the UCUM codes that write it.
UCUM_UNITS: dict[str, tuple[str, ...]] = {
    "months": ("mo",),
    "weeks": ("wk",),
    "points": ("{score}", "1", "{points}"),
    "%": ("%",),
    "kg/m2": ("kg/m2",),
}

# Resources that only structure the exchange: listed in the notice, never an error.
STRUCTURAL = ("Organization", "Practitioner", "PractitionerRole", "Encounter", "Location")

__all__ = [
    "FINDING_SOURCES",
    "RECORD_SOURCES",
    "REQUEST_SOURCES",
    "UCUM_UNITS",
    "FindingSource",
    "RecordSource",
    "RequestSource",
]


# ------------------------------------------------------------------ the table docs/fhir.md prints
def _codes_text(codes: tuple, value: str | None = "*") -> str:
    from ..core import codings

    names = {v: k for k, v in codings.SYSTEMS.items()}
    shown = [
        f"{names.get(c.system, c.system)} {c.code}" + (f" ({c.value})" if c.value else "")
        for c in codes
        if value == "*" or c.value == value
    ]
    return ", ".join(shown)


def _expr(expression: str) -> str:
    """A FHIRPath expression in a Markdown table cell (its union bar escaped)."""
    return "`" + expression.replace("|", "\\|") + "`"


def mapping_table(vocabulary: Any) -> str:
    """The Markdown table of what is read where: a row per vocabulary item with standard codes
    or an expression of its own. Every other item is read by its project code alone (a finding
    or request field from an Observation, a record field from an Observation part of the
    record) or from an answer, as docs/fhir.md says once for all."""
    rows = ["| item | codes (besides its own project code) | read from |", "|---|---|---|"]
    claim = REQUEST_SOURCES["Claim"]
    order = REQUEST_SOURCES["ServiceRequest"]
    for fact in vocabulary.request_fields:
        if fact.name in claim.fields:
            where = (
                f"Claim {_expr('item.' + claim.fields[fact.name])}; ServiceRequest "
                f"{_expr(order.fields[fact.name])}"
            )
        elif fact.name == "date":
            where = f"Claim `{claim.date}`; ServiceRequest `{order.date}`"
        else:
            continue
        rows.append(f"| `request.{fact.name}` | {_codes_text(fact.codes) or '-'} | {where} |")
    for fact in vocabulary.findings:
        if not fact.codes:
            continue
        if fact.type.kind == "bool":
            where = "Condition `code.coding` (`verificationStatus`); Observation `code.coding` (`value`)"
        else:
            where = "Observation `code.coding` (`value`, its UCUM unit checked)"
        rows.append(f"| `{fact.name}` | {_codes_text(fact.codes) or '-'} | {where}; an answer |")
    for kind_name, sources in RECORD_SOURCES.items():
        # The fields the expressions read, then the vocabulary's coded fields: the table does
        # not change with a vocabulary's uncoded fields.
        kind = vocabulary.record(kind_name)
        if kind is None:
            continue
        where = "; ".join(f"{s.resource} {_expr(s.codes)}" for s in sources)
        rows.append(
            f"| record `{kind_name}` | {_codes_text(kind.codes) or '-'} | {where}; a group of "
            "answers |"
        )
        names = list(dict.fromkeys(n for s in sources for n in s.fields))
        names += [f.name for f in kind.fields if f.codes and f.name not in names]
        for name in names:
            field_def = kind.field(name)
            codes = _codes_text(field_def.codes) if field_def is not None else ""
            paths = [f"{s.resource} {_expr(s.fields[name])}" for s in sources if name in s.fields]
            where = "; ".join(paths) or "an Observation part of the record"
            rows.append(f"| `{kind_name}.{name}` | {codes or '-'} | {where} |")
    return "\n".join(rows) + "\n"
