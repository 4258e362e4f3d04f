"""The code `dataclasses` compiles for sijfasp's data classes, kept between runs.

For each data class, `dataclasses` writes the source of its methods (`__init__`, `__repr__`,
`__eq__`, `__hash__`, and a frozen class's `__setattr__` and `__delattr__`) and runs it with
`exec`, which compiles it: a tenth of a millisecond a method, more than half of the time a
command takes to import sijfasp's hundred-odd classes. What a text compiles to depends on
the text and the Python that compiles it only, so the compiled code is kept in the user's
cache (core/user_cache.py), one file per Python build, and while `cached()` is active `exec` runs
the code compiled before for the same text. Nothing else changes: the code is what
`compile(text, "<string>", "exec")` gives (as `exec` compiles a text, inheriting no
`from __future__` flag), run in the same namespaces, so the classes are the same.

A missing, foreign or damaged file only means compiling again: the code is unmarshalled only
when its SHA-256, written before it, matches (marshal itself trusts its input, and damaged code
can crash the interpreter). It is read only from a folder and a file that belong to the user
and no one else may write (user_cache.is_private), as Python trusts its own `__pycache__`.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import hashlib
import marshal
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .user_cache import cache_dir, drop_old_entries, is_private, write_entry

FORMAT = b"sijfasp-dataclass-code 2\n"
DIGEST_SIZE = 32  # the SHA-256 of the marshalled code, between FORMAT and the code
# One per Python build (a virtual environment is one): the oldest beyond go.
MAX_ENTRIES = 8


def entry_name() -> str:
    """One file per Python build: compiled code is read back only by the Python that wrote it."""
    build = f"{sys.version}\0{sys.implementation.cache_tag}\0{sys.executable}"
    return f"dataclass-code-{hashlib.sha256(build.encode()).hexdigest()[:24]}.marshal"


def _read(entry: Path) -> dict[str, types.CodeType]:
    try:
        if not is_private(entry):
            return {}
        data = entry.read_bytes()
        if not data.startswith(FORMAT):
            return {}
        digest = data[len(FORMAT) : len(FORMAT) + DIGEST_SIZE]
        payload = data[len(FORMAT) + DIGEST_SIZE :]
        # marshal trusts its input: damaged code can crash the interpreter when it runs, so
        # nothing is unmarshalled unless it is byte for byte what was written.
        if hashlib.sha256(payload).digest() != digest:
            return {}
        codes = marshal.loads(payload)
    except Exception:  # any damaged or foreign file is only a miss
        return {}
    if not isinstance(codes, dict) or not all(
        type(text) is str and type(code) is types.CodeType for text, code in codes.items()
    ):
        return {}
    return codes


def pack(codes: dict[str, types.CodeType]) -> bytes:
    """An entry's bytes: FORMAT, the SHA-256 of the marshalled code, the marshalled code."""
    payload = marshal.dumps(codes)
    return FORMAT + hashlib.sha256(payload).digest() + payload


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """While active, the methods of the data classes made are compiled once per Python build.
    When a text was compiled afresh, the cache is written again at the end with the code of
    this use only (so that it holds no class of an earlier version of sijfasp)."""
    folder = cache_dir()
    if folder is None or "exec" in vars(dataclasses):  # no cache, or already active
        yield
        return
    entry = folder / entry_name()
    codes = _read(entry)
    used: dict[str, types.CodeType] = {}
    added = 0

    def exec_cached(source: Any, globals: Any = None, locals: Any = None, /) -> None:
        nonlocal added
        if type(source) is str:
            code = used.get(source) or codes.get(source)
            if code is None:
                code = compile(source, "<string>", "exec", dont_inherit=True)
                added += 1
            used[source] = code
            source = code
        builtins.exec(source, globals, locals)

    dataclasses.exec = exec_cached  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
        if added:
            with contextlib.suppress(ValueError):
                data = pack(used)
                if write_entry(folder, entry.name, data, "dataclass-code"):
                    drop_old_entries(
                        folder, "dataclass-code-*.marshal", "dataclass-code", MAX_ENTRIES
                    )
