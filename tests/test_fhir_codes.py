"""Codes in the vocabulary: the `code` clause, its checks, its layout, and the bundled codes."""

from __future__ import annotations

import pytest
from support import REPO_ROOT

from sijfasp.core import codings
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.extensions import check_extension
from sijfasp.language.formatter import format_text
from sijfasp.language.parser import parse_text
from sijfasp.language.semantics import check_vocabulary
from sijfasp.policies.loading import load_vocabulary

VOCABULARY = REPO_ROOT / "policies_asp" / "vocabulary.sijv"

HEAD = """vocabulary v "test"
request_field service: choice {fusion} { required means "m" ask "a" }
request_field date: date { required means "m" ask "a" }
"""


def _vocabulary(body: str):
    return check_vocabulary(parse_text(HEAD + body, "v.sijv"))


def _errors(body: str) -> list[str]:
    with pytest.raises(SijfaspError) as caught:
        _vocabulary(body)
    return [d.message + " | " + (d.hint or "") for d in caught.value.diagnostics]


# ------------------------------------------------------------------ forms
@pytest.mark.parametrize(
    "code", ["38214-3", "72514-3", "82810-3", "102089-0", "8867-4", "4548-4", "39156-5"]
)
def test_loinc_codes_with_their_check_digit_pass(code):
    assert codings.form_problem("loinc", code) is None


@pytest.mark.parametrize("code", ["38214-4", "72514-2", "102089-1"])
def test_a_wrong_loinc_check_digit_is_named_with_the_right_one(code):
    problem = codings.form_problem("loinc", code)
    assert problem is not None and "check digit" in problem
    number = code.split("-")[0]
    assert f"is {codings.loinc_check_digit(number)}," in problem


@pytest.mark.parametrize(
    ("system", "code", "good"),
    [
        ("loinc", "38214", False),
        ("icd10cm", "M45", True),
        ("icd10cm", "M53.2X8", True),
        ("icd10cm", "M532X8", False),
        ("icd10cm", "m45.6", False),
        ("icd10cm", "M45.12345", False),
        ("cpt", "27279", True),
        ("cpt", "0775T", True),
        ("cpt", "50", True),
        ("cpt", "2727", False),
        ("cpt", "272790", False),
        ("hcpcs", "G0260", True),
        ("hcpcs", "LT", True),
        ("hcpcs", "G026", False),
        ("snomed", "77386006", True),
        ("snomed", "0123456", False),
        ("dicom", "CT", True),
        ("sijfasp", "imaging.region.sij", True),
        ("sijfasp", "Imaging", False),
    ],
)
def test_code_forms(system, code, good):
    assert (codings.form_problem(system, code) is None) is good


def test_icd10cm_categories_name_the_codes_under_them():
    assert codings.icd10cm_under("M45.6", "M45")
    assert codings.icd10cm_under("M45", "M45")
    assert codings.icd10cm_under("S32.111A", "S32.1")
    assert not codings.icd10cm_under("M450", "M45")
    assert not codings.icd10cm_under("M46.1", "M45")
    hcpcs = codings.Coding(codings.HCPCS, "G0260")
    assert codings.matches(codings.HCPCS_ALSO, "G0260", hcpcs)  # either address of HCPCS


# ------------------------------------------------------------------ the clause
def test_codes_reach_the_checked_vocabulary():
    vocabulary = _vocabulary(
        """finding vas: number 0..10 {
  code loinc "38214-3" "Pain severity"
  means "m"
  ask "a"
}
finding pregnant: bool {
  code loinc "82810-3"
  code snomed "77386006" "Pregnant" for true
  means "m" ask "a"
}
record imaging {
  code cpt "72200"
  means "m" ask "a"
  field date: date { required means "m" }
  field modality: choice {xray, ct} { code cpt "72200" for xray required means "m" }
}
"""
    )
    vas = vocabulary.fact("finding", "vas")
    assert vas is not None
    assert vas.codes == (codings.Coding(codings.LOINC, "38214-3", "Pain severity"),)
    pregnant = vocabulary.fact("finding", "pregnant")
    assert pregnant is not None
    assert pregnant.codes[1] == codings.Coding(codings.SNOMED, "77386006", "Pregnant", "true")
    imaging = vocabulary.record("imaging")
    assert imaging is not None
    assert imaging.codes == (codings.Coding(codings.CPT, "72200"),)
    modality = imaging.field("modality")
    assert modality is not None
    assert modality.codes == (codings.Coding(codings.CPT, "72200", None, "xray"),)


def test_an_unknown_system_gets_a_did_you_mean():
    (error,) = _errors('finding f: bool { code lionc "38214-3" means "m" ask "a" }')
    assert "unknown code system 'lionc'" in error and "loinc" in error


