"""Which policy set a run uses: the folder of policy files, and how it was chosen.

In this order: `--policies DIR`, the `SIJFASP_POLICIES` environment variable, a `policies_asp/`
folder holding a policy found from the working directory upwards (as ruff and pytest find their
configuration), and the bundle installed with the package last. A folder that is named (by the
option or the variable) but missing or empty is an error, never a silent fallback: judging a
case by other policies than the author meant would be worse than stopping.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.diagnostics import Code, Diagnostic, SijfaspError
from ..core.resources import policies_dir

ENVIRONMENT_VARIABLE = "SIJFASP_POLICIES"
FOLDER_NAME = "policies_asp"
POLICY_SUFFIX = ".sijp"


class Origin:
    """Where the set in use came from, as output names it."""

    OPTION = "--policies"
    ENVIRONMENT = ENVIRONMENT_VARIABLE
    WORKING_DIRECTORY = "found from the working directory"
    INSTALLED = "installed bundle"


@dataclass(frozen=True)
class PolicySet:
    directory: Path  # absolute
    origin: str  # one of Origin's values

    def policy_paths(self) -> list[Path]:
        return sorted(self.directory.glob("*" + POLICY_SUFFIX))


def holds_policies(directory: Path) -> bool:
    try:
        return directory.is_dir() and any(directory.glob("*" + POLICY_SUFFIX))
    except OSError:
        return False


def _named(directory: Path, origin: str) -> PolicySet:
    """A folder the user named: it must exist and hold at least one policy."""
    shown = str(directory)
    if not directory.is_dir():
        problem = "does not exist" if not directory.exists() else "is not a directory"
        raise SijfaspError(
            [
                Diagnostic(
                    Code.IMPORT,
                    f"the policy set {shown} named by {origin} {problem}",
                    hint=f"name a folder of policy files ({POLICY_SUFFIX}), such as policies_asp",
                    file=shown,
                )
            ]
        )
    if not holds_policies(directory):
        raise SijfaspError(
            [
                Diagnostic(
                    Code.IMPORT,
                    f"the policy set {shown} named by {origin} holds no policy file "
                    f"({POLICY_SUFFIX})",
                    file=shown,
                )
            ]
        )
    return PolicySet(directory.resolve(), origin)


def find_upwards(start: Path) -> Path | None:
    """The nearest `policies_asp/` holding a policy, in `start` or a folder above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if folder.name == FOLDER_NAME and holds_policies(folder):
            return folder  # run from inside the set itself
        candidate = folder / FOLDER_NAME
        if holds_policies(candidate):
            return candidate
    return None


def discover(
    option: Path | str | None = None,
    environment: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> PolicySet:
    """The policy set in use, by the order of the module's docstring."""
    if option is not None:
        return _named(Path(option), Origin.OPTION)
    env = os.environ if environment is None else environment
    named = env.get(ENVIRONMENT_VARIABLE)
    if named:
        return _named(Path(named), Origin.ENVIRONMENT)
    try:
        here = Path.cwd() if cwd is None else cwd
    except OSError:  # the working directory was removed
        here = None
    found = find_upwards(here) if here is not None else None
    if found is not None:
        return PolicySet(found, Origin.WORKING_DIRECTORY)
    return PolicySet(policies_dir().resolve(), Origin.INSTALLED)


def installed() -> PolicySet:
    return PolicySet(policies_dir().resolve(), Origin.INSTALLED)
