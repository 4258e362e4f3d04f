"""The typed predicates: each converts both ways, and an atom nobody declared is an error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import clingo
import pytest

from sijfasp.core.kinds import Determination, ExclusionStatus, FactScope, Status, World
from sijfasp.core.units import date_at, day_offset, scaled, unscaled
from sijfasp.solve.atoms import (
    AtomError,
    Doc,
    FactRef,
    Fill,
    Guess,
    InSet,
    More,
    MoreDays,
    NodeStatus,
    RecordRef,
    Snapshot,
    case_value,
    decode,
    decode_item,
    item_key,
)

DAY0 = dt.date(2026, 7, 15)


def test_numbers_and_dates_convert_both_ways():
    assert scaled(Decimal("7.5")) == 750 and unscaled(750) == "7.5"
    assert unscaled(scaled(Decimal("30"))) == "30"
    assert day_offset(dt.date(2026, 7, 1), DAY0) == -14
    assert date_at(-14, DAY0) == dt.date(2026, 7, 1)
    assert case_value(Decimal("4"), DAY0) == 400
    assert case_value(dt.date(2026, 7, 16), DAY0) == 1
    assert case_value(True, DAY0) == "true" and case_value("left", DAY0) == "left"


@pytest.mark.parametrize(
    "item",
    [
        Guess(FactRef(FactScope.FINDING, "vas_score"), 500),
        Guess(FactRef(FactScope.REQUEST, "side"), "left"),
        Fill(RecordRef("injection", 0), "relief_percent", 7500),
        More("diagnostic_blocks", 2),
        MoreDays("conservative_care"),
    ],
)
def test_items_round_trip(item):
    assert decode_item(item.symbol()) == item
    assert item_key(item) == str(item.symbol())


def test_request_fact_is_written_as_the_program_and_the_case_write_it():
    side = FactRef(FactScope.REQUEST, "side")
    assert str(side.symbol()) == "request(side)" == side.term
    assert side.key == "request.side"
    assert Doc.decode(clingo.parse_term("doc(request(side),left)").arguments) == Doc(side, "left")


def test_model_atoms_are_typed():
    snapshot = Snapshot.of(
        [
            clingo.parse_term(t)
            for t in (
                "status(a,met)",
                "status(b,not_documented)",
                "determination(incomplete)",
                "in_set(doc,s,r(injection,0))",
                "count_of(doc,a,2)",
                "item(more(s,1))",
                "item_cost(more(s,1),5)",
            )
        ]
    )
    assert snapshot.determination == Determination.INCOMPLETE
    assert snapshot.status("b") == Status.NOT_DOCUMENTED
    assert snapshot.members(World.DOC, "s") == [RecordRef("injection", 0)]
    assert snapshot.count(World.DOC, "a") == 2
    assert snapshot.items() == [More("s", 1)]
    assert snapshot.item_cost(More("s", 1)) == 5
    assert isinstance(decode(clingo.parse_term("in_set(hyp,s,r(therapy,1))")), InSet)
    assert decode(clingo.parse_term("status(x,not_met)")) == NodeStatus("x", Status.NOT_MET)


@pytest.mark.parametrize(
    "atom",
    [
        "holds(doc,a)",  # not a shown predicate: a rename in policy.lp shows up here
        "status(a,maybe)",  # not a status
        "item(more_records(s,1))",  # not an item kind: never read as `more`
        "determination(denied)",
        "count_of(doc,a,two)",
        "in_set(elsewhere,s,r(injection,0))",
    ],
)
def test_an_atom_that_fits_no_declaration_is_an_error(atom):
    with pytest.raises(AtomError):
        decode(clingo.parse_term(atom))


def test_a_missing_status_or_count_is_an_error_not_a_default():
    snapshot = Snapshot.of([clingo.parse_term("status(a,met)")])
    with pytest.raises(AtomError):
        snapshot.status("b")
    with pytest.raises(AtomError):
        snapshot.count(World.DOC, "a")
    with pytest.raises(AtomError):
        _ = snapshot.determination


def test_exclusion_status_is_the_node_status_in_exclusion_words():
    assert [ExclusionStatus.of(s) for s in Status] == [
        ExclusionStatus.APPLIES,
        ExclusionStatus.DOCUMENTED_ABSENT,
        ExclusionStatus.NOT_DOCUMENTED,
    ]
    with pytest.raises(ValueError):
        ExclusionStatus.of("maybe")  # type: ignore[arg-type]


def test_compiled_filter_conditions_are_typed_and_an_unknown_operator_is_an_error():
    from sijfasp.core.kinds import Operator
    from sijfasp.core.source import Span
    from sijfasp.language import ast
    from sijfasp.language.compile_records import condition_key
    from sijfasp.language.compiled import CmpCondition, MatchesCondition

    span = Span("policy.sijp", 1, 1, 1, 2)  # where the condition was written: any place will do

    def condition(operator, values=(), comparator=None, number=None):
        return ast.FieldCondition(
            field="side",
            operator=operator,
            values=values,
            comparator=comparator,
            number=number,
            span=span,
        )

    assert condition_key(condition("compare", (), ">=", Decimal("75"))) == CmpCondition(
        "cmp", "side", Operator.GE, 7500
    )
    assert condition_key(condition("matches", ("request.side",))) == MatchesCondition(
        "matches", "side", "request.side"
    )
    with pytest.raises(ValueError):
        condition_key(condition("resembles", ("request.side",)))  # never read as `matches`


def test_terms_taken_apart_once_are_still_checked_for_their_place():
    """A constant already read stays an error where a record belongs, and a record where a
    constant belongs: the cache of taken-apart terms never lets a term of the wrong shape in."""
    assert decode(clingo.parse_term("in_set(doc,injection,r(injection,3))")) == InSet(
        World.DOC, "injection", RecordRef("injection", 3)
    )
    with pytest.raises(AtomError):
        decode(clingo.parse_term("in_set(doc,injection,injection)"))  # a constant as a record
    with pytest.raises(AtomError):
        decode(clingo.parse_term("in_set(doc,r(injection,3),r(injection,3))"))  # and back
    assert decode(clingo.parse_term("in_set(hyp,injection,r(injection,3))")).world == World.HYP


@pytest.mark.parametrize(
    "key, term", [("vas_score", "vas_score"), ("request.side", "request(side)")]
)
def test_a_fact_named_as_a_case_writes_it_is_the_fact_the_program_names(key, term):
    fact = FactRef.of_key(key)
    assert fact.key == key and str(fact.symbol()) == term
    assert FactRef.decode(fact.symbol()) == fact
