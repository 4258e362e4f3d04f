"""The `sijfasp` command: argparse subcommands over the pipeline.

`main(argv) -> int` catches every error the user can cause and prints it as diagnostics on
stderr with exit status 2; results go to stdout. `run()` below it does no error handling.

A run is bounded (see core/limits.py): a watchdog thread stops it after the time limit, and Ctrl-C
stops it at once, even while clingo grounds or solves in C++ (the binding releases the GIL, so
the thread runs; Python's own signal handlers would wait for clingo to return).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import difflib
import enum
import errno
import gc
import os
import select
import signal
import stat
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core import dataclass_code

# What the imports below make lives as long as the process: no collection while they run (a
# cold start would spend a tenth of its time in them). The command itself (entry(), below)
# then freezes it, so that no later collection scans it; a program that imports this module
# keeps its own collector as it was.
_COLLECTING = gc.isenabled()
gc.disable()
try:
    # The data classes of the modules below are made from code compiled in an earlier run.
    with dataclass_code.cached():
        from .. import __version__
        from ..api import DEFAULT_ENUMERATE, Options, evaluate_case
        from ..cases.case import EARLIEST, LATEST, Case
        from ..cases.reader import display_name, file_kind, read_case_file
        from ..cases.vocabulary import case_under, payer_id
        from ..core import textsafe
        from ..core.diagnostics import (
            Diagnostic,
            SijfaspError,
            did_you_mean,
            non_ascii_note,
            render_all,
        )
        from ..core.limits import (
            DEFAULT_LIMITS,
            GIB,
            MIB,
            RAISE_WITH,
            Limits,
            raise_hint,
            too_complex,
        )
        from ..core.source import SourceText
        from ..language.compiler import source_name
        from ..policies import versions
        from ..policies.loaded import LoadedPolicy
        from ..policies.loading import (
            check_distinct,
            is_vocabulary_file,
            load_policy,
            load_vocabulary,
            policy_versions,
            read_source,
            set_policies,
            shown_path,
            source_sha256,
            stale_compiled,
        )
        from ..policies.policy_set import ENVIRONMENT_VARIABLE, PolicySet, discover
        from ..results import render
        from ..results.results import CaseResult, PolicySetInfo
finally:
    if _COLLECTING:
        gc.enable()


class Exit(enum.IntEnum):
    OK = 0
    STALE = 1  # compile --check: a policy's .lp is missing or differs from a fresh compile
    DIFFERS = 1  # diff found cases the two policies decide differently
    BAD_INPUT = 2
    INTERNAL = 3
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a run stopped with Ctrl-C


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: of `command` alone when it is a known command (a run
    parses the options of one command, and each parser and option costs a little to make);
    of every command otherwise, for the help and the messages that list the commands.
    batch.py is imported for a batch only, or for a parser of every command."""
    parser = argparse.ArgumentParser(
        prog="sijfasp",
        description="Check SI joint fusion prior-authorization cases against payer policies.",
    )
    parser.add_argument("--version", action="version", version=f"sijfasp {__version__}")
    # Also accepted before the command (`sijfasp --policies DIR check ...`), as the variable is.
    parser.add_argument(
        "--policies",
        dest="policies_before_command",
        type=Path,
        metavar="DIR",
        help="the policy set, for any command that uses one (as COMMAND --policies DIR)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    every = command not in _HANDLERS
    for name, help_text in _COMMAND_HELP.items():
        if every or name == command:
            _OPTIONS[name](commands.add_parser(name, help=help_text))
    return parser


_COMMAND_HELP = {
    "policies": "list the policies sijfasp knows",
    "check": "the determination of a case under each policy",
    "explain": "every criterion with its evidence, exclusions and advisories",
    "missing": "the minimal sets of missing documentation",
    "questionnaire": "a FHIR Questionnaire of what a policy reads (docs/fhir.md)",
    "compile": "compile a policy file to ASP",
    "lint": "check policy and vocabulary files, report every problem",
    "fmt": "rewrite policy and vocabulary files in canonical layout",
    "batch": "check many cases, one JSON line per case",
    "test": "run the policy tests; --coverage shows what they saw",
    "diff": "the criteria two policies or versions decide differently, with witnesses",
    "lsp": "a language server for policy and vocabulary files, over stdio",
    "serve": "the CRD, DTR and PAS service over HTTP, with a reviewer's page (docs/serve.md)",
}


def _policies_options(listing: argparse.ArgumentParser) -> None:
    listing.add_argument("--format", choices=("text", "json"), default="text")
    _policies_option(listing)


def _case_options(sub: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    sub.add_argument(
        "cases",
        nargs="+",
        type=Path,
        metavar="case",
        help="case files (YAML or JSON) or directories of them; - reads standard input",
    )
    _policy_options(sub)
    sub.add_argument("--format", choices=formats, default="text")
    sub.add_argument(
        "--enumerate",
        type=_count,
        default=None,
        metavar="N",
        help=f"list the N best minimal sets of missing documentation, fewest "
        f"items first (0: all; default {DEFAULT_ENUMERATE} in JSON, "
        f"{render.MAX_SETS_SHOWN} in text)",
    )
    _case_limit_options(sub)
    _run_limit_options(sub)


def _check_options(sub: argparse.ArgumentParser) -> None:
    _case_options(sub, ("text", "json", "claim-response"))
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


def _explain_options(sub: argparse.ArgumentParser) -> None:
    _case_options(sub, ("text", "json", "markdown"))


def _missing_options(missing: argparse.ArgumentParser) -> None:
    _case_options(missing, ("text", "json", "markdown", "questionnaire"))
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


def _questionnaire_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("policy_ref", metavar="POLICY[@VERSION]", help="the policy, by id")
    sub.add_argument("--service", default=None, help="only what the policy reads for this service")
    _policies_option(sub)


def _compile_options(compile_: argparse.ArgumentParser) -> None:
    compile_.add_argument("policy", nargs="?", type=Path, help="the policy file (.sijp)")
    compile_.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    mode = compile_.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a policy of the set in use has no compiled .lp or one that differs "
        "from a fresh compile",
    )
    mode.add_argument(
        "--write",
        action="store_true",
        help="recompile every policy of the set in use into its .lp",
    )
    _policies_option(compile_)
    _run_limit_options(compile_)


def _lint_options(lint: argparse.ArgumentParser) -> None:
    lint.add_argument(
        "files",
        nargs="*",
        metavar="policies",
        type=Path,
        help="policy (.sijp) or vocabulary (.sijv) files (default: the policies of the set in use)",
    )
    _policies_option(lint)
    _run_limit_options(lint)


def _fmt_options(fmt: argparse.ArgumentParser) -> None:
    fmt.add_argument(
        "paths", nargs="+", type=Path, help="files (.sijp, .sijv) or folders holding them"
    )
    fmt.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 listing the files to format"
    )
    fmt.add_argument("--diff", action="store_true", help="with --check, show each change as a diff")
    _run_limit_options(fmt)


