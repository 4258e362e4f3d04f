"""Records from FHIR: a resource `mapping.py` names for a record kind (a Procedure, a
medication statement or request, an ImagingStudy or DiagnosticReport) read as a record of the
vocabulary when its codes match, its fields from the resource's elements and the parts it
references.
"""

from __future__ import annotations

from typing import Any

from ..language.semantics import FieldDef, RecordKind
from . import mapping
from .read_resources import (
    CONTRADICTION_HINT,
    Resource,
    ResourceReader,
    element_path,
    evaluate,
    item_codings,
    matching,
    value_codings,
    values_of,
    void,
)


class RecordReading(ResourceReader):
    """Reads the resources that are records of the vocabulary."""

    def record_of(self, resource: Resource) -> None:
        for kind_name, sources in mapping.RECORD_SOURCES.items():
            kind = self.vocabulary.record(kind_name)
            if kind is None:
                continue
            for source in sources:
                if source.resource != resource.type:
                    continue
                found = evaluate(resource.data, source.codes, resource.path)
                listed = item_codings(kind.name, kind.codes)
                for name in source.identify:
                    field_def = kind.field(name)
                    if field_def is not None:
                        listed += value_codings(
                            f"{kind.name}.{name}", field_def.type.values, field_def.codes
                        )
                if matching(found, listed):
                    self.read_record(kind, source, resource)
                    return

    def read_record(
        self, kind: RecordKind, source: mapping.RecordSource, resource: Resource
    ) -> None:
        resource.used = True
        status = evaluate(resource.data, source.status, resource.path)
        if void(status):
            self.notices.append(f"ignored: {resource.ref} is marked {status[0]}")
            return
        values: dict[str, Any] = {}
        field_sources: dict[str, str] = {}
        self.record_fields(kind, source, resource, values, field_sources)
        if resource.type == "DiagnosticReport":
            for reference in evaluate(
                resource.data, mapping.IMAGING_STUDY_OF_REPORT, resource.path
            ):
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
        resource: Resource,
        values: dict[str, Any],
        field_sources: dict[str, str],
    ) -> None:
        for name, expression in source.fields.items():
            field_def = kind.field(name)
            if field_def is None:
                continue
            found = evaluate(resource.data, expression, resource.path)
            if not found:
                continue
            where = element_path(resource.data, resource.path, expression)
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
        listed = value_codings(key, values_of(type_kind, field_def.type.values), field_def.codes)
        values = list(dict.fromkeys(c.value for c in matching(found, listed)))
        if not values:
            return None
        if type_kind == "set":
            return values
        if len(values) > 1:
            raise self.fail(
                where, f"the codes name several values of {key}: {', '.join(map(str, values))}"
            )
        return (values[0] == "true") if type_kind == "bool" else values[0]

    def parts_of(self, resource: Resource, how: str) -> list[Resource]:
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
        part: Resource,
        values: dict[str, Any],
        field_sources: dict[str, str],
    ) -> None:
        found = evaluate(part.data, "code.coding", part.path)
        for field_def in kind.fields:
            key = f"{kind.name}.{field_def.name}"
            if not matching(found, item_codings(key, field_def.codes)):
                continue
            part.used = True
            where = element_path(part.data, part.path, "value")
            value = self.fact_value(
                field_def, key, evaluate(part.data, "value", part.path), part, where
            )
            if value is None:
                continue
            if field_def.name in values and values[field_def.name] != value:
                other = field_sources[field_def.name]
                there = f" (at {self.by_ref[other].path})" if other in self.by_ref else ""
                raise self.fail(
                    where,
                    f"{part.ref} (at {part.path}) says {key} is {value} and {other}{there} "
                    f"says {values[field_def.name]}: the two contradict each other",
                    CONTRADICTION_HINT,
                )
            values[field_def.name] = value
            field_sources[field_def.name] = part.ref
