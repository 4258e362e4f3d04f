"""The vocabulary's table of each service's procedure codes (`service NAME cpt CODES` in a
vocabulary): a policy without codes judges a request by its service, a policy listing codes keeps
`not_applicable` for the others, and a code of another service is a case error."""

from __future__ import annotations

import json

import pytest
import support as s

from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.formatter import format_text
from sijfasp.language.parser import parse_text
from sijfasp.language.semantics import check_vocabulary

HEADER = """vocabulary v "Test"

request_field service: choice {percutaneous_sij_fusion, open_sij_fusion} { means "s" ask "s" }
request_field date: date { means "d" ask "d" }
request_field cpt_code: choice {27278, 27279, 27280} { means "c" ask "c" }
"""


def _problems(lines: str) -> list:
    with pytest.raises(SijfaspError) as raised:
        check_vocabulary(parse_text(HEADER + lines, "v.sijv"))
    return raised.value.diagnostics


def test_the_bundled_table():
    vocabulary = s.vocabulary()
    assert vocabulary.codes_of("percutaneous_sij_fusion") == ("27278", "27279")
    assert vocabulary.codes_of("open_sij_fusion") == ("27280",)
    assert vocabulary.codes_of("revision_sij_fusion") == ("27278", "27279", "27280")


def test_a_table_line_is_checked():
    (unknown,) = _problems("service percutaneous cpt 27278\n")
    assert unknown.code == "unknown-name" and "did you mean 'percutaneous_sij_fusion'" in (
        unknown.hint or ""
    )
    (code,) = _problems("service open_sij_fusion cpt 27290\n")
    assert code.code == "unknown-name" and "27290" in code.message
    (twice,) = _problems("service open_sij_fusion cpt 27280\nservice open_sij_fusion cpt 27279\n")
    assert twice.code == "duplicate-name"


def test_a_table_line_formats_as_written():
    text = HEADER + "\nservice percutaneous_sij_fusion cpt 27278, 27279\n"
    assert format_text(text, "v.sijv").endswith(
        "service percutaneous_sij_fusion cpt 27278, 27279\n"
    )


def test_a_policy_service_needs_a_section_and_a_label():
    text = 'import "x.sijv"\nservice percutaneous_sij_fusion cpt 27279\n'
    from sijfasp.language.semantics import check_policy

    with pytest.raises(SijfaspError) as raised:
        check_policy(parse_text(text, "p.sijp"), s.vocabulary())
    assert any(
        "needs a section and a label" in d.message and d.span.line == 2
        for d in raised.value.diagnostics
    )


def _case(service: str, code: int | None) -> dict:
    case = s.with_request(s.base_case(), service=service)
    return s.with_request(case, cpt_code=code) if code is not None else case


@pytest.mark.parametrize("code", [27278, 27279, None])
def test_caresource_judges_a_percutaneous_request_by_its_service(code):
    # MM-1508 lists no codes: 27278 (no transfixing device) is percutaneous fusion too.
    assert s.evaluate(_case(s.PERCUTANEOUS, code), s.CARESOURCE).determination == "approvable"


def test_aim_keeps_not_applicable_for_a_code_it_does_not_list():
    result = s.evaluate(_case(s.PERCUTANEOUS, 27278), s.AIM)
    assert result.determination == "not_applicable"
    assert "CPT 27278" in result.reasons[0]
    assert s.evaluate(_case(s.PERCUTANEOUS, 27279), s.AIM).determination == "approvable"


def test_a_code_of_another_service_is_a_case_error():
    with pytest.raises(SijfaspError) as raised:
        validate_case(_case(s.PERCUTANEOUS, 27280), s.vocabulary())
    (problem,) = raised.value.diagnostics
    assert problem.field_path == "request.cpt_code"
    assert "CPT 27280 is a code of open_sij_fusion or revision_sij_fusion" in problem.message
    assert "27278, 27279" in (problem.hint or "")
    with pytest.raises(SijfaspError):
        validate_case(_case(s.OPEN, 27279), s.vocabulary())


def test_a_revision_takes_any_code_of_the_table():
    for code in (27278, 27279, 27280):
        validate_case(_case(s.REVISION, code), s.vocabulary())


@pytest.mark.slow  # a command-line run
def test_a_code_of_another_service_exits_2(tmp_path):
    path = tmp_path / "wrong_code.json"
    path.write_text(json.dumps(_case(s.PERCUTANEOUS, 27280), default=str), encoding="utf-8")
    done = s.run_cli("check", path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "request.cpt_code" in done.stderr and "CPT 27280" in done.stderr
