"""Every predicate that crosses the boundary between Python and the ASP program, declared once.

In, the case (`case_facts`): doc/2, record/2, rfield/3, rmember/3, span/3, span_next/2,
date_next/2. Out, a model's shown atoms (`encodings/policy.lp`'s `#show` lines): status/2,
in_set/3, count_of/3, failed_attempt/2, latest_record/2, days_of/3, covered_from/2,
covered_to/2, spaced_date/2, too_close/3, excluded/2, advisory_applies/1, item/1, item_cost/2,
determination/1, doc/2. A choice value that is a procedure code travels as a string term
("27278"), any other as a constant.

Each predicate is a frozen dataclass with its conversion both ways: `symbol()` builds the clingo
term and a `decode` reads one back; numbers are scaled and dates are day offsets (`units`).
`Snapshot.of` turns a model's symbols into these, and fails on any atom it does not know, so a
predicate renamed in `policy.lp` fails here rather than reading as "nothing found". Nothing
outside this module takes a symbol apart by position.

The module is longer than the project's usual 700 lines on purpose: the boundary is read as one
table (each predicate beside its conversions and `Snapshot`'s reading of it), so a predicate
renamed in `policy.lp` is mended in one file; `tests/test_atoms.py` checks it against the program.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, TypeVar, assert_never

from clingo import Function, Number, String, Symbol, SymbolType

from ..core.kinds import Determination, FactScope, ItemKind, Status, World
from ..core.units import day_offset, is_code, scaled

# A value as the model holds it: a scaled number or day offset, or a constant (true, false, a
# value of an enumerated type).
Value = int | str


class AtomError(RuntimeError):
    """A model atom that does not fit its declaration: a bug in `policy.lp` or in this module."""


# ------------------------------------------------------------------ terms
@functools.lru_cache(maxsize=4096)
def _constant(name: str) -> Symbol:
    """A constant's symbol, built once: a long chart repeats the same field and kind names
    thousands of times, and each new clingo symbol is a call into the library."""
    return Function(name)


@functools.lru_cache(maxsize=65536)
def _record_symbol(kind: str, index: int) -> Symbol:
    return Function("r", [_constant(kind), Number(index)])


# Terms already taken apart, by symbol: a long chart's model repeats the same constants and
# records thousands of times, and each question to a symbol is a call into clingo's C API
# (a lookup here costs a tenth of taking a record term apart). Bounded like _DECODED below.
_TERMS: dict[Symbol, str | RecordRef] = {}
_TERMS_LIMIT = 100_000


def _remember(symbol: Symbol, term: str | RecordRef) -> None:
    if len(_TERMS) >= _TERMS_LIMIT:
        _TERMS.clear()
    _TERMS[symbol] = term


def _const(symbol: Symbol) -> str:
    found = _TERMS.get(symbol)
    if isinstance(found, str):
        return found
    if symbol.type != SymbolType.Function or symbol.arguments:
        raise AtomError(f"expected a constant, got {symbol}")
    name = symbol.name
    _remember(symbol, name)
    return name


def _int(symbol: Symbol) -> int:
    if symbol.type != SymbolType.Number:
        raise AtomError(f"expected a number, got {symbol}")
    return symbol.number


E = TypeVar("E", bound=StrEnum)
A = TypeVar("A")


def _enum(kind: type[E], symbol: Symbol) -> E:
    name = _const(symbol)
    try:
        return kind(name)
    except ValueError:
        raise AtomError(f"{name} is not a {kind.__name__}") from None


def _args(symbol: Symbol, name: str, arity: int) -> Sequence[Symbol]:
    if symbol.type != SymbolType.Function or symbol.name != name or len(symbol.arguments) != arity:
        raise AtomError(f"expected {name}/{arity}, got {symbol}")
    return symbol.arguments


def case_value(value: bool | Decimal | dt.date | str, request_date: dt.date) -> Value:
    """A case value as the program compares it: a number scaled, a date as a day offset."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return scaled(value)
    if isinstance(value, dt.date):
        return day_offset(value, request_date)
    if isinstance(value, str):
        return value
    assert_never(value)