def _batch_options(batch_: argparse.ArgumentParser) -> None:
    from .. import batch

    batch.add_arguments(batch_)
    _policy_options(batch_)
    _case_limit_options(batch_)
    _run_limit_options(batch_)


def _test_options(test: argparse.ArgumentParser) -> None:
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="test files (default: the tests of every policy of the set in use)",
    )
    test.add_argument(
        "--update", action="store_true", help="write the actual results into the test files"
    )
    test.add_argument(
        "--coverage", action="store_true", help="which statuses the tests saw, per criterion"
    )
    test.add_argument(
        "--fail-under-full", action="store_true", help="exit 1 unless coverage is full"
    )
    test.add_argument(
        "--mutate",
        action="store_true",
        help="mutation testing: which small changes of the policy no test notices "
        "(paths may then name policies: ID, ID@VERSION)",
    )
    test.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="with --mutate: processes judging mutants (default: up to 4, one per core)",
    )
    _policies_option(test)
    _run_limit_options(test)


def _diff_options(diff: argparse.ArgumentParser) -> None:
    diff.add_argument("a", metavar="A", help="a policy id, ID@VERSION, or a .sijp file")
    diff.add_argument("b", metavar="B", help="a policy id, ID@VERSION, or a .sijp file")
    diff.add_argument("--service", help="only this service (default: every service of A or B)")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    diff.add_argument(
        "--write-cases", type=Path, metavar="DIR", help="write each witness case into DIR"
    )
    _run_limit_options(diff)
    diff.set_defaults(time_limit=_default("time_limit") or DIFF_TIME_LIMIT)
    for action in diff._actions:
        if action.dest == "time_limit":
            action.help = f"stop a run that takes longer (0: no limit; default {DIFF_TIME_LIMIT:g})"


def _lsp_options(lsp: argparse.ArgumentParser) -> None:
    pass  # no options of its own


def _serve_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    sub.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    _policies_option(sub)
    sub.add_argument(
        "--db",
        default="sijfasp.db",
        metavar="PATH|URL",
        help="SQLite file (created on first start) or postgresql:// URL (default sijfasp.db)",
    )
    sub.add_argument(
        "--config", type=Path, metavar="FILE", help="the server's TOML file: clients, routes"
    )
    sub.add_argument(
        "--dev",
        action="store_true",
        help="no authentication, on 127.0.0.1 only: for trying it on this machine",
    )


_OPTIONS = {
    "policies": _policies_options,
    "check": _check_options,
    "explain": _explain_options,
    "missing": _missing_options,
    "questionnaire": _questionnaire_options,
    "compile": _compile_options,
    "lint": _lint_options,
    "fmt": _fmt_options,
    "batch": _batch_options,
    "test": _test_options,
    "diff": _diff_options,
    "lsp": _lsp_options,
    "serve": _serve_options,
}


def _default(name: str) -> str | None:
    """The environment variable that sets a limit's default, when it is set."""
    return os.environ.get(RAISE_WITH[name][1])


def _policy_options(sub: argparse.ArgumentParser) -> None:
    """Which policies a command judges by: --policies, --policy and --policy-file."""
    _policies_option(sub)
    sub.add_argument(
        "--policy",
        action="append",
        metavar="ID[@VERSION]",
        help="only this policy (repeatable), in the version in effect on the request date, or "
        "in the VERSION named; default: every policy of the set in use",
    )
    sub.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="DATE",
        help="choose each policy's version as in effect on DATE (YYYY-MM-DD) instead of the "
        "request date; the request date still anchors time windows",
    )
    sub.add_argument(
        "--policy-file",
        action="append",
        type=Path,
        metavar="FILE",
        help="use this policy file instead of a policy set (repeatable)",
    )


def _policies_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--policies",
        type=Path,
        metavar="DIR",
        help=f"the policy set: a folder of policy files (default: ${ENVIRONMENT_VARIABLE}, "
        "else a policies_asp/ found from the working directory upwards, else the installed "
        "bundle)",
    )


