"""The request from FHIR: the Claim (or the order of a CDS Hooks request) and its items (the
service, its procedure code and side), the patient and the coverage for the letter's header.
"""

from __future__ import annotations

from typing import Any

from ..core import codings
from . import mapping
from .read_resources import (
    Fact,
    Resource,
    ResourceReader,
    describe,
    evaluate,
    matching,
    value_codings,
)


class RequestReading(ResourceReader):
    """Reads the Claim and its items, the patient and the coverage."""

    def request_items(self, resource: Resource, items: list[tuple[dict[str, Any], str]]) -> None:
        """The service, code and side of the request from a Claim's items or service
        requests; the request date from the resource."""
        source = mapping.REQUEST_SOURCES[resource.type]
        service = self.vocabulary.fact("request", "service")
        assert service is not None
        read_any = False
        sides: set[str] = set()
        for item, path in items:
            found = evaluate(item, source.fields["service"], path)
            if not found:
                raise self.fail(
                    f"{path}.{source.fields['service'].split('.')[0]}",
                    "the item has no procedure code",
                )
            listed = value_codings("request.service", service.type.values, service.codes)
            matched = matching(found, listed)
            own = [c for c in matched if c.system == codings.PROJECT_SYSTEM]
            chosen = {c.value for c in (own or matched)}
            if not chosen:
                shown = ", ".join(
                    describe(str(c.get("system")), str(c.get("code")))
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
            self.put("request.service", Fact(chosen.pop(), resource.ref, path))
            code_field = self.vocabulary.fact("request", "cpt_code")
            if code_field is not None:
                codes = {
                    c.value
                    for c in matching(
                        evaluate(item, source.fields["cpt_code"], path),
                        value_codings("request.cpt_code", code_field.type.values, code_field.codes),
                    )
                    if c.system != codings.PROJECT_SYSTEM
                }
                for code in codes:
                    self.put("request.cpt_code", Fact(code, resource.ref, path))
            side = self.vocabulary.fact("request", "side")
            if side is not None:
                listed = value_codings("request.side", side.type.values, side.codes)
                sides |= {
                    str(c.value)
                    for c in matching(evaluate(item, source.fields["side"], path), listed)
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
            self.put("request.side", Fact(value, resource.ref, resource.path))
        dates = evaluate(resource.data, source.date, resource.path)
        if not dates:
            raise self.fail(
                f"{resource.path}.{source.date}",
                f"{resource.ref} has no {source.date}: the request date",
            )
        when = self.date(dates[0], f"{resource.path}.{source.date}")
        self.put("request.date", Fact(when, resource.ref, resource.path))
        resource.used = True

    def claim(self, resource: Resource) -> None:
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
            named = f"{resource.ref} diagnosis {index + 1}"
            self.findings_of(Resource(synthetic, path, name=named))
            if (len(self.facts), sum(len(v) for v in self.facts.values())) == before:
                self.unread[f"Claim diagnosis {self.codes_text(concept)}"] += 1
        identifiers = data.get("identifier") or []
        if identifiers and isinstance(identifiers[0], dict):
            value = identifiers[0].get("value")
            if isinstance(value, str):
                self.details["reference_id"] = value
        if isinstance(data.get("id"), str):
            self.case_id = data["id"]

    def patient(self, resource: Resource) -> None:
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

    def coverage(self, resource: Resource) -> None:
        resource.used = True
        member = resource.data.get("subscriberId")
        if isinstance(member, str):
            self.details["member_id"] = member
        # The payer is not read: sijfasp chooses policies by its own payer ids, which a
        # Coverage does not carry.
        self.notices.append(f"read for the member id only: {resource.ref}")