def _value(symbol: Symbol) -> Value:
    if symbol.type == SymbolType.String:
        return symbol.string  # a procedure code (see value_term)
    return symbol.number if symbol.type == SymbolType.Number else _const(symbol)


def value_text(symbol: Symbol) -> str:
    """A constant or code of a model as a case writes it (the inverse of value_term)."""
    return symbol.string if symbol.type == SymbolType.String else str(symbol)


@dataclass(frozen=True)
class FactRef:
    """A finding (`vas_score`) or request field (`request(side)`)."""

    scope: FactScope
    name: str

    def symbol(self) -> Symbol:
        match self.scope:
            case FactScope.FINDING:
                return Function(self.name)
            case FactScope.REQUEST:
                return Function("request", [Function(self.name)])
        assert_never(self.scope)

    @classmethod
    def of_key(cls, key: str) -> FactRef:
        """From the way a case file writes it: `vas_score`, `request.side`."""
        scope, dot, name = key.partition(".")
        if dot and scope == "request":
            return cls(FactScope.REQUEST, name)
        return cls(FactScope.FINDING, key)

    @classmethod
    def decode(cls, symbol: Symbol) -> FactRef:
        if symbol.type == SymbolType.Function and symbol.name == "request":
            return cls(FactScope.REQUEST, _const(_args(symbol, "request", 1)[0]))
        return cls(FactScope.FINDING, _const(symbol))

    @property
    def key(self) -> str:
        """As a case file writes it: `vas_score`, `request.side`."""
        return self.name if self.scope == FactScope.FINDING else f"request.{self.name}"

    @property
    def term(self) -> str:
        """As the compiled program writes it: `vas_score`, `request(side)`."""
        return str(self.symbol())


@dataclass(frozen=True)
class RecordRef:
    """A documented record, r(Kind, Index), stable across runs."""

    kind: str
    index: int

    def symbol(self) -> Symbol:
        return _record_symbol(self.kind, self.index)

    @classmethod
    def decode(cls, symbol: Symbol) -> RecordRef:
        found = _TERMS.get(symbol)
        if isinstance(found, RecordRef):
            return found
        kind, index = _args(symbol, "r", 2)
        ref = cls(_const(kind), _int(index))
        _remember(symbol, ref)
        return ref


# ------------------------------------------------------------------ case facts (in)
@dataclass(frozen=True)
class Doc:
    """doc(Fact, Value): a documented finding or request field (in, and shown back out)."""

    fact: FactRef
    value: Value

    def symbol(self) -> Symbol:
        return Function("doc", [self.fact.symbol(), _value_term(self.value)])

    @classmethod
    def decode(cls, args: Sequence[Symbol]) -> Doc:
        return cls(FactRef.decode(args[0]), _value(args[1]))


@dataclass(frozen=True)
class RecordFact:
    """record(R, Kind)."""

    record: RecordRef

    def symbol(self) -> Symbol:
        return Function("record", [self.record.symbol(), _constant(self.record.kind)])


@dataclass(frozen=True)
class RField:
    """rfield(R, Field, Value): one scalar field of a record."""

    record: RecordRef
    field: str
    value: Value

    def symbol(self) -> Symbol:
        return Function(
            "rfield", [self.record.symbol(), _constant(self.field), _value_term(self.value)]
        )


@dataclass(frozen=True)
class RMember:
    """rmember(R, Field, Member): one member of a record's list field."""

    record: RecordRef
    field: str
    member: str

    def symbol(self) -> Symbol:
        return Function(
            "rmember", [self.record.symbol(), _constant(self.field), _constant(self.member)]
        )


