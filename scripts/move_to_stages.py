"""Move sijfasp's modules into one subpackage per stage (issue 21), on any checkout, any time.

    python scripts/move_to_stages.py            # do the move on this checkout (git mv + edits)
    python scripts/move_to_stages.py --check    # rehearse on a scratch copy; exit 1 if work
    python scripts/move_to_stages.py --root DIR # another checkout

It is safe to run again: on a tree already moved it changes nothing. It stops before changing
anything, and says why, when the tree holds something it has no rule for: a module of
`sijfasp/` missing from `MOVES` (add one line), a text it is to edit that no longer reads as
expected, or a templated file that changed since its template was written.

What it does, in order:
1. Moves a few definitions down a stage, where the code imported upward or in a loop
   (`SYMBOL_MOVES`): the version syntax out of `versions` into the language, the choice of a
   payer's policies out of `api` into the case vocabulary, `LoadedPolicy` into a module of its own.
2. Rewrites every import of a moved module or definition in `sijfasp/`, `tests/`, `scripts/`,
   `benchmarks/` and `docs/`: relative imports inside the package (from the file's new place),
   absolute ones elsewhere, dotted names in strings (`"sijfasp.cli"`), and paths and file names
   of modules in text (`sijfasp/parser.py`, `` `policy_cache.py` ``) in code, docs and README.
3. `git mv`s each module to its stage and writes each stage's `__init__.py` from
   `scripts/stage_layout/init/`, `tests/test_architecture.py`, and the plan's sections of
   `docs/architecture.md` (its other sections kept, their module names rewritten).
4. Edits `pyproject.toml` (packages, entry point, the test extra, a per-test timeout, the
   import-linter contracts from `scripts/stage_layout/importlinter.toml`), `.ci/run` (parallel
   tests, `lint-imports`), README's test command, and the few lines that found files beside
   their own module (`EDITS`, each asserted).
5. Sorts the imports it touched and formats the files it changed (`ruff check --select I,F401
   --fix`, `ruff format`), only those.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "stage_layout"
PACKAGE = "sijfasp"

# Every module of sijfasp/ (old name, as before the move) and where it goes, under sijfasp.
MOVES: dict[str, str] = {
    # core: closed sets and small helpers every stage shares
    "kinds": "core.kinds",
    "units": "core.units",
    "source": "core.source",
    "diagnostics": "core.diagnostics",
    "limits": "core.limits",
    "textsafe": "core.textsafe",
    "wording": "core.wording",
    "resources": "core.resources",
    "user_cache": "core.user_cache",
    "dataclass_code": "core.dataclass_code",
    "codings": "core.codings",  # code systems and their forms: read by semantics and fhir/
    # language: policy text to a checked, compiled policy
    "ast": "language.ast",
    "parser": "language.parser",
    "semantics": "language.semantics",
    "extensions": "language.extensions",
    "compiler": "language.compiler",
    "formatter": "language.formatter",
    "label_numbers": "language.label_numbers",  # a label's numbers against its thresholds
    "version_syntax": "language.version_syntax",  # made by SYMBOL_MOVES
    # policies: which policies, in which version, loaded (or from the cache)
    "policy_set": "policies.policy_set",
    "policies": "policies.loading",
    "loaded_policy": "policies.loaded",  # made by SYMBOL_MOVES
    "versions": "policies.versions",
    "policy_cache": "policies.cache",
    # cases: bytes to a validated Case
    "case_reader": "cases.reader",
    "case": "cases.case",
    "case_vocabulary": "cases.vocabulary",
    # solve: the ASP boundary and clingo
    "atoms": "solve.atoms",
    "case_facts": "solve.case_facts",
    "prune": "solve.prune",
    "solver": "solve.solver",
    # results: a model read into results, and shown
    "results": "results.results",
    "explain": "results.explain",
    "missing": "results.missing",
    "render": "results.render",
    # authoring: tools for policy authors
    "prove": "authoring.prove",
    "policytests": "authoring.policytests",
    "semdiff": "authoring.semdiff",
    "witness": "authoring.witness",
    "diff_render": "authoring.diff_render",
    "lsp": "authoring.lsp",
    "mutate": "authoring.mutate",  # mutation testing of a policy's tests
    # the command line: a package, one module per command group later
    "cli": "cli.commands",
}
# Modules that stay where they are: the package, `python -m sijfasp`, the composition layer
# (sijfasp.api, public), the batch runner (a sibling of the coming fhir/ and serve/).
STAY = {"__init__", "__main__", "api", "batch"}
# The stage packages the move makes; each one's __init__.py is written from stage_layout/init/.
# (Packages other work adds, such as fhir/, stay where they are; their imports are rewritten.)
STAGES = ("core", "language", "policies", "cases", "solve", "results", "authoring", "cli")
# Folders searched for text to rewrite, and single files.
TREES = ("sijfasp", "tests", "scripts", "benchmarks", "docs", "editors", "examples")
FILES = ("README.md", "pyproject.toml", ".ci/run")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".json"}
# This script and its templates are written in both layouts' names: never rewritten.
SKIP = ("scripts/move_to_stages.py", "scripts/stage_layout")


@dataclass(frozen=True)
class SymbolMove:
    """Top-level definitions moved from one module to another (old module names)."""

    source: str
    names: tuple[str, ...]
    target: str
    why: str
    docstring: str = ""  # for a target module that does not exist yet


SYMBOL_MOVES = (
    SymbolMove(
        "versions",
        ("VERSION_PATTERN", "version_problem"),
        "version_syntax",
        "semantics (language) checked a policy's version with policies' versions: upward, in a loop",
        '"""What a policy version may be written as: checked with the policy (semantics) and\n'
        'when a command names one (`--policy ID@VERSION`)."""\n',
    ),
    SymbolMove(
        "api",
        ("payer_id", "policies_for_payer", "policies_for_case"),
        "case_vocabulary",
        "case_vocabulary (cases) imported api for the payer's policies: upward",
    ),
    SymbolMove(
        "policies",
        ("LoadedPolicy",),
        "loaded_policy",
        "versions named policies.LoadedPolicy while policies imports versions: a loop",
        '"""A policy as loaded: checked, compiled, with the source texts it was read from.\n\n'
        "What the policy set, versions, the cache and every later stage pass around; a module of\n"
        'its own so that the versions and the loading of policies need not import each other."""\n',
    ),
)


