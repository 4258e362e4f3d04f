"""Models to results: the criteria tree with evidence, exclusions, advisories and reasons.

Everything said about the case is read off the solver's typed snapshot (statuses, counts, days,
matching records); this module only names and arranges it, using the compiled policy's metadata
for labels, sections and conditions. Missing documentation is `missing`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import assert_never

from .atoms import RecordRef, Snapshot, Value
from .case import Case
from .case_facts import months_before
from .compiler import CompiledPolicy, FactLeaf, NodeInfo, RecordsLeaf
from .kinds import CountUnit, Determination, ExclusionStatus, NodeKind, Status, World
from .results import AdvisoryResult, ExclusionResult, NodeResult
from .semantics import Policy
from .units import unscaled


# ------------------------------------------------------------------ reading a snapshot
@dataclass
class Reader:
    """Turns snapshot atoms about one case into words."""

    policy: Policy
    compiled: CompiledPolicy
    case: Case

    def cite(self, node_id: str) -> str:
        return self.compiled.cite(node_id, self.policy.cite)

    def fact_value(self, value: Value) -> str:
        return unscaled(value) if isinstance(value, int) else value

    def fact_evidence(self, key: str, documented: dict[str, Value]) -> str:
        value = documented.get(key)
        return f"{key} not documented" if value is None else f"{key} = {self.fact_value(value)}"

    def record_text(self, record: RecordRef) -> str:
        found = self.case.record(record.kind, record.index)
        if found is None:
            return str(record.symbol())
        values = found.values
        if record.kind == "therapy":
            end = values.get("end")
            span = f"{values['start']}..{end}" if end else f"{values['start']}..ongoing"
            return f"{values.get('kind', 'therapy')} {span}"
        parts = [str(values.get("date", ""))]
        for name in ("purpose", "modality", "region", "procedure", "outcome"):
            if name in values:
                parts.append(str(values[name]))
        if "side" in values:
            parts.append(str(values["side"]))
        if "relief_percent" in values:
            parts.append(f"relief {values['relief_percent']}%")
        if "lasting_relief" in values:
            parts.append("lasting relief" if values["lasting_relief"] else "no lasting relief")
        return f"{record.kind} " + " ".join(p for p in parts if p)

    def attempt_text(self, record: RecordRef, fields: list[str]) -> str:
        """A failed attempt with the values of its outcome: "injection 2026-04-01 diagnostic
        relief 60%: relief_percent 60"."""
        found = self.case.record(record.kind, record.index)
        values = found.values if found is not None else {}
        shown = ", ".join(f"{name} {_plain(values[name])}" for name in fields if name in values)
        return f"{self.record_text(record)}: {shown}" if shown else self.record_text(record)

    def record_phrase(self, record: RecordRef) -> str:
        """A documented record as a sentence names it: "the diagnostic injection of 2026-04-01"."""
        kind = record.kind
        found = self.case.record(kind, record.index)
        if found is None:
            return f"the {kind} record {record.index + 1}"
        values = found.values
        if "start" in values:
            return f"the {values.get('kind', kind)} {kind} starting {values['start']}"
        qualifier = next(
            (str(values[n]) for n in ("purpose", "modality", "procedure") if n in values), ""
        )
        return f"the {qualifier + ' ' if qualifier else ''}{kind} of {values.get('date')}"

    def window_text(self, days: int | None, months: int | None = None) -> str:
        """The window's first and last dates: a window in months starts the same day of the
        month, that many months before the request."""
        if months:
            return f"within {months_before(self.case.date, months)}..{self.case.date}"
        if not days:
            return f"up to {self.case.date}"
        start = self.case.date - dt.timedelta(days=days)
        return f"within {start}..{self.case.date}"


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return str(value)


def documented_values(snapshot: Snapshot) -> dict[str, Value]:
    """The documented findings and request fields, by their key as a case writes it."""
    return {fact.key: value for fact, value in snapshot.documented().items()}


def node_evidence(
    reader: Reader, snapshot: Snapshot, info: NodeInfo, documented: dict[str, Value]
) -> tuple[str, ...]:
    """What the model says about one leaf: the documented value, or the records and figures."""
    leaf = info.leaf
    if leaf is None:
        return ()
    if isinstance(leaf, FactLeaf):
        return (reader.fact_evidence(leaf.key, documented),)
    return _records_evidence(reader, snapshot, info.id, leaf)


