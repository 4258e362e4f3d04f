"""The proving lint of a long policy asks most questions of parts of its program (issue 25):
what it reports is what asking every question of the whole program reports."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import clingo
import pytest

from sijfasp.authoring import prove
from sijfasp.authoring.prover import Parts, Prover, sym
from sijfasp.core.kinds import NodeKind
from sijfasp.policies.loading import load_policy

HERE = Path(__file__).resolve().parent
BENCHMARK = HERE.parent / "benchmarks" / "large_policy.py"
VOCABULARY = HERE.parent / "policies_asp" / "vocabulary.sijv"
HEADER = (
    f'import "{VOCABULARY.as_posix()}"\n'
    'policy demo { payer "P" title "T" document "D" effective 2026-01-01 cite "C" }\n'
    'service percutaneous_sij_fusion [1] "Percutaneous fusion"\n'
)


def _generated(folder: Path, size: int) -> Path:
    spec = importlib.util.spec_from_file_location("large_policy", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("large_policy", module)
    spec.loader.exec_module(module)
    policy, _ = module.write(size, folder)
    return policy


def _reference(loaded) -> list[tuple[str, int, str]]:
    """The redundancy and never-matters findings as the lint found them before it had parts:
    every question a solve of the whole program. (code, line, member) in the lint's order."""
    located = prove._locate(loaded)
    whole = Prover(prove._program(loaded, located))
    compiled = loaded.compiled
    want = [((sym("want", n), True), sym("holds", n)) for n in located.nodes]
    unmeetable = {n for n, met in zip(located.nodes, whole.each_sat(want)) if not met}
    assert not unmeetable  # the generated policy has no conflict
    found: list[tuple[str, int, str]] = []
    groups = [(f"criteria({s})", tops, False) for s, tops in compiled.top.items()]
    groups += [
        (n, compiled.nodes[n].children, True)
        for n in located.nodes
        if compiled.nodes[n].kind == NodeKind.ALL
    ]
    reported: set[str] = set()
    for group, members, _ in groups:
        hold = (clingo.parse_term(f"hold_group({group})"), True)
        assert whole.sat([hold])
        aside: set[str] = set()
        candidates = [m for m in members if m in located.nodes and m not in reported]
        for member in sorted(candidates, key=lambda m: located.nodes[m].span.line, reverse=True):
            others = [(sym("want", o), True) for o in members if o != member and o not in aside]
            if whole.sat([(sym("want_not", member), True), *others]):
                continue
            aside.add(member)
            reported.add(member)
            found.append(("redundant-criterion", located.nodes[member].span.line, member))
    for n in located.nodes:
        if compiled.nodes[n].kind != NodeKind.ANY or len(compiled.nodes[n].children) < 2:
            continue
        for member in compiled.nodes[n].children:
            alone = clingo.parse_term(f"alone({n}, {member})")
            if member in located.nodes and not whole.sat([(alone, True)]):
                found.append(("never-matters", located.nodes[member].span.line, member))
    return found


def _check_against_reference(loaded, found) -> None:
    expected = _reference(loaded)
    assert [(str(d.code), d.span.line) for d in found] == [(c, line) for c, line, _ in expected]
    located = prove._locate(loaded)
    whole = Prover(prove._program(loaded, located))
    # Where several sets of criteria imply one, the lint may name another than the first one
    # found before: each named set implies the criterion, and none of its members can go.
    for diagnostic, (code, _, member) in zip(found, expected, strict=True):
        if code != "redundant-criterion":
            continue
        named = re.findall(r"'(c\d+)' \(line \d+\)", diagnostic.message)
        assert named[0] == member
        implying = [(sym("want", n), True) for n in named[1:]]
        goal = [(sym("want_not", member), True)]
        assert implying and not whole.sat(goal + implying), diagnostic.message
        for dropped in implying:
            rest = [i for i in implying if i != dropped]
            assert whole.sat(goal + rest), diagnostic.message


