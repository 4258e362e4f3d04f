"""Lint that proves: questions about a policy, decided by clingo over every case it allows.

The compiled policy's facts are read with `encodings/prove.lp`, where one model is one case:
each finding and request field undocumented or one value of its domain (numbers one per class of
values the policy's comparisons tell apart) and one hypothetical record per record filter. What
no model allows, no case can show: a criterion no case meets, a service whose criteria conflict,
an exclusion that always or never applies, a criterion implied by another, a count no window can
hold. Each finding is a diagnostic on the text an author wrote, with the minimal conflicting
conditions (an unsatisfiable core, shrunk until none can be dropped) or a witness case; the
solver that answers the questions is `prover.py`.

A diagnostic is silenced by a comment on its line naming its code: `# lint: allow CODE`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

import clingo

from ..core.diagnostics import Code, Diagnostic, Severity
from ..core.kinds import NodeKind
from ..core.source import SourceText, Span
from ..core.units import unscaled, value_term
from ..language import ast
from ..language.compiler import (
    CmpCondition,
    FactLeaf,
    InCondition,
    MatchesCondition,
    RecordsLeaf,
    fact_term,
    value_classes,
)
from ..language.semantics import ValueType
from ..policies.loaded import LoadedPolicy
from ..solve.case_facts import months_before
from .prover import Assumption, Parts, Prover, sym

_Item = TypeVar("_Item")
_ALLOW = re.compile(r"#.*\blint:\s*allow\s+([a-z][a-z-]*(?:[\s,]+[a-z][a-z-]*)*)")


# ------------------------------------------------------------------ where each node was written
@dataclass(frozen=True)
class _Located:
    """A node of the compiled tree and the text it came from."""

    id: str
    span: Span  # the whole item, for the caret
    body: ast.Expr  # its condition, quoted in messages
    name: str | None  # the id an author gave it, if any
    role: str  # criterion, definition, exclusion or member


@dataclass
class _Map:
    nodes: dict[str, _Located] = field(default_factory=dict)
    filters: dict[str, ast.RecordFilter] = field(default_factory=dict)
    filter_sets: dict[str, str] = field(default_factory=dict)  # filter -> its set

    def add_set(self, set_id: str, records: ast.RecordSet) -> None:
        for index, part in enumerate(records.parts, start=1):
            if isinstance(part, ast.RecordFilter) and part.all_conditions:
                self.filters[f"{set_id}_f{index}"] = part
                self.filter_sets[f"{set_id}_f{index}"] = set_id


def _locate(loaded: LoadedPolicy) -> _Map:
    policy, compiled = loaded.policy, loaded.compiled
    found = _Map()
    for decl in policy.record_sets:
        found.add_set(decl.name, decl.records)

    def walk(node_id: str, body: ast.Expr, span: Span, name: str | None, role: str) -> None:
        if node_id in found.nodes or node_id not in compiled.nodes:
            return
        found.nodes[node_id] = _Located(node_id, span, body, name, role)
        info = compiled.nodes[node_id]
        if isinstance(body, ast.Combinator):
            for child_id, member in zip(info.children, body.members, strict=True):
                if isinstance(member, ast.Criterion):
                    walk(child_id, member.body, member.span, member.name, "member")
                elif not isinstance(member, ast.Reference):
                    walk(child_id, member, member.span, None, "member")
        elif (
            isinstance(body, ast.CountRecords)
            and isinstance(info.leaf, RecordsLeaf)
            and policy.record_set(info.leaf.set_id) is None
        ):
            found.add_set(info.leaf.set_id, body.records)

    for define in policy.defines:
        walk(define.name, define.body, define.span, define.name, "definition")
    for _, criterion in policy.criteria:
        walk(criterion.name, criterion.body, criterion.span, criterion.name, "criterion")
    for _, criterion in policy.exclusions:
        walk(criterion.name, criterion.body, criterion.span, criterion.name, "exclusion")
    return found


# ------------------------------------------------------------------ the domain of every case
def _fact_domain(value_type: ValueType, thresholds: set[tuple[str, int]]) -> list[str] | None:
    if value_type.kind == "bool":
        return ["true", "false"]
    if value_type.kind == "choice":
        return [value_term(v) for v in value_type.values]
    if value_type.kind == "number" and value_type.low is not None and value_type.high is not None:
        return [str(c.representative) for c in value_classes(value_type, thresholds)]
    return None  # dates and lists: leaves on them are left free


@cache
def _month_days(months: int) -> int:
    """The most days a window of `months` calendar months back, request day included, can hold."""
    start = dt.date(2000, 1, 1)
    return max(
        (day - months_before(day, months)).days + 1
        for day in (start + dt.timedelta(days=n) for n in range(4 * 366))
    )


def _date_cap(part: ast.RecordFilter) -> int | None:
    """How many distinct days the records of a filter may fall on, if its `date` is windowed."""
    caps = [
        _month_days(int(c.number)) if c.months else int(c.number) + 1
        for c in part.all_conditions
        if c.operator == "within" and c.field == "date" and c.number is not None
    ]
    return min(caps) if caps else None


def _domain_facts(loaded: LoadedPolicy, located: _Map) -> str:
    policy, compiled = loaded.policy, loaded.compiled
    vocabulary = policy.vocabulary
    keys: dict[str, set[tuple[str, int]]] = {}
    leaves_on: dict[str, list[str]] = {}
    for info in compiled.nodes.values():
        if isinstance(info.leaf, FactLeaf):
            thresholds = keys.setdefault(info.leaf.key, set())
            leaves_on.setdefault(info.leaf.key, []).append(info.id)
            if info.leaf.operator is not None and info.leaf.threshold is not None:
                thresholds.add((str(info.leaf.operator), info.leaf.threshold))
    field_thresholds: dict[tuple[str, str], set[tuple[str, int]]] = {}
    for record_set in compiled.record_sets.values():
        for conditions in record_set.filters:
            for condition in conditions:
                if isinstance(condition, MatchesCondition):
                    keys.setdefault(condition.target, set())
                if isinstance(condition, (InCondition, CmpCondition, MatchesCondition)):
                    pool = field_thresholds.setdefault((record_set.kind, condition.field), set())
                    if isinstance(condition, CmpCondition):
                        pool.add((str(condition.operator), condition.threshold))
    lines: list[str] = []
    for key, thresholds in sorted(keys.items()):
        scope, _, name = key.rpartition(".")
        fact = vocabulary.fact("request" if scope else "finding", name)
        domain = _fact_domain(fact.type, thresholds) if fact is not None else None
        if fact is None or domain is None:
            lines += [f"free_leaf({node})." for node in leaves_on.get(key, [])]
            if fact is not None:
                lines.append(f"free_fact({fact_term(fact.scope, fact.name)}).")
            continue
        term = fact_term(fact.scope, fact.name)
        lines += [f"dom({term}, {value})." for value in domain]
        if fact.required:
            lines.append(f"required_fact({term}).")
    for (kind, field_name), thresholds in sorted(field_thresholds.items()):
        record = vocabulary.record(kind)
        field_def = record.field(field_name) if record is not None else None
        domain = _fact_domain(field_def.type, thresholds) if field_def is not None else None
        if domain is None:
            lines.append(f"free_field({kind}, {field_name}).")
            continue
        lines += [f"fdom({kind}, {field_name}, {value})." for value in domain]
    for filter_id, part in located.filters.items():
        cap = _date_cap(part)
        if cap is not None:
            lines.append(f"date_cap({filter_id}, {cap}).")
    for info in compiled.nodes.values():
        if isinstance(info.leaf, RecordsLeaf) and info.leaf.unit == "days":
            if info.leaf.window_months:
                lines.append(f"days_cap({info.id}, {_month_days(info.leaf.window_months)}).")
            elif info.leaf.window:
                lines.append(f"days_cap({info.id}, {info.leaf.window + 1}).")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the solver
def _shown(value: clingo.Symbol) -> str:
    """A value of a model as a case writes it (numbers are scaled by 100 in the program)."""
    if value.type == clingo.SymbolType.Number:
        return str(unscaled(value.number))
    return value.string if value.type == clingo.SymbolType.String else str(value)


# ------------------------------------------------------------------ the checks
@dataclass
class _Lint:
    loaded: LoadedPolicy
    located: _Map
    prover: Prover  # the whole program
    parts: Parts  # its parts, for questions about a few nodes
    found: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, SourceText] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sources = {s.path: s for s in self.loaded.sources}

    def each_sat(
        self,
        items: Sequence[_Item],
        prover_of: Callable[[_Item], Prover],
        question: Callable[[_Item], tuple[Assumption, clingo.Symbol]],
    ) -> list[bool]:
        """`Prover.each_sat` of each item's question, asked of the part the item lies in."""
        asked: dict[int, tuple[Prover, list[int]]] = {}
        for index, item in enumerate(items):
            prover = prover_of(item)
            asked.setdefault(id(prover), (prover, []))[1].append(index)
        answers = [False] * len(items)
        for prover, indexes in asked.values():
            found = prover.each_sat([question(items[i]) for i in indexes])
            for index, met in zip(indexes, found, strict=True):
                answers[index] = met
        return answers

    # -- words
    def quote(self, span: Span) -> str:
        source = self.sources.get(span.path)
        if source is None:
            return "?"
        line = source.line(span.line)
        if span.end_line == span.line:
            return " ".join(line[span.column - 1 : span.end_column - 1].split())
        return " ".join(line[span.column - 1 :].split()) + " ..."

    def describe(self, node_id: str) -> str:
        where = self.located.nodes.get(node_id)
        if where is None:
            return f"'{node_id}'"
        if where.name is not None:
            return f"'{where.name}' (line {where.span.line})"
        return f"`{self.quote(where.body.span)}` (line {where.span.line})"

    def conditions(self, leaves: Iterable[str]) -> str:
        return ", ".join(self.describe(n) for n in leaves)

    def emit(
        self, code: Code, span: Span, message: str, hint: str | None = None, error: bool = True
    ) -> None:
        severity = Severity.ERROR if error else Severity.WARNING
        self.found.append(Diagnostic(code, message, span, severity, hint))

    # -- the tree
    def leaves(self, roots: Iterable[str]) -> list[str]:
        nodes = self.loaded.compiled.nodes
        found: list[str] = []
        pending, seen = list(roots), set()
        while pending:
            node = pending.pop(0)
            if node in seen or node not in nodes:
                continue
            seen.add(node)
            if nodes[node].kind == NodeKind.LEAF:
                found.append(node)
            pending += nodes[node].children
        return found

    def leaf_core(
        self, goal: Sequence[Assumption], roots: Iterable[str], prover: Prover | None = None
    ) -> list[str]:
        candidates = [(sym("relax", n), False) for n in self.leaves(roots)]
        core = (prover or self.prover).core(goal, candidates) or []
        return [str(symbol.arguments[0].name) for symbol, _ in core]

    def witness(self, symbols: Sequence[clingo.Symbol], roots: Iterable[str]) -> str:
        """The part of a model that the nodes under `roots` read, as a case would document it."""
        compiled = self.loaded.compiled
        leaves = self.leaves(roots)
        keys = {compiled.nodes[n].fact_key() for n in leaves}
        sets = {s for s in (compiled.nodes[n].set_id() for n in leaves) if s is not None}
        keys |= {t for s in sets for t in compiled.matched_request_fields(s)}
        filters = {f for f in self.located.filters if any(self._in_set(f, s) for s in sets)}
        facts: list[str] = []
        fields: dict[str, list[str]] = {}
        for symbol in symbols:
            if symbol.name == "val":
                term, value = symbol.arguments
                key = f"request.{term.arguments[0].name}" if term.name == "request" else term.name
                if key in keys:
                    facts.append(f"{key} = {_shown(value)}")
            elif symbol.name == "rec" and str(symbol.arguments[0]) in filters:
                fields.setdefault(str(symbol.arguments[0]), [])
            elif symbol.name == "rv" and str(symbol.arguments[0]) in filters:
                _, name, value = symbol.arguments
                fields.setdefault(str(symbol.arguments[0]), []).append(f"{name} = {_shown(value)}")
        records = []
        for filter_id, values in sorted(fields.items()):
            part = self.located.filters[filter_id]
            values += [
                f"{c.field} has {c.values[0]}" for c in part.all_conditions if c.operator == "has"
            ]
            values += [
                f"{c.field} within the window"
                for c in part.all_conditions
                if c.operator == "within"
            ]
            article = "an" if part.kind[:1] in "aeiou" else "a"
            records.append(f"{article} {part.kind} record with " + ", ".join(sorted(values)))
        found = sorted(facts) + records
        return "; ".join(found) if found else "nothing documented"

    # -- 1: contradictions
    def check_filters(self) -> set[str]:
        dead: set[str] = set()
        filters = list(self.located.filters)
        answers = self.each_sat(
            filters, self.parts.for_filter, lambda f: ((sym("want_rec", f), True), sym("rec", f))
        )
        for filter_id, met in zip(filters, answers, strict=True):
            part = self.located.filters[filter_id]
            goal = [(sym("want_rec", filter_id), True)]
            if met:
                continue
            dead.add(filter_id)
            numbers = range(1, len(part.all_conditions) + 1)
            candidates = [(sym("relax_cond", filter_id, i), False) for i in numbers]
            core = self.parts.for_filter(filter_id).core(goal, candidates) or []
            named = [part.all_conditions[s.arguments[1].number - 1] for s, _ in core]
            listed = ", ".join(f"`{self.quote(c.span)}` (line {c.span.line})" for c in named)
            self.emit(
                Code.CONTRADICTORY_FILTER,
                part.span,
                f"no {part.kind} record can meet this filter: {listed} cannot all hold",
                "every count over this filter can never be met; correct the conditions",
            )
        return dead

    def check_nodes(self, dead_filters: set[str]) -> set[str]:
        compiled = self.loaded.compiled
        nodes = list(self.located.nodes)
        answers = self.each_sat(
            nodes, self.parts.for_node, lambda n: ((sym("want", n), True), sym("holds", n))
        )
        unmeetable = {n for n, met in zip(nodes, answers, strict=True) if not met}
        for node_id, where in self.located.nodes.items():
            if node_id not in unmeetable:
                continue
            info = compiled.nodes[node_id]
            if any(c in unmeetable for c in info.children):
                continue  # the cause is reported on the child
            goal = [(sym("want", node_id), True)]
            if isinstance(info.leaf, RecordsLeaf):
                mine = [f for f in self.located.filters if self._in_set(f, info.leaf.set_id)]
                if mine and all(f in dead_filters for f in mine):
                    continue
                self.emit(
                    Code.UNREACHABLE_COUNT,
                    where.span,
                    f"{self.describe(node_id)} can never be met: {self._room(info.leaf, mine)}",
                )
                continue
            core = self.leaf_core(goal, [node_id], self.parts.for_node(node_id))
            conflict = f"the conditions that conflict: {self.conditions(core)}" if core else None
            if where.role == "exclusion":
                self.emit(
                    Code.EXCLUSION_NEVER,
                    where.span,
                    f"no case can trigger exclusion {self.describe(node_id)}",
                    conflict,
                )
            elif info.kind == NodeKind.AT_LEAST:
                self.emit(
                    Code.IMPOSSIBLE_GROUP,
                    where.span,
                    f"fewer than {info.minimum} members of {self.describe(node_id)} can hold "
                    "together: no case can meet it",
                    conflict,
                )
            else:
                self.emit(
                    Code.CONTRADICTORY,
                    where.span,
                    f"no case can meet {where.role} {self.describe(node_id)}",
                    conflict,
                )
        return unmeetable

    def _room(self, leaf: RecordsLeaf, filters: list[str]) -> str:
        """Why a count or duration cannot be reached, in words."""
        if leaf.unit == "latest":
            return "no record of its set can be documented"
        if leaf.unit == "days":
            window = (
                f"{leaf.window_months} calendar months"
                if leaf.window_months
                else f"{leaf.window} days"
            )
            days = _month_days(leaf.window_months) if leaf.window_months else (leaf.window or 0) + 1
            return (
                f"a window of {window} holds at most {days} days, request day included, "
                f"not {leaf.minimum}"
            )
        caps = [_date_cap(self.located.filters[f]) for f in filters]
        most = max((c for c in caps if c is not None), default=0)
        if leaf.apart:
            return (
                f"its records fall within a date window of at most {most} days, so never on "
                f"{leaf.minimum} dates at least {leaf.apart} days apart (the first and the last "
                f"{(leaf.minimum - 1) * leaf.apart} days apart)"
            )
        return (
            f"its records fall within a date window of at most {most} days, so never on "
            f"{leaf.minimum} separate dates"
        )

    def _in_set(self, filter_id: str, set_id: str) -> bool:
        record_sets = self.loaded.compiled.record_sets
        pending, seen = [set_id], set()
        while pending:
            current = pending.pop()
            if current in seen or current not in record_sets:
                continue
            seen.add(current)
            if self.located.filter_sets.get(filter_id) == current:
                return True
            pending += record_sets[current].includes
        return False

    # -- 2: services
    def check_services(self, unmeetable: set[str]) -> None:
        compiled = self.loaded.compiled
        for service in self.loaded.policy.services:
            tops = compiled.top.get(service.name, ())
            if not tops or any(t in unmeetable for t in tops):
                continue
            wanted = [(sym("want", t), True) for t in tops]
            core = self.prover.core([], wanted)
            if core is None:
                continue
            criteria = [str(s.arguments[0].name) for s, _ in core]
            leaves = self.leaf_core([(sym("want", c), True) for c in criteria], criteria)
            self.emit(
                Code.UNMEETABLE_SERVICE,
                service.span,
                f"no case can meet the criteria of {service.name} together, though each one "
                f"can: {self.conditions(criteria)} exclude each other",
                None
                if set(leaves) <= set(criteria)
                else f"the conditions that conflict: {self.conditions(leaves)}",
            )

    # -- 3: exclusions
    def check_exclusions(self, unmeetable: set[str]) -> None:
        compiled = self.loaded.compiled
        for service in self.loaded.policy.services:
            tops = [t for t in compiled.top.get(service.name, ()) if t not in unmeetable]
            before = len(self.found)
            live: list[str] = []
            for exclusion in compiled.exclusions.get(service.name, ()):
                where = self.located.nodes.get(exclusion)
                if where is None or exclusion in unmeetable:
                    continue
                never = [(sym("want_not", exclusion), True)]
                if not self.prover.sat(never):
                    core = self.leaf_core(never, [exclusion])
                    self.emit(
                        Code.EXCLUSION_ALWAYS,
                        where.span,
                        f"exclusion {self.describe(exclusion)} holds for every case: no request "
                        f"for {self.excluded_services(exclusion)} can be approved",
                        f"the conditions that always hold: {self.conditions(core)}"
                        if core
                        else None,
                    )
                    continue
                live.append(exclusion)
                for top in tops:
                    wanted = [(sym("want", top), True)]
                    if self.prover.sat(wanted + never):
                        continue
                    meets = self.prover.model(wanted)
                    if meets is None:
                        continue
                    self.emit(
                        Code.EXCLUSION_BLOCKS,
                        where.span,
                        f"exclusion {self.describe(exclusion)} applies to every case that meets "
                        f"criterion {self.describe(top)}: {self.blocked(top, exclusion)} can "
                        "never be approved",
                        f"a case meeting the criterion, which this exclusion excludes: "
                        f"{self.witness(meets, [top, exclusion])}",
                    )
                    break
            if len(self.found) == before and live and len(tops) == len(compiled.top[service.name]):
                self._check_all_excluded(service, tops, live)

    def _check_all_excluded(self, service: ast.ServiceDecl, tops: list[str], live: list[str]):
        """Every case meeting all the criteria together is excluded by some exclusion."""
        wanted = [(sym("want", t), True) for t in tops]
        meets = self.prover.model(wanted)
        if meets is None:
            return  # reported as unmeetable-service
        core = self.prover.core(wanted, [(sym("want_not", x), True) for x in live])
        if not core:
            return
        exclusions = [str(symbol.arguments[0].name) for symbol, _ in core]
        self.emit(
            Code.EXCLUSION_BLOCKS,
            service.span,
            f"every case that meets the criteria of {service.name} is excluded by "
            f"{self.conditions(exclusions)}: it can never be approved",
            "a case meeting the criteria, which is excluded: "
            f"{self.witness(meets, [*tops, *exclusions])}",
        )

    def blocked(self, top: str, exclusion: str) -> str:
        compiled = self.loaded.compiled
        return " or ".join(
            s
            for s, tops in compiled.top.items()
            if top in tops and exclusion in compiled.exclusions.get(s, ())
        )

    def excluded_services(self, exclusion: str) -> str:
        services = self.loaded.compiled.exclusions
        return " or ".join(s for s, found in services.items() if exclusion in found)

    # -- 4: redundancy
    def groups(self) -> list[tuple[clingo.Symbol, tuple[str, ...], bool]]:
        """Members that must all hold: each service's criteria, each `all of`'s members (with
        True: they lie under one tree)."""
        compiled = self.loaded.compiled
        found = [
            (clingo.Function("criteria", [clingo.Function(s)]), tuple(tops), False)
            for s, tops in compiled.top.items()
        ]
        found += [
            (clingo.Function(n), compiled.nodes[n].children, True)
            for n in self.located.nodes
            if compiled.nodes[n].kind == NodeKind.ALL
        ]
        return found

    def check_redundant(self, unmeetable: set[str]) -> None:
        reported: set[str] = set()
        for group, members, local in self.groups():
            home = self.parts.for_node(group.name) if local else self.prover
            hold = (clingo.Function("hold_group", [group]), True)
            if any(m in unmeetable for m in members):
                continue  # a conflict, reported as such
            # A case meeting every member, kept whole where the policy has several parts: a
            # member's question may change it only where the member reads (Parts.as_in).
            case: set[clingo.Symbol] | None = None
            if local or self.parts.single:
                if not home.sat([hold]):
                    continue
            else:
                case = home.atoms([hold])
                if case is None:
                    continue
            candidates = [m for m in members if m in self.located.nodes and m not in reported]
            set_aside: set[str] = set()
            # The later of two equal members is the one reported; once reported, a member is
            # set aside (no longer required), so that what remains still implies everything
            # set aside.
            for member in sorted(candidates, key=self._line, reverse=True):
                others = [m for m in members if m != member and m not in set_aside]
                core = self.implying(member, others, home if local else None, case)
                if core is None:
                    continue
                set_aside.add(member)
                reported.add(member)
                self.report_redundant(member, core)

    def implying(
        self,
        member: str,
        others: list[str],
        home: Prover | None,
        case: set[clingo.Symbol] | None = None,
    ) -> list[Assumption] | None:
        """A fewest set of the others that implies the member (a minimal core of the solver's),
        or None when the others hold in some case where the member does not.

        Asked first of each part that holds the member, with the others that part holds: the
        criteria that read what the member reads, where an implication mostly lies. A core
        there is a core of the whole program (the part's program is the whole one's for those
        nodes). When none is found and one part holds every tree reading what the member reads,
        a case changed from `case` (one meeting every member) only there may show the member
        not implied. Else the whole program decides; a core it finds is shrunk in a program of
        the criteria it names, or when it names many, looked for again over the parts' trees
        together."""
        goal = [(sym("want_not", member), True)]

        def wanted(names: Iterable[str]) -> list[Assumption]:
            return [(sym("want", o), True) for o in names]

        if home is not None:
            return home.core(goal, wanted(others))
        near: set[str] = set()
        for prover, held in self.parts.around(member):
            core = prover.core(goal, wanted(o for o in others if o in held))
            if core is not None:
                return core
            if held.issuperset(others):
                return None  # the part held every other member: no case was left out
            near |= held
        # When one part holds every tree that reads what the member reads: a case where the
        # others hold and the member does not, found in that part with every other piece as
        # in the case meeting every member, is such a case of the whole program (the trees
        # outside the part read only pieces left as they were, where they hold).
        part = self.parts.one_part(member)
        if part is not None and case is not None:
            prover, held = part
            kept = self.parts.as_in(prover, case, member)
            if prover.sat(goal + wanted(o for o in others if o in held), kept):
                return None
        # The criteria the parts held first: the solver meets a conflict among them early, and
        # names them rather than most of the criteria.
        ordered = [o for o in others if o in near] + [o for o in others if o not in near]
        found = self.prover.conflict(goal, wanted(ordered))
        if not found:
            return found
        # The solver's core names a few criteria, or (when its conflict came late) most of them:
        # then the parts' trees together are the smaller program to shrink it in.
        union = self.parts.union(member) if len(found) > self.parts.BUDGET // 2 else None
        if union is not None:
            core = union[0].core(goal, wanted(o for o in others if o in union[1]))
            if core is not None:
                return core
        named = [str(symbol.arguments[0].name) for symbol, _ in found]
        return self.parts.for_nodes([member, *named]).core(goal, found)

    def report_redundant(self, member: str, core: list[Assumption]) -> None:
        implying = [str(symbol.arguments[0].name) for symbol, _ in core]
        together = " together" if len(implying) > 1 else ""
        self.emit(
            Code.REDUNDANT_CRITERION,
            self.located.nodes[member].span,
            f"{self.describe(member)} is implied by {self.conditions(implying)}{together}: "
            "every case that meets them meets it too"
            if len(implying) > 1
            else f"{self.describe(member)} is implied by {self.conditions(implying)}: "
            "every case that meets the latter meets it too",
            error=False,
        )

    def _line(self, node_id: str) -> int:
        return self.located.nodes[node_id].span.line

    def check_never_matters(self, unmeetable: set[str]) -> None:
        compiled = self.loaded.compiled
        groups = [
            (clingo.Function(n), compiled.nodes[n].children, "member")
            for n in self.located.nodes
            if compiled.nodes[n].kind == NodeKind.ANY
        ]
        groups += [
            (clingo.Function("exclusions", [clingo.Function(s)]), tuple(x), "exclusion")
            for s, x in compiled.exclusions.items()
        ]
        asked = [
            (group, member, what)
            for group, members, what in groups
            if len(members) > 1
            for member in members
            if member in self.located.nodes and member not in unmeetable
        ]

        def question(item: tuple[clingo.Symbol, str, str]) -> tuple[Assumption, clingo.Symbol]:
            group, member = item[0], clingo.Function(item[1])
            return (
                (clingo.Function("alone", [group, member]), True),
                clingo.Function("lone", [group, member]),
            )

        def prover_of(item: tuple[clingo.Symbol, str, str]) -> Prover:
            return self.prover if item[2] == "exclusion" else self.parts.for_node(item[0].name)

        for (_, member, what), met in zip(
            asked, self.each_sat(asked, prover_of, question), strict=True
        ):
            if not met:
                self.emit(
                    Code.NEVER_MATTERS,
                    self.located.nodes[member].span,
                    f"{what} {self.describe(member)} never matters: whenever it holds, another "
                    f"{what} of its group holds too",
                    error=False,
                )


