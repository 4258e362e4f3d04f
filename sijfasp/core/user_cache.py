"""The user's cache directory, shared by the built parser (language/parser.py) and the loaded policies
(policies/cache.py). Everything kept there is an optimization: it can be deleted at any time.

`SIJFASP_CACHE_DIR` names the directory itself; otherwise it is `sijfasp` under
`$XDG_CACHE_HOME`, else under `~/.cache`. `SIJFASP_NO_CACHE` (any non-empty value) turns
every cache off.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

NO_CACHE_VARIABLE = "SIJFASP_NO_CACHE"
DIRECTORY_VARIABLE = "SIJFASP_CACHE_DIR"


def cache_dir() -> Path | None:
    """The cache directory, made if missing (for its owner only); None when caching is off,
    when the directory cannot be made, or when someone else may write to it (what is read
    from it is trusted: see is_private)."""
    if os.environ.get(NO_CACHE_VARIABLE):
        return None
    chosen = os.environ.get(DIRECTORY_VARIABLE)
    try:
        if chosen:
            folder = Path(chosen)
        else:
            base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            folder = Path(base) / "sijfasp"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        return None
    return folder if folder.is_dir() and is_private(folder) else None


def is_private(path: Path) -> bool:
    """The file or directory belongs to this user and nobody else may write to it: what
    makes a cached file as trustworthy as the user's own files."""
    try:
        info = path.stat()
    except OSError:
        return False
    if not hasattr(os, "getuid"):  # no owners to compare (Windows): the profile is private
        return True
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def write_entry(folder: Path, name: str, data: bytes, kind: str) -> bool:
    """Write an entry atomically: a temporary file (`.KIND-*.tmp`) in the same folder, renamed
    over `name`, so that a run beside this one reads the old entry or the new one, never half
    of one. False when it could not be written (the cache only saves time)."""
    import tempfile  # only a miss writes

    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{kind}-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, folder / name)
        temporary = None
        return True
    except OSError:
        return False
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def drop_old_entries(folder: Path, pattern: str, kind: str, most: int) -> None:
    """Keep the `most` newest entries matching `pattern`, and remove the temporary files of
    `kind` a killed run left behind (none takes an hour to write)."""
    entries = []
    for entry in folder.glob(pattern):
        with contextlib.suppress(OSError):
            entries.append((entry.stat().st_mtime_ns, entry))
    entries.sort()
    for _, entry in entries[: max(0, len(entries) - most)]:
        with contextlib.suppress(OSError):
            entry.unlink()
    stale = time.time() - 3600
    for left in folder.glob(f".{kind}-*.tmp"):
        with contextlib.suppress(OSError):
            if left.stat().st_mtime < stale:
                left.unlink()
