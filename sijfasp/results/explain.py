"""Models to results: the criteria tree with evidence, exclusions, advisories and reasons.

Everything said about the case is read off the solver's typed snapshot (statuses, counts, days,
matching records); this module only names and arranges it, using the compiled policy's metadata
for labels, sections and conditions. Missing documentation is `missing`'s.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import assert_never

from ..cases.case import Case
from ..core.kinds import (
    BOTH_SIDES,
    CountUnit,
    Determination,
    ExclusionStatus,
    LeafTest,
    NodeKind,
    Operator,
    Status,
    World,
)
from ..core.units import scaled, unscaled
from ..core.wording import lower_first, plain_words, plural, value_words
from ..language.compiler import (
    FACT_WINDOW_MONTHS,
    CmpCondition,
    CompiledPolicy,
    Condition,
    FactLeaf,
    HasCondition,
    InCondition,
    NodeInfo,
    OrderCondition,
    RecordsLeaf,
    WithinCondition,
    WithinFactMonthsCondition,
    WithinMonthsCondition,
)
from ..language.semantics import CPT_FIELD, Policy
from ..solve.atoms import NO_DAY, RecordRef, Snapshot, Value
from ..solve.case_facts import months_before
from .results import AdvisoryResult, ExclusionResult, NodeResult


# ------------------------------------------------------------------ reading a snapshot
@dataclass
class Reader:
    """Turns snapshot atoms about one case into words."""

    policy: Policy
    compiled: CompiledPolicy
    case: Case
    # The dates of the documented members of each set a record is ordered against (`date after
    # SET`), read off a model's in_set/3 by note_order_dates.
    order_dates: dict[str, tuple[dt.date, ...]] = field(default_factory=dict)

    def cite(self, node_id: str) -> str:
        return self.compiled.cite(node_id, self.policy.cite)

    def fact_value(self, value: Value) -> str:
        return unscaled(value) if isinstance(value, int) else value

    def fact_evidence(self, key: str, documented: dict[str, Value]) -> str:
        value = documented.get(key)
        return f"{key} not documented" if value is None else f"{key} = {self.fact_value(value)}"

    def fact_words(self, key: str, documented: dict[str, Value]) -> str:
        """A documented finding or request field for people: its meaning in the vocabulary and
        its value in words with the unit ("Pain intensity on a 0-10 scale: 7/10")."""
        scope, _, name = key.rpartition(".")
        definition = self.policy.vocabulary.fact("request" if scope else "finding", name)
        means = definition.means if definition is not None else plain_words(name)
        value = documented.get(key)
        if value is None:
            return f"{means}: not documented"
        shown = self.fact_value(value)
        if definition is None:
            return f"{means}: {plain_words(shown)}"
        high = definition.type.high
        return f"{means}: " + value_words(
            shown,
            definition.type.kind,
            definition.unit,
            str(high) if high is not None and definition.type.low == 0 else None,
        )

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

    def record_words(self, record: RecordRef) -> str:
        """A documented record for people: "diagnostic injection of 2026-04-01, left joint,
        relief 80%", "physical therapy from 2025-08-01 to 2026-03-01"."""
        found = self.case.record(record.kind, record.index)
        if found is None:
            return f"{record.kind} record {record.index + 1}"
        values = found.values
        if "start" in values:
            kind = plain_words(str(values.get("kind", record.kind)))
            end = values.get("end")
            return (
                f"{kind} from {values['start']} to {end}"
                if end
                else (f"{kind} from {values['start']}, ongoing")
            )
        head = self.record_phrase(record).removeprefix("the ")
        parts = [head]
        if "region" in values and "modality" in values:
            parts = [
                f"{plain_words(str(values['modality']))} of the "
                f"{plain_words(str(values['region']))} of {values.get('date')}"
            ]
        if "side" in values:
            parts.append(side_words(str(values["side"])))
        if "outcome" in values:
            parts.append(plain_words(str(values["outcome"])))
        if "relief_percent" in values:
            parts.append(f"relief {values['relief_percent']}%")
        if "lasting_relief" in values:
            parts.append("lasting relief" if values["lasting_relief"] else "no lasting relief")
        return ", ".join(parts)

    def record_phrase(self, record: RecordRef) -> str:
        """A documented record as a sentence names it: "the diagnostic injection of 2026-04-01"."""
        kind = record.kind
        found = self.case.record(kind, record.index)
        if found is None:
            return f"the {kind} record {record.index + 1}"
        values = found.values
        if "start" in values:
            return f"the {plain_words(str(values.get('kind', kind)))} starting {values['start']}"
        qualifier = next(
            (str(values[n]) for n in ("purpose", "modality", "procedure") if n in values), ""
        )
        qualifier = plain_words(qualifier)
        return f"the {qualifier + ' ' if qualifier else ''}{kind} of {values.get('date')}"

    def window_start(self, days: int | None, months: int | None = None) -> dt.date | None:
        """The window's first date (None without a window): a window in months starts the same
        day of the month, that many months before the request."""
        if months:
            return months_before(self.case.date, months)
        if not days:
            return None
        return self.case.date - dt.timedelta(days=days)

    def window_words(self, days: int | None, months: int | None = None) -> str:
        """A window in words: "of the 12 months before the request"."""
        if months:
            return f"of the {months} months before the request"
        if days:
            return f"of the {days} days before the request"
        return "up to the request"

    def window_text(self, days: int | None, months: int | None = None) -> str:
        start = self.window_start(days, months)
        if start is None:
            return f"up to {self.case.date}"
        return f"within {start}..{self.case.date}"


