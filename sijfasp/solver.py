"""clingo: ground a compiled policy with a case's facts, solve, and keep lasting snapshots.

The compiled policy text comes from the compiler; the case reaches clingo only as symbols
through the backend. A clingo `Model` lives only inside its callback, so each one is copied into
a typed `atoms.Snapshot` that the explain stage can read at leisure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import clingo

from .atoms import ItemAtom, Snapshot
from .compiler import CompiledPolicy
from .resources import encodings_dir

ENCODING = "policy.lp"
DEFAULT_BUDGET = 10.0  # seconds an enumeration of every minimal set may take

Facts = Sequence[clingo.Symbol]  # a case as `case_facts` builds it


@dataclass(frozen=True)
class Enumeration:
    models: tuple[Snapshot, ...]
    complete: bool  # False when the limit cut the enumeration short


class SolveError(RuntimeError):
    """clingo reported a problem with a program sijfasp generated: a bug, not a user error."""


def _control(
    arguments: Sequence[str], compiled: CompiledPolicy, case_facts: Iterable[clingo.Symbol]
) -> clingo.Control:
    messages: list[str] = []

    def logger(code: clingo.MessageCode, message: str) -> None:
        if code not in (clingo.MessageCode.AtomUndefined, clingo.MessageCode.GlobalVariable):
            messages.append(message)

    control = clingo.Control(list(arguments), logger=logger, message_limit=20)
    try:
        control.load(str(encodings_dir() / ENCODING))
        control.add("base", [], compiled.program)
    except RuntimeError as error:
        raise SolveError("; ".join(messages) or str(error)) from None
    with control.backend() as backend:
        for symbol in case_facts:
            backend.add_rule([backend.add_atom(symbol)])
    return control


def determine(compiled: CompiledPolicy, case_facts: Sequence[clingo.Symbol]) -> Snapshot:
    """The optimal model of base + decide: the determination and every criterion's status."""
    control = _control(["--opt-mode=opt", "--opt-strategy=usc"], compiled, case_facts)
    control.ground([("base", []), ("decide", [])])
    best: list[Snapshot] = []

    def on_model(model: clingo.Model) -> None:
        best[:] = [Snapshot.of(model.symbols(shown=True), model.cost)]

    result = control.solve(on_model=on_model)
    if not result.satisfiable or not best:
        raise SolveError("the policy program has no model for this case")
    return best[0]


RETEST = clingo.Function("retest")


class Abducer:
    """Subset-minimal sets of missing documentation for one case, on demand.

    One grounding with the domain heuristic enumerates minimal sets (clingo's domRec); when
    there are more than asked for, a ranking program finds the best ones in order instead.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        case_facts: Sequence[clingo.Symbol],
        budget: float = DEFAULT_BUDGET,
        retest: bool = False,
    ):
        """`retest`: a documented failed attempt no longer closes its count, so the sets say
        what new attempts would have to show (for a case not met because attempts failed)."""
        self._budget = budget
        self._compiled = compiled
        self._facts = list(case_facts)
        self._retest = retest
        self._control = _control(["--heuristic=Domain", "--enum-mode=domRec"], compiled, case_facts)
        self._control.ground([("base", []), ("abduce", [])])
        self._control.assign_external(RETEST, retest)

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
        return Enumeration(tuple(self._ranked(focus, limit)), False)

    def _enumerate(self, focus: str | None, models_wanted: int) -> tuple[list[Snapshot], bool]:
        """The models the solver meets first, and whether it finished (0 wanted: every one)."""
        control = self._control
        solve_config = control.configuration.solve
        assert isinstance(solve_config, clingo.Configuration)
        solve_config.models = str(models_wanted)
        focus_atom = _focus(focus)
        if focus_atom is not None:
            control.assign_external(focus_atom, True)
        models: list[Snapshot] = []
        finished = True
        try:
            with control.solve(
                on_model=lambda m: models.append(Snapshot.of(m.symbols(shown=True))),
                async_=True,
            ) as handle:
                # Only an unbounded enumeration can run long: a bounded one stops at its count.
                if models_wanted == 0 and not handle.wait(self._budget):
                    handle.cancel()
                    finished = False
                handle.get()
        finally:
            if focus_atom is not None:
                control.assign_external(focus_atom, False)
        return models, finished

    def _ranked(self, focus: str | None, count: int) -> list[Snapshot]:
        """The `count` best minimal sets, by repeated optimization.

        Each round finds an optimal set (fewest items, then lowest cost) and then forbids every
        set that contains it. The next optimum is again subset-minimal: a smaller set inside it
        would be allowed and better.
        """
        control = _control(["--opt-mode=opt", "--opt-strategy=usc"], self._compiled, self._facts)
        control.ground([("base", []), ("abduce", []), ("rank", [])])
        control.assign_external(RETEST, self._retest)
        focus_atom = _focus(focus)
        if focus_atom is not None:
            control.assign_external(focus_atom, True)
        found: list[Snapshot] = []
        for _ in range(count):
            best: list[Snapshot] = []
            control.solve(
                on_model=lambda m: best.__setitem__(
                    slice(None), [Snapshot.of(m.symbols(shown=True))]
                )
            )
            if not best:
                break
            found.append(best[0])
            items = [ItemAtom(x).symbol() for x in best[0].items()]
            literals = [_literal(control, atom) for atom in items]
            with control.backend() as backend:
                backend.add_rule([], literals)
        return found


def _literal(control: clingo.Control, atom: clingo.Symbol) -> int:
    found = control.symbolic_atoms[atom]
    assert found is not None, atom
    return found.literal


def _focus(focus: str | None) -> clingo.Symbol | None:
    return clingo.Function("focus", [clingo.Function(focus)]) if focus else None