@dataclass(frozen=True)
class Edit:
    """A precise text edit the move needs: `old` must be there (or `new` already is)."""

    path: str  # after the move
    old: str
    new: str
    why: str
    optional: bool = False  # for a text others may have changed already: skipped if absent
    if_exists: bool = False  # for a file that other work adds: skipped while it is not there


EDITS = (
    Edit(
        "sijfasp/core/resources.py",
        "_PACKAGE = Path(__file__).resolve().parent\n",
        "_PACKAGE = Path(__file__).resolve().parent.parent  # sijfasp/, above core/\n",
        "the grammar, policies and encodings are found from the package's folder",
    ),
    Edit(
        "sijfasp/policies/cache.py",
        "_PACKAGE = Path(__file__).resolve().parent\n",
        "_PACKAGE = Path(__file__).resolve().parent.parent  # sijfasp/, above policies/\n",
        "the cache key hashes every source of the package",
    ),
    Edit(
        "sijfasp/policies/cache.py",
        'for source in [*sorted(_PACKAGE.glob("*.py")), grammar_path(), Path(lark.origin)]:\n'
        '            digest.update(source.name.encode("utf-8") + b"\\0")\n',
        'for source in [*sorted(_PACKAGE.rglob("*.py")), grammar_path(), Path(lark.origin)]:\n'
        "            name = source.relative_to(_PACKAGE) if source.is_relative_to(_PACKAGE) else source\n"
        '            digest.update(str(name).encode("utf-8") + b"\\0")\n',
        "the package's sources are in subfolders now",
    ),
    Edit(
        ".ci/run",
        "mypy sijfasp\n",
        "mypy sijfasp\nlint-imports\n",
        "the layer contracts of pyproject.toml, checked",
    ),
    Edit(
        ".ci/run",
        "python -m pytest -q\n",
        "python -m pytest -q -n auto\n",
        "the README's test command",
    ),
    Edit(
        "README.md",
        "python -m pytest -q\n```\n",
        "python -m pytest -q -n auto\n```\n",
        "the README's test command runs in parallel",
    ),
    Edit(
        "README.md",
        "the second runs the tests (CI runs the same through `bash .ci/run`).\n",
        "the second runs the tests in parallel, one worker per core (pytest-xdist), and stops a test\n"
        "still running after 15 minutes (pytest-timeout); CI runs the same through `bash .ci/run`.\n"
        "The goal on a 2-core machine, idle, is the whole suite in under 4 minutes and the quick tier\n"
        '(`-m "not slow"`, below) in under 30 s. Measured on 2026-12-07 on such a machine, lightly\n'
        "loaded (load average 2 to 5): the whole suite in 6 minutes 33 s (2,163 tests; the semantic\n"
        "diff's fixtures and the oracle's long run take over a minute each), the quick tier in 30 s.\n"
        "Busy (load average 14 to 16) the whole suite took 33 minutes, the quick tier 75 s.\n",
        "the test loop's figures",
    ),
    Edit(
        "README.md",
        '- `python -m pytest -q -m "not slow"` is the quick tier',
        '- `python -m pytest -q -n auto -m "not slow"` is the quick tier',
        "the quick tier runs in parallel too",
    ),
    # Under pytest-xdist a test's folder has a longer path (…/popen-gw0/…), which the text
    # output may wrap inside; two tests compared it with the white space only folded. (Where
    # the tests no longer compare the path, there is nothing to do.)
    Edit(
        "tests/test_policy_set.py",
        "\n\ndef test_the_option_may_come_before_the_command(tmp_path, capsys):\n"
        "    folder = _copy_set(tmp_path)\n"
        "    _aim_with_stricter_block(folder)\n"
        '    code, out, _ = _run(capsys, "--policies", folder, "check", APPROVABLE, "--policy", AIM)\n'
        "    assert code == 0\n"
        '    assert "not met" in out and f"{folder.resolve()} (--policies)" in " ".join(out.split())\n',
        "\n\ndef _unwrapped(text: str) -> str:\n"
        '    """Text without white space: a long path is wrapped anywhere in the text output."""\n'
        '    return "".join(text.split())\n'
        "\n\ndef test_the_option_may_come_before_the_command(tmp_path, capsys):\n"
        "    folder = _copy_set(tmp_path)\n"
        "    _aim_with_stricter_block(folder)\n"
        '    code, out, _ = _run(capsys, "--policies", folder, "check", APPROVABLE, "--policy", AIM)\n'
        "    assert code == 0\n"
        '    assert "not met" in out and _unwrapped(f"{folder.resolve()} (--policies)") in _unwrapped(out)\n',
        "a wrapped path is found under xdist too",
        optional=True,
    ),
    Edit(
        "tests/test_policy_set.py",
        '    tail = " ".join(out.split("policy set:")[1].split())\n'
        '    assert tail.startswith(f"{folder.resolve()} (--policies);")\n'
        "    assert f\"{AIM} sha256 {_sha256(folder / f'{AIM}.sijp')[:12]}\" in tail\n",
        '    tail = _unwrapped(out.split("policy set:")[1])\n'
        '    assert tail.startswith(_unwrapped(f"{folder.resolve()} (--policies);"))\n'
        "    assert _unwrapped(f\"{AIM} sha256 {_sha256(folder / f'{AIM}.sijp')[:12]}\") in tail\n",
        "a wrapped path is found under xdist too",
        optional=True,
    ),
)

