"""Hostile policies and vocabularies: each in tests/hostile/policies/ gets its diagnostic, fast,
or, where it is a valid policy, the right determination. Nothing gives a traceback or exit 3.

A name or number that gets past the checks here would reach the solver: some used to merge two
criteria into one node, wrap a count past 2^31, or break the compiled program's syntax.
"""

from __future__ import annotations

import time
from pathlib import Path

import clingo
import pytest
from support import REPO, VOCABULARY, run_cli

from sijfasp.api import evaluate
from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import Code, SijfaspError
from sijfasp.language.compiler import compile_policy
from sijfasp.language.parser import parse_text
from sijfasp.language.semantics import check_policy, check_vocabulary
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.policies.loading import load_policy, load_vocabulary

HOSTILE = Path(__file__).resolve().parent / "hostile" / "policies"
VOCAB = check_vocabulary(parse_text(VOCABULARY.read_text(encoding="utf-8"), "vocabulary.sijv"))

# file -> every diagnostic it must give: (code, line, words the message must contain).
EXPECTED: dict[str, list[tuple[Code, int, list[str]]]] = {
    "advisory_inner_duplicate.sijp": [(Code.DUPLICATE_NAME, 9, ["'pain'", ":6:3"])],
    "define_inner_duplicate.sijp": [(Code.DUPLICATE_NAME, 9, ["'pain'", ":6:3"])],
    "define_self_named.sijp": [(Code.CYCLE, 6, ["pain_requirement -> pain_requirement"])],
    "count_past_int32.sijp": [(Code.LIMIT, 6, ["2147483648", "limit of 100"])],
    "count_past_limit.sijp": [(Code.LIMIT, 6, ["100000000", "limit of 100"])],
    "window_past_limit.sijp": [
        (Code.LIMIT, 6, ["2147483648 days", "110000"]),
        (Code.LIMIT, 7, ["2147483648 days", "110000"]),
        (Code.LIMIT, 8, ["200000", "110000"]),
    ],
    "threshold_three_decimals.sijp": [
        (Code.PRECISION, 6, ["4.995", "2 decimal places"]),
        (Code.PRECISION, 7, ["49.999", "2 decimal places"]),
    ],
    "reserved_not.sijp": [
        (Code.RESERVED, 3, ["'not'", "policy"]),
        (Code.RESERVED, 5, ["'not'", "definition"]),
        (Code.RESERVED, 8, ["'not'", "criterion"]),
        (Code.DUPLICATE_NAME, 8, ["'not'", ":5:1"]),
    ],
    "import_not_vocabulary.sijp": [(Code.IMPORT, 2, ["/etc/passwd", "not a vocabulary", ".sijv"])],
    "import_relative_not_vocabulary.sijp": [(Code.IMPORT, 2, ["not a vocabulary", ".sijv"])],
    "import_sijv_not_vocabulary.sijp": [(Code.IMPORT, 2, ["not a vocabulary", "vocabulary NAME"])],
    "label_control_character.sijp": [(Code.SYNTAX, 6, ["control character", "U+001B"])],
    "nesting_1000.sijp": [(Code.LIMIT, 6, ["nest more than 64"])],
    "definition_chain_1000.sijp": [(Code.LIMIT, 38, ["'d33'", "66 deep", "64"])],
    "record_set_chain_1000.sijp": [(Code.LIMIT, 69, ["'s64'", "65 deep", "64"])],
    "definition_diamond_20.sijp": [(Code.LIMIT, 16, ["'d11'", "12283 conditions", "10000"])],
    "same_definition_twice.sijp": [(Code.DUPLICATE_NAME, 7, ["'pain'", "listed twice"])],
    "record_set_named_like_a_kind.sijp": [(Code.DUPLICATE_NAME, 6, ["'injection'", "record kind"])],
    "bmi_with_huge_range.sijp": [(Code.LIMIT, 310, ["10..100000000", "1000000"])],
    "vocabulary_range_too_large.sijv": [(Code.LIMIT, 310, ["10..100000000", "1000000"])],
    "vocabulary_range_three_decimals.sijv": [(Code.PRECISION, 310, ["100.005"])],
    "vocabulary_reserved_value.sijv": [(Code.RESERVED, 23, ["'not'", "value"])],
}
# Valid policies that used to get a wrong answer: (findings, determination) pairs.
ANSWERS = {
    # Checked in well under a second: each set's filters are gathered once, not once per path.
    "record_set_diamond_30.sijp": [({}, "incomplete")],
    "derived_id_collision.sijp": [
        ({"vas_score": 2, "odi_score": 40}, "not_met"),
        ({"vas_score": 6, "odi_score": 20}, "not_met"),
        ({"vas_score": 6, "odi_score": 40}, "approvable"),
    ],
}
# Files that are only imported by others.
IMPORTED_ONLY = {"not_a_vocabulary.sijv"}