def policy_set(args: argparse.Namespace) -> PolicySet:
    """The policy set of a run (policies/policy_set.py: the order in which it is looked for)."""
    chosen = discover(getattr(args, "policies", None))
    _regular_files(chosen.policy_paths())
    return chosen


def set_info(args: argparse.Namespace) -> PolicySetInfo:
    """The set a run's policies come from, as output names it."""
    if getattr(args, "policy_file", None):
        return PolicySetInfo(None, "--policy-file")
    chosen = policy_set(args)
    return PolicySetInfo(str(chosen.directory), chosen.origin)


def _case_limit_options(sub: argparse.ArgumentParser) -> None:
    d = DEFAULT_LIMITS
    sub.add_argument(
        "--max-file-size",
        type=_size,
        default=_default("max_file_bytes") or d.max_file_bytes,
        metavar="BYTES",
        help=f"largest case file read, e.g. 5M (default {d.max_file_bytes:,} bytes)",
    )
    sub.add_argument(
        "--max-records",
        type=_count,
        default=_default("max_records") or d.max_records,
        metavar="N",
        help=f"most records in one case (default {d.max_records:,})",
    )
    sub.add_argument(
        "--max-string-length",
        type=_count,
        default=_default("max_string_length") or d.max_string_length,
        metavar="N",
        help=f"longest text in a case, in characters (default {d.max_string_length:,})",
    )
    sub.add_argument(
        "--max-record-years",
        type=_count,
        default=_default("max_record_years") or d.max_record_years,
        metavar="N",
        help=f"how many years before the request a record may be dated "
        f"(default {d.max_record_years})",
    )


def _run_limit_options(sub: argparse.ArgumentParser) -> None:
    d = DEFAULT_LIMITS
    sub.add_argument(
        "--time-limit",
        type=_seconds,
        default=_default("time_limit") or d.time_limit,
        metavar="SECONDS",
        help=f"stop a run that takes longer (0: no limit; default {d.time_limit:g})",
    )
    sub.add_argument(
        "--memory-limit",
        type=_size,
        default=_default("memory_limit") or d.memory_limit,
        metavar="BYTES",
        help=f"most memory a run may use, e.g. 4G (0: no limit; default "
        f"{d.memory_limit // GIB} GiB; where the platform allows)",
    )


_UNITS = {"": 1, "K": 1024, "M": MIB, "G": GIB}


def _size(text: str | int) -> int:
    """Bytes: a whole number, optionally followed by K, M or G (KiB, MiB, GiB)."""
    if isinstance(text, int):
        return text
    word = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = word[-1:] if word[-1:] in ("K", "M", "G") else ""
    try:
        value = int(word[: len(word) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size in bytes such as 5000000, 5M or 4G, got '{text}'"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 or more")
    return value


def _seconds(text: str | float) -> float:
    if isinstance(text, (int, float)):
        return float(text)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("expected 0 or more seconds")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got '{text}'") from None


# A letter's date is one a case may have, and its reply is asked for within a year of it.
MAX_REPLY_DAYS = 365


def _letter_date(text: str) -> dt.date:
    date = _date(text)
    if not EARLIEST <= date <= LATEST:
        raise argparse.ArgumentTypeError(
            f"{date.isoformat()} is outside the dates sijfasp accepts "
            f"({EARLIEST.isoformat()}..{LATEST.isoformat()})"
        )
    return date


def _reply_days(text: str | int) -> int:
    days = _count(text)
    if days > MAX_REPLY_DAYS:
        raise argparse.ArgumentTypeError(
            f"expected a number of days from 0 to {MAX_REPLY_DAYS}, got {days}"
        )
    return days


def _count(text: str | int) -> int:
    if isinstance(text, int):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 or more")
    return value


# ------------------------------------------------------------------ commands
def _select_policies(args: argparse.Namespace) -> list[LoadedPolicy]:
    """Every version of the policies asked for; `--policy ID@VERSION` keeps that one only."""
    if args.policy_file:
        if args.policies is not None:
            raise SijfaspError(
                [
                    Diagnostic(
                        "property",
                        "--policies and --policy-file each name the policies to use; give one",
                        file="--policies",
                    )
                ]
            )
        _regular_files(args.policy_file)
        policies = list(policy_versions(load_policy(p) for p in args.policy_file))
    else:
        policies = list(set_policies(policy_set(args)))
    if not args.policy:
        return policies
    by_id = versions.grouped(policies)
    problems: list[Diagnostic] = []
    asked: dict[str, str | None] = {}
    for text in dict.fromkeys(args.policy):
        policy_id, version = versions.split_reference(text)
        if policy_id not in by_id:
            problems.append(
                Diagnostic(
                    "unknown-name",
                    f"unknown policy '{policy_id}'{non_ascii_note(policy_id)}",
                    hint=_policy_hint(policy_id, list(by_id)),
                    file="--policy",
                )
            )
        elif policy_id in asked and asked[policy_id] != version:
            problems.append(
                Diagnostic(
                    "duplicate-name",
                    f"policy '{policy_id}' is asked for twice, as "
                    f"'{_ref(policy_id, asked[policy_id])}' and '{text}'",
                    hint="name each policy once, with one version at most",
                    file="--policy",
                )
            )
        elif version is not None and not any(v.policy.version == version for v in by_id[policy_id]):
            known = [v.policy.version for v in by_id[policy_id]]
            problems.append(
                Diagnostic(
                    "unknown-name",
                    f"policy '{policy_id}' has no version '{version}'",
                    hint="its versions: " + ", ".join(known),
                    file="--policy",
                )
            )
        asked.setdefault(policy_id, version)
    if problems:
        raise SijfaspError(problems)
    return [
        v
        for policy_id, version in asked.items()
        for v in by_id[policy_id]
        if version is None or v.policy.version == version
    ]


def _pinned(args: argparse.Namespace) -> frozenset[str]:
    """The policy ids `--policy ID@VERSION` fixes to one version, whatever the date."""
    return frozenset(
        policy_id
        for policy_id, version in map(versions.split_reference, args.policy or ())
        if version is not None
    )


def _ref(policy_id: str, version: str | None) -> str:
    return policy_id if version is None else f"{policy_id}{versions.VERSION_SEPARATOR}{version}"


def _policy_hint(name: str, known: list[str]) -> str:
    """A did-you-mean for a policy id, whatever its letter case or when it names the payer."""
    folded = name.lower()
    close = [k for k in known if k.lower() == folded] or [k for k in known if payer_id(k) == folded]
    if len(close) == 1:
        return f"did you mean '{close[0]}'?"
    return did_you_mean(folded, known) or "known: " + ", ".join(known)


def _regular_files(paths: Sequence[Path]) -> None:
    """Policy and vocabulary files are read only when they are regular files: a named pipe
    would block and a device would never end."""
    problems = []
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue  # the loader reports a missing or unreadable file in its own words
        if not stat.S_ISREG(mode):
            problems.append(
                Diagnostic(
                    "import",
                    f"cannot read {textsafe.terminal(str(path))}: {file_kind(mode)}, "
                    "not a regular file",
                    file=textsafe.terminal(str(path)),
                )
            )
    if problems:
        raise SijfaspError(problems)


def _case_limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_file_bytes=args.max_file_size,
        max_records=args.max_records,
        max_string_length=args.max_string_length,
        max_record_years=args.max_record_years,
        time_limit=args.time_limit,
        memory_limit=args.memory_limit,
    )


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