# docs/architecture.md keeps its own sections (their module names rewritten like any doc's);
# the head (the plan) and the sections of stage_layout/architecture.md replace theirs or are
# added after the one before them.
ARCHITECTURE = "docs/architecture.md"

# Files written whole from a template, guarded: each may be replaced only while it still is the
# text the template was written against (its sha256 here) or already the template.
TEMPLATED = {
    "tests/test_architecture.py": (
        "test_architecture.py",
        {"7135469d7c2f7dfd923e368f0979ad23f69c255fe065464f0d67ca2094eeb5b2"},
    ),
}


class MoveError(Exception):
    pass


# ------------------------------------------------------------------ names
def new_name(old: str) -> str:
    return f"{PACKAGE}.{MOVES[old]}"


def new_packages() -> dict[str, set[str]]:
    """Each stage package and the module names in it."""
    found: dict[str, set[str]] = {}
    for target in MOVES.values():
        stage, leaf = target.rsplit(".", 1)
        found.setdefault(stage, set()).add(leaf)
    return found


SUBMODULES = new_packages()
# Old modules whose name is also a new package's (policies, results, cli): `sijfasp.policies`
# followed by one of the package's module names is the new package, else the old module.
SHARED_NAMES = {old for old in MOVES if old in SUBMODULES}


def is_new(old: str, following: str | None) -> bool:
    return old in SHARED_NAMES and following in SUBMODULES[old]


def symbol_target(old: str, name: str) -> str | None:
    for move in SYMBOL_MOVES:
        if move.source == old and name in move.names:
            return move.target
    return None


# ------------------------------------------------------------------ 1. definitions moved down
def _top_level_bindings(tree: ast.Module) -> dict[str, ast.stmt]:
    """Name -> the top-level statement binding it (imports also inside `if TYPE_CHECKING:`)."""
    bound: dict[str, ast.stmt] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound[node.name] = node
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound[(alias.asname or alias.name).split(".")[0]] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            bound[name.id] = node
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.body)

    visit(tree.body)
    return bound


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _span(lines: list[str], node: ast.stmt) -> tuple[int, int]:
    """0-based first and last line of a top-level statement, with its decorators and the
    comment lines right above it."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
    while first > 0 and lines[first - 1].startswith("#"):
        first -= 1
    assert node.end_lineno is not None
    return first, node.end_lineno - 1


def _import_text(node: ast.stmt, alias: ast.alias) -> str:
    named = alias.name + (f" as {alias.asname}" if alias.asname else "")
    if isinstance(node, ast.ImportFrom):
        return f"from {'.' * node.level}{node.module or ''} import {named}"
    return f"import {named}"


def _under_type_checking(tree: ast.Module, node: ast.stmt) -> bool:
    return any(
        isinstance(top, ast.If) and _is_type_checking(top) and node in top.body for top in tree.body
    )


def _used_names(nodes: list[ast.stmt]) -> list[str]:
    seen: dict[str, None] = {}
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                seen.setdefault(sub.id, None)
    return list(seen)


def _insert_imports(text: str, runtime: list[str], typing_only: list[str]) -> str:
    """Import lines added after the module's last top-level import (ruff sorts them later)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    bound = _top_level_bindings(tree)
    runtime = [line for line in runtime if line.rsplit(" ", 1)[-1] not in bound]
    typing_only = [line for line in typing_only if line.rsplit(" ", 1)[-1] not in bound]
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    checking = [n for n in tree.body if isinstance(n, ast.If) and _is_type_checking(n)]
    if typing_only and checking:
        end = checking[0].end_lineno
        assert end is not None
        lines[end:end] = [f"    {line}\n" for line in typing_only]
        typing_only = []
    block = [f"{line}\n" for line in runtime]
    if typing_only:
        if "TYPE_CHECKING" not in bound:
            block.append("from typing import TYPE_CHECKING\n")
        block += ["\nif TYPE_CHECKING:\n", *(f"    {line}\n" for line in typing_only)]
    if not block:
        return "".join(lines)
    if imports:
        at = imports[-1].end_lineno
        assert at is not None
    else:  # after the docstring
        first = tree.body[0]
        at = first.end_lineno if isinstance(first, ast.Expr) else 0
        assert at is not None
        block = ["\n", *block]
    lines[at:at] = block
    return "".join(lines)


