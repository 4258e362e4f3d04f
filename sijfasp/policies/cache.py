"""Loaded policies kept between runs, so that a cold run does not parse, check and compile
the policies again (docs/cli.md, "The cache").

An entry is named by a hash of everything a load depends on that is known before parsing: the
policy file's text, its absolute path and the name diagnostics give it, sijfasp's version,
the text of its own sources and grammar, and the versions of Python and Lark (a code change
never serves an old result). Inside,
the entry lists the files the policy imported (vocabulary and extensions), each with the hash
of its text: an entry is used only when every one of them still reads the same.

Entries are pickles, read only from a directory and files that belong to the user and that no
one else may write (user_cache.is_private), with an unpickler that builds nothing but
sijfasp's own data classes, named tuples and enums, `Decimal` and `date`. A missing,
unreadable, truncated or foreign entry is a miss: the policy is loaded afresh and the entry
written again, atomically (a temporary file renamed over it), so that a concurrent run reads
the old entry or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import importlib.util
import io
import os
import pickle
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from .. import __version__
from ..core.resources import grammar_path
from ..core.source import SourceText
from ..core.user_cache import cache_dir, drop_old_entries, is_private, write_entry

# Changed whenever the layout of an entry changes.
FORMAT = b"sijfasp-loaded-policy 1\n"
# Enough for every policy of several sets; a miss costs one load, so old entries just go.
MAX_ENTRIES = 256
_PACKAGE = Path(__file__).resolve().parent.parent  # sijfasp/, above policies/
_OTHER_TYPES = {("decimal", "Decimal"): decimal.Decimal, ("datetime", "date"): dt.date}

T = TypeVar("T")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str | None:
    """A hash of what loading a policy runs: sijfasp's sources, its grammar, its version, the
    Python that runs it and Lark's version (read from its package, which is not imported).
    None when one of them cannot be read (no cache then)."""
    digest = hashlib.sha256(FORMAT)
    digest.update(f"{__version__} {sys.implementation.cache_tag}\n".encode())
    try:
        lark = importlib.util.find_spec("lark")
        if lark is None or lark.origin is None:
            return None
        for source in [*sorted(_PACKAGE.rglob("*.py")), grammar_path(), Path(lark.origin)]:
            name = source.relative_to(_PACKAGE) if source.is_relative_to(_PACKAGE) else source
            digest.update(str(name).encode("utf-8") + b"\0")
            digest.update(source.read_bytes() + b"\0")
    except (OSError, ImportError, ValueError):
        return None
    return digest.hexdigest()


def _names(path: Path, source: SourceText) -> tuple[str, str] | None:
    """The entry's file name, for this policy file as a run names it (its folder is where its
    imports are found; its shown name is in every span), and the entry's full key."""
    code = code_digest()
    if code is None:
        return None
    where = f"{os.path.abspath(path)}\0{source.path}"
    place = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    key = hashlib.sha256(
        f"{code}\0{where}\0{_sha256(source.text)}".encode("utf-8", "surrogatepass")
    ).hexdigest()
    return f"policy-{place}-{key[:32]}.pickle", key


class _Unpickler(pickle.Unpickler):
    """Builds sijfasp's data classes, named tuples and enums, Decimal and date; refuses
    anything else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _OTHER_TYPES:
            return _OTHER_TYPES[(module, name)]
        if module == "sijfasp" or module.startswith("sijfasp."):
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found)
                or issubclass(found, enum.Enum)
                or (issubclass(found, tuple) and hasattr(found, "_fields"))  # a NamedTuple
            ):
                return found
        raise pickle.UnpicklingError(f"not a policy type: {module}.{name}")


def _unchanged(dependencies: object) -> bool:
    """Every file the policy imported (absolute path, hash of its text) still reads the same."""
    if not isinstance(dependencies, tuple):
        return False
    for dependency in dependencies:
        if not (isinstance(dependency, tuple) and len(dependency) == 2):
            return False
        path, sha256 = dependency
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, TypeError, UnicodeDecodeError):
            return False
        if _sha256(text) != sha256:
            return False
    return True


def get(path: Path, source: SourceText, kind: type[T]) -> T | None:
    """The cached load of this policy text at this path, or None (a miss, never an error)."""
    folder = cache_dir()
    names = _names(path, source)
    if folder is None or names is None:
        return None
    entry = folder / names[0]
    try:
        if not is_private(entry):
            return None
        data = entry.read_bytes()
        if not data.startswith(FORMAT):
            return None
        stored = _Unpickler(io.BytesIO(data[len(FORMAT) :])).load()
    except Exception:  # any damaged or foreign entry is only a miss
        return None
    if not (isinstance(stored, tuple) and len(stored) == 3):
        return None
    key, dependencies, loaded = stored
    if key != names[1] or not isinstance(loaded, kind) or not _unchanged(dependencies):
        return None
    return loaded


def _prune(folder: Path, kept: str) -> None:
    """Drop the entries of earlier texts of the same file, the oldest entries beyond
    MAX_ENTRIES (policies loaded from folders since deleted, say), and old temporary files."""
    same_file = kept.rsplit("-", 1)[0] + "-"
    for entry in folder.glob("policy-*.pickle"):
        if entry.name != kept and entry.name.startswith(same_file):
            entry.unlink(missing_ok=True)
    drop_old_entries(folder, "policy-*.pickle", "policy", MAX_ENTRIES)


def put(
    path: Path, source: SourceText, loaded: object, imported: Sequence[tuple[Path, str]]
) -> None:
    """Keep a fresh load, with the files it imported and their texts as read; replaces the
    entry of an earlier text of the same file. Does nothing when the cache cannot be written."""
    folder = cache_dir()
    names = _names(path, source)
    if folder is None or names is None:
        return
    name, key = names
    dependencies = tuple((os.path.abspath(p), _sha256(text)) for p, text in imported)
    try:
        data = FORMAT + pickle.dumps((key, dependencies, loaded), protocol=5)
    except Exception:  # a policy object that does not pickle: not worth failing a run for
        return
    if write_entry(folder, name, data, "policy"):
        with contextlib.suppress(OSError):
            _prune(folder, name)