def _cmd_case(args: argparse.Namespace) -> int:
    policies = _select_policies(args)
    limits = _case_limits(args)
    cases: list[tuple[Case, list[LoadedPolicy]]] = []
    problems: list[SijfaspError] = []
    fhir_read: dict[str, Any] = {}  # case path -> what the FHIR reader found
    for path in _case_paths(args.cases):
        try:
            data = read_case_file(path, limits)
            if _fhir_input(data, args):
                cases.append(
                    _fhir_case(data, policies, display_name(path), limits, args, fhir_read)
                )
                continue
            cases.append(case_under(data, policies, display_name(path), limits))
        except SijfaspError as error:
            problems.append(error)
    if problems:  # every problem of every case at once
        combined = SijfaspError([d for p in problems for d in p.diagnostics])
        for problem in problems:
            combined.sources.update(problem.sources)
        raise combined
    if args.enumerate is not None:
        options = Options(enumerate=args.enumerate)
    elif args.format in ("json", *_FHIR_FORMATS):
        options = Options(enumerate=DEFAULT_ENUMERATE)
    else:
        # Text and Markdown list sets only when there are few; the grouped view covers the rest.
        options = Options(enumerate=render.MAX_SETS_SHOWN, rank=False)
    if getattr(args, "no_missing", False):
        options = dataclasses.replace(options, missing=False)
    pinned = _pinned(args)
    info = set_info(args)
    results = [
        dataclasses.replace(
            evaluate_case(chosen, case, options, args.as_of, pinned), policy_set=info
        )
        for case, chosen in cases
    ]
    if args.format in _FHIR_FORMATS or (args.format == "json" and any(fhir_read.values())):
        output = _fhir_output(args, results, cases, fhir_read)  # JSON: with the FHIR sources
    elif args.format == "json":
        output = render.json_cases(results)
    else:
        # One section per case; Markdown documents are parted by a rule.
        separator = "\n---\n\n" if args.format == "markdown" else "\n"
        output = separator.join(_formatted(args, result) for result in results)
    _write_output(output, final=True)
    return Exit.OK


# ------------------------------------------------------------------ FHIR (docs/fhir.md)
_FHIR_FORMATS = ("claim-response", "questionnaire")


def _fhir_input(data: Any, args: argparse.Namespace) -> bool:
    """FHIR JSON (a resource, or a CDS Hooks request), or a case `--answers` completes."""
    fhir = isinstance(data, dict) and (
        "resourceType" in data or ("hook" in data and "hookInstance" in data)
    )
    return fhir or getattr(args, "answers", None) is not None