@dataclass(frozen=True)
class Span:
    """span(R, Start, End): a therapy's days as offsets from the request date, inclusive."""

    record: RecordRef
    start: int
    end: int

    def symbol(self) -> Symbol:
        return Function("span", [self.record.symbol(), Number(self.start), Number(self.end)])


@dataclass(frozen=True)
class SpanNext:
    """span_next(R1, R2): R2 follows R1 among the case's spans in order of start day (then
    kind and index): the order in which `policy.lp` merges spans into runs of days, computed
    once from the case so that merging needs no sort in the program."""

    first: RecordRef
    then: RecordRef

    def symbol(self) -> Symbol:
        return Function("span_next", [self.first.symbol(), self.then.symbol()])


@dataclass(frozen=True)
class MonthStart:
    """month_start(N, Day): the first day of a window of N calendar months, as a day offset."""

    months: int
    day: int

    def symbol(self) -> Symbol:
        return Function("month_start", [Number(self.months), Number(self.day)])


@dataclass(frozen=True)
class DateNext:
    """date_next(D, E): two distinct dates of the case's records, E the next after D (offsets)."""

    day: int
    next_day: int

    def symbol(self) -> Symbol:
        return Function("date_next", [Number(self.day), Number(self.next_day)])


# ------------------------------------------------------------------ missing documentation
@dataclass(frozen=True)
class Guess:
    """guess(Fact, Value): an undocumented fact documented with one candidate value."""

    fact: FactRef
    value: Value
    kind: ClassVar[ItemKind] = ItemKind.GUESS

    def symbol(self) -> Symbol:
        return Function("guess", [self.fact.symbol(), _value_term(self.value)])


@dataclass(frozen=True)
class Fill:
    """fill(R, Field, Value): a documented record's missing optional field."""

    record: RecordRef
    field: str
    value: Value
    kind: ClassVar[ItemKind] = ItemKind.FILL

    def symbol(self) -> Symbol:
        return Function(
            "fill", [self.record.symbol(), Function(self.field), _value_term(self.value)]
        )


@dataclass(frozen=True)
class More:
    """more(Set, I): the I-th record added to a record set."""

    set_id: str
    ordinal: int
    kind: ClassVar[ItemKind] = ItemKind.MORE

    def symbol(self) -> Symbol:
        return Function("more", [Function(self.set_id), Number(self.ordinal)])


@dataclass(frozen=True)
class MoreDays:
    """more_days(Node): the days of therapy a duration leaf lacks."""

    node: str
    kind: ClassVar[ItemKind] = ItemKind.MORE_DAYS

    def symbol(self) -> Symbol:
        return Function("more_days", [Function(self.node)])


Item = Guess | Fill | More | MoreDays


@functools.lru_cache(maxsize=65536)
def item_key(item: Item) -> str:
    """The item as the solver names it, stable across runs: `guess(vas_score,500)`.

    Cached: sorting and grouping the minimal sets asks for the same keys many times."""
    return str(item.symbol())


def _value_term(value: Value) -> Symbol:
    if isinstance(value, int):
        return Number(value)
    return String(value) if is_code(value) else _constant(value)


def decode_item(symbol: Symbol) -> Item:
    if symbol.type != SymbolType.Function:
        raise AtomError(f"expected an item, got {symbol}")
    kind = _enum(ItemKind, Function(symbol.name))
    match kind:
        case ItemKind.GUESS:
            fact, value = _args(symbol, "guess", 2)
            return Guess(FactRef.decode(fact), _value(value))
        case ItemKind.FILL:
            record, field_name, value = _args(symbol, "fill", 3)
            return Fill(RecordRef.decode(record), _const(field_name), _value(value))
        case ItemKind.MORE:
            set_id, ordinal = _args(symbol, "more", 2)
            return More(_const(set_id), _int(ordinal))
        case ItemKind.MORE_DAYS:
            (node,) = _args(symbol, "more_days", 1)
            return MoreDays(_const(node))
    assert_never(kind)


