"""The FHIR twins of the example cases (examples/fhir/): each PAS request Bundle, and the CDS
Hooks requests of two of them, give their YAML twin's determinations, reasons and minimal
sets; and every listed minimal set of every incomplete example, answered in a
QuestionnaireResponse to the adaptive questionnaire, makes the case approvable."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from support import (
    AIM,
    CARESOURCE,
    EXAMPLES_DIR,
    REPO_ROOT,
    apply_missing_set,
    evaluate,
    load_yaml,
    set_keys,
    vocabulary,
)

from sijfasp.cases.case import validate_case
from sijfasp.cases.reader import read_case_file
from sijfasp.core import codings
from sijfasp.core.kinds import Determination
from sijfasp.fhir.questionnaire import missing_questionnaire
from sijfasp.fhir.read import merge_answers, read_fhir

pytest.importorskip("fhirpathpy")

FHIR_DIR = REPO_ROOT / "examples" / "fhir"
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))
HOOKS = sorted((FHIR_DIR / "hooks").glob("*.order-sign.json"))
POLICIES = (AIM, CARESOURCE)
# The twins checked in the quick tier; every one in the full tier.
QUICK = ("vas_4", "relief_60", "revision_loosening")


def plain(value: Any) -> Any:
    """The case as JSON writes it (support.evaluate keys its cache by the JSON text)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_fhir(path) -> dict[str, Any]:
    return plain(read_fhir(read_case_file(path), vocabulary(), path.name).data)


def outcome(case: dict[str, Any], policy_id: str) -> tuple[str, tuple[str, ...], set]:
    result = evaluate(case, policy_id)
    return result.determination, result.reasons, set_keys(result)


def test_every_example_has_a_fhir_twin():
    assert sorted(p.stem for p in FHIR_DIR.glob("*.json")) == EXAMPLES
    assert len(HOOKS) == 2


@pytest.mark.parametrize(
    "name",
    [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow) for n in EXAMPLES],
)
def test_the_fhir_twin_decides_as_its_yaml_twin(name):
    yaml_case = load_yaml(EXAMPLES_DIR / f"{name}.yaml")
    fhir_case = from_fhir(FHIR_DIR / f"{name}.json")
    for policy_id in POLICIES:
        assert outcome(fhir_case, policy_id) == outcome(yaml_case, policy_id), policy_id


@pytest.mark.parametrize(
    "path",
    [
        p if p.name.startswith("approvable") else pytest.param(p, marks=pytest.mark.slow)
        for p in HOOKS
    ],
    ids=[p.name for p in HOOKS],
)
def test_the_order_sign_request_decides_as_its_yaml_twin(path):
    name = path.name.split(".")[0]
    yaml_case = load_yaml(EXAMPLES_DIR / f"{name}.yaml")
    hooked = from_fhir(path)
    for policy_id in POLICIES:
        assert outcome(hooked, policy_id) == outcome(yaml_case, policy_id), policy_id


