"""Finding and loading policy files: read, parse, resolve the vocabulary import, check.

This module only composes the stages (parser, semantics, compiler); it adds no meaning.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.diagnostics import Code, Diagnostic, SijfaspError, did_you_mean, file_kind
from ..core.limits import MAX_POLICY_BYTES
from ..core.source import SourceText, Span
from ..language import ast
from . import cache as policy_cache
from . import versions
from .loaded import LoadedPolicy
from .policy_set import FOLDER_NAME, Origin, PolicySet, installed

if TYPE_CHECKING:
    from ..language.semantics import Vocabulary

# The parser (and Lark), the checks and the compiler are imported where a policy is loaded
# afresh: a run whose policies all come from the cache (policies/cache.py) never needs them.

POLICY_SUFFIX = ".sijp"
VOCABULARY_SUFFIX = ".sijv"
# A vocabulary file's first declaration, after blank lines and comments.
_VOCABULARY_START = re.compile(r"(?:\s|#[^\n]*)*vocabulary\s")


def read_source(path: Path, shown_as: str | None = None, language: bool = True) -> SourceText:
    """The text of a policy or vocabulary file. A file that is not a regular file (a named pipe
    would block, a device never end), is past the size limit, is not UTF-8 text, or holds no
    declaration of the language (`not_language`) is refused by its name only: its lines are
    never quoted, since it may be anything (a symbolic link to /etc/passwd named x.sijp).
    `language` False: the caller says what the file is not, at the line that named it (an import
    of a file that is no vocabulary)."""
    shown = str(shown_as or path)

    def refuse(reason: str) -> SijfaspError:
        return SijfaspError([Diagnostic(Code.IMPORT, f"cannot read {shown}: {reason}", file=shown)])

    try:
        info = os.stat(path)  # follows symbolic links: what counts is what is read
        if not stat.S_ISREG(info.st_mode):
            raise refuse(f"{file_kind(info.st_mode)}, not a regular file")
        if info.st_size > MAX_POLICY_BYTES:
            raise refuse(f"larger than the limit of {MAX_POLICY_BYTES:,} bytes for a policy file")
        with open(path, "rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
    except OSError as error:
        raise refuse(error.strerror or str(error)) from None
    if len(data) > MAX_POLICY_BYTES:
        raise refuse(f"larger than the limit of {MAX_POLICY_BYTES:,} bytes for a policy file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refuse(f"not UTF-8 text (byte {error.start + 1} cannot be decoded)") from None
    if language and not_language(text):
        raise refuse(
            "not a policy or vocabulary file: it does not begin with a declaration and "
            "declares no policy or vocabulary (its text is not shown)"
        )
    return SourceText(shown, text)


# What a policy or vocabulary file can begin with (after blank lines and comments), and the
# header one of them must have somewhere when it does not.
_DECLARATIONS = [
    "import",
    "advisories",
    "criteria",
    "define",
    "exclusions",
    "finding",
    "policy",
    "record",
    "records",
    "request_field",
    "service",
    "vocabulary",
]
_FIRST_WORD = re.compile(r"(?:\s|#[^\n]*)*([^\s#]*)")
_HEADER = re.compile(r"^[ \t]*(?:policy|vocabulary)[ \t]+[a-z][a-z0-9_]*", re.MULTILINE)


def not_language(text: str) -> bool:
    """Whether a text is no file of the language, to be named and never quoted: its first word
    is no declaration's and it has no `policy NAME` or `vocabulary NAME` line. A file with only
    blank lines and comments is a file of the language (with nothing in it)."""
    match = _FIRST_WORD.match(text)
    first = match.group(1) if match else ""
    word = re.match(r"[a-z_]*", first)
    if not first or (word is not None and word.group() in _DECLARATIONS):
        return False
    return _HEADER.search(text) is None


def _vocabulary(path: Path, shown_as: str) -> tuple[Vocabulary, SourceText]:
    source = read_source(path, shown_as)
    return _checked_vocabulary(source), source


@lru_cache(maxsize=8)
def _checked_vocabulary(source: SourceText) -> Vocabulary:
    """Checked once per text: an edited vocabulary is checked afresh."""
    from ..language.parser import parse
    from ..language.semantics import check_vocabulary

    return check_vocabulary(parse(source))


def load_policy(path: Path | str, shown_as: str | None = None) -> LoadedPolicy:
    """Parse, check and compile one policy file; raise SijfaspError with every problem found.
    A policy whose text, imports and sijfasp itself are unchanged since an earlier run comes
    from the cache (policies/cache.py), equal to a fresh load."""
    path = Path(path)
    source = read_source(path, shown_as)
    cached = policy_cache.get(path, source, LoadedPolicy)
    if cached is not None:
        return cached
    read: list[tuple[Path, str]] = []
    try:
        loaded = _load(path, source, read)
    except SijfaspError as error:
        error.sources.setdefault(source.path, source)
        raise
    policy_cache.put(path, source, loaded, read)
    return loaded


def load_policy_text(path: Path, text: str) -> LoadedPolicy:
    """Like load_policy, for a file's text as an editor holds it (unsaved): the vocabulary
    import is still resolved next to `path`. Never cached: the text changes at every key."""
    return _load(path, SourceText(str(path), text), [])


def imported_vocabulary(path: Path, tree: ast.SourceFile) -> tuple[Vocabulary, Path] | None:
    """The vocabulary a policy's first import names, checked, with the file it was read from;
    None when the policy imports none. Raises SijfaspError when it cannot be read or checked."""
    imports = [d for d in tree.declarations if isinstance(d, ast.ImportDecl)]
    if not imports:
        return None
    target, shown = _import_target(path, SourceText(str(path), ""), imports[0])
    return _vocabulary(target.resolve(), shown)[0], target.resolve()


def _import_problem(imported: str) -> str | None:
    """Why an import path is refused before anything is read, or None."""
    if not imported.endswith(VOCABULARY_SUFFIX):
        return f"'{imported}' is not a vocabulary file: its name must end in {VOCABULARY_SUFFIX}"
    return None


def _looks_like_vocabulary(text: str) -> bool:
    return _VOCABULARY_START.match(text) is not None


def _load(path: Path, source: SourceText, read: list[tuple[Path, str]]) -> LoadedPolicy:
    """The policy loaded afresh; `read` gets each file its imports name, with the text read."""
    from ..language.compiler import compile_policy
    from ..language.extensions import check_extension
    from ..language.parser import parse
    from ..language.semantics import check_policy

    tree = parse(source)
    imports = [d for d in tree.declarations if isinstance(d, ast.ImportDecl)]
    if not imports:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    'a policy imports the shared vocabulary, like: import "vocabulary.sijv"',
                    Span(source.path, 1, 1, 1, 2),
                )
            ]
        )
    seen: set[Path] = set()
    vocabulary: Vocabulary | None = None
    sources = [source]
    for imported in imports:
        target, shown = _import_target(path, source, imported)
        if target.resolve() in seen:
            raise SijfaspError(
                [Diagnostic(Code.IMPORT, f"'{imported.path}' is imported twice", imported.span)]
            )
        seen.add(target.resolve())
        try:
            if vocabulary is None:
                vocabulary, vocabulary_source = _vocabulary(target.resolve(), shown)
                sources.append(vocabulary_source)
                read.append((target, vocabulary_source.text))
            else:
                extension_source = read_source(target, shown)
                sources.append(extension_source)
                read.append((target, extension_source.text))
                vocabulary = check_extension(parse(extension_source), vocabulary)
        except SijfaspError as error:
            error.sources.setdefault(shown, read_source(target, shown))
            raise
    assert vocabulary is not None
    lines = _line_problems(tree)
    try:
        policy = check_policy(tree, vocabulary)
    except SijfaspError as error:
        error.diagnostics += lines
        raise
    if lines:
        raise SijfaspError(lines)
    return LoadedPolicy(policy, compile_policy(policy), tuple(sources))


def _line_problems(tree: ast.SourceFile) -> list[Diagnostic]:
    """`effective for NAME DATE` lines whose NAME is no line of business (policies/versions.py)."""
    found = []
    for declaration in tree.declarations:
        if not isinstance(declaration, ast.PolicyDecl):
            continue
        for line in declaration.plan_properties:
            problem = versions.line_problem(line.plan)
            if problem is not None:
                found.append(Diagnostic(Code.PROPERTY, problem[0], line.span, hint=problem[1]))
    return found


_VOCABULARY_NAME = re.compile(r"(?:\s|#[^\n]*)*vocabulary\s+([A-Za-z_][A-Za-z0-9_]*)")


def bundled_vocabularies() -> dict[str, Path]:
    """The vocabularies bundled with sijfasp, by the name each declares (`vocabulary NAME`)."""
    from ..core.resources import policies_dir

    found: dict[str, Path] = {}
    for candidate in sorted(policies_dir().glob("*" + VOCABULARY_SUFFIX)):
        try:
            match = _VOCABULARY_NAME.match(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if match is not None:
            found.setdefault(match.group(1), candidate)
    return found


def _named_vocabulary(imported: ast.ImportDecl) -> tuple[Path, str]:
    """`import vocabulary "NAME"`: the bundled vocabulary of that name (no copy, no path)."""
    known = bundled_vocabularies()
    if imported.path not in known:
        raise SijfaspError(
            [
                Diagnostic(
                    Code.IMPORT,
                    f"no vocabulary named '{imported.path}' is bundled with sijfasp",
                    imported.span,
                    hint=did_you_mean(imported.path, known)
                    or ("bundled: " + ", ".join(sorted(known)) if known else None),
                )
            ]
        )
    target = known[imported.path]
    return target, str(target)


def _import_target(path: Path, source: SourceText, imported: ast.ImportDecl) -> tuple[Path, str]:
    """The file an import names, relative to the policy's own folder, checked to be a
    vocabulary; and how diagnostics name it."""
    if imported.by_name:
        return _named_vocabulary(imported)
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
                    f"cannot find the vocabulary '{imported.path}' next to {source.path}",
                    imported.span,
                )
            ]
        )
    if not _looks_like_vocabulary(read_source(target, shown, language=False).text):
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
    return target, shown


def is_vocabulary_file(path: Path) -> bool:
    return path.suffix == VOCABULARY_SUFFIX


def load_vocabulary(path: Path) -> Vocabulary:
    """Parse and check a vocabulary file on its own; an extension (language/extensions.py) is checked
    for its own items, its additions to another vocabulary with the policy that imports it."""
    from ..language.extensions import check_extension, is_extension
    from ..language.parser import parse
    from ..language.semantics import check_vocabulary

    source = read_source(path)
    try:
        tree = parse(source)
        if is_extension(tree):
            return check_extension(tree, None)
        return check_vocabulary(tree)
    except SijfaspError as error:
        error.sources.setdefault(source.path, source)
        raise


def bundled_policy_paths() -> list[Path]:
    """The policy files of the bundle installed with the package."""
    return installed().policy_paths()


def bundled_policy_versions() -> tuple[LoadedPolicy, ...]:
    """Every version of every policy of the installed bundle (not the set a run discovers),
    each id's versions together, oldest first."""
    return set_policies(installed())