SIDES = frozenset({"left", "right", BOTH_SIDES})  # the values of a side, as records hold them


def side_words(side: str) -> str:
    """A record's side: "left joint", "both joints"."""
    return "both joints" if side == BOTH_SIDES else f"{plain_words(side)} joint"


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return str(value)


def documented_values(snapshot: Snapshot) -> dict[str, Value]:
    """The documented findings and request fields, by their key as a case writes it, with the
    findings known by an implication of the vocabulary (`implied_by` names their source)."""
    implied = {fact.key: value for fact, (value, _) in snapshot.implied().items()}
    return implied | {fact.key: value for fact, value in snapshot.documented().items()}


def implied_by(snapshot: Snapshot, keys: Iterable[str]) -> tuple[str, ...]:
    """The documented findings that imply these (otherwise undocumented) ones: `name = value`."""
    implied = {fact.key: sources for fact, (_, sources) in snapshot.implied().items()}
    documented = {fact.key: value for fact, value in snapshot.documented().items()}
    return tuple(
        dict.fromkeys(
            f"{source.key} = {_plain(documented.get(source.key))}"
            for key in keys
            for source in implied.get(key, ())
        )
    )


def _implied_lines(
    reader: Reader, snapshot: Snapshot, keys: Iterable[str], plain: bool
) -> tuple[str, ...]:
    """One line per documented finding that implies a finding read here."""
    documented = documented_values(snapshot)
    implied = {fact.key: sources for fact, (_, sources) in snapshot.implied().items()}
    sources = dict.fromkeys(s.key for key in keys for s in implied.get(key, ()))
    if plain:
        return tuple(f"implied by {lower_first(reader.fact_words(s, documented))}" for s in sources)
    return tuple(f"implied by {reader.fact_evidence(s, documented)}" for s in sources)


def node_evidence(
    reader: Reader,
    snapshot: Snapshot,
    info: NodeInfo,
    documented: dict[str, Value],
    plain: bool = False,
) -> tuple[str, ...]:
    """What the model says about one leaf: the documented value, or the records and figures;
    `plain`: in words for people (the vocabulary's meanings and units, no field names)."""
    leaf = info.leaf
    if leaf is None:
        return ()
    if isinstance(leaf, FactLeaf):
        implied = _implied_lines(reader, snapshot, (leaf.key,), plain)
        if plain:
            return (reader.fact_words(leaf.key, documented), *implied)
        return (reader.fact_evidence(leaf.key, documented), *implied)
    return _records_evidence(reader, snapshot, info.id, leaf, plain)


def note_order_dates(reader: Reader, snapshot: Snapshot) -> None:
    """Note the documented dates of every set a filter orders its records against: a record is
    after such a set when it is later than its earliest date, before it when earlier than its
    latest (the documented world is the same in every model)."""
    if reader.order_dates:
        return
    for info in reader.compiled.record_sets.values():
        for conditions in info.filters:
            for condition in conditions:
                if not isinstance(condition, OrderCondition):
                    continue
                dates = []
                for record in snapshot.members(World.DOC, condition.target):
                    found = reader.case.record(record.kind, record.index)
                    values = found.values if found is not None else {}
                    date = values.get("date", values.get("start"))
                    if isinstance(date, dt.date):
                        dates.append(date)
                reader.order_dates[condition.target] = tuple(sorted(dates))


