"""One policy judging the semantic diff's cases: case data read with both policies' vocabulary and
seen as this policy sees it, each judged by the solver (cached), completed, or searched for the
fewest items that make a node hold, fail, or be done without (`Judge`, `Search`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import clingo

from ..cases.case import restrict_case, validate_case
from ..core.diagnostics import SijfaspError
from ..core.kinds import Determination, ExclusionStatus, NodeKind
from ..core.resources import encodings_dir
from ..language.compiler import CompiledPolicy
from ..language.semantics import Vocabulary
from ..policies.loaded import LoadedPolicy
from ..results.explain import Reader, code_reasons, criteria_tree, exclusion_results
from ..solve.atoms import FactRef, Snapshot, item_key
from ..solve.case_facts import case_symbols
from ..solve.solver import (
    ABDUCING,
    ENCODING,
    OPTIMUM,
    RANKING,
    RETEST,
    VSIDS,
    Abducer,
    CaseSolver,
    SolveError,
)
from .diff_model import (
    CaseData,
    Decider,
    Judgement,
    case_key,
    failures,
)
from .witness import Unwritable, Writer


# ------------------------------------------------------------------ judging a case
@dataclass(frozen=True)
class FailsWith:
    """The other criteria a criterion fails only alongside: any one of them (`together`
    False) or all of them; none with `together`: no case fails it at all."""

    ids: tuple[str, ...]
    together: bool


class Judge:
    """One policy: judges case data (cached), completes it, makes a node hold.

    A case is read with `vocabulary` (both policies' items: the union of their vocabularies),
    then seen as this policy sees it (`restrict_case`: another policy's extension items left
    out), so that a witness may document an item of one policy's extension."""

    def __init__(self, loaded: LoadedPolicy, vocabulary: Vocabulary | None = None):
        self.loaded = loaded
        self.vocabulary = vocabulary or loaded.policy.vocabulary
        # Per criterion or exclusion, why a search for a case deciding it found none.
        self.not_found: dict[str, str] = {}
        # Per criterion no case fails while the others hold, the others that fail with it.
        self.fails_with: dict[str, FailsWith] = {}
        self.writer = Writer(loaded.compiled, loaded.policy.vocabulary)
        self.unwritten: set[str] = set()
        self._cache: dict[str, Judgement | None] = {}
        # The solver's optimal model of each case, as raw symbols: most cases need only the
        # determination, and decoding the rest would double the time of a search.
        self._models: dict[str, tuple[Any, Sequence[clingo.Symbol]] | None] = {}

    def services(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.loaded.policy.services)

    def _case(self, data: CaseData) -> Any:
        case = validate_case(copy.deepcopy(data), self.vocabulary, "<witness>")
        return restrict_case(case, self.loaded.policy.vocabulary)

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

    def deciding(self, data: CaseData) -> frozenset[str]:
        """The ids of what decides the case (as `judge` finds them), read off the model's
        statuses alone: the criteria and exclusions this case tries."""
        found = self._model(case_key(data), data)
        if found is None:
            return frozenset()
        case, symbols = found
        return deciding_nodes(self.loaded.compiled, case.service, symbols)

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
        search = self._search(data)
        if search is None:
            return []
        found = [
            keys for group in fact_groups if (keys := search.fewest_without(group)) is not None
        ]
        return self._written(data, found)

    def _search(self, data: CaseData) -> Search | None:
        """The search over a case's facts; None for a case this policy cannot read."""
        try:
            case = self._case(data)
        except SijfaspError:
            return None
        return Search(self.loaded, case_symbols(case))

    def searched(self, data: CaseData, nodes: Sequence[str], avoid: bool) -> list[CaseData]:
        """For each node, the case with the fewest items added that make it hold (or, with
        `avoid`, that meet the policy without it)."""
        search = self._search(data)
        if search is None:
            return []
        cases = []
        for node in nodes:
            keys = search.fewest(node, avoid)
            if keys is None:
                if not avoid:
                    self.not_found.setdefault(node, "no case makes it apply")
                continue
            written = self._written(data, [keys])
            if not written and not avoid:
                self.not_found.setdefault(
                    node,
                    "what makes it apply cannot be written as a case: " + self._why(data, keys),
                )
            cases += written
        return cases

    def failing(
        self,
        data: CaseData,
        nodes: Sequence[str],
        others: Sequence[str],
        explain: Collection[str] = (),
    ) -> list[CaseData]:
        """For each node, the case with the fewest items added in which it fails and every
        other of `others` holds: the case it alone decides. For a node of `explain` no such
        case has, the others it fails only alongside are noted (`fails_with`)."""
        search = self._search(data)
        if search is None:
            return []
        cases = []
        for node in nodes:
            rest = [o for o in others if o != node]
            keys = search.fewest_failing(node, rest)
            if keys is None:
                self.not_found.setdefault(
                    node, "no case fails it while the service's other criteria hold"
                )
                if node in explain and node not in self.fails_with:
                    self.fails_with[node] = search.failing_only_with(node, rest)
                continue
            written = self._written_failing(data, keys, node)
            if written is None:
                self.not_found.setdefault(
                    node,
                    "the cases written to fail it alone meet it after all (a record added for "
                    "another criterion counts for it too), or cannot be written",
                )
                continue
            cases.append(written)
        return cases

    def _written_failing(self, data: CaseData, keys: list[str], node: str) -> CaseData | None:
        """The items written as a case deciding `node`: an added record may be written as any
        of the equally narrow records that would do, and the first that serves only the set it
        is added for may count for `node` too, so each choice is tried (at most 16)."""
        ties = [range(self._ties(data, key)) for key in keys]
        for number, picked in enumerate(itertools.product(*ties)):
            if number == 16:
                break
            choices = {k: c for k, c in zip(keys, picked, strict=True) if c}
            try:
                written = self.writer.apply(data, keys, choices)
            except Unwritable as error:
                self.unwritten.add(str(error))
                continue
            if node in self.deciding(written):
                return written
        return None

    def _ties(self, data: CaseData, key: str) -> int:
        """How many records an added-record item can become; 1 for one that cannot be written
        (writing the case then says why)."""
        try:
            return self.writer.ties(data, key)
        except Unwritable:
            return 1

    def _why(self, data: CaseData, keys: list[str]) -> str:
        try:
            self.writer.apply(data, keys)
        except Unwritable as error:
            return str(error)
        return "unknown"

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
#external fail(N) : node(N, _).
avoiding :- avoid(_).
avoiding :- avoid_fact(_).
:- avoid_fact(F), guess(F, _).
:- hold(N), not holds(hyp, N).
:- avoid(N), holds(hyp, N).
:- fail(N), holds(hyp, N).
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

    def fewest_failing(self, node: str, others: Sequence[str]) -> list[str] | None:
        """The fewest items with which the `others` hold and `node` does not."""
        externals = [clingo.Function("fail", [clingo.Function(node)])]
        externals += [clingo.Function("hold", [clingo.Function(o)]) for o in others]
        for external in externals:
            self._control.assign_external(external, True)
        try:
            return self._best()
        finally:
            for external in externals:
                self._control.assign_external(external, False)

    def failing_only_with(self, node: str, others: Sequence[str]) -> FailsWith:
        """Of `others` (which cannot all hold while `node` fails), the ones it fails only
        alongside: each one that, no longer required to hold, leaves a case failing `node` (the
        rest holding, it then fails with `node`); when no one does, a set of them that fail
        with it all together, none of which could be held again (each held in turn where
        `node` can still fail); nothing when no case fails `node` at all."""
        each = tuple(
            o
            for o in others
            if self.fewest_failing(node, [x for x in others if x != o]) is not None
        )
        if each:
            return FailsWith(each, together=False)
        if self.fewest_failing(node, []) is None:
            return FailsWith((), together=True)
        dropped = list(others)
        for other in others:
            trial = [x for x in dropped if x != other]
            held = [x for x in others if x not in trial]
            if self.fewest_failing(node, held) is not None:
                dropped = trial
        return FailsWith(tuple(dropped), together=True)

    def fewest(self, node: str, avoid: bool = False) -> list[str] | None:
        external = clingo.Function("avoid" if avoid else "hold", [clingo.Function(node)])
        self._control.assign_external(external, True)
        try:
            return self._best()
        finally:
            self._control.assign_external(external, False)


def deciding_nodes(
    compiled: CompiledPolicy, service: str, symbols: Sequence[clingo.Symbol]
) -> frozenset[str]:
    """What decides a case, from the model's statuses: the exclusions that apply to an excluded
    case; the criteria not met or not documented, as deep as an all-of goes, of an incomplete
    or not-met one (only those not met, of a not-met one); nothing otherwise."""
    determination = _determination_of(symbols)
    statuses = {s.arguments[0].name: s.arguments[1].name for s in symbols if s.match("status", 2)}
    if determination == Determination.EXCLUDED:
        return frozenset(
            x for x in compiled.exclusions.get(service, ()) if statuses.get(x) == "met"
        )
    if determination not in (Determination.INCOMPLETE, Determination.NOT_MET):
        return frozenset()
    failing: list[tuple[str, str | None]] = []

    def walk(node: str) -> None:
        status = statuses.get(node)
        if status == "met":
            return
        info = compiled.nodes[node]
        if info.kind == NodeKind.ALL and info.children:
            for child in info.children:
                walk(child)
        else:
            failing.append((node, status))

    for top in compiled.top.get(service, ()):
        walk(top)
    if determination == Determination.NOT_MET:
        failing = [f for f in failing if f[1] == "not_met"] or failing
    return frozenset(node for node, _ in failing)


def _optimum(compiled: CompiledPolicy, facts: Sequence[clingo.Symbol]) -> Sequence[clingo.Symbol]:
    """The solver's optimal model, as `solver.determine` finds it (the same grounding: the
    encoding specialized to the policy, parsed once per process); only the last model is
    decoded, which a search judging hundreds of cases notices."""
    solver = CaseSolver(compiled, facts, abduce=False, fewest_items=True)
    solver.configure("opt", "auto", OPTIMUM, VSIDS)
    for external in (ABDUCING, RANKING, RETEST):
        solver.control.assign_external(external, False)
    last: list[Sequence[clingo.Symbol]] = []

    def on_model(model: clingo.Model) -> None:
        last[:] = [model.symbols(shown=True)]

    result = solver.solve(on_model)
    if not result.satisfiable or not last:
        raise SolveError("the policy program has no model for this case")
    return last[0]


def _determination_of(symbols: Sequence[clingo.Symbol]) -> Determination:
    found = [s for s in symbols if s.match("determination", 1)]
    if len(found) != 1:
        raise SolveError(f"expected one determination, found {len(found)}")
    return Determination(found[0].arguments[0].name)


def determination_under(loaded: LoadedPolicy, case: Any) -> Determination:
    """The determination of a case under a policy (the impact analysis replays tests so)."""
    return _determination_of(_optimum(loaded.compiled, case_symbols(case)))
