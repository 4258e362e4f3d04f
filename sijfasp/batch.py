"""`sijfasp batch`: many cases in, one JSON line out per case, in input order.

Inputs are JSON Lines files (a case per line), directories of case files (.yaml, .yml, .json,
sorted by name), single case files, or `-` (JSON Lines on standard input). Each output line is
the object `sijfasp check CASE --format json` prints for that case, on one line; a case that
cannot be read or validated gives an error line naming its source and fields, and the batch
goes on.

The cases run in this process, in N local processes (`--workers N`), or on a Dask cluster
(`--engine dask`). Whatever runs them, the parent writes the lines in input order, each with
one write: a run stopped at any point leaves whole lines of finished cases (at worst a partial
last line, which `--resume` cuts before it goes on from the first case not written).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import render, versions
from .api import DEFAULT_ENUMERATE, Options, evaluate_case
from .case_reader import (
    STDIN,
    decode,
    read_case_bytes,
    read_case_text,
    read_json_case_text,
)
from .case_vocabulary import case_under
from .diagnostics import Diagnostic, SijfaspError
from .limits import Limits, raise_hint, too_complex
from .policies import (
    LoadedPolicy,
    bundled_policy_versions,
    load_policy,
    policy_versions,
    set_policies,
)
from .policy_set import PolicySet
from .results import PolicySetInfo
from .solver import OutOfTime

CASE_FILE_SUFFIXES = (".yaml", ".yml", ".json")
ENGINES = ("local", "dask")
# Cases handed out ahead of the one being written, per worker: enough to keep every worker
# busy, few enough that a long input is never held in memory at once.
AHEAD_PER_WORKER = 8
PROGRESS_INTERVAL = 0.2
PARENT_POLL = 0.2  # seconds between a worker's checks that the batch still runs


# ------------------------------------------------------------------ command line
def add_arguments(sub: argparse.ArgumentParser) -> None:
    """The batch options; cli.py adds the limit options shared with `check`."""
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
        type=_workers,
        default=1,
        metavar="N",
        help="processes evaluating cases (default 1: this process)",
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
        type=_workers_or_zero,
        default=None,
        metavar="N",
        help=f"minimal sets of missing documentation listed per policy, as in check --format "
        f"json (0: all; default {DEFAULT_ENUMERATE})",
    )


def is_batch(argv: Sequence[str]) -> bool:
    """The command line runs a batch (whose time limit is per case, not for the run)."""
    return next((a for a in argv if not a.startswith("-")), "") == "batch"


def _workers(text: str) -> int:
    value = _workers_or_zero(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected 1 or more")
    return value


def _workers_or_zero(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 or more")
    return value


# ------------------------------------------------------------------ what a case needs
@dataclass(frozen=True)
class Config:
    """What every worker needs to evaluate a case: sent once per task, small and picklable."""

    policy_ids: tuple[str, ...]  # ID@VERSION of each version, in the order of the output
    policy_files: tuple[str, ...]  # empty: the policy set
    limits: Limits
    enumerate: int
    as_of: dt.date | None = None  # --as-of: the date versions are chosen on
    pinned: tuple[str, ...] = ()  # ids --policy ID@VERSION fixes to one version
    # The policy set's folder and origin (policy_set.Origin); unused with policy_files.
    policy_set: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Item:
    """One case of the input, as text; `problem` when it could not even be read."""

    index: int
    source: str  # where it is: "cases.jsonl:12" or "cases/a.yaml"
    text: str | None
    is_json: bool
    problem: str | None = None


@dataclass(frozen=True)
class Outcome:
    index: int
    line: str  # one JSON object and a newline
    # (policy, determination) per policy; None for an error line.
    determinations: tuple[tuple[str, str], ...] | None


_LOADED: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, str]], list[LoadedPolicy]] = {}


def _policies(config: Config) -> list[LoadedPolicy]:
    """The policies, loaded once per process (a worker keeps them for every case)."""
    key = (config.policy_ids, config.policy_files, config.policy_set)
    if key not in _LOADED:
        if config.policy_files:
            loaded = list(policy_versions(load_policy(Path(p)) for p in config.policy_files))
        elif config.policy_set[0]:
            loaded = list(set_policies(PolicySet(Path(config.policy_set[0]), config.policy_set[1])))
        else:
            loaded = list(bundled_policy_versions())
        by_ref = {versions.reference(p): p for p in loaded}
        _LOADED[key] = [by_ref[i] for i in config.policy_ids]
    return _LOADED[key]


def evaluate_item(config: Config, item: Item) -> Outcome:
    """The output line of one case: what `check --format json` prints, or an error line."""
    if item.problem is not None:
        return _error(item, None, [{"message": item.problem}])
    try:
        if item.is_json:
            data = read_json_case_text(item.text or "", item.source)
        else:
            data = read_case_text(item.text or "", item.source, config.limits)
    except SijfaspError as error:
        return _error(item, None, _diagnostics(error))
    raw_id = data.get("id") if isinstance(data, dict) else None
    try:
        policies = _policies(config)
        case, chosen = case_under(data, policies, item.source, config.limits)
        options = Options(enumerate=config.enumerate)
        limit = config.limits.time_limit
        result = _within_time(
            limit,
            item,
            lambda: evaluate_case(chosen, case, options, config.as_of, config.pinned, limit),
        )
    except SijfaspError as error:
        return _error(item, raw_id, _diagnostics(error))
    except (MemoryError, RecursionError):
        return _error(item, raw_id, [{"message": _TOO_COMPLEX_MEMORY}])
    except OutOfTime:
        return _error(item, raw_id, [{"message": _too_complex_time(limit)}])
    if config.policy_files:
        result = dataclasses.replace(result, policy_set=PolicySetInfo(None, "--policy-file"))
    elif config.policy_set[0]:
        result = dataclasses.replace(result, policy_set=PolicySetInfo(*config.policy_set))
    # The same object as `check --format json`, on one line.
    line = json.dumps(render.case_json(result), ensure_ascii=False, separators=(",", ":")) + "\n"
    return Outcome(
        item.index,
        line,
        tuple((r.policy, r.determination.value) for r in result.results),
    )


_TOO_COMPLEX_MEMORY = (
    f"the case is too complex to finish within the memory limit; no determination was made "
    f"({raise_hint('memory_limit')})"
)


def _diagnostics(error: SijfaspError) -> list[dict[str, Any]]:
    found = []
    for d in error.diagnostics:
        entry: dict[str, Any] = {"message": d.message}
        if d.field_path is not None:
            entry["field"] = d.field_path
        if d.span is not None:
            entry["at"] = f"{d.span.line}:{d.span.column}"
        if d.hint:
            entry["hint"] = d.hint
        found.append(entry)
    return found


def _error(item: Item, raw_id: Any, errors: list[dict[str, Any]]) -> Outcome:
    case_id = raw_id if isinstance(raw_id, str) else None
    data = {"case": case_id, "source": item.source, "errors": errors}
    return Outcome(
        item.index, json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", None
    )


def _too_complex_time(seconds: float) -> str:
    return f"{too_complex('case', seconds)}; no determination was made ({raise_hint('time_limit')})"


# How long past the time limit a case may still be grounding before its process is ended.
GROUNDING_GRACE = 2.0


def _within_time(seconds: float, item: Item, work: Callable[[], Any]) -> Any:
    """Run one case under the time limit. Solving stops at the limit (`OutOfTime`: an error
    line, and the batch goes on). clingo cannot be stopped from Python while it grounds, so a
    case still grounding well past the limit ends its process (exit 2), naming the case; the
    lines written so far stay, and --resume with a higher limit goes on from that case."""
    if not seconds:
        return work()
    backstop = seconds * GROUNDING_GRACE + 1
    timer = threading.Timer(backstop, _out_of_time, (seconds, item.source))
    timer.daemon = True
    timer.start()
    try:
        return work()
    finally:
        timer.cancel()


def _out_of_time(seconds: float, source: str) -> None:
    message = (
        f"sijfasp: {too_complex(f'case {source}', seconds)}; the batch stops here "
        f"({raise_hint('time_limit')}, then --resume)\n"
    )
    with contextlib.suppress(OSError):
        os.write(2, message.encode("utf-8", "replace"))
    os._exit(2)


# ------------------------------------------------------------------ reading the inputs
def _usage(message: str, where: str = "batch") -> SijfaspError:
    return SijfaspError([Diagnostic("import", message, file=where)])


def check_inputs(inputs: list[str]) -> None:
    """Every input exists before any case runs: a typo is a usage error, not a half batch."""
    if inputs.count(STDIN) > 1:
        raise _usage("standard input (-) can be read only once")
    for name in inputs:
        if name != STDIN and not os.path.exists(name):
            raise _usage(f"cannot read {name}: no such file or directory", name)


def read_items(inputs: list[str], limits: Limits) -> Iterator[Item]:
    """Every case of the inputs in order, numbered from 0."""
    index = 0
    for name in inputs:
        for source, text, is_json, problem in _cases_of(name, limits):
            yield Item(index, source, text, is_json, problem)
            index += 1


def _cases_of(name: str, limits: Limits) -> Iterator[tuple[str, str | None, bool, str | None]]:
    if name == STDIN:
        yield from _json_lines(sys.stdin.buffer, "<stdin>", limits)
    elif os.path.isdir(name):
        paths = sorted(p for p in Path(name).iterdir() if p.suffix.lower() in CASE_FILE_SUFFIXES)
        for path in paths:
            yield _case_file(path, limits)
    elif Path(name).suffix.lower() in CASE_FILE_SUFFIXES:
        yield _case_file(Path(name), limits)
    else:
        try:
            stream = open(name, "rb")  # noqa: SIM115 - closed below, read lazily
        except OSError as error:
            raise _usage(f"cannot read {name}: {error.strerror or error}", name) from None
        with stream:
            yield from _json_lines(stream, name, limits)


def _case_file(path: Path, limits: Limits) -> tuple[str, str | None, bool, str | None]:
    source = str(path)
    try:
        text = decode(read_case_bytes(path, limits), source)
    except SijfaspError as error:
        return source, None, False, "; ".join(d.message for d in error.diagnostics)
    return source, text, path.suffix.lower() == ".json", None


def _json_lines(
    stream: IO[bytes], name: str, limits: Limits
) -> Iterator[tuple[str, str | None, bool, str | None]]:
    """The non-blank lines of a JSON Lines stream; a line is bounded by the file-size limit."""
    limit = limits.max_file_bytes
    number = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        number += 1
        source = f"{name}:{number}"
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the long line
                raw = stream.readline(1 << 20)
            yield (
                source,
                None,
                True,
                f"the line is longer than the limit of {limit:,} bytes; "
                f"{raise_hint('max_file_bytes')}",
            )
            continue
        try:
            text = decode(raw, source)
        except SijfaspError as error:
            yield source, None, True, "; ".join(d.message for d in error.diagnostics)
            continue
        if text.strip():
            yield source, text, True, None


# ------------------------------------------------------------------ the output
class Output:
    """The output file: each line written with one write, so a stopped run leaves whole
    lines (and at worst a partial last one, which --resume cuts)."""

    def __init__(self, path: Path, resume: bool):
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if resume else os.O_TRUNC)
        try:
            self.fd = os.open(path, flags, 0o644)
        except OSError as error:
            raise _usage(f"cannot write {path}: {error.strerror or error}", str(path)) from None

    def write(self, line: str) -> None:
        data = line.encode("utf-8")
        while data:
            written = os.write(self.fd, data)
            data = data[written:]

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class Done:
    """What a resumed run found already written."""

    lines: int = 0
    errors: int = 0


def prepare_resume(path: Path, items: Iterator[Item]) -> Done:
    """Keep the whole lines of `path` (a partial last line is cut off) and check that they
    are the first cases of the input, in order; `items` is left at the first case to do."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return Done()
    except OSError as error:
        raise _usage(f"cannot read {path}: {error.strerror or error}", str(path)) from None
    whole = data[: data.rfind(b"\n") + 1]
    if len(whole) != len(data):
        with open(path, "r+b") as file:
            file.truncate(len(whole))
    done = Done()
    for number, line in enumerate(whole.splitlines(), start=1):
        item = next(items, None)
        where = f"{path}:{number}"
        if item is None:
            raise _usage(
                "the output holds more lines than the input has cases: not a run of this input",
                where,
            )
        try:
            written = json.loads(line)
        except ValueError:
            raise _usage("not a line written by sijfasp batch", where) from None
        if not isinstance(written, dict):
            raise _usage("not a line written by sijfasp batch", where)
        if "errors" in written:
            done.errors += 1
            matches = written.get("source") == item.source
        else:
            expected = _raw_id(item)
            matches = expected is None or written.get("case") == expected
        if not matches:
            raise _usage(
                f"the line is for case '{written.get('case')}', but the input's case "
                f"{number} is {item.source}: not a run of this input",
                where,
            )
        done.lines += 1
    return done