def move_symbols(root: Path, move: SymbolMove, log: list[str]) -> None:
    source = _module_file(root, move.source)
    target = _module_file(root, move.target)
    text = source.read_text(encoding="utf-8") if source else ""
    tree = ast.parse(text)
    bound = _top_level_bindings(tree)
    defined = {
        n
        for n, node in bound.items()
        if not isinstance(node, (ast.Import, ast.ImportFrom)) and n in move.names
    }
    if not defined:
        target_text = target.read_text(encoding="utf-8") if target else ""
        missing = [
            n for n in move.names if not re.search(rf"^(def|class) {n}\b|^{n} =", target_text, re.M)
        ]
        if missing:
            raise MoveError(
                f"{move.source}: {', '.join(missing)} is neither in {move.source} nor in "
                f"{move.target}: update SYMBOL_MOVES"
            )
        return  # moved already
    if defined != set(move.names):
        raise MoveError(f"{move.source}: only {sorted(defined)} of {move.names} are there")
    if source is None or source.parent != root / PACKAGE:
        raise MoveError(f"{move.source}: definitions move before the modules do; tree half moved?")
    lines = text.splitlines(keepends=True)
    nodes = [bound[n] for n in move.names]
    for node in nodes:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)):
            raise MoveError(f"{move.source}: {type(node).__name__} cannot be moved")
        if node not in tree.body:
            raise MoveError(f"{move.source}: a moved definition is not at the top level")
    spans = sorted(_span(lines, node) for node in nodes)
    code = "\n\n".join("".join(lines[a : b + 1]) for a, b in spans)
    runtime, typing_only = [], []
    for name in _used_names(nodes):
        node = bound.get(name)
        if node is None or node in nodes:
            continue
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            raise MoveError(
                f"{move.source}: the moved code uses {name}, which stays there; move it too "
                "(SYMBOL_MOVES)"
            )
        alias = next(a for a in node.names if (a.asname or a.name).split(".")[0] == name)
        line = _import_text(node, alias)
        (typing_only if _under_type_checking(tree, node) else runtime).append(line)
    # The source without the moved code; it imports back what it still uses.
    kept = [line for i, line in enumerate(lines) if not any(a <= i <= b for a, b in spans)]
    rest = "".join(kept)
    rest_tree = ast.parse(rest)
    still = set(_used_names(rest_tree.body)) | _all_names(rest_tree)
    back = [n for n in move.names if n in still]
    if back:
        rest = _insert_imports(rest, [f"from .{move.target} import {n}" for n in back], [])
    if target is None:
        target = root / PACKAGE / f"{move.target}.py"
        head = move.docstring + "\nfrom __future__ import annotations\n"
        target_text = _insert_imports(head, runtime, typing_only)
        target_text = target_text.rstrip("\n") + "\n\n\n" + code
    else:
        target_text = _drop_imports(target.read_text(encoding="utf-8"), move)
        target_text = _insert_imports(target_text, runtime, typing_only)
        target_text = target_text.rstrip("\n") + "\n\n\n" + code
    source.write_text(rest, encoding="utf-8")
    target.write_text(target_text, encoding="utf-8")
    log.append(f"moved {', '.join(move.names)} from {move.source} to {move.target}: {move.why}")


