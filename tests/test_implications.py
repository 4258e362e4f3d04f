"""Implications between findings (`finding NARROW implies BROAD` in a vocabulary): checked for
type, cycles and repetition; applied once by the encoding for every policy, contrapositive
included; a case documenting the narrow finding true and the broad one false refused; the
explanation names the documented finding an implied one came from."""

from __future__ import annotations

import json

import pytest
import support as s
from support import VOCABULARY

from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.formatter import format_text
from sijfasp.language.parser import parse_text
from sijfasp.language.semantics import check_vocabulary

HEADER = """vocabulary v "Test"

request_field service: choice {percutaneous_sij_fusion} { means "s" ask "s" }
request_field date: date { means "d" ask "d" }
finding a: bool { means "a" ask "a" }
finding b: bool { means "b" ask "b" }
finding c: bool { means "c" ask "c" }
finding score: number 0..10 { means "n" ask "n" }
"""


def _vocabulary(lines: str):
    return check_vocabulary(parse_text(HEADER + lines, "v.sijv"))


def _problems(lines: str) -> list:
    with pytest.raises(SijfaspError) as raised:
        _vocabulary(lines)
    return raised.value.diagnostics


# ------------------------------------------------------------------ the language
def test_implications_are_read_and_chain():
    vocabulary = _vocabulary("finding a implies b\nfinding b implies c\n")
    assert [(i.narrow, i.broad) for i in vocabulary.implications] == [("a", "b"), ("b", "c")]
    assert vocabulary.broader("a") == ("b", "c")
    assert vocabulary.broader("c") == ()
    assert vocabulary.contradictions({"a": True, "c": False}) == [("a", "c")]
    assert vocabulary.contradictions({"a": True, "b": True, "c": True}) == []
    assert vocabulary.contradictions({"a": False, "c": False}) == []


def test_an_implication_names_findings_of_the_vocabulary():
    (problem,) = _problems("finding a implies bb\n")
    assert problem.code == "unknown-name" and "'bb'" in problem.message
    assert problem.hint == "did you mean 'b'?"
    assert (problem.span.line, problem.span.column) == (9, 19)


def test_an_implication_joins_true_or_false_findings_only():
    (problem,) = _problems("finding score implies a\n")
    assert problem.code == "type"
    assert "'score' is a number from 0 to 10" in problem.message
    assert "true or false" in problem.message


def test_a_circle_of_implications_is_a_cycle():
    problems = _problems("finding a implies b\nfinding b implies c\nfinding c implies a\n")
    assert [p.code for p in problems] == ["cycle"]
    assert "a implies b implies c implies a" in problems[0].message
    (itself,) = _problems("finding a implies a\n")
    assert itself.code == "cycle" and "implies itself" in itself.message


def test_the_same_implication_twice_is_a_duplicate():
    (problem,) = _problems("finding a implies b\nfinding a implies b\n")
    assert problem.code == "duplicate-name" and problem.span.line == 10


def test_an_implication_belongs_in_the_vocabulary(tmp_path):
    from sijfasp.policies.loading import load_policy

    policy = VOCABULARY.parent / "caresource_sijf_2026.sijp"
    text = policy.read_text(encoding="utf-8") + "\nfinding tumor implies infection\n"
    text = text.replace('import "vocabulary.sijv"', f'import "{VOCABULARY}"')
    path = tmp_path / "implication_in_policy.sijp"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SijfaspError) as raised:
        load_policy(path)
    (problem,) = raised.value.diagnostics
    assert problem.code == "syntax" and "vocabulary" in problem.message


def test_the_formatter_keeps_implications():
    text = HEADER + "\nfinding a implies b\nfinding b implies c\n"
    formatted = format_text(text, "v.sijv")
    assert "finding a implies b\nfinding b implies c\n" in formatted
    assert format_text(formatted, "v.sijv") == formatted


def test_the_bundled_vocabulary_implies_the_broad_findings_from_the_narrow_ones():
    vocabulary = s.vocabulary()
    pairs = {(i.narrow, i.broad) for i in vocabulary.implications}
    assert {
        ("sacral_tumor_present", "tumor"),
        ("sij_infection_or_sepsis", "infection"),
        ("generalized_pain_primary_cause", "generalized_pain_disorder"),
        ("fortin_point_tenderness", "sij_palpation_tenderness"),
        ("sacral_sulcus_tenderness", "sij_palpation_tenderness"),
        ("neural_compression_matching_symptoms", "neural_compression_correlating"),
        ("other_likely_pain_source", "neural_compression_correlating"),
    } == pairs
    assert "implication(sacral_tumor_present, tumor)." in s.loaded(s.AIM).compiled.program


# ------------------------------------------------------------------ the solver
def _exclusion(result, exclusion_id):
    return next(e for e in result.exclusions if e.id == exclusion_id)


