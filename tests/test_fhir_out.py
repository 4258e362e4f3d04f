"""FHIR out: the PAS ClaimResponse of a determination, the DTR questionnaire of a policy and the
adaptive questionnaire of what a case lacks, each validated against the R4B models of
fhir.resources (docs/fhir.md says where R4B and R4 differ for what sijfasp writes)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from support import (
    AIM,
    CARESOURCE,
    EXAMPLES_DIR,
    REPO_ROOT,
    evaluate,
    load_yaml,
    loaded,
    vocabulary,
)

from sijfasp.cases.case import validate_case
from sijfasp.core import codings
from sijfasp.core.kinds import Determination
from sijfasp.fhir.claim_response import claim_response
from sijfasp.fhir.questionnaire import (
    ADAPTIVE_PROFILE,
    INFORMATION_ORIGIN,
    missing_bundle,
    missing_questionnaire,
    missing_url,
    policy_questionnaire,
)
from sijfasp.results.results import CaseResult

pytest.importorskip("fhir.resources")
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))
X12_306 = "https://codesystem.x12.org/005010/306"


def case_of(name: str) -> dict[str, Any]:
    return load_yaml(EXAMPLES_DIR / f"{name}.yaml")


def response_of(name: str) -> dict[str, Any]:
    data = case_of(name)
    case = validate_case(data, vocabulary(), f"{name}.yaml")
    results = tuple(evaluate(data, policy_id) for policy_id in (AIM, CARESOURCE))
    return claim_response(CaseResult(case.id, case.service, case.date, results), case, None)


def review_actions(resource: dict[str, Any]) -> list[str]:
    codes = []
    for item in resource.get("item", []):
        for adjudication in item["adjudication"]:
            for extension in adjudication.get("extension", []):
                for part in extension["extension"]:
                    if "valueCodeableConcept" in part:
                        coding = part["valueCodeableConcept"]["coding"][0]
                        assert coding["system"] == X12_306
                        codes.append(coding["code"])
    return codes


# ------------------------------------------------------------------ ClaimResponse
# A few in the quick tier, every example in the full one.
QUICK = ("vas_4", "odi_missing", "open_fusion_trauma")


@pytest.mark.parametrize(
    "name", [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow) for n in EXAMPLES]
)
def test_every_example_gives_a_valid_pas_response_that_never_denies(name):
    bundle = response_of(name)
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources[0]["resourceType"] == "ClaimResponse"
    actions = [
        a for r in resources if r["resourceType"] == "ClaimResponse" for a in review_actions(r)
    ]
    assert "A3" not in actions  # a physician decides a denial, never sijfasp alone


def _by_policy(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ClaimResponses by policy (their ids end with it)."""
    return {
        policy: e["resource"]
        for e in bundle["entry"]
        for policy in ("aim-sijf-2022", "caresource-sijf-2026")
        if e["resource"]["resourceType"] == "ClaimResponse" and e["resource"]["id"].endswith(policy)
    }


def test_approvable_is_certified_in_total_with_its_period():
    responses = _by_policy(response_of("approvable"))
    aim = responses["aim-sijf-2022"]
    assert review_actions(aim) == ["A1"]
    assert aim["outcome"] == "complete"
    assert aim["preAuthPeriod"]["start"] == "2026-07-15"
    assert aim["item"][0]["extension"][0]["valuePeriod"] == aim["preAuthPeriod"]


def test_incomplete_is_pended_with_a_task_for_the_questionnaire():
    bundle = response_of("odi_missing")  # incomplete under AIM, approvable under MM-1508
    resources = [e["resource"] for e in bundle["entry"]]
    responses = _by_policy(bundle)
    tasks = [r for r in resources if r["resourceType"] == "Task"]
    assert review_actions(responses["aim-sijf-2022"]) == ["A4"]
    assert responses["aim-sijf-2022"]["outcome"] == "queued"
    assert review_actions(responses["caresource-sijf-2026"]) == ["A1"]
    (task,) = tasks
    assert task["code"]["coding"][0] == {
        "system": codings.LOINC,
        "code": "102089-0",
        "display": "Payer questionnaire",
    }
    assert task["focus"] == {"reference": f"ClaimResponse/{responses['aim-sijf-2022']['id']}"}
    assert task["input"][0]["valueCanonical"] == missing_url(AIM, "odi_missing")


def notes_of(response: dict[str, Any]) -> list[str]:
    notes = [n["text"] for n in response.get("processNote", [])]
    if "item" in response:
        assert response["item"][0]["noteNumber"] == list(range(1, len(notes) + 1))
    return notes


POLICY_NOTE = "Judged under AIM SIJF 2022 (aim_sijf_2022, version 2022-09-11, policy text sha256 "


def test_the_approvable_note_says_every_criterion_is_met_and_for_how_long():
    aim = _by_policy(response_of("approvable"))["aim-sijf-2022"]
    assert aim["disposition"] == "Every criterion is met as documented."
    policy, certified = notes_of(aim)
    assert policy.startswith(POLICY_NOTE)
    assert certified == (
        "Certified in total: every criterion of AIM SIJF 2022 is met as documented and no "
        "exclusion applies; for 180 days from the request date, 2026-07-15 to 2027-01-10."
    )


