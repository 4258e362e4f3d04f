"""FHIR R4 in: what the reader makes of PAS request Bundles, CDS Hooks requests and
QuestionnaireResponses, and the one clear message bad input gets."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from support import REPO_ROOT

from sijfasp.core import codings
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.fhir.read import FhirCase, merge_answers, read_fhir
from sijfasp.policies.loading import load_vocabulary

pytest.importorskip("fhirpathpy")

VOCABULARY = load_vocabulary(REPO_ROOT / "policies_asp" / "vocabulary.sijv")
CONFIRMED = {"coding": [{"code": "confirmed"}]}
REFUTED = {"coding": [{"code": "refuted"}]}


def claim(*modifiers: str, code: str = "27279") -> dict[str, Any]:
    items = []
    for index, modifier in enumerate(modifiers or ("",)):
        item: dict[str, Any] = {
            "sequence": index + 1,
            "productOrServiceCode": {"coding": [{"system": codings.CPT, "code": code}]},
        }
        if modifier:
            system = codings.CPT if modifier == "50" else codings.HCPCS
            item["modifier"] = [{"coding": [{"system": system, "code": modifier}]}]
        items.append(item)
    return {
        "resourceType": "Claim",
        "id": "request-1",
        "use": "preauthorization",
        "status": "active",
        "created": "2026-07-15",
        "item": items,
    }


def bundle(*resources: dict[str, Any], first: dict[str, Any] | None = None) -> dict[str, Any]:
    entries = [first or claim("LT"), *resources]
    return {
        "resourceType": "Bundle",
        "id": "bundle-1",
        "type": "collection",
        "entry": [{"resource": copy.deepcopy(r)} for r in entries],
    }


def observation(ident: str, system: str, code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        **value,
    }


def condition(ident: str, code: str, status: dict[str, Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "resourceType": "Condition",
        "id": ident,
        "code": {"coding": [{"system": codings.ICD10CM, "code": code}]},
    }
    if status is not None:
        found["verificationStatus"] = status
    return found


def read(data: dict[str, Any]) -> FhirCase:
    return read_fhir(data, VOCABULARY, "request.json")


def error_of(data: Any) -> tuple[str, str]:
    with pytest.raises(SijfaspError) as caught:
        read(data)
    (diagnostic,) = caught.value.diagnostics
    return diagnostic.field_path or "", diagnostic.message + " | " + (diagnostic.hint or "")


VAS = observation(
    "vas-1",
    codings.LOINC,
    "72514-3",
    valueQuantity={"value": 7, "system": codings.UCUM, "code": "{score}"},
    effectiveDateTime="2026-07-01",
)


# ------------------------------------------------------------------ the request
def test_the_claim_gives_service_code_side_and_date():
    found = read(bundle())
    assert found.data["request"] == {
        "service": "percutaneous_sij_fusion",
        "cpt_code": "27279",
        "side": "left",
        "date": __import__("datetime").date(2026, 7, 15),
    }
    assert found.sources["request.service"] == ("Claim/request-1",)


@pytest.mark.parametrize(
    ("modifiers", "side"),
    [
        (("LT",), "left"),
        (("RT",), "right"),
        (("50",), "bilateral"),
        (("LT", "RT"), "bilateral"),
    ],
)
def test_modifiers_give_the_side(modifiers, side):
    assert read(bundle(first=claim(*modifiers))).data["request"]["side"] == side


def test_an_open_fusion_code_gives_the_open_service():
    assert read(bundle(first=claim(code="27280"))).data["request"]["service"] == "open_sij_fusion"


def test_a_project_coding_of_the_service_wins_over_the_cpt_code():
    first = claim("LT")
    first["item"][0]["productOrServiceCode"]["coding"].append(
        {"system": codings.PROJECT_SYSTEM, "code": "request.service.revision_sij_fusion"}
    )
    assert read(bundle(first=first)).data["request"]["service"] == "revision_sij_fusion"


# ------------------------------------------------------------------ findings
def test_an_observation_gives_a_number_with_its_source():
    found = read(bundle(VAS))
    assert found.data["findings"]["vas_score"] == Decimal(7)
    assert found.sources["vas_score"] == ("Observation/vas-1",)


@pytest.mark.parametrize(("status", "value"), [(CONFIRMED, True), (REFUTED, False)])
def test_a_condition_confirmed_or_refuted_is_true_or_false(status, value):
    found = read(bundle(condition("as-1", "M45.6", status)))
    assert found.data["findings"]["ankylosing_spondylitis"] is value


def test_a_condition_entered_in_error_is_ignored_with_a_notice():
    found = read(bundle(condition("as-1", "M45.6", {"coding": [{"code": "entered-in-error"}]})))
    assert "ankylosing_spondylitis" not in found.data["findings"]
    assert any("Condition/as-1 is marked entered-in-error" in n for n in found.notices)


def test_a_condition_without_verification_status_leaves_the_finding_not_documented():
    found = read(bundle(condition("as-1", "M45.6", None)))
    assert "ankylosing_spondylitis" not in found.data["findings"]
    assert any("without a verification status" in n for n in found.notices)


def test_a_refuted_code_of_one_kind_of_a_finding_does_not_make_it_false():
    # Fibromyalgia refuted does not rule out every generalized pain disorder.
    found = read(bundle(condition("fm-1", "M79.7", REFUTED)))
    assert "generalized_pain_disorder" not in found.data["findings"]
    assert any("one kind of generalized_pain_disorder" in n for n in found.notices)
    confirmed = read(bundle(condition("fm-1", "M79.7", CONFIRMED)))
    assert confirmed.data["findings"]["generalized_pain_disorder"] is True


def test_an_icd10cm_code_below_a_listed_category_is_read():
    found = read(bundle(condition("fx-1", "S32.111A", CONFIRMED)))
    assert found.data["findings"]["fracture"] is True


# Two Conditions contradict each other when one confirms and the other refutes the same
# finding: by codes of the finding itself, or by one kind's code (the same code, or a code under
# a refuted ICD-10-CM category) - docs/fhir.md, "Disagreement".
CONTRADICTING = [
    ("same kind's code", ("t1", "C41.4", CONFIRMED), ("t2", "C41.4", REFUTED), "tumor", "Condition/t1 (at entry[1].resource) confirms ICD-10-CM C41.4 and Condition/t2 (at entry[2].resource) refutes ICD-10-CM C41.4"),
    ("refuted first", ("t2", "C41.4", REFUTED), ("t1", "C41.4", CONFIRMED), "tumor", "Condition/t2 (at entry[1].resource) refutes ICD-10-CM C41.4 and Condition/t1 (at entry[2].resource) confirms ICD-10-CM C41.4"),
    ("code under a refuted category", ("fx-1", "S32.111A", CONFIRMED), ("fx-2", "S32.1", REFUTED), "fracture", "confirms ICD-10-CM S32.111A and Condition/fx-2 (at entry[2].resource) refutes ICD-10-CM S32.1"),
    ("the finding's own code", ("as-1", "M45.6", CONFIRMED), ("as-2", "M45.6", REFUTED), "ankylosing_spondylitis", "confirms ICD-10-CM M45.6 and Condition/as-2 (at entry[2].resource) refutes ICD-10-CM M45.6"),
]  # fmt: skip


def _condition(ident: str, code: str, status: dict[str, Any]) -> dict[str, Any]:
    if "." not in code and not code[1:].isdigit():  # a project code: the finding's name
        found = condition(ident, code, status)
        found["code"]["coding"][0]["system"] = codings.PROJECT_SYSTEM
        return found
    return condition(ident, code, status)


@pytest.mark.parametrize(
    ("first", "second", "finding", "words"),
    [c[1:] for c in CONTRADICTING],
    ids=[c[0] for c in CONTRADICTING],
)
def test_two_conditions_confirmed_and_refuted_are_one_error_naming_both(
    first, second, finding, words
):
    where, message = error_of(bundle(condition(*first), condition(*second)))
    assert where == "entry[2].resource"
    assert words in message
    assert message.count("Condition/") == 2
    assert f"contradict each other on {finding}" in message


def test_a_condition_of_one_kind_confirmed_and_the_finding_refuted_contradict():
    refuted = _condition("t2", "tumor", REFUTED)
    where, message = error_of(bundle(condition("t1", "C41.4", CONFIRMED), refuted))
    assert where == "entry[2].resource"
    assert "confirms ICD-10-CM C41.4 and Condition/t2 (at entry[2].resource) refutes" in message


def test_their_dates_do_not_settle_a_confirmed_and_a_refuted_condition():
    # Onset and recording dates say when a condition began or was written down, not which of
    # two assessments stands: a later refuted Condition does not override a confirmed one.
    older = condition("as-1", "M45.6", CONFIRMED) | {"onsetDateTime": "2020-01-01"}
    newer = condition("as-2", "M45.6", REFUTED) | {"recordedDate": "2026-01-01"}
    where, message = error_of(bundle(older, newer))
    assert where == "entry[2].resource" and "contradict each other" in message


def test_a_claim_diagnosis_and_a_refuting_condition_contradict():
    first = claim("LT")
    first["diagnosis"] = [
        {
            "sequence": 1,
            "diagnosisCodeableConcept": {"coding": [{"system": codings.ICD10CM, "code": "C41.4"}]},
        }
    ]
    where, message = error_of(bundle(condition("t2", "C41.4", REFUTED), first=first))
    assert where == "entry[1].resource"
    assert (
        "Claim/request-1 diagnosis 1 (at entry[0].resource.diagnosis[0]) confirms ICD-10-CM "
        "C41.4 and Condition/t2 (at entry[1].resource) refutes ICD-10-CM C41.4" in message
    )


def test_a_narrow_finding_confirmed_and_the_finding_it_implies_refuted_contradict():
    # The vocabulary's `finding sacral_tumor_present implies tumor`.
    narrow = _condition("st-1", "sacral_tumor_present", CONFIRMED)
    where, message = error_of(bundle(narrow, _condition("t-1", "tumor", REFUTED)))
    assert where == "entry[2].resource"
    assert "Condition/st-1 (at entry[1].resource) confirms sijfasp sacral_tumor_present" in message
    assert "which sacral_tumor_present implies" in message


NOT_CONTRADICTING = [
    # A refuted kind beside a confirmed other kind: the finding is true.
    ("other kind confirmed", ("ra-1", "M05", REFUTED), ("ra-2", "M06.9", CONFIRMED), "rheumatoid_arthritis", True),
    # A refuted kind beside the finding confirmed by its own code: another kind.
    ("finding confirmed, a kind refuted", ("fm-1", "M79.7", REFUTED), ("gp-1", "generalized_pain_disorder", CONFIRMED), "generalized_pain_disorder", True),
    # A narrower code refuted beside its confirmed category: another code of the category.
    ("narrower code refuted", ("fx-1", "S32.1", CONFIRMED), ("fx-2", "S32.111A", REFUTED), "fracture", True),
    # Two codes of one category, one confirmed and one refuted: different fractures.
    ("sibling codes", ("fx-1", "S32.111A", CONFIRMED), ("fx-2", "S32.112A", REFUTED), "fracture", True),
    # Two kinds refuted: the finding stays not documented.
    ("two kinds refuted", ("ra-1", "M05", REFUTED), ("ra-2", "M06.9", REFUTED), "rheumatoid_arthritis", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "finding", "value"),
    [c[1:] for c in NOT_CONTRADICTING],
    ids=[c[0] for c in NOT_CONTRADICTING],
)
def test_a_refuted_kind_beside_another_confirmed_is_not_a_contradiction(
    first, second, finding, value
):
    found = read(bundle(_condition(*first), _condition(*second)))
    assert found.data["findings"].get(finding) is value
    assert any("one kind of" in n and finding in n for n in found.notices)


def test_a_claim_diagnosis_is_read_as_confirmed():
    first = claim("LT")
    first["diagnosis"] = [
        {
            "sequence": 1,
            "diagnosisCodeableConcept": {"coding": [{"system": codings.ICD10CM, "code": "M79.7"}]},
        }
    ]
    found = read(bundle(first=first))
    assert found.data["findings"]["generalized_pain_disorder"] is True
    assert found.sources["generalized_pain_disorder"] == ("Claim/request-1 diagnosis 1",)


def test_a_coded_answer_gives_a_true_or_false_finding():
    pregnancy = observation(
        "preg-1",
        codings.LOINC,
        "82810-3",
        valueCodeableConcept={"coding": [{"system": codings.SNOMED, "code": "60001007"}]},
    )
    assert read(bundle(pregnancy)).data["findings"]["pregnant"] is False


def test_an_unknown_answer_leaves_the_finding_not_documented_with_a_notice():
    pregnancy = observation(
        "preg-1",
        codings.LOINC,
        "82810-3",
        valueCodeableConcept={"coding": [{"system": codings.SNOMED, "code": "261665006"}]},
    )
    found = read(bundle(pregnancy))
    assert "pregnant" not in found.data["findings"]
    assert any("SNOMED CT 261665006" in n for n in found.notices)


def test_a_provocative_test_by_its_project_code():
    test = observation(
        "faber-1",
        codings.PROJECT_SYSTEM,
        "faber_patrick_test",
        valueCodeableConcept={"coding": [{"system": codings.SNOMED, "code": "10828004"}]},
    )
    assert read(bundle(test)).data["findings"]["faber_patrick_test"] is True


def test_resources_not_read_are_counted_in_a_notice():
    pulse = [observation(f"hr-{n}", codings.LOINC, "8867-4", valueInteger=70) for n in range(3)]
    found = read(bundle(*pulse))
    assert any("3 Observation with LOINC 8867-4" in n for n in found.notices)


def test_an_undated_reading_that_disagrees_with_a_dated_one_is_an_error():
    undated = _without(VAS, "effectiveDateTime") | {"id": "vas-0"}
    undated["valueQuantity"] = {"value": 3, "system": codings.UCUM, "code": "{score}"}
    where, message = error_of(bundle(undated, VAS))
    assert where == "entry[2].resource"
    assert (
        "Observation/vas-0 (at entry[1].resource) says vas_score is 3 and Observation/vas-1 (at "
        "entry[2].resource) says vas_score is 7: the two contradict each other" in message
    )


def test_the_latest_of_two_readings_is_used_with_a_notice():
    older = copy.deepcopy(VAS)
    older.update(id="vas-0", effectiveDateTime="2026-01-01")
    older["valueQuantity"]["value"] = 3
    found = read(bundle(older, VAS))
    assert found.data["findings"]["vas_score"] == Decimal(7)
    assert any("latest reading is used, Observation/vas-1" in n for n in found.notices)
    assert found.sources["vas_score"] == ("Observation/vas-0", "Observation/vas-1")


# ------------------------------------------------------------------ records
def test_a_procedure_with_parts_gives_an_injection():
    injection = {
        "resourceType": "Procedure",
        "id": "inj-1",
        "status": "completed",
        "code": {"coding": [{"system": codings.CPT, "code": "27096"}]},
        "performedDateTime": "2026-04-01",
        "bodySite": [{"coding": [{"system": codings.SNOMED, "code": "7771000"}]}],
    }
    relief = observation(
        "relief-1",
        codings.PROJECT_SYSTEM,
        "injection.relief_percent",
        valueQuantity={"value": 80, "system": codings.UCUM, "code": "%"},
        partOf=[{"reference": "Procedure/inj-1"}],
    )
    found = read(bundle(injection, relief))
    (record,) = found.data["records"]["injection"]
    assert record["site"] == "sij_intra_articular"
    assert record["image_guided"] is True
    assert record["side"] == "left"
    assert record["relief_percent"] == Decimal(80)
    assert found.sources["records.injection[0]"] == ("Procedure/inj-1",)
    assert found.sources["records.injection[0].relief_percent"] == ("Observation/relief-1",)
    assert found.locate("records.injection[0].purpose") == ("entry[1].resource", "Procedure/inj-1")
    assert found.locate("records.injection[0].relief_percent") == (
        "entry[2].resource",
        "Observation/relief-1",
    )
    assert found.locate("records.imaging[0].date") is None


def test_a_problem_the_case_checks_find_is_pointed_at_the_resource_it_came_from():
    from support import AIM, loaded

    from sijfasp.core.limits import Limits
    from sijfasp.fhir.commands import read_case

    too_high = _with(VAS, {"value": 11, "system": codings.UCUM, "code": "{score}"}, "valueQuantity")
    with pytest.raises(SijfaspError) as caught:
        read_case(bundle(too_high), [loaded(AIM)], "request.json", Limits(), None, notify=False)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.field_path == "entry[1].resource"
    assert diagnostic.message.startswith("Observation/vas-1, read as findings.vas_score: 11 ")


def test_a_report_takes_the_modality_region_and_side_of_its_study():
    study = {
        "resourceType": "ImagingStudy",
        "id": "study-1",
        "status": "available",
        "started": "2026-01-20",
        "series": [
            {
                "uid": "2.25.1",
                "modality": {"system": codings.DICOM, "code": "CT"},
                "bodySite": {"system": codings.SNOMED, "code": "39723000"},
                "laterality": {"system": codings.SNOMED, "code": "24028007"},
            }
        ],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "ct-1",
        "status": "final",
        "code": {"coding": [{"system": codings.CPT, "code": "72192"}]},
        "effectiveDateTime": "2026-01-20",
        "imagingStudy": [{"reference": "ImagingStudy/study-1"}],
        "conclusionCode": [
            {
                "coding": [
                    {
                        "system": codings.PROJECT_SYSTEM,
                        "code": "imaging.findings.sij_injury_or_degeneration",
                    }
                ]
            }
        ],
    }
    found = read(bundle(study, report))
    (record,) = found.data["records"]["imaging"]
    assert (record["modality"], record["region"], record["side"]) == ("ct", "sij", "right")
    assert record["findings"] == ["sij_injury_or_degeneration"]


# ------------------------------------------------------------------ CDS Hooks
def hook_request(**context: Any) -> dict[str, Any]:
    order = {
        "resourceType": "ServiceRequest",
        "id": "order-1",
        "status": "draft",
        "intent": "order",
        "authoredOn": "2026-07-15",
        "code": {"coding": [{"system": codings.CPT, "code": "27279"}]},
        "bodySite": [{"coding": [{"system": codings.SNOMED, "code": "24028007"}]}],
    }
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/surgeon-1",
            "patientId": "patient-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
            **context,
        },
        "prefetch": {"vas": VAS},
    }


def test_an_order_sign_request_is_read_from_its_draft_order_and_prefetch():
    found = read(hook_request())
    assert found.data["request"]["service"] == "percutaneous_sij_fusion"
    assert found.data["request"]["side"] == "right"
    assert found.data["findings"]["vas_score"] == Decimal(7)
    assert found.data["id"] == "order-1"


# ------------------------------------------------------------------ answers
def answers(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "qr-1",
        "questionnaire": f"{codings.CANONICAL_BASE}/Questionnaire/aim_sijf_2022",
        "status": "completed",
        "item": list(items),
    }


def test_answers_merge_into_a_case_and_fill_a_documented_record():
    response = answers(
        {"linkId": "set", "answer": [{"valueCoding": {"code": "set.1"}}]},
        {"linkId": "odi_score", "answer": [{"valueDecimal": 44}]},
        {
            "linkId": "injection#1",
            "item": [
                {
                    "linkId": "injection#1.side",
                    "answer": [
                        {
                            "valueCoding": {
                                "system": codings.PROJECT_SYSTEM,
                                "code": "injection.side.left",
                            }
                        }
                    ],
                }
            ],
        },
        {
            "linkId": "imaging",
            "item": [
                {"linkId": "imaging.date", "answer": [{"valueDate": "2026-01-25"}]},
                {
                    "linkId": "imaging.modality",
                    "answer": [
                        {
                            "valueCoding": {
                                "system": codings.PROJECT_SYSTEM,
                                "code": "imaging.modality.mri",
                            }
                        }
                    ],
                },
            ],
        },
    )
    found = read(response)
    case = {
        "id": "c",
        "request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15"},
        "findings": {"vas_score": 7},
        "records": {"injection": [{"date": "2026-04-01"}]},
    }
    merged = merge_answers(case, found, "qr.json")
    assert merged["findings"] == {"vas_score": 7, "odi_score": Decimal(44)}
    assert merged["records"]["injection"][0]["side"] == "left"
    assert merged["records"]["imaging"][0]["modality"] == "mri"
    assert case["findings"] == {"vas_score": 7}  # the case itself is left as it was


def test_an_answer_that_contradicts_the_case_is_an_error():
    found = read(answers({"linkId": "vas_score", "answer": [{"valueDecimal": 3}]}))
    with pytest.raises(SijfaspError) as caught:
        merge_answers({"findings": {"vas_score": 7}}, found, "qr.json")
    assert "differs from the case" in caught.value.diagnostics[0].message


# ------------------------------------------------------------------ bad input
def _without(data: dict[str, Any], *path: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


def _with(data: dict[str, Any], value: Any, *path: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _nested(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    for _ in range(levels):
        inner = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": inner}]}
    return inner


GOOD = bundle(VAS)
INJECTION = {
    "resourceType": "Procedure",
    "id": "inj-1",
    "status": "completed",
    "code": {"coding": [{"system": codings.CPT, "code": "27096"}]},
    "performedDateTime": "2026-01-10",
}
RELIEF = observation(
    "inj-1-relief",
    codings.PROJECT_SYSTEM,
    "injection.relief_percent",
    partOf=[{"reference": "Procedure/inj-1"}],
    valueQuantity={"value": 80, "system": codings.UCUM, "code": "%"},
)
STATEMENT = {
    "resourceType": "MedicationStatement",
    "id": "med-1",
    "status": "active",
    "category": {
        "coding": [{"system": codings.PROJECT_SYSTEM, "code": "therapy.kind.nsaid_or_analgesic"}]
    },
}
STUDY = {
    "resourceType": "ImagingStudy",
    "id": "study-1",
    "status": "available",
    "started": "2026-01-20",
    "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
    "series": [
        {
            "uid": "1",
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
        },
        {
            "uid": "2",
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "laterality": {"system": codings.SNOMED, "code": "7771000"},
        },
        {
            "uid": "3",
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "laterality": {"system": codings.SNOMED, "code": "24028007"},
        },
    ],
}
MALFORMED = [
    ("patient", {"resourceType": "Patient", "id": "p"}, "resourceType", "not a case"),
    ("empty bundle", {"resourceType": "Bundle", "type": "collection"}, "entry", "empty"),
    ("entry not a list", _with(GOOD, {}, "entry"), "entry", "is a list"),
    ("entry without resource", _with(GOOD, [{"fullUrl": "x"}], "entry"), "entry[0]", "holds a resource"),
    ("resource not an object", _with(GOOD, "Claim", "entry", 0, "resource"), "entry[0].resource", "JSON object"),
    ("no resourceType", _without(GOOD, "entry", 1, "resource", "resourceType"), "entry[1].resource.resourceType", "resourceType"),
    ("id not a text", _with(GOOD, 7, "entry", 1, "resource", "id"), "entry[1].resource.id", "a text"),
    ("first entry not a claim", bundle(first=VAS), "entry[0].resource.resourceType", "first entry"),
    ("claim use", _with(GOOD, "claim", "entry", 0, "resource", "use"), "entry[0].resource.use", "preauthorization"),
    ("claim without items", _without(GOOD, "entry", 0, "resource", "item"), "entry[0].resource.item", "no item"),
    ("item without code", _without(GOOD, "entry", 0, "resource", "item", 0, "productOrServiceCode"), "entry[0].resource.item[0].productOrServiceCode", "no procedure code"),
    ("no fusion code", bundle(first=claim(code="20610")), "entry[0].resource.item", "no procedure sijfasp reads"),
    ("no created date", _without(GOOD, "entry", 0, "resource", "created"), "entry[0].resource.created", "request date"),
    ("created not a date", _with(GOOD, "15/07/2026", "entry", 0, "resource", "created"), "entry[0].resource.created", "not a date"),
    ("impossible date", _with(GOOD, "2026-02-30", "entry", 0, "resource", "created"), "entry[0].resource.created", "not a date"),
    ("wrong unit", _with(GOOD, "mm", "entry", 1, "resource", "valueQuantity", "code"), "entry[1].resource.valueQuantity.code", "not the item's unit"),
    ("unit system", _with(GOOD, "http://example.org/units", "entry", 1, "resource", "valueQuantity", "system"), "entry[1].resource.valueQuantity.system", "UCUM"),
    ("quantity without value", _with(GOOD, {"valueString": "seven"}, "entry", 1, "resource", "valueQuantity"), "entry[1].resource.valueQuantity.value", "the quantity has no value"),
    ("value not a number", _with(GOOD, "seven", "entry", 1, "resource", "valueQuantity", "value"), "entry[1].resource.valueQuantity.value", "'seven' is not a number"),
    ("integer value not a number", bundle(_without(VAS, "valueQuantity") | {"valueInteger": "7"}), "entry[1].resource.valueInteger", "'7' is not a number"),
    ("observation date", bundle(VAS | {"effectiveDateTime": "later"}), "entry[1].resource.effectiveDateTime", "'later' is not a date"),
    ("observation period start", bundle(_without(VAS, "effectiveDateTime") | {"effectivePeriod": {"start": "later"}}), "entry[1].resource.effectivePeriod.start", "'later' is not a date"),
    ("condition onset", bundle(condition("as-1", "M45.6", CONFIRMED) | {"onsetDateTime": "later"}), "entry[1].resource.onsetDateTime", "'later' is not a date"),
    ("condition recorded", bundle(condition("as-1", "M45.6", CONFIRMED) | {"recordedDate": "2026-13-01"}), "entry[1].resource.recordedDate", "'2026-13-01' is not a date"),
    ("procedure performed", bundle(INJECTION | {"performedDateTime": "soon"}), "entry[1].resource.performedDateTime", "'soon' is not a date"),
    ("procedure period", bundle(_without(INJECTION, "performedDateTime") | {"performedPeriod": {"start": "soon"}}), "entry[1].resource.performedPeriod.start", "'soon' is not a date"),
    ("statement period end", bundle(STATEMENT | {"effectivePeriod": {"start": "2026-01-01", "end": "whenever"}}), "entry[1].resource.effectivePeriod.end", "'whenever' is not a date"),
    ("study side codes", bundle(STUDY), "entry[1].resource.series[1].laterality", "several values of imaging.side"),
    ("record part not a number", bundle(INJECTION, RELIEF | {"valueQuantity": {"value": "most", "code": "%"}}), "entry[2].resource.valueQuantity.value", "'most' is not a number"),
    ("element of another type", bundle(VAS | {"effectiveDateTime": {"date": "2026-07-01"}}), "entry[1].resource.effectiveDateTime", "is not a date"),
    ("two disagreeing readings", bundle(VAS, _with(VAS, {"value": 3, "code": "{score}"}, "valueQuantity") | {"id": "vas-2"}), "entry[2].resource", "contradict each other"),
    ("hook unknown", _with(hook_request(), "patient-view", "hook"), "hook", "order-sign"),
    ("hook without context", _without(hook_request(), "context"), "context", "context"),
    ("hook orders not a bundle", _with(hook_request(), [], "context", "draftOrders"), "context.draftOrders", "Bundle"),
    ("hook without service request", _with(hook_request(), {"resourceType": "Bundle", "entry": []}, "context", "draftOrders"), "context.draftOrders.entry", "no ServiceRequest"),
    ("hook order without date", _without(hook_request(), "context", "draftOrders", "entry", 0, "resource", "authoredOn"), "context.draftOrders.entry[0].resource.authoredOn", "request date"),
    ("hook prefetch not an object", _with(hook_request(), [], "prefetch"), "prefetch", "object"),
    ("answers to another form", _with(answers(), "http://example.org/Questionnaire/x", "questionnaire"), "questionnaire", "questionnaire of sijfasp"),
    ("answer of the wrong type", answers({"linkId": "vas_score", "answer": [{"valueBoolean": True}]}), "item[0].answer[0].valueBoolean", "not a valueBoolean"),
    ("answer not a value", answers({"linkId": "request.side", "answer": [{"valueCoding": {"system": codings.PROJECT_SYSTEM, "code": "request.side.up"}}]}), "item[0].answer[0].valueCoding", "not a value of request.side"),
    ("record field unknown", answers({"linkId": "imaging", "item": [{"linkId": "imaging.colour"}]}), "item[0].item[0].linkId", "not a field of imaging"),
    ("item without linkId", answers({"text": "x"}), "item[0]", "linkId"),
    ("bundles nested too deep", bundle(_nested(6)), "entry[1].resource.entry[0].resource.entry[0].resource.entry[0].resource.entry[0].resource", "nested more than 4"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "path", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_gets_one_message_with_its_json_path(data, path, words):
    where, message = error_of(data)
    assert where == path, message
    assert words in message


def test_statuses_of_an_odd_shape_are_not_a_crash():
    odd = bundle(
        VAS | {"status": {"code": "final"}},
        condition("as-1", "M45.6", {"coding": [{"code": {"x": 1}}]}),
    )
    found = read(odd)
    assert found.data["findings"]["vas_score"] == Decimal(7)
    assert "ankylosing_spondylitis" not in found.data["findings"]
    assert any("Condition/as-1" in n for n in found.notices)


def test_a_set_field_reads_every_value_an_observation_names():
    report = {
        "resourceType": "DiagnosticReport",
        "id": "xr-1",
        "status": "final",
        "code": {"coding": [{"system": codings.CPT, "code": "72200"}]},
        "effectiveDateTime": "2026-01-20",
        "result": [{"reference": "Observation/xr-findings"}],
    }
    findings = observation(
        "xr-findings",
        codings.PROJECT_SYSTEM,
        "imaging.findings",
        valueCodeableConcept={
            "coding": [
                {"system": codings.PROJECT_SYSTEM, "code": f"imaging.findings.{name}"}
                for name in ("sij_injury_or_degeneration", "destructive_lesion_excluded")
            ]
        },
    )
    (record,) = read(bundle(report, findings)).data["records"]["imaging"]
    assert record["findings"] == ["destructive_lesion_excluded", "sij_injury_or_degeneration"]


def test_a_key_written_twice_is_an_error_at_its_path(tmp_path):
    from sijfasp.cases.reader import read_case_file

    path = tmp_path / "twice.json"
    text = json.dumps(GOOD).replace('"status": "final"', '"status": "final", "status": "amended"')
    path.write_text(text)
    where, message = error_of(read_case_file(path))
    assert where == "entry[1].resource.status"
    assert "written twice" in message


def test_at_least_twenty_malformed_inputs_are_covered():
    assert len(MALFORMED) >= 20


# ------------------------------------------------------------------ the command line
def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sijfasp", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_bad_fhir_on_the_command_line_exits_2_with_its_path(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_with(GOOD, "claim", "entry", 0, "resource", "use")))
    done = run("check", str(path))
    assert done.returncode == 2
    assert "entry[0].resource.use" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_without_the_fhir_extra_a_fhir_input_exits_2_with_the_install_line(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['fhirpathpy'] = None  # as if the extra were not installed\n"
    )
    path = tmp_path / "request.json"
    path.write_text(json.dumps(GOOD))
    import os

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = run("check", str(path), env=env)
    assert done.returncode == 2, done.stderr
    needs = "needs the optional FHIR support (the fhir extra), which is not installed"
    # A FHIR file is FHIR by its resourceType, the path the message names.
    assert done.stderr.startswith(f"{path}: resourceType: error[case]: FHIR input {needs}\n")
    assert 'hint: install it with: pip install "sijfasp[fhir]"' in done.stderr
    assert "Traceback" not in done.stderr
    yaml_case = run("check", "examples/cases/approvable.yaml", env=env)
    assert yaml_case.returncode == 0  # a YAML case needs no extra
    # An option has no JSON path: the message names the option and what asked for it.
    formatted = run(
        "check", "examples/cases/approvable.yaml", "--format", "claim-response", env=env
    )
    assert formatted.returncode == 2
    assert formatted.stderr.startswith(
        f"--format: error[case]: --format claim-response {needs}\n"
    ), formatted.stderr
    asked = run("questionnaire", "aim_sijf_2022", env=env)
    assert asked.returncode == 2
    assert asked.stderr.startswith(f"questionnaire: error[case]: sijfasp questionnaire {needs}")


@pytest.mark.slow
def test_contradicting_conditions_on_the_command_line_exit_2_naming_both(tmp_path):
    data = json.loads((REPO_ROOT / "examples" / "fhir" / "approvable.json").read_text())
    count = len(data["entry"])
    for ident, status in (("t1", CONFIRMED), ("t2", REFUTED)):
        data["entry"].append({"resource": condition(ident, "C41.4", status)})
    path = tmp_path / "contradicting.json"
    path.write_text(json.dumps(data))
    done = run("check", str(path))
    assert done.returncode == 2, done.stdout
    assert (
        f"{path}: entry[{count + 1}].resource: error[case]: Condition/t1 (at "
        f"entry[{count}].resource) confirms ICD-10-CM C41.4 and Condition/t2 (at "
        f"entry[{count + 1}].resource) refutes ICD-10-CM C41.4: the two contradict each other "
        "on tumor"
    ) in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
