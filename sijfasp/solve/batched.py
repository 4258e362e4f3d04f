"""Many cases in one grounding: the determination of a chunk of cases under one policy.

clingo's grounder pays for every rule it is given, with data or without (docs/batch.md): a
small case spends most of its grounding on rules that derive nothing new for it, and on the
policy's own facts, which are the same for every case. Here the program of a policy (policy.lp
as `solver.encoding_for` specializes it, and the compiled policy) is rewritten once, by an AST
transform worked out from the program itself, so that every predicate that depends on a case
carries the case's index as its first argument: the case's input (`doc/2`, `record/2`, ...),
every predicate derived from one, every choice and external, and with them the `#show`,
`#minimize`, `#heuristic`, `#external` and `#defined` statements. What depends on the policy
alone (its criteria, sets, filters and what the encoding derives from them) is grounded once
for the chunk. Nothing in the rewriting names a predicate of policy.lp: a new rule or predicate
there is indexed or not by the same analysis.

The cases are independent in the rewritten program: no rule joins two case indices. The
determination's optimization (whether the policy is reachable) is a sum over the cases, so
the chunk's optimum is each case's optimum, and one solve decides the whole chunk. Each case's
shown atoms, with the index taken off, are the atoms its own grounding shows
(`tests/test_batched.py` checks it on a generated corpus). Which of several equally good sets of
items an optimum contains may differ; the determination's model is read for statuses,
documented values, counts, days and exclusions, never for its items.

Only the determination is batched: the minimal sets of an incomplete case are worked out on the
case's own grounding (`solver.CaseSolver`), where each of their many solve calls concerns one
case.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import clingo
from clingo import ast

from ..core.user_cache import cache_dir, drop_old_entries, is_private, write_entry
from ..language.compiler import CompiledPolicy
from ..policies.cache import code_digest
from .atoms import SHOWN, NodeStatus, Shown, Snapshot
from .case_facts import SIGNATURE_OF, CaseFacts
from .solver import SHARED_AST, SolveError, _encoding_text, _statements, encoding_for

CHUNK = 100  # cases grounded together (about 100: larger chunks gain little, and hold more)
CASE_INDEX = "case_index"  # case_index(K): the chunk's case indices
CASE_INPUT = "case_input"
PARTS: list[tuple[str, Sequence[clingo.Symbol]]] = [("base", []), ("decide", [])]

_POSITION = ast.Position("<batched>", 1, 1)
_LOCATION = ast.Location(_POSITION, _POSITION)

Signature = tuple[str, int]


# ------------------------------------------------------------------ which predicates
def _atoms_in(node: ast.AST) -> list[Signature]:
    """The signatures of every atom in a rule part (literals, aggregates, conditions)."""
    found: list[Signature] = []

    class Visitor(ast.Transformer):
        def visit_SymbolicAtom(self, atom: ast.AST) -> ast.AST:
            term = atom.symbol
            if term.ast_type == ast.ASTType.Function:
                found.append((term.name, len(term.arguments)))
            elif term.ast_type == ast.ASTType.SymbolicTerm:  # a constant: `reachable`
                found.append((str(term.symbol), 0))
            return atom

    Visitor()(node)
    return found


def _fact(statement: ast.AST) -> Signature | None:
    """The signature of a plain fact `p(t1, ..., tn).` (most of a compiled policy), else None."""
    if statement.ast_type != ast.ASTType.Rule or statement.body:
        return None
    head = statement.head
    if head.ast_type != ast.ASTType.Literal or head.atom.ast_type != ast.ASTType.SymbolicAtom:
        return None
    term = head.atom.symbol
    if term.ast_type != ast.ASTType.Function:
        return None
    return (term.name, len(term.arguments))


def _parts(statement: ast.AST) -> tuple[list[Signature], list[Signature], bool]:
    """A statement's head atoms, body atoms, and whether its head is a choice."""
    kind = statement.ast_type
    if (fact := _fact(statement)) is not None:
        return [fact], [], False
    if kind == ast.ASTType.Rule:
        head = statement.head
        body = [s for literal in statement.body for s in _atoms_in(literal)]
        if head.ast_type in (ast.ASTType.Aggregate, ast.ASTType.HeadAggregate):
            heads, conditions = [], []
            for element in head.elements:
                if head.ast_type == ast.ASTType.HeadAggregate:
                    element = element.condition  # a conditional literal, after its terms
                heads += _atoms_in(element.literal)
                conditions += [s for c in element.condition for s in _atoms_in(c)]
            return heads, body + conditions, True
        if head.ast_type == ast.ASTType.Disjunction:
            heads = [s for element in head.elements for s in _atoms_in(element.literal)]
            conditions = [s for e in head.elements for c in e.condition for s in _atoms_in(c)]
            return heads, body + conditions, True
        return _atoms_in(head), body, False
    if kind == ast.ASTType.External:
        return _atoms_in(statement.atom), [s for b in statement.body for s in _atoms_in(b)], True
    return [], [], False