def _records_evidence(
    reader: Reader, snapshot: Snapshot, node_id: str, leaf: RecordsLeaf
) -> tuple[str, ...]:
    members = sorted({reader.record_text(r) for r in snapshot.members(World.DOC, leaf.set_id)})
    lines: list[str] = []
    match leaf.unit:
        case CountUnit.DAYS:
            covered = snapshot.days(World.DOC, node_id)
            lines.append(
                f"{covered} of {leaf.minimum} days {reader.window_text(leaf.window, leaf.window_months)}"
            )
        case CountUnit.RECORDS | CountUnit.DATES:
            count = snapshot.count(World.DOC, node_id)
            noun = "separate dates" if leaf.unit == CountUnit.DATES else "qualifying records"
            if count > leaf.minimum:
                lines.append(f"{count} {noun} ({leaf.minimum} needed)")
            else:
                lines.append(f"{count} of {leaf.minimum} {noun}")
        case _:
            assert_never(leaf.unit)
    # Attempts documented as failing the outcome the count needs: the reason quotes them.
    outcome = reader.compiled.outcome_fields(leaf.set_id)
    for record in snapshot.failed_attempts(node_id):
        lines.append(
            f"attempt without the required outcome: {reader.attempt_text(record, outcome)}"
        )
    if members:
        shown = members[:4]
        lines.extend(shown)
        if len(members) > len(shown):
            lines.append(f"... and {len(members) - len(shown)} more")
    return tuple(lines)


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
            info.condition,
            node_evidence(reader, snapshot, info, documented),
            tuple(build(c) for c in info.children),
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
        status = ExclusionStatus.of(snapshot.status(exclusion))
        if (status == ExclusionStatus.APPLIES) != (exclusion in applied):
            raise AssertionError(f"status/2 and excluded/2 disagree on {exclusion}")
        info = reader.compiled.nodes[exclusion]
        results.append(
            ExclusionResult(exclusion, info.label, reader.cite(exclusion), status, evidence)
        )
    return tuple(results)


def _fact_keys(compiled: CompiledPolicy, node_id: str) -> set[str]:
    info = compiled.nodes[node_id]
    key = info.fact_key()
    keys = {key} if key is not None else set()
    for child in info.children:
        keys |= _fact_keys(compiled, child)
    return keys


def advisory_results(
    reader: Reader, snapshot: Snapshot, service: str
) -> tuple[AdvisoryResult, ...]:
    documented = documented_values(snapshot)
    applying = snapshot.advisories()
    results = []
    for advisory in reader.compiled.advisories.get(service, ()):
        when_id, recommend_id = advisory.when, advisory.recommend
        info = reader.compiled.nodes[when_id]
        keys = sorted(
            _fact_keys(reader.compiled, when_id)
            | (_fact_keys(reader.compiled, recommend_id) if recommend_id else set())
        )
        evidence = tuple(reader.fact_evidence(k, documented) for k in keys if k in documented)
        recommendation = snapshot.status(recommend_id) if recommend_id else None
        results.append(
            AdvisoryResult(
                advisory.id,
                info.label,
                reader.cite(when_id),
                advisory.id in applying,
                recommendation,
                evidence,
            )
        )
    return tuple(results)


# ------------------------------------------------------------------ reasons
def reasons(
    determination: Determination,
    tree: tuple[NodeResult, ...],
    exclusions: tuple[ExclusionResult, ...],
) -> tuple[str, ...]:
    """One specific, quotable reason per documented exclusion or contradicted criterion."""
    if determination == Determination.EXCLUDED:
        return tuple(
            f"{e.cite}: {e.label}. Documented: {'; '.join(e.evidence)}."
            for e in exclusions
            if e.status == ExclusionStatus.APPLIES
        )
    if determination != Determination.NOT_MET:
        return ()
    found: list[str] = []

    def deepest_failures(node: NodeResult) -> list[NodeResult]:
        failing = [c for c in node.children if c.status == Status.NOT_MET]
        if not failing or node.kind in (NodeKind.ANY, NodeKind.AT_LEAST, NodeKind.NONE):
            return [node]
        return [leaf for child in failing for leaf in deepest_failures(child)]

    for top in tree:
        if top.status != Status.NOT_MET:
            continue
        for node in deepest_failures(top):
            found.append(_reason_text(node))
    return tuple(found)


def _reason_text(node: NodeResult) -> str:
    match node.kind:
        case NodeKind.LEAF:
            documented = "; ".join(node.evidence)
            return (
                f"{node.cite}: {node.label}. Not met as documented ({documented}); "
                f"the criterion needs {node.condition}."
            )
        case NodeKind.AT_LEAST:
            negative = [c for c in node.children if c.status == Status.NOT_MET]
            return (
                f"{node.cite}: {node.label}. {node.met_count} of the required {node.minimum} "
                "met; documented as not met: "
                + ", ".join("; ".join(c.evidence) or c.label for c in negative)
                + "."
            )
        case NodeKind.NONE:
            present = [
                ("; ".join(c.evidence) or c.label) for c in node.children if c.status == Status.MET
            ]
            return f"{node.cite}: {node.label}. Not met as documented: {', '.join(present)}."
        case NodeKind.ANY | NodeKind.ALL:
            parts = [
                ("; ".join(c.evidence) or c.label)
                for c in node.children
                if c.status == Status.NOT_MET
            ]
            return (
                f"{node.cite}: {node.label}. None of the alternatives can be met as documented "
                f"({', '.join(parts)})."
            )
    assert_never(node.kind)


__all__ = [
    "Reader",
    "advisory_results",
    "criteria_tree",
    "documented_values",
    "exclusion_results",
    "node_evidence",
    "reasons",
]
