"""A service with several CPT codes, and a request that documents its code (`cpt_code`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import VOCABULARY

from sijfasp.api import evaluate
from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.formatter import format_text
from sijfasp.language.parser import parse_text
from sijfasp.policies.loading import load_policy
from sijfasp.results.results import PolicyResult

POLICY = """\
import "vocabulary.sijv"

policy cpt_demo {
  payer     "Example payer"
  title     "Codes"
  document  "Demo policy"
  effective 2026-01-01
  cite      "DEMO"
}

service percutaneous_sij_fusion cpt 27278, 27279, 27280 [1] "Percutaneous fusion"
service open_sij_fusion cpt 27280 [2] "Open fusion"
service revision_sij_fusion [3] "Revision"

criteria for percutaneous_sij_fusion {
  pain [1] "Pain of 5 or more": vas_score >= 5
}

criteria for open_sij_fusion {
  open_pain [2] "Pain of 5 or more": vas_score >= 5
}

criteria for revision_sij_fusion {
  revision_pain [3] "Pain of 5 or more": vas_score >= 5
}

exclusions for percutaneous_sij_fusion {
  no_transfixing_device [4] "Fusion without a transfixing device": request.cpt_code is 27278
}
"""


def _copy_vocabulary(folder: Path) -> None:
    """The bundled vocabulary without its table of each service's codes: these tests are of the
    codes a policy's service lists, whatever the table says (tests/test_service_codes.py)."""
    lines = VOCABULARY.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not re.match(r"service \w+ cpt ", line)]
    (folder / "vocabulary.sijv").write_text("".join(kept), encoding="utf-8")


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cpt")
    _copy_vocabulary(folder)
    path = folder / "cpt_demo.sijp"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loaded(policy_file):
    return load_policy(policy_file)


def _judge(loaded, service: str, code: object = None, vas: int = 6) -> PolicyResult:
    request: dict = {"service": service, "date": "2026-07-15"}
    if code is not None:
        request["cpt_code"] = code
    data = {"request": request, "findings": {"vas_score": vas}}
    return evaluate(loaded, validate_case(data, loaded.policy.vocabulary))


def test_an_excluded_code_is_excluded_with_the_code_quoted(loaded):
    result = _judge(loaded, "percutaneous_sij_fusion", 27278)
    assert result.determination == "excluded"
    assert any("request.cpt_code = 27278" in reason for reason in result.reasons), result.reasons


def test_a_listed_code_that_no_exclusion_names_is_approvable(loaded):
    assert _judge(loaded, "percutaneous_sij_fusion", 27279).determination == "approvable"
    # Written as a text, the code reads the same.
    assert _judge(loaded, "percutaneous_sij_fusion", "27280").determination == "approvable"


def test_a_code_the_service_does_not_list_is_not_applicable_with_a_reason(loaded):
    result = _judge(loaded, "open_sij_fusion", 27279)
    assert result.determination == "not_applicable"
    assert result.criteria == () and result.exclusions == ()
    (reason,) = result.reasons
    assert "CPT 27279" in reason and "covers CPT 27280" in reason and "DEMO 2" in reason


def test_a_code_the_service_lists_is_judged_on_the_criteria(loaded):
    assert _judge(loaded, "open_sij_fusion", 27280).determination == "approvable"
    assert _judge(loaded, "open_sij_fusion", 27280, vas=3).determination == "not_met"


def test_a_service_listing_no_code_accepts_any(loaded):
    assert _judge(loaded, "revision_sij_fusion", 27278).determination == "approvable"


def test_an_undocumented_code_is_judged_as_before(loaded):
    assert _judge(loaded, "open_sij_fusion").determination == "approvable"
    assert _judge(loaded, "percutaneous_sij_fusion").determination == "approvable"
    # The exclusion on a code is the exclusion style: silence does not exclude.
    result = _judge(loaded, "percutaneous_sij_fusion")
    assert [e.status for e in result.exclusions] == ["not_documented"]


def test_an_unknown_code_in_a_case_is_one_clear_error(loaded):
    with pytest.raises(SijfaspError) as raised:
        _judge(loaded, "percutaneous_sij_fusion", 27297)
    (problem,) = raised.value.diagnostics
    assert problem.field_path == "request.cpt_code"
    assert "expected one of 27278, 27279, 27280" in problem.message
    assert "27279" in (problem.hint or "")


