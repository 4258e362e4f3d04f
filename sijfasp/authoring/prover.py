"""The solver of the proving lint: one grounded program per policy (the compiled facts with
`encodings/prove.lp`), every question a solve under assumptions, each external set back after
the question that set it. `prove.py` asks the questions; this module answers them: whether a
model exists, one model's shown atoms, many questions answered from a few models, and a
minimal set of assumptions that has no model (a core).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from functools import cache

import clingo

from ..core.resources import encodings_dir

ENCODING = "prove.lp"

Assumption = tuple[clingo.Symbol, bool]


@cache  # a question names the same atoms again and again: each symbol is built once
def sym(name: str, *args: str | int) -> clingo.Symbol:
    return clingo.Function(
        name, [clingo.Number(a) if isinstance(a, int) else clingo.Function(a) for a in args]
    )


class Prover:
    """One grounded program per policy; every question is a solve under assumptions."""

    def __init__(self, program: str) -> None:
        self.control = clingo.Control(["--warn=none"])
        self.control.add("base", [], program)
        self.control.load(str(encodings_dir() / ENCODING))
        self.control.ground([("base", [])])
        self.solves = 0
        # Every external stays false unless a question sets it, and is set back afterwards: a
        # question costs what it touches, not the size of the policy.
        self.literal = {a.symbol: a.literal for a in self.control.symbolic_atoms if a.is_external}

    @contextmanager
    def _setting(self, assumptions: Sequence[Assumption], free: Sequence[clingo.Symbol] = ()):
        # By program literal: looking a symbol up costs more than setting it.
        for symbol, value in assumptions:
            self.control.assign_external(self.literal[symbol], value)
        for symbol in free:
            self.control.assign_external(self.literal[symbol], None)
        try:
            yield
        finally:
            for symbol in [s for s, _ in assumptions] + list(free):
                self.control.assign_external(self.literal[symbol], False)

    def model(self, assumptions: Sequence[Assumption]) -> list[clingo.Symbol] | None:
        """A model's shown atoms under the assumptions, or None when there is none."""
        found: list[clingo.Symbol] = []

        def keep(model: clingo.Model) -> None:
            found[:] = model.symbols(shown=True)

        self.solves += 1
        with self._setting(assumptions):
            result = self.control.solve(on_model=keep)
        return found if result.satisfiable else None

    def keep(self, symbol: clingo.Symbol, value: bool) -> None:
        """Set an external for the questions that follow, until it is set back."""
        self.control.assign_external(self.literal[symbol], value)

    def sat(self, assumptions: Sequence[Assumption]) -> bool:
        self.solves += 1
        with self._setting(assumptions):
            return bool(self.control.solve().satisfiable)

    def each_sat(self, questions: Sequence[tuple[Assumption, clingo.Symbol]]) -> list[bool]:
        """`sat` of each question's assumption, with the atom every model of it makes true
        (`holds(N)` for `want(N)`, whose constraint asks just that): an earlier model in which
        the atom is true answers the question without a solve of its own, since the external
        only adds a constraint that model meets. A policy's nodes then cost a few solves, not
        one each."""
        literals: dict[clingo.Symbol, int] = {}
        for _, atom in questions:
            found = self.control.symbolic_atoms[atom]
            if found is not None:
                literals[atom] = found.literal
        witnessed: set[clingo.Symbol] = set()
        answers: list[bool] = []
        for assumption, atom in questions:
            if atom in witnessed:
                answers.append(True)
                continue

            def keep(model: clingo.Model) -> None:
                # Only the atoms no model has witnessed yet: each is looked at until one does.
                found = [a for a, lit in literals.items() if model.is_true(lit)]
                witnessed.update(found)
                for a in found:
                    del literals[a]

            self.solves += 1
            with self._setting([assumption]):
                answers.append(bool(self.control.solve(on_model=keep).satisfiable))
        return answers

    def core(
        self, goal: Sequence[Assumption], candidates: Sequence[Assumption]
    ) -> list[Assumption] | None:
        """A minimal subset of the candidates that with the goal has no model, or None.

        A candidate left out is left free, which must only ever allow more models (a condition
        set free, a criterion no longer required). The solver's core is shrunk by halves
        (QuickXplain): a core of k among n costs about 2k log(n/k) solves, not n, and the
        result is minimal: no candidate of it can be dropped."""
        candidates = [c for c in candidates if c[0] in self.literal]

        def literal(candidate: Assumption) -> int:
            return self.literal[candidate[0]] if candidate[1] else -self.literal[candidate[0]]

        def unsat(assumed: list[int]) -> bool:
            self.solves += 1
            return not self.control.solve(assumptions=assumed).satisfiable

        def shrink(background: list[int], added: bool, part: list[int]) -> list[int]:
            # The fewest of `part` that with `background` have no model (background with part
            # has none); `added`: background grew since the last test of it alone. Candidates
            # as program literals: looking a symbol up costs more than the arithmetic.
            if added and unsat(background):
                return []
            if len(part) == 1:
                return part
            half = len(part) // 2
            first, second = part[:half], part[half:]
            needed_second = shrink(background + first, bool(first), second)
            needed_first = shrink(background + needed_second, bool(needed_second), first)
            return needed_first + needed_second

        by_literal = {literal(c): c for c in candidates}
        seen: list[int] = []
        with self._setting(goal, [s for s, _ in candidates]):
            self.solves += 1
            everything = list(by_literal)
            if self.control.solve(assumptions=everything, on_core=seen.extend).satisfiable:
                return None
            core = [x for x in dict.fromkeys(seen) if x in by_literal]
            return [by_literal[x] for x in shrink([], True, core)] if core else []
