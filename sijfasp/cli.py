"""The `sijfasp` command: argparse subcommands over the pipeline.

`main(argv) -> int` catches every error the user can cause and prints it as diagnostics on
stderr with exit status 2; results go to stdout. `run()` below it does no error handling.
"""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, render
from .api import DEFAULT_ENUMERATE, Options, evaluate_case
from .case import Case, load_case
from .diagnostics import Diagnostic, SijfaspError, did_you_mean, render_all
from .policies import (
    LoadedPolicy,
    bundled_policies,
    bundled_policy_paths,
    is_vocabulary_file,
    load_policy,
    load_vocabulary,
)
from .source import SourceText


class Exit(enum.IntEnum):
    OK = 0
    STALE = 1  # compile --check found a committed .lp that differs from a fresh compile
    BAD_INPUT = 2
    INTERNAL = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sijfasp",
        description="Check SI joint fusion prior-authorization cases against payer policies.",
    )
    parser.add_argument("--version", action="version", version=f"sijfasp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("policies", help="list the policies sijfasp knows")
    listing.add_argument("--format", choices=("text", "json"), default="text")

    def case_command(name: str, help_text: str, formats: tuple[str, ...]) -> None:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("case", type=Path, help="the case file (YAML or JSON)")
        sub.add_argument(
            "--policy",
            action="append",
            metavar="ID",
            help="only this policy (repeatable); default: every bundled policy",
        )
        sub.add_argument(
            "--policy-file",
            action="append",
            type=Path,
            metavar="FILE",
            help="use this policy file instead of the bundled ones (repeatable)",
        )
        sub.add_argument("--format", choices=formats, default="text")
        sub.add_argument(
            "--enumerate",
            type=_count,
            default=None,
            metavar="N",
            help=f"list the N best minimal sets of missing documentation, fewest "
            f"items first (0: all; default {DEFAULT_ENUMERATE} in JSON, "
            f"{render.MAX_SETS_SHOWN} in text)",
        )

    case_command("check", "the determination of a case under each policy", ("text", "json"))
    case_command(
        "explain",
        "every criterion with its evidence, exclusions and advisories",
        ("text", "json", "markdown"),
    )
    case_command(
        "missing", "the minimal sets of missing documentation", ("text", "json", "markdown")
    )

    compile_ = commands.add_parser("compile", help="compile a policy file to ASP")
    compile_.add_argument("policy", nargs="?", type=Path, help="the policy file (.sijp)")
    compile_.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    mode = compile_.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a bundled policy's committed .lp differs from a fresh compile",
    )
    mode.add_argument(
        "--write", action="store_true", help="recompile every bundled policy into its committed .lp"
    )

    lint = commands.add_parser(
        "lint", help="check policy and vocabulary files, report every problem"
    )
    lint.add_argument(
        "policies",
        nargs="*",
        type=Path,
        help="policy (.sijp) or vocabulary (.sijv) files (default: the bundled policies)",
    )
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 or more")
    return value


# ------------------------------------------------------------------ commands
def _select_policies(args: argparse.Namespace) -> list[LoadedPolicy]:
    if args.policy_file:
        policies = [load_policy(p) for p in args.policy_file]
    else:
        policies = list(bundled_policies())
    if args.policy:
        known = {p.policy.id: p for p in policies}
        problems = [
            Diagnostic(
                "unknown-name",
                f"unknown policy '{name}'",
                hint=did_you_mean(name, known) or "known: " + ", ".join(known),
                file="--policy",
            )
            for name in args.policy
            if name not in known
        ]
        if problems:
            raise SijfaspError(problems)
        policies = [known[name] for name in dict.fromkeys(args.policy)]
    return policies


def _load_case(path: Path, policies: list[LoadedPolicy]) -> Case:
    vocabularies = {p.policy.vocabulary.path: p.policy.vocabulary for p in policies}
    cases = [load_case(path, v) for v in vocabularies.values()]
    return cases[0]


def _cmd_case(args: argparse.Namespace) -> int:
    policies = _select_policies(args)
    case = _load_case(args.case, policies)
    if args.enumerate is not None:
        options = Options(enumerate=args.enumerate)
    elif args.format == "json":
        options = Options(enumerate=DEFAULT_ENUMERATE)
    else:
        # Text and Markdown list sets only when there are few; the grouped view covers the rest.
        options = Options(enumerate=render.MAX_SETS_SHOWN, rank=False)
    result = evaluate_case(policies, case, options)
    if args.format == "json":
        output = render.json_case(result)
    elif args.format == "markdown":
        output = (
            render.markdown_explain if args.command == "explain" else render.markdown_missing
        )(result)
    else:
        output = {
            "check": render.text_check,
            "explain": render.text_explain,
            "missing": lambda r: render.text_missing(r, args.enumerate is not None),
        }[args.command](result)
    sys.stdout.write(output)
    return Exit.OK


