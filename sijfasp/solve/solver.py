"""clingo: ground a compiled policy with a case's facts, solve, and keep lasting snapshots.

The compiled policy text comes from the compiler; the case reaches clingo only as symbols
through the backend. A clingo `Model` lives only inside its callback, so each one is copied into
a typed `atoms.Snapshot` that the explain stage can read at leisure.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import clingo
from clingo import ast

from ..core.resources import encodings_dir
from ..language.compiler import CompiledPolicy
from .atoms import Guess, ItemAtom, Snapshot, Value
from .case_facts import SIGNATURE_OF, CaseFacts
from .prune import kept_statements

ENCODING = "policy.lp"
DEFAULT_BUDGET = 10.0  # seconds an enumeration of every minimal set may take
# Conflicts a ranking round after the first may take when it optimizes, having found no tie
# (clingo's solve limit): a count, not a time, so the same case lists the same sets on any
# machine. The rounds of the bundled policies' cases take at most about 60; open records a
# count or a duration can combine in many ways (300 home programs without their fields) take
# tens of thousands a round. A round stopped by it is not proved optimal, so its set is dropped
# and the ranking ends there (Abducer._ranked).
ROUND_CONFLICTS = 1_000
# Conflicts a ranking round first spends looking for a set exactly as good as the last optimum
# (any set found is then optimal: each round only forbids sets, so none can be better). Where
# many sets tie (any two of a thousand blocks), this finds one in a few conflicts where proving
# it best takes about 2,000; where none ties, a round pays at most these few before optimizing.
TIE_CONFLICTS = 20

Facts = Sequence[clingo.Symbol]  # a case as `case_facts` builds it

# clingo counts the references to its AST nodes without atomic operations, and its library runs
# without Python's lock: two threads touching one node at once (reading it, giving it to a
# builder) corrupt it, and a later Control gets a wrong program or the process crashes. The
# programs below are parsed once per process and shared by every thread (the service judges
# requests in threads), so a shared node is only ever touched under this lock. Grounding and
# solving, the costly part, run outside it.
SHARED_AST = threading.RLock()


@dataclass(frozen=True)
class Enumeration:
    models: tuple[Snapshot, ...]
    complete: bool  # False when the limit cut the enumeration short
    # True when the ranking stopped at ROUND_CONFLICTS: the first sets are the best ones, the
    # rest are minimal sets the enumeration met first.
    bounded: bool = False


class SolveError(RuntimeError):
    """clingo reported a problem with a program sijfasp generated: a bug, not a user error."""


class OutOfTime(RuntimeError):
    """A solve call reached the case's deadline and was stopped: no result for the case."""


@functools.lru_cache(maxsize=1)
def _encoding_text() -> str:
    return (encodings_dir() / ENCODING).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=32)
def _statements(program: str) -> tuple[ast.AST, ...]:
    """A program's statements, parsed once per process: each case's Control is built from
    them, which is about three times faster than parsing the text again (a few ms a case)."""
    found: list[ast.AST] = []
    with SHARED_AST:
        ast.parse_string("#program base.\n" + program, found.append)
    return tuple(found)


@functools.lru_cache(maxsize=32)
def encoding_for(program: str) -> tuple[ast.AST, ...]:
    """policy.lp without the rules that can never fire for this compiled policy (solve/prune.py),
    worked out once per process and policy."""
    with SHARED_AST:
        return kept_statements(_encoding_text(), _statements(_encoding_text()), program)


# A predicate with at least this many atoms in a case goes to clingo in bulk (below); fewer
# go one by one through the backend, which costs less than grounding one more rule.
BULK_ATOMS = 64
CASE_INPUT = "case_input"


@functools.lru_cache(maxsize=16)
def _bulk_rule(name: str) -> ast.AST:
    """`p(X0, ..., Xn) :- p(X0, ..., Xn) = @case_atoms(p).`: clingo asks the context for the
    case's atoms of p, in one call, and each becomes a fact. The text is built from a case
    predicate's own name, never from the case."""
    arity = next(a for n, a in SIGNATURE_OF.values() if n == name)
    atom = f"{name}({', '.join(f'X{i}' for i in range(arity))})"
    found: list[ast.AST] = []
    with SHARED_AST:
        ast.parse_string(f"{atom} :- {atom} = @case_atoms({name}).", found.append)
    return found[-1]  # after the `#program base.` that parse_string puts first