def _drop_imports(text: str, move: SymbolMove) -> str:
    """The target module without its imports of the moved names from the source."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    for node in reversed(tree.body):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 1
            and node.module == move.source
            and any(a.name in move.names for a in node.names)
        ):
            kept = [a for a in node.names if a.name not in move.names]
            assert node.end_lineno is not None
            row = [
                f"from .{move.source} import "
                + ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept)
                + "\n"
            ]
            lines[node.lineno - 1 : node.end_lineno] = row if kept else []
    return "".join(lines)


def _all_names(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {
                e.value
                for e in ast.walk(node.value)
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return set()


def _module_file(root: Path, old: str) -> Path | None:
    """A module by its old name, where it is now: before or after the move."""
    places = [root / PACKAGE / f"{old}.py"]
    if old in MOVES:
        places.append(root / PACKAGE / (MOVES[old].replace(".", "/") + ".py"))
    return next((p for p in places if p.is_file()), None)


# ------------------------------------------------------------------ 2. imports and names
def package_of(root: Path, path: Path) -> list[str] | None:
    """The package a file of sijfasp/ is in, as parts; None outside sijfasp/."""
    relative = path.relative_to(root)
    if relative.parts[0] != PACKAGE:
        return None
    return list(relative.parts[:-1])


def destination(root: Path, path: Path) -> Path:
    """Where a file of the tree will be after the move."""
    relative = path.relative_to(root)
    if len(relative.parts) == 2 and relative.parts[0] == PACKAGE and path.suffix == ".py":
        old = path.stem
        if old in MOVES:
            return root / PACKAGE / (MOVES[old].replace(".", "/") + ".py")
    return path


def _targets(
    base: str, names: list[ast.alias], where: str
) -> list[tuple[str, ast.alias, str]] | None:
    """For `from BASE import NAMES` (BASE absolute), each name's new module, its new name and
    its old one; None when nothing changes."""
    parts = base.split(".")
    if parts[0] != PACKAGE:
        return None
    out: list[tuple[str, ast.alias, str]] = []
    if len(parts) == 1:  # from sijfasp import module, ...
        changed = False
        for alias in names:
            if alias.name in MOVES:
                stage, leaf = MOVES[alias.name].rsplit(".", 1)
                asname = alias.asname or (alias.name if leaf != alias.name else None)
                out.append((f"{PACKAGE}.{stage}", ast.alias(leaf, asname), alias.name))
                changed = True
            else:
                out.append((base, alias, alias.name))
        return out if changed else None
    old = parts[1]
    if old not in MOVES:
        if len(parts) > 2 or not any(symbol_target(old, a.name) for a in names):
            return None
        # A module that stays, some of whose definitions moved down.
        for alias in names:
            moved_to = symbol_target(old, alias.name)
            out.append((new_name(moved_to) if moved_to else base, alias, alias.name))
        return out
    if len(parts) > 2:
        if old in SHARED_NAMES and parts[2] in SUBMODULES[old]:
            return None  # the new package already
        raise MoveError(f"{where}: cannot map `from {base} import ...`")
    fresh = [is_new(old, a.name) for a in names]
    if all(fresh):
        return None
    if any(fresh):
        raise MoveError(f"{where}: `from {base} import` mixes the old module and the new package")
    for alias in names:
        moved_to = symbol_target(old, alias.name)
        out.append((new_name(moved_to or old), alias, alias.name))
    return out


def _relative(here: list[str], target: str) -> str:
    parts = target.split(".")
    common = 0
    while common < min(len(here), len(parts)) and here[common] == parts[common]:
        common += 1
    if common == 0:
        return target
    return "." * (len(here) - common + 1) + ".".join(parts[common:])


def rewrite_imports(root: Path, path: Path, text: str) -> str:
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise MoveError(f"{path}: {error}") from None
    here_now = package_of(root, path)
    here_new = package_of(root, destination(root, path))
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    replacements: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            if here_now is None:
                continue
            up = here_now[: len(here_now) - (node.level - 1)]
            base = ".".join([*up, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        where = f"{path.relative_to(root)}:{node.lineno}"
        targets = _targets(base, list(node.names), where)
        if targets is None:
            if not (node.level and here_now != here_new):
                continue
            # The module stays, the file importing it moves: the relative spelling changes.
            targets = [(base, alias, alias.name) for alias in node.names]
        groups: dict[str, list[ast.alias]] = {}
        for module, alias, _old in targets:
            groups.setdefault(module, []).append(alias)
        assert node.end_lineno is not None and node.end_col_offset is not None
        start = offsets[node.lineno - 1] + node.col_offset
        end = offsets[node.end_lineno - 1] + node.end_col_offset
        statement = text[start:end]

        def spelled(module: str) -> str:
            if here_new is not None and node.level:
                return _relative(here_new, module)
            return module

        same_names = len(groups) == 1 and all(
            a.name == b.name and a.asname == b.asname
            for a, b in zip(next(iter(groups.values())), node.names)
        )
        if same_names:
            (module,) = groups
            new = re.sub(r"^from\s+[.\w]+\s+import", f"from {spelled(module)} import", statement)
        else:
            if "#" in statement:
                raise MoveError(f"{where}: an import to split holds a comment; split it by hand")
            tail = lines[node.end_lineno - 1][node.end_col_offset :].rstrip("\n")
            comment = tail if tail.strip().startswith("#") else ""
            indent = " " * node.col_offset
            rows = [
                f"from {spelled(m)} import "
                + ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in aliases)
                for m, aliases in groups.items()
            ]
            new = (comment + "\n" + indent).join(rows)
        replacements.append((start, end, new))
    for start, end, new in sorted(replacements, reverse=True):
        text = text[:start] + new + text[end:]
    return text


_OLD = "|".join(sorted(MOVES, key=len, reverse=True))
DOTTED = re.compile(rf"(?<![\w.]){PACKAGE}\.({_OLD})\b(?:\.(\w+))?")
FROM_DOTTED = re.compile(rf"(?<!from )(?<![\w.]){PACKAGE}\.({_OLD})\b(?:\.(\w+))?")
_NAMES = r"\w+(?: as \w+)?(?:, \w+(?: as \w+)?)*"
FROM_TEXT = re.compile(rf"\bfrom ({PACKAGE}(?:\.\w+)*) import ({_NAMES})\b")
PATH = re.compile(rf"(?<![\w.-]){PACKAGE}/({_OLD})\.py\b")
BARE = re.compile(rf"(?<![\w/.-])({_OLD})\.py\b")


def _dotted(match: re.Match[str]) -> str:
    old, following = match.group(1), match.group(2)
    if is_new(old, following):
        return match.group(0)
    moved_to = symbol_target(old, following) if following else None
    module = new_name(moved_to or old)
    return module + (f".{following}" if following else "")


def _from_text(match: re.Match[str]) -> str:
    """`from sijfasp.X import a, b` written in a string or a doc (statements in code were read
    as statements already): each name from its new module, which must be one."""
    names = [ast.alias(*(n.split(" as ") + [None])[:2]) for n in match.group(2).split(", ")]
    targets = _targets(match.group(1), names, f"`{match.group(0)}`")
    if targets is None:
        return match.group(0)
    modules = {module for module, _alias, _old in targets}
    if len(modules) > 1:
        raise MoveError(
            f"`{match.group(0)}` in a text: its names go to {sorted(modules)}; split it"
        )
    (module,) = modules
    return f"from {module} import " + ", ".join(
        a.name + (f" as {a.asname}" if a.asname else "") for _m, a, _o in targets
    )


def rewrite_names(text: str, python: bool = False) -> str:
    """Dotted names, paths and file names of moved modules; in Python, not the `from X
    import` statements, which rewrite_imports has read as statements (only those in strings)."""
    dotted = FROM_DOTTED if python else DOTTED
    text = FROM_TEXT.sub(_from_text, text)
    text = dotted.sub(_dotted, text)
    text = PATH.sub(lambda m: f"{PACKAGE}/{MOVES[m.group(1)].replace('.', '/')}.py", text)
    return BARE.sub(lambda m: f"{MOVES[m.group(1)].replace('.', '/')}.py", text)


# ------------------------------------------------------------------ the tree
def files(root: Path) -> list[Path]:
    """The files whose text the move rewrites (templated ones are written whole instead)."""
    skip = {*(root / name for name in TEMPLATED)}
    skip |= {root / PACKAGE / stage / "__init__.py" for stage in STAGES}
    found: list[Path] = []
    for tree in TREES:
        for path in sorted((root / tree).rglob("*")):
            if (
                path.is_file()
                and path.suffix in TEXT_SUFFIXES
                and path not in skip
                and not any(path.relative_to(root).as_posix().startswith(s) for s in SKIP)
                and not {"__pycache__", ".venv", "node_modules"} & set(path.parts)
            ):
                found.append(path)
    return found + [root / f for f in FILES if (root / f).is_file()]


def unknown_modules(root: Path) -> list[str]:
    """Top-level modules of sijfasp/ that MOVES does not place."""
    return sorted(
        p.stem for p in (root / PACKAGE).glob("*.py") if p.stem not in MOVES and p.stem not in STAY
    )


def check_tree(root: Path) -> None:
    unknown = unknown_modules(root)
    if unknown:
        lines = "\n".join(f'    "{m}": "STAGE.{m}",' for m in unknown)
        raise MoveError(
            "modules of sijfasp/ with no place in MOVES (scripts/move_to_stages.py); add a line "
            f"each:\n{lines}"
        )
    for old in MOVES:
        flat = root / PACKAGE / f"{old}.py"
        moved = root / PACKAGE / (MOVES[old].replace(".", "/") + ".py")
        if flat.is_file() and moved.is_file() and flat != moved:
            raise MoveError(f"both {flat.relative_to(root)} and {moved.relative_to(root)} exist")
    for old in SHARED_NAMES:
        flat = root / PACKAGE / f"{old}.py"
        if flat.is_file():
            tree = ast.parse(flat.read_text(encoding="utf-8"))
            defined = {
                n
                for n, node in _top_level_bindings(tree).items()
                if not isinstance(node, (ast.Import, ast.ImportFrom))
            }
            clash = defined & SUBMODULES[old]
            if clash:
                raise MoveError(
                    f"{old}.py defines {sorted(clash)}, also a module name in the new {old}/: "
                    "rename the module in MOVES"
                )


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True)


def move_files(root: Path, log: list[str]) -> list[Path]:
    moved: list[Path] = []
    for old, new in MOVES.items():
        flat = root / PACKAGE / f"{old}.py"
        if not flat.is_file():
            continue
        target = root / PACKAGE / (new.replace(".", "/") + ".py")
        target.parent.mkdir(exist_ok=True)
        tracked = (
            subprocess.run(
                ["git", "ls-files", "--error-unmatch", str(flat)], cwd=root, capture_output=True
            ).returncode
            == 0
        )
        if tracked:
            git(root, "mv", str(flat.relative_to(root)), str(target.relative_to(root)))
        else:
            flat.rename(target)
            git(root, "add", str(target.relative_to(root)))
        moved.append(target)
        log.append(f"moved {flat.relative_to(root)} to {target.relative_to(root)}")
    return moved


def write_templates(root: Path, log: list[str]) -> list[Path]:
    written: list[Path] = []
    for stage in STAGES:
        path = root / PACKAGE / stage / "__init__.py"
        text = (TEMPLATES / "init" / f"{stage}.py").read_text(encoding="utf-8")
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
            log.append(f"wrote {path.relative_to(root)}")
    for name, (template, replaced) in TEMPLATED.items():
        path = root / name
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        current = path.read_bytes() if path.is_file() else b""
        if current == text.encode("utf-8"):
            continue
        if hashlib.sha256(current).hexdigest() not in replaced:
            raise MoveError(
                f"{name} changed since scripts/stage_layout/{template} was written from it: "
                "carry the change into the template, then add its sha256 to TEMPLATED: "
                f"{hashlib.sha256(current).hexdigest()}"
            )
        path.write_text(text, encoding="utf-8")
        written.append(path)
        log.append(f"wrote {name}")
    return written


# The first line of scripts/stage_layout/importlinter.toml.
CONTRACTS = "# The layers of docs/architecture.md"
# Extras the test loop and the contracts need, added to the named extra when it lacks them.
EXTRAS = {
    "test": ('"pytest-xdist>=3.5"', '"pytest-timeout>=2.3"'),
    "dev": ('"import-linter>=2.1"',),
}
# A test still running after this many seconds has hung (the slowest took 5 minutes on a busy
# 2-core machine).
TIMEOUT = 900


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """A Markdown text's head and its `## ` sections, each (heading line, text)."""
    head, *rest = re.split(r"(?m)^(?=## )", text)
    return head, [(s.split("\n", 1)[0], s.rstrip("\n") + "\n\n") for s in rest]


