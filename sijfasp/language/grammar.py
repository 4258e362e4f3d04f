"""The Lark grammar loaded once (LALR, positions kept), its built tables kept in the user's cache
between runs; and what the grammar's terminals tell the error messages (their names, the
keywords).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import lark
from lark import Lark

from ..core.resources import grammar_path
from ..core.user_cache import cache_dir


def _cache_file(grammar: str) -> str | bool:
    """Where the built parser is kept between runs: the user's cache directory (core/user_cache.py),
    named by the grammar's hash and Lark's version (Lark also checks the hash on loading).
    False (no cache) when there is none, or when SIJFASP_NO_CACHE is set."""
    folder = cache_dir()
    if folder is None:
        return False
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    return str(folder / f"grammar-{digest}-lark-{lark.__version__}.cache")


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    # Building the LALR tables takes most of a cold start's parsing; a cached parser loads in
    # a tenth of that. Lark rebuilds (and rewrites) a cache that is missing or does not match.
    grammar = grammar_path().read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=_cache_file(grammar),
    )


@lru_cache(maxsize=1)
def terminal_names() -> frozenset[str]:
    return frozenset(t.name for t in lark_parser().terminals)


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    return frozenset(
        t.pattern.value
        for t in lark_parser().terminals
        if t.pattern.type == "str" and re.fullmatch(r"[a-z_]+", t.pattern.value)
    )
