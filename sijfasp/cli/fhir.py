"""FHIR at the command line (docs/fhir.md): `questionnaire`, and a case read from FHIR or a
result written as FHIR for `check`. sijfasp.fhir (the optional `fhir` extra) is imported inside
these functions alone."""

from __future__ import annotations

import argparse
from typing import Any

from ..cases.case import Case
from ..core.limits import Limits
from ..policies.loaded import LoadedPolicy
from ..results.results import CaseResult
from .common import Exit, policies_option, select_policies, write_output


def questionnaire_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("policy_ref", metavar="POLICY[@VERSION]", help="the policy, by id")
    sub.add_argument("--service", default=None, help="only what the policy reads for this service")
    policies_option(sub)


FHIR_FORMATS = ("claim-response", "questionnaire")


def fhir_input(data: Any, args: argparse.Namespace) -> bool:
    """FHIR JSON (a resource, or a CDS Hooks request), or a case `--answers` completes."""
    fhir = isinstance(data, dict) and (
        "resourceType" in data or ("hook" in data and "hookInstance" in data)
    )
    return fhir or getattr(args, "answers", None) is not None


def fhir_case(
    data: Any,
    policies: list[LoadedPolicy],
    name: str,
    limits: Limits,
    args: argparse.Namespace,
    read: dict[str, Any],
) -> tuple[Case, list[LoadedPolicy]]:
    from ..fhir import commands, require

    require(name)
    case, chosen, found = commands.read_case(
        data, policies, name, limits, getattr(args, "answers", None)
    )
    read[case.path] = found
    return case, chosen


def fhir_output(
    args: argparse.Namespace,
    results: list[CaseResult],
    cases: list[tuple[Case, list[LoadedPolicy]]],
    read: dict[str, Any],
) -> str:
    from ..fhir import commands, require

    require("--format", f"--format {args.format}", None)
    return commands.output(args.format, results, cases, read)


def cmd_questionnaire(args: argparse.Namespace) -> int:
    from ..fhir import commands, require

    require("questionnaire", "sijfasp questionnaire", None)
    args.policy, args.policy_file = [args.policy_ref], None
    output = commands.questionnaire(select_policies(args), args.policy_ref, args.service)
    write_output(output, final=True)
    return Exit.OK
