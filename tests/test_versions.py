"""Policy versions: the header's version and dates per line of business, the choice of the
version in effect on a request date for the case's line of business (never its plan's name), the
explicit no-version result, and `--policy ID@VERSION` and `--as-of` (docs/dsl.md, docs/cli.md)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from support import POLICIES_DIR, VOCABULARY, base_case

from sijfasp.api import Options, evaluate_case
from sijfasp.cases.case import validate_case
from sijfasp.cases.vocabulary import policies_for_case
from sijfasp.cli.main import main
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.core.kinds import Determination
from sijfasp.core.source import SourceText
from sijfasp.language.parser import parse
from sijfasp.language.semantics import check_policy
from sijfasp.policies import versions
from sijfasp.policies.loading import (
    bundled_policy_versions,
    load_policy,
    load_policy_text,
    load_vocabulary,
)
from sijfasp.results.render import (
    json_case,
    markdown_explain,
    markdown_missing,
    text_check,
    text_missing,
)

AIM = "aim_sijf_2022"
EARLIER = "2022-06-12"
CURRENT = "2022-09-11"
QUICK = Options(enumerate=1, rank=False)

# ------------------------------------------------------------------ the DSL
HEADER = """import "vocabulary.sijv"

policy tiny_versions {{
  payer "P"
  title "T"
  document "D"
  cite "C"
{lines}
}}

service percutaneous_sij_fusion [S] "S"
criteria for percutaneous_sij_fusion {{
  vas [S 1] "VAS": vas_score >= 5
}}
"""


def _check(lines: str):
    text = HEADER.format(lines=lines)
    source = SourceText("tiny.sijp", text)
    return check_policy(parse(source), load_vocabulary(VOCABULARY))


def _errors(lines: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(SijfaspError) as raised:
        _check(lines)
    return [
        (str(d.code), d.message, d.span.line if d.span else None) for d in raised.value.diagnostics
    ]


def test_version_and_plan_dates_are_read_with_their_positions():
    policy = _check(
        '  version "2022-06-12"\n  effective 2022-06-12\n'
        "  effective for medicaid 2022-09-11\n  effective for chip 2022-01-01"
    )
    assert policy.version == "2022-06-12"
    assert policy.effective == dt.date(2022, 6, 12)
    assert policy.plan_effective == (
        ("medicaid", dt.date(2022, 9, 11)),
        ("chip", dt.date(2022, 1, 1)),  # before the general date: allowed
    )
    declaration = parse(
        SourceText("tiny.sijp", HEADER.format(lines="  effective for a 2022-09-11"))
    )
    header = declaration.declarations[1]
    (line,) = header.plan_properties
    assert (line.plan, line.value, line.span.line, line.span.column) == ("a", "2022-09-11", 8, 3)


def test_the_version_defaults_to_the_effective_date():
    assert _check("  effective 2024-01-01").version == "2024-01-01"


def test_a_plan_given_twice_is_an_error_at_the_second_line():
    errors = _errors(
        "  effective 2022-06-12\n  effective for a 2022-09-11\n  effective for a 2022-10-01"
    )
    assert errors == [("duplicate-name", "the effective date for plan 'a' is given twice", 10)]


@pytest.mark.parametrize("version", ["has space", "a@b", "../x", "", "-lead", "x" * 41], ids=repr)
def test_an_unsafe_version_is_refused(version):
    (error,) = _errors(f'  effective 2022-06-12\n  version "{version}"')
    assert error[0] == "property" and "a version is 1 to 40 letters" in error[1]


def test_only_the_effective_date_can_be_given_for_a_plan():
    (error,) = _errors('  effective 2022-06-12\n  title for a "x"')
    assert error[0] == "property" and "'title' cannot be given for a plan" in error[1]


@pytest.mark.parametrize("value", ['"next year"', "2022", "2022-13-01"])
def test_a_plan_date_must_be_a_date(value):
    (error,) = _errors(f"  effective 2022-06-12\n  effective for a {value}")
    assert error[0] == "property" and "effective for a takes a date" in error[1]


def test_a_plan_line_without_a_date_is_a_syntax_error():
    errors = _errors("  effective 2022-06-12\n  effective for a\n")
    assert errors and errors[0][0] == "syntax"


# ------------------------------------------------------------------ the choice
def _version(policy_id: str, version: str, effective: str, **plans: str) -> Any:
    """A stand-in for a loaded policy: the choice reads only the header's dates."""
    policy = SimpleNamespace(
        id=policy_id,
        version=version,
        effective=dt.date.fromisoformat(effective),
        plan_effective=tuple((p, dt.date.fromisoformat(d)) for p, d in plans.items()),
        path=f"{policy_id}_{version}.sijp",
    )
    return SimpleNamespace(policy=policy)