def _program(loaded: LoadedPolicy, located: _Map) -> str:
    return loaded.compiled.program + _domain_facts(loaded, located)


def prove(loaded: LoadedPolicy) -> list[Diagnostic]:
    """Every proven problem of a policy, suppressed ones left out."""
    located = _locate(loaded)
    whole = Prover(_program(loaded, located))
    lint = _Lint(loaded, located, whole, Parts(whole))
    dead_filters = lint.check_filters()
    unmeetable = lint.check_nodes(dead_filters)
    lint.check_services(unmeetable)
    lint.check_exclusions(unmeetable)
    lint.check_redundant(unmeetable)
    lint.check_never_matters(unmeetable)
    # An exclusion or criterion shared by services is reported once.
    unique: dict[tuple[str, Span | None, str], Diagnostic] = {}
    for d in lint.found:
        unique.setdefault((d.code, d.span, d.message if d.span is None else ""), d)
    return [d for d in unique.values() if not suppressed(d, lint.sources)]


def suppressed(diagnostic: Diagnostic, sources: dict[str, SourceText]) -> bool:
    """Whether the diagnostic's line carries `# lint: allow CODE` naming its code."""
    span = diagnostic.span
    source = sources.get(span.path) if span is not None else None
    if span is None or source is None:
        return False
    match = _ALLOW.search(source.line(span.line))
    return match is not None and str(diagnostic.code) in re.split(r"[\s,]+", match.group(1))