def test_a_wrong_check_digit_is_an_error():
    (error,) = _errors('finding f: number 0..10 { code loinc "38214-4" means "m" ask "a" }')
    assert "check digit of 38214 is 3" in error


def test_a_code_for_a_value_the_item_does_not_have_is_an_error():
    (error,) = _errors(
        'request_field side: choice {left, right} { code hcpcs "LT" for lefft means "m" ask "a" }'
    )
    assert "'lefft' is not a value" in error and "left" in error


def test_for_on_a_record_kind_is_an_error():
    (error,) = _errors(
        'record r { code cpt "72200" for xray means "m" ask "a" field date: date { required means "m" } }'
    )
    assert "names the kind" in error


def test_a_code_given_twice_is_an_error():
    (error,) = _errors('finding f: bool { code cpt "27279" code cpt "27279" means "m" ask "a" }')
    assert "given twice" in error


def test_codes_do_not_clash_with_the_properties_rules():
    # Several `code` clauses are not "a property given twice", and need no `means` of their own.
    vocabulary = _vocabulary(
        'finding f: bool { code cpt "27279" code cpt "27280" means "m" ask "a" }'
    )
    fact = vocabulary.fact("finding", "f")
    assert fact is not None and len(fact.codes) == 2


def test_the_formatter_keeps_codes_in_canonical_form():
    text = (
        HEAD
        + 'finding f: bool {\n  code   snomed "77386006"   "Pregnant"  for   true\n  means "m"\n  ask "a"\n}\n'
    )
    formatted = format_text(text, "v.sijv")
    assert '  code snomed "77386006" "Pregnant" for true\n' in formatted
    assert format_text(formatted, "v.sijv") == formatted


def test_an_extension_adds_a_value_with_its_code():
    base = _vocabulary(
        """record therapy {
  means "m" ask "a"
  field start: date { required means "m" }
  field kind: choice {rest} { code snomed "91251008" for rest required means "m" }
}
"""
    )
    extension = parse_text(
        """vocabulary extra "more"
record therapy { extends
  field kind: choice {yoga} { extends code sijfasp "therapy.kind.yoga" for yoga }
}
""",
        "extra.sijv",
    )
    merged = check_extension(extension, base)
    therapy = merged.record("therapy")
    assert therapy is not None
    kind = therapy.field("kind")
    assert kind is not None
    assert [c.value for c in kind.codes] == ["rest", "yoga"]


# ------------------------------------------------------------------ the bundled vocabulary
def test_the_bundled_vocabulary_names_the_codes_of_the_exchange():
    vocabulary = load_vocabulary(VOCABULARY)

    def codes(scope: str, name: str) -> set[tuple[str, str, str | None]]:
        fact = vocabulary.fact(scope, name)
        assert fact is not None
        return {(c.system, c.code, c.value) for c in fact.codes}

    assert (codings.CPT, "27279", "percutaneous_sij_fusion") in codes("request", "service")
    assert (codings.CPT, "27280", "open_sij_fusion") in codes("request", "service")
    assert (codings.HCPCS, "LT", "left") in codes("request", "side")
    assert (codings.CPT, "50", "bilateral") in codes("request", "side")
    assert {(codings.LOINC, "38214-3", None), (codings.LOINC, "72514-3", None)} <= codes(
        "finding", "vas_score"
    )
    assert (codings.SNOMED, "77386006", "true") in codes("finding", "pregnant")
    assert (codings.LOINC, "97909-6", None) in codes("finding", "odi_score")
    assert (codings.ICD10CM, "M79.7", "true") in codes("finding", "generalized_pain_disorder")
    injection = vocabulary.record("injection")
    assert injection is not None
    assert {c.code for c in injection.codes} == {"27096", "G0260"}
    imaging = vocabulary.record("imaging")
    assert imaging is not None
    region = imaging.field("region")
    assert region is not None
    assert {c.code for c in region.codes if c.value == "sij"} >= {"72200", "72202"}


@pytest.mark.slow
def test_the_bundled_vocabulary_lints_clean_through_the_command_line():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sijfasp", "lint", str(VOCABULARY)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_service_codes_agree_with_the_vocabularys_table_of_codes_by_service():
    # The FHIR reader names the service by the `code cpt ... for SERVICE` clauses; the case checks
    # hold a request to its service's codes (`service NAME cpt CODES`): the two never disagree.
    vocabulary = load_vocabulary(VOCABULARY)
    service = vocabulary.fact("request", "service")
    assert service is not None
    table = dict(vocabulary.service_codes)
    for value in service.type.values:
        read_as = {c.code for c in service.codes if c.system == codings.CPT and c.value == value}
        if value in table:
            assert read_as <= set(table[value]), value