AIM_VERSIONS = [
    _version(AIM, CURRENT, CURRENT),
    _version(AIM, EARLIER, EARLIER, medicaid=CURRENT),
]


@pytest.mark.parametrize(
    ("on", "line", "expected"),
    [
        ("2022-07-01", "commercial", EARLIER),
        ("2022-07-01", "other", EARLIER),
        ("2022-07-01", "medicaid", None),
        ("2022-06-11", None, None),  # no line has a version yet: no line decides anything
        ("2022-06-11", "medicaid", None),
        ("2022-09-11", None, CURRENT),
        ("2022-10-01", None, CURRENT),
        # Both versions take effect on 2022-09-11 for Medicaid: the later general date wins.
        ("2022-10-01", "medicaid", CURRENT),
    ],
)
def test_the_version_in_effect(on, line, expected):
    (choice,) = versions.choose(AIM_VERSIONS, dt.date.fromisoformat(on), line)
    got = choice.chosen.policy.version if choice.chosen else None
    assert got == expected
    assert len(choice.versions) == 2 and not choice.explicit and not choice.undecided


def test_an_undocumented_line_of_business_that_decides_the_version_chooses_none():
    (choice,) = versions.choose(AIM_VERSIONS, dt.date(2022, 7, 1), None)
    assert choice.chosen is None
    # Medicaid would have no version yet; every other line the earlier one.
    assert choice.undecided == (("medicaid", None), (None, EARLIER))


def test_a_plan_line_with_the_same_date_as_another_general_date_is_no_tie_to_refuse():
    versions.check_unique(AIM_VERSIONS)  # Medicaid: 2022-09-11 twice, told apart generally


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (("1.9", "2022-01-01", {}), ("1.10", "2022-01-01", {}), "on 2022-01-01:"),
        (
            ("a", "2022-01-01", {"medicaid": "2022-05-01"}),
            ("b", "2022-02-01", {"medicaid": "2022-05-01"}),
            "on 2022-05-01 for medicaid",
        ),
    ],
)
def test_two_versions_taking_effect_on_one_date_for_one_line_are_an_error(first, second, words):
    with pytest.raises(SijfaspError) as raised:
        versions.check_unique([_version("p", v, d, **lines) for v, d, lines in (first, second)])
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "duplicate-name" and words in diagnostic.message
    assert f"'{first[0]}'" in diagnostic.message and f"'{second[0]}'" in diagnostic.message


def test_a_plan_line_before_the_general_date_brings_the_version_in_early():
    early = [_version("p", "1", "2022-01-01"), _version("p", "2", "2022-06-01", chip="2022-03-01")]
    (general,) = versions.choose(early, dt.date(2022, 4, 1), "commercial")
    (plan,) = versions.choose(early, dt.date(2022, 4, 1), "chip")
    assert general.chosen.policy.version == "1"
    assert plan.chosen.policy.version == "2" and plan.plan_line
    assert plan.effective == dt.date(2022, 3, 1)