@pytest.mark.slow
def test_an_unknown_code_exits_2_with_the_expected_codes(policy_file, tmp_path):
    case = tmp_path / "unknown_code.yaml"
    case.write_text(
        "request: {service: percutaneous_sij_fusion, date: 2026-07-15, cpt_code: 27297}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "sijfasp", "check", str(case), "--policy-file", str(policy_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "request.cpt_code" in done.stderr
    assert "expected one of 27278, 27279, 27280; found the number 27297" in done.stderr
    assert "did you mean '27279'" in done.stderr


def test_several_codes_parse_and_format_round_trip():
    tree = parse_text(POLICY, "cpt_demo.sijp")
    services = [d for d in tree.declarations if type(d).__name__ == "ServiceDecl"]
    assert [s.cpt_codes for s in services] == [("27278", "27279", "27280"), ("27280",), ()]
    assert services[0].cpt == "27278" and services[2].cpt is None
    formatted = format_text(POLICY, "cpt_demo.sijp")
    assert formatted == POLICY
    assert format_text(formatted, "cpt_demo.sijp") == formatted


def test_a_service_code_must_be_a_value_of_cpt_code(tmp_path):
    _copy_vocabulary(tmp_path)
    path = tmp_path / "bad.sijp"
    path.write_text(POLICY.replace("cpt 27280 [2]", "cpt 27290 [2]"), encoding="utf-8")
    with pytest.raises(SijfaspError) as raised:
        load_policy(path)
    (problem,) = raised.value.diagnostics
    assert problem.code == "unknown-name"
    assert "CPT 27290" in problem.message and "request.cpt_code" in problem.message
    assert (
        problem.span.line
        == POLICY.splitlines().index('service open_sij_fusion cpt 27280 [2] "Open fusion"') + 1
    )
    assert problem.span.column == 1


def test_a_code_value_has_five_digits(tmp_path):
    vocabulary = VOCABULARY.read_text(encoding="utf-8").replace("27278, 27279", "2727, 27279")
    (tmp_path / "vocabulary.sijv").write_text(vocabulary, encoding="utf-8")
    path = tmp_path / "p.sijp"
    path.write_text(POLICY, encoding="utf-8")
    with pytest.raises(SijfaspError) as raised:
        load_policy(path)
    assert any("procedure code of 5 digits" in d.message for d in raised.value.diagnostics)


def test_the_program_holds_codes_as_strings_never_numbers(loaded):
    program = loaded.compiled.program
    assert 'service_code(open_sij_fusion, "27280").' in program
    assert 'allowed(no_transfixing_device, "27278").' in program


def test_policies_json_lists_every_code_and_keeps_the_first_as_cpt(policy_file, capsys):
    from sijfasp.cli.main import main

    assert main(["policies", "--policies", str(policy_file.parent), "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    (policy,) = listing["policies"]
    first = policy["services"][0]
    assert first["cpt"] == "27278"
    assert first["cpt_codes"] == ["27278", "27279", "27280"]
    assert policy["services"][2]["cpt"] is None and policy["services"][2]["cpt_codes"] == []


def test_lint_makes_no_claim_on_a_policy_that_tests_codes(policy_file, capsys):
    from sijfasp.cli.main import main

    assert main(["lint", str(policy_file)]) == 0
    assert "no errors, no warnings" in capsys.readouterr().out


def test_policies_text_lists_every_code(policy_file, capsys):
    from sijfasp.cli.main import main

    assert main(["policies", "--policies", str(policy_file.parent)]) == 0
    out = capsys.readouterr().out
    assert "- percutaneous_sij_fusion (CPT 27278, 27279, 27280) [1]" in out
    assert "- revision_sij_fusion (no CPT code listed) [3]" in out


def test_a_code_the_service_does_not_list_is_never_proposed_as_missing(tmp_path):
    _copy_vocabulary(tmp_path)
    path = tmp_path / "codes.sijp"
    path.write_text(
        POLICY.replace("cpt 27278, 27279, 27280 [1]", "cpt 27278, 27280 [1]").replace(
            'pain [1] "Pain of 5 or more": vas_score >= 5',
            'transfixing [1] "A code for a transfixing device": request.cpt_code in {27279, 27280}',
        ),
        encoding="utf-8",
    )
    result = _judge(load_policy(path), "percutaneous_sij_fusion")
    assert result.determination == "incomplete"
    # 27279 would meet the criterion but take the request away from the policy.
    assert [[item.key for item in option] for option in result.missing] == [
        ['guess(request(cpt_code),"27280")']
    ]


def test_a_code_only_another_policys_extension_lists_is_still_a_code_not_addressed(
    loaded, tmp_path
):
    from sijfasp.language.extensions import union

    _copy_vocabulary(tmp_path)
    (tmp_path / "codes_extra.sijv").write_text(
        'vocabulary codes_extra "One more code"\n\n'
        "request_field cpt_code: choice {22612} { extends }\n",
        encoding="utf-8",
    )
    other = tmp_path / "other.sijp"
    other.write_text(
        POLICY.replace(
            'import "vocabulary.sijv"', 'import "vocabulary.sijv"\nimport "codes_extra.sijv"'
        )
        .replace("policy cpt_demo", "policy other_demo")
        .replace("cpt 27278, 27279, 27280 [1]", "cpt 22612 [1]"),
        encoding="utf-8",
    )
    extended = load_policy(other)
    data = {
        "request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15", "cpt_code": 22612},
        "findings": {"vas_score": 6},
    }
    case = validate_case(data, union([loaded.policy.vocabulary, extended.policy.vocabulary]))
    assert evaluate(extended, case).determination == "approvable"
    # The policy without the extension does not address 22612: not read as "no code".
    mine = evaluate(loaded, case)
    assert mine.determination == "not_applicable"
    assert "CPT 22612" in mine.reasons[0]