# ------------------------------------------------------------------ model atoms (out)
@dataclass(frozen=True)
class NodeStatus:
    """status(Node, Status): a node of the criteria tree, three-valued, as documented."""

    node: str
    status: Status


@dataclass(frozen=True)
class InSet:
    """in_set(World, Set, R): a record belongs to a record set."""

    world: World
    set_id: str
    record: RecordRef


@dataclass(frozen=True)
class CountOf:
    """count_of(World, Node, C): records (or distinct dates) a count leaf counts."""

    world: World
    node: str
    count: int


@dataclass(frozen=True)
class FailedAttempt:
    """failed_attempt(Node, R): a documented attempt of a count leaf that failed its outcome."""

    node: str
    record: RecordRef


@dataclass(frozen=True)
class LatestRecord:
    """latest_record(Node, R): a documented attempt of a `latest of` leaf on the latest date."""

    node: str
    record: RecordRef


@dataclass(frozen=True)
class DaysOf:
    """days_of(World, Node, C): distinct days of therapy a duration leaf counts."""

    world: World
    node: str
    days: int


@dataclass(frozen=True)
class NeedDays:
    """need_days(Node, K): the days a duration in months (`at least N months of`) needs for this
    case: the days of the N calendar months that end on the request date."""

    node: str
    days: int


@dataclass(frozen=True)
class Implied:
    """implied(Fact, Value, From): a finding not documented has this value by an implication of
    the vocabulary, from the documented finding From (`sacral_tumor_present implies tumor`:
    tumor true from sacral_tumor_present true; from tumor false, sacral_tumor_present false)."""

    fact: FactRef
    value: Value
    source: FactRef


@dataclass(frozen=True)
class CoveredFrom:
    """covered_from(Node, D): in hyp, where days are added, a run of covered days begins on D."""

    node: str
    day: int


@dataclass(frozen=True)
class CoveredTo:
    """covered_to(Node, D): in hyp, where days are added, a run of covered days ends on D."""

    node: str
    day: int


@dataclass(frozen=True)
class SpacedDate:
    """spaced_date(Node, D): a date a spaced count counts, as documented."""

    node: str
    day: int


@dataclass(frozen=True)
class TooClose:
    """too_close(Node, D, E): a documented date E of a spaced count passed over, fewer days
    after the counted date D than the spacing asks."""

    node: str
    day: int
    other: int


# The encoding's `no_day` (policy.lp): a day before every day a case can hold.
NO_DAY = -100_000_000


@dataclass(frozen=True)
class RoomBetween:
    """room_between(Node, First, Last): a count of dates spaced apart whose dates can never fit:
    the set's records can only be dated from day First (no_day: no first day) to day Last."""

    node: str
    first: int
    last: int


@dataclass(frozen=True)
class Excluded:
    """excluded(World, Node): an exclusion of the requested service holds."""

    world: World
    node: str


@dataclass(frozen=True)
class AdvisoryApplies:
    """advisory_applies(A): an advisory's condition holds as documented."""

    advisory: str


@dataclass(frozen=True)
class ItemAtom:
    """item(X): one piece of missing documentation in this model."""

    item: Item

    def symbol(self) -> Symbol:
        return Function("item", [self.item.symbol()])


@dataclass(frozen=True)
class ItemCost:
    """item_cost(X, C): what an item costs to obtain."""

    item: Item
    cost: int


@dataclass(frozen=True)
class NearMiss:
    """near_miss(Set, R, Field): a documented record nearly in a record set fails a condition
    of one of the set's filters on this field."""

    set_id: str
    record: RecordRef
    field: str


@dataclass(frozen=True)
class DeterminationAtom:
    """determination(D)."""

    determination: Determination


Shown = (
    NodeStatus
    | InSet
    | CountOf
    | FailedAttempt
    | LatestRecord
    | DaysOf
    | NeedDays
    | Implied
    | CoveredFrom
    | CoveredTo
    | SpacedDate
    | TooClose
    | RoomBetween
    | Excluded
    | AdvisoryApplies
    | ItemAtom
    | ItemCost
    | DeterminationAtom
    | Doc
    | NearMiss
)

