"""Finding and loading policy files: read, parse, resolve the vocabulary import, check.

This module only composes the stages (parser, semantics, compiler); it adds no meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import ast
from .compiler import CompiledPolicy, compile_policy
from .diagnostics import Diagnostic, SijfaspError
from .parser import parse
from .resources import policies_dir
from .semantics import Policy, Vocabulary, check_policy, check_vocabulary
from .source import SourceText, Span

POLICY_SUFFIX = ".sijp"


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
    target = path.parent / imports[0].path
    shown = str(Path(source.path).parent / imports[0].path)
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
    try:
        vocabulary, vocabulary_source = _vocabulary(target.resolve(), shown)
    except SijfaspError as error:
        error.sources.setdefault(shown, read_source(target, shown))
        raise
    policy = check_policy(tree, vocabulary)
    return LoadedPolicy(policy, compile_policy(policy), (source, vocabulary_source))


VOCABULARY_SUFFIX = ".sijv"


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
def bundled_policies() -> tuple[LoadedPolicy, ...]:
    return tuple(load_policy(p, f"policies_asp/{p.name}") for p in bundled_policy_paths())