def test_a_tie_on_the_plan_date_goes_to_the_later_general_date():
    tied = [
        _version("p", "b", "2022-01-01", medicaid="2022-05-01"),
        _version("p", "a", "2022-05-01"),
    ]
    (choice,) = versions.choose(tied, dt.date(2022, 6, 1), "medicaid")
    assert choice.chosen.policy.version == "a"


def test_each_policy_id_gets_its_own_choice_and_pinned_ids_keep_their_version():
    other = _version("q", "1", "2030-01-01")
    choices = versions.choose(
        [*AIM_VERSIONS, other], dt.date(2022, 7, 1), "commercial", pinned={"q"}
    )
    assert [c.policy_id for c in choices] == [AIM, "q"]
    assert choices[1].chosen is other and choices[1].explicit


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("anthem_medicaid", "did you mean 'medicaid'?"),
        ("medicare_advantage_ppo", "did you mean 'medicare_advantage'?"),
        ("medicad", "did you mean 'medicaid'?"),
    ],
)
def test_a_plan_line_names_a_line_of_business_never_a_plan(name, hint):
    message, given = versions.line_problem(name)
    assert f"'{name}' is not a line of business" in message and hint in given
    assert versions.line_problem("medicaid") is None


def test_a_plan_line_naming_a_plan_is_refused_at_its_line():
    text = HEADER.format(lines="  effective 2022-06-12\n  effective for anthem_medicaid 2022-09-11")
    path = VOCABULARY.parent / "tiny_line.sijp"
    with pytest.raises(SijfaspError) as raised:
        load_policy_text(path, text)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "property" and diagnostic.span.line == 9
    assert "'anthem_medicaid' is not a line of business" in diagnostic.message
    assert "did you mean 'medicaid'?" in diagnostic.hint


def test_references():
    assert versions.split_reference("aim_sijf_2022@2022-06-12") == (AIM, EARLIER)
    assert versions.split_reference(AIM) == (AIM, None)


def test_one_id_and_version_in_two_files_is_an_error_naming_both():
    with pytest.raises(SijfaspError) as raised:
        versions.check_unique([_version("p", "1", "2022-01-01"), _version("p", "1", "2023-01-01")])
    (diagnostic,) = raised.value.diagnostics
    assert "p_1.sijp" in diagnostic.message and diagnostic.code == "duplicate-name"


# ------------------------------------------------------------------ the bundled versions
def test_aim_has_both_versions_with_their_dates():
    aim = {p.policy.version: p.policy for p in bundled_policy_versions() if p.policy.id == AIM}
    assert set(aim) == {EARLIER, CURRENT}
    assert aim[EARLIER].plan_effective == (("medicaid", dt.date(2022, 9, 11)),)
    assert aim[CURRENT].effective == dt.date(2022, 9, 11) and aim[CURRENT].plan_effective == ()
    # What the 2022-09-11 revision added is absent from the earlier version.
    earlier = versions.grouped(bundled_policy_versions())[AIM][0]
    assert "revision_sij_fusion" not in earlier.compiled.top
    nodes = set(earlier.compiled.nodes)
    assert "therapeutic_injection_trial" not in nodes
    assert "excluded_graft_only_posterior" not in nodes
    assert "structural_device" in nodes


