"""How a policy's definitions and record sets refer to one another: the names each uses, a
definition nothing uses (a warning), cycles of references, and how deep and how large a
criterion grows with its definitions written out (the limits MAX_DEPTH and MAX_TREE_NODES).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.diagnostics import Code, DiagnosticSink
from . import ast
from .checked import MAX_DEPTH, MAX_TREE_NODES


def order_targets(part: ast.RecordFilter) -> Iterable[str]:
    """The sets a filter's order conditions (`date after SET`) name."""
    for condition in part.all_conditions:
        if condition.operator in ("after", "before"):
            yield condition.values[0]


def names_used(node) -> Iterable[str]:
    """Every definition or record-set name an expression, criterion or set mentions."""
    if isinstance(node, (ast.Criterion, ast.DefineDecl)):
        yield from names_used(node.body)
    elif isinstance(node, ast.Advisory):
        yield from names_used(node.when)
        if node.recommend is not None:
            yield from names_used(node.recommend)
    elif isinstance(node, ast.Combinator):
        for member in node.members:
            yield from names_used(member)
    elif isinstance(node, ast.Reference):
        yield node.name
    elif isinstance(node, ast.CountRecords):
        yield from names_used(node.records)
    elif isinstance(node, (ast.RecordSet, ast.RecordsDecl)):
        records = node if isinstance(node, ast.RecordSet) else node.records
        for part in records.parts:
            if isinstance(part, ast.RecordSetName):
                yield part.name
            else:
                if part.narrows is not None:  # `NAMED where ...`: the set is used
                    yield part.narrows
                yield from order_targets(part)


def warn_unused(
    defines: dict[str, ast.DefineDecl],
    record_sets: dict[str, ast.RecordsDecl],
    blocks: list[ast.CriteriaBlock],
    sink: DiagnosticSink,
) -> None:
    """A definition nothing uses is most often a criterion the author forgot to attach."""
    used: set[str] = set()
    for block in blocks:
        for item in block.items:
            used |= set(names_used(item))
    decls: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    for decl in decls.values():
        used |= set(names_used(decl)) - {decl.name}
    for name, decl in decls.items():
        if name not in used:
            sink.warning("unused", f"'{name}' is defined but no criterion uses it", decl.span)


def check_cycles(
    defines: dict[str, ast.DefineDecl],
    record_sets: dict[str, ast.RecordsDecl],
    sink: DiagnosticSink,
) -> bool:
    """Report each cycle of definitions or record sets once; True when there is none.

    An iterative depth-first search: linear in the definitions, whatever their shape.
    """
    decls: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    graph = {name: sorted(set(names_used(decl)) & decls.keys()) for name, decl in decls.items()}
    done: set[str] = set()
    reported: set[frozenset[str]] = set()
    for root in graph:
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root}
        iterators = [iter(graph[root])]
        while iterators:
            target = next(iterators[-1], None)
            if target is None:
                iterators.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
                continue
            if target in on_path:
                members = path[path.index(target) :]
                if frozenset(members) not in reported:
                    cycle = " -> ".join([*members, target])
                    sink.error(
                        Code.CYCLE, f"'{target}' refers to itself: {cycle}", decls[target].span
                    )
                    reported.add(frozenset(members))
                continue
            if target in done:
                continue
            path.append(target)
            on_path.add(target)
            iterators.append(iter(graph[target]))
    return not reported


def check_depth(
    defines: dict[str, ast.DefineDecl],
    record_sets: dict[str, ast.RecordsDecl],
    items: list[ast.Criterion | ast.Advisory],
    sink: DiagnosticSink,
) -> None:
    """With every definition expanded in place (as an explanation shows a criterion),
    conditions nest at most MAX_DEPTH deep and a criterion has at most MAX_TREE_NODES nodes;
    record sets include one another at most MAX_DEPTH deep. Needs acyclic definitions.

    Each definition is measured once, so a definition used many times costs nothing more.
    """
    decls: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    shape: dict[str, tuple[int, int]] = {}  # name -> (depth, nodes)
    for root in decls:
        # Definitions in dependency order, without recursion: a chain may be long.
        pending = [root]
        while pending:
            current = pending[-1]
            if current in shape:
                pending.pop()
                continue
            decl = decls[current]
            missing = [n for n in names_used(decl) if n in decls and n not in shape]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            if isinstance(decl, ast.RecordsDecl):
                depth = 1 + max(
                    (shape[n][0] for n in names_used(decl) if n in record_sets), default=0
                )
                shape[current] = (depth, 1)
            else:
                assert isinstance(decl, ast.DefineDecl)
                shape[current] = _expr_shape(decl.body, shape)
        depth, nodes = shape[root]
        if depth > MAX_DEPTH:
            what = "record sets include one another" if root in record_sets else "conditions nest"
            sink.error(
                Code.LIMIT,
                f"'{root}': {what} {depth} deep through definitions; the limit is {MAX_DEPTH}",
                decls[root].span,
            )
            return
        if nodes > MAX_TREE_NODES:
            sink.error(
                Code.LIMIT,
                f"'{root}' expands to {nodes} conditions with its definitions written out; "
                f"the limit is {MAX_TREE_NODES}",
                decls[root].span,
            )
            return
    for item in items:
        bodies = [item.when, item.recommend] if isinstance(item, ast.Advisory) else [item.body]
        for body in bodies:
            if body is None:
                continue
            depth, nodes = _expr_shape(body, shape)
            if depth > MAX_DEPTH or nodes > MAX_TREE_NODES:
                sink.error(
                    Code.LIMIT,
                    f"'{item.name}' with its definitions written out nests {depth} deep and "
                    f"holds {nodes} conditions; the limits are {MAX_DEPTH} and {MAX_TREE_NODES}",
                    item.span,
                )


def _expr_shape(expr: ast.Member, shape: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """(depth, nodes) of a condition with the definitions it uses written out in place."""
    if isinstance(expr, ast.Criterion):
        return _expr_shape(expr.body, shape)
    if isinstance(expr, ast.Combinator):
        parts = [_expr_shape(m, shape) for m in expr.members]
        return 1 + max(d for d, _ in parts), 1 + sum(n for _, n in parts)
    if isinstance(expr, ast.Reference):
        depth, nodes = shape.get(expr.name, (0, 0))
        return 1 + depth, 1 + nodes
    return 0, 1  # a test nests nothing: depth counts combinators and references, as parsing does
