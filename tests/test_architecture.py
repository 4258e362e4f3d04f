"""The import rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sijfasp"
MAY_IMPORT = {
    "clingo": {"atoms", "case_facts", "solver", "prune", "prove", "semdiff", "witness"},
    "lark": {"parser"},
}
# A stage imports no later one; render reads only the results model (and escapes user text).
ONLY_FROM = {
    "results": {"kinds"},
    "render": {"kinds", "results", "textsafe", "wording"},
    "wording": set(),
    "textsafe": set(),
    "kinds": set(),
    "units": set(),
}


def _imports(module: Path) -> tuple[set[str], set[str]]:
    """Third-party top-level names and sibling modules a module imports."""
    outside, inside = set(), set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            outside |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.module:
                    inside.add(node.module.split(".")[0])
                else:
                    inside |= {alias.name for alias in node.names}
            elif node.module:
                outside.add(node.module.split(".")[0])
    return outside, inside


def test_only_the_named_modules_import_clingo_or_lark():
    for module in sorted(PACKAGE.glob("*.py")):
        outside, _ = _imports(module)
        for library, allowed in MAY_IMPORT.items():
            if library in outside:
                assert module.stem in allowed, f"{module.name} imports {library}"


def test_results_and_render_read_only_the_results_model():
    for name, allowed in ONLY_FROM.items():
        _, inside = _imports(PACKAGE / f"{name}.py")
        assert inside <= allowed, (name, inside - allowed)


def test_rendering_loads_no_solver():
    code = "import sys, sijfasp.render; print(sorted(m for m in ('clingo', 'lark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