def _fhir_case(
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


def _fhir_output(
    args: argparse.Namespace,
    results: list[CaseResult],
    cases: list[tuple[Case, list[LoadedPolicy]]],
    read: dict[str, Any],
) -> str:
    from ..fhir import commands, require

    require("--format", f"--format {args.format}")
    return commands.output(args.format, results, cases, read)


def _cmd_questionnaire(args: argparse.Namespace) -> int:
    from ..fhir import commands, require

    require("questionnaire", "sijfasp questionnaire")
    args.policy, args.policy_file = [args.policy_ref], None
    output = commands.questionnaire(_select_policies(args), args.policy_ref, args.service)
    _write_output(output, final=True)
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


def _cmd_policies(args: argparse.Namespace) -> int:
    listing = []
    chosen = policy_set(args)
    for loaded in set_policies(chosen):
        policy = loaded.policy
        listing.append(
            {
                "id": policy.id,
                "version": policy.version,
                "payer": policy.payer,
                "title": policy.title,
                "document": policy.document,
                "number": policy.number,
                "effective": policy.effective.isoformat(),
                "effective_for": {plan: date.isoformat() for plan, date in policy.plan_effective},
                "cite": policy.cite,
                "file": source_name(policy.path),
                "services": [
                    {
                        "service": s.name,
                        "cpt": s.cpt,  # the first code, as before several were allowed
                        "cpt_codes": list(s.cpt_codes),
                        "section": s.section,
                        "label": s.label,
                    }
                    for s in policy.services
                ],
                "source_sha256": source_sha256(loaded),
            }
        )
    info = PolicySetInfo(str(chosen.directory), chosen.origin)
    _write_output(
        render.json_policies(listing, info)
        if args.format == "json"
        else render.text_policies(listing, info)
    )
    return Exit.OK


def compiled_path(policy_path: Path) -> Path:
    return policy_path.with_suffix(".lp")


def _cmd_compile(args: argparse.Namespace) -> int:
    if args.check or args.write:
        if args.policy is not None or args.output is not None:
            raise SijfaspError(
                [
                    Diagnostic(
                        "property",
                        "--check and --write work on the policy set in use; give no file or -o "
                        "(choose the set with --policies DIR)",
                        file="compile",
                    )
                ]
            )
        chosen = policy_set(args)
        loaded = set_policies(chosen)
        not_compiled: list[Path] = []
        stale: list[Path] = []
        # The set's loading orders policies by id and version: pair them with their files by name.
        by_name = {Path(policy.policy.path).name: policy for policy in loaded}
        for path in chosen.policy_paths():
            program = by_name[path.name].compiled.program
            target = compiled_path(path)
            current = target.read_text(encoding="utf-8") if target.is_file() else None
            if current == program:
                continue
            if args.write:
                _write_file(target, program)
                _write_output(f"wrote {target}\n")
            elif current is None:
                not_compiled.append(target)
            else:
                stale.append(target)
        for target in not_compiled:
            _error_output(f"not compiled: {target} does not exist (run: sijfasp compile --write)")
        for target in stale:
            _error_output(
                f"stale: {target} differs from a fresh compile (run: sijfasp compile --write)"
            )
        if args.check and not (stale or not_compiled):
            _write_output(
                f"all compiled policies are up to date ({chosen.directory}, {chosen.origin})\n"
            )
        return Exit.STALE if stale or not_compiled else Exit.OK
    if args.policy is None:
        raise SijfaspError(
            [
                Diagnostic(
                    "property", "name a policy file, or use --check or --write", file="compile"
                )
            ]
        )
    _regular_files([args.policy])
    program = load_policy(args.policy).compiled.program
    if args.output is not None:
        _write_file(args.output, program)
    else:
        _write_output(program)
    return Exit.OK


def _write_file(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    f"cannot write {target}: {error.strerror or error}",
                    file=str(target),
                )
            ]
        ) from None


def _cmd_lint(args: argparse.Namespace) -> int:
    from ..authoring import prove  # only lint asks the solver about the policy itself

    _regular_files(args.files)
    chosen = None if args.files else policy_set(args)
    paths = args.files or (chosen.policy_paths() if chosen else [])
    failures: list[SijfaspError] = []
    warnings = 0
    every: list[LoadedPolicy] = []
    for path in paths:
        try:
            if is_vocabulary_file(path):
                load_vocabulary(path)
                continue
            loaded = load_policy(path, shown_path(chosen, path) if chosen else None)
        except SijfaspError as error:
            failures.append(error)
            continue
        every.append(loaded)
        proven = prove.prove(loaded)  # questions about the policy, decided by the solver
        if any(d.severity == "error" for d in proven):
            failures.append(SijfaspError(list(loaded.policy.warnings) + proven, loaded.sources))
            continue
        shown = list(loaded.policy.warnings) + proven
        stale = stale_compiled(loaded)  # the .lp beside it, as `compile --check` reads it
        if stale is not None:
            shown.append(stale)
        if shown:
            warnings += len(shown)
            print(render_all(shown, {s.path: s for s in loaded.sources}), file=sys.stderr)
    try:
        check_distinct(every)  # one file per id and version
    except SijfaspError as error:
        failures.append(error)
    if failures:
        combined = SijfaspError([d for f in failures for d in f.diagnostics])
        for failure in failures:
            combined.sources.update(failure.sources)
        raise combined
    noun = "file" if any(is_vocabulary_file(p) for p in paths) else "policy file"
    files = f"{len(paths)} {noun}{'s' if len(paths) != 1 else ''}"
    _write_output(
        f"{files}: no errors"
        + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ", no warnings")
        + "\n"
    )
    return Exit.OK


def _cmd_fmt(args: argparse.Namespace) -> int:
    """Format files in place, or with --check list those not in canonical layout."""
    from ..language.formatter import format_source  # imports the parser, which only fmt needs here

    files: list[Path] = []
    for path in args.paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".sijp", ".sijv"))
        else:
            files.append(path)
    changed: list[str] = []
    problems: list[Diagnostic] = []
    sources: dict[str, SourceText] = {}
    for path in files:
        try:  # a file that cannot be read is named, and the others are still formatted
            source = read_source(path)
        except SijfaspError as error:
            problems += error.diagnostics
            continue
        try:
            formatted = format_source(source)
        except SijfaspError as error:
            problems += error.diagnostics
            sources[source.path] = source
            continue
        if formatted == source.text:
            continue
        changed.append(source.path)
        if args.check:
            if args.diff:  # in the output's encoding, as every result is (_write_output)
                _write_output(
                    "".join(
                        difflib.unified_diff(
                            source.text.splitlines(keepends=True),
                            formatted.splitlines(keepends=True),
                            source.path,
                            f"{source.path} (formatted)",
                        )
                    )
                )
        else:
            path.write_text(formatted, encoding="utf-8")
    if problems:
        raise SijfaspError(problems, sources.values())
    if args.check:
        _write_output("".join(f"would reformat {name}\n" for name in changed))
        return Exit.STALE if changed else Exit.OK
    _write_output("".join(f"reformatted {name}\n" for name in changed))
    return Exit.OK