def _records_evidence(
    reader: Reader, snapshot: Snapshot, node_id: str, leaf: RecordsLeaf, plain: bool = False
) -> tuple[str, ...]:
    note_order_dates(reader, snapshot)
    text = reader.record_words if plain else reader.record_text
    members = sorted({text(r) for r in snapshot.members(World.DOC, leaf.set_id)})
    lines: list[str] = []
    kind = reader.compiled.record_sets[leaf.set_id].kind
    match leaf.unit:
        case CountUnit.DAYS:
            covered = snapshot.days(World.DOC, node_id)
            need = snapshot.need_days(node_id, leaf.minimum)  # 6 months: this case's days
            if plain:
                window = reader.window_words(leaf.window, leaf.window_months)
                lines.append(f"{kind} on {plural(covered, 'day')} {window}; {need} needed")
            else:
                window = reader.window_text(leaf.window, leaf.window_months)
                lines.append(f"{covered} of {need} days {window}")
        case CountUnit.LATEST:
            return _latest_evidence(reader, snapshot, node_id, leaf, plain)
        case CountUnit.DATES if leaf.apart:
            lines.extend(_spaced_lines(reader, snapshot, node_id, leaf.minimum, leaf.apart))
        case CountUnit.RECORDS | CountUnit.DATES:
            count = snapshot.count(World.DOC, node_id)
            if plain:
                many = RECORD_NOUNS.get(kind, (kind, f"{kind} records"))
                noun = (
                    f"qualifying {many[1]} on {plural(count, 'separate date')}"
                    if leaf.unit == CountUnit.DATES
                    else f"{count} qualifying {many[0] if count == 1 else many[1]}"
                )
                lines.append(f"{noun}; {leaf.minimum} needed")
            else:
                noun = "separate dates" if leaf.unit == CountUnit.DATES else "qualifying records"
                if count > leaf.minimum:
                    lines.append(f"{count} {noun} ({leaf.minimum} needed)")
                else:
                    lines.append(f"{count} of {leaf.minimum} {noun}")
        case _:
            assert_never(leaf.unit)
    # A count of dates that can never fit in the days its set's records can be dated on.
    room = snapshot.room_between(node_id)
    if room is not None:
        lines.append(_room_text(reader, leaf, room))
    # Attempts documented as failing the outcome the count needs: the reason quotes them.
    for record in snapshot.failed_attempts(node_id):
        missed = _missed_outcome(reader, leaf.set_id, record, plain)
        if plain:
            lines.append(
                f"{reader.record_phrase(record)} did not show the outcome needed ({missed})"
            )
        else:
            lines.append(f"attempt without the required outcome: {text(record)}: {missed}")
    if members:
        shown = members[:4]
        lines.extend(shown)
        if len(members) > len(shown):
            lines.append(f"... and {len(members) - len(shown)} more")
    # Records that nearly qualify explain what a count still lacks; under a count that is met
    # they would only distract.
    if snapshot.status(node_id) != Status.MET:
        failed = set(snapshot.failed_attempts(node_id))
        lines.extend(near_miss_lines(reader, snapshot, leaf.set_id, skip=failed, plain=plain))
    return tuple(lines)


# A record kind counted in words, one and several.
RECORD_NOUNS = {
    "injection": ("injection", "injections"),
    "imaging": ("study", "studies"),
    "surgery": ("surgery", "surgeries"),
    "therapy": ("therapy course", "therapy courses"),
}


def _missed_outcome(reader: Reader, set_id: str, record: RecordRef, plain: bool = False) -> str:
    """How a failed attempt misses the set's outcome, with its documented values."""
    outcome = reader.compiled.outcome_fields(set_id)
    return "; ".join(
        dict.fromkeys(
            text
            for each in _set_and_included(reader.compiled, set_id)
            for text in _miss_texts(reader, each, record, list(outcome), plain)
            if not text.endswith("does not qualify")
        )
    ) or ", ".join(plain_words(o) if plain else o for o in outcome)


