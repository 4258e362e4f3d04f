"""`sijfasp fmt`: one layout, comments kept, formatting twice changes nothing, and the compiled
program of a formatted file is the one of the file as written."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from support import POLICIES_DIR, VOCABULARY, examples
from test_policy_oracle import VOCAB, GeneratedPolicy, policies

from sijfasp.cli.main import main
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.compiler import compile_policy
from sijfasp.language.formatter import WIDTH, find_comments, format_text
from sijfasp.language.parser import parse_text
from sijfasp.language.semantics import check_policy
from sijfasp.policies.loading import load_policy, load_vocabulary

BUNDLED = sorted([*POLICIES_DIR.glob("*.sijp"), VOCABULARY])
# Where a compiled program cites the line it came from: the only part formatting may change.
_POSITION = re.compile(r"\([^()\s]+\.sij[pv]:\d+\)")


def _program(text: str) -> str:
    return _POSITION.sub("", text)


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ the bundled files
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_files_are_in_canonical_layout(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_files_keep_every_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    before = [c.text for c in find_comments(text)]
    assert before  # every bundled file explains itself
    assert [c.text for c in find_comments(format_text(text))] == before


# ------------------------------------------------------------------ layout
MESSY = """# header comment
import   "vocabulary.sijv"
policy p { payer "P" title "T" document "D" effective 2026-01-01 cite "C" }



service percutaneous_sij_fusion cpt 27279 [A]    "Fusion"
define d [D]
  "A definition": any of {  tumor is true   fracture is true }
records injections "Injections": injection where purpose is diagnostic and site is sij_intra_articular
  and image_guided is true   # must be image guided
  with relief_percent >= 75
criteria for percutaneous_sij_fusion {


  # Pain first.
      pain [A.1] "Pain": vas_score >= 5
  blocks [A.2] "Two blocks": at least 2 separate dates of injections
  all_three "All of them": all of {
       d
    odi_score >= 30   # trailing
  # before the end
  }
}
"""

EXPECTED = """# header comment
import "vocabulary.sijv"
policy p { payer "P" title "T" document "D" effective 2026-01-01 cite "C" }

service percutaneous_sij_fusion cpt 27279 [A] "Fusion"
define d [D] "A definition": any of { tumor is true  fracture is true }
records injections "Injections":
  injection where purpose is diagnostic and site is sij_intra_articular
    and image_guided is true  # must be image guided
  with relief_percent >= 75