def _large_modules(root: Path, over: int = 700) -> str:
    """The package's modules over `over` lines, longest first, with their lengths."""
    sizes = []
    for path in (root / PACKAGE).rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > over and "__pycache__" not in path.parts:
            sizes.append((-lines, path.relative_to(root / PACKAGE).as_posix()))
    named = [f"`{name}` ({-lines:,})" for lines, name in sorted(sizes)]
    return "At the move: " + ", ".join(named) + " lines." if named else "None at the move."


def write_architecture(root: Path, log: list[str]) -> list[Path]:
    path = root / ARCHITECTURE
    text = path.read_text(encoding="utf-8")
    plan = (TEMPLATES / "architecture.md").read_text("utf-8")
    template_head, template = _sections(plan.replace("{sizes}", _large_modules(root)))
    _head, sections = _sections(text)
    at = -1  # where the previous template section is
    for heading, section in template:
        names = [h for h, _ in sections]
        if heading in names:
            at = names.index(heading)
            sections[at] = (heading, section)
        else:
            at += 1
            sections.insert(at, (heading, section))
    new = (template_head.rstrip("\n") + "\n\n" + "".join(s for _, s in sections)).rstrip() + "\n"
    if new == text:
        return []
    path.write_text(new, encoding="utf-8")
    log.append(f"{ARCHITECTURE}: the plan, the layers, the departures, where a new thing goes")
    return [path]