def test_the_incomplete_note_names_the_criteria_to_document_and_the_questionnaire():
    aim = _by_policy(response_of("odi_missing"))["aim-sijf-2022"]
    assert aim["disposition"] == "Pended: documentation is missing."
    policy, pended = notes_of(aim)
    assert policy.startswith(POLICY_NOTE)
    assert pended.startswith(
        "Pended for more information: documentation is missing for AIM SIJF 2022 "
        "Percutaneous 1 (pain for at least 6 months"
    )
    assert missing_url(AIM, "odi_missing") in pended
    assert "denial" not in pended and "physician" not in pended


def test_the_not_met_note_names_the_criteria_not_met_for_physician_review():
    aim = _by_policy(response_of("vas_4"))["aim-sijf-2022"]
    assert review_actions(aim) == ["A4"]
    assert aim["disposition"] == "Pended for physician review: criteria not met as documented."
    policy, review, *reasons = notes_of(aim)
    assert policy.startswith(POLICY_NOTE) and "version 2022-09-11" in policy
    assert review == (
        "Pended for review by a physician or other appropriate professional: sijfasp found "
        "criteria not met as documented: AIM SIJF 2022 Percutaneous 1; it does not decide a "
        "denial."
    )
    # The reason in words, its wording the results' (sijfasp/results/reasons.py).
    (reason,) = reasons
    assert reason.startswith("AIM SIJF 2022 Percutaneous 1, VAS:") and "4/10" in reason


@pytest.mark.parametrize(
    ("policy", "section"),
    [
        (
            "aim-sijf-2022",
            "AIM SIJF 2022 Exclusions 4 (generalized pain behavior or pain disorder)",
        ),
        (
            "caresource-sijf-2026",
            "MM-1508 D.II.B.2 (generalized pain behavior or disorder as the primary cause",
        ),
    ],
)
def test_the_excluded_note_says_which_exclusion_applies_for_physician_review(policy, section):
    response = _by_policy(response_of("fibromyalgia"))[policy]
    assert review_actions(response) == ["A4"]
    assert response["disposition"] == (
        "Pended for physician review: an exclusion applies as documented."
    )
    _, review, *reasons = notes_of(response)
    assert review.startswith(
        "Pended for review by a physician or other appropriate professional: sijfasp found "
        f"that an exclusion of the policy applies as documented: {section}"
    )
    assert review.endswith("; it does not decide a denial.")
    assert not any("not met" in n for n in notes_of(response))
    assert reasons and all("Documented:" in r for r in reasons)


def test_the_notes_of_a_fhir_case_name_the_resources_the_values_were_read_from():
    from sijfasp.cases.reader import read_case_file
    from sijfasp.fhir.read import read_fhir

    path = REPO_ROOT / "examples" / "fhir" / "vas_4.json"
    read = read_fhir(read_case_file(path), vocabulary(), "vas_4.json")
    case = validate_case(read.data, vocabulary(), "vas_4.json")
    result = evaluate(case_of("vas_4"), AIM)  # its YAML twin decides as it does
    bundle = claim_response(CaseResult(case.id, case.service, case.date, (result,)), case, read)
    Bundle.model_validate(bundle)
    notes = notes_of(bundle["entry"][0]["resource"])
    assert notes[-1].startswith("AIM SIJF 2022 Percutaneous 1, VAS, as read from the documents: ")
    assert notes[-1].endswith(": 4/10 (Observation/vas-score-1).")
    assert bundle["entry"][0]["resource"]["request"]["reference"].startswith("Claim/")


def test_not_applicable_alone_is_a_response_without_a_decision_that_says_why():
    data = case_of("open_fusion_trauma")  # an open fusion: AIM addresses percutaneous only
    case = validate_case(data, vocabulary(), "case.yaml")
    result = evaluate(data, AIM)
    assert result.determination == Determination.NOT_APPLICABLE
    bundle = claim_response(CaseResult(case.id, case.service, case.date, (result,)), case, None)
    Bundle.model_validate(bundle)
    (entry,) = bundle["entry"]
    response = entry["resource"]
    assert "item" not in response and review_actions(response) == []
    assert response["disposition"] == "No policy used makes a decision on this request."
    assert notes_of(response) == [
        "AIM SIJF 2022 does not address the requested service (open sij fusion); it makes no "
        "decision."
    ]


def test_no_version_in_effect_alone_says_so_without_a_decision():
    import dataclasses

    data = case_of("approvable")
    case = validate_case(data, vocabulary(), "case.yaml")
    found = evaluate(data, CARESOURCE)
    assert found.version_use is not None
    none = dataclasses.replace(
        found,
        determination=Determination.NO_VERSION,
        version_use=dataclasses.replace(found.version_use, version=None, effective=None),
    )
    bundle = claim_response(CaseResult(case.id, case.service, case.date, (none,)), case, None)
    Bundle.model_validate(bundle)
    (note,) = notes_of(bundle["entry"][0]["resource"])
    assert note.startswith("MM-1508: no version in effect on 2026-07-15")
    assert note.endswith("; it makes no decision.")