def _cmd_batch(args: argparse.Namespace) -> int:
    from .. import batch

    chosen = None if args.policy_file else policy_set(args)
    return batch.run(args, _select_policies(args), _case_limits(args), chosen)


def _cmd_test(args: argparse.Namespace) -> int:
    from ..authoring import policytests  # only `sijfasp test` reads policy test files

    named: list[str] = []
    if args.mutate:  # `--mutate POLICY`: a path that is no test file names a policy
        named = [str(p) for p in args.paths if not str(p).endswith(policytests.TESTS_SUFFIX)]
        args.paths = [p for p in args.paths if str(p).endswith(policytests.TESTS_SUFFIX)]
    paths = args.paths or policytests.default_test_files(policy_set(args).directory)
    if not paths:
        chosen = policy_set(args)
        raise SijfaspError(
            [
                Diagnostic(
                    "property",
                    f"no test files found in {chosen.directory / policytests.TESTS_FOLDER} "
                    f"({chosen.origin})",
                    file=str(chosen.directory),
                )
            ]
        )
    if args.mutate:
        from ..authoring import mutate

        if args.workers < 0:
            raise SijfaspError(
                [Diagnostic("property", "--workers: expected a number of processes, 1 or more")]
            )
        text, status = mutate.command(paths, named, args.workers or mutate.default_workers())
        _write_output(text, final=True)
        return status
    text, status = policytests.command(paths, args.update, args.coverage, args.fail_under_full)
    _write_output(text, final=True)
    return status


def _cmd_diff(args: argparse.Namespace) -> int:
    """Exit 0 when the two decide every case alike, 1 when they differ (as diff(1) does)."""
    from ..authoring import diff_render, semdiff

    if args.write_cases is not None:  # before the search, which may take minutes
        _check_output_folder(args.write_cases, "--write-cases")
    a, b = semdiff.resolve(args.a), semdiff.resolve(args.b)
    semdiff.check_service(a, b, args.service)
    report = semdiff.semantic_diff(a, b, args.service)
    report.a, report.b = semdiff.shown(report.a, args.a), semdiff.shown(report.b, args.b)
    if args.write_cases is not None:
        try:
            diff_render.write_cases(report, args.write_cases)
        except OSError as error:
            shown = textsafe.terminal(str(args.write_cases))
            raise SijfaspError(
                [
                    Diagnostic(
                        "import",
                        f"cannot write into {shown} (--write-cases): {error.strerror or error}",
                        file=shown,
                    )
                ]
            ) from None
    formats = {"text": diff_render.text, "json": diff_render.to_json}
    _write_output(formats.get(args.format, diff_render.markdown)(report), final=True)
    return Exit.DIFFERS if report.differences else Exit.OK


def _check_output_folder(folder: Path, option: str) -> None:
    """A folder files will be written into: it is a folder, or can be made one, and can be
    written; checked before any work, so that a long run never ends on a refusal."""
    shown = textsafe.terminal(str(folder))
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: nothing could be written through it
            break
        existing = existing.parent
    problem = None
    if existing.is_symlink() and not existing.exists():
        problem = f"{textsafe.terminal(str(existing))} is a symbolic link to nothing"
    elif not existing.is_dir():
        problem = f"{textsafe.terminal(str(existing))} exists and is not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{textsafe.terminal(str(existing))} cannot be written to"
    if problem is not None:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    f"cannot write into {shown} ({option}): {problem}",
                    hint="name a folder, new or existing, to write the witness cases into",
                    file=shown,
                )
            ]
        )


def _cmd_lsp(args: argparse.Namespace) -> int:
    # pygls is the optional `lsp` extra: nothing else imports it.
    try:
        from ..authoring import lsp
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        print("sijfasp: install the lsp extra: pip install 'sijfasp[lsp]'", file=sys.stderr)
        return Exit.BAD_INPUT
    lsp.serve()
    return Exit.OK


def _cmd_serve(args: argparse.Namespace) -> int:
    # The server is the optional `serve` extra: imported by this command alone.
    from ..serve.command import serve

    return serve(args.host, args.port, args.policies, args.db, args.config, args.dev)


_HANDLERS = {
    "batch": _cmd_batch,
    "policies": _cmd_policies,
    "check": _cmd_case,
    "explain": _cmd_case,
    "missing": _cmd_case,
    "questionnaire": _cmd_questionnaire,
    "compile": _cmd_compile,
    "lint": _cmd_lint,
    "fmt": _cmd_fmt,
    "test": _cmd_test,
    "diff": _cmd_diff,
    "lsp": _cmd_lsp,
    "serve": _cmd_serve,
}


