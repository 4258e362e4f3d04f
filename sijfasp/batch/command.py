"""The batch command: its options, and the run, which reads the inputs, starts an engine, writes
the outcomes in input order through the journal, shows progress on a terminal and sums up the
determinations on standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..api import DEFAULT_ENUMERATE
from ..core.arguments import parse_count, parse_positive_count
from ..core.limits import Limits
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..policies.policy_set import PolicySet
from .engines import Dask, InProcess, Processes
from .evaluate import Config, Item, Outcome, usage
from .inputs import check_inputs, read_items
from .journal import Done, Journal, check_output, run_header

ENGINES = ("local", "dask")
# Cases handed out together (their determinations grounded together: solve/batched.py), at
# most; fewer while the input has fewer cases ready than the workers could take. Two such tasks
# per worker are handed out ahead of the case being written: every worker stays busy, and a
# long input is never held in memory at once.
TOGETHER = 50
PROGRESS_INTERVAL = 0.2


def add_arguments(sub: argparse.ArgumentParser) -> None:
    """The batch options; cli/batch.py adds the limit options shared with `check`."""
    sub.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="a JSON Lines file (one case per line), a directory of case files "
        "(.yaml, .yml, .json), a case file, or - (JSON Lines on standard input)",
    )
    sub.add_argument(
        "--out", required=True, type=Path, metavar="OUTPUT", help="the JSON Lines output file"
    )
    sub.add_argument(
        "--resume",
        action="store_true",
        help="keep the whole lines already in OUTPUT and finish the remaining cases",
    )
    sub.add_argument(
        "--workers",
        type=parse_positive_count,
        default=1,
        metavar="N",
        help="processes evaluating cases (default 1: this process); at most the cores of "
        "this machine and the cases to do",
    )
    sub.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local processes, or a Dask cluster (needs: pip install 'sijfasp[cluster]')",
    )
    sub.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster of "
        "--workers processes)",
    )
    sub.add_argument(
        "--enumerate",
        type=parse_count,
        default=None,
        metavar="N",
        help=f"minimal sets of missing documentation listed per policy, as in check --format "
        f"json (0: all; default {DEFAULT_ENUMERATE})",
    )


def is_batch(argv: Sequence[str]) -> bool:
    """The command line runs a batch (whose time limit is per case, not for the run)."""
    return next((a for a in argv if not a.startswith("-")), "") == "batch"


@dataclass
class Tally:
    cases: int = 0
    errors: int = 0
    by_policy: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.cases += 1
        if outcome.determinations is None:
            self.errors += 1
            return
        for policy, determination in outcome.determinations:
            self.by_policy.setdefault(policy, Counter())[determination] += 1


def run(
    args: argparse.Namespace,
    policies: list[LoadedPolicy],
    limits: Limits,
    policy_set: PolicySet | None = None,
) -> int:
    """The batch: 0 when every case was valid, 1 when some were not (their error lines are in
    the output)."""
    if args.scheduler is not None and args.engine != "dask":
        raise usage("--scheduler goes with --engine dask", "--scheduler")
    check_inputs(args.inputs)
    check_output(args.out, args.inputs)  # before anything is opened for writing
    config = Config(
        tuple(versions.reference(p) for p in policies),
        tuple(str(p) for p in args.policy_file or ()),
        limits,
        DEFAULT_ENUMERATE if args.enumerate is None else args.enumerate,
        args.as_of,
        tuple(i for i, v in map(versions.split_reference, args.policy or ()) if v is not None),
        (str(policy_set.directory), policy_set.origin) if policy_set else ("", ""),
    )
    header = run_header(config, policies, args.inputs)
    journal = Journal(args.out, args.inputs)
    tally = Tally()
    engine: Any = None
    try:
        items: Iterator[Item] = read_items(args.inputs, limits)
        done, items = journal.resume(header, items) if args.resume else (Done(), items)
        workers, items = _workers_for(args, items)
        progress = _Progress(sys.stderr, done.lines)
        started = time.monotonic()
        # The engine first: when it cannot start, an earlier output is left as it was.
        if args.engine == "dask":
            engine = Dask(config, workers, args.scheduler)
        elif workers > 1:
            engine = Processes(config, workers)
        else:
            engine = InProcess(config)
        if not journal.continuing:
            journal.start(header)
        try:
            ahead = engine.capacity * 2 * TOGETHER
            for outcome in in_order(engine, items, ahead, TOGETHER):
                journal.write(outcome)
                tally.add(outcome)
                progress.show(tally.cases)
        finally:
            progress.clear()
    except BaseException:
        journal.discard()
        raise
    finally:
        journal.close()
        if engine is not None:
            engine.close()
    elapsed = time.monotonic() - started
    _summary(sys.stderr, tally, done, elapsed)
    return 1 if tally.errors or done.errors else 0


def cores() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def _workers_for(args: argparse.Namespace, items: Iterator[Item]) -> tuple[int, Iterator[Item]]:
    """--workers capped at this machine's cores and at the cases to do (looked at ahead, as
    many as the processes that could take them): a process costs a Python interpreter with the
    policies loaded, and more of them than cores only take turns. A cluster started apart
    (--scheduler) has the workers it has."""
    asked = args.workers
    if args.scheduler is not None:
        return asked, items
    workers, why = asked, ""
    if asked > cores():
        workers, why = cores(), f"the {cores()} cores of this machine"
    ahead = list(itertools.islice(items, workers))
    if len(ahead) < workers:
        workers = max(1, len(ahead))
        why = f"the {len(ahead)} case{'s' if len(ahead) != 1 else ''} to do"
    if workers < asked and ahead:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"batch: --workers {asked}: capped at {workers} ({why})\n")
    return workers, itertools.chain(ahead, items)


def in_order(
    engine: Any, items: Iterable[Item], ahead: int, together: int = 1
) -> Iterator[Outcome]:
    """The outcomes in input order, whatever order the engine finishes them in; at most
    `ahead` cases handed out beyond the next one to write, in tasks of up to `together` cases
    (each worker gets a share of the cases ahead). Tasks start at one case and double, so the
    first lines come as soon as one case is judged."""
    pending: set[Any] = set()
    out = 0  # cases handed out and not yet finished
    finished: dict[int, Outcome] = {}
    next_index: int | None = None
    source = iter(items)
    exhausted = False
    largest = max(1, min(together, ahead // (2 * max(1, engine.capacity))))
    size = 1
    while True:
        while not exhausted and out + len(finished) < ahead:
            chunk = list(itertools.islice(source, min(size, ahead - out - len(finished))))
            if not chunk:
                exhausted = True
                break
            if next_index is None:
                next_index = chunk[0].index
            pending.add(engine.submit(chunk))
            out += len(chunk)
            size = min(largest, 2 * size)
            if getattr(engine, "synchronous", False):
                break  # judged already: its lines are written before the next task
        if not pending:
            break
        for task in engine.wait(pending):
            pending.discard(task)
            for outcome in engine.result(task):
                finished[outcome.index] = outcome
                out -= 1
        while next_index in finished:
            yield finished.pop(next_index)
            next_index += 1
    # Every case handed out has been written.
    assert not finished, "an outcome was left unwritten"


class _Progress:
    """A one-line progress count on a terminal; nothing when standard error is not one."""

    def __init__(self, stream: IO[str], skipped: int):
        self.stream = stream
        self.active = stream.isatty()
        self.skipped = skipped
        self.started = time.monotonic()
        self.last = 0.0

    def show(self, cases: int) -> None:
        if not self.active:
            return
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL:
            return
        self.last = now
        rate = cases / max(now - self.started, 1e-9)
        done = f"{cases + self.skipped:,} cases" + (
            f" ({self.skipped:,} before)" if self.skipped else ""
        )
        self.stream.write(f"\r{done}, {rate:,.1f} cases/s ")
        self.stream.flush()

    def clear(self) -> None:
        if self.active and self.last:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _summary(stream: IO[str], tally: Tally, done: Done, elapsed: float) -> None:
    rate = tally.cases / elapsed if elapsed > 0 else 0.0
    errors = tally.errors + done.errors
    lines = [
        f"batch: {tally.cases:,} case{'s' if tally.cases != 1 else ''} in {elapsed:.1f} s "
        f"({rate:,.1f} cases/s)"
        + (f", {done.lines:,} already done" if done.lines else "")
        + f"; {errors:,} invalid"
    ]
    for policy, counts in tally.by_policy.items():
        shown = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items()))
        lines.append(f"  {policy}: {shown}")
    with contextlib.suppress(OSError, ValueError):
        stream.write("\n".join(lines) + "\n")
        stream.flush()
