"""The FHIR package stays outside the core: no module below the service imports it (cli/fhir.py
and batch/evaluate.py only inside a function, for a FHIR case), and only it imports fhirpathpy
and fhir.resources."""

from __future__ import annotations

import ast

import pytest
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
            joint = "" if module.endswith(".") else "."  # `from . import x` names `.x`
            found += [(f"{module}{joint}{alias.name}", id(node) in top) for alias in node.names]
    return found


def _absolute(module: str, path) -> str:
    """The module a (possibly relative) import names, as `sijfasp.x.y`."""
    dots = len(module) - len(module.lstrip("."))
    if not dots:
        return module
    package = ["sijfasp", *path.relative_to(PACKAGE).parts[:-1]]
    base = package[: len(package) - (dots - 1)]
    rest = module[dots:]
    return ".".join(base + ([rest] if rest else []))


def _is_fhir(module: str) -> bool:
    return module == "sijfasp.fhir" or module.startswith("sijfasp.fhir.")


# Above the FHIR package: the service imports it outright; the command line's FHIR commands,
# `check`'s FHIR input and a batch's FHIR case import it inside a function, when a case is FHIR.
ABOVE_FHIR = ("serve/",)
INSIDE_A_FUNCTION = ("cli/fhir.py", "batch/evaluate.py")


def test_no_core_module_imports_the_fhir_package():
    checked = 0
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith(("fhir/", *ABOVE_FHIR)):
            continue
        checked += 1
        for module, at_top in _imports(path):
            if _is_fhir(_absolute(module, path)):
                allowed = name in INSIDE_A_FUNCTION
                assert allowed and not at_top, f"{name} imports {module}"
    assert checked > 80  # every stage's modules, not only the top level's


def test_relative_imports_are_resolved_from_the_importing_module():
    assert _absolute("..fhir", PACKAGE / "batch/evaluate.py") == "sijfasp.fhir"
    assert _absolute(".fhir", PACKAGE / "cli/judge.py") == "sijfasp.cli.fhir"
    assert _absolute(".", PACKAGE / "api.py") == "sijfasp"


@pytest.mark.slow
def test_only_the_fhir_package_imports_the_fhir_libraries():
    for path in PACKAGE.rglob("*.py"):
        inside = "fhir" in path.relative_to(PACKAGE).parts[:-1]
        for module, _ in _imports(path):
            if module.split(".")[0] in ("fhirpathpy", "fhir"):
                assert inside, f"{path.relative_to(PACKAGE)} imports {module}"


def test_codings_imports_nothing_of_sijfasp():
    assert not [m for m, _ in _imports(PACKAGE / "core/codings.py") if m.startswith(".")]
