"""Semantic checks of policies and vocabularies, and golden files of the rendered diagnostics.

Golden diagnostics: every tests/bad_policies/<name>.sijp is linted through the command line
(`python -m sijfasp lint tests/bad_policies/<name>.sijp`, run from the repository root so paths
print relative); the exact stderr is compared with tests/golden/diagnostics/<name>.txt and the
exit status must be 2.

Set SIJFASP_UPDATE_GOLDEN=1 to rewrite the golden files from the current output instead of
comparing, then review the diff before committing:

    SIJFASP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest \
        tests/test_semantics.py tests/test_compile_golden.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import (
    BAD_POLICIES,
    GOLDEN,
    POLICIES_DIR,
    REPO,
    VOCABULARY,
    check_golden,
    run_cli,
    run_many,
)

from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.parser import parse_text
from sijfasp.language.semantics import check_vocabulary
from sijfasp.policies.loading import bundled_policies, bundled_policy_paths, load_policy

BAD_FILES = sorted(BAD_POLICIES.glob("*.sijp"))
GOLDEN_DIAGNOSTICS = GOLDEN / "diagnostics"

# What each bad policy must report, independent of the exact wording in the golden file:
# (code, severity, line, words the message or hint must contain).
EXPECTED = {
    "syntax_error": [
        ("syntax", "error", 12, ["'extra'"]),
        ("syntax", "error", 15, ["'>'", "number"]),
    ],
    "syntax_error_cascade": [
        ("syntax", "error", 16, ["'vas_score'", "':'"]),
        ("syntax", "error", 17, ["character", "double quotes"]),
    ],
    "unknown_finding": [("unknown-name", "error", 15, ["vas_scor", "did you mean 'vas_score'"])],
    "wrong_type": [("type", "error", 15, ["vas_score", "number", "true or false"])],
    "out_of_range": [("range", "error", 15, ["15", "vas_score", "0..10"])],
    "at_least_too_many": [("count", "error", 15, ["at least 4", "3"])],
    "unknown_duration_unit": [
        ("syntax", "error", 15, ["'weeks'", "days or months"]),
        ("syntax", "error", 16, ["'years'", "days or months"]),
    ],
    "months_past_window": [("count", "error", 15, ["6 months", "3 months"])],
    "service_code_of_another_service": [
        ("type", "error", 13, ["CPT 27280", "percutaneous_sij_fusion", "27278, 27279"]),
        ("syntax", "error", 14, ["open_sij_fusion", "section and a label"]),
    ],
    "undefined_definition": [
        ("unknown-name", "error", 17, ["pain_requirment", "did you mean 'pain_requirement'"])
    ],
    "definition_cycle": [("cycle", "error", 14, ["pain_ok", "function_ok"])],
    "unknown_record_field": [
        ("unknown-name", "error", 16, ["knd", "therapy", "did you mean 'kind'"])
    ],
    # One typo, one error: the misspelt name is not reported missing as well.
    "unknown_policy_property": [("property", "error", 5, ["payr", "did you mean 'payer'"])],
    "missing_section": [("property", "error", 15, ["pain_score", "section"])],
    "duplicate_criterion": [("duplicate-name", "error", 16, ["pain_score", ":15:"])],
    "service_without_criteria": [("scope", "error", 13, ["open_sij_fusion", "criteria"])],
    # Syntax errors that name the mistake, each one error with no follow-on errors.
    "unclosed_brace": [
        ("syntax", "error", 16, ["'{' opened at line 16 is never closed", "noticed at line 26"])
    ],
    "misspelt_keywords": [
        ("syntax", "error", 14, ["'criterias'", "did you mean 'criteria'"]),
        ("syntax", "error", 16, ["'atleast'", "did you mean 'at least'"]),
        ("syntax", "error", 21, ["'exclusion'", "did you mean 'exclusions'"]),
    ],
    "joined_conditions": [
        ("syntax", "error", 15, ["'or'", "any of {"]),
        ("syntax", "error", 16, ["'and'", "all of {"]),
        ("syntax", "error", 17, ["'or'", "any of {"]),
    ],
    "unknown_vocabulary_name": [
        ("import", "error", 2, ["'sij_fusoin'", "bundled", "did you mean 'sij_fusion'"])
    ],
    "mistyped_comparisons": [
        ("syntax", "error", 15, ["'=='", "write '='"]),
        ("syntax", "error", 16, ["'=>'", "write '>='"]),
        ("syntax", "error", 17, ["expected ':'", "label is followed by ':'"]),
    ],
}
# The bad policies whose diagnostics are exactly those listed (no cascade after them).
EXACT = {"unclosed_brace", "misspelt_keywords", "joined_conditions", "mistyped_comparisons"}


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# ------------------------------------------------------------------ golden diagnostics
def test_every_required_bad_policy_is_present():
    assert {p.stem for p in BAD_FILES} == set(EXPECTED)


def test_no_orphan_golden_diagnostics():
    goldens = {p.stem for p in GOLDEN_DIAGNOSTICS.glob("*.txt")}
    assert goldens <= {p.stem for p in BAD_FILES}


@pytest.fixture(scope="module")
def lint_runs() -> dict:
    """`sijfasp lint` on every bad policy, run side by side."""
    runs = run_many([("lint", _rel(p)) for p in BAD_FILES])
    return {args[1]: result for args, result in runs.items()}


@pytest.mark.slow  # one `sijfasp lint` subprocess per bad policy
@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_lint_output_matches_golden(lint_runs, path):
    result = lint_runs[_rel(path)]
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(_rel(path) + ":")
    check_golden(GOLDEN_DIAGNOSTICS / f"{path.stem}.txt", result.stderr)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_policy_diagnostics(path):
    with pytest.raises(SijfaspError) as raised:
        load_policy(path, _rel(path))
    errors = [d for d in raised.value.diagnostics if d.severity == "error"]
    expected = EXPECTED[path.stem]
    for code, severity, line, words in expected:
        matches = [
            d
            for d in raised.value.diagnostics
            if (d.code, d.severity) == (code, severity)
            and d.span is not None
            and d.span.line == line
            and d.span.path == _rel(path)
        ]
        assert matches, f"no {severity}[{code}] on line {line}: {raised.value.diagnostics}"
        texts = [d.message + " " + (d.hint or "") for d in matches]
        assert any(all(word in text for word in words) for text in texts), (words, texts)
    assert {d.code for d in errors} <= {e[0] for e in expected}
    if path.stem in EXACT:
        assert len(raised.value.diagnostics) == len(expected), raised.value.diagnostics


def test_definition_cycle_names_the_whole_cycle():
    with pytest.raises(SijfaspError) as raised:
        load_policy(BAD_POLICIES / "definition_cycle.sijp")
    messages = [d.message for d in raised.value.diagnostics if d.code == "cycle"]
    assert any("pain_ok -> function_ok -> pain_ok" in m for m in messages)


# ------------------------------------------------------------------ bundled policies
def test_bundled_policies_load_without_problems():
    loaded = bundled_policies()
    by_id = {p.policy.id: p.policy for p in loaded}
    assert {"aim_sijf_2022", "caresource_sijf_2026"} <= set(by_id)
    aim, caresource = by_id["aim_sijf_2022"], by_id["caresource_sijf_2026"]
    assert aim.payer == "AIM Specialty Health"
    assert aim.effective.isoformat() == "2022-09-11"
    assert [(s.name, s.cpt) for s in aim.services] == [
        ("percutaneous_sij_fusion", "27279"),
        ("revision_sij_fusion", "27279"),
    ]
    assert caresource.number == "MM-1508"
    assert caresource.effective.isoformat() == "2026-06-01"
    # MM-1508 lists no procedure codes: its services judge a request by its service.
    assert [(s.name, s.cpt) for s in caresource.services] == [
        ("open_sij_fusion", None),
        ("percutaneous_sij_fusion", None),
    ]
    for policy in (aim, caresource):
        assert not getattr(policy, "warnings", ())


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_lint_of_bundled_policies_succeeds():
    result = run_cli("lint")
    assert result.returncode == 0, result.stderr
    assert f"{len(bundled_policy_paths())} policy files" in result.stdout


def test_bundled_criteria_keep_their_sections():
    aim = bundled_policies()[0].policy
    sections = {c.name: c.section for _, c in aim.criteria}
    assert sections["diagnostic_blocks"] == "Percutaneous 5"
    assert sections["structural_device"] == "Percutaneous, device"


def test_vocabulary_is_complete():
    vocabulary = bundled_policies()[0].policy.vocabulary
    vas = vocabulary.fact("finding", "vas_score")
    assert vas is not None and (vas.type.low, vas.type.high) == (0, 10)
    assert vas.ask and vas.means
    assert vocabulary.fact("request", "service").required
    assert vocabulary.fact("request", "side").required is False
    therapy = vocabulary.record("therapy")
    assert therapy.field("duration_days").derived
    assert therapy.field("patient_specific").only_for == "home_exercise_program"
    for fact in vocabulary.findings + vocabulary.request_fields:
        assert fact.ask, fact.name


# ------------------------------------------------------------------ inline policies
HEADER = """import "{vocabulary}"
policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" }
service percutaneous_sij_fusion [A] "Percutaneous"
"""


def _problems(tmp_path: Path, body: str, header: str | None = None) -> list:
    path = tmp_path / "p.sijp"
    text = (HEADER if header is None else header).replace("{vocabulary}", VOCABULARY.as_posix())
    path.write_text(text + body, encoding="utf-8")
    with pytest.raises(SijfaspError) as raised:
        load_policy(path)
    return raised.value.diagnostics


def _one(tmp_path: Path, body: str, code: str, *words: str):
    errors = [d for d in _problems(tmp_path, body) if d.severity == "error"]
    assert len(errors) == 1, errors
    (error,) = errors
    assert error.code == code, error
    text = error.message + " " + (error.hint or "")
    for word in words:
        assert word in text, (word, text)
    assert error.span is not None and error.span.line >= 4
    return error


def _criteria(expr: str) -> str:
    return f'criteria for percutaneous_sij_fusion {{\n  c [A.1] "Label": {expr}\n}}\n'


@pytest.mark.parametrize(
    "expr, code, words",
    [
        ("pain_radiating is not false", "type", ["is not true"]),
        ("request.sid is left", "unknown-name", ["sid", "did you mean 'side'"]),
        ("request.fixation is fda_device", "unknown-name", ["fda_device", "fda_structural_device"]),
        ("request.side is not left", "type", ["is not true"]),
        ("foo.bar is left", "unknown-name", ["request.NAME"]),
        ("side is left", "unknown-name", ["request.side"]),
        ("vas_score > 10", "range", ["never"]),
        ("vas_score < 0", "range", ["never"]),
        ("odi_score >= 300", "range", ["300", "0..100"]),
        ("vas_score in {high}", "type", ["vas_score"]),
        ("pain_radiating >= 1", "type", ["only numbers compare"]),
        ("tumor is maybe", "type", ["maybe"]),
        ("request.side in {left, middle}", "unknown-name", ["middle"]),
        ("at least 0 of { tumor is true }", "count", ["1 or more"]),
        ("at least 0 therapy", "count", ["1 or more"]),
        ("at least 1 imaging where findings has bogus", "unknown-name", ["bogus"]),
        ("at least 1 imaging where modality within last 3 days", "type", ["within", "date"]),
        ("at least 1 imaging where modality has mri", "type", ["has"]),
        ("at least 1 imaging where side matches request.approach", "type", ["share"]),
        ("at least 1 imaging where side matches side", "unknown-name", ["request.NAME"]),
        ("at least 1 injection where relief_percent >= 500", "range", ["500", "0..100"]),
        ("at least 1 injection where relief_percent > 100", "range", ["never"]),
        ("at least 1 therapy where kind is massages", "unknown-name", ["did you mean 'massage'"]),
        ("at least 5 days of injection", "type", ["start"]),
        ("at least 200 days of therapy within last 100 days", "count", ["200", "100"]),
        ("at least 1 therapy where start within last 0 days", None, []),
        ("at least 1 therapy or injection", "type", ["mixes"]),
        ("at least 1 therapys", "unknown-name", ["did you mean 'therapy'"]),
        ("at least 1 vas_score", "unknown-name", ["vas_score"]),
        ("not_defined_anywhere", "unknown-name", ["not a defined condition"]),
    ],
)
def test_semantic_errors(tmp_path, expr, code, words):
    if code is None:
        # A zero-day window: either refused as a range error or accepted; never a crash.
        try:
            load_policy(_write(tmp_path, _criteria(expr)))
        except SijfaspError as error:
            assert {d.code for d in error.diagnostics} <= {"range", "count"}
        return
    _one(tmp_path, _criteria(expr), code, *words)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.sijp"
    path.write_text(HEADER.replace("{vocabulary}", VOCABULARY.as_posix()) + body, encoding="utf-8")
    return path


def test_records_name_used_as_condition_gets_a_hint(tmp_path):
    body = 'records rs [A] "Set": therapy\n' + _criteria("rs")
    _one(tmp_path, body, "unknown-name", "at least 1 rs")


def test_all_semantic_errors_are_reported_together(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  a [A] "l": vas_scor >= 5\n'
        '  b [A] "m": odi_score >= 300\n'
        '  c "n": tumor is maybe\n'
        "}\n"
    )
    errors = [d for d in _problems(tmp_path, body) if d.severity == "error"]
    assert sorted((d.code, d.span.line) for d in errors) == [
        ("property", 7),
        ("range", 6),
        ("type", 7),
        ("unknown-name", 5),
    ]


def test_criteria_for_undeclared_service(tmp_path):
    body = (
        _criteria("tumor is true")
        + 'criteria for open_sij_fusion {\n  o [B] "Open": tumor is true\n}\n'
    )
    _one(tmp_path, body, "scope", "open_sij_fusion", "did you mean 'percutaneous_sij_fusion'")


def test_duplicate_definition(tmp_path):
    body = 'define d [A] "x": tumor is true\ndefine d [A] "y": infection is true\n' + _criteria("d")
    _one(tmp_path, body, "duplicate-name", "'d'")


def test_criterion_id_shared_with_an_exclusion(tmp_path):
    body = (
        _criteria("tumor is true")
        + 'exclusions for percutaneous_sij_fusion {\n  c [B] "E": tumor is true\n}\n'
    )
    _one(tmp_path, body, "duplicate-name", "'c'")


def test_self_referring_definition(tmp_path):
    _one(
        tmp_path,
        'define d [A] "x": any of { d  tumor is true }\n' + _criteria("d"),
        "cycle",
        "d -> d",
    )


def test_record_set_cycle(tmp_path):
    body = 'records r1 [A] "x": r2\nrecords r2 [A] "y": r1 or therapy\n' + _criteria(
        "at least 1 r1"
    )
    errors = [d for d in _problems(tmp_path, body) if d.severity == "error"]
    assert errors and {d.code for d in errors} == {"cycle"}


def test_advisory_needs_a_section(tmp_path):
    body = (
        _criteria("tumor is true")
        + 'advisories for percutaneous_sij_fusion {\n  adv "l": when bmi >= 40\n}\n'
    )
    _one(tmp_path, body, "property", "adv", "section")


def test_nested_criterion_may_omit_its_section(tmp_path):
    body = _criteria('all of { inner "Inner": tumor is false }')
    loaded = load_policy(_write(tmp_path, body))
    assert "inner" in loaded.compiled.nodes


@pytest.mark.slow  # a run of the command line; the full tier runs it
def test_unused_definition_is_a_warning_not_an_error(tmp_path):
    body = 'define spare [A] "Unused": tumor is true\n' + _criteria("infection is false")
    path = _write(tmp_path, body)
    loaded = load_policy(path)
    warnings = getattr(loaded.policy, "warnings", ())
    assert [w.code for w in warnings] == ["unused"]
    assert "spare" in warnings[0].message
    result = run_cli("lint", path)
    assert result.returncode == 0, result.stderr
    assert "warning[unused]" in result.stderr and "spare" in result.stderr


@pytest.mark.parametrize(
    "header, code, words",
    [
        (
            'policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" }\n'
            'service percutaneous_sij_fusion [A] "x"\n',
            "import",
            ["import"],
        ),
        (
            'import "nowhere.sijv"\n'
            'policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" }\n'
            'service percutaneous_sij_fusion [A] "x"\n',
            "import",
            ["nowhere.sijv"],
        ),
        (
            'import "{vocabulary}"\n'
            'policy p { payer "P" title "T" document "D" effective 2024-02-30 cite "C" }\n'
            'service percutaneous_sij_fusion [A] "x"\n',
            "property",
            ["effective"],
        ),
        (
            'import "{vocabulary}"\n'
            'policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" cite "D" }\n'
            'service percutaneous_sij_fusion [A] "x"\n',
            "property",
            ["twice"],
        ),
        (
            'import "{vocabulary}"\n'
            'policy p { payer "P" title "T" document "D" effective 2024-01-01 cite 5 }\n'
            'service percutaneous_sij_fusion [A] "x"\n',
            "property",
            ["cite"],
        ),
        (
            'import "{vocabulary}"\n'
            'policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" }\n'
            'service percutaneous_sij_fusion [A] "x"\n'
            'service percutaneous_sij_fusion [A] "again"\n',
            "duplicate-name",
            [],
        ),
    ],
)
def test_header_problems(tmp_path, header, code, words):
    diagnostics = _problems(tmp_path, _criteria("tumor is true"), header)
    errors = [d for d in diagnostics if d.severity == "error"]
    assert errors and errors[0].code == code, errors
    text = " ".join(d.message + " " + (d.hint or "") for d in errors)
    for word in words:
        assert word in text


def test_policy_without_services(tmp_path):
    header = (
        'import "{vocabulary}"\n'
        'policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" }\n'
    )
    diagnostics = _problems(tmp_path, "", header)
    assert "scope" in {d.code for d in diagnostics}


def test_missing_policy_file_is_an_input_error(tmp_path):
    with pytest.raises(SijfaspError) as raised:
        load_policy(tmp_path / "absent.sijp")
    assert "absent.sijp" in raised.value.diagnostics[0].message


# ------------------------------------------------------------------ vocabulary checks
VOCABULARY_HEADER = """vocabulary v "Words"
request_field service: choice {s} { means "m" ask "a" }
request_field date: date { means "m" ask "a" }
"""


def _vocabulary_errors(text: str) -> list:
    with pytest.raises(SijfaspError) as raised:
        check_vocabulary(parse_text(text, "v.sijv"))
    return raised.value.diagnostics


def test_minimal_vocabulary_is_accepted():
    vocabulary = check_vocabulary(parse_text(VOCABULARY_HEADER, "v.sijv"))
    assert [f.name for f in vocabulary.request_fields] == ["service", "date"]


@pytest.mark.parametrize(
    "declaration, code, words",
    [
        ('finding f: boo { means "m" ask "a" }', "type", ["boo", "did you mean 'bool'"]),
        ('finding f: number { means "m" ask "a" }', "range", ["range"]),
        ('finding f: number 5..1 { means "m" ask "a" }', "range", ["empty"]),
        ('finding f: bool 0..1 { means "m" ask "a" }', "range", ["no range"]),
        ('finding f: bool { ask "a" }', "property", ["means"]),
        ('finding f: bool { means "m" ask "a" cost -1 }', None, []),
        ('finding f: bool { means "m" ask "a" colour "x" }', "property", ["colour"]),
        ('finding f: choice {a, a} { means "m" ask "a" }', "duplicate-name", []),
        (
            'finding f: bool { means "m" ask "a" }\nfinding f: bool { means "m" ask "a" }',
            "duplicate-name",
            ["twice"],
        ),
        ('record r { means "m" ask "a" field x: bool { only_for } }', "property", ["only_for"]),
    ],
)
def test_vocabulary_errors(declaration, code, words):
    diagnostics = _vocabulary_errors(VOCABULARY_HEADER + declaration + "\n")
    if code is None:  # refused one way or another (here: '-1' is not even syntax)
        return
    assert code in {d.code for d in diagnostics}, diagnostics
    text = " ".join(d.message + " " + (d.hint or "") for d in diagnostics)
    for word in words:
        assert word in text, (word, text)


def test_vocabulary_needs_service_and_date():
    diagnostics = _vocabulary_errors('vocabulary v "Words"\n')
    messages = " ".join(d.message for d in diagnostics)
    assert "service" in messages and "date" in messages


def test_vocabulary_refuses_policy_declarations():
    diagnostics = _vocabulary_errors(VOCABULARY_HEADER + 'service s [A] "x"\n')
    assert diagnostics and diagnostics[0].span.line == 4


def test_policy_files_and_vocabulary_share_the_bundled_directory():
    # load_policy resolves the import next to the policy file.
    assert (POLICIES_DIR / "vocabulary.sijv").is_file()
    for path in POLICIES_DIR.glob("*.sijp"):
        assert 'import "vocabulary.sijv"' in path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ limits, precision, names
def _accepted(tmp_path: Path, body: str) -> None:
    path = tmp_path / "ok.sijp"
    path.write_text(HEADER.replace("{vocabulary}", VOCABULARY.as_posix()) + body, encoding="utf-8")
    load_policy(path)


@pytest.mark.parametrize(
    "accepted, refused, code",
    [
        ("at least 100 injection", "at least 101 injection", "limit"),
        (
            "at least 100 separate dates of injection",
            "at least 101 separate dates of injection",
            "limit",
        ),
        ("at least 110000 days of therapy", "at least 110001 days of therapy", "limit"),
        (
            "at least 1 days of therapy within last 110000 days",
            "at least 1 days of therapy within last 110001 days",
            "limit",
        ),
        (
            "at least 1 injection where date within last 110000 days",
            "at least 1 injection where date within last 110001 days",
            "limit",
        ),
        ("vas_score > 4.99", "vas_score > 4.995", "precision"),
        ("vas_score >= 5.000", "vas_score >= 5.001", "precision"),
        (
            "at least 1 injection where relief_percent >= 49.5",
            "at least 1 injection where relief_percent >= 49.125",
            "precision",
        ),
    ],
)
def test_a_limit_is_met_exactly_and_refused_one_past(tmp_path, accepted, refused, code):
    _accepted(tmp_path, _criteria(accepted))
    _one(tmp_path, _criteria(refused), code)


def _vocabulary_problems(text: str) -> list:
    with pytest.raises(SijfaspError) as raised:
        check_vocabulary(parse_text(text, "v.sijv"))
    return raised.value.diagnostics


VOCABULARY_TEXT = VOCABULARY.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "bmi_range, code",
    [("10..1000000.01", "limit"), ("10..2147483648", "limit"), ("10..100.001", "precision")],
)
def test_a_vocabulary_range_is_bounded_and_two_decimal(bmi_range, code):
    assert "finding bmi: number 10..100 {" in VOCABULARY_TEXT
    text = VOCABULARY_TEXT.replace("bmi: number 10..100 {", f"bmi: number {bmi_range} {{")
    assert [d.code for d in _vocabulary_problems(text)] == [code]
    # The largest range accepted:
    check_vocabulary(parse_text(VOCABULARY_TEXT.replace("10..100 {", "0..1000000 {"), "v.sijv"))


def test_a_vocabulary_cost_is_bounded():
    assert "  cost 40\n" in VOCABULARY_TEXT
    text = VOCABULARY_TEXT.replace("  cost 40\n", "  cost 2147483648\n", 1)
    assert [d.code for d in _vocabulary_problems(text)] == ["limit"]


def _nested(depth: int) -> str:
    return "all of { " * depth + "vas_score >= 5" + " }" * depth


def test_conditions_nest_64_deep_and_no_deeper(tmp_path):
    _accepted(tmp_path, _criteria(_nested(64)))
    error = _one(tmp_path, _criteria(_nested(65)), "limit", "nest more than 64")
    # At the 65th "all of": the first starts in column 20, each takes 9 columns.
    assert (error.span.line, error.span.column) == (5, 20 + 64 * 9)


def test_a_definition_chain_counts_towards_the_depth(tmp_path):
    # Each definition adds its combinator and one level for the reference to it: d32 nests 64.
    def chain(top: int) -> str:
        return 'define d0 "D0": vas_score >= 5\n' + "".join(
            f'define d{i} "D{i}": all of {{ d{i - 1} }}\n' for i in range(1, top + 1)
        )

    _accepted(tmp_path, chain(32) + _criteria("d31"))
    errors = [d for d in _problems(tmp_path, chain(33) + _criteria("d33")) if d.severity == "error"]
    assert [d.code for d in errors] == ["limit"]
    assert "'d33'" in errors[0].message and "66 deep" in errors[0].message


def test_a_shared_definition_is_compiled_once(tmp_path):
    body = (
        'define pain "Pain": vas_score >= 5\n'
        'define both "Both": all of { pain  any of { pain  odi_score >= 30 } }\n'
        + _criteria("all of { both  pain }")
    )
    path = tmp_path / "shared.sijp"
    path.write_text(HEADER.replace("{vocabulary}", VOCABULARY.as_posix()) + body, encoding="utf-8")
    program = load_policy(path).compiled.program
    assert program.count("node(pain, ") == 1
    assert program.count("leaf(pain, ") == 1
    assert program.count("child(both, pain).") == 1


@pytest.mark.parametrize(
    "body, code",
    [
        (
            'define inner "I": all of { c "Again": vas_score >= 5 }\n' + _criteria("inner"),
            "duplicate-name",
        ),
        (
            'define inner "I": all of { inner "Self": vas_score >= 5 }\n' + _criteria("inner"),
            "cycle",
        ),
        (
            'define inner "I": all of { x "X": vas_score >= 5  x "X2": odi_score >= 3 }\n'
            + _criteria("inner"),
            "duplicate-name",
        ),
        ('define not "N": vas_score >= 5\n' + _criteria("not"), "reserved"),
        ('records not "N": injection\n' + _criteria("at least 1 not"), "reserved"),
    ],
)
def test_names_inside_definitions_are_checked(tmp_path, body, code):
    codes = {d.code for d in _problems(tmp_path, body) if d.severity == "error"}
    assert code in codes, codes


def test_every_diagnostic_code_is_documented():
    from sijfasp.core.diagnostics import CODES, Code, Diagnostic

    table = (REPO / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code in Code:
        assert f"| `{code}` |" in table, code
        assert code in CODES
    with pytest.raises(ValueError):
        Diagnostic("no-such-code", "message")