def test_a_narrow_finding_alone_excludes_under_the_broad_exclusion():
    # A sacral tumor is a tumor: AIM's exclusion of a tumor applies (a wrong approval before).
    case = s.with_findings(s.base_case(), sacral_tumor_present=True)
    result = s.evaluate(case, s.AIM)
    assert result.determination == "excluded"
    tumor = _exclusion(result, "excluded_tumor")
    assert tumor.status == "applies"
    assert tumor.implied_by == ("sacral_tumor_present = true",)
    assert "implied by sacral_tumor_present = true" in tumor.evidence
    infection = s.with_findings(s.base_case(), sij_infection_or_sepsis=True)
    assert _exclusion(s.evaluate(infection, s.AIM), "excluded_infection").status == "applies"


def test_without_the_narrow_finding_nothing_is_implied():
    result = s.evaluate(s.base_case(), s.AIM)
    assert result.determination == "approvable"
    assert all(not e.implied_by for e in result.exclusions)
    assert _exclusion(result, "excluded_tumor").status == "not_documented"


def test_the_narrow_finding_documented_false_implies_nothing_of_the_broad_one():
    case = s.with_findings(s.base_case(), sacral_tumor_present=False)
    result = s.evaluate(case, s.AIM)
    assert _exclusion(result, "excluded_tumor").status == "not_documented"
    assert _exclusion(result, "excluded_tumor").implied_by == ()


def test_the_broad_finding_false_makes_the_narrow_one_false():
    # The contrapositive: no tumor at all is no sacral tumor, so CareSource's open fusion
    # indication for a sacral tumor (D.I.A.1.c) is not met rather than not documented.
    case = s.with_request(s.with_findings(s.base_case(), tumor=False), service=s.OPEN)
    result = s.evaluate(case, s.CARESOURCE)
    node = s.find_node(result, "sacral_tumor")
    assert node.status == "not_met"
    assert node.implied_by == ("tumor = false",)
    # and it is never asked for as missing documentation
    asked = {key for option in result.missing for key in (i.key for i in option)}
    assert not any("sacral_tumor_present" in key for key in asked)


def test_a_narrow_tenderness_meets_the_criterion_reading_the_combined_one():
    case = s.with_findings(
        s.without_findings(s.base_case(), "sij_palpation_tenderness"), sacral_sulcus_tenderness=True
    )
    for policy, node_id in ((s.AIM, "fortin_finger_test"), (s.CARESOURCE, "palpation")):
        result = s.evaluate(case, policy)
        assert result.determination == "approvable", (policy, result.reasons)
        node = s.find_node(result, node_id)
        assert node.status == "met" and node.implied_by == ("sacral_sulcus_tenderness = true",)


def test_a_split_neural_compression_finding_excludes_as_the_combined_one():
    for finding in ("neural_compression_matching_symptoms", "other_likely_pain_source"):
        case = s.with_findings(s.base_case(), **{finding: True})
        assert s.evaluate(case, s.AIM).determination == "excluded", finding
        assert s.evaluate(case, s.CARESOURCE).determination == "excluded", finding


def test_a_guess_never_contradicts_an_implication():
    # Tumor undocumented and an exclusion reading it: no set of missing documentation asks for
    # the narrow finding true beside the broad one false.
    case = s.without_findings(s.base_case(), "pain_duration_months")
    result = s.evaluate(case, s.CARESOURCE)
    for option in result.missing:
        keys = {item.key for item in option}
        assert not {"guess(sacral_tumor_present,true)", "guess(tumor,false)"} <= keys


# ------------------------------------------------------------------ contradicting cases
def test_a_case_contradicting_an_implication_is_refused():
    data = s.with_findings(s.base_case(), sacral_tumor_present=True, tumor=False)
    with pytest.raises(SijfaspError) as raised:
        validate_case(data, s.vocabulary())
    (problem,) = raised.value.diagnostics
    assert problem.field_path == "findings.tumor"
    assert "'sacral_tumor_present' is true and implies it" in problem.message


@pytest.mark.slow  # a command-line run
def test_a_contradicting_case_exits_2_with_one_message(tmp_path):
    data = s.with_findings(s.base_case(), generalized_pain_primary_cause=True)
    path = tmp_path / "contradiction.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    done = s.run_cli("check", path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "findings.generalized_pain_disorder" in done.stderr
    assert "'generalized_pain_primary_cause' is true and implies it" in done.stderr


@pytest.mark.slow  # a command-line run
def test_implied_values_are_in_the_json_output(tmp_path):
    data = s.with_findings(s.base_case(), sacral_tumor_present=True)
    path = tmp_path / "sacral.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    done = s.run_cli("check", path, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    results = json.loads(done.stdout)["results"]
    aim = next(r for r in results if r["policy"] == s.AIM)
    tumor = next(e for e in aim["exclusions"] if e["id"] == "excluded_tumor")
    assert tumor["implied_by"] == ["sacral_tumor_present = true"]