class _CaseInput:
    """The grounding context of the `case_input` part: a case's atoms, grouped by predicate."""

    def __init__(self, groups: dict[str, tuple[clingo.Symbol, ...]]):
        self._groups = groups

    def case_atoms(self, name: clingo.Symbol) -> Sequence[clingo.Symbol]:
        return self._groups[name.name]


def _add_case_facts(
    control: clingo.Control, compiled: CompiledPolicy, case_facts: Iterable[clingo.Symbol]
) -> None:
    """The case's atoms as facts, month_start/2 only for the policy's own windows.

    Through the backend, each atom costs two calls into clingo; a predicate with many atoms (a
    long chart's record fields) is grounded instead from a rule that asks for all of them at
    once, about three times faster, in a part of its own grounded here, before the encoding, so
    the encoding sees them as facts."""
    if isinstance(case_facts, CaseFacts):
        groups = dict(case_facts.groups)
        groups["month_start"] = case_facts.month_starts(compiled.window_months())
        bulk = {n: g for n, g in groups.items() if len(g) >= BULK_ATOMS}
        one_by_one: Iterable[clingo.Symbol] = [
            symbol for n, g in groups.items() if n not in bulk for symbol in g
        ]
    else:
        bulk, one_by_one = {}, case_facts
    with control.backend() as backend:
        for symbol in one_by_one:
            backend.add_rule([backend.add_atom(symbol)])
    if bulk:
        with SHARED_AST, ast.ProgramBuilder(control) as builder:
            builder.add(ast.Program(_LOCATION, CASE_INPUT, []))
            for name in bulk:
                builder.add(_bulk_rule(name))
        control.ground([(CASE_INPUT, [])], context=_CaseInput(bulk))


_POSITION = ast.Position("<case>", 1, 1)
_LOCATION = ast.Location(_POSITION, _POSITION)


# The compiled policy programs a Control was built from in this process. The first Control of
# a program gets its text: clingo reads it in less time than a parse to the AST and a build from
# it take, and a run judging one case uses each program once. Every later Control is built from
# the AST, parsed once (_statements), which is faster to give again.
_SEEN_PROGRAMS: set[str] = set()
_SEEN_LIMIT = 64


def _first_use(program: str) -> bool:
    if program in _SEEN_PROGRAMS:
        return False
    if len(_SEEN_PROGRAMS) >= _SEEN_LIMIT:
        _SEEN_PROGRAMS.clear()
    _SEEN_PROGRAMS.add(program)
    return True


def _control(
    arguments: Sequence[str], compiled: CompiledPolicy, case_facts: Iterable[clingo.Symbol]
) -> clingo.Control:
    messages: list[str] = []

    def logger(code: clingo.MessageCode, message: str) -> None:
        if code not in (clingo.MessageCode.AtomUndefined, clingo.MessageCode.GlobalVariable):
            messages.append(message)

    control = clingo.Control(list(arguments), logger=logger, message_limit=20)
    as_text = _first_use(compiled.program)
    try:
        statements = encoding_for(compiled.program)
        if not as_text:
            statements += _statements(compiled.program)
        with SHARED_AST, ast.ProgramBuilder(control) as builder:
            for statement in statements:
                builder.add(statement)
        if as_text:
            control.add("base", [], compiled.program)
    except RuntimeError as error:
        raise SolveError("; ".join(messages) or str(error)) from None
    _add_case_facts(control, compiled, case_facts)
    return control


def determine(compiled: CompiledPolicy, case_facts: Sequence[clingo.Symbol]) -> Snapshot:
    """The optimal model of base + decide: the determination and every criterion's status."""
    return CaseSolver(compiled, case_facts, abduce=False).determine()


RETEST = clingo.Function("retest")
# The optima use clingo's default heuristic; the enumeration of minimal sets needs the domain
# heuristic (the `#heuristic` sign on items), which would otherwise also steer which of several
# equally good sets an optimum finds first.
VSIDS, DOMAIN = "vsids,92", "domain,0"
ABDUCING = clingo.Function("abducing")
RANKING = clingo.Function("ranking")
Parts = list[tuple[str, Sequence[clingo.Symbol]]]
# The determination alone: its model is read for statuses, values, counts and exclusions, never
# for its items, so it is not searched for the fewest (policy.lp, `#program fewest`).
DECIDING: Parts = [("base", []), ("decide", [])]
FEWEST: Parts = [("fewest", [])]  # grounded right after decide, for `sijfasp diff` only
ABDUCTION: Parts = [("abduce", []), ("rank", [])]
PHASES: Parts = [*DECIDING, *FEWEST, *ABDUCTION]
# clingo's own number of models: with an optimization, the optimum, proved; without one (a
# case no addition can meet, grounded without the fewest items), the first model. A count of 0
# would enumerate every model there.
OPTIMUM = -1


