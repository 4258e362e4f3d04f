"""The encoding specialized to one compiled policy: the rules that can never fire for it removed.

`policy.lp` is written for every construct the policy language has, and a policy uses a few of
them. clingo's grounder pays for every rule it is given, with data or without (a few tens of
microseconds each, which is most of a small case's cost). A rule can never fire for a policy
when one of the atoms its body needs (a positive literal outside any aggregate or condition)

- is of a predicate only the compiled policy gives, and no fact of the policy has its shape
  (`leaf(N, spaced(S, K, G))` in a policy with no dates spaced apart); or
- is of a predicate that nothing left can give: no fact of the policy, no fact of a case, no
  external, no head of a rule still kept.

Removing such a rule changes no answer set: it derives nothing in any of them. What can be
derived is worked out bottom up from the policy's facts, the case's predicates and the
externals, so that a predicate only a removed rule (or only its own recursion) could give is
empty too. The test is conservative: a term it does not read (arithmetic, an interval, a pool)
is taken to match.

Reading the encoding's rules takes tens of milliseconds (each attribute of clingo's AST is a
call into the library), more than a cold `check` may spend, so the rules kept for a policy are
remembered in the user's cache (core/user_cache.py) as their positions in the encoding, under a hash
of the encoding's text, the policy's, sijfasp's code and clingo's version. An entry that does not read back as positions in
range is a miss, and is worked out again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import clingo
from clingo import ast

from ..core.user_cache import cache_dir, drop_old_entries, is_private, write_entry
from ..policies.cache import code_digest
from .case_facts import SIGNATURE_OF

Signature = tuple[str, int]

# The predicates a case brings: never taken as empty, whatever the policy.
CASE_PREDICATES: frozenset[Signature] = frozenset(SIGNATURE_OF.values())


# A term as plain Python data, so that matching needs no call into clingo: a number, a string,
# or a function as (name, arguments). In a body atom's shape, None stands for a variable or a
# term not read (arithmetic, an interval, a pool): anything.
Term = int | str | tuple[str, tuple["Term", ...]]
Shape = None | int | str | tuple[str, tuple["Shape", ...]]


def policy_atoms(program: str) -> dict[Signature, list[Term]]:
    """The atoms of a compiled policy (facts only), by predicate."""
    control = clingo.Control(logger=lambda code, message: None)
    control.add("base", [], program)
    control.ground([("base", [])])
    found: dict[Signature, list[Term]] = {}
    for atom in control.symbolic_atoms:
        symbol = atom.symbol
        found.setdefault((symbol.name, len(symbol.arguments)), []).append(_term(symbol))
    return found


@dataclass(frozen=True)
class _Rule:
    statement: ast.AST
    heads: frozenset[Signature]
    needs: tuple[tuple[str, tuple[Shape, ...]], ...]  # positive body atoms: name, argument shapes


def specialize(
    statements: Sequence[ast.AST], facts: dict[Signature, list[Term]]
) -> tuple[ast.AST, ...]:
    """The statements without the rules that can never fire, given the policy's facts."""
    rules = _rules(statements)
    given = set(facts) | CASE_PREDICATES | _externals(statements)
    # A predicate a rule of the encoding derives is not read as the policy's alone: its atoms
    # are not all among the facts. A rule needing a policy fact of a shape the policy lacks
    # can never fire.
    derived_anywhere = {sig for rule in rules for sig in rule.heads}
    policy_only = set(facts) - derived_anywhere - CASE_PREDICATES - _externals(statements)
    candidates = [r for r in rules if _has_facts(r, policy_only, facts)]
    # What can be derived at all, bottom up: a rule adds its heads once everything it needs
    # can be derived (a rule needing its own head adds nothing by itself).
    possible = set(given)
    grown = True
    while grown:
        grown = False
        for rule in candidates:
            if not rule.heads <= possible and all((n, len(a)) in possible for n, a in rule.needs):
                possible |= rule.heads
                grown = True
    kept = [r for r in candidates if all((n, len(a)) in possible for n, a in r.needs)]
    kept_ids = {id(rule.statement) for rule in kept}
    return tuple(s for s in statements if s.ast_type != ast.ASTType.Rule or id(s) in kept_ids)


# The rules of the encodings read so far, kept with the statements they were read from (the
# key is the tuple's id, and keeping the tuple keeps the id from being reused).
_READ: dict[int, tuple[Sequence[ast.AST], list[_Rule]]] = {}


def _rules(statements: Sequence[ast.AST]) -> list[_Rule]:
    """The rules read, once per process for the same statements (every policy reads them)."""
    found = _READ.get(id(statements))
    if found is None or found[0] is not statements:
        constants = _constants(statements)
        found = (
            statements,
            [_read(s, constants) for s in statements if s.ast_type == ast.ASTType.Rule],
        )
        if len(_READ) >= 8:
            _READ.clear()
        _READ[id(statements)] = found
    return found[1]


def _read(rule: ast.AST, constants: frozenset[str]) -> _Rule:
    needs = []
    for literal in rule.body:
        term = _positive_atom(literal)
        if term is not None:
            needs.append((term.name, tuple(_shape(a, constants) for a in term.arguments)))
    return _Rule(rule, frozenset(_head_signatures(rule.head)), tuple(needs))


def _constants(statements: Sequence[ast.AST]) -> frozenset[str]:
    """The names `#const` defines: in a body they stand for their value, not for themselves."""
    return frozenset(s.name for s in statements if s.ast_type == ast.ASTType.Definition)


