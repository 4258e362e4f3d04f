"""The solver of the proving lint: one grounded program per policy (the compiled facts with
`encodings/prove.lp`), every question a solve under assumptions, each external set back after
the question that set it. `prove.py` asks the questions; this module answers them: whether a
model exists, one model's shown atoms, many questions answered from a few models, and a
minimal set of assumptions that has no model (a core).

A long policy's program is also split into parts that no rule joins (`Parts`), each grounded
once with a solver of its own: a question about a few nodes is asked of a part that holds
them, whose solves cost what the part holds rather than what the policy holds
(docs/how-it-works.md, "Policy size").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import clingo

from ..core.resources import encodings_dir

ENCODING = "prove.lp"

Assumption = tuple[clingo.Symbol, bool]
# The externals of prove.lp that only add a constraint when true.
_OPEN_SIGNATURES = (("want", 1), ("want_not", 1), ("want_rec", 1), ("hold_group", 1), ("alone", 2))
_OPEN = frozenset(name for name, _ in _OPEN_SIGNATURES)


class _Literals(dict[clingo.Symbol, int]):
    """The program literal of each external, looked up when first asked for."""

    def __init__(self, atoms: clingo.SymbolicAtoms, open_names: frozenset[str]) -> None:
        super().__init__()
        self.atoms = atoms
        self.open = open_names
        self.absent: set[clingo.Symbol] = set()

    def __missing__(self, symbol: clingo.Symbol) -> int:
        atom = None if symbol in self.absent else self.atoms[symbol]
        if atom is None or not (atom.is_external or symbol.name in self.open):
            self.absent.add(symbol)
            raise KeyError(symbol)
        self[symbol] = atom.literal
        return atom.literal

    def __contains__(self, symbol: object) -> bool:
        try:
            self[symbol]  # type: ignore[index]
        except KeyError:
            return False
        return True


@cache
def _encoding() -> str:
    return (encodings_dir() / ENCODING).read_text(encoding="utf-8")


@cache  # a question names the same atoms again and again: each symbol is built once
def sym(name: str, *args: str | int) -> clingo.Symbol:
    return clingo.Function(
        name, [clingo.Number(a) if isinstance(a, int) else clingo.Function(a) for a in args]
    )


class Prover:
    """One grounded program (a policy's, or a part of it); every question is a solve under
    assumptions."""

    def __init__(self, program: str, open_questions: bool = False) -> None:
        self.control = clingo.Control(["--warn=none"])
        self.control.add("base", [], program)
        self.control.add("base", [], _encoding())
        self.control.ground([("base", [])])
        self.solves = 0
        # Every external stays false unless a question sets it, and is set back afterwards: a
        # question costs what it touches, not the size of the policy. Each is looked up when
        # first asked: walking every atom of a long policy costs more than its questions do.
        # Or, with open_questions, the questions that only add a constraint are free atoms,
        # each asked by an assumption of the solve (encodings/prove.lp).
        self.open: frozenset[str] = _OPEN if open_questions else frozenset()
        self.literal = _Literals(self.control.symbolic_atoms, self.open)

    @contextmanager
    def _setting(
        self, assumptions: Sequence[Assumption], free: Sequence[clingo.Symbol] = ()
    ) -> Iterator[list[int]]:
        """Set the question's externals (`free`: left free, all of one name) for the solves
        inside; yields the literals each of those solves must assume."""
        # By program literal: looking a symbol up costs more than setting it.
        if free and free[0].name in self.open:
            free = ()
        asked: list[int] = []
        assigned: list[clingo.Symbol] = []
        for symbol, value in assumptions:
            literal = self.literal[symbol]
            if symbol.name in self.open:
                asked.append(literal if value else -literal)
            else:
                self.control.assign_external(literal, value)
                assigned.append(symbol)
        for symbol in free:
            self.control.assign_external(self.literal[symbol], None)
        try:
            yield asked
        finally:
            for symbol in [*assigned, *free]:
                self.control.assign_external(self.literal[symbol], False)

    def model(self, assumptions: Sequence[Assumption]) -> list[clingo.Symbol] | None:
        """A model's shown atoms under the assumptions, or None when there is none."""
        found: list[clingo.Symbol] = []

        def keep(model: clingo.Model) -> None:
            found[:] = model.symbols(shown=True)

        self.solves += 1
        with self._setting(assumptions) as asked:
            result = self.control.solve(assumptions=asked, on_model=keep)
        return found if result.satisfiable else None

    def sat(self, assumptions: Sequence[Assumption], literals: Sequence[int] = ()) -> bool:
        """Whether a model exists under the assumptions (and program literals, all true)."""
        self.solves += 1
        with self._setting(assumptions) as asked:
            return bool(self.control.solve(assumptions=[*asked, *literals]).satisfiable)

    def atoms(self, assumptions: Sequence[Assumption]) -> set[clingo.Symbol] | None:
        """Every atom true in a model under the assumptions, or None when there is none."""
        found: set[clingo.Symbol] = set()

        def keep(model: clingo.Model) -> None:
            found.clear()
            found.update(model.symbols(atoms=True))

        self.solves += 1
        with self._setting(assumptions) as asked:
            result = self.control.solve(assumptions=asked, on_model=keep)
        return found if result.satisfiable else None

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
            with self._setting([assumption]) as asked:
                answers.append(
                    bool(self.control.solve(assumptions=asked, on_model=keep).satisfiable)
                )
        return answers

    def conflict(
        self, goal: Sequence[Assumption], candidates: Sequence[Assumption]
    ) -> list[Assumption] | None:
        """Candidates that with the goal have no model, as the solver's core names them (not
        shrunk, in its order), or None when goal and candidates have a model: one solve.

        A candidate left out is left free, which must only ever allow more models (a condition
        set free, a criterion no longer required)."""
        candidates = [c for c in candidates if c[0] in self.literal]
        by_literal = {self._literal(c): c for c in candidates}
        seen: list[int] = []
        with self._setting(goal, [s for s, _ in candidates]) as asked:
            self.solves += 1
            assumed = asked + list(by_literal)
            if self.control.solve(assumptions=assumed, on_core=seen.extend).satisfiable:
                return None
        return [by_literal[x] for x in dict.fromkeys(seen) if x in by_literal]

    def _literal(self, candidate: Assumption) -> int:
        return self.literal[candidate[0]] if candidate[1] else -self.literal[candidate[0]]

    def core(
        self, goal: Sequence[Assumption], candidates: Sequence[Assumption]
    ) -> list[Assumption] | None:
        """A minimal subset of the candidates that with the goal has no model, or None.

        The solver's core (`conflict`) is shrunk by halves (QuickXplain): a core of k among n
        costs about 2k log(n/k) solves, not n, and the result is minimal: no candidate of it
        can be dropped."""
        found = self.conflict(goal, candidates)
        if not found:
            return found
        by_literal = {self._literal(c): c for c in found}
        with self._setting(goal, [s for s, _ in candidates if s in self.literal]) as asked:

            def unsat(assumed: list[int]) -> bool:
                self.solves += 1
                return not self.control.solve(assumptions=asked + assumed).satisfiable

            def shrink(background: list[int], added: bool, part: list[int]) -> list[int]:
                # The fewest of `part` that with `background` have no model (background with
                # part has none); `added`: background grew since the last test of it alone.
                # Candidates as program literals: looking a symbol up costs more than the
                # arithmetic.
                if added and unsat(background):
                    return []
                if len(part) == 1:
                    return part
                half = len(part) // 2
                first, second = part[:half], part[half:]
                needed_second = shrink(background + first, bool(first), second)
                needed_first = shrink(background + needed_second, bool(needed_second), first)
                return needed_first + needed_second

            return [by_literal[x] for x in shrink([], True, list(by_literal))]


# ------------------------------------------------------------------ parts of a long policy
# What prove.lp reads of a program: which node, fact, record filter or record set a fact is
# about (None: facts every part needs, the domains of record fields).
def _owner(name: str, args: list[str]) -> tuple[str, str] | None:
    if name in ("node", "child", "leaf", "allowed", "duration_months", "days_cap", "free_leaf"):
        return ("node", args[0])
    if name in ("top", "excludes"):
        return ("node", args[1])
    if name in ("dom", "required_fact", "free_fact"):
        return ("fact", args[0])
    if name == "filter":
        return ("filter", args[1])
    if name in ("condition", "condition_value", "date_cap"):
        return ("filter", args[0])
    if name in ("set_includes", "subsumed"):
        return ("set", args[0])
    return None


def _term(text: str) -> tuple[str, list[str]]:
    """A term as clingo writes it (`f(a,g(b,c))`: no spaces), split into its name and the
    text of each argument. Reading the text costs less than asking clingo for each part."""
    name, _, rest = text.partition("(")
    if not rest:
        return name, []
    args: list[str] = []
    depth, start, quoted = 0, 0, False
    for index, char in enumerate(rest[:-1]):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            args.append(rest[start:index])
            start = index + 1
    args.append(rest[start:-1])
    return name, args


_READ = (
    ("node", 2),
    ("child", 2),
    ("leaf", 2),
    ("allowed", 2),
    ("duration_months", 2),
    ("days_cap", 2),
    ("free_leaf", 1),
    ("top", 2),
    ("excludes", 2),
    ("dom", 2),
    ("required_fact", 1),
    ("free_fact", 1),
    ("filter", 3),
    ("condition", 3),
    ("condition_value", 3),
    ("date_cap", 2),
    ("set_includes", 2),
    ("subsumed", 2),
    ("fdom", 3),
    ("free_field", 2),
)
_FACT_TESTS = {"is_true", "is_false", "not_true", "value_in", "compare"}
_RECORD_TESTS = {"count", "dates", "days", "latest", "spaced"}


class Parts:
    """A long policy's program in parts that no rule or constraint of prove.lp joins, each
    part with a solver of its own.

    Without a question, the cases of prove.lp are made of pieces that nothing ties together:
    a finding's value; a record filter's hypothetical record with the request fields it is
    tied to, the sets it belongs to, the sets those include or subsume, the sets its order
    conditions name and the counts over them. Every other atom is read off these (a node
    holds or not by its children), and each piece can be empty (nothing documented, no
    record, no count held). So a question about a few nodes has a model in the whole program
    exactly when it has one in the program of those nodes and the pieces they read, and its
    unsatisfiable cores are the same: the proofs are the solver's, over less.

    The pieces are packed into parts in the order the policy reads them; a part's program
    holds every tree (criterion, exclusion or definition, with its subtree) reading one of
    its pieces, with all the pieces those trees read. A policy small enough for one part has
    just the whole program.
    """

    BUDGET = 48  # trees per part: solves cost what the part holds, a part costs a grounding

    def __init__(self, whole: Prover) -> None:
        self.whole = whole
        atoms = whole.control.symbolic_atoms
        facts = [str(a.symbol) for n, k in _READ for a in atoms.by_signature(n, k) if a.is_fact]
        self._facts: dict[tuple[str, str] | None, list[str]] = {}
        self._parent: dict[tuple[str, str], tuple[str, str]] = {}
        children: dict[str, list[str]] = {}
        nodes: list[str] = []
        self._key: dict[str, tuple[str, str]] = {}  # leaf -> the piece it reads
        for fact in facts:
            name, args = _term(fact)
            self._facts.setdefault(_owner(name, args), []).append(f"{fact}.\n")
            if name == "node":
                nodes.append(args[0])
            elif name == "child":
                children.setdefault(args[0], []).append(args[1])
            elif name == "leaf":
                test, tested = _term(args[1])
                if test in _FACT_TESTS:
                    self._key[args[0]] = ("fact", tested[0])
                elif test in _RECORD_TESTS:
                    self._key[args[0]] = ("set", tested[0])
                else:
                    self._key[args[0]] = ("leaf", args[0])
            elif name == "filter":
                self._join(("set", args[0]), ("filter", args[1]))
            elif name in ("set_includes", "subsumed"):
                self._join(("set", args[0]), ("set", args[1]))
            elif name == "condition":
                test, tested = _term(args[2])
                if test in ("matches", "covers"):
                    self._join(("filter", args[0]), ("fact", tested[1]))
                elif test in ("after", "before"):
                    self._join(("filter", args[0]), ("set", tested[1]))
        self._children = children
        inner = {c for cs in children.values() for c in cs}
        self.roots = [n for n in nodes if n not in inner]
        self._below: dict[str, list[str]] = {r: self._subtree(r) for r in self.roots}
        self.root_of: dict[str, str] = {}
        for root in self.roots:
            for node in self._below[root]:
                self.root_of.setdefault(node, root)
        self._pieces_of = {r: self._pieces(self._below[r]) for r in self.roots}
        # Pieces in the order the trees read them, then those no tree reads (a record set
        # declared and unused).
        order = list(dict.fromkeys(p for r in self.roots for p in self._pieces_of[r]))
        keys = [o for o in self._facts if o is not None and o[0] != "node"]
        read = set(order)
        order += [p for p in dict.fromkeys(self._find(k) for k in keys) if p not in read]
        reading: dict[tuple[str, str], set[str]] = {}
        for root in self.roots:
            for piece in self._pieces_of[root]:
                reading.setdefault(piece, set()).add(root)
        self._part_of: dict[tuple[str, str], int] = {}
        parts: list[tuple[list[tuple[str, str]], set[str]]] = []
        for piece in order:
            trees = reading.get(piece, set())
            if not parts or (parts[-1][0] and len(parts[-1][1] | trees) > self.BUDGET):
                parts.append(([], set()))
            parts[-1][0].append(piece)
            parts[-1][1].update(trees)
            self._part_of[piece] = len(parts) - 1
        self.single = len(parts) <= 1
        self._parts = parts
        self._provers: dict[int, tuple[Prover, frozenset[str]]] = {}
        self._unions: dict[tuple[int, ...], tuple[Prover, frozenset[str]]] = {}
        self._choices: dict[Prover, list[tuple[clingo.Symbol, int, tuple[str, str]]]] = {}

    # -- pieces
    def _find(self, key: tuple[str, str]) -> tuple[str, str]:
        parent = self._parent
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(key, key) != root:
            parent[key], key = root, parent[key]
        return root

    def _join(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        first, second = self._find(a), self._find(b)
        if first != second:
            self._parent[first] = second

    def _subtree(self, root: str) -> list[str]:
        found: list[str] = []
        pending, seen = [root], set()
        while pending:
            node = pending.pop()
            if node in seen:
                continue
            seen.add(node)
            found.append(node)
            pending += self._children.get(node, [])
        return found

    def _pieces(self, nodes: Iterable[str]) -> list[tuple[str, str]]:
        return list(dict.fromkeys(self._find(self._key[n]) for n in nodes if n in self._key))

    # -- solvers
    def _prover(self, roots: Iterable[str], pieces: Iterable[tuple[str, str]] = ()):
        """A solver over the trees of `roots` and every piece they read (and `pieces`)."""
        roots = list(roots)
        nodes = {n for r in roots for n in self._below[r]}
        wanted = set(pieces) | {p for r in roots for p in self._pieces_of[r]}
        nodes |= {
            n for n, key in self._key.items() if key[0] == "set" and self._find(key) in wanted
        }
        lines = list(self._facts.get(None, []))
        for owner, facts in self._facts.items():
            if owner is None:
                continue
            kept = owner[1] in nodes if owner[0] == "node" else self._find(owner) in wanted
            if kept:
                lines += facts
        return Prover("".join(lines) + "open_questions.\n", open_questions=True), frozenset(nodes)

    def _part(self, index: int) -> tuple[Prover, frozenset[str]]:
        if index not in self._provers:
            pieces, trees = self._parts[index]
            place = {r: i for i, r in enumerate(self.roots)}
            self._provers[index] = self._prover(sorted(trees, key=place.__getitem__), pieces)
        return self._provers[index]

    def for_node(self, node: str) -> Prover:
        """A solver for questions about one node (and what lies under it)."""
        root = self.root_of.get(node)
        pieces = self._pieces_of.get(root, []) if root is not None else []
        if self.single or not pieces:
            return self.whole
        return self._part(self._part_of[pieces[0]])[0]

    def for_filter(self, filter_id: str) -> Prover:
        piece = self._find(("filter", filter_id))
        if self.single or piece not in self._part_of:
            return self.whole
        return self._part(self._part_of[piece])[0]

    def around(self, node: str) -> list[tuple[Prover, frozenset[str]]]:
        """Solvers of the trees that read what a node reads, each with the nodes its program
        holds: the part of each piece the node reads."""
        if self.single or node not in self.root_of:
            return [(self.whole, frozenset(self.root_of))]
        return [self._part(i) for i in self._indexes(node)]

    def one_part(self, node: str) -> tuple[Prover, frozenset[str]] | None:
        """The part holding every tree that reads what the node reads, if one part does."""
        if self.single or node not in self.root_of:
            return None
        indexes = self._indexes(node)
        return self._part(indexes[0]) if len(indexes) == 1 else None

    def as_in(self, prover: Prover, case: set[clingo.Symbol], node: str) -> list[int]:
        """Literals that keep every piece of a part's program the node does not read as it is
        in `case` (a model of the whole program): its findings' values, its records and
        their fields, its counts held or not."""
        if prover not in self._choices:
            choices: list[tuple[clingo.Symbol, int, tuple[str, str]]] = []
            atoms = prover.control.symbolic_atoms
            for name, arity in (("val", 2), ("rec", 1), ("rv", 3), ("holds", 1)):
                for atom in atoms.by_signature(name, arity):
                    first = str(atom.symbol.arguments[0])
                    if name == "val":
                        key: tuple[str, str] | None = ("fact", first)
                    elif name == "holds":
                        key = self._key.get(first)
                    else:
                        key = ("filter", first)
                    if key is not None and not atom.is_fact:
                        choices.append((atom.symbol, atom.literal, self._find(key)))
            self._choices[prover] = choices
        own = set(self._pieces(self._below.get(node) or self._subtree(node)))
        return [
            literal if symbol in case else -literal
            for symbol, literal, piece in self._choices[prover]
            if piece not in own
        ]

    def _indexes(self, node: str) -> tuple[int, ...]:
        pieces = self._pieces(self._below.get(node) or self._subtree(node))
        return tuple(dict.fromkeys(self._part_of[p] for p in pieces))

    def union(self, node: str) -> tuple[Prover, frozenset[str]] | None:
        """One solver over the trees of every part `around` the node, when there are several
        (built once for each such set of parts)."""
        indexes = () if self.single or node not in self.root_of else self._indexes(node)
        if len(indexes) < 2:
            return None
        if indexes not in self._unions:
            trees = {t for i in indexes for t in self._parts[i][1]}
            place = {r: i for i, r in enumerate(self.roots)}
            self._unions[indexes] = self._prover(
                sorted(trees, key=place.__getitem__),
                [p for i in indexes for p in self._parts[i][0]],
            )
        return self._unions[indexes]

    def for_nodes(self, nodes: Iterable[str]) -> Prover:
        """A solver of its own over a few trees (with every piece they read)."""
        if self.single:
            return self.whole
        roots = dict.fromkeys(self.root_of[n] for n in nodes if n in self.root_of)
        return self._prover(roots)[0]
