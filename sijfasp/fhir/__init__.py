"""FHIR R4 in and out: the prior-authorization exchange of the Da Vinci guides (CRD, DTR, PAS).

Reading turns a PAS request Bundle, a CDS Hooks order request or a QuestionnaireResponse into
the same raw case a YAML file gives (`read.read_fhir`), so every later stage is the one a YAML
case goes through. Writing turns a policy into a DTR questionnaire (`questionnaire.py`) and a
result into a PAS ClaimResponse Bundle (`claim_response.py`).

This package imports the core stages; nothing in the core imports it. It needs the optional
`fhir` extra (fhirpathpy to read, fhir.resources to validate what it writes in the tests):
`require()` says how to install it when it is missing.
"""

from __future__ import annotations

from typing import Any

from ..core.diagnostics import Diagnostic, SijfaspError

INSTALL_LINE = 'pip install "sijfasp[fhir]"'
HOOKS = ("order-sign", "order-select", "order-dispatch")


def is_fhir(data: Any) -> bool:
    """FHIR JSON (a resource names its `resourceType`) or a CDS Hooks request."""
    if not isinstance(data, dict):
        return False
    return "resourceType" in data or ("hook" in data and "hookInstance" in data)


def require(name: str, what: str = "FHIR input", field_path: str | None = "resourceType") -> None:
    """Raise the one clear message when the `fhir` extra is not installed: `name` is where it
    was asked for (the input file, or the option: `--format`), `what` asked for it. A file is
    FHIR by its `resourceType`, which the message points at (`field_path`); an option or a
    command has no JSON path (None)."""
    try:
        import fhirpathpy  # noqa: F401
    except ImportError:
        raise SijfaspError(
            [
                Diagnostic(
                    "case",
                    f"{what} needs the optional FHIR support (the fhir extra), which is not "
                    "installed",
                    hint=f"install it with: {INSTALL_LINE}",
                    field_path=field_path,
                    file=name,
                )
            ]
        ) from None


__all__ = ["HOOKS", "INSTALL_LINE", "is_fhir", "require"]