def bundled_policies() -> tuple[LoadedPolicy, ...]:
    """The latest version of each policy of the installed bundle (today's policies)."""
    return tuple(versions.latest(bundled_policy_versions()))


def policy_versions(loaded: Iterable[LoadedPolicy]) -> tuple[LoadedPolicy, ...]:
    """Policies grouped into versions; two files with one id and one version are an error."""
    found = list(loaded)
    check_distinct(found)
    return tuple(versions.ordered(found))


def shown_path(policy_set: PolicySet, path: Path) -> str:
    """How diagnostics name a policy file of a set: from the working directory when it is
    below it, `policies_asp/NAME` for the installed bundle, else the absolute path."""
    if policy_set.origin == Origin.INSTALLED:
        return f"{FOLDER_NAME}/{path.name}"
    # The file as the set holds it: a symbolic link is named by its own name, not its target's.
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(absolute)


def set_policies(policy_set: PolicySet) -> tuple[LoadedPolicy, ...]:
    """Every policy of a set, loaded once per content: an edited file is read afresh."""
    paths = policy_set.policy_paths()
    stamp = []
    for path in [*paths, *sorted(policy_set.directory.glob("*" + VOCABULARY_SUFFIX))]:
        try:
            info = path.stat()
        except OSError:
            info = None
        stamp.append((path, info.st_mtime_ns if info else 0, info.st_size if info else 0))
    try:  # the files are named from the working directory (shown_path)
        here = "" if policy_set.origin == Origin.INSTALLED else str(Path.cwd())
    except OSError:
        here = ""
    return _set_policies(policy_set, tuple(stamp), here)