def _term(symbol: clingo.Symbol) -> Term:
    if symbol.type == clingo.SymbolType.Number:
        return symbol.number
    if symbol.type == clingo.SymbolType.String:
        return symbol.string
    if symbol.type == clingo.SymbolType.Function:
        return (symbol.name, tuple(_term(a) for a in symbol.arguments))
    return (str(symbol), ())  # #inf, #sup


def _shape(term: ast.AST, constants: frozenset[str]) -> Shape:
    kind = term.ast_type
    if kind == ast.ASTType.SymbolicTerm:
        symbol = term.symbol
        if symbol.type == clingo.SymbolType.Function and symbol.name in constants:
            return None  # a #const: its value is not read here
        return _term(symbol)
    if kind == ast.ASTType.Function and not term.external:
        if term.name in constants and not term.arguments:
            return None
        return (term.name, tuple(_shape(a, constants) for a in term.arguments))
    return None


def _has_facts(
    rule: _Rule, policy_only: set[Signature], facts: dict[Signature, list[Term]]
) -> bool:
    """Whether each policy fact the rule needs has some fact of its shape."""
    for name, arguments in rule.needs:
        sig = (name, len(arguments))
        if sig in policy_only and not any(_fits((name, arguments), t) for t in facts[sig]):
            return False
    return True


def _fits(shape: Shape, term: Term) -> bool:
    """Whether a term could be an instance of the shape (variables not tied)."""
    if shape is None:
        return True
    if isinstance(shape, tuple):
        return (
            isinstance(term, tuple)
            and term[0] == shape[0]
            and len(term[1]) == len(shape[1])
            and all(_fits(a, t) for a, t in zip(shape[1], term[1], strict=True))
        )
    return shape == term


def _positive_atom(literal: ast.AST) -> ast.AST | None:
    """The atom of a positive body literal outside aggregates and conditions (None: other)."""
    if literal.ast_type != ast.ASTType.Literal or literal.sign != ast.Sign.NoSign:
        return None
    atom = literal.atom
    if atom.ast_type != ast.ASTType.SymbolicAtom:
        return None
    term = atom.symbol
    if term.ast_type != ast.ASTType.Function or term.external:
        return None
    return term


def _head_signatures(head: ast.AST) -> set[Signature]:
    """Every predicate a head may derive (conditions of choice elements included: more than
    needed, which only keeps more rules)."""
    found: set[Signature] = set()

    def visit(node: ast.AST) -> None:
        if node.ast_type == ast.ASTType.SymbolicAtom:
            for term in _alternatives(node.symbol):
                if term.ast_type == ast.ASTType.Function:
                    found.add((term.name, len(term.arguments)))
            return
        for key in node.child_keys:
            child = getattr(node, key)
            if isinstance(child, ast.AST):
                visit(child)
            elif isinstance(child, Iterable):
                for item in child:
                    if isinstance(item, ast.AST):
                        visit(item)

    visit(head)
    return found


def _alternatives(term: ast.AST) -> list[ast.AST]:
    return list(term.arguments) if term.ast_type == ast.ASTType.Pool else [term]


def _externals(statements: Sequence[ast.AST]) -> set[Signature]:
    found: set[Signature] = set()
    for statement in statements:
        if statement.ast_type == ast.ASTType.External:
            for term in _alternatives(statement.atom.symbol):
                if term.ast_type == ast.ASTType.Function:
                    found.add((term.name, len(term.arguments)))
    return found


# ------------------------------------------------------------------ remembered between runs
FORMAT = "sijfasp-kept-rules 1"
MAX_ENTRIES = 256


def kept_statements(
    encoding_text: str, statements: Sequence[ast.AST], program: str
) -> tuple[ast.AST, ...]:
    """`specialize(statements, policy_atoms(program))`, from the user's cache when it holds
    the answer for this encoding (`statements` is `encoding_text` parsed) and this policy."""
    # What decides the positions: the encoding and the policy, and the code that works them out
    # (this module, the case's predicates, clingo's parser), so a new version never reads an
    # old answer.
    code = code_digest()
    folder = None if code is None else cache_dir()
    entry = None
    if folder is not None:
        key = f"{FORMAT}\0{code}\0{clingo.__version__}\0{encoding_text}\0{program}"
        entry = folder / f"kept-{hashlib.sha256(key.encode()).hexdigest()}.json"
    if entry is not None:
        positions = _read_positions(entry, len(statements))
        if positions is not None:
            return tuple(statements[i] for i in positions)
    kept = specialize(statements, policy_atoms(program))
    if entry is not None:
        kept_ids = {id(s) for s in kept}
        _write_positions(entry, [i for i, s in enumerate(statements) if id(s) in kept_ids])
    return kept


def _read_positions(entry: Path, count: int) -> list[int] | None:
    if not is_private(entry):
        return None
    try:
        positions = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(positions, list) or not all(
        type(p) is int and 0 <= p < count for p in positions
    ):
        return None
    if any(a >= b for a, b in itertools.pairwise(positions)):
        return None
    return positions


def _write_positions(entry: Path, positions: list[int]) -> None:
    if write_entry(entry.parent, entry.name, json.dumps(positions).encode(), "kept"):
        drop_old_entries(entry.parent, "kept-*.json", "kept", MAX_ENTRIES)
