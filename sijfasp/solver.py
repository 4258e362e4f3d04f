"""clingo: ground a compiled policy with a case's facts, solve, and keep lasting snapshots.

The compiled policy text comes from the compiler; the case reaches clingo only as symbols
through the backend. A clingo `Model` lives only inside its callback, so each one is copied into
a `Snapshot` that the explain stage can read at leisure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import clingo

from .compiler import CompiledPolicy
from .resources import encodings_dir

ENCODING = "policy.lp"


@dataclass(frozen=True)
class Snapshot:
    """The atoms of one model, indexed by predicate name and arity."""

    symbols: tuple[clingo.Symbol, ...]
    cost: tuple[int, ...] = ()
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, int], list[tuple[clingo.Symbol, ...]]] = defaultdict(list)
        for symbol in self.symbols:
            if symbol.type == clingo.SymbolType.Function:
                index[(symbol.name, len(symbol.arguments))].append(tuple(symbol.arguments))
        self._index.update(index)

    def atoms(self, name: str, arity: int) -> list[tuple[clingo.Symbol, ...]]:
        return self._index.get((name, arity), [])

    def has(self, name: str, *arguments: clingo.Symbol) -> bool:
        return tuple(arguments) in self.atoms(name, len(arguments))


@dataclass(frozen=True)
class Enumeration:
    models: tuple[Snapshot, ...]
    complete: bool  # False when the limit cut the enumeration short


class SolveError(RuntimeError):
    """clingo reported a problem with a program sijfasp generated: a bug, not a user error."""


def _control(arguments: Sequence[str], compiled: CompiledPolicy,
             case_facts: Iterable[clingo.Symbol]) -> clingo.Control:
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
    control = _control(["--opt-mode=opt"], compiled, case_facts)
    control.ground([("base", []), ("decide", [])])
    best: list[Snapshot] = []

    def on_model(model: clingo.Model) -> None:
        best[:] = [Snapshot(tuple(model.symbols(atoms=True)), tuple(model.cost))]

    result = control.solve(on_model=on_model)
    if not result.satisfiable or not best:
        raise SolveError("the policy program has no model for this case")
    return best[0]


class Abducer:
    """One grounding of base + abduce, solved again for each focus: minimal sets on demand."""

    def __init__(self, compiled: CompiledPolicy, case_facts: Sequence[clingo.Symbol]):
        self._control = _control(["--heuristic=Domain", "--enum-mode=domRec"], compiled,
                                 case_facts)
        self._control.ground([("base", []), ("abduce", [])])

    def minimal_sets(self, focus: str | None = None, limit: int = 0) -> Enumeration:
        """Every subset-minimal set of missing documentation (limit 0: all of them).

        With `focus`, the sets that make that one criterion hold instead of the whole policy.
        """
        control = self._control
        control.configuration.solve.models = str(limit + 1 if limit else 0)
        focus_atom = clingo.Function("focus", [clingo.Function(focus)]) if focus else None
        if focus_atom is not None:
            control.assign_external(focus_atom, True)
        models: list[Snapshot] = []

        def on_model(model: clingo.Model) -> None:
            models.append(Snapshot(tuple(model.symbols(atoms=True))))

        try:
            control.solve(on_model=on_model)
        finally:
            if focus_atom is not None:
                control.assign_external(focus_atom, False)
        complete = not limit or len(models) <= limit
        return Enumeration(tuple(models[:limit] if limit else models), complete)


def minimal_sets(compiled: CompiledPolicy, case_facts: Sequence[clingo.Symbol],
                 focus: str | None = None, limit: int = 0) -> Enumeration:
    """Every subset-minimal set of missing documentation, from a fresh grounding."""
    return Abducer(compiled, case_facts).minimal_sets(focus, limit)