def case_dependent(
    statements: Sequence[ast.AST], inputs: frozenset[Signature]
) -> frozenset[Signature]:
    """The predicates whose atoms differ from case to case: the case's input, every choice and
    external, and whatever a rule derives from one of them (through any literal: positive,
    negated, in an aggregate or a condition), to a fixed point."""
    dependent = set(inputs)
    rules = [_parts(s) for s in statements]
    for heads, _, choice in rules:
        if choice:
            dependent.update(heads)
    changed = True
    while changed:
        changed = False
        for heads, body, _ in rules:
            if any(s in dependent for s in body) and not all(h in dependent for h in heads):
                dependent.update(heads)
                changed = True
    return frozenset(dependent)


# ------------------------------------------------------------------ the rewriting
def _fresh_variable(statements: Sequence[ast.AST]) -> str:
    used: set[str] = set()

    class Visitor(ast.Transformer):
        def visit_Variable(self, variable: ast.AST) -> ast.AST:
            used.add(variable.name)
            return variable

    for statement in statements:
        if _fact(statement) is None:  # a fact names no variable
            Visitor()(statement)
    name = "CaseIndex"
    while name in used:
        name += "_"
    return name


class _Indexer(ast.Transformer):
    """Puts the case index first in every atom of a case-dependent predicate."""

    def __init__(self, dependent: frozenset[Signature], variable: str):
        self.dependent = dependent
        self.variable = ast.Variable(_LOCATION, variable)
        self.touched = False  # whether the statement had a case-dependent atom

    def visit_SymbolicAtom(self, atom: ast.AST) -> ast.AST:
        term = atom.symbol
        if term.ast_type == ast.ASTType.Function:
            signature = (term.name, len(term.arguments))
            if signature in self.dependent:
                self.touched = True
                arguments = [self.variable, *term.arguments]
                return atom.update(symbol=term.update(arguments=arguments))
        elif term.ast_type == ast.ASTType.SymbolicTerm:
            symbol = term.symbol
            if symbol.type == clingo.SymbolType.Function and (symbol.name, 0) in self.dependent:
                self.touched = True
                function = ast.Function(term.location, symbol.name, [self.variable], 0)
                return atom.update(symbol=function)
        return atom


def _case_literal(variable: str) -> ast.AST:
    function = ast.Function(_LOCATION, CASE_INDEX, [ast.Variable(_LOCATION, variable)], 0)
    return ast.Literal(_LOCATION, ast.Sign.NoSign, ast.SymbolicAtom(function))


def _binds(body: Sequence[ast.AST], dependent: frozenset[Signature]) -> bool:
    """Whether a positive literal of a case-dependent predicate, outside aggregates and
    conditions, binds the case index in this body."""
    for literal in body:
        if literal.ast_type != ast.ASTType.Literal or literal.sign != ast.Sign.NoSign:
            continue
        if literal.atom.ast_type != ast.ASTType.SymbolicAtom:
            continue
        if any(s in dependent for s in _atoms_in(literal)):
            return True
    return False


