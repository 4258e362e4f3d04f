"""Judging cases: `check`, `explain` and `missing` (their options, reading the cases, evaluating
them and showing the results as text, JSON or Markdown)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..api import DEFAULT_ENUMERATE, Options, evaluate_cases
from ..cases.case import EARLIEST, LATEST, Case
from ..cases.reader import display_name, read_case_file
from ..cases.vocabulary import case_under
from ..core import textsafe
from ..core.diagnostics import Diagnostic, SijfaspError
from ..policies.loaded import LoadedPolicy
from ..results import render
from ..results.results import CaseResult
from .common import (
    Exit,
    case_limit_options,
    case_limits,
    parse_count,
    parse_date,
    pinned_ids,
    policy_options,
    run_limit_options,
    select_policies,
    set_info,
    write_output,
)
from .fhir import FHIR_FORMATS, fhir_case, fhir_input, fhir_output


def case_options(sub: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    sub.add_argument(
        "cases",
        nargs="+",
        type=Path,
        metavar="case",
        help="case files (YAML or JSON) or directories of them; - reads standard input",
    )
    policy_options(sub)
    sub.add_argument("--format", choices=formats, default="text")
    sub.add_argument(
        "--enumerate",
        type=parse_count,
        default=None,
        metavar="N",
        help=f"list the N best minimal sets of missing documentation, fewest "
        f"items first (0: all; default {DEFAULT_ENUMERATE} in JSON, "
        f"{render.MAX_SETS_SHOWN} in text)",
    )
    case_limit_options(sub)
    run_limit_options(sub)


def check_options(sub: argparse.ArgumentParser) -> None:
    case_options(sub, ("text", "json", "claim-response"))
    sub.add_argument(
        "--answers",
        type=Path,
        metavar="QR",
        help="a FHIR QuestionnaireResponse to sijfasp's questionnaire: its answers complete "
        "the case (docs/fhir.md)",
    )
    sub.add_argument(
        "--no-missing",
        action="store_true",
        help="decide each case as documented only: the missing documentation of an "
        "incomplete case is not worked out (faster)",
    )


def explain_options(sub: argparse.ArgumentParser) -> None:
    case_options(sub, ("text", "json", "markdown"))


def missing_options(missing: argparse.ArgumentParser) -> None:
    case_options(missing, ("text", "json", "markdown", "questionnaire"))
    missing.add_argument(
        "--reply-days",
        type=_reply_days,
        default=render.DEFAULT_REPLY_DAYS,
        metavar="N",
        help=f"the letter (--format markdown) asks for a reply within N days "
        f"(default {render.DEFAULT_REPLY_DAYS}, the standard decision window)",
    )
    missing.add_argument(
        "--today",
        type=_letter_date,
        default=None,
        metavar="DATE",
        help="the letter's date, YYYY-MM-DD (default: today)",
    )


# A letter's date is one a case may have, and its reply is asked for within a year of it.
MAX_REPLY_DAYS = 365


def _letter_date(text: str) -> dt.date:
    date = parse_date(text)
    if not EARLIEST <= date <= LATEST:
        raise argparse.ArgumentTypeError(
            f"{date.isoformat()} is outside the dates sijfasp accepts "
            f"({EARLIEST.isoformat()}..{LATEST.isoformat()})"
        )
    return date


def _reply_days(text: str | int) -> int:
    days = parse_count(text)
    if days > MAX_REPLY_DAYS:
        raise argparse.ArgumentTypeError(
            f"expected a number of days from 0 to {MAX_REPLY_DAYS}, got {days}"
        )
    return days


CASE_SUFFIXES = (".yaml", ".yml", ".json")


def _case_paths(paths: Sequence[Path]) -> list[Path]:
    """The case files named, a directory standing for its case files (not its subdirectories)."""
    if sum(1 for p in paths if str(p) == "-") > 1:
        raise SijfaspError(
            [Diagnostic("import", "standard input (-) can be read only once", file="-")]
        )
    found: list[Path] = []
    for path in paths:
        if str(path) != "-" and path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.suffix.lower() in CASE_SUFFIXES and p.is_file()
            )
        else:
            found.append(path)
    if not found:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    "no case file (.yaml, .yml or .json) in "
                    + ", ".join(textsafe.terminal(str(p)) for p in paths),
                    file=textsafe.terminal(str(paths[0])),
                )
            ]
        )
    return found


def cmd_case(args: argparse.Namespace) -> int:
    policies = select_policies(args)
    limits = case_limits(args)
    cases: list[tuple[Case, list[LoadedPolicy]]] = []
    problems: list[SijfaspError] = []
    fhir_read: dict[str, Any] = {}  # case path -> what the FHIR reader found
    for path in _case_paths(args.cases):
        try:
            data = read_case_file(path, limits)
            if fhir_input(data, args):
                cases.append(fhir_case(data, policies, display_name(path), limits, args, fhir_read))
                continue
            cases.append(case_under(data, policies, display_name(path), limits))
        except SijfaspError as error:
            problems.append(error)
    # --today dates the letter (missing --format markdown): never before the request it answers.
    today = getattr(args, "today", None) if args.format == "markdown" else None
    for case, _ in cases:
        if today is not None and today < case.date:
            problems.append(
                SijfaspError(
                    [
                        Diagnostic(
                            "property",
                            f"--today {today.isoformat()} is before the request date "
                            f"{case.date.isoformat()}: a letter cannot be dated before the "
                            "request it answers",
                            file=textsafe.terminal(case.path),
                            hint="give a date on or after the request date",
                        )
                    ]
                )
            )
    if problems:  # every problem of every case at once
        combined = SijfaspError([d for p in problems for d in p.diagnostics])
        for problem in problems:
            combined.sources.update(problem.sources)
        raise combined
    if args.enumerate is not None:
        options = Options(enumerate=args.enumerate)
    elif args.format in ("json", *FHIR_FORMATS):
        options = Options(enumerate=DEFAULT_ENUMERATE)
    else:
        # Text and Markdown list sets only when there are few; the grouped view covers the rest.
        options = Options(enumerate=render.MAX_SETS_SHOWN, rank=False)
    if getattr(args, "no_missing", False):
        options = dataclasses.replace(options, missing=False)
    pinned = pinned_ids(args)
    info = set_info(args)
    # Several cases: their determinations grounded together, a chunk at a time (api).
    results = [
        dataclasses.replace(result, policy_set=info)
        for result in evaluate_cases(cases, options, args.as_of, pinned)
    ]
    if args.format in FHIR_FORMATS or (args.format == "json" and any(fhir_read.values())):
        output = fhir_output(args, results, cases, fhir_read)  # JSON: with the FHIR sources
    elif args.format == "json":
        output = render.json_cases(results)
    else:
        # One section per case; Markdown documents are parted by a rule.
        separator = "\n---\n\n" if args.format == "markdown" else "\n"
        output = separator.join(_formatted(args, result) for result in results)
    write_output(output, final=True)
    return Exit.OK


def _formatted(args: argparse.Namespace, result: CaseResult) -> str:
    if args.format == "markdown":
        if args.command == "missing":  # a letter names each policy's version under its heading
            return _formatted_only(args, result)
        return _formatted_only(args, result) + "\n" + render.markdown_set_line(result)
    line = render.text_set_line(result)
    return _formatted_only(args, result) + ("\n" + line if line else "")


def _formatted_only(args: argparse.Namespace, result: CaseResult) -> str:
    if args.format == "markdown":
        if args.command == "explain":
            return render.markdown_explain(result)
        return render.markdown_missing(result, args.today, args.reply_days)
    if args.command == "check":
        return render.text_check(result)
    if args.command == "explain":
        return render.text_explain(result)
    return render.text_missing(result, args.enumerate is not None)
