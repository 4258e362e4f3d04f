"""The output of a batch and its resume record (OUTPUT.resume), for one run: the output refused
when it is an input or lies in an input folder, locked for the run (flock), each line written
after its entry in the record, and --resume checking both against the input and the options
(streaming, in constant memory) before it cuts the one partial line its own record accounts for.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..cases.reader import STDIN
from ..core.diagnostics import SijfaspError, file_kind
from ..core.resources import encodings_dir
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from .evaluate import Config, Item, Outcome, usage
from .inputs import case_files, sha256

try:
    import fcntl
except ImportError:  # not a POSIX system: no flock, and a batch is refused (Journal._lock)
    fcntl = None  # type: ignore[assignment]

# The resume record beside the output (OUTPUT.resume): its first line, then one per line written.
RECORD_SUFFIX = ".resume"
RECORD_FORMAT = "sijfasp batch resume record 1"
MAX_RECORD_LINE = 1 << 20  # bytes of one line of a record (its header lists the policies)
CHUNK = 1 << 20  # bytes read at a time when the output's lines are checked


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
        raise usage(
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
                    raise usage(
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
        return any(_same(info, os.stat(p)) for p in case_files(folder))
    except OSError:
        return False


def _output_is_input(what: str, path: Path, name: str) -> SijfaspError:
    return usage(
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
        digest.update(sha256(source.text.encode("utf-8", "surrogatepass")).encode() + b"\n")
    return digest.hexdigest()


def _encodings_digest() -> str:
    """The encodings every policy is read with (policy.lp: what a policy means)."""
    digest = hashlib.sha256()
    for path in sorted(encodings_dir().glob("*.lp")):
        digest.update(sha256(path.read_bytes()).encode() + b"\n")
    return digest.hexdigest()


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "not given" if value is None else str(value)


def _regular(path: Path, info: os.stat_result | None) -> None:
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise usage(
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
            raise usage(f"cannot write {path}: {error.strerror or error}", str(path)) from None
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
            raise usage(f"cannot lock {self.path}: this system has no flock", str(self.path))
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.locked = True
        except BlockingIOError:
            raise usage(
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
            raise usage(f"cannot lock {self.path}: {reason}", str(self.path)) from None

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
                raise usage(
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
                raise usage(
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
        return usage(message, str(self.path))

    def _damaged(self, line: int) -> SijfaspError:
        return usage(
            "the resume record is damaged here: --resume cannot tell which lines of the output "
            "it wrote; run without --resume to start over",
            f"{self.record}:{line}",
        )

    def _changed(self, number: int, how: str) -> SijfaspError:
        return usage(
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
            "line_sha256": sha256(data),
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
