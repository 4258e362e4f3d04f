"""The `sijfasp` command: argparse subcommands over the pipeline; the parser of every command
assembled from the command groups' modules (judge, fhir, author, batch, lsp, serve, over
common), and the run's bounds and error handling.

`main(argv) -> int` catches every error the user can cause and prints it as diagnostics on
stderr with exit status 2; results go to stdout. `run()` below it does no error handling.
`entry()` is the console script.

A run is bounded (see core/limits.py): a watchdog thread stops it after the time limit, and Ctrl-C
stops it at once, even while clingo grounds or solves in C++ (the binding releases the GIL, so
the thread runs; Python's own signal handlers would wait for clingo to return).
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import sys
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
        from ..core.diagnostics import SijfaspError, render_all
        from ..core.limits import DEFAULT_LIMITS, GIB, MIB, raise_hint
        from . import author, batch, fhir, judge, lsp, serve
        from .common import (
            ACTIVE_WATCHDOG,
            DIFF_TIME_LIMIT,
            OUTCOME,
            Exit,
            OutputError,
            Watchdog,
            error_output,
            limit_default,
            parse_seconds,
            parse_size,
            quoted_sources,
        )
finally:
    if _COLLECTING:
        gc.enable()


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: of `command` alone when it is a known command (a run
    parses the options of one command, and each parser and option costs a little to make);
    of every command otherwise, for the help and the messages that list the commands.
    sijfasp/batch/ is imported for a batch only, or for a parser of every command."""
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


_OPTIONS = {
    "policies": author.policies_options,
    "check": judge.check_options,
    "explain": judge.explain_options,
    "missing": judge.missing_options,
    "questionnaire": fhir.questionnaire_options,
    "compile": author.compile_options,
    "lint": author.lint_options,
    "fmt": author.fmt_options,
    "batch": batch.batch_options,
    "test": author.test_options,
    "diff": author.diff_options,
    "lsp": lsp.lsp_options,
    "serve": serve.serve_options,
}


_HANDLERS = {
    "batch": batch.cmd_batch,
    "policies": author.cmd_policies,
    "check": judge.cmd_case,
    "explain": judge.cmd_case,
    "missing": judge.cmd_case,
    "questionnaire": fhir.cmd_questionnaire,
    "compile": author.cmd_compile,
    "lint": author.cmd_lint,
    "fmt": author.cmd_fmt,
    "test": author.cmd_test,
    "diff": author.cmd_diff,
    "lsp": lsp.cmd_lsp,
    "serve": serve.cmd_serve,
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
    time_limit: Any = limit_default("time_limit") or DEFAULT_LIMITS.time_limit
    if _subject(argv) == "diff" and not limit_default("time_limit"):
        time_limit = DIFF_TIME_LIMIT  # a search of many cases, each judged by the solver
    if _command(argv) == "test" and not limit_default("time_limit"):
        # A policy set's tests (with --mutate, hundreds of mutants): no limit unless given.
        time_limit = 0
    memory: Any = limit_default("memory_limit") or DEFAULT_LIMITS.memory_limit
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
        return parse_seconds(time_limit), parse_size(memory)
    except argparse.ArgumentTypeError:
        return DEFAULT_LIMITS.time_limit, DEFAULT_LIMITS.memory_limit  # argparse reports it


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
        # In a batch the limit is per case (sijfasp/batch/); a server runs until its editor stops
        # it. Ctrl-C still stops either.
        time_limit = 0
    watchdog = Watchdog(time_limit, subject)
    watchdog.start()
    ACTIVE_WATCHDOG.append(watchdog)
    previous_memory = _limit_memory(memory_limit)
    try:
        return int(run(argv))
    except SijfaspError as error:
        error_output(render_all(error.diagnostics, quoted_sources(error)))
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
        ACTIVE_WATCHDOG.remove(watchdog)
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