def _latest_evidence(
    reader: Reader, snapshot: Snapshot, node_id: str, leaf: RecordsLeaf, plain: bool = False
) -> tuple[str, ...]:
    """A `latest of` leaf: the attempts on the latest date, each with how its outcome came out
    (a failed one quoted with its values, as a failed attempt of a count is)."""
    latest = snapshot.latest_records(node_id)
    text = reader.record_words if plain else reader.record_text
    if not latest:
        return ("no documented attempt",) + tuple(
            near_miss_lines(reader, snapshot, leaf.set_id, plain=plain)
        )
    members = set(snapshot.members(World.DOC, leaf.set_id))
    failed = set(snapshot.failed_attempts(node_id))
    outcome = reader.compiled.outcome_fields(leaf.set_id)
    lines: list[str] = []
    for record in latest:
        if record in members:
            lines.append(f"latest: {text(record)}: shows the outcome")
        elif record in failed:
            missed = _missed_outcome(reader, leaf.set_id, record, plain)
            lines.append(f"latest attempt without the required outcome: {text(record)}: {missed}")
        else:
            # Its outcome, or (a record that may still be an attempt) a field saying whether it
            # is one: the fields of the set it lacks.
            found = reader.case.record(record.kind, record.index)
            values = found.values if found is not None else {}
            fields = outcome + sorted(reader.compiled.condition_fields(leaf.set_id) - set(outcome))
            lacking = [f for f in fields if f not in values] or outcome
            missing = ", ".join(plain_words(o) if plain else o for o in lacking)
            lines.append(f"latest: {text(record)}: {missing} not documented")
    older = len([r for r in members if r not in latest])
    if older:
        plural = "s" if older > 1 else ""
        lines.append(f"{older} older record{plural} showing the outcome (not the latest)")
    return tuple(lines)


MAX_TOO_CLOSE = 3
MAX_SPACED_SHOWN = 6


def _spaced_lines(
    reader: Reader, snapshot: Snapshot, node_id: str, minimum: int, apart: int
) -> list[str]:
    """A spaced count: the dates counted (the solver's greedy chain) and, when too few, the
    documented dates passed over for being too close to a date counted."""
    day = reader.case.date
    counted = [day + dt.timedelta(days=d) for d in snapshot.spaced_dates(node_id)]
    noun = f"separate dates at least {apart} days apart"
    shown = ", ".join(str(d) for d in counted[:MAX_SPACED_SHOWN])
    if len(counted) > MAX_SPACED_SHOWN:
        shown += ", ..."
    if len(counted) > minimum:
        return [f"{len(counted)} {noun} ({minimum} needed): {shown}"]
    if len(counted) == minimum:
        return [f"{minimum} of {minimum} {noun}: {shown}"]
    lines = [f"{len(counted)} of {minimum} {noun}" + (f": {shown}" if shown else "")]
    pairs = snapshot.too_close(node_id)
    for first, second in pairs[:MAX_TOO_CLOSE]:
        a, b = day + dt.timedelta(days=first), day + dt.timedelta(days=second)
        lines.append(f"too close: {a} and {b} are {second - first} days apart, need {apart}")
    if len(pairs) > MAX_TOO_CLOSE:
        lines.append(f"... and {len(pairs) - MAX_TOO_CLOSE} more dates too close")
    return lines


def _room_text(reader: Reader, leaf: RecordsLeaf, room: tuple[int, int]) -> str:
    """Why a count of dates can never be met: the days its records can be dated on, from the
    solver (room_between/3), and the days its dates need from the first to the last."""
    first, last = room
    day = reader.case.date
    end = day + dt.timedelta(days=last)
    apart = leaf.apart or 1
    dates = (
        f"{leaf.minimum} dates at least {apart} days apart"
        if leaf.apart
        else f"{leaf.minimum} separate dates"
    )
    need = f"{dates} need {(leaf.minimum - 1) * apart} days from the first to the last"
    if first == NO_DAY:
        return f"no room: its records can be dated only up to {end}; {need}"
    start = day + dt.timedelta(days=first)
    if first > last:
        return f"no room: no day from {start} to {end} is left for its records; {need}"
    return f"no room: its records can be dated only from {start} to {end}; {need}"


MAX_NEAR_MISSES = 3
NEARLY_WORDS = "does not count:"  # how a record that nearly qualifies is introduced, for people