# The shown predicates, each with how to read its arguments. A test checks that these are
# exactly the `#show` lines of policy.lp.
SHOWN: dict[tuple[str, int], Callable[[Sequence[Symbol]], Shown]] = {
    ("status", 2): lambda a: NodeStatus(_const(a[0]), _enum(Status, a[1])),
    ("in_set", 3): lambda a: InSet(_enum(World, a[0]), _const(a[1]), RecordRef.decode(a[2])),
    ("count_of", 3): lambda a: CountOf(_enum(World, a[0]), _const(a[1]), _int(a[2])),
    ("failed_attempt", 2): lambda a: FailedAttempt(_const(a[0]), RecordRef.decode(a[1])),
    ("latest_record", 2): lambda a: LatestRecord(_const(a[0]), RecordRef.decode(a[1])),
    ("days_of", 3): lambda a: DaysOf(_enum(World, a[0]), _const(a[1]), _int(a[2])),
    ("need_days", 2): lambda a: NeedDays(_const(a[0]), _int(a[1])),
    ("implied", 3): lambda a: Implied(FactRef.decode(a[0]), _value(a[1]), FactRef.decode(a[2])),
    ("covered_from", 2): lambda a: CoveredFrom(_const(a[0]), _int(a[1])),
    ("covered_to", 2): lambda a: CoveredTo(_const(a[0]), _int(a[1])),
    ("spaced_date", 2): lambda a: SpacedDate(_const(a[0]), _int(a[1])),
    ("too_close", 3): lambda a: TooClose(_const(a[0]), _int(a[1]), _int(a[2])),
    ("room_between", 3): lambda a: RoomBetween(_const(a[0]), _int(a[1]), _int(a[2])),
    ("excluded", 2): lambda a: Excluded(_enum(World, a[0]), _const(a[1])),
    ("advisory_applies", 1): lambda a: AdvisoryApplies(_const(a[0])),
    ("item", 1): lambda a: ItemAtom(decode_item(a[0])),
    ("item_cost", 2): lambda a: ItemCost(decode_item(a[0]), _int(a[1])),
    ("determination", 1): lambda a: DeterminationAtom(_enum(Determination, a[0])),
    ("doc", 2): Doc.decode,
    ("near_miss", 3): lambda a: NearMiss(_const(a[0]), RecordRef.decode(a[1]), _const(a[2])),
}


# Decoded atoms by symbol: the models of one case repeat most of their atoms (what is
# documented, the records in each set), and taking a symbol apart through clingo's C API costs
# far more than a lookup. Cleared when full, so memory stays bounded over a long batch.
_DECODED: dict[Symbol, Shown] = {}
_DECODED_LIMIT = 200_000


def decode(symbol: Symbol) -> Shown:
    """One shown atom of a model, typed; an AtomError for one no declaration covers."""
    found = _DECODED.get(symbol)
    if found is None:
        found = _decode(symbol)
        if len(_DECODED) >= _DECODED_LIMIT:
            _DECODED.clear()
        _DECODED[symbol] = found
    return found


def _decode(symbol: Symbol) -> Shown:
    if symbol.type != SymbolType.Function:
        raise AtomError(f"unexpected atom {symbol}")
    name, arguments = symbol.name, symbol.arguments  # each a call into clingo: asked once
    reader = SHOWN.get((name, len(arguments)))
    if reader is None:
        raise AtomError(
            f"unexpected atom {symbol}: no predicate {name}/"
            f"{len(arguments)} is declared in sijfasp.solve.atoms"
        )
    return reader(arguments)


