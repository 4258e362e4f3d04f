"""The cases of a batch's inputs, in order: JSON Lines files and standard input (a case per
line, each bounded by the file-size limit), directories of case files (sorted by name) and single
case files, each read as text with the SHA-256 of its bytes (the case's key in the resume record).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..cases.reader import STDIN, decode, read_case_bytes
from ..core.diagnostics import SijfaspError
from ..core.limits import Limits, raise_hint
from .evaluate import Item, usage

CASE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def check_inputs(inputs: list[str]) -> None:
    """Every input exists before any case runs: a typo is a usage error, not a half batch."""
    if inputs.count(STDIN) > 1:
        raise usage("standard input (-) can be read only once")
    for name in inputs:
        if name != STDIN and not os.path.exists(name):
            raise usage(f"cannot read {name}: no such file or directory", name)


def read_items(inputs: list[str], limits: Limits) -> Iterator[Item]:
    """Every case of the inputs in order, numbered from 0."""
    index = 0
    for name in inputs:
        for source, text, is_json, problem, digest in _cases_of(name, limits):
            yield Item(index, source, text, is_json, problem, digest)
            index += 1


_Read = tuple[str, str | None, bool, str | None, str]


def case_files(folder: str) -> list[Path]:
    """The case files of an input directory, in the order they are read."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in CASE_FILE_SUFFIXES)


def _cases_of(name: str, limits: Limits) -> Iterator[_Read]:
    if name == STDIN:
        yield from _json_lines(sys.stdin.buffer, "<stdin>", limits)
    elif os.path.isdir(name):
        for path in case_files(name):
            yield _case_file(path, limits)
    elif Path(name).suffix.lower() in CASE_FILE_SUFFIXES:
        yield _case_file(Path(name), limits)
    else:
        try:
            stream = open(name, "rb")  # noqa: SIM115 - closed below, read lazily
        except OSError as error:
            raise usage(f"cannot read {name}: {error.strerror or error}", name) from None
        with stream:
            yield from _json_lines(stream, name, limits)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _problem_digest(problem: str) -> str:
    return sha256(b"problem\0" + problem.encode("utf-8", "backslashreplace"))


def _case_file(path: Path, limits: Limits) -> _Read:
    source = str(path)
    try:
        data = read_case_bytes(path, limits)
        text = decode(data, source)
    except SijfaspError as error:
        problem = "; ".join(d.message for d in error.diagnostics)
        return source, None, False, problem, _problem_digest(problem)
    return source, text, path.suffix.lower() == ".json", None, sha256(data)


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
            yield source, None, True, problem, sha256(raw)
            continue
        if text.strip():
            yield source, text, True, None, sha256(raw)