criteria for percutaneous_sij_fusion {
  # Pain first.
  pain [A.1] "Pain": vas_score >= 5
  blocks [A.2] "Two blocks": at least 2 separate dates of injections
  all_three "All of them": all of {
    d
    odi_score >= 30  # trailing
    # before the end
  }
}
"""


def test_messy_policy_gets_the_canonical_layout() -> None:
    assert format_text(MESSY) == EXPECTED
    assert format_text(EXPECTED) == EXPECTED


def test_long_label_goes_to_its_own_line_and_long_lists_wrap_under_the_first_name() -> None:
    label = "L" * 95
    names = ", ".join(["left", "right", "bilateral"] * 6)
    text = (
        f'criteria for s {{\n  c [A] "{label}": vas_score >= 5\n'
        f'  k [B] "K": request.side in {{{names}}}\n}}\n'
    )
    formatted = format_text(text)
    lines = formatted.splitlines()
    assert lines[1:4] == ["  c [A]", f'    "{label}":', "    vas_score >= 5"]
    assert lines[4] == '  k [B] "K":'
    assert lines[5].startswith("    request.side in {left, right,")
    assert lines[6].startswith(" " * len("    request.side in {") + lines[6].strip())
    assert all(len(line) <= WIDTH for line in lines[3:])  # all but the label itself
    assert format_text(formatted) == formatted


def test_a_comment_character_in_a_text_or_section_is_not_a_comment() -> None:
    text = 'service s [A #1] "No #2 here"  # but this is one\n'
    assert [c.text for c in find_comments(text)] == ["# but this is one"]
    assert format_text(text) == text


def test_a_file_that_does_not_parse_is_not_formatted() -> None:
    with pytest.raises(SijfaspError):
        format_text("criteria for s {\n")


# ------------------------------------------------------------------ meaning kept
def _compiled_program(policy: Path) -> str:
    return _program(load_policy(policy).compiled.program)


@pytest.mark.parametrize("name", [p.name for p in POLICIES_DIR.glob("*.sijp")])
@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_formatting_keeps_the_compiled_program(name: str, tmp_path: Path) -> None:
    """A file written in another layout compiles, once formatted, to the program it compiled to."""
    policy = POLICIES_DIR / name
    # Undo the layout: every line flush left; the parser does not mind.
    scrambled = "\n".join(line.strip() for line in policy.read_text().splitlines()) + "\n"
    for vocabulary in POLICIES_DIR.glob("*.sijv"):  # the shared one and any extension
        shutil.copy(vocabulary, tmp_path / vocabulary.name)
    target = tmp_path / name
    target.write_text(format_text(scrambled), encoding="utf-8")
    assert _compiled_program(target) == _compiled_program(policy)
    assert target.read_text() == policy.read_text()


def test_formatting_restores_the_vocabulary(tmp_path: Path) -> None:
    scrambled = "\n".join(line.strip() for line in VOCABULARY.read_text().splitlines()) + "\n"
    target = tmp_path / VOCABULARY.name
    target.write_text(format_text(scrambled), encoding="utf-8")
    assert target.read_text() == VOCABULARY.read_text()
    # The same definitions, each from the same line (the file is the bundled one again).
    formatted, bundled = load_vocabulary(target), load_vocabulary(VOCABULARY)
    assert [replace(f, span=None) for f in formatted.findings] == [
        replace(f, span=None) for f in bundled.findings
    ]


FORMAT_SETTINGS = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FORMAT_SETTINGS
@given(policies)
@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_generated_policies_format_idempotently_and_compile_the_same(
    policy: GeneratedPolicy,
) -> None:
    text = policy.text()
    formatted = format_text(text, "generated.sijp")
    assert format_text(formatted, "generated.sijp") == formatted
    before = compile_policy(check_policy(parse_text(text, "generated.sijp"), VOCAB))
    after = compile_policy(check_policy(parse_text(formatted, "generated.sijp"), VOCAB))
    assert _program(after.program) == _program(before.program)


# ------------------------------------------------------------------ the command
def test_fmt_check_passes_on_the_bundled_policies() -> None:
    code, out, _ = _run("fmt", "--check", str(POLICIES_DIR))
    assert (code, out) == (0, "")


def test_fmt_check_lists_and_diffs_then_fmt_rewrites(tmp_path: Path) -> None:
    messy = tmp_path / "messy.sijp"
    messy.write_text(MESSY, encoding="utf-8")
    tidy = tmp_path / "tidy.sijp"
    tidy.write_text(EXPECTED, encoding="utf-8")
    code, out, _ = _run("fmt", "--check", str(tmp_path))
    assert code == 1
    assert out == f"would reformat {messy}\n"
    code, out, _ = _run("fmt", "--check", "--diff", str(messy))
    assert code == 1
    assert f"--- {messy}\n" in out
    assert "-      pain [A.1]" in out and "+  pain [A.1]" in out
    assert messy.read_text() == MESSY  # --check writes nothing
    code, out, _ = _run("fmt", str(tmp_path))
    assert (code, out) == (0, f"reformatted {messy}\n")
    assert messy.read_text() == EXPECTED
    assert _run("fmt", "--check", str(tmp_path))[0] == 0


def test_fmt_reports_a_syntax_error_with_status_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sijp"
    broken.write_text("criteria for s {\n", encoding="utf-8")
    code, _, err = _run("fmt", str(broken))
    assert code == 2
    assert "broken.sijp" in err and "Traceback" not in err
    assert broken.read_text() == "criteria for s {\n"
