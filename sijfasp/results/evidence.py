"""The evidence of one criterion leaf, as the model gives it: a finding's documented value (and
the findings that imply it), or a record count's figures, the records counted, the attempts that
failed, the dates too close together, and the records that nearly qualify.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import assert_never

from ..core.kinds import CountUnit, Status, World
from ..core.wording import lower_first, plain_words, plural
from ..language.compiler import FactLeaf, NodeInfo, RecordsLeaf
from ..solve.atoms import NO_DAY, RecordRef, Snapshot, Value
from .near_misses import (
    miss_parts,
    miss_texts,
    near_miss_lines,
    only_date_or_side,
    set_and_included,
    why_sentence,
)
from .snapshot_reader import Reader, documented_values, note_order_dates


def implied_lines(
    reader: Reader, snapshot: Snapshot, keys: Iterable[str], plain: bool
) -> tuple[str, ...]:
    """One line per documented finding that implies a finding read here."""
    implied = snapshot.implied_by_key
    sources = dict.fromkeys(s.key for key in keys for s in implied.get(key, ()))
    if not sources:
        return ()
    documented = documented_values(snapshot)
    if plain:
        return tuple(f"implied by {lower_first(reader.fact_words(s, documented))}" for s in sources)
    return tuple(f"implied by {reader.fact_evidence(s, documented)}" for s in sources)


def node_evidence(
    reader: Reader,
    snapshot: Snapshot,
    info: NodeInfo,
    documented: Mapping[str, Value],
    plain: bool = False,
) -> tuple[str, ...]:
    """What the model says about one leaf: the documented value, or the records and figures;
    `plain`: in words for people (the vocabulary's meanings and units, no field names)."""
    leaf = info.leaf
    if leaf is None:
        return ()
    if isinstance(leaf, FactLeaf):
        implied = implied_lines(reader, snapshot, (leaf.key,), plain)
        if plain:
            return (reader.fact_words(leaf.key, documented), *implied)
        return (reader.fact_evidence(leaf.key, documented), *implied)
    return _records_evidence(reader, snapshot, info.id, leaf, plain)


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
        if plain and _outcome_by_date_or_side(reader, leaf.set_id, record):
            # An attempt that fails only by its date or side is no failed outcome: say why.
            lines.append(why_sentence(reader.record_phrase(record), missed))
        elif plain:
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


def _outcome_by_date_or_side(reader: Reader, set_id: str, record: RecordRef) -> bool:
    """Whether every condition of the set's outcome a failed attempt misses is on its date or
    side (a therapy that ended before the current pain began)."""
    outcome = reader.compiled.outcome_fields(set_id)
    return only_date_or_side(
        miss
        for each in set_and_included(reader.compiled, set_id)
        for miss in miss_parts(reader, each, record, list(outcome), True)
    )


def _missed_outcome(reader: Reader, set_id: str, record: RecordRef, plain: bool = False) -> str:
    """How a failed attempt misses the set's outcome, with its documented values."""
    outcome = reader.compiled.outcome_fields(set_id)
    return "; ".join(
        dict.fromkeys(
            text
            for each in set_and_included(reader.compiled, set_id)
            for text in miss_texts(reader, each, record, list(outcome), plain)
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
            if plain and _outcome_by_date_or_side(reader, leaf.set_id, record):
                lines.append(f"latest: {why_sentence(reader.record_phrase(record), missed)}")
            else:
                lines.append(
                    f"latest attempt without the required outcome: {text(record)}: {missed}"
                )
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
