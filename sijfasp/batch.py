"""`sijfasp batch`: many cases in, one JSON line out per case, in input order.

Inputs are JSON Lines files (a case per line), directories of case files (.yaml, .yml, .json,
sorted by name), single case files, or `-` (JSON Lines on standard input). Each output line is
the object `sijfasp check CASE --format json` prints for that case, on one line; a case that
cannot be read or validated gives an error line naming its source and fields, and the batch
goes on.

The output is locked for the run (flock), and beside it OUTPUT.resume records the run's
options and, for each line, its case (source and content hash) and where the line is: --resume
reads both streaming, checks them against the input and the options, cuts only a partial line
it wrote itself, and refuses anything else.

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
import errno
import hashlib
import itertools
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import __version__
from .api import DEFAULT_ENUMERATE, Options, evaluate_case
from .cases.reader import (
    STDIN,
    decode,
    read_case_bytes,
    read_case_text,
    read_json_case_text,
)
from .cases.vocabulary import case_under
from .core.diagnostics import Diagnostic, SijfaspError, file_kind
from .core.limits import Limits, raise_hint, too_complex
from .policies import versions
from .policies.loaded import LoadedPolicy
from .policies.loading import bundled_policy_versions, load_policy, policy_versions, set_policies
from .policies.policy_set import PolicySet
from .results import render
from .results.results import PolicySetInfo
from .solve.solver import OutOfTime

try:
    import fcntl
except ImportError:  # not a POSIX system: no flock, and a batch is refused (Journal._lock)
    fcntl = None  # type: ignore[assignment]

CASE_FILE_SUFFIXES = (".yaml", ".yml", ".json")
ENGINES = ("local", "dask")
# Cases handed out ahead of the one being written, per worker: enough to keep every worker
# busy, few enough that a long input is never held in memory at once.
AHEAD_PER_WORKER = 8
PROGRESS_INTERVAL = 0.2
PARENT_POLL = 0.2  # seconds between a worker's checks that the batch still runs
# The resume record beside the output (OUTPUT.resume): its first line, then one per line written.
RECORD_SUFFIX = ".resume"
RECORD_FORMAT = "sijfasp batch resume record 1"
MAX_RECORD_LINE = 1 << 20  # bytes of one line of a record (its header lists the policies)
CHUNK = 1 << 20  # bytes read at a time when the output's lines are checked


# ------------------------------------------------------------------ command line
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
        type=_workers,
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
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
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
    # The case's key in the resume record, with `source`: the SHA-256 of its bytes as read
    # (of the problem, when it could not be read).
    digest: str = ""


@dataclass(frozen=True)
class Outcome:
    index: int
    line: str  # one JSON object and a newline
    # (policy, determination) per policy; None for an error line.
    determinations: tuple[tuple[str, str], ...] | None
    source: str = ""  # the item's, for the resume record
    digest: str = ""


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
    surrogate = _surrogate_at(data) if _MAY_HOLD_SURROGATE.search(item.text or "") else None
    if surrogate is not None:
        shown_id = raw_id if surrogate != "id" else None
        return _error(item, shown_id, [{"message": LONE_SURROGATE, "field": surrogate}])
    try:
        policies = _policies(config)
        if isinstance(data, dict) and ("resourceType" in data or "hookInstance" in data):
            from .fhir import commands as fhir_commands  # a FHIR case (docs/fhir.md)

            case, chosen, _ = fhir_commands.read_case(
                data, policies, item.source, config.limits, None, notify=False
            )
        else:
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
    return Outcome(
        item.index,
        _json_line(render.case_json(result)),
        tuple((r.policy, r.determination.value) for r in result.results),
        item.source,
        item.digest,
    )


LONE_SURROGATE = (
    "a lone surrogate escape (\\ud800 to \\udfff) stands for no character: the text cannot be read"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# UTF-8 text holds no surrogate: only an escape (JSON \uD800, YAML \uD800 or \U0000D800) can
# make one, so the case is walked only when its text has such an escape.
_MAY_HOLD_SURROGATE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")


def _surrogate_at(data: Any, where: str = "") -> str | None:
    """The field path of the first key or text holding a lone surrogate (a JSON escape such as
    "\\ud800" reads as one; no UTF-8 text can hold it), shown with the surrogate escaped."""
    stack = [(where, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return _escaped(path) or "(the case)"
        elif isinstance(value, dict):
            for key, inner in reversed(list(value.items())):
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    return _escaped(name)
                stack.append((name, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", inner) for i, inner in reversed(list(enumerate(value))))
    return None


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_line(data: Any) -> str:
    """One JSON object on one line; a text no UTF-8 can hold (a file name of undecodable
    bytes, read as surrogates) is written as JSON escapes, which read back as the same text."""
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return line + "\n"


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
    case_id = raw_id if isinstance(raw_id, str) and not _SURROGATE.search(raw_id) else None
    data = {"case": case_id, "source": item.source, "errors": errors}
    return Outcome(item.index, _json_line(data), None, item.source, item.digest)


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
        for source, text, is_json, problem, digest in _cases_of(name, limits):
            yield Item(index, source, text, is_json, problem, digest)
            index += 1


_Read = tuple[str, str | None, bool, str | None, str]


def _case_files(folder: str) -> list[Path]:
    """The case files of an input directory, in the order they are read."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in CASE_FILE_SUFFIXES)