def _cmd_policies(args: argparse.Namespace) -> int:
    listing = []
    for loaded in bundled_policies():
        policy = loaded.policy
        listing.append(
            {
                "id": policy.id,
                "payer": policy.payer,
                "title": policy.title,
                "document": policy.document,
                "number": policy.number,
                "effective": policy.effective.isoformat(),
                "cite": policy.cite,
                "services": [
                    {"service": s.name, "cpt": s.cpt, "section": s.section, "label": s.label}
                    for s in policy.services
                ],
            }
        )
    sys.stdout.write(
        render.json_policies(listing) if args.format == "json" else render.text_policies(listing)
    )
    return Exit.OK


def compiled_path(policy_path: Path) -> Path:
    return policy_path.with_suffix(".lp")


def _cmd_compile(args: argparse.Namespace) -> int:
    if args.check or args.write:
        if args.policy is not None or args.output is not None:
            raise SijfaspError(
                [
                    Diagnostic(
                        "property",
                        "--check and --write work on the bundled policies; give no file or -o",
                        file="compile",
                    )
                ]
            )
        stale = []
        for path in bundled_policy_paths():
            program = load_policy(path, f"policies_asp/{path.name}").compiled.program
            target = compiled_path(path)
            current = target.read_text(encoding="utf-8") if target.exists() else None
            if current == program:
                continue
            if args.write:
                target.write_text(program, encoding="utf-8")
                print(f"wrote {target}")
            else:
                stale.append(target)
        for target in stale:
            print(
                f"stale: {target} differs from a fresh compile (run: sijfasp compile --write)",
                file=sys.stderr,
            )
        if not stale and args.check:
            print("all compiled policies are up to date")
        return Exit.STALE if stale else Exit.OK
    if args.policy is None:
        raise SijfaspError(
            [
                Diagnostic(
                    "property", "name a policy file, or use --check or --write", file="compile"
                )
            ]
        )
    program = load_policy(args.policy).compiled.program
    if args.output is not None:
        try:
            args.output.write_text(program, encoding="utf-8")
        except OSError as error:
            raise SijfaspError(
                [
                    Diagnostic(
                        "import",
                        f"cannot write {args.output}: {error.strerror or error}",
                        file=str(args.output),
                    )
                ]
            ) from None
    else:
        sys.stdout.write(program)
    return Exit.OK


def _cmd_lint(args: argparse.Namespace) -> int:
    paths = args.policies or bundled_policy_paths()
    failures: list[SijfaspError] = []
    warnings = 0
    for path in paths:
        try:
            if is_vocabulary_file(path):
                load_vocabulary(path)
                continue
            loaded = load_policy(path)
        except SijfaspError as error:
            failures.append(error)
            continue
        if loaded.policy.warnings:
            warnings += len(loaded.policy.warnings)
            print(
                render_all(loaded.policy.warnings, {s.path: s for s in loaded.sources}),
                file=sys.stderr,
            )
    if failures:
        error = SijfaspError([d for f in failures for d in f.diagnostics])
        for failure in failures:
            error.sources.update(failure.sources)
        raise error
    noun = "file" if any(is_vocabulary_file(p) for p in paths) else "policy file"
    files = f"{len(paths)} {noun}{'s' if len(paths) != 1 else ''}"
    print(
        f"{files}: no errors"
        + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ", no warnings")
    )
    return Exit.OK


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "policies": _cmd_policies,
        "check": _cmd_case,
        "explain": _cmd_case,
        "missing": _cmd_case,
        "compile": _cmd_compile,
        "lint": _cmd_lint,
    }[args.command]
    return handler(args)


def _sources(error: SijfaspError) -> dict[str, SourceText]:
    sources: dict[str, SourceText] = {}
    for diagnostic in error.diagnostics:
        span = diagnostic.span
        if span is None or span.path in sources:
            continue
        source = error.sources.get(span.path)
        if source is None:
            try:
                source = SourceText(span.path, Path(span.path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        sources[span.path] = source
    return sources


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return int(run(argv))
    except SijfaspError as error:
        print(render_all(error.diagnostics, _sources(error)), file=sys.stderr)
        return Exit.BAD_INPUT
    except KeyboardInterrupt:
        return Exit.BAD_INPUT
    except BrokenPipeError:
        return Exit.OK
    except Exception as error:  # a bug in sijfasp, not in the input: say so in one line
        print(f"sijfasp: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return Exit.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