# ------------------------------------------------------------------ the policy's questionnaire
@pytest.mark.parametrize(
    ("policy_id", "service"),
    [(AIM, "percutaneous_sij_fusion"), (AIM, None), (CARESOURCE, "open_sij_fusion")],
)
def test_the_policy_questionnaire_is_valid_and_dtr_shaped(policy_id, service):
    policy = loaded(policy_id)
    questionnaire = policy_questionnaire(policy, service)
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["version"] == policy.policy.version
    assert questionnaire["url"].startswith(f"{codings.CANONICAL_BASE}/Questionnaire/")
    groups = [i for i in questionnaire["item"] if i["type"] == "group"]
    assert groups and all(g["text"].startswith(policy.policy.cite) for g in groups)
    items = [i for g in groups for i in g["item"]]
    links = [i["linkId"] for i in items]
    assert len(links) == len(set(links))
    assert all(any(c["system"] == codings.PROJECT_SYSTEM for c in i["code"]) for i in items)


def test_the_policy_questionnaire_codes_items_and_asks_a_field_only_when_it_applies():
    questionnaire = policy_questionnaire(loaded(AIM), "percutaneous_sij_fusion")
    found: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found[item["linkId"]] = item
            walk(item.get("item", []))

    walk(questionnaire["item"])
    vas = found["vas_score"]
    assert {
        "system": codings.LOINC,
        "code": "72514-3",
        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    } in vas["code"]
    assert vas["type"] == "decimal"
    side = found["request.side"]
    assert [o["valueCoding"]["code"] for o in side["answerOption"]] == [
        "request.side.left",
        "request.side.right",
        "request.side.bilateral",
    ]
    therapy = found["therapy"]
    assert therapy["repeats"] is True
    exercise = found["therapy.patient_specific"]
    assert exercise["enableWhen"][0]["question"] == "therapy.kind"
    assert exercise["enableWhen"][0]["answerCoding"]["code"] == "therapy.kind.home_exercise_program"


# ------------------------------------------------------------------ what is missing
def test_the_missing_questionnaire_offers_the_sets_as_alternatives():
    data = case_of("two_tests_undocumented")
    case = validate_case(data, vocabulary(), "case.yaml")
    result = evaluate(data, AIM)
    assert result.determination == Determination.INCOMPLETE
    questionnaire, response = missing_questionnaire(result, case, vocabulary())
    Questionnaire.model_validate(questionnaire)
    QuestionnaireResponse.model_validate(response)
    assert questionnaire["meta"]["profile"] == [ADAPTIVE_PROFILE]
    choice = next(i for i in questionnaire["item"] if i["linkId"] == "set")
    assert len(choice["answerOption"]) == len(result.missing)
    asked = [i for i in questionnaire["item"] if i["linkId"] not in ("set", "documented")]
    for item in asked:
        assert item["enableBehavior"] == "any"
        assert {w["question"] for w in item["enableWhen"]} == {"set"}
    documented = response["item"][0]["item"]
    assert documented and all(
        a["extension"][0]["url"] == INFORMATION_ORIGIN for d in documented for a in d["answer"]
    )
    assert response["questionnaire"].startswith(questionnaire["url"] + "|")


# ------------------------------------------------------------------ the command line
def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sijfasp", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )


@pytest.mark.slow
def test_the_commands_write_valid_fhir():
    checked = run("check", "examples/fhir/vas_4.json", "--format", "claim-response")
    assert checked.returncode == 0, checked.stderr
    Bundle.model_validate(json.loads(checked.stdout))
    assert "note: examples/fhir/vas_4.json: not read:" in checked.stderr
    missing = run("missing", "examples/cases/odi_missing.yaml", "--format", "questionnaire")
    assert missing.returncode == 0, missing.stderr
    Bundle.model_validate(json.loads(missing.stdout))
    asked = run("questionnaire", "caresource_sijf_2026@2026-06-01", "--service", "open_sij_fusion")
    assert asked.returncode == 0, asked.stderr
    Questionnaire.model_validate(json.loads(asked.stdout))


@pytest.mark.slow
def test_the_questionnaire_command_refuses_an_unknown_service_or_policy():
    done = run("questionnaire", AIM, "--service", "percutaneous_fusion")
    assert done.returncode == 2
    assert (
        "no service 'percutaneous_fusion'" in done.stderr
        and "percutaneous_sij_fusion" in done.stderr
    )
    unknown = run("questionnaire", "aim_sijf")
    assert unknown.returncode == 2 and "unknown policy" in unknown.stderr


def test_nothing_missing_is_a_bundle_without_entries():
    data = case_of("vas_4")  # not met under both: nothing to ask
    case = validate_case(data, vocabulary(), "case.yaml")
    results = tuple(evaluate(data, policy_id) for policy_id in (AIM, CARESOURCE))
    bundle = missing_bundle(
        [
            (
                CaseResult(case.id, case.service, case.date, results),
                case,
                {AIM: vocabulary(), CARESOURCE: vocabulary()},
            )
        ]
    )
    Bundle.model_validate(bundle)
    assert "entry" not in bundle  # FHIR JSON has no empty arrays
