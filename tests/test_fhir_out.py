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
from sijfasp.fhir.claim_response import HUMAN_REVIEW, claim_response
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


@pytest.mark.parametrize(
    ("name", "policy"),
    [("vas_4", "aim-sijf-2022"), ("fibromyalgia", "aim-sijf-2022"), ("relief_60", "aim-sijf-2022")],
)
def test_not_met_and_excluded_are_pended_for_physician_review_with_their_reasons(name, policy):
    response = _by_policy(response_of(name))[policy]
    assert review_actions(response) == ["A4"]
    notes = [n["text"] for n in response["processNote"]]
    assert HUMAN_REVIEW in notes
    assert any("AIM SIJF 2022" in n and "sha256" in n and "version 2022-09-11" in n for n in notes)
    assert any(n.startswith("AIM SIJF 2022") and "documented" in n for n in notes)
    assert response["item"][0]["noteNumber"] == list(range(1, len(notes) + 1))


def test_not_applicable_makes_no_decision_from_that_policy():
    responses = _by_policy(response_of("open_fusion_trauma"))
    assert list(responses) == ["caresource-sijf-2026"]


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
