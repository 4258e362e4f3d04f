"""Where the grammar and the bundled policies live, in a checkout and once installed.

In a source checkout they are the top-level `grammar/` and `policies_asp/` folders; an installed
package carries copies of both inside `sijfasp/` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # sijfasp/, above core/


def _data_dir(name: str) -> Path:
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def grammar_path() -> Path:
    return _data_dir("grammar") / "sijfasp.lark"


def policies_dir() -> Path:
    """The policies installed with the package; policy_set.discover() decides what a run uses."""
    return _data_dir("policies_asp")


def encodings_dir() -> Path:
    return _PACKAGE / "encodings"
