"""Models to results: the criteria tree with evidence, exclusions, advisories and reasons.

Everything said about the case is read off the solver's typed snapshot (statuses, counts, days,
matching records); this module and those it draws on only name and arrange it, using the
compiled policy's metadata for labels, sections and conditions: `snapshot_reader` (the case's
findings and records in words), `evidence` (what a leaf's model shows), `near_misses` (records
that nearly qualify) and `reasons`. Missing documentation is `missing`'s.
"""

from __future__ import annotations

from typing import assert_never

from ..core.kinds import CountUnit, ExclusionStatus, LeafTest, NodeKind, Status, World
from ..core.units import unscaled
from ..core.wording import lower_first, plain_words, value_words
from ..language.compiler import CompiledPolicy, FactLeaf, NodeInfo, RecordsLeaf
from ..solve.atoms import RecordRef, Snapshot
from .evidence import implied_lines, node_evidence
from .near_misses import OPERATOR_WORDS, near_miss_lines
from .reasons import code_reasons, reasons, reasons_in_words
from .results import AdvisoryResult, ExclusionResult, NodeResult
from .snapshot_reader import Reader, documented_values, implied_by


def _condition_words(reader: Reader, info: NodeInfo) -> str | None:
    """What a leaf asks, as a reason quotes it: a fact leaf's condition as written
    (`vas_score >= 5`), a records leaf's in words with its record set's label."""
    leaf = info.leaf
    if not isinstance(leaf, RecordsLeaf):
        return info.condition
    label = lower_first(reader.compiled.record_sets[leaf.set_id].label)
    match leaf.unit:
        case CountUnit.DATES if leaf.apart:
            return f"{label}, on {leaf.minimum} separate dates at least {leaf.apart} days apart"
        case CountUnit.DATES:
            return f"{label}, on {leaf.minimum} separate dates"
        case CountUnit.RECORDS:
            return f"{label}" + (f", {leaf.minimum} records" if leaf.minimum > 1 else "")
        case CountUnit.DAYS:
            window = reader.window_text(leaf.window, leaf.window_months)
            if leaf.minimum_months:
                return f"{leaf.minimum_months} months of {label} {window}"
            return f"{leaf.minimum} days of {label} {window}"
        case CountUnit.LATEST:
            return f"the most recent record of the set to show the outcome ({label})"
    assert_never(leaf.unit)


def _fact_condition_words(reader: Reader, leaf: FactLeaf) -> str:
    """What a fact leaf asks, for people: "Pain intensity on a 0-10 scale: 5/10 or more",
    "The pain radiates: no", "Side of the SI joint to be fused: left or right"."""
    scope, _, name = leaf.key.rpartition(".")
    definition = reader.policy.vocabulary.fact("request" if scope else "finding", name)
    if definition is None:
        return plain_words(name)
    kind, unit = definition.type.kind, definition.unit
    scale = str(definition.type.high) if definition.type.low == 0 else None
    match leaf.test:
        case LeafTest.IS_TRUE:
            return f"{definition.means}: yes"
        case LeafTest.IS_FALSE:
            return f"{definition.means}: no"
        case LeafTest.NOT_TRUE:
            return f"{definition.means}: not yes"
        case LeafTest.VALUE_IN:
            values = [value_words(v, kind, unit, scale) for v in leaf.values]
            either = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
            return f"{definition.means}: {either}"
        case LeafTest.COMPARE:
            assert leaf.operator is not None and leaf.threshold is not None
            amount = value_words(unscaled(leaf.threshold), kind, unit, scale)
            return f"{definition.means}: {OPERATOR_WORDS[leaf.operator].format(amount)}"
    assert_never(leaf.test)


def _condition_plain(reader: Reader, info: NodeInfo) -> str | None:
    """What a leaf asks, for people: a fact leaf in the vocabulary's words, a records leaf as
    its condition already says it."""
    if isinstance(info.leaf, FactLeaf):
        return _fact_condition_words(reader, info.leaf)
    return _condition_words(reader, info)


def criteria_tree(
    reader: Reader, snapshot: Snapshot, roots: tuple[str, ...]
) -> tuple[NodeResult, ...]:
    documented = documented_values(snapshot)

    def build(node_id: str) -> NodeResult:
        info = reader.compiled.nodes[node_id]
        return NodeResult(
            node_id,
            info.label,
            reader.cite(node_id),
            snapshot.status(node_id),
            info.kind,
            info.minimum,
            _condition_words(reader, info),
            node_evidence(reader, snapshot, info, documented),
            tuple(build(c) for c in info.children),
            node_evidence(reader, snapshot, info, documented, plain=True),
            _condition_plain(reader, info),
            implied_by(snapshot, [k for k in (info.fact_key(),) if k is not None]),
        )

    return tuple(build(r) for r in roots)