@pytest.mark.slow
def test_a_twin_on_the_command_line_gives_the_yaml_twins_json():
    def results(path: str) -> list[tuple[str, str, list[str]]]:
        done = subprocess.run(
            [sys.executable, "-m", "sijfasp", "check", path, "--format", "json"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return [
            (r["policy"], r["determination"], r["reasons"])
            for r in json.loads(done.stdout)["results"]
        ]

    assert results("examples/fhir/relief_60.json") == results("examples/cases/relief_60.yaml")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sijfasp",
            "check",
            "examples/fhir/relief_60.json",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    sources = json.loads(done.stdout)["fhir"]["sources"]
    assert sources["vas_score"] == ["Observation/vas-score-1"]
    assert sources["records.injection[2].relief_percent"][0].startswith("Observation/injection-3-")


# ------------------------------------------------------------------ the round trip
def _answer(kind: str, key: str, value: Any) -> list[dict[str, Any]]:
    if kind == "set":
        return [
            {"valueCoding": {"system": codings.PROJECT_SYSTEM, "code": f"{key}.{v}"}} for v in value
        ]
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, (int, float, Decimal)):
        return [{"valueDecimal": float(value)}]
    if isinstance(value, dt.date):
        return [{"valueDate": value.isoformat()}]
    return [{"valueCoding": {"system": codings.PROJECT_SYSTEM, "code": f"{key}.{value}"}}]


def _answers(original: dict[str, Any], completed: dict[str, Any]) -> list[dict[str, Any]]:
    """What the writer added to the case, as answers to sijfasp's questionnaire."""
    items = []
    for part, prefix in (("request", "request."), ("findings", "")):
        for key, value in (completed.get(part) or {}).items():
            if key not in (original.get(part) or {}):
                fact = vocabulary().fact("request" if prefix else "finding", key)
                assert fact is not None
                items.append(
                    {"linkId": prefix + key, "answer": _answer(fact.type.kind, prefix + key, value)}
                )
    for kind_name, records in (completed.get("records") or {}).items():
        kind = vocabulary().record(kind_name)
        assert kind is not None
        before = (original.get("records") or {}).get(kind_name) or []
        for index, record in enumerate(records):
            if index < len(before):
                link = f"{kind_name}#{index + 1}"
                added = {f: v for f, v in record.items() if f not in before[index]}
            else:
                link = kind_name
                added = record
            fields = []
            for name, value in added.items():
                field = kind.field(name)
                assert field is not None
                if field.derived:
                    continue
                fields.append(
                    {
                        "linkId": f"{link}.{name}",
                        "answer": _answer(field.type.kind, f"{kind_name}.{name}", value),
                    }
                )
            if fields:
                items.append({"linkId": link, "item": fields})
    return items


def _enabled_links(questionnaire: dict[str, Any], option: int) -> set[str]:
    code = f"set.{option}"
    found = set()
    for item in questionnaire["item"]:
        conditions = item.get("enableWhen")
        if conditions is None or any(c["answerCoding"]["code"] == code for c in conditions):
            found.add(item["linkId"])
    return found


@pytest.mark.slow
@pytest.mark.parametrize("policy_id", POLICIES)
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_listed_minimal_set_answered_in_the_questionnaire_is_approvable(name, policy_id):
    original = load_yaml(EXAMPLES_DIR / f"{name}.yaml")
    if evaluate(original, policy_id).determination != Determination.INCOMPLETE:
        pytest.skip("complete or decided under this policy: nothing to answer")
    _round_trip(original, policy_id)


@pytest.mark.slow
@pytest.mark.parametrize("policy_id", POLICIES)
def test_fields_of_documented_records_are_answered_in_their_own_groups(policy_id):
    # The approvable case without the side of its diagnostic blocks: the sets fill it in.
    original = load_yaml(EXAMPLES_DIR / "approvable.yaml")
    for record in original["records"]["injection"]:
        if record["purpose"] == "diagnostic":
            del record["side"]
    result = evaluate(original, policy_id)
    assert any(i.key.startswith("fill(") for s in result.missing for i in s)
    _round_trip(original, policy_id)


def _round_trip(original: dict[str, Any], policy_id: str) -> None:
    case = validate_case(original, vocabulary(), "case.yaml")
    result = evaluate(original, policy_id)
    questionnaire, _ = missing_questionnaire(result, case, vocabulary())
    assert result.missing
    for option, missing in enumerate(result.missing, start=1):
        completed = apply_missing_set(original, policy_id, missing)
        items = _answers(original, completed)
        enabled = _enabled_links(questionnaire, option)
        assert {i["linkId"] for i in items} <= enabled, (option, items)
        response = {
            "resourceType": "QuestionnaireResponse",
            "id": f"answers-{option}",
            "questionnaire": questionnaire["url"],
            "status": "completed",
            "item": [
                {
                    "linkId": "set",
                    "answer": [
                        {"valueCoding": {"system": codings.PROJECT_SYSTEM, "code": f"set.{option}"}}
                    ],
                },
                *items,
            ],
        }
        answered = read_fhir(response, vocabulary(), "answers.json")
        merged = plain(merge_answers(original, answered, "answers.json"))
        assert evaluate(merged, policy_id).determination == Determination.APPROVABLE, (
            option,
            items,
        )


@pytest.mark.slow
def test_the_questionnaire_answered_on_the_command_line_completes_the_case(tmp_path):
    def sijfasp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sijfasp", *args],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
        )

    case = "examples/cases/odi_missing.yaml"
    asked = sijfasp("missing", case, "--policy", AIM, "--format", "questionnaire")
    assert asked.returncode == 0, asked.stderr
    entries = [e["resource"] for e in json.loads(asked.stdout)["entry"]]
    questionnaire, response = entries[0], entries[1]
    assert [i["linkId"] for i in questionnaire["item"] if i["linkId"] != "documented"] == [
        "odi_score"
    ]
    response["status"] = "completed"
    response["item"].append({"linkId": "odi_score", "answer": [{"valueDecimal": 44}]})
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(response))
    checked = sijfasp("check", case, "--policy", AIM, "--answers", str(answers), "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert [r["determination"] for r in json.loads(checked.stdout)["results"]] == ["approvable"]
    explained = sijfasp("explain", "examples/fhir/odi_missing.json", "--policy", AIM)
    assert explained.returncode == 0 and "ODI" in explained.stdout


@pytest.mark.slow
def test_batch_reads_fhir_twins_among_its_cases(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    for source in (EXAMPLES_DIR / "relief_60.yaml", FHIR_DIR / "relief_60.json", HOOKS[0]):
        (folder / source.name).write_bytes(source.read_bytes())
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "sijfasp", "batch", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    by_source = {
        line["case"]: [(r["policy"], r["determination"], r["reasons"]) for r in line["results"]]
        for line in lines
    }
    assert by_source["relief-60"] == by_source["relief_60"]
    assert {r[1] for r in by_source["approvable-order"]} == {"approvable"}