class CaseSolver:
    """One case under one compiled policy: a single grounding serves every phase.

    The determination (an optimum), the enumeration of minimal sets (the domain heuristic,
    no optimum) and their ranking (another optimum) differ only in the externals `abducing`,
    `ranking`, `retest` and `focus(N)` and in the solve configuration, which are switched
    between solve calls; the program is grounded once.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        case_facts: Sequence[clingo.Symbol],
        deadline: float | None = None,
        abduce: bool = True,
        fewest_items: bool = False,
    ):
        """`deadline`: a `time.monotonic()` past which every solve call stops (`OutOfTime`).
        Grounding cannot be stopped from Python; it is linear in the case (policy.lp).
        `abduce`: False when no minimal sets will be asked for (`check --no-missing`): only
        base and decide are grounded. `fewest_items`: the determination's model has as few
        items as possible, for a caller that reads them (the semantic diff's witnesses).
        Whatever is grounded grounds together, before the first solve, so that every solve call
        meets the same program and solver state."""
        self.compiled = compiled
        self.facts = case_facts if isinstance(case_facts, CaseFacts) else list(case_facts)
        self.deadline = deadline
        self.control = _control(["--heuristic=Domain", "--opt-strategy=usc"], compiled, self.facts)
        self._abduce = abduce
        fewest = FEWEST if fewest_items else []
        self.control.ground([*DECIDING, *fewest, *(ABDUCTION if abduce else [])])

    def configure(self, opt_mode: str, enum_mode: str, models: int, heuristic: str) -> None:
        configuration = self.control.configuration
        solve_config, solver_config = configuration.solve, configuration.solver
        assert isinstance(solve_config, clingo.Configuration)
        assert isinstance(solver_config, clingo.Configuration)
        solve_config.opt_mode = opt_mode
        solve_config.enum_mode = enum_mode
        solve_config.models = str(models)
        solver_config.heuristic = heuristic

    def determine(self) -> Snapshot:
        """The optimal model of the decide phase: the determination and every status."""
        control = self.control
        self.configure("opt", "auto", OPTIMUM, VSIDS)
        for external in (ABDUCING, RANKING, RETEST):
            control.assign_external(external, False)
        best: list[Snapshot] = []
        result = self.solve(_keep_last(best))
        if not result.satisfiable or not best:
            raise SolveError("the policy program has no model for this case")
        return best[0]

    def solve(
        self,
        on_model: Callable[[clingo.Model], None],
        assumptions: Sequence[tuple[clingo.Symbol, bool]] = (),
    ) -> clingo.SolveResult:
        """One solve call, stopped at the deadline. Without a deadline the call is made in this
        thread: an asynchronous call starts a thread and waits for it, a cost paid on each of
        the many small solve calls of the minimal sets."""
        if self.deadline is None:
            return self.control.solve(on_model=on_model, assumptions=list(assumptions))
        if self.past_deadline():  # no call is started only to be stopped at once
            raise OutOfTime
        with self.control.solve(
            on_model=on_model, assumptions=list(assumptions), async_=True
        ) as handle:
            if not handle.wait(self.remaining()):
                handle.cancel()
                raise OutOfTime
            return handle.get()

    def remaining(self, budget: float | None = None) -> float | None:
        """Seconds a solve call may take: to the deadline, or `budget` if that is sooner
        (None: no bound)."""
        left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        if budget is None:
            return left
        return budget if left is None else min(budget, left)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def abducer(
        self, budget: float = DEFAULT_BUDGET, retest: bool = False, alternatives: Sequence[str] = ()
    ) -> Abducer:
        if not self._abduce:
            raise SolveError("the case was grounded without its abduction (abduce=False)")
        return Abducer(self.compiled, self.facts, budget, retest, self, alternatives)


class Abducer:
    """Subset-minimal sets of missing documentation for one case, on demand.

    The case's one grounding (`CaseSolver`), with the domain heuristic enumerating minimal sets
    (clingo's domRec); when there are more than asked for, the ranking optimum finds the best
    ones in order instead.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        case_facts: Sequence[clingo.Symbol],
        budget: float = DEFAULT_BUDGET,
        retest: bool = False,
        grounded: CaseSolver | None = None,
        alternatives: Sequence[str] = (),
    ):
        """`retest`: a documented failed attempt no longer closes its count, so the sets say
        what new attempts would have to show (for a case not met because attempts failed).
        `grounded`: the case's grounding to reuse (a new one otherwise). `alternatives`: facts
        (`request.side`) whose other values a ranked set is listed with (`_siblings`)."""
        self._budget = budget
        self._retest = retest
        self._alternatives = frozenset(alternatives)
        self._solver = grounded or CaseSolver(compiled, case_facts)

    def _phase(self, ranking: bool, focus: clingo.Symbol | None) -> None:
        control = self._solver.control
        control.assign_external(ABDUCING, True)
        control.assign_external(RANKING, ranking)
        control.assign_external(RETEST, self._retest)
        if focus is not None:
            control.assign_external(focus, True)

    def _end_phase(self, focus: clingo.Symbol | None) -> None:
        control = self._solver.control
        if focus is not None:
            control.assign_external(focus, False)
        for external in (ABDUCING, RANKING, RETEST):
            control.assign_external(external, False)

    def minimal_sets(
        self, focus: str | None = None, limit: int = 0, ranked: bool = True
    ) -> Enumeration:
        """Minimal sets making the policy (or the `focus` criterion) hold; limit 0: all.

        With a limit and `ranked`, the sets returned are the best `limit` ones (fewest items,
        then cheapest); without `ranked`, whichever `limit` the solver met first. Without a
        limit, the enumeration stops after the time budget with the sets found so far, marked
        incomplete.
        """
        models, finished = self._enumerate(focus, limit + 1 if limit else 0)
        if not limit:
            return Enumeration(tuple(models), finished)
        if len(models) <= limit:
            return Enumeration(tuple(models), True)
        if not ranked:
            return Enumeration(tuple(models[:limit]), False)
        best, bounded = self._ranked(focus, limit)
        if bounded:  # the rest from the enumeration: minimal too, in the order met
            seen = {frozenset(m.items()) for m in best}
            best += [m for m in models if frozenset(m.items()) not in seen][: limit - len(best)]
        return Enumeration(tuple(best), False, bounded)

    def _enumerate(self, focus: str | None, models_wanted: int) -> tuple[list[Snapshot], bool]:
        """The models the solver meets first, and whether it finished (0 wanted: every one)."""
        control = self._solver.control
        self._solver.configure("ignore", "domRec", models_wanted, DOMAIN)
        focus_atom = _focus(focus)
        self._phase(False, focus_atom)
        models: list[Snapshot] = []
        finished = True
        try:
            if models_wanted and self._solver.deadline is None:  # no time bound: this thread
                control.solve(on_model=lambda m: models.append(Snapshot.of(m.symbols(shown=True))))
                return models, finished
            if self._solver.past_deadline():
                raise OutOfTime
            with control.solve(
                on_model=lambda m: models.append(Snapshot.of(m.symbols(shown=True))),
                async_=True,
            ) as handle:
                # An unbounded enumeration stops after the budget with the sets found so far;
                # any solve call stops at the case's deadline.
                budget = self._budget if models_wanted == 0 else None
                if not handle.wait(self._solver.remaining(budget)):
                    handle.cancel()
                    if self._solver.past_deadline():
                        raise OutOfTime
                    finished = False
                handle.get()
        finally:
            self._end_phase(focus_atom)
        return models, finished

    def _ranked(self, focus: str | None, count: int) -> tuple[list[Snapshot], bool]:
        """The `count` best minimal sets, by repeated optimization, and whether a round was
        stopped by ROUND_CONFLICTS (then fewer are returned).

        Each round finds an optimal set (fewest items, then lowest cost) and then forbids every
        set that contains it. The next optimum is again subset-minimal: a smaller set inside it
        would be allowed and better. The constraints are guarded by an external of this call
        alone, released at the end, so later phases on the same grounding never see them.
        A round after the first first looks for a set that ties with the last optimum
        (`_tied`); failing that, it optimizes, bounded in conflicts: one that stops there has
        not proved its set optimal, so the set may not be minimal; it is dropped and the
        ranking ends.
        """
        solver = self._solver
        control = solver.control
        self._configure_ranking()
        focus_atom = _focus(focus)
        with control.backend() as backend:
            guard = backend.add_atom()
            backend.add_external(guard, clingo.TruthValue.False_)
        control.assign_external(guard, True)
        self._phase(True, focus_atom)
        found: list[Snapshot] = []
        bounded = False
        last_cost: list[int] = []
        try:
            for round_number in range(count):
                best = self._tied(last_cost) if last_cost else []
                if not best:
                    # The first round is unbounded: it always finds the best set.
                    _solve_limit(control, ROUND_CONFLICTS if round_number else None)
                    result = solver.solve(_keep_last(best))
                    if not result.exhausted:
                        bounded = True
                        break
                    if not best:
                        break
                last_cost = list(best[0].cost)
                optima = [best[0], *self._siblings(best[0])]
                found += optima
                # One backend session a round (each opening costs about a millisecond);
                # the last round's constraints are added too, so that later solve calls on this
                # grounding meet the same program as before.
                forbidden = [
                    [_literal(control, ItemAtom(x).symbol()) for x in optimum.items()]
                    for optimum in optima
                ]
                with control.backend() as backend:
                    for literals in forbidden:
                        backend.add_rule([], [guard, *literals])
        finally:
            _solve_limit(control, None)
            self._end_phase(focus_atom)
            control.release_external(guard)
        return found, bounded

    def _tied(self, cost: list[int]) -> list[Snapshot]:
        """A set as good as the last optimum (`cost`), if one is found within TIE_CONFLICTS:
        clingo's enumeration of models within a cost bound, asked for one. Such a set is
        optimal, as no set is better than the last optimum, and so minimal. Leaves the solver
        configured for the ranking's optimization, its solve limit for the caller to set."""
        solver, control = self._solver, self._solver.control
        solver.configure("enum," + ",".join(map(str, cost)), "auto", 1, VSIDS)
        _solve_limit(control, TIE_CONFLICTS)
        best: list[Snapshot] = []
        try:
            solver.solve(_keep_last(best))
        finally:
            self._configure_ranking()
        return best

    def _configure_ranking(self) -> None:
        """The ranking's optimization: every optimal model, clingo's default heuristic."""
        self._solver.configure("opt", "auto", 0, VSIDS)

    def _siblings(self, optimum: Snapshot) -> list[Snapshot]:
        """The sets that differ from an optimum only in the value guessed for one of the
        `alternatives` facts, and are optima too (so minimal): listed with it, so that the
        value can be named as one item ("side: left, right or bilateral") whichever of the
        equally good sets the optimization met first.

        Each is the optimum under the assumption that its items are documented: it is a
        sibling when that optimum adds nothing to them.
        """
        control = self._solver.control
        items = optimum.items()
        found: list[Snapshot] = []
        for item in items:
            if not isinstance(item, Guess) or item.fact.key not in self._alternatives:
                continue
            for value in self._values(item):
                changed = [Guess(item.fact, value) if x == item else x for x in items]
                wanted = [ItemAtom(x).symbol() for x in changed]
                if any(control.symbolic_atoms[atom] is None for atom in wanted):
                    continue
                best: list[Snapshot] = []
                result = self._solver.solve(_keep_last(best), [(atom, True) for atom in wanted])
                # Under the ranking's conflict bound, an optimum not proved is no sibling.
                if best and result.exhausted and set(best[0].items()) == set(changed):
                    found.append(best[0])
        return found

    def _values(self, item: Guess) -> list[Value]:
        """The other values the solver may guess for the item's fact."""
        fact = item.fact.symbol()
        return [
            value
            for atom in self._solver.control.symbolic_atoms.by_signature("candidate", 2)
            if atom.symbol.arguments[0] == fact
            and (value := _candidate_value(atom.symbol.arguments[1])) != item.value
        ]


def _keep_last(best: list[Snapshot]) -> Callable[[clingo.Model], None]:
    """A model callback that keeps only the last model in `best`, with its cost: an optimization
    reports each better model in turn, so the last one is the optimum."""

    def on_model(model: clingo.Model) -> None:
        best[:] = [Snapshot.of(model.symbols(shown=True), model.cost)]

    return on_model


def _solve_limit(control: clingo.Control, conflicts: int | None) -> None:
    """Stop each later solve call after `conflicts` conflicts (None: no limit)."""
    solve_config = control.configuration.solve
    assert isinstance(solve_config, clingo.Configuration)
    solve_config.solve_limit = "umax,umax" if conflicts is None else str(conflicts)


def _candidate_value(symbol: clingo.Symbol) -> Value:
    return symbol.number if symbol.type == clingo.SymbolType.Number else str(symbol)


def _literal(control: clingo.Control, atom: clingo.Symbol) -> int:
    found = control.symbolic_atoms[atom]
    assert found is not None, atom
    return found.literal


def _focus(focus: str | None) -> clingo.Symbol | None:
    return clingo.Function("focus", [clingo.Function(focus)]) if focus else None
