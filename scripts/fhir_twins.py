"""Write the FHIR twin of each example case: a PAS request Bundle (examples/fhir/<id>.json).

    python scripts/fhir_twins.py            # write them
    python scripts/fhir_twins.py --check    # exit 1 when one is out of date

Each twin documents what its YAML case documents the way an EHR would send it: the Claim first
(the procedure by CPT with its side modifier), coded facts as Conditions and Observations,
records as Procedures, MedicationStatements, DiagnosticReports and ImagingStudies with the
details they do not carry as Observations that are part of them, and what no standard code
names as answers to sijfasp's own questionnaire. Written from the FHIR R4 and Da Vinci PAS
specifications; tests/test_fhir_examples.py checks that each twin gives its YAML twin's results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sijfasp.core import codings  # noqa: E402
from sijfasp.language.semantics import FactDef, Vocabulary  # noqa: E402
from sijfasp.policies.loading import load_vocabulary  # noqa: E402

CASES = REPO / "examples" / "cases"
OUT = REPO / "examples" / "fhir"
P = codings.PROJECT_SYSTEM
PAS_INFO = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASSupportingInfoType"
QUESTIONNAIRE = f"{codings.CANONICAL_BASE}/Questionnaire/sij-fusion-documentation"
UCUM_OF = {"months": "mo", "weeks": "wk", "points": "{score}", "%": "%", "kg/m2": "kg/m2"}
# The CPT code that names a modality and a region at once (the others name the modality only).
IMAGING_CPT = {
    ("xray", "sij"): "72200",
    ("xray", "pelvis"): "72170",
    ("xray", "hip"): "73502",
    ("xray", "lumbar_spine"): "72100",
    ("ct", "lumbar_spine"): "72131",
    ("mri", "lumbar_spine"): "72148",
    ("ct", "sij"): "72192",
    ("ct", "pelvis"): "72192",
    ("mri", "sij"): "72195",
    ("mri", "pelvis"): "72195",
}
REGION_NAMED = {("xray", "sij"), ("xray", "pelvis"), ("xray", "hip"), ("xray", "lumbar_spine"),
                ("ct", "lumbar_spine"), ("mri", "lumbar_spine")}  # fmt: skip
LATERALITY = {"left": "7771000", "right": "24028007", "bilateral": "51440002"}
MODIFIER = {
    "left": (codings.HCPCS, "LT"),
    "right": (codings.HCPCS, "RT"),
    "bilateral": (codings.CPT, "50"),
}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def project(*parts: str) -> dict[str, Any]:
    return coding(P, codings.project_code(*parts))


def text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def number(value: Any) -> int | float:
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


class Twin:
    def __init__(self, case: dict[str, Any], vocabulary: Vocabulary):
        self.case = case
        self.vocabulary = vocabulary
        self.entries: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.count: dict[str, int] = {}
        self.date = text(case["request"]["date"])

    def new_id(self, stem: str) -> str:
        self.count[stem] = self.count.get(stem, 0) + 1
        return f"{stem}-{self.count[stem]}"

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.entries.append(
            {"fullUrl": f"urn:uuid:{self.case['id']}-{resource['id']}", "resource": resource}
        )
        return resource

    def ref(self, resource: dict[str, Any]) -> dict[str, str]:
        return {"reference": f"{resource['resourceType']}/{resource['id']}"}

    # -------------------------------------------------------------- facts
    def standard(self, fact: FactDef) -> dict[str, Any] | None:
        own = [c for c in fact.codes if c.value is None and c.system != P]
        return coding(own[0].system, own[0].code, own[0].display) if own else None

    def shared(self, code: Any) -> bool:
        named = [
            f.name
            for f in self.vocabulary.findings
            if any((c.system, c.code) == (code.system, code.code) for c in f.codes)
        ]
        return len(named) > 1

    def finding(self, name: str, value: Any) -> None:
        fact = self.vocabulary.fact("finding", name)
        assert fact is not None, name
        code = self.standard(fact)
        # A code of one kind of the finding that no other finding names too (sepsis is a kind
        # of two findings: it would document both).
        partial = [c for c in fact.codes if c.value == "true" and not self.shared(c)]
        if fact.type.kind == "bool" and code is None and partial and value is True:
            c = partial[0]
            self.add(self.condition(coding(c.system, c.code, c.display), True))
            return
        if fact.type.kind == "bool" and code is not None and code["system"] == codings.ICD10CM:
            self.add(self.condition(code, value))
            return
        if code is None:
            self.answer(name, fact, value)
            return
        observation = {
            "resourceType": "Observation",
            "id": self.new_id(name.replace("_", "-")),
            "status": "final",
            "code": {"coding": [code]},
            "subject": {"reference": "Patient/patient-1"},
            "effectiveDateTime": self.date,
        }
        if fact.type.kind == "number":
            unit = UCUM_OF[fact.unit or "points"]
            observation["valueQuantity"] = {
                "value": number(value),
                "unit": unit,
                "system": codings.UCUM,
                "code": unit,
            }
        else:
            answer = next(c for c in fact.codes if c.value == ("true" if value else "false"))
            observation["valueCodeableConcept"] = {
                "coding": [coding(answer.system, answer.code, answer.display)]
            }
        self.add(observation)

    def condition(self, code: dict[str, Any], present: bool) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "id": self.new_id("condition"),
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed" if present else "refuted",
                    }
                ]
            },
            "code": {"coding": [code]},
            "subject": {"reference": "Patient/patient-1"},
            "recordedDate": self.date,
        }

    def answer(self, key: str, fact: Any, value: Any) -> None:
        if fact.type.kind == "bool":
            answer: dict[str, Any] = {"valueBoolean": value}
        elif fact.type.kind == "number":
            answer = {"valueDecimal": number(value)}
        elif fact.type.kind == "date":
            answer = {"valueDate": text(value)}
        else:
            answer = {"valueCoding": project(key, str(value))}
        self.answers.append({"linkId": key, "answer": [answer]})

    # -------------------------------------------------------------- records
    def part(self, of: dict[str, Any], kind: str, name: str, value: Any) -> None:
        """An Observation that is part of a record's resource and gives one of its fields."""
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.new_id(f"{of['id']}-{name.replace('_', '-')}"),
            "status": "final",
            "partOf": [self.ref(of)],
            "code": {"coding": [project(kind, name)]},
            "subject": {"reference": "Patient/patient-1"},
        }
        if isinstance(value, bool):
            observation["valueBoolean"] = value
        elif isinstance(value, (int, float, Decimal)):
            observation["valueQuantity"] = {
                "value": number(value),
                "unit": "%",
                "system": codings.UCUM,
                "code": "%",
            }
        else:
            observation["valueCodeableConcept"] = {"coding": [project(kind, name, str(value))]}
        self.add(observation)

    def therapy(self, record: dict[str, Any]) -> None:
        kind = record["kind"]
        period = {"start": text(record["start"])}
        if record.get("end") is not None:
            period["end"] = text(record["end"])
        if kind == "nsaid_or_analgesic":
            resource: dict[str, Any] = {
                "resourceType": "MedicationStatement",
                "id": self.new_id("medication"),
                "status": "active" if "end" not in period else "completed",
                "category": {"coding": [project("therapy", "kind", kind)]},
                "medicationCodeableConcept": {"text": "NSAID or analgesic"},
                "subject": {"reference": "Patient/patient-1"},
                "effectivePeriod": period,
            }
        else:
            code = (
                coding(codings.SNOMED, "91251008", "Physical therapy procedure")
                if kind == "physical_therapy"
                else project("therapy", "kind", kind)
            )
            resource = {
                "resourceType": "Procedure",
                "id": self.new_id("therapy"),
                "status": "completed" if "end" in period else "in-progress",
                "code": {"coding": [code]},
                "subject": {"reference": "Patient/patient-1"},
                "performedPeriod": period,
            }
        self.add(resource)
        for name, value in record.items():
            if name not in ("kind", "start", "end"):
                self.part(resource, "therapy", name, value)

    def injection(self, record: dict[str, Any]) -> None:
        implied = record.get("site") == "sij_intra_articular" and record.get("image_guided")
        code = (
            coding(codings.CPT, "27096")
            if implied
            else (
                coding(codings.HCPCS, "G0260")
                if record.get("site") == "sij_intra_articular"
                else project("injection")
            )
        )
        body: list[dict[str, Any]] = []
        if record.get("site") == "sij_intra_articular":
            body.append(coding(codings.SNOMED, "39723000", "Sacroiliac joint structure"))
        if record.get("side"):
            body.append(coding(codings.SNOMED, LATERALITY[record["side"]]))
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self.new_id("injection"),
            "status": "completed",
            "code": {"coding": [code]},
            "subject": {"reference": "Patient/patient-1"},
            "performedDateTime": text(record["date"]),
        }
        if body:
            resource["bodySite"] = [{"coding": body}]
        self.add(resource)
        for name, value in record.items():
            if name in ("date", "side") or (name == "site" and value == "sij_intra_articular"):
                continue
            if name == "image_guided" and implied:
                continue
            self.part(resource, "injection", name, value)

    def imaging(self, record: dict[str, Any]) -> None:
        modality, region = record["modality"], record["region"]
        # CT or MRI of a region no code names: the pelvis code, the region from the study.
        cpt = IMAGING_CPT.get((modality, region)) or {"ct": "72192", "mri": "72195"}[modality]
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "id": self.new_id("imaging"),
            "status": "final",
            "code": {"coding": [coding(codings.CPT, cpt)]},
            "subject": {"reference": "Patient/patient-1"},
            "effectiveDateTime": text(record["date"]),
            "conclusionCode": [
                {"coding": [project("imaging", "findings", f)]} for f in record["findings"]
            ],
        }
        needs_study = (modality, region) not in REGION_NAMED or record.get("side")
        if needs_study:
            series: dict[str, Any] = {
                "uid": f"2.25.{zlib.crc32((self.case['id'] + report['id']).encode())}",
                "modality": coding(
                    codings.DICOM, {"xray": "DX", "ct": "CT", "mri": "MR"}[modality]
                ),
            }
            if (modality, region) not in REGION_NAMED:
                series["bodySite"] = (
                    coding(codings.SNOMED, "39723000", "Sacroiliac joint structure")
                    if region == "sij"
                    else project("imaging", "region", region)
                )
            if record.get("side"):
                series["laterality"] = coding(codings.SNOMED, LATERALITY[record["side"]])
            study = {
                "resourceType": "ImagingStudy",
                "id": self.new_id("study"),
                "status": "available",
                "subject": {"reference": "Patient/patient-1"},
                "started": text(record["date"]),
                "series": [series],
            }
            self.add(study)
            report["imagingStudy"] = [self.ref(study)]
        self.add(report)

    def surgery(self, record: dict[str, Any]) -> None:
        procedure = record["procedure"]
        field = self.vocabulary.record("surgery").field("procedure")  # type: ignore[union-attr]
        standard = [c for c in field.codes if c.value == procedure]  # type: ignore[union-attr]
        code = (
            coding(standard[0].system, standard[0].code)
            if standard
            else project("surgery", "procedure", procedure)
        )
        outcome = {"successful": "385669000", "failed": "385671000"}[record["outcome"]]
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self.new_id("surgery"),
            "status": "completed",
            "code": {"coding": [code]},
            "subject": {"reference": "Patient/patient-1"},
            "performedDateTime": text(record["date"]),
            "outcome": {"coding": [coding(codings.SNOMED, outcome)]},
        }
        if record.get("side"):
            # The joint operated on, by the side field's own code (no laterality code of it
            # is in the vocabulary).
            resource["bodySite"] = [{"coding": [project("surgery", "side", record["side"])]}]
        self.add(resource)

    # -------------------------------------------------------------- the bundle
    def bundle(self) -> dict[str, Any]:
        case = self.case
        request = case["request"]
        for name, value in (case.get("findings") or {}).items():
            self.finding(name, value)
        for name in ("approach", "fixation", "open_fusion_reason"):
            if request.get(name) is not None:
                fact = self.vocabulary.fact("request", name)
                self.answer(f"request.{name}", fact, request[name])
        for kind, records in (case.get("records") or {}).items():
            for record in records:
                getattr(self, kind)(record)
        if self.answers:
            self.add(
                {
                    "resourceType": "QuestionnaireResponse",
                    "id": "answers-1",
                    "questionnaire": QUESTIONNAIRE,
                    "status": "completed",
                    "subject": {"reference": "Patient/patient-1"},
                    "authored": self.date,
                    "item": self.answers,
                }
            )
        item = self.claim_item(request)
        claim = {
            "resourceType": "Claim",
            "id": case["id"].replace("_", "-"),
            "identifier": [{"system": "urn:example:provider-requests", "value": case["id"]}],
            "status": "active",
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                        "code": "professional",
                    }
                ]
            },
            "use": "preauthorization",
            "patient": {"reference": "Patient/patient-1"},
            "created": self.date,
            "insurer": {"reference": "Organization/payer-1"},
            "provider": {"reference": "Practitioner/surgeon-1"},
            "priority": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                        "code": "normal",
                    }
                ]
            },
            "supportingInfo": [
                {
                    "sequence": index + 1,
                    "category": {"coding": [coding(PAS_INFO, "additionalInformation")]},
                    "valueReference": {
                        "reference": f"{e['resource']['resourceType']}/{e['resource']['id']}"
                    },
                }
                for index, e in enumerate(self.entries)
            ],
            "insurance": [
                {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/coverage-1"}}
            ],
            "item": [item],
        }
        people = [
            {
                "resourceType": "Patient",
                "id": "patient-1",
                "name": [{"family": "Example", "given": ["Pat"]}],
                "birthDate": "1970-01-01",
            },
            {
                "resourceType": "Coverage",
                "id": "coverage-1",
                "status": "active",
                "subscriberId": "M-0001",
                "beneficiary": {"reference": "Patient/patient-1"},
                "payor": [{"reference": "Organization/payer-1"}],
            },
            {"resourceType": "Organization", "id": "payer-1", "name": "Example Health Plan"},
            {"resourceType": "Practitioner", "id": "surgeon-1", "name": [{"family": "Surgeon"}]},
        ]
        entries = [{"fullUrl": f"urn:uuid:{case['id']}-claim", "resource": claim}]
        entries += [{"fullUrl": f"urn:uuid:{case['id']}-{p['id']}", "resource": p} for p in people]
        return {
            "resourceType": "Bundle",
            "id": case["id"].replace("_", "-"),
            "type": "collection",
            "timestamp": f"{self.date}T09:00:00Z",
            "entry": entries + self.entries,
        }

    def claim_item(self, request: dict[str, Any]) -> dict[str, Any]:
        service = request["service"]
        concept: list[dict[str, Any]] = []
        cpt = str(request.get("cpt_code") or "")
        if not cpt:
            cpt = {"percutaneous_sij_fusion": "27279", "open_sij_fusion": "27280"}.get(service, "")
        if cpt:
            concept.append(coding(codings.CPT, cpt))
        if service == "revision_sij_fusion" or not cpt:
            concept.append(project("request", "service", service))
        item: dict[str, Any] = {
            "sequence": 1,
            "productOrServiceCode": {"coding": concept},
            "servicedDate": self.date,
        }
        if request.get("side"):
            system, code = MODIFIER[request["side"]]
            item["modifier"] = [{"coding": [coding(system, code)]}]
        return item