def _cases_of(name: str, limits: Limits) -> Iterator[_Read]:
    if name == STDIN:
        yield from _json_lines(sys.stdin.buffer, "<stdin>", limits)
    elif os.path.isdir(name):
        for path in _case_files(name):
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _problem_digest(problem: str) -> str:
    return _sha256(b"problem\0" + problem.encode("utf-8", "backslashreplace"))


def _case_file(path: Path, limits: Limits) -> _Read:
    source = str(path)
    try:
        data = read_case_bytes(path, limits)
        text = decode(data, source)
    except SijfaspError as error:
        problem = "; ".join(d.message for d in error.diagnostics)
        return source, None, False, problem, _problem_digest(problem)
    return source, text, path.suffix.lower() == ".json", None, _sha256(data)


def _json_lines(stream: IO[bytes], name: str, limits: Limits) -> Iterator[_Read]:
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
            digest = hashlib.sha256(raw)
            while raw and not raw.endswith(b"\n"):  # skip the rest of the long line
                raw = stream.readline(1 << 20)
                digest.update(raw)
            yield (
                source,
                None,
                True,
                f"the line is longer than the limit of {limit:,} bytes; "
                f"{raise_hint('max_file_bytes')}",
                digest.hexdigest(),
            )
            continue
        try:
            text = decode(raw, source)
        except SijfaspError as error:
            problem = "; ".join(d.message for d in error.diagnostics)
            yield source, None, True, problem, _sha256(raw)
            continue
        if text.strip():
            yield source, text, True, None, _sha256(raw)


# ------------------------------------------------------------------ the output
def record_path(out: Path) -> Path:
    """The resume record of an output: OUTPUT.resume, beside it."""
    return Path(f"{out}{RECORD_SUFFIX}")


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _stat(path: Path | str) -> os.stat_result | None:
    try:
        return os.stat(path)  # follows links: what counts is the file written or read
    except (OSError, ValueError):
        return None


def check_output(out: Path, inputs: list[str], opened: os.stat_result | None = None) -> None:
    """Refuse an output (or its resume record) that is an input, whatever the name it is given
    by (the same path, a hard link, a symbolic link, standard input redirected from it), or that
    lies in an input directory: before anything is opened for writing, and again on the opened
    output (`opened`), before anything is written."""
    if out.name.endswith(RECORD_SUFFIX):
        # Another run's record (OUTPUT.resume) is written under that run's lock, not this one's.
        raise _usage(
            f"the output {out} is named as the resume record of another output "
            f"({out.name[: -len(RECORD_SUFFIX)]}); choose another --out",
            str(out),
        )
    checked = [("output", out, opened or _stat(out)), ("resume record", record_path(out), None)]
    for what, path, info in checked:
        info = info or _stat(path)
        folder = _stat(Path(os.path.realpath(path)).parent)
        for name in inputs:
            if name == STDIN:
                try:
                    given = os.fstat(sys.stdin.fileno())
                except (OSError, ValueError, AttributeError):
                    continue
                if info is not None and _same(info, given):
                    raise _output_is_input(what, path, "- (standard input)")
                continue
            given_info = _stat(name)
            if given_info is None:
                continue
            if stat.S_ISDIR(given_info.st_mode):
                inside = folder is not None and _same(folder, given_info)
                if inside or (info is not None and _in_folder(info, name)):
                    raise _usage(
                        f"the {what} {path} is in the input folder {name}: a case file there "
                        f"is read as a case, and a later run could read the output as one; "
                        f"choose another --out, outside that folder",
                        str(out),
                    )
            elif info is not None and _same(info, given_info):
                raise _output_is_input(what, path, name)