def exclusion_results(
    reader: Reader, snapshot: Snapshot, service: str
) -> tuple[ExclusionResult, ...]:
    """Each exclusion of the service with the solver's status of its node."""
    documented = documented_values(snapshot)
    applied = snapshot.excluded(World.DOC)
    results = []
    for exclusion in reader.compiled.exclusions.get(service, ()):
        keys = sorted(_fact_keys(reader.compiled, exclusion))
        evidence = tuple(reader.fact_evidence(k, documented) for k in keys)
        evidence += implied_lines(reader, snapshot, keys, plain=False)
        words = tuple(reader.fact_words(k, documented) for k in keys)
        words += implied_lines(reader, snapshot, keys, plain=True)
        status = ExclusionStatus.of(snapshot.status(exclusion))
        if (status == ExclusionStatus.APPLIES) != (exclusion in applied):
            raise AssertionError(f"status/2 and excluded/2 disagree on {exclusion}")
        info = reader.compiled.nodes[exclusion]
        results.append(
            ExclusionResult(
                exclusion,
                info.label,
                reader.cite(exclusion),
                status,
                evidence,
                words,
                implied_by(snapshot, keys),
            )
        )
    return tuple(results)


def _fact_keys(
    compiled: CompiledPolicy, node_id: str, snapshot: Snapshot | None = None
) -> set[str]:
    """The facts a node reads. With the snapshot of a condition that holds, an `any of` or `at
    least K of` that holds gives only its members that hold: an advisory that applies is
    explained by what made it apply, not by the alternatives that did not (the side of a
    one-sided request read by a bilateral alternative)."""
    info = compiled.nodes[node_id]
    key = info.fact_key()
    keys = {key} if key is not None else set()
    children = info.children
    if (
        snapshot is not None
        and info.kind in (NodeKind.ANY, NodeKind.AT_LEAST)
        and snapshot.status(node_id) == Status.MET
    ):
        children = tuple(c for c in children if snapshot.status(c) == Status.MET)
    for child in children:
        keys |= _fact_keys(compiled, child, snapshot)
    return keys


def _advisory_records(reader: Reader, snapshot: Snapshot, node_id: str) -> list[RecordRef]:
    """The documented members of the record counts met under an advisory's condition, in the
    order of the condition and each record once."""
    info = reader.compiled.nodes[node_id]
    found: list[RecordRef] = []
    if isinstance(info.leaf, RecordsLeaf) and snapshot.status(node_id) == Status.MET:
        found.extend(snapshot.members(World.DOC, info.leaf.set_id))
    for child in info.children:
        found.extend(r for r in _advisory_records(reader, snapshot, child) if r not in found)
    return found


def advisory_results(
    reader: Reader, snapshot: Snapshot, service: str
) -> tuple[AdvisoryResult, ...]:
    documented = documented_values(snapshot)
    applying = snapshot.advisories()
    results = []
    for advisory in reader.compiled.advisories.get(service, ()):
        when_id, recommend_id = advisory.when, advisory.recommend
        info = reader.compiled.nodes[when_id]
        holding = snapshot if advisory.id in applying else None
        keys = sorted(
            _fact_keys(reader.compiled, when_id, holding)
            | (_fact_keys(reader.compiled, recommend_id) if recommend_id else set())
        )
        evidence = tuple(reader.fact_evidence(k, documented) for k in keys if k in documented)
        words = tuple(reader.fact_words(k, documented) for k in keys if k in documented)
        # The records that make an advisory apply are named too (the later block that failed).
        named = _advisory_records(reader, snapshot, when_id) if advisory.id in applying else []
        evidence = tuple(reader.record_text(r) for r in named) + evidence
        words = tuple(reader.record_words(r) for r in named) + words
        recommendation = snapshot.status(recommend_id) if recommend_id else None
        results.append(
            AdvisoryResult(
                advisory.id,
                info.label,
                reader.cite(when_id),
                advisory.id in applying,
                recommendation,
                evidence,
                words,
            )
        )
    return tuple(results)


__all__ = [
    "Reader",
    "advisory_results",
    "code_reasons",
    "criteria_tree",
    "documented_values",
    "exclusion_results",
    "near_miss_lines",
    "node_evidence",
    "reasons",
    "reasons_in_words",
]