@dataclass(frozen=True)
class Snapshot:
    """One model, copied out of clingo and typed: it outlives the solve call that found it."""

    atoms: tuple[Shown, ...]
    cost: tuple[int, ...] = ()
    statuses: dict[str, Status] = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def _by_type(self) -> dict[type, list[Shown]]:
        """The atoms by their type: each reader below looks at one type, and a long chart's
        model has thousands of atoms of other types."""
        found: dict[type, list[Shown]] = {}
        for atom in self.atoms:
            found.setdefault(type(atom), []).append(atom)
        return found

    def _of(self, kind: type[A]) -> list[A]:
        return self._by_type.get(kind, [])  # type: ignore[return-value]

    @classmethod
    def of(cls, symbols: Iterable[Symbol], cost: Sequence[int] = ()) -> Snapshot:
        atoms = tuple(decode(s) for s in symbols)
        statuses = {a.node: a.status for a in atoms if isinstance(a, NodeStatus)}
        return cls(atoms, tuple(cost), statuses)

    @property
    def determination(self) -> Determination:
        found = [a.determination for a in self._of(DeterminationAtom)]
        if len(found) != 1:
            raise AtomError(f"expected one determination, found {len(found)}")
        return found[0]

    def status(self, node: str) -> Status:
        """The solver's status of a node; every node has exactly one."""
        try:
            return self.statuses[node]
        except KeyError:
            raise AtomError(f"no status/2 for node {node}") from None

    def near_misses(self, set_id: str) -> dict[RecordRef, list[str]]:
        """The documented records nearly in a record set, each with the fields it fails on."""
        found: dict[RecordRef, list[str]] = {}
        for a in self._of(NearMiss):
            if a.set_id == set_id:
                found.setdefault(a.record, []).append(a.field)
        return {r: sorted(set(f)) for r, f in found.items()}

    def members(self, world: World, set_id: str) -> list[RecordRef]:
        return [a.record for a in self._of(InSet) if a.world == world and a.set_id == set_id]

    def count(self, world: World, node: str) -> int:
        """count_of/3 of a count leaf: the solver derives one for every count leaf."""
        found = [a.count for a in self._of(CountOf) if a.world == world and a.node == node]
        return _one(found, f"count_of({world},{node},_)")

    def any_failed_attempt(self) -> bool:
        """Whether some count leaf has a documented attempt that failed its outcome."""
        return bool(self._of(FailedAttempt))

    def failed_attempts(self, node: str) -> list[RecordRef]:
        """The documented attempts of a count leaf that failed its outcome."""
        return sorted(
            (a.record for a in self._of(FailedAttempt) if a.node == node),
            key=lambda r: (r.kind, r.index),
        )

    def latest_records(self, node: str) -> list[RecordRef]:
        """The documented attempts of a `latest of` leaf on the latest date (ties: several)."""
        return sorted(
            (a.record for a in self._of(LatestRecord) if a.node == node),
            key=lambda r: (r.kind, r.index),
        )

    def days(self, world: World, node: str) -> int:
        """The days of therapy a duration leaf counts in a world.

        As documented: days_of/3, which the solver derives for every duration leaf. In hyp only
        where the model adds days to the leaf: the model's runs of covered days, counted.
        """
        if world == World.HYP:
            return self._hyp_days(node)
        found = [a.days for a in self._of(DaysOf) if a.world == world and a.node == node]
        return _one(found, f"days_of({world},{node},_)")

    def need_days(self, node: str, minimum: int) -> int:
        """The days a duration leaf needs for this case: need_days/2 for one in months, else
        its own `minimum` (a duration in days is the same for every case)."""
        found = [a.days for a in self._of(NeedDays) if a.node == node]
        return found[0] if found else minimum

    # The findings and request fields by their key as a case writes it (`vas_score`,
    # `request.side`): read for every criterion of the tree, so each is built once.
    @functools.cached_property
    def documented_by_key(self) -> Mapping[str, Value]:
        """The documented values."""
        return {a.fact.key: a.value for a in self._of(Doc)}

    @functools.cached_property
    def _implied(self) -> dict[str, tuple[Value, list[FactRef]]]:
        found: dict[str, tuple[Value, list[FactRef]]] = {}
        for a in self._of(Implied):
            found.setdefault(a.fact.key, (a.value, []))[1].append(a.source)
        return {
            key: (value, sorted(set(sources), key=lambda f: f.name))
            for key, (value, sources) in found.items()
        }

    @functools.cached_property
    def implied_by_key(self) -> Mapping[str, list[FactRef]]:
        """The findings known only by implication, each with the documented findings that
        imply it (by name, in order)."""
        return {key: sources for key, (_, sources) in self._implied.items()}

    @functools.cached_property
    def values_by_key(self) -> Mapping[str, Value]:
        """The documented values and those known by implication (a documented value wins)."""
        return {key: value for key, (value, _) in self._implied.items()} | dict(
            self.documented_by_key
        )

    def _hyp_days(self, node: str) -> int:
        if MoreDays(node) not in self.items():
            raise AtomError(f"the days of {node} in hyp are shown only where days are added")
        starts = sorted(a.day for a in self._of(CoveredFrom) if a.node == node)
        ends = sorted(a.day for a in self._of(CoveredTo) if a.node == node)
        if len(starts) != len(ends) or any(s > e for s, e in zip(starts, ends, strict=True)):
            raise AtomError(f"covered_from/covered_to of {node} do not pair into runs")
        return sum(e - s + 1 for s, e in zip(starts, ends, strict=True))

    def spaced_dates(self, node: str) -> list[int]:
        """The dates (day offsets) a spaced count counts as documented, in order."""
        return sorted(a.day for a in self._of(SpacedDate) if a.node == node)

    def too_close(self, node: str) -> list[tuple[int, int]]:
        """Pairs (counted date, date passed over) of a spaced count, as documented."""
        return sorted((a.day, a.other) for a in self._of(TooClose) if a.node == node)

    def room_between(self, node: str) -> tuple[int, int] | None:
        """For a count of dates that can never fit, the first and last day (offsets from the
        request; the first may be NO_DAY) its set's records can be dated on; else None."""
        found = [(a.first, a.last) for a in self._of(RoomBetween) if a.node == node]
        return found[0] if found else None

    def excluded(self, world: World) -> set[str]:
        return {a.node for a in self._of(Excluded) if a.world == world}

    def advisories(self) -> set[str]:
        return {a.advisory for a in self._of(AdvisoryApplies)}

    def items(self) -> list[Item]:
        """The model's items, in the order of their solver names."""
        return sorted((a.item for a in self._of(ItemAtom)), key=item_key)

    def item_cost(self, item: Item) -> int:
        found = [a.cost for a in self._of(ItemCost) if a.item == item]
        return _one(found, f"item_cost({item_key(item)},_)")


def _one(found: list[int], atom: str) -> int:
    if len(found) != 1:
        raise AtomError(f"expected one {atom} in the model, found {len(found)}")
    return found[0]


__all__ = [
    "NO_DAY",
    "SHOWN",
    "AdvisoryApplies",
    "AtomError",
    "CountOf",
    "CoveredFrom",
    "CoveredTo",
    "DateNext",
    "DaysOf",
    "DeterminationAtom",
    "Doc",
    "Excluded",
    "FactRef",
    "FailedAttempt",
    "Fill",
    "Guess",
    "Implied",
    "InSet",
    "Item",
    "ItemAtom",
    "ItemCost",
    "LatestRecord",
    "MonthStart",
    "More",
    "MoreDays",
    "NearMiss",
    "NeedDays",
    "NodeStatus",
    "RField",
    "RMember",
    "RecordFact",
    "RecordRef",
    "RoomBetween",
    "Snapshot",
    "SpacedDate",
    "Span",
    "SpanNext",
    "TooClose",
    "Value",
    "case_value",
    "decode",
    "decode_item",
    "item_key",
]