def _in_folder(info: os.stat_result, folder: str) -> bool:
    """The output is one of the case files of an input folder (a hard link to one)."""
    try:
        return any(_same(info, os.stat(p)) for p in _case_files(folder))
    except OSError:
        return False


def _output_is_input(what: str, path: Path, name: str) -> SijfaspError:
    return _usage(
        f"the {what} {path} is the input {name} (the same file): writing it would erase the "
        f"cases it holds; choose another --out",
        str(path),
    )


@dataclass
class Done:
    """What a resumed run found already written."""

    lines: int = 0
    errors: int = 0


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def run_header(config: Config, policies: Sequence[LoadedPolicy], inputs: list[str]) -> dict:
    """The first line of the resume record: what the lines depend on, which a resume must
    give again (inputs are checked case by case; --time-limit and --memory-limit may change:
    they bound the run, and a run stopped by them goes on with higher ones)."""
    limits = config.limits
    return {
        "format": RECORD_FORMAT,
        "inputs": inputs,
        "options": {
            "sijfasp": f"{__version__} (encodings {_encodings_digest()[:12]})",
            "policies": [
                f"{versions.reference(p)} (content {_policy_digest(p)[:12]})" for p in policies
            ],
            "--policy": list(config.pinned),
            "--as-of": config.as_of.isoformat() if config.as_of else None,
            "--enumerate": config.enumerate,
            "--max-file-size": limits.max_file_bytes,
            "--max-records": limits.max_records,
            "--max-string-length": limits.max_string_length,
            "--max-record-years": limits.max_record_years,
        },
    }


def _policy_digest(loaded: LoadedPolicy) -> str:
    """The content of a policy version: its file, its vocabulary and their extensions."""
    digest = hashlib.sha256()
    for source in loaded.sources:
        digest.update(_sha256(source.text.encode("utf-8", "surrogatepass")).encode() + b"\n")
    return digest.hexdigest()