@pytest.mark.slow  # about two processor seconds: the reference asks the whole program
def test_a_long_policy_split_in_many_parts_gets_the_findings_of_the_whole(tmp_path, monkeypatch):
    # 70 criteria and parts of at most 6 trees: many parts, members that read pieces of
    # several, and implications found only over their union or the whole program.
    monkeypatch.setattr(Parts, "BUDGET", 6)
    loaded = load_policy(_generated(tmp_path, 70))
    found = prove.prove(loaded)
    assert len(found) > 20
    _check_against_reference(loaded, found)


@pytest.mark.slow  # about two processor seconds: the reference asks the whole program
def test_a_long_policy_in_parts_of_the_usual_size_gets_the_findings_of_the_whole(tmp_path):
    loaded = load_policy(_generated(tmp_path, 130))
    located = prove._locate(loaded)
    parts = Parts(Prover(prove._program(loaded, located)))
    assert not parts.single
    found = prove.prove(loaded)
    _check_against_reference(loaded, found)


def _policy(tmp_path: Path, criteria: str) -> Path:
    path = tmp_path / "demo.sijp"
    body = "criteria for percutaneous_sij_fusion {\n" + criteria + "}\n"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _parts(tmp_path: Path, criteria: str, budget: int, monkeypatch) -> Parts:
    monkeypatch.setattr(Parts, "BUDGET", budget)
    loaded = load_policy(_policy(tmp_path, criteria))
    located = prove._locate(loaded)
    return Parts(Prover(prove._program(loaded, located)))


CRITERIA = (
    '  pain [1] "P": vas_score >= 5\n'
    '  more_pain [2] "M": vas_score >= 7\n'
    '  no_tumor [3] "T": tumor is false\n'
    '  blocks [4] "B": at least 1 injection where relief_percent >= 80\n'
    "    and side covers request.side\n"
    '  side_left [5] "S": request.side is left\n'
)


def test_a_short_policy_is_one_part_the_whole_program(tmp_path, monkeypatch):
    parts = _parts(tmp_path, CRITERIA, Parts.BUDGET, monkeypatch)
    assert parts.single
    assert parts.for_node("pain") is parts.whole
    assert parts.around("pain") == [(parts.whole, frozenset(parts.root_of))]


def test_criteria_that_read_one_finding_share_a_part_and_a_record_joins_the_side(
    tmp_path, monkeypatch
):
    parts = _parts(tmp_path, CRITERIA, 1, monkeypatch)
    assert not parts.single
    # The two scores read one finding: one part holds both.
    (_, held), *_ = parts.around("pain")
    assert {"pain", "more_pain"} <= held
    assert "no_tumor" not in held
    # The block's record is tied to the side of the request: the side's criterion is read
    # with it, in one part, and nothing else.
    ((_, held),) = parts.around("side_left")
    assert {"blocks", "side_left"} <= held and "pain" not in held
    # The part of a node answers as the whole program does.
    for node in ("pain", "blocks", "side_left", "no_tumor"):
        for wanted in ("want", "want_not"):
            question = [(sym(wanted, node), True)]
            assert parts.for_node(node).sat(question) == parts.whole.sat(question)


def test_each_criterion_of_a_policy_in_parts_is_settled_within_its_part(tmp_path, monkeypatch):
    # One piece a part: the scores, the tumor, the block with the side it is tied to. The
    # lower score is implied within its part; each other criterion is shown not implied there,
    # from a case meeting every criterion changed only where it reads: the whole program is
    # never asked whether a criterion is implied.
    monkeypatch.setattr(Parts, "BUDGET", 1)
    asked: list[int] = []
    conflict = Prover.conflict

    def counted(self, goal, candidates):
        if not self.open and goal:  # the whole program, asked about one criterion
            asked.append(len(candidates))
        return conflict(self, goal, candidates)

    monkeypatch.setattr(Prover, "conflict", counted)
    found = prove.prove(load_policy(_policy(tmp_path, CRITERIA)))
    assert [(str(d.code), d.span.line) for d in found] == [("redundant-criterion", 5)]
    assert "'pain' (line 5) is implied by 'more_pain' (line 6)" in found[0].message
    assert asked == []