def _load(path: Path) -> LoadedPolicy | None:
    if path.suffix == ".sijv":
        load_vocabulary(path)
        return None
    return load_policy(path, path.relative_to(REPO).as_posix())


def test_every_hostile_file_has_an_expectation():
    names = {p.name for p in HOSTILE.iterdir()}
    assert names == set(EXPECTED) | set(ANSWERS) | IMPORTED_ONLY


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_hostile_file_gets_its_diagnostics_fast(name):
    started = time.perf_counter()
    with pytest.raises(SijfaspError) as raised:
        _load(HOSTILE / name)
    assert time.perf_counter() - started < 3
    found = [(d.code, d.span.line if d.span else 0, d.message) for d in raised.value.diagnostics]
    for code, line, words in EXPECTED[name]:
        assert any(c == code and n == line and all(w in m for w in words) for c, n, m in found), (
            f"{name}: no {code} at line {line} with {words}; found {found}"
        )
    assert len(found) == len(EXPECTED[name]), found


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_hostile_policy_gets_the_right_answer(name):
    loaded = _load(HOSTILE / name)
    assert loaded is not None
    for findings, expected in ANSWERS[name]:
        case = validate_case(
            {
                "request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15"},
                "findings": findings,
            },
            loaded.policy.vocabulary,
        )
        assert evaluate(loaded, case).determination == expected, findings


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_hostile_corpus_through_the_command_line():
    # One run over every file: status 2, no traceback, and nothing of a non-vocabulary echoed.
    files = [p.relative_to(REPO).as_posix() for p in sorted(HOSTILE.glob("*.sijp"))]
    result = run_cli("lint", *[f for f in files if Path(f).name in EXPECTED])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "root:" not in result.stderr
    assert "secret line" not in result.stderr


# ------------------------------------------------------------------ names the solver reserves
HEADER = (
    'import "vocabulary.sijv"\n'
    'policy {policy} {{ payer "P" title "T" document "D" effective 2026-01-01 cite "C" }}\n'
    'service percutaneous_sij_fusion [1] "Fusion"\n'
)
# Words with a meaning to clingo or to the encoding: each is refused or compiles and grounds.
WORDS = [
    "not",
    "inf",
    "sup",
    "show",
    "const",
    "program",
    "minimize",
    "count",
    "sum",
    "true",
    "false",
    "doc",
    "hyp",
    "node",
    "leaf",
    "all",
    "any",
    "none",
    "holds",
    "request",
    "item",
    "more",
    "world",
    "status",
    "met",
]


def _policy_text(word: str) -> str:
    return HEADER.format(policy=word) + (
        f'define {word}_d "D": vas_score >= 5\n'
        f'records {word} "R": injection\n'
        "criteria for percutaneous_sij_fusion {\n"
        f'  {word}_c [1] "C": all of {{ {word}_d  at least 1 {word} }}\n'
        "}\n"
    )


