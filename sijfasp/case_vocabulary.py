"""A case read with the vocabulary of the policies it is judged under.

That is the union of their vocabularies (extensions.py): an item no one of them knows is an
error with a did-you-mean, and an item of one policy's extension is read, then left out by the
others (case.restrict_case, in api.evaluate).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .api import policies_for_case
from .case import Case, validate_case
from .diagnostics import SijfaspError
from .extensions import union
from .limits import DEFAULT_LIMITS, Limits
from .policies import LoadedPolicy


def case_under(
    data: Any, policies: list[LoadedPolicy], path: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[Case, list[LoadedPolicy]]:
    """The validated case and the policies it is judged under (those of the payer it names,
    else all)."""
    everyone = union([p.policy.vocabulary for p in policies])
    case = validate_case(data, everyone, path, limits)
    chosen = policies_for_case(case, policies)
    own = union([p.policy.vocabulary for p in chosen])
    if own != everyone:  # only the chosen policies' items may be documented
        try:
            case = validate_case(data, own, path, limits)
        except SijfaspError as error:
            judged = ", ".join(p.policy.id for p in chosen)
            hint = f"it belongs to another policy's vocabulary; this case is judged by {judged}"
            error.diagnostics = [
                d if d.hint else dataclasses.replace(d, hint=hint) for d in error.diagnostics
            ]
            raise
    return case, chosen