def near_miss_lines(
    reader: Reader,
    snapshot: Snapshot,
    set_id: str,
    skip: set[RecordRef] | None = None,
    plain: bool = False,
) -> list[str]:
    """The documented records of the right kind that nearly belong to a record set, each with
    the conditions they miss and their documented values, as the solver found them. Records in
    `skip` (attempts already quoted as failed) are not listed again."""
    note_order_dates(reader, snapshot)
    inside = set(snapshot.members(World.DOC, set_id)) | (skip or set())
    found: dict[RecordRef, list[str]] = {}
    for each in _set_and_included(reader.compiled, set_id):
        for record, fields in snapshot.near_misses(each).items():
            if record in inside:
                continue
            misses = found.setdefault(record, [])
            for text in _miss_texts(reader, each, record, fields, plain):
                if text not in misses:
                    misses.append(text)
    ordered = sorted(found.items(), key=lambda pair: (pair[0].kind, pair[0].index))
    name = reader.record_words if plain else reader.record_text
    lines = [
        f"{NEARLY_WORDS if plain else 'nearly:'} {name(record)}: {'; '.join(misses)}"
        for record, misses in ordered[:MAX_NEAR_MISSES]
    ]
    if len(ordered) > MAX_NEAR_MISSES:
        lines.append(f"... and {len(ordered) - MAX_NEAR_MISSES} more records that nearly qualify")
    return lines


def _set_and_included(compiled: CompiledPolicy, set_id: str) -> list[str]:
    order: list[str] = []
    stack = [set_id]
    while stack:
        current = stack.pop()
        if current in order or current not in compiled.record_sets:
            continue
        order.append(current)
        stack.extend(reversed(compiled.record_sets[current].includes))
    return order


def _miss_texts(
    reader: Reader, set_id: str, record: RecordRef, fields: list[str], plain: bool = False
) -> list[str]:
    """What a record misses, in words, on the fields the solver found failing.

    The solver names the fields; the words need the condition itself. A set may have several
    filters (and a filter several conditions on one field), so the conditions worded are those
    of the filters whose failing conditions are all on those fields; only the wording is
    chosen here.
    """
    found = reader.case.record(record.kind, record.index)
    values = found.values if found is not None else {}
    wanted = set(fields)
    texts: list[str] = []
    for conditions in reader.compiled.record_sets[set_id].filters:
        failing = [c for c in conditions if not _condition_holds(reader, c, values)]
        if failing and {c.field for c in failing} <= wanted:
            texts += [
                _miss_text(reader, c, values.get(c.field), record.kind, plain) for c in failing
            ]
    if not texts:
        # Other conditions fail too, on fields the solver leaves open (a request field not yet
        # documented): word the named fields' conditions alone.
        for conditions in reader.compiled.record_sets[set_id].filters:
            failing = [
                c
                for c in conditions
                if c.field in wanted and not _condition_holds(reader, c, values)
            ]
            texts += [
                text
                for c in failing
                if (text := _miss_text(reader, c, values.get(c.field), record.kind, plain))
                not in texts
            ]
    return texts or [f"{plain_words(n) if plain else n} does not qualify" for n in fields]


def _fact_window_start(reader: Reader, condition: WithinFactMonthsCondition) -> dt.date | None:
    """The first day of a window as long as a finding documents (policy.lp, fact_start): that
    many calendar months before the request, a fraction counted whole; None: no bound."""
    documented = reader.case.findings.get(condition.fact)
    if not isinstance(documented, Decimal):
        return None
    months = math.ceil(documented)
    if months <= 0:
        return reader.case.date
    return months_before(reader.case.date, months) if months <= FACT_WINDOW_MONTHS else None


def _condition_holds(reader: Reader, condition: Condition, values: dict) -> bool:
    if isinstance(condition, WithinFactMonthsCondition):
        start = _fact_window_start(reader, condition)
        # An ongoing therapy (no `end`) ends on the request date.
        day = values.get(condition.field, reader.case.date if condition.field == "end" else None)
        return start is None or (isinstance(day, dt.date) and day >= start)
    value = values.get(condition.field)
    if value is None:
        return False
    if isinstance(condition, InCondition):
        return _value_text(value) in condition.values
    if isinstance(condition, CmpCondition):
        if not isinstance(value, Decimal):
            return False
        number, threshold = scaled(value), condition.threshold
        return {
            Operator.GE: number >= threshold,
            Operator.GT: number > threshold,
            Operator.LE: number <= threshold,
            Operator.LT: number < threshold,
            Operator.EQ: number == threshold,
            Operator.NE: number != threshold,
        }[condition.operator]
    if isinstance(condition, HasCondition):
        return isinstance(value, tuple) and condition.value in value
    if isinstance(condition, WithinCondition):
        if not isinstance(value, dt.date):
            return False
        offset = (value - reader.case.date).days
        return condition.low <= offset <= condition.high
    if isinstance(condition, WithinMonthsCondition):
        start = months_before(reader.case.date, condition.months)
        return isinstance(value, dt.date) and start <= value <= reader.case.date
    if isinstance(condition, OrderCondition):
        dates = reader.order_dates.get(condition.target, ())
        if not isinstance(value, dt.date) or not dates:
            return False
        return dates[0] < value if condition.test == "after" else dates[-1] > value
    request = reader.case.request.get(condition.target.removeprefix("request."))
    if request is None:
        return False
    if condition.test == "covers" and _value_text(value) == BOTH_SIDES:
        return True  # a record of both sides serves either (policy.lp, covers)
    return _value_text(request) == _value_text(value)


