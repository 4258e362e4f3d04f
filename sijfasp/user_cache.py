"""The user's cache directory, shared by the built parser (parser.py) and the loaded policies
(policy_cache.py). Everything kept there is an optimization: it can be deleted at any time.

`SIJFASP_CACHE_DIR` names the directory itself; otherwise it is `sijfasp` under
`$XDG_CACHE_HOME`, else under `~/.cache`. `SIJFASP_NO_CACHE` (any non-empty value) turns
every cache off.
"""

from __future__ import annotations

import os
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
