"""Finding and loading policy files: read, parse, resolve the vocabulary import, check.

This module only composes the stages (parser, semantics, compiler); it adds no meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import ast, versions
from .compiler import CompiledPolicy, compile_policy
from .diagnostics import Code, Diagnostic, SijfaspError
from .parser import parse
from .resources import policies_dir
from .semantics import Policy, Vocabulary, check_policy, check_vocabulary
from .source import SourceText, Span

POLICY_SUFFIX = ".sijp"
VOCABULARY_SUFFIX = ".sijv"
# A vocabulary file's first declaration, after blank lines and comments.
_VOCABULARY_START = re.compile(r"(?:\s|#[^\n]*)*vocabulary\s")


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    compiled: CompiledPolicy
    sources: tuple[SourceText, ...]


def read_source(path: Path, shown_as: str | None = None) -> SourceText:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    f"cannot read {shown_as or path}: {reason}",
                    file=str(shown_as or path),
                )
            ]
        ) from None
    return SourceText(shown_as or str(path), text)


@lru_cache(maxsize=8)
def _vocabulary(path: Path, shown_as: str) -> tuple[Vocabulary, SourceText]:
    source = read_source(path, shown_as)
    return check_vocabulary(parse(source)), source


def load_policy(path: Path | str, shown_as: str | None = None) -> LoadedPolicy:
    """Parse, check and compile one policy file; raise SijfaspError with every problem found."""
    path = Path(path)
    source = read_source(path, shown_as)
    try:
        return _load(path, source)
    except SijfaspError as error:
        error.sources.setdefault(source.path, source)
        raise


def _import_problem(imported: str) -> str | None:
    """Why an import path is refused before anything is read, or None."""
    if not imported.endswith(VOCABULARY_SUFFIX):
        return f"'{imported}' is not a vocabulary file: its name must end in {VOCABULARY_SUFFIX}"
    return None


def _looks_like_vocabulary(text: str) -> bool:
    return _VOCABULARY_START.match(text) is not None


def _load(path: Path, source: SourceText) -> LoadedPolicy:
    tree = parse(source)
    imports = [d for d in tree.declarations if isinstance(d, ast.ImportDecl)]
    if len(imports) != 1:
        span = imports[1].span if imports else Span(source.path, 1, 1, 1, 2)
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    'a policy imports exactly one vocabulary, like: import "vocabulary.sijv"',
                    span,
                )
            ]
        )
    imported = imports[0]
    problem = _import_problem(imported.path)
    if problem is not None:
        raise SijfaspError([Diagnostic(Code.IMPORT, problem, imported.span)])
    # Relative to the policy's own folder, wherever sijfasp is run from.
    target = path.parent / imported.path
    shown = str(Path(source.path).parent / imported.path)
    if not target.is_file():
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    f"cannot find the vocabulary '{imports[0].path}' next to {source.path}",
                    imports[0].span,
                )
            ]
        )
    if not _looks_like_vocabulary(read_source(target, shown).text):
        # Not quoted: the file may be anything, and its lines are none of the author's business.
        raise SijfaspError(
            [
                Diagnostic(
                    Code.IMPORT,
                    f"'{imported.path}' is not a vocabulary: it does not begin with "
                    "'vocabulary NAME \"...\"'",
                    imported.span,
                )
            ]
        )
    try:
        vocabulary, vocabulary_source = _vocabulary(target.resolve(), shown)
    except SijfaspError as error:
        error.sources.setdefault(shown, read_source(target, shown))
        raise
    policy = check_policy(tree, vocabulary)
    return LoadedPolicy(policy, compile_policy(policy), (source, vocabulary_source))


def is_vocabulary_file(path: Path) -> bool:
    return path.suffix == VOCABULARY_SUFFIX


def load_vocabulary(path: Path) -> Vocabulary:
    """Parse and check a vocabulary file on its own."""
    source = read_source(path)
    try:
        return check_vocabulary(parse(source))
    except SijfaspError as error:
        error.sources.setdefault(source.path, source)
        raise


def bundled_policy_paths() -> list[Path]:
    return sorted(policies_dir().glob("*" + POLICY_SUFFIX))


@lru_cache(maxsize=1)
def bundled_policy_versions() -> tuple[LoadedPolicy, ...]:
    """Every version of every bundled policy, each id's versions together, oldest first."""
    return policy_versions(load_policy(p, f"policies_asp/{p.name}") for p in bundled_policy_paths())


@lru_cache(maxsize=1)
def bundled_policies() -> tuple[LoadedPolicy, ...]:
    """The latest version of each bundled policy (the set a reader of today's policies sees)."""
    return tuple(versions.latest(bundled_policy_versions()))


def policy_versions(loaded: Iterable[LoadedPolicy]) -> tuple[LoadedPolicy, ...]:
    """Policies grouped into versions; two files with one id and one version are an error."""
    found = list(loaded)
    versions.check_unique(found)
    return tuple(versions.ordered(found))