def _encodings_digest() -> str:
    """The encodings every policy is read with (policy.lp: what a policy means)."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent / "encodings").glob("*.lp")):
        digest.update(_sha256(path.read_bytes()).encode() + b"\n")
    return digest.hexdigest()


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "not given" if value is None else str(value)


def _regular(path: Path, info: os.stat_result | None) -> None:
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise _usage(
            f"cannot write {path}: {file_kind(info.st_mode)}, not a regular file (the run "
            f"locks its output, and --resume reads it back with its record)",
            str(path),
        )


class Journal:
    """The output and its resume record, for one run, with the output locked throughout.

    The record's first line is the run's header (`run_header`); then, for each line of the
    output, before that line is written: its case's index, source and content hash, where the
    line starts, its length in bytes and its SHA-256, and whether it is an error line. A run
    stopped at any point leaves whole entries and at worst an entry whose line is missing or
    partial: the one part of the output --resume cuts, since that entry says this run wrote
    it. Anything else in the output that the record does not account for is left alone."""

    def __init__(self, path: Path, inputs: list[str]):
        self.path = path
        self.record = record_path(path)
        self.created = not os.path.lexists(path)
        _regular(self.record, _stat(self.record))
        try:
            # Neither truncated nor appended to yet: first checked again, then locked.
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as error:
            raise _usage(f"cannot write {path}: {error.strerror or error}", str(path)) from None
        self.record_fd: int | None = None
        self.offset = 0  # bytes of whole lines in the output
        self.number = 0  # lines in the output
        self.continuing = False  # a resume that keeps lines already written
        self.locked = False
        try:
            info = os.fstat(self.fd)
            _regular(path, info)
            check_output(path, inputs, info)
            self._lock()
        except BaseException:
            self.discard()
            self.close()
            raise

    def _lock(self) -> None:
        if fcntl is None:
            raise _usage(f"cannot lock {self.path}: this system has no flock", str(self.path))
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.locked = True
        except BlockingIOError:
            raise _usage(
                f"another sijfasp batch is writing {self.path} (it holds the file's lock): "
                "wait until it ends, or choose another --out",
                str(self.path),
            ) from None
        except OSError as error:
            if error.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                reason = (
                    "its file system does not support locks, so another run could write it at "
                    "the same time; choose an --out on a file system that does (a local disk)"
                )
            else:
                reason = error.strerror or str(error)
            raise _usage(f"cannot lock {self.path}: {reason}", str(self.path)) from None

    # -------------------------------------------------------------- resume
    def resume(self, header: dict, items: Iterator[Item]) -> tuple[Done, Iterator[Item]]:
        """Check the output against its record, the record against this run's header and
        input (streaming both files: constant memory), cut a partial line this run's record
        says it was writing, and leave `items` at the first case to do."""
        size = os.fstat(self.fd).st_size
        try:
            record = open(self.record, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            if size:
                raise self._refuse(
                    f"the output has no resume record ({self.record}): it was not written by "
                    f"sijfasp batch as it is now, or the record was removed, and --resume "
                    f"changes nothing it did not write; run without --resume to start over, or "
                    f"choose another --out"
                ) from None
            return Done(), items  # nothing written yet: a new run
        except OSError as error:
            raise self._refuse(f"cannot read {self.record}: {error.strerror or error}") from None
        with record:
            if not size:
                return Done(), items  # nothing kept: a new run, whatever the record holds
            self._same_options(self._header(record), header)
            return self._entries(record, size, items)

    def _header(self, record: IO[bytes]) -> dict:
        try:
            written = json.loads(record.readline(MAX_RECORD_LINE))
        except ValueError:
            written = None
        if not isinstance(written, dict) or written.get("format") != RECORD_FORMAT:
            raise self._refuse(f"{self.record} is not a resume record of sijfasp batch")
        return written

    def _same_options(self, written: dict, header: dict) -> None:
        then, now = written.get("options"), header["options"]
        if not isinstance(then, dict):
            raise self._refuse(f"{self.record} is not a resume record of sijfasp batch")
        differ = [
            f"{key}: {_shown(then.get(key))} then, {_shown(value)} now"
            for key, value in now.items()
            if then.get(key) != value
        ]
        if differ:
            raise self._refuse(
                "the output was written with other options than this run's ("
                + "; ".join(differ)
                + "): resume with the same options, or run without --resume to start over"
            )

    def _entries(
        self, record: IO[bytes], size: int, items: Iterator[Item]
    ) -> tuple[Done, Iterator[Item]]:
        """The output is read through the locked descriptor itself (os.pread): where flock is
        carried by POSIX locks (NFS), closing another descriptor of the file would release it."""
        done = Done()
        offset = number = 0
        cut_record: int | None = None  # where the record's unfinished entry starts
        redo: Item | None = None  # the case whose line was missing or partial
        while True:
            start = record.tell()
            raw = record.readline(MAX_RECORD_LINE)
            if not raw:
                break
            if not raw.endswith(b"\n"):  # stopped while writing the entry: no line yet
                if record.read(1):
                    raise self._damaged(number + 2)
                cut_record = start
                break
            entry = self._entry(raw, number, offset)
            item = next(items, None)
            where = f"{self.path}:{number + 1}"
            if item is None:
                raise _usage(
                    "the output holds more lines than the input has cases: not a run of this "
                    "input; run without --resume to start over",
                    where,
                )
            if entry["source"] != item.source:
                raise self._changed(
                    number, f"case {number + 1} was {entry['source']}, it is now {item.source}"
                )
            if entry["sha256"] != item.digest:
                raise self._changed(
                    number, f"case {number + 1} ({item.source}) has another content now"
                )
            end = offset + entry["bytes"]
            if end > size:  # stopped while writing its line: the last entry
                if record.read(1):  # an entry after a line not written: not this code's
                    raise self._damaged(number + 3)
                tail = os.pread(self.fd, size - offset, offset)
                if b"\n" in tail or (tail and not tail.startswith(b"{")):
                    raise self._foreign(size - offset, number)
                cut_record, redo = start, item
                break
            digest = hashlib.sha256()
            left, at = entry["bytes"], offset
            while left:
                chunk = os.pread(self.fd, min(left, CHUNK), at)
                if not chunk:
                    break
                digest.update(chunk)
                left, at = left - len(chunk), at + len(chunk)
            if left or digest.hexdigest() != entry["line_sha256"]:
                raise _usage(
                    "the line was changed since sijfasp batch wrote it, and --resume changes "
                    "nothing it did not write; restore it, or run without --resume to start "
                    "over",
                    where,
                )
            offset, number = end, number + 1
            done.lines += 1
            done.errors += bool(entry["error"])
        if redo is None and size > offset:
            raise self._foreign(size - offset, number)
        # Everything checked: cut what this run's record says it left unfinished.
        if cut_record is not None:
            os.truncate(self.record, cut_record)
        if size > offset:
            os.ftruncate(self.fd, offset)
        self.offset, self.number, self.continuing = offset, number, True
        self.record_fd = self._open_record(os.O_WRONLY | os.O_APPEND)
        return done, items if redo is None else itertools.chain([redo], items)

    def _entry(self, raw: bytes, number: int, offset: int) -> dict:
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        fields = {"case": int, "source": str, "sha256": str, "at": int, "bytes": int}
        if (
            not isinstance(entry, dict)
            or any(not isinstance(entry.get(k), t) for k, t in fields.items())
            or not isinstance(entry.get("line_sha256"), str)
            or (entry["case"], entry["at"]) != (number, offset)
            or entry["bytes"] < 1
        ):
            raise self._damaged(number + 2)
        return entry

    def _refuse(self, message: str) -> SijfaspError:
        return _usage(message, str(self.path))

    def _damaged(self, line: int) -> SijfaspError:
        return _usage(
            "the resume record is damaged here: --resume cannot tell which lines of the output "
            "it wrote; run without --resume to start over",
            f"{self.record}:{line}",
        )

    def _changed(self, number: int, how: str) -> SijfaspError:
        return _usage(
            f"the input changed since the output was written: {how}; --resume needs the same "
            f"cases in the same order (a case file added or removed before the stop moves "
            f"every case after it): restore the input, or run without --resume to start over",
            f"{self.path}:{number + 1}",
        )

    def _foreign(self, extra: int, number: int) -> SijfaspError:
        after = f"after its line {number}" if number else "before any line"
        return self._refuse(
            f"the output holds {extra:,} bytes {after}, the last one sijfasp batch wrote "
            f"there: they were not written by this run, and --resume changes nothing it did "
            f"not write; move them away, or run without --resume to start over"
        )

    # -------------------------------------------------------------- writing
    def _open_record(self, flags: int) -> int:
        try:
            return os.open(self.record, flags, 0o644)
        except OSError as error:
            raise self._refuse(f"cannot write {self.record}: {error.strerror or error}") from None

    def start(self, header: dict) -> None:
        """A new run: the record first (so that a stop in between leaves an output that
        --resume refuses rather than one it misreads), then the output emptied."""
        self.record_fd = self._open_record(os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
        _write_all(self.record_fd, (json.dumps(header, separators=(",", ":")) + "\n").encode())
        os.ftruncate(self.fd, 0)
        self.offset = self.number = 0

    def write(self, outcome: Outcome) -> None:
        """The entry, then the line, each with one write."""
        assert self.record_fd is not None
        data = outcome.line.encode("utf-8")
        entry = {
            "case": self.number,
            "source": outcome.source,
            "sha256": outcome.digest,
            "at": self.offset,
            "bytes": len(data),
            "line_sha256": _sha256(data),
            "error": outcome.determinations is None,
        }
        _write_all(self.record_fd, (json.dumps(entry, separators=(",", ":")) + "\n").encode())
        _write_all(self.fd, data)
        self.offset += len(data)
        self.number += 1

    def discard(self) -> None:
        """Remove an output this run created and never wrote to (with the lock still held:
        never one another run created in the meantime)."""
        if self.locked and self.created and not self.number and self.record_fd is None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def close(self) -> None:
        for fd in (self.record_fd, self.fd):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.record_fd, self.fd = None, -1


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
            engine = _Dask(config, workers, args.scheduler)
        elif workers > 1:
            engine = _Processes(config, workers)
        else:
            engine = _InProcess(config)
        if not journal.continuing:
            journal.start(header)
        try:
            for outcome in in_order(engine, items, engine.capacity * AHEAD_PER_WORKER):
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
