"""Semantic diff of two policies (or two versions of one): the criteria that decide some case
differently, each with a minimal witness case, found and checked by the solver.

For each service, cases are built from the solver's minimal sets of missing documentation
(`witness.Writer` turns them into case files) and judged under both policies:

1. each minimal completion of the bare request (and of a request of each side) under one
   policy, and each that does without one of its criteria, judged under the other;
2. a case approvable under both (one policy's completion completed under the other), varied one
   documented item at a time: left out, another value (each threshold of either policy), its
   dates moved before each time window of either policy;
3. each exclusion made to hold (the fewest items, by the solver) on a request, then completed
   under the other policy;
4. the case approvable under both, without the facts a group of alternatives of one policy
   reads (the thigh thrust or the compression test), completed again under the other policy
   without them: a difference two changes away from that case.

A case that the two decide differently (any change of determination) is a witness. Witnesses are
grouped by what decides them (the criteria not met or not documented and the exclusions that
apply, under each policy); a group whose deciders contain a smaller group's, under both
policies, is dropped as showing nothing of its own. Each group's smallest witness (and its
smallest found by moving a record in time, which keeps that record) is made minimal: items are
left out one by one while both determinations and what decides them stay the same, each step
judged by the solver again. A service only one policy addresses is one difference, with one
witness.

The impact analysis replays the policy tests of the first policy under the second and lists the
tests whose determination changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import clingo

from ..cases.case import validate_case
from ..core.diagnostics import SijfaspError
from ..core.kinds import CountUnit, Determination, ExclusionStatus
from ..core.resources import encodings_dir
from ..language.compiler import CompiledPolicy, RecordsLeaf
from ..policies.loaded import LoadedPolicy
from ..results.explain import Reader, code_reasons, criteria_tree, exclusion_results
from ..solve.atoms import FactRef, Snapshot, item_key
from ..solve.case_facts import case_symbols
from ..solve.solver import ENCODING, Abducer, SolveError
from .diff_model import (
    CODE,
    COMPLETION,
    COMPLETIONS,
    EXCLUSION,
    JOINT_CASES,
    KEPT_REQUEST,
    LEFT_OUT,
    MOVED,
    NEWER,
    OTHER_VALUE,
    OTHERS_FACTS,
    SERVICE,
    SIDED_COMPLETIONS,
    WITHOUT,
    CaseData,
    Decider,
    Difference,
    Impact,
    Judgement,
    Report,
    Signature,
    Witness,
    case_key,
    count_items,
    fact_groups,
    failures,
    items_of,
    label,
    load_test_file,
    minimal_signatures,
    same,
    service_nodes,
    signature_of,
    test_file_for,
    unscaled,
    without,
    without_facts,
)
from .witness import Unwritable, Writer


# ------------------------------------------------------------------ judging a case
class Judge:
    """One policy: judges case data (cached), completes it, makes a node hold."""

    def __init__(self, loaded: LoadedPolicy):
        self.loaded = loaded
        self.writer = Writer(loaded.compiled, loaded.policy.vocabulary)
        self.unwritten: set[str] = set()
        self._cache: dict[str, Judgement | None] = {}
        # The solver's optimal model of each case, as raw symbols: most cases need only the
        # determination, and decoding the rest would double the time of a search.
        self._models: dict[str, tuple[Any, Sequence[clingo.Symbol]] | None] = {}

    def services(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.loaded.policy.services)

    def _case(self, data: CaseData) -> Any:
        return validate_case(copy.deepcopy(data), self.loaded.policy.vocabulary, "<witness>")

    def _model(self, key: str, data: CaseData) -> tuple[Any, Sequence[clingo.Symbol]] | None:
        if key not in self._models:
            try:
                case = self._case(data)
            except SijfaspError:
                self._models[key] = None
            else:
                self._models[key] = (case, _optimum(self.loaded.compiled, case_symbols(case)))
        return self._models[key]

    def determination(self, data: CaseData) -> Determination | None:
        """The determination alone; None for data this vocabulary refuses."""
        found = self._model(case_key(data), data)
        return None if found is None else _determination_of(found[1])

    def judge(self, data: CaseData) -> Judgement | None:
        """The determination and what decides it; None for data this vocabulary refuses."""
        key = case_key(data)
        if key not in self._cache:
            found = self._model(key, data)
            self._cache[key] = None if found is None else self._judge(*found)
        return self._cache[key]

    def _judge(self, case: Any, symbols: Sequence[clingo.Symbol]) -> Judgement:
        policy, compiled = self.loaded.policy, self.loaded.compiled
        snapshot = Snapshot.of(symbols)
        determination = snapshot.determination
        reader = Reader(policy, compiled, case)
        if determination == Determination.NOT_APPLICABLE:
            # The service is not declared, or the request's code is not one the service lists.
            why = code_reasons(reader)
            return Judgement(
                determination,
                (
                    Decider(
                        case.service,
                        policy.cite,
                        why[0] if why else "the service is not addressed by the policy",
                        "not addressed",
                    ),
                ),
            )
        if determination == Determination.APPROVABLE:
            return Judgement(determination, ())
        if determination == Determination.EXCLUDED:
            found = tuple(
                Decider(e.id, e.cite, e.label, "applies")
                for e in exclusion_results(reader, snapshot, case.service)
                if e.status == ExclusionStatus.APPLIES
            )
            return Judgement(determination, found)
        tree = criteria_tree(reader, snapshot, compiled.top.get(case.service, ()))
        failing = [d for node in tree for d in failures(node)]
        if determination == Determination.NOT_MET:
            # What cannot be met decides; what is merely not documented would not.
            failing = [d for d in failing if d.status == "not met"] or failing
        return Judgement(determination, tuple(failing))

    def completions(self, data: CaseData, limit: int) -> list[CaseData]:
        """Case data for each of the best `limit` minimal sets making the policy met."""
        try:
            case = self._case(data)
        except SijfaspError:
            return []
        found = Abducer(self.loaded.compiled, case_symbols(case)).minimal_sets(limit=limit)
        return self._written(data, [[item_key(i) for i in m.items()] for m in found.models])

    def searched_without(
        self, data: CaseData, fact_groups: Sequence[Sequence[str]]
    ) -> list[CaseData]:
        """For each group of facts (as a case writes them: vas_score, request.side), the case
        with the fewest items added that meet the policy without documenting any of them."""
        try:
            case = self._case(data)
        except SijfaspError:
            return []
        search = Search(self.loaded, case_symbols(case))
        found = [
            keys for group in fact_groups if (keys := search.fewest_without(group)) is not None
        ]
        return self._written(data, found)

    def searched(self, data: CaseData, nodes: Sequence[str], avoid: bool) -> list[CaseData]:
        """For each node, the case with the fewest items added that make it hold (or, with
        `avoid`, that meet the policy without it)."""
        try:
            case = self._case(data)
        except SijfaspError:
            return []
        search = Search(self.loaded, case_symbols(case))
        found = [keys for n in nodes if (keys := search.fewest(n, avoid)) is not None]
        return self._written(data, found)

    def _written(self, data: CaseData, sets: list[list[str]]) -> list[CaseData]:
        cases = []
        for keys in sets:
            try:
                cases.append(self.writer.apply(data, keys))
            except Unwritable as error:
                self.unwritten.add(str(error))
        return cases


_SEARCH = """
#program search.
#external hold(N) : node(N, _).
#external avoid(N) : node(N, _).
#external avoid_fact(F) : candidate(F, _).
avoiding :- avoid(_).
avoiding :- avoid_fact(_).
:- avoid_fact(F), guess(F, _).
:- hold(N), not holds(hyp, N).
:- avoid(N), holds(hyp, N).
:- avoiding, not reachable.
#minimize { 1@1, X : item(X) }.
"""


class Search:
    """One grounding of a policy with a case, to find the fewest items that make a node hold,
    or that meet the policy without a node."""

    def __init__(self, loaded: LoadedPolicy, facts: Sequence[clingo.Symbol]):
        control = clingo.Control(["--opt-mode=opt"], logger=lambda code, message: None)
        control.load(str(encodings_dir() / ENCODING))
        control.add("base", [], loaded.compiled.program)
        control.add("search", [], _SEARCH)
        with control.backend() as backend:
            for symbol in facts:
                backend.add_rule([backend.add_atom(symbol)])
        control.ground([("base", []), ("search", [])])
        self._control = control

    def fewest_without(self, keys: Sequence[str]) -> list[str] | None:
        """The fewest items that meet the policy without documenting any of these facts."""
        externals = [clingo.Function("avoid_fact", [FactRef.of_key(k).symbol()]) for k in keys]
        for external in externals:
            self._control.assign_external(external, True)
        try:
            return self._best()
        finally:
            for external in externals:
                self._control.assign_external(external, False)

    def _best(self) -> list[str] | None:
        best: list[Snapshot] = []

        def on_model(model: clingo.Model) -> None:
            best[:] = [Snapshot.of(model.symbols(shown=True))]

        self._control.solve(on_model=on_model)
        return [item_key(i) for i in best[0].items()] if best else None

    def fewest(self, node: str, avoid: bool = False) -> list[str] | None:
        external = clingo.Function("avoid" if avoid else "hold", [clingo.Function(node)])
        self._control.assign_external(external, True)
        try:
            return self._best()
        finally:
            self._control.assign_external(external, False)


# ------------------------------------------------------------------ the search
class Diff:
    def __init__(self, a: LoadedPolicy, b: LoadedPolicy, date: dt.date | None = None):
        self.a, self.b = Judge(a), Judge(b)
        self.date = date or max(a.policy.effective, b.policy.effective)
        # The record each moved-in-time case moved: its witness keeps it, or it would no
        # longer show the time window.
        self._moved: dict[str, tuple[str, dict[str, Any]]] = {}

    @functools.cached_property
    def _tested(self) -> dict[tuple[str, str], set[str]]:
        """The record fields a filter of either policy tests, with the values it names."""
        found: dict[tuple[str, str], set[str]] = {}
        for judge in (self.a, self.b):
            for filters in judge.writer.filters.own.values():
                for fl in filters:
                    for test, accepted in zip(fl.conditions, fl.values, strict=True):
                        named = found.setdefault((fl.kind, test.arguments[0].name), set())
                        named.update(accepted)
        return found

    def request(self, service: str, **fields: Any) -> CaseData:
        return {"id": "witness", "request": {"service": service, "date": self.date, **fields}}

    def judged(self, data: CaseData) -> tuple[Judgement, Judgement] | None:
        a, b = self.a.judge(data), self.b.judge(data)
        if a is None or b is None:
            return None
        return a, b

    def determinations(self, data: CaseData) -> tuple[Determination, Determination] | None:
        a, b = self.a.determination(data), self.b.determination(data)
        return None if a is None or b is None else (a, b)

    def differs(self, data: CaseData) -> tuple[Judgement, Judgement] | None:
        pair = self.determinations(data)
        if pair is None or pair[0] == pair[1]:
            return None
        return self.judged(data)

    def services(self, only: str | None = None) -> tuple[str, ...]:
        if only is not None:
            return (only,)
        return tuple(dict.fromkeys(self.a.services() + self.b.services()))

    def run(self, only: str | None = None) -> list[Difference]:
        found: list[Difference] = []
        for service in self.services(only):
            found += self.service_differences(service)
        return found

    def service_differences(self, service: str) -> list[Difference]:
        in_a, in_b = service in self.a.services(), service in self.b.services()
        if not in_a and not in_b:
            return []
        base = self.request(service)
        if in_a != in_b:
            owner = self.a if in_a else self.b
            for case in owner.completions(base, 1):
                pair = self.differs(case)
                if pair is not None:
                    witness = self._minimal(SERVICE, case, pair)
                    return [Difference(service, *signature_of(pair), (witness,))]
            return []
        # Codes first: a code one policy's service lists and the other's does not.
        candidates: list[tuple[str, CaseData]] = list(self._code_cases(service))
        completions_a = self.a.completions(base, COMPLETIONS)
        completions_b = self.b.completions(base, COMPLETIONS)
        candidates += [(COMPLETION, c) for c in completions_a + completions_b]
        for side in self._sides():
            sided = self.request(service, side=side)
            for judge in (self.a, self.b):
                candidates += [(COMPLETION, c) for c in judge.completions(sided, SIDED_COMPLETIONS)]
        joint = self._joint(completions_a, completions_b)
        for case in joint[:JOINT_CASES]:
            candidates += list(self._variations(case))
        candidates += [(EXCLUSION, c) for c in self._exclusion_cases(base, service)]
        for judge in (self.a, self.b):
            leaves = service_nodes(judge.loaded, service)
            candidates += [(WITHOUT, c) for c in judge.searched(base, leaves, avoid=True)]
        # A case approvable under both, with the facts a group of the other's alternatives reads
        # taken out, completed again under one policy without them.
        for case in joint[:JOINT_CASES]:
            for judge, other in ((self.a, self.b), (self.b, self.a)):
                for group in fact_groups(other.loaded, service):
                    stripped = without_facts(case, group)
                    if stripped != case:
                        candidates += [
                            (OTHERS_FACTS, c) for c in judge.searched_without(stripped, [group])
                        ]
        return self._differences(service, candidates)

    def _code_cases(self, service: str) -> Iterator[tuple[str, CaseData]]:
        """For each procedure code one policy addresses for the service and the other does not,
        a completion under the policy that addresses it, documenting that code."""
        listed = []
        for judge in (self.a, self.b):
            decl = next((s for s in judge.loaded.policy.services if s.name == service), None)
            listed.append(set(decl.cpt_codes) if decl is not None else set())
        if listed[0] == listed[1]:
            return
        table = self.a.loaded.policy.vocabulary.codes_of(service) or ()
        # A service listing no code addresses every code of the vocabulary's table for it.
        addressed = [codes or set(table) for codes in listed]
        for code in sorted(addressed[0] ^ addressed[1]):
            judge = self.a if code in addressed[0] else self.b
            number = int(code) if code.isdigit() else code
            for case in judge.completions(self.request(service, cpt_code=number), 1):
                yield CODE, case

    def _sides(self) -> tuple[str, ...]:
        """The values of the request's side, when the vocabulary has that field."""
        side = self.a.loaded.policy.vocabulary.fact("request", "side")
        return tuple(side.type.values) if side is not None and side.type.kind == "choice" else ()

    def _joint(self, first_a: list[CaseData], first_b: list[CaseData]) -> list[CaseData]:
        """Cases approvable under both: one policy's completion completed under the other."""
        found = []
        pairs = [(c, self.b) for c in first_a[:JOINT_CASES]]
        pairs += [(c, self.a) for c in first_b[:JOINT_CASES]]
        for case, other in pairs:
            for completed in [case] + other.completions(case, 1):
                pair = self.determinations(completed)
                if pair and all(d == Determination.APPROVABLE for d in pair):
                    found.append(completed)
                    break
        return found

    def _variations(self, data: CaseData) -> Iterator[tuple[str, CaseData]]:
        """The case with one item left out, given another value, or moved back in time."""
        for item in items_of(data):
            yield LEFT_OUT, without(data, item)
        for name, value in (data.get("findings") or {}).items():
            for other in self._other_values("finding", name, None, value):
                varied = copy.deepcopy(data)
                varied["findings"][name] = other
                yield OTHER_VALUE, varied
        for name, value in data["request"].items():
            if name in KEPT_REQUEST:
                continue
            for other in self._other_values("request", name, None, value):
                varied = copy.deepcopy(data)
                varied["request"][name] = other
                yield OTHER_VALUE, varied
        for kind, records in (data.get("records") or {}).items():
            for index, record in enumerate(records):
                for name, value in record.items():
                    if name in ("start", "end", "date") or (kind, name) not in self._tested:
                        continue
                    for other in self._other_values("record", name, kind, value):
                        varied = copy.deepcopy(data)
                        varied["records"][kind][index][name] = other
                        yield OTHER_VALUE, varied
                if kind in self._latest_kinds:
                    yield from self._newer(data, kind, record)
                for days in self._window_shifts():
                    varied = copy.deepcopy(data)
                    moved = varied["records"][kind][index]
                    for name in ("start", "end", "date"):
                        if isinstance(moved.get(name), dt.date):
                            moved[name] = moved[name] - dt.timedelta(days=days)
                    self._moved[case_key(varied)] = (kind, copy.deepcopy(moved))
                    yield MOVED, varied

    @functools.cached_property
    def _latest_kinds(self) -> set[str]:
        """The record kinds a `latest of` leaf of either policy reads."""
        return {
            judge.loaded.compiled.record_sets[leaf.set_id].kind
            for judge in (self.a, self.b)
            for info in judge.loaded.compiled.nodes.values()
            if isinstance(leaf := info.leaf, RecordsLeaf) and leaf.unit == CountUnit.LATEST
        }

    def _newer(
        self, data: CaseData, kind: str, record: dict[str, Any]
    ) -> Iterator[tuple[str, CaseData]]:
        """A copy of the record a day later (on the request date at the latest), with one tested
        field given another value: only the latest result would tell the two apart."""
        day = record.get("date")
        if not isinstance(day, dt.date):
            return
        request_date = data["request"]["date"]
        record_kind = self.a.loaded.policy.vocabulary.record(kind)
        for name, value in record.items():
            if name == "date" or (kind, name) not in self._tested or record_kind is None:
                continue
            field_def = record_kind.field(name)
            # Every other value of a choice: an outcome the policies never name (a positive
            # result) is the one that makes the latest attempt fail.
            others = (
                [v for v in field_def.type.values if v != value]
                if field_def is not None and field_def.type.kind == "choice"
                else self._other_values("record", name, kind, value)
            )
            for other in others:
                varied = copy.deepcopy(data)
                newer = {**copy.deepcopy(record), name: other}
                newer["date"] = min(day + dt.timedelta(days=1), request_date)
                varied["records"][kind].append(newer)
                yield NEWER, varied

    def _other_values(self, scope: str, name: str, kind: str | None, value: Any) -> list[Any]:
        vocabulary = self.a.loaded.policy.vocabulary
        definition: Any
        if scope == "record":
            record = vocabulary.record(kind or "")
            definition = record.field(name) if record is not None else None
        else:
            definition = vocabulary.fact(scope, name)
        if definition is None:
            return []
        kind_of = definition.type.kind
        if kind_of == "bool" and isinstance(value, bool):
            return [not value]
        if kind_of == "choice":
            named = self._tested.get((kind or "", name)) if scope == "record" else None
            return [v for v in definition.type.values if v != value and (not named or v in named)]
        if kind_of == "number":
            wanted = set()
            for judge in (self.a, self.b):
                compiled = judge.loaded.compiled
                classes = (
                    compiled.field_classes.get((kind or "", name), ())
                    if scope == "record"
                    else compiled.fact_classes.get(name, ())
                )
                for value_class in classes:
                    wanted.add(value_class.representative)
            numbers = [unscaled(v) for v in sorted(wanted)]
            return [n for n in numbers if n != value]
        return []

    def _window_shifts(self) -> list[int]:
        """Days to move a record back so that it leaves a window of either policy."""
        shifts = set()
        for judge in (self.a, self.b):
            for info in judge.loaded.compiled.nodes.values():
                leaf = info.leaf
                if isinstance(leaf, RecordsLeaf):
                    if leaf.window:
                        shifts.add(leaf.window + 1)
                    if leaf.window_months:
                        shifts.add(31 * leaf.window_months + 1)
        return sorted(shifts)

    def _exclusion_cases(self, base: CaseData, service: str) -> Iterator[CaseData]:
        """Each exclusion of either policy made to hold, then completed under the other."""
        for owner, other in ((self.a, self.b), (self.b, self.a)):
            for node in owner.loaded.compiled.exclusions.get(service, ()):
                for triggered in owner.searched(base, [node], avoid=False):
                    yield triggered
                    yield from other.completions(triggered, 1)

    def _differences(
        self, service: str, candidates: list[tuple[str, CaseData]]
    ) -> list[Difference]:
        """Candidates judged differently, grouped by what decides them; the groups made of
        smaller ones dropped; per group the smallest witness, and the smallest with dates moved
        when that is what showed it (a time window), each made minimal."""
        groups: dict[Signature, dict[bool, tuple[str, CaseData]]] = {}
        seen: set[str] = set()
        for origin, case in candidates:
            key = case_key(case)
            if key in seen:
                continue
            seen.add(key)
            pair = self.differs(case)
            if pair is None:
                continue
            kept = groups.setdefault(signature_of(pair), {})
            moved = origin == MOVED
            if moved not in kept or count_items(case) < count_items(kept[moved][1]):
                kept[moved] = (origin, case)
        found: dict[Signature, list[Witness]] = {}
        for signature in minimal_signatures(list(groups)):
            for origin, case in groups[signature].values():
                pair = self.judged(case)
                assert pair is not None
                witness = self._minimal(origin, case, pair)
                found.setdefault(signature_of((witness.a, witness.b)), []).append(witness)
        differences = []
        for signature in minimal_signatures(list(found)):
            witnesses = sorted(found[signature], key=lambda w: (w.origin == MOVED, w.items))
            unique = {case_key(w.case): w for w in witnesses}
            differences.append(Difference(service, *signature, tuple(unique.values())))
        return sorted(differences, key=lambda d: d.name)

    def _minimal(self, origin: str, case: CaseData, pair: tuple[Judgement, Judgement]) -> Witness:
        """Leave items out one by one while both determinations and what decides them stay
        the same, each step judged by the solver again."""
        wanted = signature_of(pair)
        kept = self._moved.get(case_key(case)) if origin == MOVED else None
        # The approvable side first: leaving out what it needs changes it at once, and the
        # other side is then not asked.
        first = self.b if pair[1].approvable() else self.a
        first_wanted = pair[1] if first is self.b else pair[0]
        for item in reversed(items_of(case)):
            if (
                kept is not None
                and item[:2] == ("records", kept[0])
                and (case["records"][item[1]][int(item[2])] == kept[1])
            ):
                continue
            smaller = without(case, item)
            if first.determination(smaller) != first_wanted.determination:
                continue
            if self.determinations(smaller) != (pair[0].determination, pair[1].determination):
                continue
            found = self.judged(smaller)
            if found is not None and same(found, pair) and signature_of(found) == wanted:
                case, pair = smaller, found
        return Witness(origin, pair[0], pair[1], case, count_items(case))


