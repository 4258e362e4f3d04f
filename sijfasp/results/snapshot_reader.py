"""The solver's snapshot of one case read in words: `Reader` names a documented finding or
record (as evidence, `vas_score = 7`, and for people, "Pain intensity on a 0-10 scale: 7/10"), a
criterion's section and a window; with the documented values a snapshot holds, the findings
implied by others, and the dates of the sets a record is ordered against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..cases.case import Case
from ..core.kinds import BOTH_SIDES, World
from ..core.units import unscaled
from ..core.wording import plain_words, value_words
from ..language.compiler import CompiledPolicy, OrderCondition
from ..language.semantics import Policy
from ..solve.atoms import RecordRef, Snapshot, Value
from ..solve.case_facts import months_before


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

    def fact_evidence(self, key: str, documented: Mapping[str, Value]) -> str:
        value = documented.get(key)
        return f"{key} not documented" if value is None else f"{key} = {self.fact_value(value)}"

    def fact_words(self, key: str, documented: Mapping[str, Value]) -> str:
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


def documented_values(snapshot: Snapshot) -> Mapping[str, Value]:
    """The documented findings and request fields, by their key as a case writes it, with the
    findings known by an implication of the vocabulary (`implied_by` names their source)."""
    return snapshot.values_by_key


def implied_by(snapshot: Snapshot, keys: Iterable[str]) -> tuple[str, ...]:
    """The documented findings that imply these (otherwise undocumented) ones: `name = value`."""
    implied, documented = snapshot.implied_by_key, snapshot.documented_by_key
    return tuple(
        dict.fromkeys(
            f"{source.key} = {_plain(documented.get(source.key))}"
            for key in keys
            for source in implied.get(key, ())
        )
    )


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
