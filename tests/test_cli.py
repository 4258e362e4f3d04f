"""The `sijfasp` command through a subprocess (`python -m sijfasp ...` from the repository root):
listing, checking, explaining, missing documentation, compiling and usage errors."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from support import (
    APPROVABLE,
    DETERMINATIONS,
    POLICY_IDS,
    REPO,
    approvable_case,
    bundled_ids,
    determinations,
    known_determinations,
    run_cli,
    run_many,
    write_case,
)

from sijfasp.cli.main import main

# Every test here reads outputs of the command run in subprocesses: the full tier only (the quick
# tier reaches the command through the letter, hostile-case and policy-test modules).
pytestmark = pytest.mark.slow

APPROVABLE_REL = APPROVABLE.relative_to(APPROVABLE.parents[2]).as_posix()
WIDTH = 80

USAGE_ERRORS = [
    [],
    ["frobnicate"],
    ["check"],
    ["check", APPROVABLE_REL, "--format", "xml"],
    ["check", APPROVABLE_REL, "--enumerate", "-1"],
    ["check", "no/such/case.yaml"],
    ["compile"],
    ["compile", "--check", "policies_asp/aim_sijf_2022.sijp"],
    ["compile", "no/such/policy.sijp"],
    ["lint", "no/such/policy.sijp"],
    ["check", APPROVABLE_REL, "--policy-file", "no/such/policy.sijp"],
]


# Commands whose output several tests read: run once, side by side, before the tests.
_RUNS: dict[tuple, object] = {}


def _run(*args):
    key = tuple(str(a) for a in args)
    if key not in _RUNS:
        _RUNS[key] = run_cli(*key)
    return _RUNS[key]


def _ok(*args) -> str:
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _narrow(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not wide, f"lines wider than {WIDTH} characters: {wide}"


# Cases derived from the approvable example, one per determination. Each entry: what to change,
# then the expected determination under (AIM, CareSource).
def _excluded(case):
    case["findings"]["tumor"] = True


def _not_met(case):
    case["findings"]["vas_score"] = 3


def _incomplete(case):
    del case["findings"]["vas_score"]
    del case["findings"]["odi_score"]
    case["records"]["injection"].pop()


def _open_fusion(case):
    case["request"]["service"] = "open_sij_fusion"


def _revision(case):
    case["request"]["service"] = "revision_sij_fusion"


SCENARIOS = {
    "approvable": (lambda case: None, ("approvable", "approvable")),
    "excluded": (_excluded, ("excluded", "excluded")),
    "not_met": (_not_met, ("not_met", "not_met")),
    "incomplete": (_incomplete, ("incomplete", "incomplete")),
    "open_fusion": (_open_fusion, ("not_applicable", "incomplete")),
    "revision": (_revision, ("incomplete", "not_applicable")),
}


# Scenarios whose text output is checked for its width through a subprocess; the others are
# checked through cli.main in this process (the same rendering, without a process per run).
WIDTH_SCENARIOS = ("approvable", "incomplete")


@pytest.fixture(scope="module")
def case_files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("cases")
    files = {}
    for name, (change, _) in SCENARIOS.items():
        case = approvable_case()
        case["id"] = name
        change(case)
        files[name] = write_case(directory, case, f"{name}.yaml")
    commands = [("policies",), ("policies", "--format", "json")]
    commands += [
        ("check", APPROVABLE_REL, "--format", "json"),
        ("explain", APPROVABLE_REL, "--format", "markdown"),
        ("missing", APPROVABLE_REL, "--format", "markdown"),
    ]
    commands += [("check", files[name], "--format", "json") for name in SCENARIOS]
    commands += [
        (command, files[name], "--format", "text")
        for name in WIDTH_SCENARIOS
        for command in ("check", "explain", "missing")
    ]
    commands += [("missing", files["incomplete"], "--format", "markdown")]
    commands += [tuple(args) for args in USAGE_ERRORS]
    _RUNS.update({tuple(str(a) for a in k): v for k, v in run_many(commands).items()})
    return files


@pytest.fixture(autouse=True)
def _prepared(case_files):
    """Every test sees the outputs run side by side up front."""


# ------------------------------------------------------------------ policies
def test_policies_text():
    out = _ok("policies")
    for word in (
        "aim_sijf_2022",
        "caresource_sijf_2026",
        "AIM Specialty Health",
        "CareSource",
        "2022-09-11",
        "2026-06-01",
        "percutaneous_sij_fusion",
        "revision_sij_fusion",
        "open_sij_fusion",
        "CPT 27279",
        "no CPT code listed",  # MM-1508 lists none: it judges a request by its service
        "MM-1508",
    ):
        assert word in out, word
    assert out.index("aim_sijf_2022") < out.index("caresource_sijf_2026")
    _narrow(out)


def test_policies_json():
    data = json.loads(_ok("policies", "--format", "json"))
    listing = {p["id"]: p for p in data["policies"]}
    assert list(listing) == bundled_ids()
    aim, caresource = (listing[policy] for policy in POLICY_IDS)
    assert aim["payer"] == "AIM Specialty Health" and aim["effective"] == "2022-09-11"
    assert caresource["effective"] == "2026-06-01" and caresource["number"] == "MM-1508"
    assert {s["service"]: s["cpt"] for s in aim["services"]} == {
        "percutaneous_sij_fusion": "27279",
        "revision_sij_fusion": "27279",
    }
    # MM-1508 lists no CPT codes: a request is judged by its service (the vocabulary's table).
    assert {s["service"]: s["cpt"] for s in caresource["services"]} == {
        "open_sij_fusion": None,
        "percutaneous_sij_fusion": None,
    }
    for policy in data["policies"]:
        assert {"id", "payer", "title", "effective", "services"} <= set(policy)


# ------------------------------------------------------------------ check
def test_check_approvable_text():
    out = _ok("check", APPROVABLE_REL, "--format", "text")
    assert out.startswith("case approvable: Percutaneous or minimally invasive SIJ fusion")
    assert "percutaneous_sij_fusion" not in out  # the service in words, as the policy names it
    blocks = {block.split(":", 1)[0]: block for block in out.split("\n\n")}
    for payer in ("AIM Specialty Health", "CareSource (Arkansas PASSE)"):
        assert "determination: approvable" in blocks[payer]
    assert out.count("determination: ") == len(bundled_ids())
    _narrow(out)


@pytest.fixture(scope="module")
def approvable_json() -> dict:
    return json.loads(_ok("check", APPROVABLE_REL, "--format", "json"))


def test_check_json_shape(approvable_json):
    data = approvable_json
    assert {"case", "service", "request_date", "results"} <= set(data)
    assert (data["case"], data["service"], data["request_date"]) == (
        "approvable",
        "percutaneous_sij_fusion",
        "2026-07-15",
    )
    assert [r["policy"] for r in data["results"]] == bundled_ids()
    for result in data["results"]:
        assert {
            "policy",
            "service",
            "determination",
            "criteria",
            "exclusions",
            "advisories",
            "reasons",
            "missing",
            "missing_grouped",
            "missing_total",
        } <= set(result)
        assert result["service"] == "percutaneous_sij_fusion"
        assert isinstance(result["criteria"], list) and result["criteria"]
        assert isinstance(result["reasons"], list)
        if result["policy"] not in ("aim_sijf_2022", "caresource_sijf_2026"):
            continue  # the case is written to meet these two
        assert result["determination"] == "approvable"
        assert result["missing"] == [] and result["missing_grouped"] == []
        for node in result["criteria"]:
            assert node["status"] == "met"


def test_check_json_criteria_carry_sections(approvable_json):
    aim = approvable_json["results"][0]
    texts = json.dumps(aim["criteria"])
    assert "Percutaneous 5" in texts and "diagnostic_blocks" in texts


def test_check_policy_restricts():
    data = json.loads(_ok("check", APPROVABLE_REL, "--policy", "aim_sijf_2022", "--format", "json"))
    assert [r["policy"] for r in data["results"]] == ["aim_sijf_2022"]
    text = _ok("check", APPROVABLE_REL, "--policy", "caresource_sijf_2026")
    assert "MM-1508" in text and "AIM" not in text
    assert "caresource_sijf_2026" not in text  # the policy by its citation, not its id


def test_check_unknown_policy():
    result = _run("check", APPROVABLE_REL, "--policy", "aim_sijf_2023")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown policy 'aim_sijf_2023'" in result.stderr
    assert "did you mean 'aim_sijf_2022'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_policy_nope():
    result = _run("check", APPROVABLE_REL, "--policy", "nope")
    assert result.returncode == 2
    assert "unknown policy 'nope'" in result.stderr
    # nothing is close to "nope": the known policies are listed instead
    assert "aim_sijf_2022" in result.stderr and "caresource_sijf_2026" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_determination_through_the_cli(case_files, scenario):
    result = _run("check", case_files[scenario], "--format", "json")
    assert result.returncode == 0, result.stderr
    expected = dict(zip(POLICY_IDS, SCENARIOS[scenario][1]))
    assert known_determinations(result.stdout) == expected


def test_all_five_determinations_are_covered():
    reached = {d for _, expected in SCENARIOS.values() for d in expected}
    assert reached == set(DETERMINATIONS)


def test_incomplete_json_lists_missing_documentation(case_files):
    data = json.loads(_ok("check", case_files["incomplete"], "--format", "json"))
    for result in data["results"]:
        assert result["determination"] == "incomplete"
        assert result["missing"], result["policy"]
        assert result["missing_total"] is None or result["missing_total"] >= 1
        for items in result["missing"]:
            for item in items:
                assert {"fact", "need", "criterion", "prompt", "item"} <= set(item)
        needs = {i["need"] for items in result["missing"] for i in items}
        assert "vas_score >= 5" in needs
        assert result["missing_grouped"]


def test_not_met_json_gives_reasons(case_files):
    data = json.loads(_ok("check", case_files["not_met"], "--format", "json"))
    for result in data["results"]:
        assert result["reasons"]
        assert any("vas_score" in r or "5" in r for r in result["reasons"])


def test_enumerate_limits_the_missing_sets(case_files):
    data = json.loads(
        _ok("check", case_files["incomplete"], "--format", "json", "--enumerate", "1")
    )
    assert all(len(r["missing"]) <= 1 for r in data["results"])


def test_policy_file_option():
    data = json.loads(
        _ok(
            "check",
            APPROVABLE_REL,
            "--policy-file",
            "policies_asp/caresource_sijf_2026.sijp",
            "--format",
            "json",
        )
    )
    assert determinations(json.dumps(data)) == {"caresource_sijf_2026": "approvable"}


# ------------------------------------------------------------------ explain and missing
def test_explain_text():
    out = _ok("explain", APPROVABLE_REL, "--format", "text")
    for word in (
        "Percutaneous 1",
        "Percutaneous 5",
        "D.I.B.4",
        "D.I.B.10",
        "days of the 12 months before the request",
        "exclusions checked",
        "Pain intensity on a 0-10 scale: 7/10",
    ):
        assert word in out, word
    _narrow(out)


def test_explain_markdown():
    out = _ok("explain", APPROVABLE_REL, "--format", "markdown")
    assert out.startswith("# ")
    assert "✓" in out
    assert "effective 2022-09-11" in out and "effective 2026-06-01" in out
    assert "| ✓ |" in out


def test_missing_markdown_has_the_prompts(case_files):
    out = _ok("missing", case_files["incomplete"], "--format", "markdown")
    assert out.startswith("# ")
    # prompts come from the vocabulary's `ask` texts
    assert "Document the pain score (VAS or 0-10 numeric rating scale)" in out
    assert "Document the Oswestry Disability Index score" in out
    assert "Document the injection" in out
    assert "effective 2022-09-11" in out


def test_missing_text_for_incomplete_case(case_files):
    out = _ok("missing", case_files["incomplete"], "--format", "text")
    out = " ".join(out.split())
    assert "Pain intensity on a 0-10 scale: 5 points or more" in out
    assert "Oswestry Disability Index: 30 points or more" in out
    assert "minimal sets of missing documentation" in out


def test_missing_for_approvable_case_asks_nothing():
    out = _ok("missing", APPROVABLE_REL, "--format", "text")
    assert "nothing to add" in out
    markdown = _ok("missing", APPROVABLE_REL, "--format", "markdown")
    assert markdown.startswith("# No additional information requested")
    assert "Request for additional information" not in markdown


@pytest.mark.parametrize("scenario", WIDTH_SCENARIOS)
@pytest.mark.parametrize("command", ["check", "explain", "missing"])
def test_text_output_fits_80_columns(case_files, command, scenario):
    _narrow(_ok(command, case_files[scenario], "--format", "text"))


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s not in WIDTH_SCENARIOS])
def test_text_output_fits_80_columns_in_process(case_files, scenario):
    for command in ("check", "explain", "missing"):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([command, str(case_files[scenario])])
        assert code == 0, err.getvalue()
        _narrow(out.getvalue())


def test_not_applicable_is_stated(case_files):
    out = _ok("explain", case_files["open_fusion"], "--format", "text")
    assert "not applicable" in out


# ------------------------------------------------------------------ compile and lint
def test_compile_output_file_equals_stdout(tmp_path):
    source = "policies_asp/aim_sijf_2022.sijp"
    stdout = _ok("compile", source)
    target = tmp_path / "out.lp"
    assert _ok("compile", source, "-o", target) == ""
    assert target.read_text(encoding="utf-8") == stdout
    assert stdout == Path(APPROVABLE.parents[2], "policies_asp/aim_sijf_2022.lp").read_text(
        encoding="utf-8"
    )


def test_lint_default_checks_bundled_policies():
    from sijfasp.policies.loading import bundled_policy_paths

    assert f"{len(bundled_policy_paths())} policy files" in _ok("lint")


def test_lint_of_a_folder_checks_the_policy_set_it_holds(tmp_path):
    from sijfasp.policies.loading import bundled_policy_paths

    # As fmt takes a folder, lint takes one: the set's policies, read with its vocabulary.
    assert f"{len(bundled_policy_paths())} policy files: no errors" in _ok("lint", "policies_asp")
    both = run_cli("lint", "policies_asp", "policies_asp/caresource_sijf_2026.sijp")
    assert both.returncode == 2 and "Traceback" not in both.stderr
    assert "name one policy folder, or policy and vocabulary files, not both" in both.stderr
    empty = run_cli("lint", str(tmp_path))
    assert empty.returncode == 2 and "holds no policy file" in empty.stderr


# ------------------------------------------------------------------ usage errors
@pytest.mark.parametrize("args", USAGE_ERRORS, ids=lambda a: " ".join(a) or "(none)")
def test_usage_errors_exit_2(args):
    result = _run(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_help_and_version():
    assert "check" in _ok("--help")
    assert _ok("--version").startswith("sijfasp ")


def test_compile_to_an_unwritable_place_is_an_input_error(tmp_path):
    result = run_cli(
        "compile", "policies_asp/aim_sijf_2022.sijp", "-o", tmp_path / "no" / "such" / "out.lp"
    )
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr


def test_long_case_id_fits_80_columns(tmp_path):
    case = approvable_case()
    case["id"] = "2026-000123-left-sij-fusion-resubmission"
    path = write_case(tmp_path, case)
    for command in ("check", "missing"):
        _narrow(_ok(command, path, "--format", "text"))


@pytest.mark.parametrize("name", ["vas_4", "fibromyalgia", "two_tests_negative", "odi_missing"])
def test_adverse_wording_never_says_denied(name):
    """The tool finds criteria unmet; a physician reviewer decides. No output says "denied"."""
    case = f"examples/cases/{name}.yaml"
    for command, fmt in (
        ("check", "text"),
        ("explain", "text"),
        ("explain", "markdown"),
        ("missing", "markdown"),
        ("check", "json"),
    ):
        output = _ok(command, case, "--format", fmt).lower()
        assert "denied" not in output and "deny" not in output, (command, fmt)


# ------------------------------------------------------------------ promises of the CLI help
def test_compile_check_reports_a_stale_policy_and_write_mends_it(tmp_path):
    """In a copy of the project: an edited policy makes --check exit 1; --write makes it pass."""
    for folder in ("sijfasp", "grammar", "policies_asp"):
        shutil.copytree(
            REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    policy = tmp_path / "policies_asp" / "aim_sijf_2022.sijp"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace(
            '"ODI of 30 or more"', '"ODI score of 30 or more"'
        ),
        encoding="utf-8",
    )
    stale = run_cli("compile", "--check", cwd=tmp_path)
    assert stale.returncode == 1, stale.stderr
    assert "aim_sijf_2022.lp" in stale.stderr and "caresource" not in stale.stderr
    written = run_cli("compile", "--write", cwd=tmp_path)
    assert written.returncode == 0 and "aim_sijf_2022.lp" in written.stdout
    assert '"ODI score of 30 or more"' in (
        tmp_path / "policies_asp" / "aim_sijf_2022.lp"
    ).read_text(encoding="utf-8")
    assert run_cli("compile", "--check", cwd=tmp_path).returncode == 0


def test_explain_json_has_the_criteria_tree_with_evidence():
    data = json.loads(_ok("explain", "examples/cases/vas_4.yaml", "--format", "json"))
    aim = next(r for r in data["results"] if r["policy"] == "aim_sijf_2022")
    assert aim["determination"] == "not_met"
    (pain,) = [c for c in aim["criteria"] if c["id"] == "pain_and_function"]
    vas = next(c for c in pain["children"] if c["id"] == "vas_at_least_5")
    assert (vas["status"], vas["evidence"]) == ("not_met", ["vas_score = 4"])
    assert vas["cite"] == "AIM SIJF 2022 Percutaneous 1, VAS"
    assert any("Percutaneous 1, VAS" in reason for reason in aim["reasons"])


def test_lint_checks_a_vocabulary_file(tmp_path):
    assert "1 file: no errors" in _ok("lint", "policies_asp/vocabulary.sijv")
    bad = tmp_path / "bad.sijv"
    bad.write_text(
        'vocabulary v "v"\nrequest_field service: choice {a} { required means "m" '
        'ask "a" }\nrequest_field date: date { required means "m" ask "a" }\n'
        'finding pain: nmber 0..10 { means "m" ask "a" }\n',
        encoding="utf-8",
    )
    result = run_cli("lint", bad)
    assert result.returncode == 2
    assert "bad.sijv:4:15: error[type]: unknown type 'nmber'" in result.stderr
    assert "did you mean 'number'?" in result.stderr


def test_missing_with_enumerate_lists_that_many_sets_and_counts_the_rest():
    out = _ok(
        "missing",
        "examples/cases/empty_request.yaml",
        "--policy",
        "caresource_sijf_2026",
        "--enumerate",
        "2",
    )
    assert "minimal sets of missing documentation: more than 2, fewest items first" in out
    assert "    1. " in out and "    2. " in out and "    3. " not in out
    assert "... and more sets (a larger --enumerate N lists more)" in out