@pytest.mark.parametrize("word", WORDS)
def test_a_name_is_refused_or_compiles_and_grounds(word):
    try:
        policy = check_policy(parse_text(_policy_text(word), "words.sijp"), VOCAB)
    except SijfaspError as error:
        assert word == "not"
        assert {d.code for d in error.diagnostics} <= {Code.RESERVED, Code.SYNTAX}
        return
    assert word != "not"
    program = compile_policy(policy).program
    control = clingo.Control(["--warn=none"])
    control.add("base", [], program)
    control.ground([("base", [])])


def test_not_as_every_kind_of_name_is_refused():
    text = HEADER.format(policy="not") + (
        'define not "D": vas_score >= 5\n'
        "criteria for percutaneous_sij_fusion {\n"
        '  c [1] "C": all of { not  not "inner": vas_score >= 6 }\n'
        "}\n"
    )
    with pytest.raises(SijfaspError) as raised:
        check_policy(parse_text(text, "not.sijp"), VOCAB)
    codes = [d.code for d in raised.value.diagnostics]
    assert codes.count(Code.RESERVED) >= 3


# ------------------------------------------------------------------ paths in the program
def test_a_file_name_with_a_newline_does_not_reach_the_program(tmp_path):
    # Once, a line break in the policy's file name ended the header comment, and what followed
    # was read as ASP: here a fact that would make every case approvable.
    folder = tmp_path / "x\nholds(W, N) :- world(W), node(N, _).\n%"
    folder.mkdir()
    (folder / "vocabulary.sijv").write_text(VOCABULARY.read_text(encoding="utf-8"))
    policy_path = folder / "p\nholds(W, N) :- world(W), node(N, _).\n%.sijp"
    policy_path.write_text(
        HEADER.format(policy="p")
        + 'criteria for percutaneous_sij_fusion {\n  pain [1] "Pain 5+": vas_score >= 5\n}\n'
    )
    loaded = load_policy(policy_path)
    program = loaded.compiled.program
    assert str(tmp_path) not in program
    assert all(not line.startswith("holds(") for line in program.splitlines())
    case = validate_case(
        {
            "request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15"},
            "findings": {"vas_score": 2},
        },
        loaded.policy.vocabulary,
    )
    assert evaluate(loaded, case).determination == "not_met"


def test_the_program_names_its_source_by_file_name_only(tmp_path):
    source = (REPO / "tests" / "golden" / "compile" / "tiny_policy.sijp").read_text()
    (tmp_path / "vocabulary.sijv").write_text(VOCABULARY.read_text(encoding="utf-8"))
    path = tmp_path / "tiny.sijp"
    path.write_text(source.replace("../../../policies_asp/vocabulary.sijv", "vocabulary.sijv"))
    program = load_policy(path).compiled.program
    assert str(tmp_path) not in program
    assert "from tiny.sijp;" in program
    assert "(tiny.sijp:" in program


def test_labels_and_sections_reach_the_program_only_as_escaped_strings():
    # A backslash, quotes, '%' and '*%' in a section and a label: the program still parses, and
    # the solver reads back exactly the text written.
    label = 'Pain \\ at "5" %* or more *% \\'
    section = 'A "1" \\ %'
    text = HEADER.format(policy="p") + (
        f'criteria for percutaneous_sij_fusion {{\n  pain [{section}] "{label.replace(chr(34), "")}":'
        " vas_score >= 5\n}\n"
    )
    policy = check_policy(parse_text(text, "escape.sijp"), VOCAB)
    program = compile_policy(policy).program
    control = clingo.Control(["--warn=none"])
    control.add("base", [], program)
    control.ground([("base", [])])
    atoms = {
        str(a.symbol.name): a.symbol.arguments[1].string
        for a in control.symbolic_atoms
        if a.symbol.name in ("label", "section")
    }
    assert atoms == {"label": label.replace('"', ""), "section": section}
