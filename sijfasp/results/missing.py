"""Minimal missing documentation: enumeration, ranking, grouping and the words for each item.

The solver's abduction finds the sets (`solver.Abducer`); this module drives it for a case,
names each item (what to document, for which criterion, with which prompt), orders the sets
(fewest items, then cheapest) and groups them along the all-of structure of the criteria not
yet met. Every figure shown (an item's cost, the days still lacking, how many records are
added, how many members an at-least criterion still needs) is the model's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import assert_never

from ..core.kinds import BOTH_SIDES, NodeKind, Status, World
from ..core.units import scaled, unscaled
from ..core.wording import lower_first, plain_words, plural, section_key
from ..language.compiler import NodeInfo, ValueClass
from ..language.semantics import FieldDef
from ..solve.atoms import Fill, Guess, Item, More, MoreDays, RecordRef, Snapshot, Value, item_key
from ..solve.solver import DEFAULT_BUDGET, Abducer, CaseSolver
from .explain import Reader
from .results import MissingGroup, MissingItem, NodeResult, RecordAsk

DEFAULT_ENUMERATE = 10
OPTIONS_PER_GROUP = 12


@dataclass(frozen=True)
class Options:
    """How much missing documentation to work out."""

    enumerate: int = DEFAULT_ENUMERATE  # full minimal sets to list (0: every one)
    # With more sets than `enumerate`: find the best ones (fewest items, then cheapest) rather
    # than any; costs a few optimizations, so a summary that does not list them can skip it.
    rank: bool = True
    budget: float = DEFAULT_BUDGET  # seconds to enumerate every minimal set (enumerate 0)
    # False: an incomplete case is decided as documented only, its missing documentation not
    # worked out (`check --no-missing`): no abduction at all.
    missing: bool = True


@dataclass(frozen=True)
class Missing:
    """The missing documentation of one case under one policy."""

    sets: tuple[tuple[MissingItem, ...], ...]
    complete: bool  # every minimal set is in `sets`
    total: int | None  # how many minimal sets there are, when known
    grouped: tuple[MissingGroup, ...]
    grouped_exact: bool  # the groups' options combine into exactly the minimal sets


DEFAULT_OPTIONS = Options()
NOTHING_MISSING = Missing((), True, None, (), True)
NOT_WORKED_OUT = Missing((), False, None, (), False)  # incomplete, with Options(missing=False)


def missing_documentation(
    reader: Reader,
    solver: CaseSolver,
    snapshot: Snapshot,
    tree: tuple[NodeResult, ...],
    options: Options,
    retest: bool = False,
) -> Missing:
    """The minimal sets and their grouping, for a case whose determination is incomplete.

    With `retest`, for a case not met: what new attempts would have to show where documented
    ones failed (nothing when some criterion is contradicted by a documented fact)."""
    if not options.missing:
        return NOT_WORKED_OUT
    # Sets that differ only in one value merge into one (see merge_alternatives): when a
    # request field that records are matched against (the side) is not documented, every set
    # names a value of it, and each ranked set comes with its siblings for the other values.
    abducer = solver.abducer(options.budget, retest, _open_tied_fields(reader))
    roots = tuple(node.id for node in tree)
    found = abducer.minimal_sets(limit=options.enumerate, ranked=options.rank)
    if retest and not found.models:
        return NOTHING_MISSING
    describe = _Describer(reader, snapshot.statuses)
    sets = sort_sets(
        merge_alternatives(
            reader,
            [
                sort_items([describe(model, item, roots) for item in model.items()])
                for model in found.models
            ],
        )
    )
    complete = found.complete
    if options.enumerate and len(sets) > options.enumerate:
        sets, complete = sets[: options.enumerate], False
    grouped = tuple(
        g for node in tree if (g := _group(reader, abducer, describe, node)) is not None
    )
    exact = _disjoint(grouped)
    total = len(sets) if complete else _product(grouped) if exact else None
    return Missing(tuple(sets), complete, total, grouped, exact)


# ------------------------------------------------------------------ grouping
def _open_tied_fields(reader: Reader) -> tuple[str, ...]:
    """The request fields some record set is matched against that are not documented."""
    compiled = reader.compiled
    tied = {
        target
        for set_id in compiled.record_sets
        for target in compiled.matched_request_fields(set_id)
    }
    return tuple(
        sorted(t for t in tied if reader.case.request.get(t.removeprefix("request.")) is None)
    )


def _group(
    reader: Reader, abducer: Abducer, describe: _Describer, node: NodeResult
) -> MissingGroup | None:
    """What a criterion not yet met still needs, split along its all-of structure."""
    if node.status == Status.MET:
        return None
    if node.kind == NodeKind.ALL:
        groups = tuple(
            g for c in node.children if (g := _group(reader, abducer, describe, c)) is not None
        )
        return MissingGroup(node.id, node.cite, node.label, groups, (), True)
    if node.kind == NodeKind.AT_LEAST:
        # "K more of these": exact when each open member has a single way to be met.
        per_member = [
            _options(reader, abducer, describe, c.id, 2)
            for c in node.children
            if c.status == Status.NOT_DOCUMENTED
        ]
        if all(len(found) == 1 and complete for found, complete in per_member):
            assert node.minimum is not None
            return MissingGroup(
                node.id,
                node.cite,
                node.label,
                (),
                tuple(found[0] for found, _ in per_member),
                True,
                node.minimum - node.met_count,
            )
    options, complete = _options(reader, abducer, describe, node.id, OPTIONS_PER_GROUP)
    return MissingGroup(node.id, node.cite, node.label, (), options, complete)


def _options(
    reader: Reader, abducer: Abducer, describe: _Describer, node_id: str, limit: int
) -> tuple[tuple[tuple[MissingItem, ...], ...], bool]:
    found = abducer.minimal_sets(focus=node_id, limit=limit)
    sets = sort_sets(
        merge_alternatives(
            reader,
            [sort_items([describe(m, i, (node_id,)) for i in m.items()]) for m in found.models],
        )
    )
    if len(sets) > limit:  # ranked sets come with their siblings (solver.Abducer._siblings)
        return tuple(sets[:limit]), False
    return tuple(sets), found.complete


def _disjoint(groups: tuple[MissingGroup, ...]) -> bool:
    """True when no item serves two groups, so the sets are exactly their product."""
    seen: set[str] = set()
    for top in groups:
        for group in top.leaves():
            keys = {item.key for option in group.options for item in option}
            if keys & seen:
                return False
            seen |= keys
    return True


def _product(groups: tuple[MissingGroup, ...]) -> int | None:
    total = 1
    for group in groups:
        count = group.count()
        if count is None:
            return None
        total *= count
    return total


# ------------------------------------------------------------------ one item for several values
def merge_alternatives(
    reader: Reader, sets: list[tuple[MissingItem, ...]]
) -> list[tuple[MissingItem, ...]]:
    """Sets that differ only in the value of one undocumented fact become one set whose item
    names every value that serves ("side: left, right or bilateral"), not one set per value.

    Only facts with named values (yes/no, choices) are merged; number ranges stay apart. Records
    asked for on the requested side are then worded for "that side", which is what each of the
    merged sets asks.
    """
    facts = sorted(
        {item.fact for option in sets for item in option if len(item.values) == 1},
    )
    for fact in facts:
        groups: dict[tuple[str, ...], list[tuple[MissingItem, ...]]] = {}
        for option in sets:
            chosen = [item for item in option if item.fact == fact and len(item.values) == 1]
            if len(chosen) != 1:
                groups.setdefault(tuple(i.key for i in option) + ("",), []).append(option)
                continue
            signature = tuple(f"{fact}=*" if i is chosen[0] else i.key for i in option)
            groups.setdefault(signature, []).append(option)
        merged: list[tuple[MissingItem, ...]] = []
        for signature, members in groups.items():
            if len(members) == 1 or signature[-1:] == ("",):
                merged.extend(members)
                continue
            merged.append(_merged_set(reader, fact, members))
        sets = merged
    return sets


def _merged_set(
    reader: Reader, fact: str, members: list[tuple[MissingItem, ...]]
) -> tuple[MissingItem, ...]:
    picked = [next(i for i in option if i.fact == fact) for option in members]
    scope, _, name = fact.rpartition(".")
    definition = reader.policy.vocabulary.fact(scope or "finding", name)
    kind = definition.type.kind if definition is not None else ""
    order = (
        ["true", "false"]
        if kind == "bool"
        else list(definition.type.values)
        if definition is not None
        else []
    )
    values = sorted(
        {i.values[0] for i in picked}, key=lambda v: order.index(v) if v in order else len(order)
    )
    first = picked[0]
    every = bool(order) and len(values) == len(order)
    means = definition.means if definition is not None else fact
    item = MissingItem(
        " | ".join(sorted(i.key for i in picked)),
        fact,
        f"{fact} in {{{', '.join(values)}}}",
        first.criterion,
        first.criterion_id,
        first.prompt,
        min(i.cost for i in picked),
        words="" if every else _either(values),
        plain=f"{means}: {_either(values)}",
        values=tuple(values),
    )
    out: list[MissingItem] = []
    for position, member in enumerate(members[0]):
        if member.fact == fact and len(member.values) == 1:
            out.append(item)
        elif member.records is not None and any(
            option[position].words != member.words for option in members
        ):
            # "left hip radiograph" / "right hip radiograph": the record of that side.
            label = member.records.removesuffix(", each on a date of its own")
            out.append(replace(member, words=lower_first(label)))
        else:
            out.append(member)
    return sort_items(out)


def _either(values: list[str]) -> str:
    words = [{"true": "yes", "false": "no"}.get(v, plain_words(v)) for v in values]
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# ------------------------------------------------------------------ ranking
def sort_sets(sets: list[tuple[MissingItem, ...]]) -> list[tuple[MissingItem, ...]]:
    return sorted(sets, key=lambda s: (len(s), sum(i.cost for i in s), [i.key for i in s]))


def sort_items(items: list[MissingItem]) -> tuple[MissingItem, ...]:
    return tuple(sorted(items, key=lambda i: (i.cost, section_key(i.criterion_id), i.key)))


# ------------------------------------------------------------------ describing an item
class _Describer:
    """`describe_item` for one case, remembered per item and scope.

    The minimal sets of one case share most of their items. What an item's words take from
    the model it comes from is part of the key: for an added record, how many the model adds
    to its set and the side it supposes; an item of added days (the days that model covers)
    is described afresh each time.
    """

    def __init__(self, reader: Reader, statuses: dict[str, Status]):
        self.reader = reader
        self.statuses = statuses
        self._seen: dict[tuple[object, ...], MissingItem] = {}

    def __call__(self, model: Snapshot, item: Item, scope: tuple[str, ...]) -> MissingItem:
        if isinstance(item, MoreDays):
            return describe_item(self.reader, model, item, scope, self.statuses)
        key: tuple[object, ...] = (item, scope)
        if isinstance(item, More):
            added = sum(1 for o in model.items() if isinstance(o, More) and o.set_id == item.set_id)
            key = (item, scope, added, _side_of(self.reader, model))
        found = self._seen.get(key)
        if found is None:
            found = describe_item(self.reader, model, item, scope, self.statuses)
            self._seen[key] = found
        return found


def describe_item(
    reader: Reader,
    snapshot: Snapshot,
    item: Item,
    scope: tuple[str, ...],
    statuses: dict[str, Status],
) -> MissingItem:
    """Name a missing piece of documentation: what to document, the criterion, the prompt.

    `statuses` are the criteria statuses as documented; the item's cost is the model's.
    """
    compiled, vocabulary = reader.compiled, reader.policy.vocabulary
    key, cost = item_key(item), snapshot.item_cost(item)
    match item:
        case Guess(fact=ref, value=value):
            fact_key = ref.key
            fact = vocabulary.fact(ref.scope.value, ref.name)
            assert fact is not None
            need = _value_need(compiled.fact_classes.get(ref.term), value, fact.type)
            leaf = _criterion_for(
                reader,
                scope,
                statuses,
                lambda info: (
                    info.fact_key() == fact_key
                    or (  # a filter that matches a record field against the request field
                        (set_id := info.set_id()) is not None
                        and fact_key in compiled.matched_request_fields(set_id)
                    )
                ),
            )
            return MissingItem(
                key,
                fact_key,
                f"{fact_key} {need}",
                reader.cite(leaf),
                leaf,
                fact.ask,
                cost,
                words=_fact_words(fact.means, fact.type.kind, fact.unit, need, value),
                plain=_plain_need(fact.means, fact.type.kind, fact.unit, need, value),
                values=(str(value),) if fact.type.kind != "number" else (),
            )
        case Fill(record=record, field=field_name, value=value):
            record_def = vocabulary.record(record.kind)
            assert record_def is not None
            field_def = record_def.field(field_name)
            assert field_def is not None
            need = _value_need(
                compiled.field_classes.get((record.kind, field_name)), value, field_def.type
            )
            leaf = _criterion_for(
                reader,
                scope,
                statuses,
                lambda info: (
                    (set_id := info.set_id()) is not None
                    and compiled.record_sets[set_id].kind == record.kind
                    and field_name in compiled.condition_fields(set_id)
                ),
            )
            field_words = _fact_words(
                field_def.means, field_def.type.kind, field_def.unit, need, value
            )
            return MissingItem(
                key,
                record.kind,
                f"{field_name} {need} on {reader.record_phrase(record)}",
                reader.cite(leaf),
                leaf,
                field_def.ask,
                cost,
                words=f"on {reader.record_phrase(record)}"
                + (f" ({field_words})" if field_words.startswith("needed:") else ""),
                plain=_plain_need(field_def.means, field_def.type.kind, field_def.unit, need, value)
                + f", on {reader.record_phrase(record)}",
                on_record=_record_ask(reader, record, field_def),
            )
        case MoreDays(node=node_id):
            records = compiled.nodes[node_id].records_leaf()
            record_set = compiled.record_sets[records.set_id]
            record_def = vocabulary.record(record_set.kind)
            assert record_def is not None
            covered = snapshot.days(World.HYP, node_id)
            days = max(snapshot.need_days(node_id, records.minimum) - covered, 1)
            need = f"{plural(days, 'more day')} of {record_set.label} {reader.window_text(records.window, records.window_months)}"
            start = reader.window_start(records.window, records.window_months)
            period = (
                f"between {start.isoformat()} and {reader.case.date.isoformat()}"
                if start is not None
                else f"up to {reader.case.date.isoformat()}"
            )
            words = f"{plural(days, 'more day')} of {lower_first(record_set.label)}, {period}"
            return MissingItem(
                key,
                record_set.kind,
                need,
                reader.cite(node_id),
                node_id,
                record_def.ask,
                cost,
                words=words,
                send=True,
                plain=words,
            )
        case More(set_id=set_id, ordinal=ordinal):
            record_set = compiled.record_sets[set_id]
            record_def = vocabulary.record(record_set.kind)
            assert record_def is not None
            # Of the counts the record serves (its set or a broader one), one over its own set
            # first.
            node_id = _criterion_for(
                reader,
                scope,
                statuses,
                lambda info: (
                    (leaf_set := info.set_id()) is not None
                    and compiled.may_count_for(set_id, leaf_set)
                ),
                prefer=lambda info: info.set_id() == set_id,
            )
            info = compiled.nodes[node_id]
            # A record of a set the criterion's records are ordered against is not one of them.
            leaf_set = info.set_id()
            own = leaf_set is not None and compiled.may_count_for(set_id, leaf_set)
            separate = own and info.counts_dates()
            apart = info.records_leaf().apart if separate else None
            wanted = sum(
                1
                for other in snapshot.items()
                if isinstance(other, More) and other.set_id == set_id
            )
            own_date = ", on a date of its own" if separate else ""
            if apart:
                own_date += f", at least {apart} days from the other dates counted"
            need = f"{record_set.kind} {ordinal} of {wanted} more: {record_set.label}{own_date}"
            return MissingItem(
                key,
                record_set.kind,
                need,
                reader.cite(node_id),
                node_id,
                record_def.ask,
                cost,
                record_set.label
                + (f", at least {apart} days apart" if apart else "")
                + (", each on a date of its own" if separate else ""),
                words=_sided(lower_first(record_set.label), _side_of(reader, snapshot)),
                send=True,
            )
    assert_never(item)


def _record_ask(reader: Reader, record: RecordRef, field_def: FieldDef) -> RecordAsk | None:
    """A yes/no or choice field of a documented record, asked once whatever value serves (a
    number's value needed is part of what is asked, so it is asked as it is)."""
    kind = field_def.type.kind
    if kind not in ("bool", "choice"):
        return None
    phrase = reader.record_phrase(record).removeprefix("the ")
    noun, _, date = phrase.rpartition(" of ")
    if not noun:
        noun, date = phrase, ""
    found = reader.case.record(record.kind, record.index)
    values = found.values if found is not None else {}
    if "modality" in values and "region" in values:  # "the X-ray of the hip of 2026-01-20"
        noun = f"{plain_words(str(values['modality']))} of the {plain_words(str(values['region']))}"
    elif noun.endswith("imaging"):
        noun = noun.removesuffix("imaging") + "study"
    if kind == "bool":
        question = field_def.ask.rstrip(". ") or f"Document whether: {lower_first(field_def.means)}"
        choices = ""
    else:
        question = f"Document {definite(lower_first(field_def.means))}"
        choices = _either([_value_name(v) for v in field_def.type.values])
    return RecordAsk(
        f"{record.kind} {record.index + 1}", field_def.name, noun, date, question, choices
    )


_ARTICLES = ("the ", "a ", "an ")


def definite(phrase: str) -> str:
    """A field's meaning with "the" before it, unless it already begins with an article ("the
    result of the test" stays as it is; "side of the joint injected" becomes "the side ...")."""
    return phrase if phrase.lower().startswith(_ARTICLES) else f"the {phrase}"


def _value_name(value: str) -> str:
    """A choice in a letter: a record of both joints is "both joints", not "bilateral"."""
    return "both joints" if value == BOTH_SIDES else value


def _fact_words(means: str, kind: str, unit: str | None, need: str, value: Value) -> str:
    """What a criterion asks of a fact, in words: "" for a yes/no finding (its question says
    it), "pain intensity on a 0-10 scale: 5 or more points", "side of the SI joint to be fused:
    left"."""
    if kind == "bool":
        return ""
    if kind == "number":
        return "needed: " + _range_words(need, unit)
    return plain_words(str(value))


def _plain_need(means: str, kind: str, unit: str | None, need: str, value: Value) -> str:
    """What a fact must show, for a reviewer: "The pain radiates: no", "Pain intensity on a
    0-10 scale: 5 or more points", "Side of the SI joint to be fused: left"."""
    if kind == "bool":
        return f"{means}: {'yes' if value == 'true' else 'no'}"
    if kind == "number":
        return f"{means}: {_range_words(need, unit)}"
    return f"{means}: {plain_words(str(value))}"


def _range_words(need: str, unit: str | None) -> str:
    """`>= 5`, `<= 3`, `= 2`, `1 to 4` (a value class) in words, with the unit: "6 months or
    more", "75% or more"."""

    def amount(number: str) -> str:
        if not unit:
            return number
        return f"{number}{unit}" if unit == "%" else f"{number} {unit}"

    for sign, words in ((">= ", "{} or more"), ("<= ", "{} or less"), ("= ", "{}")):
        if need.startswith(sign):
            return words.format(amount(need[len(sign) :]))
    low, _, high = need.partition(" to ")
    return f"from {low} to {amount(high)}" if high else need


def _side_of(reader: Reader, model: Snapshot) -> str | None:
    """The requested side: as documented, or as the missing set supposes it."""
    for other in model.items():
        if isinstance(other, Guess) and other.fact.key == "request.side":
            return str(other.value)
    side = reader.case.request.get("side")
    return str(side) if side is not None else None


def _sided(label: str, side: str | None) -> str:
    """A record set "of that side" names the side: "left hip radiograph"."""
    requested = " of the requested side or of both joints"
    if requested in label and side is not None:
        # The side is known (documented, or supposed by the set): the joint it names.
        joint = (
            "of both joints" if side == "bilateral" else f"of the {side} joint or of both joints"
        )
        return label.replace(requested, f" {joint}")
    marker = " of that side"
    if marker not in label or side is None:
        return label
    if side == "bilateral":
        return label.replace(marker, " of each side")
    return f"{side} " + label.replace(marker, "")


def _criterion_for(
    reader: Reader,
    scope: tuple[str, ...],
    statuses: dict[str, Status],
    wanted: Callable[[NodeInfo], bool],
    prefer: Callable[[NodeInfo], bool] = lambda info: True,
) -> str:
    """The leaf a missing item is needed for: the first that `wanted` accepts.

    Leaves under criteria that are all still open come first (a member of a criterion already
    met is not what the item is for), and among them those `prefer` accepts.
    """
    compiled = reader.compiled

    def leaves(nodes: list[str]) -> list[str]:
        return [n for n in nodes if compiled.nodes[n].leaf and wanted(compiled.nodes[n])]

    open_nodes = _subtree(reader, scope, skip=lambda n: statuses.get(n) == Status.MET)
    found = leaves(open_nodes) or leaves(_subtree(reader, scope))
    found.sort(key=lambda n: not prefer(compiled.nodes[n]))
    return found[0] if found else scope[0]


def _value_need(classes: tuple[ValueClass, ...] | None, value: Value, value_type) -> str:
    if isinstance(value, int) and classes:
        chosen = next((c for c in classes if c.representative == value), None)
        if chosen is not None:
            assert value_type.low is not None and value_type.high is not None
            return chosen.describe(scaled(value_type.low), scaled(value_type.high))
        return f"= {unscaled(value)}"
    return f"= {value}"


def _subtree(
    reader: Reader, roots: tuple[str, ...], skip: Callable[[str], bool] = lambda node: False
) -> list[str]:
    """The nodes under `roots`, depth first in policy order, leaving out `skip` ones and below."""
    order: list[str] = []
    seen: set[str] = set()
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in seen or skip(node):
            continue
        seen.add(node)
        order.append(node)
        stack.extend(reversed(reader.compiled.nodes[node].children))
    return order
