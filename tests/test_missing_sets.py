"""Minimal sets of missing documentation: the issue's "Done when" cases, the grouped view, the
order of the sets, and the completion self-check over every example case.

Self-check: for an incomplete case, every listed minimal set, turned into real documentation by
support.apply_missing_set, makes the case approvable, and leaving out any one of its items does
not.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
import support as s
from support import AIM, CARESOURCE

from sijfasp.authoring.witness import Unwritable
from sijfasp.language.compiler import OrderCondition

FIVE_UNDOCUMENTED = (
    "long_ligament_test",
    "active_straight_leg_raise_test",
    "compression_test",
    "distraction_test",
    "thigh_thrust_test",
)


def only_faber_and_gaenslen_documented():
    return s.without_findings(s.base_case(), *FIVE_UNDOCUMENTED)


def without_diagnostic_blocks():
    return s.without_records(s.base_case(), "injection", lambda r: r["purpose"] == "diagnostic")


# ------------------------------------------------------------------ the cases
@pytest.mark.parametrize(
    "policy, criterion",
    [(AIM, "AIM SIJF 2022 Percutaneous 1, VAS"), (CARESOURCE, "MM-1508 D.I.B.2")],
)
def test_vas_removed_gives_the_single_set_vas_at_least_5(policy, criterion):
    case = s.without_findings(s.base_case(), "vas_score")
    result = s.self_check(case, policy)
    assert result.missing_complete and result.missing_total == 1
    assert len(result.missing) == 1 and len(result.missing[0]) == 1
    item = result.missing[0][0]
    assert item.fact == "vas_score"
    assert item.need == "vas_score >= 5"
    assert item.key == "guess(vas_score,500)"
    assert item.criterion == criterion
    assert item.prompt  # the vocabulary's request for the finding


@pytest.mark.parametrize(
    "policy, block_set, percent, other",
    [(AIM, "diagnostic_block_75", "75%", "50%"), (CARESOURCE, "diagnostic_block_50", "50%", "75%")],
)
def test_diagnostic_blocks_removed_asks_for_two_blocks_on_separate_dates(
    policy, block_set, percent, other
):
    case = without_diagnostic_blocks()
    result = s.self_check(case, policy)
    # The blocks of the joint to be fused; a bilateral request may also be met joint by joint.
    assert s.loaded(policy).compiled.nodes["joint_blocks"].set_id() == block_set
    assert s.set_keys(result) == {frozenset({f"more({block_set},1)", f"more({block_set},2)"})}
    for item in result.missing[0]:
        assert item.fact == "injection"
        assert percent in item.need and other not in item.need, item.need
        assert item.criterion_id == "joint_blocks"
    completed = s.apply_missing_set(case, policy, result.missing[0])
    added = s.records_of(completed, "injection")[len(s.records_of(case, "injection")) :]
    assert len(added) == 2
    dates = {r["date"] for r in added}
    assert len(dates) == 2 and all(d < s.request_date(case) for d in dates)


def test_five_undocumented_provocative_tests_under_aim():
    result = s.self_check(only_faber_and_gaenslen_documented(), AIM)
    assert s.set_keys(result) == {frozenset({f"guess({t},true)"}) for t in FIVE_UNDOCUMENTED}
    assert result.missing_complete and result.missing_total == 5
    for (item,) in result.missing:
        assert item.need == f"{item.fact} = true"
        assert item.criterion == "AIM SIJF 2022 Percutaneous 3d"


def test_five_undocumented_provocative_tests_under_caresource():
    result = s.self_check(only_faber_and_gaenslen_documented(), CARESOURCE)
    assert s.set_keys(result) == {
        frozenset({"guess(thigh_thrust_test,true)"}),
        frozenset({"guess(compression_test,true)"}),
    }
    assert {item.need for (item,) in result.missing} == {
        "thigh_thrust_test = true",
        "compression_test = true",
    }
    assert {item.criterion for (item,) in result.missing} == {"MM-1508 D.I.B.5"}


# ------------------------------------------------------------------ the grouped view
@pytest.mark.slow  # a few seconds; the full tier runs it
@pytest.mark.parametrize("policy", s.POLICY_IDS)
def test_grouped_view_of_an_empty_case_lists_every_top_criterion(policy):
    result = s.evaluate(s.request_only(), policy)
    assert result.determination == "incomplete"
    tops = s.loaded(policy).compiled.top[s.PERCUTANEOUS]
    assert [g.criterion_id for g in result.grouped] == list(tops)
    for group in result.grouped:
        assert group.criterion == s.cite(policy, group.criterion_id)
    if result.grouped_exact:
        assert result.missing_total == math.prod(g.count() for g in result.grouped)


GROUPED_CASES = [
    pytest.param(s.request_only, CARESOURCE, id="empty case, MM-1508"),
    pytest.param(only_faber_and_gaenslen_documented, AIM, id="five tests undocumented, AIM"),
    pytest.param(
        lambda: s.without_findings(only_faber_and_gaenslen_documented(), "odi_score", "vas_score"),
        CARESOURCE,
        id="tests, ODI and VAS undocumented, MM-1508",
    ),
    pytest.param(lambda: s.without_records(s.base_case(), "imaging"), AIM, id="no imaging, AIM"),
    pytest.param(
        lambda: s.without_records(s.base_case(), "therapy"), CARESOURCE, id="no therapy, MM-1508"
    ),
    pytest.param(
        lambda: s.without_findings(
            s.base_case(), *FIVE_UNDOCUMENTED, "gaenslen_test", "faber_patrick_test"
        ),
        AIM,
        id="no provocative test, AIM",
    ),
    pytest.param(
        lambda: s.without_findings(
            s.base_case(), *FIVE_UNDOCUMENTED, "gaenslen_test", "faber_patrick_test"
        ),
        CARESOURCE,
        id="no provocative test, MM-1508",
    ),
]


@pytest.mark.slow  # a few seconds; the full tier runs it
@pytest.mark.parametrize("build, policy", GROUPED_CASES)
def test_missing_total_agrees_with_the_groups_and_the_full_enumeration(build, policy):
    capped = s.evaluate(build(), policy, enumerate=3)
    full = s.evaluate(build(), policy, enumerate=0)
    assert full.missing_complete
    assert full.missing_total == len(full.missing)
    # A capped run knows the total when it found every set or the groups multiply exactly.
    if capped.missing_complete or capped.grouped_exact:
        assert capped.missing_total == full.missing_total
    else:
        assert capped.missing_total is None
    if capped.grouped_exact:
        assert capped.missing_total == math.prod(g.count() for g in capped.grouped)
    assert capped.missing_complete == (len(full.missing) <= 3)


@pytest.mark.parametrize(
    "build, policy", GROUPED_CASES + [pytest.param(s.request_only, AIM, id="empty case, AIM")]
)
def test_missing_sets_are_ordered_by_size_then_cost(build, policy):
    result = s.evaluate(build(), policy)
    order = [(len(items), sum(i.cost for i in items)) for items in result.missing]
    assert order == sorted(order)


@pytest.mark.parametrize(
    "build, policy, cap",
    [
        pytest.param(
            lambda: s.without_records(s.base_case(), "imaging", lambda r: r["region"] == "sij"),
            AIM,
            1,
            id="no SIJ imaging, AIM, 1 set",
        ),
        pytest.param(
            lambda: s.without_records(
                s.base_case(), "therapy", lambda r: r["kind"] == "physical_therapy"
            ),
            CARESOURCE,
            1,
            id="no physical therapy, MM-1508, 1 set",
        ),
        pytest.param(s.request_only, CARESOURCE, 10, id="empty case, MM-1508, 10 sets"),
    ],
)
@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_a_capped_listing_starts_with_the_smallest_cheapest_sets(build, policy, cap):
    full = s.evaluate(build(), policy, enumerate=0)
    capped = s.evaluate(build(), policy, enumerate=cap)
    best = [(len(i), sum(x.cost for x in i)) for i in full.missing][:cap]
    assert [(len(i), sum(x.cost for x in i)) for i in capped.missing] == best


# ------------------------------------------------------------------ the self-check on examples
def _example_params():
    paths = sorted(s.EXAMPLES_DIR.glob("*.yaml")) + sorted(s.EXAMPLES_DIR.glob("*.json"))
    return [
        pytest.param(path, policy, id=f"{path.name}, {policy}")
        for path in paths
        for policy in s.POLICY_IDS
    ]


def _load(path):
    if path.suffix == ".json":
        import json

        return json.loads(path.read_text(encoding="utf-8"))
    return s.load_yaml(path)


@pytest.mark.slow  # every example, every set turned into documentation and solved again
@pytest.mark.parametrize("path, policy", _example_params())
def test_self_check_on_every_example(path, policy):
    case = _load(path)
    result = s.evaluate(case, policy)
    if result.determination == "incomplete":
        s.self_check(case, policy)
    else:
        assert not result.missing


EXPECTED_LINE = re.compile(r"^#\s+(\w+):\s+(\w+)\b")


@pytest.mark.parametrize("path", sorted(s.EXAMPLES_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_example_determinations_match_their_stated_expectations(path):
    stated = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECTED_LINE.match(line)
        if match and match.group(1) in s.POLICY_IDS:
            stated[match.group(1)] = match.group(2)
    case = s.load_yaml(path)
    for policy, expected in stated.items():
        assert s.evaluate(case, policy).determination == expected, policy


def test_one_record_serves_two_leaves_over_the_same_record_set():
    """No complementary therapy and no therapeutic injection: one therapeutic SIJ injection
    meets both the complementary treatment (General Information) and Percutaneous 2, so the
    single minimal set asks for one."""
    compiled = s.loaded(AIM).compiled
    for leaf in ("complementary_injection", "joint_injection_trial"):
        assert compiled.nodes[leaf].set_id() == "therapeutic_ia_injection"
    case = s.base_case()
    case = s.without_records(case, "therapy", lambda r: r["kind"] != "physical_therapy")
    case = s.without_records(case, "injection", lambda r: r["purpose"] == "therapeutic")
    result = s.self_check(case, AIM)
    assert result.missing_complete
    assert s.set_keys(result) == {frozenset({"more(therapeutic_ia_injection,1)"})}
    completed = s.apply_missing_set(case, AIM, result.missing[0])
    (added,) = s.records_of(completed, "injection")[len(s.records_of(case, "injection")) :]
    assert (added["purpose"], added["site"]) == ("therapeutic", "sij_intra_articular")
    done = s.evaluate(completed, AIM)
    assert s.status(done, "complementary_injection") == "met"
    assert s.status(done, "therapeutic_injection_trial") == "met"


# ------------------------------------------------------------------ the completion helper itself
def test_apply_missing_set_documents_guesses_and_fills():
    case = s.without_findings(s.base_case(), "vas_score", "odi_score")
    case = s.with_request(case, fixation=s.REMOVE)
    case = s.update_records(
        case, "injection", lambda r: r["purpose"] == "diagnostic", relief_percent=s.REMOVE
    )
    done = s.apply_missing_set(
        case,
        AIM,
        [
            "guess(vas_score,500)",
            "guess(odi_score,3050)",
            "guess(request(fixation),fda_structural_device)",
            "fill(r(injection,2),relief_percent,7500)",
        ],
    )
    assert done["findings"]["vas_score"] == 5 and done["findings"]["odi_score"] == 30.5
    assert done["request"]["fixation"] == "fda_structural_device"
    assert done["records"]["injection"][2]["relief_percent"] == 75
    assert "relief_percent" not in done["records"]["injection"][3]
    assert "vas_score" not in case["findings"]  # the input is left alone


def test_apply_missing_set_adds_records_meeting_the_filter():
    case = s.without_records(s.request_only(side="left"), "imaging")
    done = s.apply_missing_set(
        case,
        CARESOURCE,
        [
            "more(same_side_film_records,1)",
            "more(failed_therapeutic_injection,1)",
            "more(failed_therapeutic_injection,2)",
        ],
    )
    (hip,) = done["records"]["imaging"]
    assert (hip["modality"], hip["region"], hip["side"]) == ("xray", "hip", "left")
    assert hip["findings"] == ["hip_osteoarthritis_excluded"]
    first, second = done["records"]["injection"]
    assert first["date"] != second["date"]
    for record in (first, second):
        assert record["purpose"] == "therapeutic" and record["lasting_relief"] is False
        assert record["site"] == "sij_intra_articular"
        assert record["date"] < s.request_date(case)


def test_a_record_of_the_requested_side_needs_the_side():
    """A film "of the requested side" is written with the side a guess supplies; without
    one it cannot be written, unless the self-check asks to leave it out."""
    case = s.request_only()
    item = "more(same_side_film_records,1)"
    assert s.tied_to_unknown_request(case, CARESOURCE, "same_side_film_records")
    assert not s.tied_to_unknown_request(case, CARESOURCE, "both_hips_film_records")
    done = s.apply_missing_set(case, CARESOURCE, [item, "guess(request(side),right)"])
    (hip,) = done["records"]["imaging"]
    assert (hip["region"], hip["side"]) == ("hip", "right")
    with pytest.raises(Unwritable, match="no record can meet the filter"):
        s.apply_missing_set(case, CARESOURCE, [item])
    assert s.apply_missing_set(case, CARESOURCE, [item], skip_unwritable=True) == case


def test_apply_missing_set_adds_days_inside_the_window():
    case = s.request_only()
    done = s.apply_missing_set(
        case, CARESOURCE, ["more_days(active_six_months)", "more_days(inactive_therapy)"]
    )
    day0 = s.request_date(case)
    for record in done["records"]["therapy"]:
        start, end = record["start"], record["end"]
        assert (end - start).days + 1 >= 180
        assert day0 - dt.timedelta(days=365) <= start and end < day0
    result = s.evaluate(done, CARESOURCE)
    assert s.status(result, "active_six_months") == "met"
    assert s.status(result, "inactive_therapy") == "met"


def test_apply_missing_set_adds_recent_imaging_within_its_window():
    case = s.request_only(s.OPEN)
    done = s.apply_missing_set(
        case,
        CARESOURCE,
        ["guess(post_traumatic_sij_injury,true)", "more(joint_recent_imaging_records,1)"],
    )
    (study,) = done["records"]["imaging"]
    assert s.request_date(case) - study["date"] <= dt.timedelta(days=180)
    assert s.determination(done, CARESOURCE) == "approvable"


@pytest.mark.parametrize("policy", s.POLICY_IDS)
def test_an_added_record_belongs_to_its_set_and_every_set_containing_it(policy):
    """more(S, I) adds a record of set S; it also counts for a broader set (subsumed/2)."""
    compiled = s.loaded(policy).compiled
    facts = s.filter_facts(policy)
    assert set(compiled.record_sets) == facts.all_sets()
    case = s.request_only(side="left")
    for set_id in compiled.record_sets:
        done = s.apply_missing_set(case, policy, [f"more({set_id},1)"])
        # A set ordered against another (a later failed block, after a block with enough relief)
        # is added after a record of that set: the set's own record comes last. Its membership
        # needs the other set's dates, which sets_matching does not read (the policy tests
        # check those sets through the solver).
        ((kind, (*_, record)),) = done["records"].items()
        if any(isinstance(c, OrderCondition) for c in compiled.set_conditions(set_id)):
            continue
        joined = facts.sets_matching(kind, record, case["request"])
        assert set_id in joined, (set_id, record)
        assert {b for a, b in compiled.subsumed if a == set_id} <= joined, (set_id, record)


@pytest.mark.slow  # a few seconds; the full tier runs it
def test_equally_narrow_records_are_offered_as_choices():
    """AIM's conservative management set is the union of physical therapy, the supervised home
    program and the complementary therapies: each joins two record sets (and the courses of the
    current episode of care), so more_days takes one of three, chosen by `choices`, each giving
    the leaf its days."""
    case = s.request_only()
    key = "more_days(six_months_of_care)"
    assert s.ties(case, AIM, key) == 3
    kinds = set()
    for choice in range(3):
        done = s.apply_missing_set(case, AIM, [key], {key: choice})
        (record,) = done["records"]["therapy"]
        kinds.add("supervised" if record.get("compliance_documented") else record["kind"])
        joined = s.filter_facts(AIM).sets_matching("therapy", record, case["request"])
        assert "conservative_management_therapy" in joined, joined
        assert "episode_conservative_course" in joined and len(joined) == 3, joined
        assert s.status(s.evaluate(done, AIM), "six_months_of_care") == "met"
    assert "physical_therapy" in kinds and "supervised" in kinds and len(kinds) == 3
    assert s.ties(case, AIM, "guess(vas_score,500)") == 1


def test_apply_missing_set_takes_a_record_set_not_a_leaf():
    with pytest.raises(Unwritable, match="not a record set"):
        s.apply_missing_set(s.request_only(), AIM, ["more(therapeutic_injection_trial,1)"])


def test_the_case_id_takes_no_part_in_an_evaluation():
    """support caches evaluations by case content without the id; that needs this to hold."""
    from sijfasp.api import Options, evaluate
    from sijfasp.cases.case import validate_case

    case = s.without_findings(s.base_case(), "odi_score", "vas_score")
    results = [
        evaluate(
            s.loaded(AIM),
            validate_case(dict(case, id=name), s.vocabulary(), "<t>"),
            Options(enumerate=3),
        )
        for name in ("first", "second")
    ]
    assert results[0] == results[1]
    assert results[0].determination == "incomplete" and results[0].missing
