"""The import rules of docs/architecture.md, checked on the source.

The layers between the stages are import-linter's contracts in pyproject.toml (`lint-imports`
in CI); these tests keep the finer rules: which modules may import clingo, Lark, PyYAML and
pygls (and the FHIR extra's libraries), what the results model and rendering read, and that no
import runs in a loop.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sijfasp"
# Modules by their path under sijfasp/, without `.py`.
MAY_IMPORT = {
    "clingo": {
        "solve/atoms",
        "solve/case_facts",
        "solve/solver",
        "solve/batched",
        "solve/prune",
        "authoring/prove",
        "authoring/prover",
        "authoring/semdiff",
        "authoring/diff_judge",
        "authoring/witness",
    },
    # The parser's modules: grammar loading, syntax errors, the tree to AST, and the run.
    "lark": {"language/parser", "language/grammar", "language/syntax_errors", "language/to_ast"},
    "yaml": {"cases/reader", "authoring/policytests", "authoring/diff_render"},
    "pygls": {"authoring/lsp"},
    "lsprotocol": {"authoring/lsp"},
    "fhirpathpy": {"fhir/__init__", "fhir/read_resources"},  # the reader evaluates FHIRPath there
    "fhir": {"fhir/__init__", "fhir/read"},  # fhir.resources: only the tests validate with it
}
# A stage imports no later one; render reads only the results model (and escapes user text).
RENDER_READS = {"core/kinds", "results/results", "core/textsafe", "core/wording"}
ONLY_FROM = {
    "results/results": {"core/kinds"},
    # render names the formats' entry points; each format reads the shared words below it.
    "results/render": RENDER_READS
    | {
        "results/render_words",
        "results/render_needs",
        "results/render_text",
        "results/render_markdown",
        "results/render_letter",
        "results/render_json",
    },
    "results/render_words": RENDER_READS,
    "results/render_needs": RENDER_READS,
    "results/render_text": RENDER_READS | {"results/render_words", "results/render_needs"},
    "results/render_markdown": RENDER_READS | {"results/render_words"},
    "results/render_letter": RENDER_READS
    | {"results/render_words", "results/render_needs", "results/render_markdown"},
    "results/render_json": RENDER_READS | {"results/render_words"},
    "core/wording": set(),
    "core/textsafe": set(),
    "core/kinds": set(),
    "core/units": set(),
}


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").as_posix()


@functools.cache
def _modules() -> dict[str, Path]:
    """Every module of the package by name; read once and shared by the tests (and _imports)."""
    return {_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


@functools.cache
def _imports(module: Path) -> tuple[frozenset[str], frozenset[str]]:
    """Third-party top-level names, and the package's modules (by path), a module imports,
    wherever in it (lazy and type-checking imports too). Each module is parsed once per run:
    the tests below share the result."""
    known = _modules()
    here = module.relative_to(PACKAGE).parent.parts
    outside, inside = set(), set()

    def add(parts: list[str]) -> None:
        name = "/".join(parts)
        if name in known:
            inside.add(name)
        elif f"{name}/__init__" in known and name:
            inside.add(f"{name}/__init__")

    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "sijfasp":
                    add(parts[1:])
                else:
                    outside.add(parts[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - node.level + 1])
            elif node.module and node.module.split(".")[0] == "sijfasp":
                base = []
            else:
                if node.module:
                    outside.add(node.module.split(".")[0])
                continue
            rest = (node.module or "").split(".") if node.module else []
            if not node.level:
                rest = rest[1:]
            parts = base + rest
            for alias in node.names:
                if "/".join([*parts, alias.name]) in known:
                    add([*parts, alias.name])
                else:
                    add(parts)
    return frozenset(outside), frozenset(inside - {_name(module)})


def test_only_the_named_modules_import_clingo_lark_yaml_or_pygls():
    for name, module in _modules().items():
        outside, _ = _imports(module)
        for library, allowed in MAY_IMPORT.items():
            if library in outside:
                assert name in allowed, f"{name}.py imports {library}"


def test_every_named_module_exists():
    """A rule about a module that is not there checks nothing (an optional package, fhir/ or
    serve/, may be absent as a whole)."""
    known = set(_modules())
    for allowed in [*MAY_IMPORT.values(), *ONLY_FROM.values(), set(ONLY_FROM)]:
        present = {n for n in allowed if "/" not in n or (PACKAGE / n.split("/")[0]).is_dir()}
        assert present <= known, present - known


def test_results_and_render_read_only_the_results_model():
    for name, allowed in ONLY_FROM.items():
        _, inside = _imports(PACKAGE / f"{name}.py")
        assert inside <= allowed | {"__init__"}, (name, inside - allowed)


def test_no_import_runs_in_a_loop():
    graph = {name: _imports(path)[1] for name, path in _modules().items()}
    # Tarjan's strongly connected components: a component of two or more modules is a loop.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert loops == []


def test_rendering_loads_no_solver():
    code = (
        "import sys, sijfasp.results.render; "
        "print(sorted(m for m in ('clingo', 'lark') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_package_of_the_tree_is_installed():
    # The list of packages in pyproject.toml is written out by hand; a folder missing from it
    # works in an editable checkout and is absent from an installed sijfasp.
    import tomllib

    root = PACKAGE.parent
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(project["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(root).parts)
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set(), "packages missing from pyproject.toml"
    assert {"sijfasp.grammar", "sijfasp.policies_asp"} <= listed  # package data, mapped folders