def _rewrite(statement: ast.AST, dependent: frozenset[Signature], variable: str) -> ast.AST | None:
    """One statement for the chunk (None: left out)."""
    kind = statement.ast_type
    if kind == ast.ASTType.Comment:
        return None
    fact = _fact(statement)
    if fact is not None and fact not in dependent:
        return statement  # a fact of the policy: as it is
    if kind in (ast.ASTType.Defined, ast.ASTType.ShowSignature):
        if (statement.name, statement.arity) in dependent:
            return statement.update(arity=statement.arity + 1)
        return statement
    indexer = _Indexer(dependent, variable)

    def bound(body: list[ast.AST], always: bool = False) -> list[ast.AST]:
        # A body that binds no case index of its own is given one (an external always is).
        if always or not _binds(body, dependent):
            return [_case_literal(variable), *body]
        return body

    if kind == ast.ASTType.ShowTerm:
        body = [indexer(b) for b in statement.body]
        if not indexer.touched:
            return statement
        term = statement.term
        index = ast.Variable(_LOCATION, variable)
        if term.ast_type == ast.ASTType.Function:
            term = term.update(arguments=[index, *term.arguments])
        else:
            term = ast.Function(_LOCATION, str(term.symbol), [index], 0)
        return statement.update(term=term, body=bound(body))
    if kind == ast.ASTType.Minimize:
        body = [indexer(b) for b in statement.body]
        if not indexer.touched:
            return statement
        terms = [ast.Variable(_LOCATION, variable), *statement.terms]
        return statement.update(terms=terms, body=bound(body))
    if kind in (ast.ASTType.Heuristic, ast.ASTType.External):
        atom = indexer(statement.atom)
        body = [indexer(b) for b in statement.body]
        if not indexer.touched:
            return statement
        always = kind == ast.ASTType.External
        return statement.update(atom=atom, body=bound(body, always))
    if kind == ast.ASTType.Rule:
        head = indexer(statement.head)
        body = [indexer(b) for b in statement.body]
        if not indexer.touched:
            return statement
        return statement.update(head=head, body=bound(body))
    return statement  # #program, #const: as they are


@functools.lru_cache(maxsize=32)
def batched_statements(program: str) -> tuple[tuple[ast.AST, ...], frozenset[Signature]]:
    """The policy's program (the specialized policy.lp and the compiled policy) rewritten for a
    chunk of cases, and the case-dependent predicates; worked out once per policy and kept in
    the user's cache, so that a later run reads it back (about 0.02 s) instead of working it
    out again (about 0.4 s a policy)."""
    with SHARED_AST:  # the statements are shared between threads (solver.SHARED_AST)
        return _batched_statements(program)


def _batched_statements(program: str) -> tuple[tuple[ast.AST, ...], frozenset[Signature]]:
    entry = _entry(program)
    if entry is not None:
        found = _read_entry(entry)
        if found is not None:
            return found
    statements = [*encoding_for(program), *_statements(program)]
    inputs = frozenset(SIGNATURE_OF.values())
    dependent = case_dependent(statements, inputs)
    variable = _fresh_variable(statements)
    rewritten = tuple(r for s in statements if (r := _rewrite(s, dependent, variable)) is not None)
    if entry is not None:
        _write_entry(entry, rewritten, dependent)
    return rewritten, dependent


# ------------------------------------------------------------------ remembered between runs
FORMAT = "sijfasp-batched-program 1"
MAX_ENTRIES = 256


def _entry(program: str) -> Path | None:
    """The cache entry of a program's rewriting: named by everything the rewriting depends on
    (this code, clingo's parser and printer, policy.lp and the compiled policy), so a new
    version never reads an old rewriting."""
    code = code_digest()
    folder = None if code is None else cache_dir()
    if folder is None:
        return None
    key = f"{FORMAT}\0{code}\0{clingo.__version__}\0{_encoding_text()}\0{program}"
    return folder / f"batched-{hashlib.sha256(key.encode()).hexdigest()}.json"


def _read_entry(entry: Path) -> tuple[tuple[ast.AST, ...], frozenset[Signature]] | None:
    """The rewriting as clingo printed it, parsed again; None (a miss) for an entry that is
    not the user's own, or does not read back whole."""
    if not is_private(entry):
        return None
    try:
        kept = json.loads(entry.read_text(encoding="utf-8"))
        dependent = frozenset((str(n), int(a)) for n, a in kept["dependent"])
        found: list[ast.AST] = []
        ast.parse_string(kept["program"], found.append)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        return None
    # parse_string begins with `#program base.`, which the rewriting's first statement is too.
    if len(found) != kept.get("statements", -1) + 1:
        return None
    return tuple(found[1:]), dependent


def _write_entry(
    entry: Path, statements: Sequence[ast.AST], dependent: frozenset[Signature]
) -> None:
    text = json.dumps(
        {
            "statements": len(statements),
            "dependent": sorted(dependent),
            "program": "\n".join(str(s) for s in statements),
        }
    )
    if write_entry(entry.parent, entry.name, text.encode("utf-8"), "batched"):
        drop_old_entries(entry.parent, "batched-*.json", "batched", MAX_ENTRIES)