# The examples that also come as a CDS Hooks order-sign request (CRD), the order drafted.
HOOKED = ("approvable", "two_tests_undocumented")


def hook(bundle: dict[str, Any]) -> dict[str, Any]:
    """The CDS Hooks order-sign request of a twin: its Claim becomes the drafted
    ServiceRequest, the rest of the Bundle the prefetch (patient, coverage, documentation)."""
    resources = [e["resource"] for e in bundle["entry"]]
    claim = resources[0]
    item = claim["item"][0]
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"{claim['id']}-order",
        "status": "draft",
        "intent": "order",
        "code": item["productOrServiceCode"],
        "subject": {"reference": "Patient/patient-1"},
        "authoredOn": claim["created"],
    }
    side = {"LT": "7771000", "RT": "24028007", "50": "51440002"}
    for modifier in item.get("modifier", []):
        code = modifier["coding"][0]["code"]
        order["bodySite"] = [{"coding": [coding(codings.SNOMED, side[code])]}]
    documentation = [
        r
        for r in resources[1:]
        if r["resourceType"] not in ("Patient", "Coverage", "Organization", "Practitioner")
    ]
    return {
        "hook": "order-sign",
        "hookInstance": f"{claim['id']}-order-sign-1",
        "context": {
            "userId": "Practitioner/surgeon-1",
            "patientId": "patient-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
        },
        "prefetch": {
            "patient": next(r for r in resources if r["resourceType"] == "Patient"),
            "coverage": next(r for r in resources if r["resourceType"] == "Coverage"),
            "documentation": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in documentation],
            },
        },
    }


def twin(path: Path, vocabulary: Vocabulary) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Twin(case, vocabulary).bundle()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    vocabulary = load_vocabulary(REPO / "policies_asp" / "vocabulary.sijv")
    OUT.mkdir(exist_ok=True)
    stale = []
    (OUT / "hooks").mkdir(exist_ok=True)
    for path in sorted(CASES.glob("*.yaml")):
        bundle = twin(path, vocabulary)
        written = [(OUT / f"{path.stem}.json", bundle)]
        if path.stem in HOOKED:
            written.append((OUT / "hooks" / f"{path.stem}.order-sign.json", hook(bundle)))
        for target, data in written:
            text = json.dumps(data, indent=2) + "\n"
            if args.check:
                if not target.exists() or target.read_text(encoding="utf-8") != text:
                    stale.append(target.name)
                continue
            target.write_text(text, encoding="utf-8")
    if stale:
        print("out of date: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