def _command(argv: Sequence[str] | None) -> str | None:
    """The subcommand a command line names (its first word that is neither an option nor the
    folder of a `--policies` given before it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--policies":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _plain_command(argv: Sequence[str] | None) -> str | None:
    """The subcommand when nothing but `--policies DIR` comes before it; None otherwise (an
    abbreviated option, `-h`): the parser then has every command."""
    args = list(sys.argv[1:] if argv is None else argv)
    index = 0
    while index < len(args) and args[index].split("=", 1)[0] == "--policies":
        index += 2 if args[index] == "--policies" else 1
    return args[index] if index < len(args) and not args[index].startswith("-") else None


def run(argv: Sequence[str] | None = None) -> int:
    parser = _parser(_plain_command(argv))
    args = parser.parse_args(argv)
    before = args.policies_before_command
    if before is not None:
        if not hasattr(args, "policies"):
            parser.error(f"--policies does not apply to '{args.command}'")
        if args.policies is not None and args.policies != before:
            parser.error("--policies is given twice with different folders")
        args.policies = before
    return _HANDLERS[args.command](args)


def _sources(error: SijfaspError) -> dict[str, SourceText]:
    sources: dict[str, SourceText] = {}
    for diagnostic in error.diagnostics:
        span = diagnostic.span
        if span is None or span.path in sources:
            continue
        source = error.sources.get(span.path)
        if source is None:
            try:
                source = SourceText(span.path, Path(span.path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        sources[span.path] = _displayable(source)
    return sources


QUOTED_LINE_WIDTH = 300


def _displayable(source: SourceText) -> SourceText:
    """The text as its lines are quoted under a diagnostic: control characters escaped (tabs
    kept, for the caret), and a very long line cut."""
    lines = [
        textsafe.shorten(textsafe.terminal(line, keep_tabs=True), QUOTED_LINE_WIDTH)
        for line in source.text.splitlines()
    ]
    return SourceText(source.path, "\n".join(lines))


# ------------------------------------------------------------------ output
class OutputError(Exception):
    """Standard output cannot be written (a full disk, an I/O error); not a closed pipe."""


# Marks for a console whose encoding has no ✓ ✗ (PYTHONIOENCODING=ascii, LANG=C).
ASCII_MARKS = str.maketrans({"✓": "+", "✗": "x", "·": "-", "…": "...", "—": "-", "\u2013": "-"})


def fit_encoding(text: str, encoding: str | None) -> str:
    """`text` as the console can show it: ASCII marks, then escapes for anything else."""
    try:
        text.encode(encoding or "utf-8")
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    text = text.translate(ASCII_MARKS)
    try:
        return text.encode(encoding or "ascii", "backslashreplace").decode(encoding or "ascii")
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")


def _error_output(text: str) -> None:
    """A message on standard error, in what the console can show."""
    with contextlib.suppress(OSError, ValueError):
        print(fit_encoding(text, getattr(sys.stderr, "encoding", None)), file=sys.stderr)


def _write_output(text: str, final: bool = False) -> None:
    # After the final result, the deadline no longer applies: no result is cut short by it.
    if final and _ACTIVE_WATCHDOG:
        _ACTIVE_WATCHDOG[-1].stop()
    try:
        sys.stdout.write(fit_encoding(text, getattr(sys.stdout, "encoding", None)))
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(error.strerror or str(error)) from None


# ------------------------------------------------------------------ bounds of a run
_ACTIVE_WATCHDOG: list[_Watchdog] = []


class _Watchdog:
    """Ends the process after the time limit (exit 2) or on Ctrl-C (exit 130), from a thread.

    A signal handler in Python runs only when the main thread returns from C; the C-level
    handler still writes the signal number to the wake-up pipe, which this thread reads.
    """

    def __init__(self, seconds: float, subject: str = "case"):
        self.seconds = seconds
        self.subject = subject
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._stopped = False
        self._closed = False
        self._previous_fd: int | None = None
        self._previous_handler: Any = None
        self._thread = threading.Thread(target=self._watch, name="sijfasp-watchdog", daemon=True)

    def start(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
            # A Python handler that does nothing: the thread decides, not a KeyboardInterrupt.
            self._previous_handler = signal.signal(signal.SIGINT, lambda number, frame: None)
        self._thread.start()

    def stop(self) -> None:
        """The run is done (or is writing its output): no more deadline; Ctrl-C still stops."""
        self._stopped = True
        self.seconds = 0
        self._wake()

    def close(self) -> None:
        """Back to how things were (main() may run again in the same process)."""
        if self._previous_handler is not None:
            signal.set_wakeup_fd(self._previous_fd if self._previous_fd is not None else -1)
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None
        self._closed = True
        self.stop()
        self._thread.join(timeout=1)
        if not self._thread.is_alive():
            os.close(self._read)
            os.close(self._write)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, b"\0")

    def _watch(self) -> None:
        deadline = time.monotonic() + self.seconds if self.seconds else None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._read], [], [], timeout)
            if readable:
                data = os.read(self._read, 64)
                if self._closed:
                    return
                if signal.SIGINT in data:
                    _exit_now(Exit.INTERRUPTED, "sijfasp: interrupted\n")
                if self._stopped:
                    deadline = None
                continue
            if deadline is not None and not self._stopped:
                _exit_now(
                    Exit.BAD_INPUT,
                    f"sijfasp: {too_complex(self.subject, self.seconds)}; "
                    f"{OUTCOME[self.subject]} ({raise_hint('time_limit')})\n",
                )


def _exit_now(status: int, message: str) -> None:
    # os.write, not print: the main thread may hold the lock of sys.stderr.
    with contextlib.suppress(OSError):
        os.write(2, fit_encoding(message, sys.stderr.encoding).encode("utf-8", "replace"))
    os._exit(status)


def _limit_memory(limit: int) -> Any:
    """Bound the address space where the platform can; returns the limits to restore."""
    if not limit:
        return None
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY and limit > hard:
            limit = hard
        if soft != resource.RLIM_INFINITY and soft <= limit:
            return None  # already bounded at least as tightly
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        return (soft, hard)
    except (ValueError, OSError):
        return None


def _restore_memory(previous: Any) -> None:
    if previous is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, previous)


def _bounds(argv: Sequence[str] | None) -> tuple[float, int]:
    """The time and memory limits of a run, from the command line or the environment."""
    args = list(sys.argv[1:] if argv is None else argv)
    time_limit: Any = _default("time_limit") or DEFAULT_LIMITS.time_limit
    if _subject(argv) == "diff" and not _default("time_limit"):
        time_limit = DIFF_TIME_LIMIT  # a search of many cases, each judged by the solver
    if _command(argv) == "test" and "--mutate" in args and not _default("time_limit"):
        time_limit = 0  # hundreds of policies, each judged by its tests: minutes (no limit)
    memory: Any = _default("memory_limit") or DEFAULT_LIMITS.memory_limit
    for index, word in enumerate(args):
        for option in ("--time-limit", "--memory-limit"):
            value = None
            if word == option and index + 1 < len(args):
                value = args[index + 1]
            elif word.startswith(option + "="):
                value = word.split("=", 1)[1]
            if value is None:
                continue
            if option == "--time-limit":
                time_limit = value
            else:
                memory = value
    try:
        return _seconds(time_limit), _size(memory)
    except argparse.ArgumentTypeError:
        return DEFAULT_LIMITS.time_limit, DEFAULT_LIMITS.memory_limit  # argparse reports it


# What did not happen when a run was stopped, by what it worked on.
OUTCOME = {
    "case": "no determination was made",
    "policy": "nothing was compiled or checked",
    "diff": "no differences were reported",
    "lsp": "the language server stopped",
}
# Seconds a diff may take by default: it judges a few hundred cases under both policies.
DIFF_TIME_LIMIT = 600.0


def _subject(argv: Sequence[str] | None) -> str:
    """What a run works on, for the message when it runs out of time or memory."""
    command = _command(argv)
    if command in ("diff", "lsp"):
        return command
    return "policy" if command in ("compile", "lint") else "case"


def _quiet_stdout() -> None:
    # The reader went away (`| head`): send what is left to /dev/null so the exit is quiet.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    time_limit, memory_limit = _bounds(argv)
    subject = _subject(argv)
    if _command(argv) in ("batch", "serve") or subject == "lsp":
        # In a batch the limit is per case (batch.py); a server runs until its editor stops
        # it. Ctrl-C still stops either.
        time_limit = 0
    watchdog = _Watchdog(time_limit, subject)
    watchdog.start()
    _ACTIVE_WATCHDOG.append(watchdog)
    previous_memory = _limit_memory(memory_limit)
    try:
        return int(run(argv))
    except SijfaspError as error:
        _error_output(render_all(error.diagnostics, _sources(error)))
        return Exit.BAD_INPUT
    except KeyboardInterrupt:
        print("sijfasp: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return Exit.OK
    except OutputError as error:
        print(f"sijfasp: cannot write the output: {error}", file=sys.stderr)
        return Exit.BAD_INPUT
    except (MemoryError, RecursionError) as error:
        _restore_memory(previous_memory)  # room to report it
        previous_memory = None
        print(_memory_message(error, memory_limit, subject), file=sys.stderr)
        return Exit.BAD_INPUT
    except (RuntimeError, SystemError) as error:
        # Out of memory inside clingo (std::bad_alloc), or inside CPython's C code, which can
        # then fail without setting an exception.
        if (
            "bad_alloc" in str(error)
            or "memory" in str(error).lower()
            or (isinstance(error, SystemError) and previous_memory is not None)
        ):
            _restore_memory(previous_memory)
            previous_memory = None
            print(_memory_message(error, memory_limit, subject), file=sys.stderr)
            return Exit.BAD_INPUT
        print(f"sijfasp: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return Exit.INTERNAL
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            print(f"sijfasp: {error.strerror or error}", file=sys.stderr)
            return Exit.BAD_INPUT
        print(f"sijfasp: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return Exit.INTERNAL
    except Exception as error:  # a bug in sijfasp, not in the input: say so in one line
        print(f"sijfasp: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return Exit.INTERNAL
    finally:
        _restore_memory(previous_memory)
        _ACTIVE_WATCHDOG.remove(watchdog)
        watchdog.close()


def _bytes_text(size: int) -> str:
    if size >= GIB and size % GIB == 0:
        return f"{size // GIB} GiB"
    return f"{size / MIB:.0f} MiB" if size >= MIB else f"{size:,} bytes"


def _memory_message(error: BaseException, limit: int, subject: str) -> str:
    if isinstance(error, RecursionError):
        return "sijfasp: the input is nested too deeply to be processed"
    bound = f" ({_bytes_text(limit)})" if limit else ""
    return (
        f"sijfasp: the {subject} is too complex to finish within the memory limit{bound}; "
        f"{OUTCOME[subject]} ({raise_hint('memory_limit')})"
    )


def entry() -> None:
    """The `sijfasp` command, in a process of its own: what is loaded by now stays loaded until
    the process ends, so the collector is told never to scan it again."""
    gc.freeze()
    sys.exit(main())


if __name__ == "__main__":
    entry()
