"""A case read with the vocabulary of the policies it is judged under.

That is the union of their vocabularies (language/extensions.py): an item no one of them knows is an
error with a did-you-mean, and an item of one policy's extension is read, then left out by the
others (case.restrict_case, in api.evaluate).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..core import textsafe
from ..core.diagnostics import Diagnostic, SijfaspError, did_you_mean
from ..core.limits import DEFAULT_LIMITS, Limits
from ..language.extensions import union
from ..policies.loaded import LoadedPolicy
from .case import Case, validate_case


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


def payer_id(policy_id: str) -> str:
    """The payer a policy is for, as a case names it: the policy id up to its first `_`."""
    return policy_id.split("_", 1)[0].lower()


def _plain(name: str) -> str:
    """A payer's name compared in any letter case, its spaces runs of one."""
    return " ".join(name.split()).casefold()


def policies_for_payer(policies: list[LoadedPolicy], payer: str) -> list[LoadedPolicy]:
    """The policies of the payer a case names: by payer id, full policy id, or the payer's name
    as the policy writes it (the name letters print), any case."""
    wanted = _plain(payer)
    return [
        p
        for p in policies
        if wanted in (payer_id(p.policy.id), p.policy.id.lower(), _plain(p.policy.payer))
    ]


def policies_for_case(case: Case, policies: list[LoadedPolicy]) -> list[LoadedPolicy]:
    """The policies of the payer the case names, or all of them when it names none."""
    payer = case.details.get("payer")
    if payer is None:
        return policies
    chosen = policies_for_payer(policies, payer)
    if chosen:
        return chosen
    names = sorted(
        {payer_id(p.policy.id) for p in policies}
        | {p.policy.id for p in policies}
        | {p.policy.payer for p in policies}
    )
    raise SijfaspError(
        [
            Diagnostic(
                "case",
                f"no policy of the payer '{textsafe.terminal(payer)}' among the policies used",
                hint=did_you_mean(payer.lower(), names) or "payers: " + ", ".join(names),
                field_path="payer",
                file=textsafe.terminal(case.path),
            )
        ]
    )