def impact(
    a: LoadedPolicy, b: LoadedPolicy, path: Path, services: Sequence[str] = ()
) -> tuple[list[Impact], int]:
    """The tests of `path` (of `services`, when given) whose determination under `b` differs
    from that under `a`, and how many tests were replayed."""
    test_file = load_test_file(path)
    tests = [t for t in test_file.tests if not services or t.case.service in services]
    changed = []
    for test in tests:
        under_a = _determination(a, test.case)
        under_b = _determination(b, test.case)
        if under_a != under_b:
            changed.append(Impact(test.name, under_a, under_b))
    return changed, len(tests)


def _optimum(compiled: CompiledPolicy, facts: Sequence[clingo.Symbol]) -> Sequence[clingo.Symbol]:
    """The solver's optimal model, as `solver.determine` finds it; only the last model is
    decoded, which a search judging hundreds of cases notices."""
    control = clingo.Control(
        ["--opt-mode=opt", "--opt-strategy=usc"], logger=lambda code, message: None
    )
    control.load(str(encodings_dir() / ENCODING))
    control.add("base", [], compiled.program)
    with control.backend() as backend:
        for symbol in facts:
            backend.add_rule([backend.add_atom(symbol)])
    control.ground([("base", []), ("decide", [])])
    last: list[Sequence[clingo.Symbol]] = []

    def on_model(model: clingo.Model) -> None:
        last[:] = [model.symbols(shown=True)]

    result = control.solve(on_model=on_model)
    if not result.satisfiable or not last:
        raise SolveError("the policy program has no model for this case")
    return last[0]


def _determination_of(symbols: Sequence[clingo.Symbol]) -> Determination:
    found = [s for s in symbols if s.match("determination", 1)]
    if len(found) != 1:
        raise SolveError(f"expected one determination, found {len(found)}")
    return Determination(found[0].arguments[0].name)


def _determination(loaded: LoadedPolicy, case: Any) -> Determination:
    return _determination_of(_optimum(loaded.compiled, case_symbols(case)))


# ------------------------------------------------------------------ the whole diff
def semantic_diff(
    a: LoadedPolicy,
    b: LoadedPolicy,
    service: str | None = None,
    date: dt.date | None = None,
    with_impact: bool = True,
) -> Report:
    search = Diff(a, b, date)
    services = search.services(service)
    report = Report(label(a), label(b), services, search.date)
    report.differences = search.run(service)
    report.unwritten = tuple(sorted(search.a.unwritten | search.b.unwritten))
    if with_impact:
        path = test_file_for(a)
        if path is not None:
            report.impact_file = _shown(path)
            report.impact, report.impact_total = impact(a, b, path, services)
    return report


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