def _bulk_rule(name: str, arity: int) -> ast.AST:
    """`p(K, X1, ..., Xn) :- case_index(K), p(X1, ..., Xn) = @case_atoms(p, K).`: case K's
    atoms of p, one call per case, as the case's facts hold them (no symbol is built again
    with its index in Python). The text is built from a case predicate's own name, never from
    a case."""
    variables = [f"X{i}" for i in range(arity)]
    plain = f"{name}({', '.join(variables)})"
    indexed = f"{name}({', '.join(['K', *variables])})"
    found: list[ast.AST] = []
    ast.parse_string(
        f"{indexed} :- {CASE_INDEX}(K), {plain} = @case_atoms({name}, K).", found.append
    )
    return found[-1]


class _ChunkInput:
    """The grounding context of a chunk's input: each case's atoms, by predicate."""

    def __init__(self, groups: list[dict[str, Sequence[clingo.Symbol]]]):
        self._groups = groups

    def case_atoms(self, name: clingo.Symbol, index: clingo.Symbol) -> Sequence[clingo.Symbol]:
        return self._groups[index.number].get(name.name, ())


def _snapshots(symbols: Sequence[clingo.Symbol], count: int) -> list[Snapshot]:
    """The chunk's model split into one snapshot per case, each atom read without its index
    (`atoms.decode`, with its own memory: the same indexed symbol reads the same)."""
    atoms: list[list[Shown]] = [[] for _ in range(count)]
    for symbol in symbols:
        found = _DECODED.get(symbol)
        if found is None:
            arguments = symbol.arguments
            name = symbol.name
            reader = SHOWN.get((name, len(arguments) - 1))
            if reader is None:
                raise SolveError(f"unexpected atom {symbol} in a chunk's model")
            found = (arguments[0].number, reader(arguments[1:]))
            if len(_DECODED) >= _DECODED_LIMIT:
                _DECODED.clear()
            _DECODED[symbol] = found
        atoms[found[0]].append(found[1])
    return [
        Snapshot(tuple(each), (), {a.node: a.status for a in each if isinstance(a, NodeStatus)})
        for each in atoms
    ]


_DECODED: dict[clingo.Symbol, tuple[int, Shown]] = {}
_DECODED_LIMIT = 200_000


def determine_many(compiled: CompiledPolicy, cases: Sequence[CaseFacts]) -> list[Snapshot]:
    """The determination's optimal model of each case, from one grounding and one solve for
    every `CHUNK` cases: the same shown atoms as `solver.determine` on each case alone."""
    found: list[Snapshot] = []
    for start in range(0, len(cases), CHUNK):
        found += _determine_chunk(compiled, cases[start : start + CHUNK])
    return found


def _determine_chunk(compiled: CompiledPolicy, cases: Sequence[CaseFacts]) -> list[Snapshot]:
    statements, _ = batched_statements(compiled.program)
    messages: list[str] = []

    def logger(code: clingo.MessageCode, message: str) -> None:
        if code not in (clingo.MessageCode.AtomUndefined, clingo.MessageCode.GlobalVariable):
            messages.append(message)

    # clingo's own number of models (solver.OPTIMUM): the optimum where some case can be met,
    # else the first model (grounded without the fewest items, nothing is then optimized).
    control = clingo.Control(
        ["--opt-mode=opt", "--opt-strategy=usc"], logger=logger, message_limit=20
    )
    windows = compiled.window_months()
    groups: list[dict[str, Sequence[clingo.Symbol]]] = [
        {**facts.groups, "month_start": facts.month_starts(windows)} for facts in cases
    ]
    names = {name for each in groups for name, atoms in each.items() if atoms}
    arity = dict(SIGNATURE_OF.values())
    try:
        with control.backend() as backend:
            for k in range(len(cases)):
                index = clingo.Function(CASE_INDEX, [clingo.Number(k)])
                backend.add_rule([backend.add_atom(index)])
        with SHARED_AST, ast.ProgramBuilder(control) as builder:
            builder.add(ast.Program(_LOCATION, CASE_INPUT, []))
            for name in sorted(names):
                builder.add(_bulk_rule(name, arity[name]))
            for statement in statements:
                builder.add(statement)
        control.ground([(CASE_INPUT, [])], context=_ChunkInput(groups))
        control.ground(PARTS)
    except RuntimeError as error:
        raise SolveError("; ".join(messages) or str(error)) from None
    best: list[Sequence[clingo.Symbol]] = []

    def on_model(model: clingo.Model) -> None:
        best[:] = [model.symbols(shown=True)]

    result = control.solve(on_model=on_model)
    if not result.satisfiable or not best:
        raise SolveError("the policy program has no model for this chunk of cases")
    return _snapshots(best[0], len(cases))
