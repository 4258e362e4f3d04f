"""Wrong answers the solver once gave on lint-clean policies and accepted cases
(tests/hostile/solver/): each case gets the determination, the statuses, the minimal sets and the
words listed for it in tests/hostile/solver/expected.yaml, and every minimal set, written into
the case, is a case the reader accepts (no record dated after the request) that is approvable."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path

import pytest
import yaml

from sijfasp.api import evaluate
from sijfasp.authoring.witness import Writer
from sijfasp.cases.case import validate_case
from sijfasp.cli.main import main
from sijfasp.policies.loading import load_policy
from sijfasp.results.missing import Options

SOLVER = Path(__file__).resolve().parent / "hostile" / "solver"
EXPECTED = yaml.safe_load((SOLVER / "expected.yaml").read_text(encoding="utf-8"))


def test_every_case_of_the_corpus_has_an_expectation():
    cases = sorted(p.name for p in SOLVER.glob("*.yaml") if p.name != "expected.yaml")
    assert cases == sorted(EXPECTED)


def _check(name: str) -> dict:
    expected = EXPECTED[name]
    out, err = io.StringIO(), io.StringIO()
    arguments = ["check", str(SOLVER / name), "--policy-file", str(SOLVER / expected["policy"])]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*arguments, "--format", "json", "--enumerate", "0"])
    assert code == 0 and err.getvalue() == "", err.getvalue()
    (result,) = json.loads(out.getvalue())["results"]
    return result


def _statuses(nodes: list[dict]) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in nodes:
        found[node["id"]] = node["status"]
        found.update(_statuses(node["children"]))
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_solver_case(name):
    expected = EXPECTED[name]
    result = _check(name)
    assert result["determination"] == expected["determination"]
    statuses = _statuses(result["criteria"])
    for node, status in expected.get("status", {}).items():
        assert statuses[node] == status, (node, statuses)
    sets = sorted(sorted(item["item"] for item in option) for option in result["missing"])
    assert sets == sorted(sorted(option) for option in expected.get("missing", []))
    words = json.dumps([result["criteria"], result["reasons"]], ensure_ascii=False)
    for text in expected.get("says", []):
        assert text in words, words


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if EXPECTED[n].get("missing")))
def test_every_minimal_set_can_be_sent(name):
    # Each set, written into the case, gives a case the reader accepts and that is approvable.
    expected = EXPECTED[name]
    loaded = load_policy(SOLVER / expected["policy"])
    vocabulary = loaded.policy.vocabulary
    data = yaml.safe_load((SOLVER / name).read_text(encoding="utf-8"))
    day0 = data["request"]["date"]
    writer = Writer(loaded.compiled, vocabulary)
    for option in expected["missing"]:
        written = writer.apply(data, option)
        for records in (written.get("records") or {}).values():
            for record in records:
                date = record.get("date", record.get("start"))
                assert isinstance(date, dt.date) and date <= day0, (option, record)
        result = evaluate(loaded, validate_case(written, vocabulary), Options(enumerate=1))
        assert result.determination == "approvable", (option, written)


# ------------------------------------------------------------------ focused
VOCABULARY = (SOLVER.parent.parent.parent / "policies_asp" / "vocabulary.sijv").as_posix()
HEADER = (
    f'import "{VOCABULARY}"\n'
    'policy focused { payer "P" title "T" document "D" effective 2026-01-01 cite "F" }\n'
    'service percutaneous_sij_fusion [1] "Percutaneous fusion"\n'
)
BLOCK = {
    "purpose": "diagnostic",
    "site": "sij_intra_articular",
    "image_guided": True,
    "contrast_enhanced": True,
    "agent": "local_anesthetic",
}


def _judge(tmp_path: Path, body: str, request: dict, records: dict):
    path = tmp_path / "focused.sijp"
    path.write_text(HEADER + body, encoding="utf-8")
    loaded = load_policy(path)
    data = {"request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15", **request}}
    if records:
        data["records"] = records
    result = evaluate(loaded, validate_case(data, loaded.policy.vocabulary), Options(enumerate=0))
    return result, sorted(sorted(item.key for item in option) for option in result.missing)


def test_latest_of_with_the_requested_side_undocumented_asks_for_the_side(tmp_path):
    # Without the requested side no block is an attempt as documented; every one may be, and
    # the newest decides once the side is known.
    body = (SOLVER / "latest_open_side.sijp").read_text(encoding="utf-8").split("\n", 5)[5]
    blocks = [
        {"date": "2026-03-01", **BLOCK, "side": "left", "relief_percent": 10},
        {"date": "2026-05-01", **BLOCK, "side": "left", "relief_percent": 80},
    ]
    result, sets = _judge(tmp_path, body, {}, {"injection": blocks})
    assert result.determination == "incomplete"
    assert ["guess(request(side),left)"] in sets
    assert ["guess(request(side),right)"] not in sets  # then no block is of that joint


def test_separate_dates_need_a_day_each_inside_the_window(tmp_path):
    # Four separate dates within the last 2 days: three days hold at most three.
    body = (
        'records recent [1] "Block of the last 2 days": injection where date within last 2 days\n'
        "criteria for percutaneous_sij_fusion {\n"
        '  four [1] "Four dates": at least 4 separate dates of recent\n}\n'
    )
    result, sets = _judge(tmp_path, body, {}, {})
    assert result.determination == "not_met" and sets == []
    assert result.criteria[0].status == "not_met"
    assert (
        "no room: its records can be dated only from 2026-07-13 to 2026-07-15; 4 separate "
        "dates need 3 days from the first to the last" in result.criteria[0].evidence
    )


def test_a_record_before_a_set_asks_for_a_later_record_of_it_when_none_is_late_enough(tmp_path):
    # A block of the last 30 days before physical therapy: the therapy of 40 days ago is too
    # early, so a later therapy is asked for with the block.
    body = (
        'records pt [1] "Physical therapy": therapy where kind is physical_therapy\n'
        'records block_before [2] "Block before therapy":\n'
        "  injection where purpose is diagnostic and date within last 30 days and date before pt\n"
        "criteria for percutaneous_sij_fusion {\n"
        '  block [1] "A recent block before therapy": at least 1 block_before\n}\n'
    )
    therapy = {"therapy": [{"kind": "physical_therapy", "start": "2026-06-05"}]}
    result, sets = _judge(tmp_path, body, {}, therapy)
    assert result.determination == "incomplete"
    assert sets == [["more(block_before,1)", "more(pt,1)"]]
    later = {"therapy": [{"kind": "physical_therapy", "start": "2026-07-10"}]}
    _, sets = _judge(tmp_path, body, {}, later)
    assert sets == [["more(block_before,1)"]]