def _miss_text(
    reader: Reader, condition: Condition, value: object, kind: str = "", plain: bool = False
) -> str:
    """What a record misses on one condition: its documented value against what is needed, in
    words ("relief 60%, needs 75% or more", "modality X-ray, needs CT or MRI")."""
    field_def = _field_def(reader, kind, condition.field)
    unit = field_def.unit if field_def is not None else None
    name = plain_words(condition.field.removesuffix("_percent") if unit == "%" else condition.field)
    if value is None:
        return f"{name} not documented"
    shown = _value_text(value)
    if isinstance(condition, InCondition):
        if plain and set(condition.values) | {shown} <= SIDES:
            # "left joint, needs the right joint or both joints"
            wanted = " or ".join(
                "both joints" if v == BOTH_SIDES else f"the {v} joint"
                for v in sorted(condition.values, key=lambda v: v == BOTH_SIDES)
            )
            return f"{side_words(shown)}, needs {wanted}"
        if plain and field_def is not None and field_def.type.kind == "bool":
            wanted = " or ".join(value_words(v, "bool") for v in sorted(condition.values))
            return f"{name}: {value_words(shown, 'bool')}, needs {wanted}"
        wanted = " or ".join(plain_words(v) for v in sorted(condition.values))
        return f"{name} {plain_words(shown)}, needs {wanted}"
    if isinstance(condition, CmpCondition):
        threshold = unscaled(condition.threshold)
        amount = (
            f"{threshold}{unit}" if unit == "%" else f"{threshold} {unit}" if unit else threshold
        )
        shown_amount = f"{shown}{unit}" if unit == "%" else f"{shown} {unit}" if unit else shown
        return f"{name} {shown_amount}, needs {_OPERATOR_WORDS[condition.operator].format(amount)}"
    if isinstance(condition, HasCondition):
        return f"{name} do not include {plain_words(condition.value)}"
    if isinstance(condition, WithinCondition):
        start = reader.case.date + dt.timedelta(days=condition.low)
        end = reader.case.date + dt.timedelta(days=condition.high)
        # The record's own text gives the date; the window is named by its first day.
        if isinstance(value, dt.date) and value < start:
            if plain:
                return f"more than {-condition.low} days before the request"
            return f"dated before the window that starts {start}"
        return f"dated after the window that ends {end}"
    if isinstance(condition, WithinFactMonthsCondition):
        since = _fact_window_start(reader, condition)
        if plain:
            fact = reader.policy.vocabulary.fact("finding", condition.fact)
            means = lower_first(fact.means) if fact is not None else plain_words(condition.fact)
            length = reader.case.findings.get(condition.fact)
            return f"{name} {shown}, before {since}, {length} months before the request ({means})"
        return f"{name} {shown}, before the window of {condition.fact} that starts {since}"
    if isinstance(condition, WithinMonthsCondition):
        start = months_before(reader.case.date, condition.months)
        if isinstance(value, dt.date) and value < start:
            if plain:
                return f"more than {condition.months} months before the request"
            return f"dated before the window that starts {start}"
        return f"dated after the request date {reader.case.date}"
    if isinstance(condition, OrderCondition):
        return _order_miss_text(reader, condition, value)
    target = condition.target.removeprefix("request.")
    request = reader.case.request.get(target)
    wanted = _value_text(request) if request is not None else "not documented"
    if plain:
        return f"{name} {plain_words(shown)}, not the requested {plain_words(target)} ({plain_words(wanted)})"
    return f"{name} {shown}, not the requested {plain_words(target)} ({wanted})"


