"""The policy author's commands: `policies`, `compile`, `lint`, `fmt`, `test` and `diff`. Each
imports what only it uses (the prover, the formatter, policy tests, the semantic diff) inside
itself."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from ..core import textsafe
from ..core.diagnostics import Diagnostic, SijfaspError, render_all
from ..core.source import SourceText
from ..language.compiler import source_name
from ..policies.loaded import LoadedPolicy
from ..policies.loading import (
    check_distinct,
    is_vocabulary_file,
    load_policy,
    load_vocabulary,
    read_source,
    set_policies,
    shown_path,
    source_sha256,
    stale_compiled,
)
from ..results import render
from ..results.results import PolicySetInfo
from .common import (
    DIFF_TIME_LIMIT,
    Exit,
    error_output,
    limit_default,
    policies_option,
    policy_set,
    regular_files,
    run_limit_options,
    write_output,
)


def policies_options(listing: argparse.ArgumentParser) -> None:
    listing.add_argument("--format", choices=("text", "json"), default="text")
    policies_option(listing)


def compile_options(compile_: argparse.ArgumentParser) -> None:
    compile_.add_argument("policy", nargs="?", type=Path, help="the policy file (.sijp)")
    compile_.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    mode = compile_.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a policy of the set in use has no compiled .lp or one that differs "
        "from a fresh compile",
    )
    mode.add_argument(
        "--write",
        action="store_true",
        help="recompile every policy of the set in use into its .lp",
    )
    policies_option(compile_)
    run_limit_options(compile_)


def lint_options(lint: argparse.ArgumentParser) -> None:
    lint.add_argument(
        "files",
        nargs="*",
        metavar="policies",
        type=Path,
        help="policy (.sijp) or vocabulary (.sijv) files, or one policy folder (default: the "
        "policies of the set in use)",
    )
    policies_option(lint)
    run_limit_options(lint)


def fmt_options(fmt: argparse.ArgumentParser) -> None:
    fmt.add_argument(
        "paths", nargs="+", type=Path, help="files (.sijp, .sijv) or folders holding them"
    )
    fmt.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 listing the files to format"
    )
    fmt.add_argument("--diff", action="store_true", help="with --check, show each change as a diff")
    run_limit_options(fmt)


def test_options(test: argparse.ArgumentParser) -> None:
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="test files (default: the tests of every policy of the set in use)",
    )
    test.add_argument(
        "--update", action="store_true", help="write the actual results into the test files"
    )
    test.add_argument(
        "--coverage", action="store_true", help="which statuses the tests saw, per criterion"
    )
    test.add_argument(
        "--fail-under-full", action="store_true", help="exit 1 unless coverage is full"
    )
    test.add_argument(
        "--mutate",
        action="store_true",
        help="mutation testing: which small changes of the policy no test notices "
        "(paths may then name policies: ID, ID@VERSION)",
    )
    test.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="with --mutate: processes judging mutants (default: up to 4, one per core)",
    )
    policies_option(test)
    run_limit_options(test)
    # Tests take as long as they are many: no time limit unless one is given.
    test.set_defaults(time_limit=limit_default("time_limit") or 0)
    for action in test._actions:
        if action.dest == "time_limit":
            action.help = "stop a run that takes longer (default 0: no limit)"


def diff_options(diff: argparse.ArgumentParser) -> None:
    diff.add_argument("a", metavar="A", help="a policy id, ID@VERSION, or a .sijp file")
    diff.add_argument("b", metavar="B", help="a policy id, ID@VERSION, or a .sijp file")
    diff.add_argument("--service", help="only this service (default: every service of A or B)")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    diff.add_argument(
        "--write-cases", type=Path, metavar="DIR", help="write each witness case into DIR"
    )
    run_limit_options(diff)
    diff.set_defaults(time_limit=limit_default("time_limit") or DIFF_TIME_LIMIT)
    for action in diff._actions:
        if action.dest == "time_limit":
            action.help = f"stop a run that takes longer (0: no limit; default {DIFF_TIME_LIMIT:g})"


def cmd_policies(args: argparse.Namespace) -> int:
    listing = []
    chosen = policy_set(args)
    for loaded in set_policies(chosen):
        policy = loaded.policy
        listing.append(
            {
                "id": policy.id,
                "version": policy.version,
                "payer": policy.payer,
                "title": policy.title,
                "document": policy.document,
                "number": policy.number,
                "effective": policy.effective.isoformat(),
                "effective_for": {plan: date.isoformat() for plan, date in policy.plan_effective},
                "cite": policy.cite,
                "file": source_name(policy.path),
                "services": [
                    {
                        "service": s.name,
                        "cpt": s.cpt,  # the first code, as before several were allowed
                        "cpt_codes": list(s.cpt_codes),
                        "section": s.section,
                        "label": s.label,
                    }
                    for s in policy.services
                ],
                "source_sha256": source_sha256(loaded),
            }
        )
    info = PolicySetInfo(str(chosen.directory), chosen.origin)
    write_output(
        render.json_policies(listing, info)
        if args.format == "json"
        else render.text_policies(listing, info)
    )
    return Exit.OK


def compiled_path(policy_path: Path) -> Path:
    return policy_path.with_suffix(".lp")


def cmd_compile(args: argparse.Namespace) -> int:
    if args.check or args.write:
        if args.policy is not None or args.output is not None:
            raise SijfaspError(
                [
                    Diagnostic(
                        "property",
                        "--check and --write work on the policy set in use; give no file or -o "
                        "(choose the set with --policies DIR)",
                        file="compile",
                    )
                ]
            )
        chosen = policy_set(args)
        loaded = set_policies(chosen)
        not_compiled: list[Path] = []
        stale: list[Path] = []
        # The set's loading orders policies by id and version: pair them with their files by name.
        by_name = {Path(policy.policy.path).name: policy for policy in loaded}
        for path in chosen.policy_paths():
            program = by_name[path.name].compiled.program
            target = compiled_path(path)
            current = target.read_text(encoding="utf-8") if target.is_file() else None
            if current == program:
                continue
            if args.write:
                _write_file(target, program)
                write_output(f"wrote {target}\n")
            elif current is None:
                not_compiled.append(target)
            else:
                stale.append(target)
        for target in not_compiled:
            error_output(f"not compiled: {target} does not exist (run: sijfasp compile --write)")
        for target in stale:
            error_output(
                f"stale: {target} differs from a fresh compile (run: sijfasp compile --write)"
            )
        if args.check and not (stale or not_compiled):
            write_output(
                f"all compiled policies are up to date ({chosen.directory}, {chosen.origin})\n"
            )
        return Exit.STALE if stale or not_compiled else Exit.OK
    if args.policy is None:
        raise SijfaspError(
            [
                Diagnostic(
                    "property", "name a policy file, or use --check or --write", file="compile"
                )
            ]
        )
    regular_files([args.policy])
    program = load_policy(args.policy).compiled.program
    if args.output is not None:
        _write_file(args.output, program)
    else:
        write_output(program)
    return Exit.OK


def _write_file(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    f"cannot write {target}: {error.strerror or error}",
                    file=str(target),
                )
            ]
        ) from None


def cmd_lint(args: argparse.Namespace) -> int:
    from ..authoring import prove  # only lint asks the solver about the policy itself

    folders = [path for path in args.files if path.is_dir()]
    if folders:  # a folder is a policy set: its policies with its vocabulary and extensions
        if len(args.files) > 1:
            raise SijfaspError(
                [
                    Diagnostic(
                        "property",
                        "name one policy folder, or policy and vocabulary files, not both",
                        file=textsafe.terminal(str(folders[0])),
                    )
                ]
            )
        args.policies, args.files = folders[0], []
    regular_files(args.files)
    chosen = None if args.files else policy_set(args)
    paths = args.files or (chosen.policy_paths() if chosen else [])
    failures: list[SijfaspError] = []
    warnings = 0
    every: list[LoadedPolicy] = []
    for path in paths:
        try:
            if is_vocabulary_file(path):
                load_vocabulary(path)
                continue
            loaded = load_policy(path, shown_path(chosen, path) if chosen else None)
        except SijfaspError as error:
            failures.append(error)
            continue
        every.append(loaded)
        proven = prove.prove(loaded)  # questions about the policy, decided by the solver
        if any(d.severity == "error" for d in proven):
            failures.append(SijfaspError(list(loaded.policy.warnings) + proven, loaded.sources))
            continue
        shown = list(loaded.policy.warnings) + proven
        stale = stale_compiled(loaded)  # the .lp beside it, as `compile --check` reads it
        if stale is not None:
            shown.append(stale)
        if shown:
            warnings += len(shown)
            print(render_all(shown, {s.path: s for s in loaded.sources}), file=sys.stderr)
    try:
        check_distinct(every)  # one file per id and version
    except SijfaspError as error:
        failures.append(error)
    if failures:
        combined = SijfaspError([d for f in failures for d in f.diagnostics])
        for failure in failures:
            combined.sources.update(failure.sources)
        raise combined
    noun = "file" if any(is_vocabulary_file(p) for p in paths) else "policy file"
    files = f"{len(paths)} {noun}{'s' if len(paths) != 1 else ''}"
    write_output(
        f"{files}: no errors"
        + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ", no warnings")
        + "\n"
    )
    return Exit.OK


def cmd_fmt(args: argparse.Namespace) -> int:
    """Format files in place, or with --check list those not in canonical layout."""
    from ..language.formatter import format_source  # imports the parser, which only fmt needs here

    files: list[Path] = []
    for path in args.paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".sijp", ".sijv"))
        else:
            files.append(path)
    changed: list[str] = []
    problems: list[Diagnostic] = []
    sources: dict[str, SourceText] = {}
    for path in files:
        try:  # a file that cannot be read is named, and the others are still formatted
            source = read_source(path)
        except SijfaspError as error:
            problems += error.diagnostics
            continue
        try:
            formatted = format_source(source)
        except SijfaspError as error:
            problems += error.diagnostics
            sources[source.path] = source
            continue
        if formatted == source.text:
            continue
        changed.append(source.path)
        if args.check:
            if args.diff:  # in the output's encoding, as every result is (write_output)
                write_output(
                    "".join(
                        difflib.unified_diff(
                            source.text.splitlines(keepends=True),
                            formatted.splitlines(keepends=True),
                            source.path,
                            f"{source.path} (formatted)",
                        )
                    )
                )
        else:
            path.write_text(formatted, encoding="utf-8")
    if problems:
        raise SijfaspError(problems, sources.values())
    if args.check:
        write_output("".join(f"would reformat {name}\n" for name in changed))
        return Exit.STALE if changed else Exit.OK
    write_output("".join(f"reformatted {name}\n" for name in changed))
    return Exit.OK


def cmd_test(args: argparse.Namespace) -> int:
    from ..authoring import policytests  # only `sijfasp test` reads policy test files

    named: list[str] = []
    if args.mutate:  # `--mutate POLICY`: a path that is no test file names a policy
        named = [str(p) for p in args.paths if not str(p).endswith(policytests.TESTS_SUFFIX)]
        args.paths = [p for p in args.paths if str(p).endswith(policytests.TESTS_SUFFIX)]
    if not args.paths or getattr(args, "policies", None) is not None:
        chosen = policy_set(args)  # the set's own test files, or the set they must sit in
        if args.paths:
            _test_files_in_the_named_set(args.paths, chosen.directory)
    paths = args.paths or policytests.default_test_files(chosen.directory)
    if not paths:
        raise SijfaspError(
            [
                Diagnostic(
                    "property",
                    f"no test files found in {chosen.directory / policytests.TESTS_FOLDER} "
                    f"({chosen.origin})",
                    file=str(chosen.directory),
                )
            ]
        )
    if args.mutate:
        from ..authoring import mutate

        if args.workers < 0:
            raise SijfaspError(
                [Diagnostic("property", "--workers: expected a number of processes, 1 or more")]
            )
        text, status = mutate.command(paths, named, args.workers or mutate.default_workers())
        write_output(text, final=True)
        return status
    text, status = policytests.command(paths, args.update, args.coverage, args.fail_under_full)
    write_output(text, final=True)
    return status


def _test_files_in_the_named_set(paths: list[Path], directory: Path) -> None:
    """A test file is judged by the policy set it sits in (the folder above its tests/): with
    --policies as well, each must sit in the set --policies names, never be judged silently by
    another."""
    from ..authoring import policytests

    outside = [
        p for p in paths if p.resolve().parent != (directory / policytests.TESTS_FOLDER).resolve()
    ]
    if outside:
        raise SijfaspError(
            [
                Diagnostic(
                    "property",
                    f"{textsafe.terminal(str(p))} is not in the policy set --policies names "
                    f"({textsafe.terminal(str(directory))}): a test file is judged by the set "
                    "it sits in",
                    file=textsafe.terminal(str(p)),
                    hint=f"move it to {textsafe.terminal(str(directory / policytests.TESTS_FOLDER))}"
                    ", or leave out --policies",
                )
                for p in outside
            ]
        )


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 0 when the two decide every case alike, 1 when they differ (as diff(1) does) or
    some criterion could not be tried."""
    from ..authoring import diff_model, diff_render, semdiff

    if args.write_cases is not None:  # before the search, which may take minutes
        _check_output_folder(args.write_cases, "--write-cases")
    a, b = diff_model.resolve(args.a), diff_model.resolve(args.b)
    diff_model.check_service(a, b, args.service)
    report = semdiff.semantic_diff(a, b, args.service)
    report.a, report.b = diff_model.shown(report.a, args.a), diff_model.shown(report.b, args.b)
    if args.write_cases is not None:
        try:
            diff_render.write_cases(report, args.write_cases)
        except OSError as error:
            shown = textsafe.terminal(str(args.write_cases))
            raise SijfaspError(
                [
                    Diagnostic(
                        "import",
                        f"cannot write into {shown} (--write-cases): {error.strerror or error}",
                        file=shown,
                    )
                ]
            ) from None
    formats = {"text": diff_render.text, "json": diff_render.to_json}
    write_output(formats.get(args.format, diff_render.markdown)(report), final=True)
    # "The same" only when no difference was found and every criterion of both was tried.
    return Exit.DIFFERS if report.differences or not report.all_tried() else Exit.OK


def _check_output_folder(folder: Path, option: str) -> None:
    """A folder files will be written into: it is a folder, or can be made one, and can be
    written; checked before any work, so that a long run never ends on a refusal."""
    shown = textsafe.terminal(str(folder))
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: nothing could be written through it
            break
        existing = existing.parent
    problem = None
    if existing.is_symlink() and not existing.exists():
        problem = f"{textsafe.terminal(str(existing))} is a symbolic link to nothing"
    elif not existing.is_dir():
        problem = f"{textsafe.terminal(str(existing))} exists and is not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{textsafe.terminal(str(existing))} cannot be written to"
    if problem is not None:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    f"cannot write into {shown} ({option}): {problem}",
                    hint="name a folder, new or existing, to write the witness cases into",
                    file=shown,
                )
            ]
        )