def _edit_pyproject(root: Path, log: list[str]) -> None:
    path = root / "pyproject.toml"
    original = text = path.read_text(encoding="utf-8")
    # The package list: every package folder of sijfasp/, and the data folders it lists.
    match = re.search(r"^packages = \[(.*?)\]\n", text, re.M | re.S)
    if match is None:
        raise MoveError("pyproject.toml: no `packages = [...]` line under [tool.setuptools]")
    listed = re.findall(r'"([^"]+)"', match.group(1))
    found = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / PACKAGE).rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    # (A listed name that is a module, not a package, came from rewriting a shared name.)
    listed = [n for n in listed if not (root / (n.replace(".", "/") + ".py")).is_file()]
    packages = sorted(set(listed) | found)
    line = "packages = [" + ", ".join(f'"{p}"' for p in packages) + "]\n"
    if len(line) > 100:
        line = "packages = [\n" + "".join(f'  "{p}",\n' for p in packages) + "]\n"
    text = text[: match.start()] + line + text[match.end() :]
    # The extras of the test loop and of the contracts.
    for extra, wanted in EXTRAS.items():
        match = re.search(rf"^{extra} = \[(.*)\]$", text, re.M)
        if match is None:
            raise MoveError(f"pyproject.toml: no one-line `{extra} = [...]` extra")
        lacking = [w for w in wanted if w.split(">")[0] not in match.group(1)]
        if lacking:
            text = text[: match.end(1)] + "".join(f", {w}" for w in lacking) + text[match.end(1) :]
    # A per-test timeout.
    if not re.search(r"^timeout = ", text, re.M):
        header = "[tool.pytest.ini_options]\n"
        if header not in text:
            raise MoveError("pyproject.toml: no [tool.pytest.ini_options]")
        text = text.replace(
            header,
            header + "# A test still running after this long has hung: stop it and report it.\n"
            f"timeout = {TIMEOUT}\n",
        )
    # The layer contracts: the template in place of any [tool.importlinter] tables.
    contracts = (TEMPLATES / "importlinter.toml").read_text(encoding="utf-8")
    text = text.replace(contracts.splitlines(keepends=True)[0], "")
    out: list[str] = []
    skipping = placed = False
    for row in text.splitlines(keepends=True):
        if row.startswith("["):
            skipping = row.strip().strip("[]").startswith("tool.importlinter")
            if skipping and not placed:
                out.append(contracts + "\n")
                placed = True
        if not skipping:
            out.append(row)
    text = "".join(out).rstrip("\n") + "\n"
    if not placed:
        text += "\n" + contracts
    if text != original:
        path.write_text(text, encoding="utf-8")
        log.append("pyproject.toml: packages, test extras, timeout, import-linter contracts")