def _order_miss_text(reader: Reader, condition: OrderCondition, value: object) -> str:
    """Why a record is not after (before) a set: "not after any conservative therapy record:
    earliest 2026-02-01"."""
    target = reader.compiled.record_sets[condition.target]
    what = f"{lower_first(target.label)} record"
    dates = reader.order_dates.get(condition.target, ())
    if not dates:
        return f"not {condition.test} any {what}: none documented"
    if condition.test == "after":
        return f"not after any {what}: earliest {dates[0]}"
    return f"not before any {what}: latest {dates[-1]}"


_OPERATOR_WORDS = {
    Operator.GE: "{} or more",
    Operator.GT: "more than {}",
    Operator.LE: "{} or less",
    Operator.LT: "less than {}",
    Operator.EQ: "exactly {}",
    Operator.NE: "other than {}",
}


def _field_def(reader: Reader, kind: str, name: str):
    record = reader.policy.vocabulary.record(kind) if kind else None
    return record.field(name) if record is not None else None


def _value_text(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
            return f"{definition.means}: {_OPERATOR_WORDS[leaf.operator].format(amount)}"
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
        evidence += _implied_lines(reader, snapshot, keys, plain=False)
        words = tuple(reader.fact_words(k, documented) for k in keys)
        words += _implied_lines(reader, snapshot, keys, plain=True)
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


def _fact_keys(compiled: CompiledPolicy, node_id: str) -> set[str]:
    info = compiled.nodes[node_id]
    key = info.fact_key()
    keys = {key} if key is not None else set()
    for child in info.children:
        keys |= _fact_keys(compiled, child)
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
        keys = sorted(
            _fact_keys(reader.compiled, when_id)
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


# ------------------------------------------------------------------ reasons
def code_reasons(reader: Reader) -> tuple[str, ...]:
    """Why the policy does not address the request: its code is not one the service lists."""
    code = reader.case.request.get(CPT_FIELD)
    service = next((s for s in reader.policy.services if s.name == reader.case.service), None)
    if code is None or service is None or not service.cpt_codes or code in service.cpt_codes:
        return ()
    listed = ", ".join(service.cpt_codes)
    return (
        f"{reader.policy.cite} {service.section}: {service.label}: covers CPT {listed}; "
        f"the request documents CPT {code}, a procedure the policy does not address.",
    )


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
    return tuple(found) or _not_together(tree)


def _not_together(tree: tuple[NodeResult, ...]) -> tuple[str, ...]:
    """Not met though no criterion is contradicted alone: the solver found no documentation
    that could be added meeting the criteria together (a record ordered after another set, and
    a criterion that rules out a record of that set)."""
    return tuple(
        f"{top.cite}: {top.label}. Not documented, and no documentation that could be added "
        "meets it together with the other criteria."
        for top in tree
        if top.status == Status.NOT_DOCUMENTED
    )


def reasons_in_words(
    determination: Determination,
    tree: tuple[NodeResult, ...],
    exclusions: tuple[ExclusionResult, ...],
) -> tuple[str, ...]:
    """The reasons for people: what `reasons` says, with the documented values in words and
    in sentences a provider's office reads as they are."""
    if determination == Determination.EXCLUDED:
        return tuple(
            f"{e.cite}: {e.label}. Documented: {'; '.join(e.evidence_words)}."
            for e in exclusions
            if e.status == ExclusionStatus.APPLIES
        )
    if determination != Determination.NOT_MET:
        return ()
    return tuple(
        _reason_text(node, plain=True)
        for top in tree
        if top.status == Status.NOT_MET
        for node in _deepest_failures(top)
    ) or _not_together(tree)


def _deepest_failures(node: NodeResult) -> list[NodeResult]:
    failing = [c for c in node.children if c.status == Status.NOT_MET]
    if not failing or node.kind in (NodeKind.ANY, NodeKind.AT_LEAST, NodeKind.NONE):
        return [node]
    return [leaf for child in failing for leaf in _deepest_failures(child)]


def _decisive_evidence(node: NodeResult, plain: bool = False) -> str:
    # Records that nearly qualify explain the tree; a reason quotes what decided it.
    if plain:
        return "; ".join(e for e in node.evidence_words if not e.startswith(NEARLY_WORDS))
    return "; ".join(e for e in node.evidence if not e.startswith("nearly:"))


def _quoted_deep(node: NodeResult) -> str:
    """A failing criterion for people: its own documented values, or those of the members
    that decided it, without the labels of the groups in between."""
    if node.evidence_words:
        return _decisive_evidence(node, True) or lower_first(node.label)
    if node.kind in (NodeKind.AT_LEAST, NodeKind.NONE):
        return _quoted(node, True)
    failing = [c for c in node.children if c.status == Status.NOT_MET]
    kept = [c for c in failing if not _for_other_request(c)] or failing
    if node.kind == NodeKind.ALL:
        kept = [c for c in kept if _on_the_request(c)] or kept
    return "; ".join(_quoted_deep(c) for c in kept) or lower_first(node.label)


def _for_other_request(node: NodeResult) -> bool:
    """A group meant for another kind of request (joint by joint, for a bilateral one), which
    the request itself rules out."""
    return node.kind == NodeKind.ALL and any(
        _on_the_request(c) and c.status == Status.NOT_MET for c in node.children
    )


def _on_the_request(node: NodeResult) -> bool:
    """A leaf that tests the request itself (`request.side is bilateral`), not its documentation."""
    return node.kind == NodeKind.LEAF and (node.condition or "").startswith("request.")


def _quoted(node: NodeResult, plain: bool = False) -> str:
    """A criterion as a reason quotes it: its documented values, or for a criterion with no
    evidence of its own, its label with the values of the members that decided it."""
    if node.evidence:
        return _decisive_evidence(node, plain) or node.label
    deciding = Status.MET if node.kind == NodeKind.NONE else Status.NOT_MET
    members = [c for c in node.children if c.status == deciding]
    if node.kind == NodeKind.ALL:
        # A group meant for another kind of request (joint by joint, for a bilateral one) is
        # decided by the request alone: what its other members lack is beside the point.
        members = [c for c in members if _on_the_request(c)] or members
    parts = [_quoted(c, plain) for c in members]
    sep = "; " if plain else ", "
    return f"{node.label} ({sep.join(parts)})" if parts else node.label


def _reason_text(node: NodeResult, plain: bool = False) -> str:
    sep = "; " if plain else ", "
    match node.kind:
        case NodeKind.LEAF:
            documented = _decisive_evidence(node, plain)
            if plain:
                needed = node.condition_words or node.label
                means, _, wanted = needed.rpartition(": ")
                if means and documented.startswith(means + ": ") and "; " not in documented:
                    # One value against what is needed: "Pain intensity on a 0-10 scale:
                    # 4/10 documented, 5/10 or more needed."
                    shown = documented.removeprefix(means + ": ")
                    return (
                        f"{node.cite}: {node.label}. {means}: {shown} documented, {wanted} needed."
                    )
                return (
                    f"{node.cite}: {node.label}. Not met as documented ({documented}); "
                    f"needed: {lower_first(needed)}."
                )
            return (
                f"{node.cite}: {node.label}. Not met as documented ({documented}); "
                f"the criterion needs {node.condition}."
            )
        case NodeKind.AT_LEAST:
            negative = [c for c in node.children if c.status == Status.NOT_MET]
            return (
                f"{node.cite}: {node.label}. {node.met_count} of the required {node.minimum} "
                "met; documented as not met: " + sep.join(_quoted(c, plain) for c in negative) + "."
            )
        case NodeKind.NONE:
            present = [_quoted(c, plain) for c in node.children if c.status == Status.MET]
            return f"{node.cite}: {node.label}. Not met as documented: {sep.join(present)}."
        case NodeKind.ANY | NodeKind.ALL:
            parts = [_quoted(c, plain) for c in node.children if c.status == Status.NOT_MET]
            if plain:
                # Alternatives meant for another kind of request are beside the point.
                failing = [c for c in node.children if c.status == Status.NOT_MET]
                kept = [c for c in failing if not _for_other_request(c)] or failing
                if node.kind == NodeKind.ALL or len(kept) == 1:
                    said = sep.join(_quoted_deep(c) for c in kept)
                    return f"{node.cite}: {node.label}. Not met as documented: {said}."
                said = sep.join(
                    _quoted_deep(c) if c.kind == NodeKind.LEAF else f"{c.label} ({_quoted_deep(c)})"
                    for c in kept
                )
                return (
                    f"{node.cite}: {node.label}. None of the alternatives is met as "
                    f"documented: {said}."
                )
            return (
                f"{node.cite}: {node.label}. None of the alternatives can be met as documented "
                f"({', '.join(parts)})."
            )
    assert_never(node.kind)


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