def _raw_id(item: Item) -> str | None:
    """The id written in a case, when it has one (a case without one is named by its file)."""
    if item.text is None:
        return None
    try:
        if item.is_json:
            data = read_json_case_text(item.text, item.source)
        else:
            data = read_case_text(item.text, item.source)
    except SijfaspError:
        return None
    raw = data.get("id") if isinstance(data, dict) else None
    return raw if isinstance(raw, str) else None


# ------------------------------------------------------------------ engines
class _InProcess:
    """Evaluates each case when asked: the batch without workers."""

    def __init__(self, config: Config):
        self.config = config
        self.capacity = 1

    def submit(self, item: Item) -> Any:
        return evaluate_item(self.config, item)

    def wait(self, pending: set[Any]) -> set[Any]:
        return set(pending)

    @staticmethod
    def result(task: Any) -> Outcome:
        return task

    def close(self) -> None:
        pass


def _start_worker() -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent stopped at once (Ctrl-C, killed) cannot shut the pool down: end with it.
    parent = os.getppid()
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


class _Processes:
    """N processes of this machine (concurrent.futures, started by spawn: a clean process,
    which loads the policies once for all its cases)."""

    def __init__(self, config: Config, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.config = config
        self.capacity = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )

    def submit(self, item: Item) -> Any:
        return self.pool.submit(evaluate_item, self.config, item)

    def wait(self, pending: set[Any]) -> set[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for task in done:
            if isinstance(task.exception(), BrokenProcessPool):
                raise _usage("a worker process stopped (see the message above); the batch stops")
        return done

    @staticmethod
    def result(task: Any) -> Outcome:
        return task.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """A Dask cluster: the scheduler at `address`, or a local cluster of `workers` processes."""

    def __init__(self, config: Config, workers: int, address: str | None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise _usage(
                "--engine dask needs Dask: pip install 'sijfasp[cluster]'", "--engine"
            ) from None
        self.config = config
        self.cluster = None
        if address is None:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout=30)
            except OSError as error:
                raise _usage(
                    f"cannot reach the Dask scheduler at {address}: {error}", "--scheduler"
                ) from None
        threads = sum(self.client.nthreads().values())
        self.capacity = max(1, threads)

    def submit(self, item: Item) -> Any:
        # pure=False: two identical lines of the input are two cases, each with its line.
        return self.client.submit(evaluate_item, self.config, item, pure=False)

    def wait(self, pending: set[Any]) -> set[Any]:
        from distributed import wait

        return set(wait(list(pending), return_when="FIRST_COMPLETED").done)

    @staticmethod
    def result(task: Any) -> Outcome:
        return task.result()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ------------------------------------------------------------------ the run
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
        raise _usage("--scheduler goes with --engine dask", "--scheduler")
    check_inputs(args.inputs)
    config = Config(
        tuple(versions.reference(p) for p in policies),
        tuple(str(p) for p in args.policy_file or ()),
        limits,
        DEFAULT_ENUMERATE if args.enumerate is None else args.enumerate,
        args.as_of,
        tuple(i for i, v in map(versions.split_reference, args.policy or ()) if v is not None),
        (str(policy_set.directory), policy_set.origin) if policy_set else ("", ""),
    )
    items = read_items(args.inputs, limits)
    done = prepare_resume(args.out, items) if args.resume else Done()
    tally = Tally()
    progress = _Progress(sys.stderr, done.lines)
    started = time.monotonic()
    engine: Any = None
    output: Output | None = None
    try:
        # The engine first: when it cannot start, an earlier output is left as it was.
        if args.engine == "dask":
            engine = _Dask(config, args.workers, args.scheduler)
        elif args.workers > 1:
            engine = _Processes(config, args.workers)
        else:
            engine = _InProcess(config)
        output = Output(args.out, resume=args.resume)
        for outcome in in_order(engine, items, engine.capacity * AHEAD_PER_WORKER):
            output.write(outcome.line)
            tally.add(outcome)
            progress.show(tally.cases)
    finally:
        progress.clear()
        if output is not None:
            output.close()
        if engine is not None:
            engine.close()
    elapsed = time.monotonic() - started
    _summary(sys.stderr, tally, done, elapsed)
    return 1 if tally.errors or done.errors else 0


def in_order(engine: Any, items: Iterable[Item], ahead: int) -> Iterator[Outcome]:
    """The outcomes in input order, whatever order the engine finishes them in; at most
    `ahead` cases handed out beyond the next one to write."""
    pending: set[Any] = set()
    finished: dict[int, Outcome] = {}
    next_index: int | None = None
    source = iter(items)
    exhausted = False
    while True:
        while not exhausted and len(pending) + len(finished) < ahead:
            item = next(source, None)
            if item is None:
                exhausted = True
                break
            if next_index is None:
                next_index = item.index
            pending.add(engine.submit(item))
        if not pending:
            break
        for task in engine.wait(pending):
            pending.discard(task)
            outcome = engine.result(task)
            finished[outcome.index] = outcome
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
