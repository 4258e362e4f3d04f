"""What every command shares: exit statuses, the options of policies, limits and dates,
choosing a run's policies, writing results and errors in what the console can show, and the
watchdog that bounds a run (its deadline, Ctrl-C).

Imports no other module of the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import enum
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

from ..cases.reader import file_kind
from ..cases.vocabulary import payer_id
from ..core import textsafe
from ..core.arguments import parse_count
from ..core.diagnostics import Diagnostic, SijfaspError, did_you_mean, non_ascii_note
from ..core.limits import DEFAULT_LIMITS, GIB, MIB, RAISE_WITH, Limits, raise_hint, too_complex
from ..core.source import SourceText
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..policies.loading import load_policy, policy_versions, set_policies
from ..policies.policy_set import ENVIRONMENT_VARIABLE, PolicySet, discover
from ..results.results import PolicySetInfo


class Exit(enum.IntEnum):
    OK = 0
    STALE = 1  # compile --check: a policy's .lp is missing or differs from a fresh compile
    DIFFERS = 1  # diff found cases the two policies decide differently
    BAD_INPUT = 2
    INTERNAL = 3
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a run stopped with Ctrl-C


def limit_default(name: str) -> str | None:
    """The environment variable that sets a limit's default, when it is set."""
    return os.environ.get(RAISE_WITH[name][1])


def policy_options(sub: argparse.ArgumentParser) -> None:
    """Which policies a command judges by: --policies, --policy and --policy-file."""
    policies_option(sub)
    sub.add_argument(
        "--policy",
        action="append",
        metavar="ID[@VERSION]",
        help="only this policy (repeatable), in the version in effect on the request date, or "
        "in the VERSION named; default: every policy of the set in use",
    )
    sub.add_argument(
        "--as-of",
        type=parse_date,
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


def policies_option(sub: argparse.ArgumentParser) -> None:
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
    regular_files(chosen.policy_paths())
    return chosen


def set_info(args: argparse.Namespace) -> PolicySetInfo:
    """The set a run's policies come from, as output names it."""
    if getattr(args, "policy_file", None):
        return PolicySetInfo(None, "--policy-file")
    chosen = policy_set(args)
    return PolicySetInfo(str(chosen.directory), chosen.origin)


def case_limit_options(sub: argparse.ArgumentParser) -> None:
    d = DEFAULT_LIMITS
    sub.add_argument(
        "--max-file-size",
        type=parse_size,
        default=limit_default("max_file_bytes") or d.max_file_bytes,
        metavar="BYTES",
        help=f"largest case file read, e.g. 5M (default {d.max_file_bytes:,} bytes)",
    )
    sub.add_argument(
        "--max-records",
        type=parse_count,
        default=limit_default("max_records") or d.max_records,
        metavar="N",
        help=f"most records in one case (default {d.max_records:,})",
    )
    sub.add_argument(
        "--max-string-length",
        type=parse_count,
        default=limit_default("max_string_length") or d.max_string_length,
        metavar="N",
        help=f"longest text in a case, in characters (default {d.max_string_length:,})",
    )
    sub.add_argument(
        "--max-record-years",
        type=parse_count,
        default=limit_default("max_record_years") or d.max_record_years,
        metavar="N",
        help=f"how many years before the request a record may be dated "
        f"(default {d.max_record_years})",
    )


def run_limit_options(sub: argparse.ArgumentParser) -> None:
    d = DEFAULT_LIMITS
    sub.add_argument(
        "--time-limit",
        type=parse_seconds,
        default=limit_default("time_limit") or d.time_limit,
        metavar="SECONDS",
        help=f"stop a run that takes longer (0: no limit; default {d.time_limit:g})",
    )
    sub.add_argument(
        "--memory-limit",
        type=parse_size,
        default=limit_default("memory_limit") or d.memory_limit,
        metavar="BYTES",
        help=f"most memory a run may use, e.g. 4G (0: no limit; default "
        f"{d.memory_limit // GIB} GiB; where the platform allows)",
    )


_UNITS = {"": 1, "K": 1024, "M": MIB, "G": GIB}


def parse_size(text: str | int) -> int:
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


def parse_seconds(text: str | float) -> float:
    if isinstance(text, (int, float)):
        return float(text)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("expected 0 or more seconds")
    return value


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got '{text}'") from None


def select_policies(args: argparse.Namespace) -> list[LoadedPolicy]:
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
        regular_files(args.policy_file)
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


def pinned_ids(args: argparse.Namespace) -> frozenset[str]:
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


def regular_files(paths: Sequence[Path]) -> None:
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


def case_limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_file_bytes=args.max_file_size,
        max_records=args.max_records,
        max_string_length=args.max_string_length,
        max_record_years=args.max_record_years,
        time_limit=args.time_limit,
        memory_limit=args.memory_limit,
    )


def quoted_sources(error: SijfaspError) -> dict[str, SourceText]:
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


def error_output(text: str) -> None:
    """A message on standard error, in what the console can show."""
    with contextlib.suppress(OSError, ValueError):
        print(fit_encoding(text, getattr(sys.stderr, "encoding", None)), file=sys.stderr)


def write_output(text: str, final: bool = False) -> None:
    # After the final result, the deadline no longer applies: no result is cut short by it.
    if final and ACTIVE_WATCHDOG:
        ACTIVE_WATCHDOG[-1].stop()
    try:
        sys.stdout.write(fit_encoding(text, getattr(sys.stdout, "encoding", None)))
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(error.strerror or str(error)) from None


ACTIVE_WATCHDOG: list[Watchdog] = []


class Watchdog:
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


# What did not happen when a run was stopped, by what it worked on.
OUTCOME = {
    "case": "no determination was made",
    "policy": "nothing was compiled or checked",
    "diff": "no differences were reported",
    "lsp": "the language server stopped",
}


# Seconds a diff may take by default: it judges a few hundred cases under both policies.
DIFF_TIME_LIMIT = 600.0
