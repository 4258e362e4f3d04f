"""Lint that proves: each planted defect of tests/hostile/prove is found, with its code and line,
and nothing is reported on the bundled policies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sijfasp.authoring import prove
from sijfasp.core.diagnostics import Code, Severity
from sijfasp.policies.loading import bundled_policy_paths, load_policy

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile" / "prove"
VOCABULARY = HERE.parent / "policies_asp" / "vocabulary.sijv"
HEADER = (
    f'import "{VOCABULARY.as_posix()}"\n'
    'policy demo { payer "P" title "T" document "D" effective 2026-01-01 cite "C" }\n'
    'service percutaneous_sij_fusion [1] "Percutaneous fusion"\n'
)

# file -> (code, line, severity, words the message or hint must hold)
EXPECTED: dict[str, tuple[Code, int, Severity, list[str]]] = {
    "contradictory_leaf.sijp": (
        Code.CONTRADICTORY,
        6,
        Severity.ERROR,
        ["'pain'", "`vas_score >= 8`", "`vas_score <= 3`"],
    ),
    "contradictory_filter.sijp": (
        Code.CONTRADICTORY_FILTER,
        7,
        Severity.ERROR,
        ["`relief_percent >= 80` (line 8)", "`relief_percent <= 50` (line 8)"],
    ),
    "unmeetable_service.sijp": (
        Code.UNMEETABLE_SERVICE,
        4,
        Severity.ERROR,
        ["'severe' (line 6)", "'mild' (line 8)"],
    ),
    "exclusion_always.sijp": (
        Code.EXCLUSION_ALWAYS,
        9,
        Severity.ERROR,
        ["'tumor_either_way'", "`tumor is not true`"],
    ),
    "exclusion_never.sijp": (
        Code.EXCLUSION_NEVER,
        9,
        Severity.ERROR,
        ["`tumor is true`", "`tumor is false`"],
    ),
    "exclusion_blocks.sijp": (
        Code.EXCLUSION_BLOCKS,
        10,
        Severity.ERROR,
        ["'fracture_present' (line 7)", "fracture = true"],
    ),
    "redundant_criterion.sijp": (
        Code.REDUNDANT_CRITERION,
        6,
        Severity.WARNING,
        ["'pain_5'", "implied by 'pain_7'"],
    ),
    "never_matters.sijp": (Code.NEVER_MATTERS, 8, Severity.WARNING, ["`vas_score >= 7`"]),
    "impossible_group.sijp": (
        Code.IMPOSSIBLE_GROUP,
        6,
        Severity.ERROR,
        ["fewer than 2", "request.side is left", "request.side is bilateral"],
    ),
    "unreachable_duration.sijp": (
        Code.UNREACHABLE_COUNT,
        6,
        Severity.ERROR,
        ["at most 367 days", "not 370"],
    ),
    "unreachable_dates.sijp": (
        Code.UNREACHABLE_COUNT,
        8,
        Severity.ERROR,
        ["at most 31 days", "40 separate dates"],
    ),
    # Issue 20: spaced dates need (K - 1) * G days of room, not K days.
    "unreachable_spacing.sijp": (
        Code.UNREACHABLE_COUNT,
        8,
        Severity.ERROR,
        ["at most 6 days", "2 dates at least 14 days apart"],
    ),
    # Issue 20: a record ordered after another set needs a record of that set.
    "order_without_its_set.sijp": (
        Code.UNMEETABLE_SERVICE,
        5,
        Severity.ERROR,
        ["'pt_after' (line 11)", "'no_block' (line 12)", "`at least 1 diagnostic_block`"],
    ),
}


def _proven(path: Path):
    return prove.prove(load_policy(path))


def _text(diagnostic) -> str:
    return diagnostic.message + " " + (diagnostic.hint or "")


def test_every_corpus_file_is_expected():
    assert {p.name for p in CORPUS.glob("*.sijp")} == set(EXPECTED) | {"suppressed.sijp"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_planted_defect_is_found_with_its_code_and_line(name):
    code, line, severity, words = EXPECTED[name]
    found = _proven(CORPUS / name)
    assert [(d.code, d.span.line if d.span else None) for d in found] == [(code, line)]
    assert found[0].severity == severity
    for word in words:
        assert word in _text(found[0]), (word, _text(found[0]))


@pytest.mark.parametrize("path", bundled_policy_paths(), ids=lambda p: p.name)
@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_nothing_is_reported_on_the_bundled_policies(path):
    assert _proven(path) == []


def test_a_comment_naming_the_code_suppresses_it():
    assert _proven(CORPUS / "suppressed.sijp") == []
    # The same file without the comment has the warning.
    text = (CORPUS / "suppressed.sijp").read_text(encoding="utf-8")
    assert "# lint: allow redundant-criterion" in text


def test_a_comment_naming_another_code_does_not_suppress(tmp_path):
    policy = tmp_path / "other.sijp"
    policy.write_text(
        HEADER + "criteria for percutaneous_sij_fusion {\n"
        '  pain_5 [1] "P5": vas_score >= 5  # lint: allow never-matters\n'
        '  pain_7 [2] "P7": vas_score >= 7\n'
        "}\n",
        encoding="utf-8",
    )
    assert [d.code for d in _proven(policy)] == [Code.REDUNDANT_CRITERION]


def _write(tmp_path: Path, body: str) -> Path:
    policy = tmp_path / "policy.sijp"
    policy.write_text(HEADER + body, encoding="utf-8")
    return policy


def test_a_satisfiable_policy_gives_nothing(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  pain [1] "P": all of { vas_score >= 3  vas_score <= 8 }\n'
        '  blocks [2] "B": at least 2 separate dates of injection where relief_percent >= 50\n'
        "    and relief_percent <= 90\n"
        "}\n"
        "exclusions for percutaneous_sij_fusion {\n"
        '  tumor [3] "T": tumor is true\n'
        "}\n"
    )
    assert _proven(_write(tmp_path, body)) == []


def test_a_contradiction_through_a_definition_is_reported_once_at_the_definition(tmp_path):
    body = (
        'define both [1] "Both": all of { tumor is true  tumor is false }\n'
        "criteria for percutaneous_sij_fusion {\n"
        '  a [1] "A": both\n'
        '  b [2] "B": any of { both  vas_score >= 5 }\n'
        "}\n"
    )
    found = _proven(_write(tmp_path, body))
    assert [(d.code, d.span.line) for d in found] == [(Code.CONTRADICTORY, 4)]


def test_the_core_names_only_the_conflicting_conditions(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  pain [1] "P": all of {\n'
        "    odi_score >= 30\n"
        "    vas_score >= 8\n"
        "    tumor is not true\n"
        "    vas_score < 2\n"
        "  }\n"
        "}\n"
    )
    (found,) = _proven(_write(tmp_path, body))
    assert "`vas_score >= 8` (line 7)" in found.hint and "`vas_score < 2` (line 9)" in found.hint
    assert "odi_score" not in found.hint and "tumor" not in found.hint


def test_a_filter_tied_to_the_request_side_conflicts_with_a_criterion_on_the_side(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  film [1] "F": all of {\n'
        "    request.side is bilateral\n"
        "    at least 1 imaging where side is left and side matches request.side\n"
        "  }\n"
        "}\n"
    )
    (found,) = _proven(_write(tmp_path, body))
    assert (found.code, found.span.line) == (Code.CONTRADICTORY, 5)
    assert "request.side is bilateral" in found.hint


def test_a_count_of_more_records_implies_a_count_of_fewer(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  one [1] "One": at least 1 injection where purpose is diagnostic\n'
        '  two [2] "Two": at least 2 injection where purpose is diagnostic\n'
        "}\n"
    )
    found = _proven(_write(tmp_path, body))
    assert [(d.code, d.span.line) for d in found] == [(Code.REDUNDANT_CRITERION, 5)]
    assert "implied by 'two'" in found[0].message


def test_an_undocumented_finding_is_a_case_too(tmp_path):
    # `is not true` holds when nothing is documented; `is false` does not: not redundant.
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  a [1] "A": tumor is not true\n'
        '  b [2] "B": tumor is false\n'
        "}\n"
    )
    found = _proven(_write(tmp_path, body))
    assert [(d.code, d.span.line) for d in found] == [(Code.REDUNDANT_CRITERION, 5)]
    assert "'a'" in found[0].message and "implied by 'b'" in found[0].message


@pytest.mark.slow
def test_lint_exits_2_on_a_proven_error_and_0_on_a_warning():
    command = [sys.executable, "-m", "sijfasp", "lint"]
    error = subprocess.run(
        command + [str(CORPUS / "contradictory_leaf.sijp")], capture_output=True, text=True
    )
    assert error.returncode == 2
    assert "contradictory_leaf.sijp:6:3: error[contradictory]" in error.stderr
    assert "^^^" in error.stderr and "Traceback" not in error.stderr
    warning = subprocess.run(
        command + [str(CORPUS / "redundant_criterion.sijp")], capture_output=True, text=True
    )
    assert warning.returncode == 0
    assert "warning[redundant-criterion]" in warning.stderr
    assert "1 policy file: no errors, 1 warning" in warning.stdout


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_lint_of_the_bundled_policies_stays_clean():
    out = subprocess.run(
        [sys.executable, "-m", "sijfasp", "lint"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().endswith("no errors, no warnings")
    assert out.stderr == ""


def test_criteria_together_always_excluded_is_reported_on_the_service(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  pain [1] "P": vas_score >= 5\n'
        '  odi [2] "O": odi_score >= 30\n'
        "}\n"
        "exclusions for percutaneous_sij_fusion {\n"
        '  both [3] "B": all of { vas_score >= 5  odi_score >= 30 }\n'
        '  tumor [4] "T": tumor is true\n'
        "}\n"
    )
    (found,) = _proven(_write(tmp_path, body))
    assert (found.code, found.span.line) == (Code.EXCLUSION_BLOCKS, 3)
    assert "'both' (line 9)" in found.message and "tumor" not in found.message
    assert "odi_score = 30" in found.hint and "vas_score = 5" in found.hint


def test_an_exclusion_covered_by_another_never_matters(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  pain [1] "P": vas_score >= 5\n'
        "}\n"
        "exclusions for percutaneous_sij_fusion {\n"
        '  any_tumor [2] "T": any of { tumor is true  sacral_tumor_present is true }\n'
        '  sacral [3] "S": sacral_tumor_present is true\n'
        "}\n"
    )
    found = _proven(_write(tmp_path, body))
    assert [(d.code, d.span.line, d.severity) for d in found] == [
        (Code.NEVER_MATTERS, 9, Severity.WARNING)
    ]
    assert "exclusion 'sacral'" in found[0].message


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_proving_a_bundled_policy_takes_less_than_three_seconds():
    import time

    for path in bundled_policy_paths():
        loaded = load_policy(path)
        started = time.perf_counter()
        prove.prove(loaded)
        assert time.perf_counter() - started < 3, path.name


# ------------------------------------------------------------------ against brute force
# Random criteria over three findings and a request field, decided by the solver and by trying
# every case in Python (numbers in steps of 0.5): the two must agree on every question.
_VALUES = {
    "tumor": [None, True, False],
    "fracture": [None, True, False],
    "vas_score": [None] + [n / 2 for n in range(21)],
    "side": [None, "left", "right", "bilateral"],
}
_OPS = {
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _random_leaf(rng):
    pick = rng.randrange(6)
    if pick == 0:
        fact, test = rng.choice(["tumor", "fracture"]), rng.choice(["true", "false", "not true"])
        want = {"true": True, "false": False}.get(test)
        if test == "not true":
            return f"{fact} is not true", lambda case: case[fact] is not True
        return f"{fact} is {test}", lambda case: case[fact] is want
    if pick in (1, 2, 3):
        op = rng.choice(list(_OPS))
        number = rng.choice([2.5, 5, 7, 10] if op == "<" else [0, 2.5, 5, 7, 10])
        text = f"vas_score {op} {number}"
        return (
            text,
            lambda case: case["vas_score"] is not None and _OPS[op](case["vas_score"], number),
        )
    sides = rng.sample(["left", "right", "bilateral"], rng.randrange(1, 3))
    text = f"request.side in {{{', '.join(sides)}}}"
    return text, lambda case: case["side"] in sides


def _random_tree(rng, depth, names):
    if depth == 0 or rng.random() < 0.3:
        return _random_leaf(rng)
    members = [_random_tree(rng, depth - 1, names) for _ in range(rng.randrange(1, 4))]
    kind = rng.choice(["all", "any", "none", "at_least"])
    texts = []
    for text, _ in members:
        names.append(f"n{len(names)}")
        texts.append(f'{names[-1]} "M": {text}')
    tests = [test for _, test in members]
    if kind == "at_least":
        k = rng.randrange(1, len(members) + 1)
        head = f"at least {k} of"

        def holds(case, tests=tests, k=k):
            return sum(t(case) for t in tests) >= k
    else:
        head = f"{kind} of"
        combine = {"all": all, "any": any, "none": lambda xs: not any(xs)}[kind]

        def holds(case, tests=tests, combine=combine):
            return combine(t(case) for t in tests)

    return f"{head} {{\n" + "\n".join(texts) + "\n}", holds


def _cases():
    import itertools

    keys = list(_VALUES)
    for combo in itertools.product(*(_VALUES[k] for k in keys)):
        yield dict(zip(keys, combo, strict=True))


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_the_solver_agrees_with_trying_every_case(tmp_path, seed):
    import random

    rng = random.Random(seed)
    names: list[str] = []
    first_text, first = _random_tree(rng, 3, names)
    second_text, second = _random_tree(rng, 3, names)
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        f'  first [1] "F": {first_text}\n'
        f'  second [2] "S": {second_text}\n'
        "}\n"
    )
    loaded = load_policy(_write(tmp_path, body))
    located = prove._locate(loaded)
    prover = prove.Prover(prove._program(loaded, located))
    cases = list(_cases())

    def want(name, value=True):
        return (prove.sym("want" if value else "want_not", name), True)

    assert prover.sat([want("first")]) == any(first(c) for c in cases), body
    assert prover.sat([want("first", False)]) == any(not first(c) for c in cases), body
    both = any(first(c) and second(c) for c in cases)
    assert prover.sat([want("first"), want("second")]) == both, body
    implied = not any(first(c) and not second(c) for c in cases)
    assert (not prover.sat([want("first"), want("second", False)])) == implied, body


def test_a_shared_exclusion_is_reported_once_with_a_record_witness(tmp_path):
    body = (
        'service open_sij_fusion [2] "Open"\n'
        "criteria for percutaneous_sij_fusion, open_sij_fusion {\n"
        '  pain [1] "P": vas_score >= 5\n'
        '  blocks [2] "B": at least 1 injection where relief_percent >= 80\n'
        "    and side covers request.side\n"
        "}\n"
        "exclusions for percutaneous_sij_fusion, open_sij_fusion {\n"
        '  relief [3] "R": at least 1 injection where relief_percent >= 75\n'
        "}\n"
    )
    (found,) = _proven(_write(tmp_path, body))
    assert (found.code, found.span.line) == (Code.EXCLUSION_BLOCKS, 11)
    assert "percutaneous_sij_fusion or open_sij_fusion can never be approved" in found.message
    assert "an injection record with relief_percent = 80, side = " in found.hint
    assert "request.side = " in found.hint


def test_a_filter_matching_the_request_side_can_be_met_on_both_sides(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  film [1] "F": all of {\n'
        "    request.side is bilateral\n"
        "    at least 1 imaging where side is bilateral and side covers request.side\n"
        "  }\n"
        "}\n"
    )
    assert _proven(_write(tmp_path, body)) == []


def test_a_criterion_implied_by_two_others_together_names_both(tmp_path):
    body = (
        "criteria for percutaneous_sij_fusion {\n"
        '  low [1] "L": vas_score >= 5\n'
        '  odi [2] "O": odi_score >= 30\n'
        '  both [3] "B": any of { tumor is true  all of { vas_score >= 5  odi_score >= 30 } }\n'
        '  copy [4] "C": odi_score >= 30\n'
        "}\n"
    )
    found = _proven(_write(tmp_path, body))
    assert sorted((d.code, d.span.line) for d in found) == [
        (Code.REDUNDANT_CRITERION, 7),
        (Code.REDUNDANT_CRITERION, 8),
    ]
    by_line = {d.span.line: d.message for d in found}
    assert "implied by 'low' (line 5), 'odi' (line 6) together" in by_line[7]
    # The later of two equal criteria is reported, the first kept.
    assert by_line[8].startswith("'copy' (line 8) is implied by 'odi' (line 6):")


# ------------------------------------------------------------------ the documented examples
def _documented_examples() -> list[tuple[str, str, str, int]]:
    """(file name, policy body, lint output, exit status) of each example of the proven codes
    in docs/diagnostics.md."""
    import re

    text = (HERE.parent / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    section = text.split("### Proven by the solver", 1)[1].split("\n### ", 1)[0]
    pattern = re.compile(
        r"\$ tail -n \+4 (\S+)\n(.*?)\$ sijfasp lint \1\n(.*?)\$ echo \$\?\n(\d+)\n```", re.S
    )
    return [(m[1], m[2], m[3], int(m[4])) for m in pattern.finditer(section)]


def test_the_documented_examples_are_all_found():
    names = [name for name, *_ in _documented_examples()]
    assert len(names) == 14 and "contradictory_leaf.sijp" in names


@pytest.mark.parametrize("example", _documented_examples(), ids=lambda e: e[0])
def test_each_documented_example_is_what_lint_prints(tmp_path, capsys, monkeypatch, example):
    from sijfasp.cli.main import main

    name, body, output, status = example
    (tmp_path / "vocabulary.sijv").write_text(VOCABULARY.read_text(encoding="utf-8"))
    header = (
        'import "vocabulary.sijv"\n'
        'policy demo { payer "Example payer" title "Demo" document "Demo policy" '
        'effective 2026-01-01 cite "DEMO" }\n'
        'service percutaneous_sij_fusion [1] "Percutaneous fusion"\n'
    )
    (tmp_path / name).write_text(header + body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["lint", name]) == status
    captured = capsys.readouterr()
    assert captured.err + captured.out == output


def test_a_definition_that_never_holds_is_reported_at_the_definition(tmp_path):
    body = (
        'define never_holds [1] "N": none of { tumor is not true  tumor is true }\n'
        "criteria for percutaneous_sij_fusion {\n"
        '  a [1] "A": any of { never_holds  vas_score >= 5 }\n'
        "}\n"
    )
    (found,) = _proven(_write(tmp_path, body))
    assert (found.code, found.span.line) == (Code.CONTRADICTORY, 4)
    assert "definition 'never_holds'" in found.message
    assert "`tumor is not true` (line 4), `tumor is true` (line 4)" in found.hint


def _witness_case(symbols) -> dict:
    """A case documenting what a model of the proving encoding documents (findings, side)."""
    from sijfasp.core.units import unscaled

    findings: dict = {}
    request = {"service": "percutaneous_sij_fusion", "date": "2026-07-15"}
    for symbol in symbols:
        if symbol.name != "val":
            continue
        term, value = symbol.arguments
        shown = float(unscaled(value.number)) if value.type == value.type.Number else value.name
        shown = {"true": True, "false": False}.get(shown, shown)
        if term.name == "request":
            request[term.arguments[0].name] = shown
        else:
            findings[term.name] = shown
    return {"id": "witness", "request": request, "findings": findings}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_a_model_of_the_proving_encoding_is_a_case_the_evaluator_judges_alike(tmp_path, seed):
    """The proving encoding and encodings/policy.lp give a criterion the same meaning: a case
    built from a model where the criterion holds (or not) is met (or not) by the evaluator."""
    import random

    from sijfasp.api import evaluate
    from sijfasp.cases.case import validate_case

    rng = random.Random(1000 + seed)
    text, _ = _random_tree(rng, 3, [])
    loaded = load_policy(
        _write(tmp_path, f'criteria for percutaneous_sij_fusion {{\n  first [1] "F": {text}\n}}\n')
    )
    located = prove._locate(loaded)
    prover = prove.Prover(prove._program(loaded, located))
    for wanted in ("want", "want_not"):
        symbols = prover.model([(prove.sym(wanted, "first"), True)])
        if symbols is None:
            continue
        case = validate_case(_witness_case(symbols), loaded.policy.vocabulary)
        (node,) = [n for n in evaluate(loaded, case).criteria if n.id == "first"]
        assert (node.status == "met") == (wanted == "want"), (text, _witness_case(symbols))


_INJECTION_TESTS = [
    "purpose is diagnostic",
    "purpose is therapeutic",
    "site in {sij_intra_articular, other}",
    "image_guided is false",
    "relief_percent >= 75",
    "relief_percent <= 50",
    "relief_percent < 25",
    "side is left",
    "side is bilateral",
    "side covers request.side",
    "side matches request.side",
    "date within last 30 days",
]


def _random_injection_case(rng, count: int) -> dict:
    import datetime as dt

    request = {"service": "percutaneous_sij_fusion", "date": "2026-07-15"}
    if rng.random() < 0.8:
        request["side"] = rng.choice(["left", "right", "bilateral"])
    records = []
    for _ in range(rng.randrange(count + 2)):
        record = {
            "date": str(dt.date(2026, 7, 15) - dt.timedelta(days=rng.choice([0, 1, 2, 40]))),
            "purpose": rng.choice(["diagnostic", "therapeutic"]),
            "site": rng.choice(["sij_intra_articular", "other"]),
            "image_guided": rng.choice([True, False]),
            "contrast_enhanced": True,
            "agent": "local_anesthetic",
            "relief_percent": rng.choice([0, 24.5, 25, 50, 60, 75, 100]),
        }
        if rng.random() < 0.8:
            record["side"] = rng.choice(["left", "right", "bilateral"])
        records.append(record)
    return {"id": "random", "request": request, "records": {"injection": records}}


@pytest.mark.slow  # a few seconds; the full tier runs it
@pytest.mark.parametrize("seed", range(16))
def test_a_record_model_of_the_proving_encoding_is_met_by_the_evaluator(tmp_path, seed):
    """A criterion on records that the proving encoding can meet is met by the evaluator on
    the records its model describes (each copied on as many separate days as counted); one it
    cannot meet is met by none of 10 random cases."""
    import datetime as dt
    import random

    from sijfasp.api import evaluate
    from sijfasp.cases.case import validate_case

    rng = random.Random(2000 + seed)
    tests = rng.sample(_INJECTION_TESTS, rng.randrange(1, 4))
    count = rng.randrange(1, 4)
    unit = rng.choice(["", "separate dates of "])
    leaf = f"at least {count} {unit}injection where {' and '.join(tests)}"
    side = rng.choice(["", "request.side is left", "request.side in {right, bilateral}"])
    text = f"all of {{ {leaf}  {side} }}" if side else leaf
    loaded = load_policy(
        _write(tmp_path, f'criteria for percutaneous_sij_fusion {{\n  first [1] "F": {text}\n}}\n')
    )
    located = prove._locate(loaded)
    prover = prove.Prover(prove._program(loaded, located))
    symbols = prover.model([(prove.sym("want", "first"), True)])
    if symbols is None:  # no case can meet it: none of these random ones does
        for _ in range(10):
            case = _random_injection_case(rng, count)
            checked = validate_case(case, loaded.policy.vocabulary)
            (node,) = [n for n in evaluate(loaded, checked).criteria if n.id == "first"]
            assert node.status != "met", (text, case)
        return
    case = _witness_case(symbols)
    fields: dict = {}
    for symbol in symbols:
        if symbol.name == "rv":
            _, name, value = symbol.arguments
            fields[name.name] = (
                value.number / 100 if value.type == value.type.Number else value.name
            )
    fields = {k: {"true": True, "false": False}.get(v, v) for k, v in fields.items()}
    base = {
        "purpose": "diagnostic",
        "site": "sij_intra_articular",
        "image_guided": True,
        "contrast_enhanced": True,
        "agent": "local_anesthetic",
    }
    case["records"] = {
        "injection": [
            {**base, **fields, "date": str(dt.date(2026, 7, 15) - dt.timedelta(days=day))}
            for day in range(count)
        ]
    }
    checked = validate_case(case, loaded.policy.vocabulary)
    (node,) = [n for n in evaluate(loaded, checked).criteria if n.id == "first"]
    assert node.status == "met", (text, case)


# ------------------------------------------------------------------ order conditions (issue 20)
ORDERED = (
    'records blocks [2] "Diagnostic block": injection where purpose is diagnostic\n'
    'records pt_after [3] "PT after a block":\n'
    "  therapy where kind is physical_therapy and start after blocks\n"
)


def test_a_record_ordered_after_a_set_whose_filter_no_record_meets_is_contradictory(tmp_path):
    body = ORDERED.replace(
        "purpose is diagnostic", "purpose is diagnostic and purpose is therapeutic"
    )
    body += 'criteria for percutaneous_sij_fusion {\n  pt [4] "PT": at least 1 pt_after\n}\n'
    codes = [d.code for d in _proven(_write(tmp_path, body))]
    assert Code.CONTRADICTORY_FILTER in codes


def test_an_order_and_a_count_of_its_set_that_can_both_hold_are_clean(tmp_path):
    body = ORDERED + (
        "criteria for percutaneous_sij_fusion {\n"
        '  pt [4] "PT": at least 1 pt_after\n'
        '  two_blocks [5] "Two blocks": at least 2 blocks\n'
        "}\n"
    )
    assert _proven(_write(tmp_path, body)) == []


def test_the_record_an_order_needs_does_not_make_a_count_of_two_hold(tmp_path):
    # One block is all a therapy after a block needs: "not two blocks" can still hold.
    body = ORDERED.replace(
        "purpose is diagnostic", "purpose is diagnostic and relief_percent >= 50"
    ) + (
        "criteria for percutaneous_sij_fusion {\n"
        '  pt [4] "PT": at least 1 pt_after\n'
        '  few [5] "Not two blocks": none of { at least 2 blocks }\n'
        "}\n"
    )
    assert _proven(_write(tmp_path, body)) == []