@lru_cache(maxsize=64)
def _set_policies(
    policy_set: PolicySet, stamp: tuple[tuple[Path, int, int], ...], cwd: str
) -> tuple[LoadedPolicy, ...]:
    return policy_versions(
        load_policy(path, shown_path(policy_set, path))
        for path, _, _ in stamp
        if path.suffix == POLICY_SUFFIX
    )


def source_sha256(loaded: LoadedPolicy) -> str:
    """The content hash of a policy's own file, as it was read."""
    source = next((s for s in loaded.sources if s.path == loaded.policy.path), None)
    return hashlib.sha256(source.text.encode("utf-8")).hexdigest() if source else ""


def stale_compiled(loaded: LoadedPolicy) -> Diagnostic | None:
    """A warning when the compiled `.lp` beside a policy file differs from a fresh compile
    (`sijfasp compile --check` fails on it): what lint and test say of it. No `.lp` at all is
    no warning here (a policy outside the bundle may never be compiled to a file)."""
    path = Path(loaded.policy.path)
    target = path.with_suffix(".lp")
    try:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
    except (OSError, UnicodeDecodeError):
        current = ""
    if current is None or current == loaded.compiled.program:
        return None
    return Diagnostic(
        Code.STALE_COMPILED,
        f"stale: {target.name} differs from a fresh compile of {path.name}",
        severity="warning",
        hint="run: sijfasp compile --write",
        file=str(target),
    )


def check_distinct(loaded: Sequence[LoadedPolicy]) -> None:
    """Two files of one set with one policy id and version (the effective date when the
    header names none): an error naming both, never the last one silently winning."""
    versions.check_unique(loaded)
