"""The FHIR package stays outside the core: no core module imports it (cli/fhir.py and
batch/evaluate.py only inside a function, for a FHIR case), and only it imports fhirpathpy
and fhir.resources."""

from __future__ import annotations

import ast

from support import REPO_ROOT

PACKAGE = REPO_ROOT / "sijfasp"


def _imports(path) -> list[tuple[str, bool]]:
    """(module imported, at module level) for every import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.append((module, id(node) in top))
            found += [(f"{module}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def _is_fhir(module: str) -> bool:
    return module in (".fhir", "sijfasp.fhir") or module.startswith((".fhir.", "sijfasp.fhir."))


def test_no_core_module_imports_the_fhir_package():
    for path in [*PACKAGE.glob("*.py"), *PACKAGE.glob("batch/*.py")]:
        name = path.relative_to(PACKAGE).as_posix()
        for module, at_top in _imports(path):
            # One level deeper, `..fhir` is what `.fhir` is at the top.
            if _is_fhir(module[1:] if name.startswith("batch/") else module):
                # The command line and batch, inside a function, when a case is FHIR.
                allowed = name in ("cli/judge.py", "cli/fhir.py", "batch/evaluate.py")
                assert allowed and not at_top, f"{name} imports {module}"


def test_only_the_fhir_package_imports_the_fhir_libraries():
    for path in PACKAGE.rglob("*.py"):
        inside = "fhir" in path.relative_to(PACKAGE).parts[:-1]
        for module, _ in _imports(path):
            if module.split(".")[0] in ("fhirpathpy", "fhir"):
                assert inside, f"{path.relative_to(PACKAGE)} imports {module}"


def test_codings_imports_nothing_of_sijfasp():
    assert not [m for m, _ in _imports(PACKAGE / "core/codings.py") if m.startswith(".")]