def _shifted(case: dict, to: dt.date) -> dict:
    """The case moved in time so that its request is dated `to`: every date shifts alike."""
    delta = to - case["request"]["date"]

    def shift(value: Any) -> Any:
        if isinstance(value, dt.date):
            return value + delta
        if isinstance(value, dict):
            return {k: shift(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shift(v) for v in value]
        return value

    return shift(copy.deepcopy(case))


def _judge(date: str, line: str | None = None, payer: str | None = None, **changes: Any):
    data = _shifted(base_case(), dt.date.fromisoformat(date))
    if line is not None:
        data["line_of_business"] = line
    if payer is not None:
        data["payer"] = payer
    for key, value in changes.items():
        data[key] = value
    loaded = list(bundled_policy_versions())
    case = validate_case(data, loaded[0].policy.vocabulary, "case.yaml")
    return evaluate_case(policies_for_case(case, loaded), case, QUICK)


def _aim(result):
    return next(r for r in result.results if r.policy == AIM)


def test_a_request_of_2022_07_01_is_judged_by_the_2022_06_12_version_for_a_commercial_plan():
    result = _judge("2022-07-01", line="Commercial", payer="AIM", plan="Anthem Medicaid PPO")
    (aim,) = result.results  # the payer's policy only
    assert aim.determination == Determination.APPROVABLE
    assert aim.version_use.version == EARLIER and not aim.version_use.plan_line
    assert aim.effective == dt.date(2022, 6, 12)
    assert "version 2022-06-12, in effect on 2022-07-01 for commercial" in (
        aim.version_use.reason()
    )
    assert "revision" not in {n.id for n in aim.criteria}


def test_a_request_of_2022_07_01_for_a_medicaid_plan_has_no_aim_version_in_effect():
    # The plan's name says nothing of Medicaid: its line of business does.
    result = _judge("2022-07-01", line="medicaid", plan="HealthKeepers Plus")
    aim = _aim(result)
    assert aim.determination == Determination.NO_VERSION
    assert aim.criteria == () and aim.exclusions == () and aim.missing == ()
    reason = aim.version_use.reason()
    assert "no version in effect on 2022-07-01 for Medicaid" in reason
    assert "2022-06-12 (effective 2022-06-12; 2022-09-11 for Medicaid)" in reason
    text = " ".join(text_check(result).split())
    assert "no version in effect on 2022-07-01 for Medicaid" in text
    # No version's effective date stands in the header: the title runs into the reason.
    assert "Techniques) no version in effect on 2022-07-01" in text
    data = json.loads(json_case(result))
    aim_json = next(r for r in data["results"] if r["policy"] == AIM)
    assert aim_json["determination"] == "no_version_in_effect"
    assert aim_json["effective"] is None
    assert aim_json["policy_version"]["version"] is None
    assert aim_json["policy_version"]["selection"]["line_of_business"] == "medicaid"
    assert aim_json["policy_version"]["selection"]["line_of_business_needed"] is False
    assert data["details"]["line_of_business"] == "medicaid"
    assert "no version in effect" in markdown_explain(result)


def test_a_medicaid_plan_without_its_line_of_business_is_asked_for_it():
    # "Anthem HealthKeepers Plus Medicaid" is a Medicaid plan, but its name is not read.
    result = _judge("2022-07-01", plan="Anthem HealthKeepers Plus Medicaid")
    aim = _aim(result)
    assert aim.determination == Determination.NO_VERSION and aim.criteria == ()
    reason = aim.version_use.reason()
    assert "depends on the plan's line of business, which the case does not document" in reason
    assert "for Medicaid, no version in effect; for any other line of business, version" in reason
    (notice,) = aim.notices
    assert "document the plan's line of business" in notice and "Medicare Advantage" in notice
    selection = json.loads(json_case(result))["results"][0]["policy_version"]["selection"]
    assert selection["line_of_business_needed"] is True
    assert selection["by_line_of_business"] == [
        {"line_of_business": "medicaid", "version": None},
        {"line_of_business": None, "version": EARLIER},
    ]
    letter = markdown_missing(result, dt.date(2022, 7, 2))
    assert letter.startswith("# Additional information requested")
    assert "Please tell us the plan's line of business" in letter
    assert "to add: the plan's line of business" in " ".join(text_missing(result).split())
    assert "determination: no version chosen: the line of business is not documented" in (
        text_check(result)
    )
    # CareSource has one version: its line of business decides nothing, nothing is asked.
    caresource = next(r for r in result.results if r.policy != AIM)
    assert caresource.notices == () and not caresource.version_use.undecided


@pytest.mark.parametrize("line", [None, "medicaid", "commercial"])
def test_a_request_of_2022_10_01_gets_the_2022_09_11_version_under_every_line(line):
    aim = _aim(_judge("2022-10-01", line=line))
    assert aim.determination == Determination.APPROVABLE
    assert aim.version_use.version == CURRENT
    assert aim.version_use.plan_line is False


def test_a_careSource_request_of_2026_05_20_has_no_version_in_effect():
    result = _judge("2026-05-20", payer="CareSource")
    (caresource,) = result.results
    assert caresource.determination == Determination.NO_VERSION
    assert "no version in effect on 2026-05-20" in caresource.version_use.reason()


def test_the_version_decides_a_case_without_a_therapeutic_injection():
    def without_therapeutic(date: str):
        data = _shifted(base_case(), dt.date.fromisoformat(date))
        data["line_of_business"] = "commercial"
        data["records"]["injection"] = [
            r for r in data["records"]["injection"] if r["purpose"] != "therapeutic"
        ]
        loaded = [p for p in bundled_policy_versions() if p.policy.id == AIM]
        case = validate_case(data, loaded[0].policy.vocabulary, "case.yaml")
        (result,) = evaluate_case(loaded, case, QUICK).results
        return result

    assert without_therapeutic("2022-07-01").determination == Determination.APPROVABLE
    later = without_therapeutic("2022-10-01")
    assert later.determination == Determination.INCOMPLETE
    assert "therapeutic_injection_trial" in {
        n.id for top in later.criteria for n in [top, *top.children]
    }


# ------------------------------------------------------------------ the command line
CASES = Path(__file__).resolve().parent.parent / "examples" / "cases"


def _run(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_policy_at_version_picks_that_version_whatever_the_date(capsys):
    args = ("--policy", f"{AIM}@{EARLIER}", "--format", "json", CASES / "approvable.yaml")
    code, out, _ = _run(capsys, "check", *args)
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert result["policy_version"]["version"] == EARLIER
    assert result["policy_version"]["selection"]["explicit"] is True
    assert result["notices"] == []  # in effect on 2026-07-15 anyway, were it the latest
    code, out, _ = _run(capsys, "check", "--policy", f"{AIM}@{EARLIER}", CASES / "approvable.yaml")
    assert "version 2022-06-12, chosen explicitly with --policy" in " ".join(out.split())


def test_an_unknown_version_is_refused_with_the_known_ones(capsys):
    code, out, err = _run(
        capsys, "check", "--policy", f"{AIM}@2021-01-01", CASES / "approvable.yaml"
    )
    assert code == 2 and out == ""
    assert "policy 'aim_sijf_2022' has no version '2021-01-01'" in err
    assert EARLIER in err and CURRENT in err


def test_a_policy_asked_for_in_two_versions_is_refused(capsys):
    args = ("--policy", f"{AIM}@{EARLIER}", "--policy", f"{AIM}@{CURRENT}")
    code, _, err = _run(capsys, "check", *args, CASES / "approvable.yaml")
    assert code == 2 and "asked for twice" in err


def test_as_of_chooses_versions_on_that_date_and_keeps_the_request_date(capsys):
    args = ("--as-of", "2022-07-01", "--format", "json", CASES / "approvable.yaml")
    code, out, _ = _run(capsys, "check", *args)
    assert code == 0
    data = json.loads(out)
    assert data["request_date"] == "2026-07-15"
    by_policy = {r["policy"]: r for r in data["results"]}
    selection = by_policy[AIM]["policy_version"]["selection"]
    # The case does not document its line of business, which decides AIM's version then.
    assert by_policy[AIM]["policy_version"]["version"] is None
    assert selection["line_of_business_needed"] is True
    assert selection["on"] == "2022-07-01" and selection["as_of"] is True
    assert by_policy["caresource_sijf_2026"]["determination"] == "no_version_in_effect"


def test_policies_lists_every_version_with_its_dates(capsys):
    code, out, _ = _run(capsys, "policies", "--format", "json")
    assert code == 0
    listed = {(p["id"], p["version"]): p for p in json.loads(out)["policies"]}
    assert listed[(AIM, EARLIER)]["effective_for"] == {"medicaid": "2022-09-11"}
    assert listed[(AIM, CURRENT)]["effective"] == "2022-09-11"
    _, out, _ = _run(capsys, "policies")
    assert "effective 2022-06-12; 2022-09-11 for medicaid" in " ".join(out.split())


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_two_files_with_one_id_and_version_exit_2_naming_both(tmp_path, capsys):
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
    first = folder / "a.sijp"
    second = folder / "b.sijp"
    shutil.copy(POLICIES_DIR / "aim_sijf_2022.sijp", first)
    shutil.copy(POLICIES_DIR / "aim_sijf_2022.sijp", second)
    args = ("--policy-file", first, "--policy-file", second, CASES / "approvable.yaml")
    code, out, err = _run(capsys, "check", *args)
    assert code == 2 and out == ""
    assert "a.sijp" in err and "b.sijp" in err and "version '2022-09-11'" in err
    code, _, err = _run(capsys, "lint", first, second)
    assert code == 2 and "a.sijp" in err and "b.sijp" in err


def test_batch_judges_each_case_under_its_version(tmp_path, capsys):
    early = _shifted(base_case(), dt.date(2022, 7, 1))
    early["id"] = "early"
    early["line_of_business"] = "commercial"  # Medicaid would have no version on the date
    lines = [json.dumps(early, default=str), json.dumps(base_case(), default=str)]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, _ = _run(capsys, "batch", source, "--out", out, "--policy", AIM)
    assert code == 0
    results = [json.loads(line)["results"][0] for line in out.read_text().splitlines()]
    assert [r["policy_version"]["version"] for r in results] == [EARLIER, CURRENT]


def test_batch_takes_a_pinned_version_and_as_of(tmp_path, capsys):
    source = tmp_path / "cases.jsonl"
    case = {**base_case(), "line_of_business": "commercial"}
    source.write_text(json.dumps(case, default=str) + "\n", encoding="utf-8")
    pinned, as_of = tmp_path / "pinned.jsonl", tmp_path / "as_of.jsonl"
    assert _run(capsys, "batch", source, "--out", pinned, "--policy", f"{AIM}@{EARLIER}")[0] == 0
    assert _run(capsys, "batch", source, "--out", as_of, "--as-of", "2022-07-01")[0] == 0
    (result,) = json.loads(pinned.read_text())["results"]
    assert result["policy_version"]["selection"]["explicit"] is True
    assert result["policy_version"]["version"] == EARLIER
    by_policy = {r["policy"]: r for r in json.loads(as_of.read_text())["results"]}
    assert by_policy[AIM]["policy_version"]["version"] == EARLIER
    assert by_policy["caresource_sijf_2026"]["determination"] == "no_version_in_effect"


@pytest.mark.slow  # a fresh interpreter
def test_the_command_says_no_version_for_medicaid_in_a_subprocess(tmp_path):
    data = _shifted(base_case(), dt.date(2022, 7, 1))
    data["plan"] = "Anthem Medicaid"
    data["line_of_business"] = "Medicaid"
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sijfasp", "check", str(path), "--policy", AIM],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    words = " ".join(done.stdout.split())
    assert "no version in effect on 2022-07-01 for Medicaid" in words
    assert "determination: no version in effect" in words


def test_a_policy_file_loads_with_its_version():
    loaded = load_policy(POLICIES_DIR / f"{AIM}_v{EARLIER}.sijp")
    assert versions.reference(loaded) == f"{AIM}@{EARLIER}"
    assert versions.dates_text(loaded) == "effective 2022-06-12; 2022-09-11 for Medicaid"
