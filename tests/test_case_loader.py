"""Case files: every bad case gives one clear message naming the file and the field, exit 2,
never a traceback; strings that look like ASP are data, not program text."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from support import (
    APPROVABLE,
    approvable_case,
    known_determinations,
    run_cli,
    write_case,
)

from sijfasp.cases.case import load_case, read_case_text, validate_case
from sijfasp.cli.main import main
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.policies.loading import bundled_policies
from sijfasp.solve.case_facts import case_symbols

ASP_LIKE = "a). #false. b("
VOCABULARY = bundled_policies()[0].policy.vocabulary


def _minimal(**request) -> dict:
    return {
        "id": "x",
        "request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15", **request},
    }


def _run_check(path: Path, in_process: bool = True) -> tuple[int, str, str]:
    """`sijfasp check PATH` through cli.main in this process, or through a subprocess."""
    if not in_process:
        result = run_cli("check", path)
        return result.returncode, result.stdout, result.stderr
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path)])
    return code, out.getvalue(), err.getvalue()


def _check_bad(path: Path, in_process: bool = True) -> tuple[list[str], str]:
    """Run `check` on a bad case: exit 2, nothing on stdout, no traceback.

    Returns the error lines (hints and quoted lines left out) and the whole stderr.
    """
    code, stdout, stderr = _run_check(path, in_process)
    assert code == 2, (stdout, stderr)
    assert stdout == ""
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert stderr.strip()
    return [line for line in stderr.splitlines() if not line.startswith("  ")], stderr


def _one_error(path: Path, field_path: str | None, *words: str, in_process: bool = True) -> str:
    """Exactly one error line: `FILE: FIELD: error[case]: message`, and `words` in stderr."""
    lines, stderr = _check_bad(path, in_process)
    assert len(lines) == 1, lines
    (line,) = lines
    prefix = f"{path}: {field_path}: " if field_path else f"{path}: "
    assert line.startswith(prefix + "error[case]: "), line
    for word in words:
        assert word in stderr, (word, stderr)
    return stderr


# ------------------------------------------------------------------ unreadable files
def test_not_yaml(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(
        "id: x\nrequest: {service: percutaneous_sij_fusion, date: 2026-07-15\nfindings: [\n",
        encoding="utf-8",
    )
    _one_error(path, None, "not valid YAML", "line 3")


def test_not_json(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(
        '{"id": "x", "request": {"service": "percutaneous_sij_fusion",}', encoding="utf-8"
    )
    _one_error(path, None, "not valid JSON", "line 1")


def test_missing_case_file(tmp_path):
    _one_error(tmp_path / "absent.yaml", None, "cannot read", in_process=True)


def test_empty_file(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("", encoding="utf-8")
    _one_error(path, "(top)", "mapping", in_process=True)


def test_list_at_top_level(tmp_path):
    path = write_case(tmp_path, ["a", "b"])
    _one_error(path, "(top)", "mapping", "a list")


def test_list_at_top_level_json(tmp_path):
    path = write_case(tmp_path, [approvable_case()], "case.json")
    _one_error(path, "(top)", "a list", in_process=True)


# ------------------------------------------------------------------ wrong content
def test_unknown_top_level_field(tmp_path):
    data = _minimal()
    data["finding"] = {"vas_score": 5}
    _one_error(
        write_case(tmp_path, data), "finding", "unknown field 'finding'", "did you mean 'findings'?"
    )


def test_unknown_finding(tmp_path):
    data = _minimal()
    data["findings"] = {"vas_scor": 5}
    _one_error(
        write_case(tmp_path, data),
        "findings.vas_scor",
        "unknown finding 'vas_scor'",
        "did you mean 'vas_score'?",
    )


def test_request_field_written_as_finding(tmp_path):
    data = _minimal()
    data["findings"] = {"side": "left"}
    _one_error(
        write_case(tmp_path, data), "findings.side", "belongs under request", in_process=True
    )


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("vas_score", "high", ["number from 0 to 10", "'high'"]),
        ("pain_radiating", "no", ["true or false", "'no'"]),
        ("pain_radiating", 1, ["true or false", "number 1"]),
        ("vas_score", True, ["number from 0 to 10", "true"]),
        ("vas_score", [5], ["number from 0 to 10", "a list"]),
        ("vas_score", 5.555, ["decimal places"]),
    ],
)
def test_wrong_type(tmp_path, name, value, words):
    data = _minimal()
    data["findings"] = {name: value}
    required = (name, value) in (("vas_score", "high"), ("pain_radiating", "no"))
    _one_error(write_case(tmp_path, data), f"findings.{name}", *words, in_process=not required)


def test_yaml_word_no_is_refused_as_text(tmp_path):
    # `no` in YAML 1.1 is false; quoted "no" is text and must be refused for a bool.
    path = tmp_path / "case.yaml"
    path.write_text(
        "request: {service: percutaneous_sij_fusion, date: 2026-07-15}\n"
        'findings: {pain_radiating: "no"}\n',
        encoding="utf-8",
    )
    _one_error(path, "findings.pain_radiating", "true or false", in_process=True)


@pytest.mark.parametrize(
    "name, value", [("vas_score", 15), ("vas_score", -1), ("odi_score", 100.5), ("bmi", 5)]
)
def test_out_of_range(tmp_path, name, value):
    data = _minimal()
    data["findings"] = {name: value}
    _one_error(
        write_case(tmp_path, data),
        f"findings.{name}",
        str(value),
        "out of range",
        in_process=value != 15,
    )


def test_bad_date_quoted(tmp_path):
    data = _minimal(date="2026-13-40")
    _one_error(write_case(tmp_path, data), "request.date", "2026-13-40", "YYYY-MM-DD")


def test_bad_date_json(tmp_path):
    data = _minimal(date="2026-13-40")
    _one_error(
        write_case(tmp_path, data, "case.json"), "request.date", "2026-13-40", in_process=True
    )


def test_bad_date_unquoted_yaml(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(
        "id: x\nrequest: {service: percutaneous_sij_fusion, date: 2026-13-40}\n", encoding="utf-8"
    )
    _one_error(path, "request.date", "2026-13-40")


@pytest.mark.parametrize("value", ["15/07/2026", "2026-7-15", 20260715, "today"])
def test_other_bad_dates(tmp_path, value):
    _one_error(
        write_case(tmp_path, _minimal(date=value)), "request.date", "YYYY-MM-DD", in_process=True
    )


def test_date_and_time_is_not_a_date(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(
        "request: {service: percutaneous_sij_fusion, date: 2026-07-15T10:00:00}\n", encoding="utf-8"
    )
    _one_error(path, "request.date", "date and time", in_process=True)


def test_unknown_service(tmp_path):
    _one_error(
        write_case(tmp_path, _minimal(service="percutanous_sij_fusion")),
        "request.service",
        "'percutanous_sij_fusion'",
        "did you mean 'percutaneous_sij_fusion'?",
    )


def test_missing_request(tmp_path):
    _one_error(
        write_case(tmp_path, {"id": "x", "findings": {}}),
        "request",
        "service",
        "date",
        in_process=True,
    )


def test_missing_request_date(tmp_path):
    data = _minimal()
    del data["request"]["date"]
    _one_error(write_case(tmp_path, data), "request.date", "missing", in_process=True)


def test_unknown_request_field(tmp_path):
    _one_error(
        write_case(tmp_path, _minimal(sde="left")),
        "request.sde",
        "did you mean 'side'?",
        in_process=True,
    )


def test_unknown_record_kind(tmp_path):
    data = _minimal()
    data["records"] = {"therapies": []}
    _one_error(
        write_case(tmp_path, data),
        "records.therapies",
        "unknown record kind",
        "did you mean 'therapy'?",
    )


def _injection(**fields) -> dict:
    record = {
        "date": "2026-04-01",
        "purpose": "diagnostic",
        "site": "sij_intra_articular",
        "image_guided": True,
        "contrast_enhanced": True,
        "agent": "local_anesthetic",
        "relief_percent": 80,
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def test_record_missing_its_date(tmp_path):
    data = _minimal()
    data["records"] = {"injection": [_injection(), _injection(date=None)]}
    _one_error(write_case(tmp_path, data), "records.injection[1].date", "missing")


def test_record_dated_after_the_request(tmp_path):
    data = _minimal()
    data["records"] = {"injection": [_injection(date="2026-08-01")]}
    _one_error(
        write_case(tmp_path, data),
        "records.injection[0].date",
        "2026-08-01",
        "after the request date 2026-07-15",
    )


def test_therapy_end_before_start(tmp_path):
    data = _minimal()
    data["records"] = {"therapy": [{"kind": "rest", "start": "2026-05-01", "end": "2026-04-01"}]}
    _one_error(
        write_case(tmp_path, data),
        "records.therapy[0].end",
        "2026-04-01",
        "before the start 2026-05-01",
    )


def test_therapy_starting_after_the_request(tmp_path):
    data = _minimal()
    data["records"] = {"therapy": [{"kind": "rest", "start": "2026-08-01"}]}
    _one_error(
        write_case(tmp_path, data), "records.therapy[0].start", "after the request", in_process=True
    )


def test_unknown_record_field(tmp_path):
    data = _minimal()
    data["records"] = {"injection": [_injection(relief=80)]}
    _one_error(
        write_case(tmp_path, data),
        "records.injection[0].relief",
        "did you mean 'relief_percent'?",
        in_process=True,
    )


def test_derived_field_is_refused(tmp_path):
    data = _minimal()
    data["records"] = {"therapy": [{"kind": "rest", "start": "2026-05-01", "duration_days": 30}]}
    _one_error(
        write_case(tmp_path, data), "records.therapy[0].duration_days", "computed", in_process=True
    )


def test_field_only_for_another_kind(tmp_path):
    data = _minimal()
    data["records"] = {
        "therapy": [{"kind": "rest", "start": "2026-05-01", "patient_specific": True}]
    }
    _one_error(
        write_case(tmp_path, data),
        "records.therapy[0].patient_specific",
        "home_exercise_program",
        in_process=True,
    )


def test_bad_set_member(tmp_path):
    data = _minimal()
    data["records"] = {
        "imaging": [
            {
                "date": "2026-01-20",
                "modality": "xray",
                "region": "sij",
                "findings": ["sij_injury_or_degenration"],
            }
        ]
    }
    _one_error(
        write_case(tmp_path, data),
        "records.imaging[0].findings[0]",
        "did you mean 'sij_injury_or_degeneration'?",
        in_process=True,
    )


def test_records_not_a_list(tmp_path):
    data = _minimal()
    data["records"] = {"therapy": {"kind": "rest"}}
    _one_error(write_case(tmp_path, data), "records.therapy", "list", in_process=True)


def test_several_problems_are_reported_together(tmp_path):
    data = _minimal(service="percutanous_sij_fusion")
    data["findings"] = {"vas_scor": 5, "vas_score": "high", "pain_radiating": "no"}
    data["records"] = {"injection": [_injection(date="2026-08-01")]}
    lines, _ = _check_bad(write_case(tmp_path, data))
    paths = [line.split(": ")[1] for line in lines]
    assert paths == [
        "request.service",
        "findings.vas_scor",
        "findings.vas_score",
        "findings.pain_radiating",
        "records.injection[0].date",
    ]


# ------------------------------------------------------------------ strings that look like ASP
@pytest.mark.parametrize("where", ["service", "side", "approach", "fixation"])
def test_asp_like_request_value_is_refused(tmp_path, where):
    data = approvable_case()
    data["request"][where] = ASP_LIKE
    stderr = _one_error(
        write_case(tmp_path, data),
        f"request.{where}",
        "expected one of",
        in_process=where != "service",
    )
    assert ASP_LIKE in stderr


def test_asp_like_record_value_is_refused(tmp_path):
    data = approvable_case()
    data["records"]["injection"][0]["agent"] = ASP_LIKE
    _one_error(
        write_case(tmp_path, data), "records.injection[0].agent", "expected one of", in_process=True
    )


def test_asp_like_finding_name_is_refused(tmp_path):
    data = approvable_case()
    data["findings"][ASP_LIKE] = True
    stderr = _one_error(write_case(tmp_path, data), f"findings.{ASP_LIKE}", "unknown finding")
    assert ASP_LIKE in stderr


def test_asp_like_record_kind_is_refused(tmp_path):
    data = approvable_case()
    data["records"][ASP_LIKE] = []
    _one_error(
        write_case(tmp_path, data), f"records.{ASP_LIKE}", "unknown record kind", in_process=True
    )


@pytest.mark.parametrize("name", ["case.yaml", "case.json"])
def test_asp_like_case_id_is_refused(tmp_path, name):
    data = approvable_case()
    data["id"] = ASP_LIKE
    _one_error(write_case(tmp_path, data, name), "id", "not a valid id", in_process=True)


# An id of the allowed characters that still reads like ASP: carried as data, never as program.
ASP_LIKE_ID = "a. not b: c/d"


@pytest.mark.slow
def test_asp_like_case_id_is_carried_as_data(tmp_path):
    data = approvable_case()
    data["id"] = ASP_LIKE_ID
    path = write_case(tmp_path, data, "case.json")
    result = run_cli("check", path, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["case"] == ASP_LIKE_ID
    assert known_determinations(result.stdout) == {
        "aim_sijf_2022": "approvable",
        "caresource_sijf_2026": "approvable",
    }


def test_case_symbols_never_carry_the_id():
    data = approvable_case()
    data["id"] = ASP_LIKE_ID
    case = validate_case(data, VOCABULARY, "case.yaml")
    assert case.id == ASP_LIKE_ID
    assert all(ASP_LIKE_ID not in str(symbol) for symbol in case_symbols(case))


# ------------------------------------------------------------------ equivalent formats
@pytest.mark.slow  # a few seconds; the full tier runs it
def test_json_case_gives_the_same_results_as_yaml(tmp_path):
    path = write_case(tmp_path, approvable_case(), "approvable.json")
    from_json = run_cli("check", path, "--format", "json")
    from_yaml = run_cli("check", APPROVABLE, "--format", "json")
    assert from_json.returncode == from_yaml.returncode == 0
    assert known_determinations(from_json.stdout) == {
        "aim_sijf_2022": "approvable",
        "caresource_sijf_2026": "approvable",
    }
    assert json.loads(from_json.stdout) == json.loads(from_yaml.stdout)


def test_json_and_yaml_load_to_the_same_case(tmp_path):
    yaml_case = load_case(APPROVABLE, VOCABULARY)
    json_case = load_case(write_case(tmp_path, approvable_case(), "approvable.json"), VOCABULARY)
    assert (json_case.id, json_case.request, json_case.findings, json_case.records) == (
        yaml_case.id,
        yaml_case.request,
        yaml_case.findings,
        yaml_case.records,
    )


def test_missing_id_falls_back_to_the_file_name(tmp_path):
    data = approvable_case()
    del data["id"]
    case = load_case(write_case(tmp_path, data, "my_case.yaml"), VOCABULARY)
    assert case.id == "my_case"


def test_null_finding_is_not_documented():
    data = approvable_case()
    data["findings"]["vas_score"] = None
    case = validate_case(data, VOCABULARY, "case.yaml")
    assert "vas_score" not in case.findings


def test_read_case_text_refuses_deep_nesting():
    with pytest.raises(SijfaspError):
        validate_case(read_case_text("[" * 100000, "deep.json"), VOCABULARY, "deep.json")


def test_request_dated_in_year_one_is_not_an_internal_error(tmp_path):
    data = _minimal(date="0001-06-01")
    code, _, stderr = _run_check(write_case(tmp_path, data))
    assert code in (0, 2), stderr
    assert "internal error" not in stderr and "Traceback" not in stderr


def test_id_from_a_file_name_with_other_characters(tmp_path):
    data = approvable_case()
    del data["id"]
    case = load_case(write_case(tmp_path, data, "case (1).yaml"), VOCABULARY)
    assert case.id == "case _1_"


@pytest.mark.parametrize("case_id", ["odi_missing", "2026-0715/A", "member 1234", "a.b:c", 42])
def test_valid_ids(case_id):
    data = approvable_case()
    data["id"] = case_id
    assert validate_case(data, VOCABULARY, "case.yaml").id == str(case_id)


@pytest.mark.parametrize("case_id", ["-x", "x ", "a\tb", "a#b", "x" * 129, True, ["a"]])
def test_invalid_ids(tmp_path, case_id):
    data = approvable_case()
    data["id"] = case_id
    _one_error(write_case(tmp_path, data), "id", "id", in_process=True)