def apply_edits(root: Path, log: list[str]) -> list[Path]:
    changed: list[Path] = []
    for edit in EDITS:
        path = root / edit.path
        if not path.is_file():
            if edit.if_exists:
                continue
            raise MoveError(f"{edit.path} is not there ({edit.why})")
        text = path.read_text(encoding="utf-8")
        if edit.new in text:
            continue
        if edit.optional and edit.old not in text:
            continue
        if text.count(edit.old) != 1:
            raise MoveError(
                f"{edit.path}: expected this text once ({edit.why}), found it "
                f"{text.count(edit.old)} times:\n{edit.old}"
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
        changed.append(path)
        log.append(f"{edit.path}: {edit.why}")
    return changed


def check_files_beside(root: Path) -> None:
    """A moved module that finds files beside itself (`__file__`) needs an edit in EDITS."""
    edited = {e.path for e in EDITS}
    for new in MOVES.values():
        path = root / PACKAGE / (new.replace(".", "/") + ".py")
        if path.is_file() and "__file__" in path.read_text(encoding="utf-8"):
            name = str(path.relative_to(root))
            if name not in edited:
                raise MoveError(f"{name} reads __file__: say in EDITS where its files are now")


def ruff(root: Path, paths: list[Path]) -> None:
    python = [str(p.relative_to(root)) for p in paths if p.suffix == ".py" and p.is_file()]
    if not python:
        return
    for args in (["check", "--select", "I,F401", "--fix", "--quiet"], ["format", "--quiet"]):
        done = subprocess.run([sys.executable, "-m", "ruff", *args, *python], cwd=root)
        if done.returncode != 0:
            raise MoveError(
                f"ruff {args[0]} failed on the moved files (is the dev extra installed?)"
            )


def rehearse(root: Path) -> list[str]:
    """The whole move on a scratch copy of the checkout (its tracked and untracked files, not
    the ignored ones), so that whatever stops it stops it before the checkout changes."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    with tempfile.TemporaryDirectory(prefix="move-to-stages-") as scratch:
        copy = Path(scratch)
        for name in filter(None, listed.split("\0")):
            if (root / name).is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, copy / name)
        git(copy, "init", "--quiet")
        git(copy, "add", "--all")
        git(copy, "-c", "user.name=move", "-c", "user.email=move@localhost", "commit", "-qm", "-")
        return run(copy)


# ------------------------------------------------------------------ main
def run(root: Path) -> list[str]:
    log: list[str] = []
    check_tree(root)
    before = {p: p.read_bytes() for p in files(root)}
    for move in SYMBOL_MOVES:
        move_symbols(root, move, log)
    check_tree(root)  # the new modules are placed too
    texts: dict[Path, str] = {}
    for path in files(root):
        text = path.read_text(encoding="utf-8")
        new = rewrite_imports(root, path, text) if path.suffix == ".py" else text
        if path.name == "pyproject.toml":
            # The package list and the contracts are written whole in the new names.
            kept = re.compile(rf"^packages = \[.*?\]$|^{re.escape(CONTRACTS)}.*", re.M | re.S)
            parts, at = [], 0
            for match in kept.finditer(new):
                parts += [rewrite_names(new[at : match.start()]), match.group()]
                at = match.end()
            new = "".join([*parts, rewrite_names(new[at:])])
        else:
            new = rewrite_names(new, python=path.suffix == ".py")
        if new != text:
            texts[path] = new
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    if texts:
        log.append(f"rewrote imports and names in {len(texts)} files")
    if move_files(root, log):
        log.append(
            "the console script now runs sijfasp.cli.commands:entry: reinstall the package "
            "(pip install -e . in a development checkout)"
        )
    check_files_beside(root)
    written = write_templates(root, log)
    apply_edits(root, log)
    _edit_pyproject(root, log)
    changed = [p for p in files(root) if before.get(p) != p.read_bytes()] + written
    if changed:
        ruff(root, changed)
    changed += write_architecture(root, log)  # after ruff: it counts the modules' lines
    if not changed:
        return []  # the tree was moved already
    git(root, "add", "--", *sorted({str(p.relative_to(root)) for p in changed if p.is_file()}))
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE.parent, help="the checkout")
    parser.add_argument(
        "--check", action="store_true", help="rehearse on a copy only; exit 1 if there is work"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        log = rehearse(root)
        if log and not args.check:
            log = run(root)
    except MoveError as error:
        print(f"move_to_stages: {error}", file=sys.stderr)
        return 2
    for line in log:
        print(line)
    if not log:
        print("nothing to do: the tree is moved already")
    return 1 if args.check and log else 0


if __name__ == "__main__":
    sys.exit(main())
