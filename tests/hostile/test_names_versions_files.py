"""Hostile plans, versions and files (issue 20): look-alike names, two versions on one date,
numbers fmt cannot print, files that are no policy (a named pipe, a device, a symbolic link to
/etc/passwd), an output folder that is a file, unbounded letter dates, and policy test files
with duplicate keys, accented names or no write access. Each gives one clear message (exit 2)
or the right answer, never a traceback, a hang or exit 3; a file that is no policy is named,
never quoted.

The look-alike case files are in tests/hostile/cases/ (tests/hostile/expected_cases.yaml).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import (
    APPROVABLE_PATH,
    CARESOURCE,
    EXAMPLES_DIR,
    POLICIES_DIR,
    base_case,
    cli_command,
    cli_env,
    examples,
    run_cli,
)

from sijfasp.api import evaluate_case
from sijfasp.authoring import policytests
from sijfasp.authoring.policytests import _slug
from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.core.kinds import Determination
from sijfasp.core.source import SourceText
from sijfasp.language import ast
from sijfasp.language.formatter import format_source, number_text
from sijfasp.language.parser import parse_text
from sijfasp.policies import versions
from sijfasp.policies.loading import bundled_policy_versions, load_policy, not_language, read_source

VOCABULARY = bundled_policy_versions()[0].policy.vocabulary
CARESOURCE_FILE = POLICIES_DIR / f"{CARESOURCE}.sijp"
TINY = """import "vocabulary.sijv"
policy demo {{ payer "Example payer" title "Demo" document "Demo policy" effective 2026-01-01 cite "DEMO" }}
service percutaneous_sij_fusion [1] "Percutaneous fusion"
criteria for percutaneous_sij_fusion {{
  pain [1] "Pain": vas_score > {number}
}}
"""


def _quiet(done: subprocess.CompletedProcess) -> None:
    """No traceback and no internal error, whatever the exit status."""
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode != 3, done.stderr


def _folder_with_vocabulary(tmp_path: Path) -> Path:
    folder = tmp_path / "set"
    folder.mkdir()
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
    return folder


# ------------------------------------------------------------------ look-alike names
def _case(**details: str) -> dict:
    return {**base_case(), **details}


def test_a_plan_with_a_cyrillic_letter_is_refused_with_its_code_point():
    with pytest.raises(SijfaspError) as raised:
        # CYRILLIC CAPITAL LETTER A for the A.
        validate_case(_case(plan="\u0410nthem Medicaid"), VOCABULARY, "case.yaml")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.field_path == "plan"
    assert "character 1 is U+0410 CYRILLIC CAPITAL LETTER A" in diagnostic.message


@pytest.mark.parametrize(
    ("given_name", "kept"),
    [
        # Full-width letters: NFKC reads them plain.
        ("\uff21\uff4e\uff54\uff48\uff45\uff4d Medicaid", "Anthem Medicaid"),
        ("Müller Krankenkasse", "Müller Krankenkasse"),  # Latin with accents: one script
        ("東京 けんぽ", "東京 けんぽ"),  # Han with kana: written together
        ("Ελληνική Ασφάλιση", "Ελληνική Ασφάλιση"),
    ],
)
def test_names_of_one_script_are_kept_nfkc_normalized(given_name, kept):
    case = validate_case(_case(payer="CareSource", plan=given_name), VOCABULARY, "case.yaml")
    assert case.details["plan"] == kept


def test_the_plan_name_selects_no_version_the_line_of_business_does():
    loaded = [p for p in bundled_policy_versions() if p.policy.id == "aim_sijf_2022"]
    data = {"request": {"service": "percutaneous_sij_fusion", "date": dt.date(2022, 7, 1)}}
    chosen = set()
    for plan in ("Anthem Medicaid", "Commercial PPO", "Anthem HealthKeepers Plus Medicaid"):
        case = validate_case({**data, "plan": plan}, VOCABULARY, "case.yaml")
        (result,) = evaluate_case(loaded, case).results
        chosen.add((result.determination, result.version_use.undecided))
    assert len(chosen) == 1  # every name alike: the line of business is asked for
    ((determination, undecided),) = chosen
    assert determination == Determination.NO_VERSION and undecided
    medicaid = validate_case({**data, "line_of_business": "Medicaid"}, VOCABULARY, "case.yaml")
    (result,) = evaluate_case(loaded, medicaid).results
    assert result.version_use.plan == "medicaid" and not result.version_use.undecided


@pytest.mark.parametrize("line", ["medicad", "anthem medicaid", "m\u0435dicaid", "1"])
def test_a_line_of_business_outside_the_list_is_refused_with_the_list(line):
    with pytest.raises(SijfaspError) as raised:
        validate_case(_case(line_of_business=line), VOCABULARY, "case.yaml")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.field_path == "line_of_business"
    assert "expected one of commercial, marketplace, medicaid" in diagnostic.message


def test_a_look_alike_value_gets_its_code_point_beside_the_did_you_mean():
    data = {"request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15"}}
    data["request"]["side"] = "l\u0435ft"  # CYRILLIC SMALL LETTER IE for the e
    with pytest.raises(SijfaspError) as raised:
        validate_case(data, VOCABULARY, "case.yaml")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.hint == (
        "did you mean 'left'? (character 2 is U+0435 CYRILLIC SMALL LETTER IE)"
    )


@pytest.mark.slow  # a subprocess
def test_a_look_alike_policy_id_is_refused_with_its_code_point():
    done = run_cli("check", APPROVABLE_PATH, "--policy", "\u0430im_sijf_2022")
    _quiet(done)
    assert done.returncode == 2
    assert "(character 1 is U+0430 CYRILLIC SMALL LETTER A)" in done.stderr
    assert "did you mean 'aim_sijf_2022'?" in done.stderr


# ------------------------------------------------------------------ two versions on one date
def _two_versions(tmp_path: Path, first: str, second: str) -> Path:
    folder = _folder_with_vocabulary(tmp_path)
    text = CARESOURCE_FILE.read_text(encoding="utf-8")
    for version in (first, second):
        header = f'  version "{version}"\n  effective 2026-06-01\n'
        versioned = text.replace("  effective 2026-06-01\n", header, 1)
        assert versioned != text
        (folder / f"cs_{version}.sijp").write_text(versioned, encoding="utf-8")
    return folder


@pytest.mark.slow  # two subprocesses loading two policies
def test_two_versions_on_one_effective_date_are_refused_by_lint_and_load(tmp_path):
    folder = _two_versions(tmp_path, "1.9", "1.10")
    for args in (("lint", "--policies", folder), ("check", "--policies", folder, APPROVABLE_PATH)):
        done = run_cli(*args)
        _quiet(done)
        assert done.returncode == 2 and done.stdout == ""
        assert "versions '1.10' (" in done.stderr and "'1.9' (" in done.stderr
        assert "both take effect on 2026-06-01" in done.stderr
        assert "error[duplicate-name]" in done.stderr


# ------------------------------------------------------------------ fmt
# Numbers as a policy may write them: up to 30 digits before the point, up to 12 after it.
_NUMBERS = st.builds(
    lambda whole, fraction, places: (
        Decimal(f"{whole}.{str(fraction).zfill(places)[:places]}") if places else Decimal(whole)
    ),
    st.integers(min_value=0, max_value=10**30),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=12),
) | st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False, places=7)


@settings(max_examples=examples(100), deadline=None)
@given(_NUMBERS)
def test_every_number_fmt_prints_parses_back_to_itself(number):
    text = number_text(number)
    assert re.fullmatch(r"\d+(\.\d+)?", text), text
    assert Decimal(text) == number
    # As an author writes it, through fmt, and read again: the same number, the same digits.
    formatted = format_source(SourceText("tiny.sijp", TINY.format(number=text)))
    assert f"vas_score > {text}\n" in formatted
    tree = parse_text(formatted, "tiny.sijp")
    (criteria,) = [d for d in tree.declarations if isinstance(d, ast.CriteriaBlock)]
    (criterion,) = criteria.items
    assert isinstance(criterion.body, ast.Compare) and criterion.body.value == number


def test_fmt_keeps_a_number_with_many_zero_decimals_readable():
    source = SourceText("num.sijp", TINY.format(number="0.0000000"))
    formatted = format_source(source)
    assert "vas_score > 0.0000000" in formatted and "E-" not in formatted
    parse_text(formatted, "num.sijp")  # reads again as written


def _fmt(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli("fmt", *args, timeout=30, env=env)


@pytest.mark.slow  # a subprocess, which a named pipe would have blocked for ever
def test_fmt_refuses_a_named_pipe_without_reading_it(tmp_path):
    pipe = tmp_path / "pipe.sijp"
    os.mkfifo(pipe)
    done = _fmt(pipe)
    _quiet(done)
    assert done.returncode == 2
    assert f"{pipe}: error[import]: cannot read {pipe}: a named pipe (FIFO)" in done.stderr


@pytest.mark.slow  # subprocesses
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_fmt_refuses_a_device_and_a_link_to_one(tmp_path):
    link = tmp_path / "zero.sijp"
    link.symlink_to("/dev/zero")
    for path in (Path("/dev/zero"), link):
        done = _fmt("--check", path)
        _quiet(done)
        assert done.returncode == 2
        assert f"cannot read {path}: a device, not a regular file" in done.stderr


@pytest.mark.slow  # a subprocess
def test_fmt_check_diff_writes_in_a_cp1252_console(tmp_path):
    path = tmp_path / "unicode.sijp"
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", tmp_path)
    path.write_text(
        TINY.format(number="5").replace('"Pain"', '"Pain ≥ 5 — ✓ élevé"'), encoding="utf-8"
    )
    done = subprocess.run(
        cli_command("fmt", "--check", "--diff", path),
        capture_output=True,
        env=cli_env(PYTHONIOENCODING="cp1252"),
        timeout=30,
        check=False,
    )
    stdout, stderr = done.stdout.decode("cp1252"), done.stderr.decode("cp1252")
    assert done.returncode == 1 and "Traceback" not in stderr, stderr
    assert f"+++ {path} (formatted)" in stdout and "élevé" in stdout  # cp1252 has é
    assert f"would reformat {path}" in stdout


# ------------------------------------------------------------------ a file that is no policy
@pytest.mark.slow  # subprocesses
@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="needs /etc/passwd")
def test_a_link_to_etc_passwd_in_a_policy_set_is_named_never_quoted(tmp_path):
    folder = _folder_with_vocabulary(tmp_path)
    shutil.copy(CARESOURCE_FILE, folder)
    (folder / "x.sijp").symlink_to("/etc/passwd")
    first_line = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    commands = [
        ("check", "--policies", folder, APPROVABLE_PATH),
        ("lint", "--policies", folder),
        ("lint", folder / "x.sijp"),
        ("fmt", "--check", folder / "x.sijp"),
        ("fmt", "--check", folder),  # a folder: the file is named, the others still read
    ]
    for args in commands:
        done = run_cli(*args, cwd=tmp_path)
        _quiet(done)
        assert done.returncode == 2, args
        assert "x.sijp: error[import]: cannot read" in done.stderr, args
        assert "not a policy or vocabulary file" in done.stderr
        assert first_line not in done.stderr and "/etc/passwd" not in done.stderr
        assert " | " not in done.stderr  # no line quoted under the message


def test_what_is_named_only_and_what_is_still_quoted(tmp_path):
    assert not_language("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1::/bin:\n")
    assert not_language("\x00\x01 binary")
    # A policy with a mistake in its first word still has its header: it is quoted as usual.
    assert not not_language('imprt "vocabulary.sijv"\npolicy demo {\n}\n')
    assert not not_language("# only a comment\n\n")
    assert not not_language(TINY.format(number="5"))
    broken = tmp_path / "broken.sijp"
    broken.write_bytes(b"policy \xff\xfe")
    with pytest.raises(SijfaspError) as raised:
        read_source(broken)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.span is None and "not UTF-8 text (byte 8" in diagnostic.message


def test_a_policy_with_a_syntax_error_is_still_quoted(tmp_path):
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", tmp_path)
    path = tmp_path / "typo.sijp"
    path.write_text(TINY.format(number="5 5"), encoding="utf-8")
    with pytest.raises(SijfaspError) as raised:
        load_policy(path)
    assert any(d.span is not None for d in raised.value.diagnostics)


# ------------------------------------------------------------------ diff --write-cases
@pytest.mark.slow  # a subprocess
def test_diff_write_cases_into_a_file_is_refused_before_the_search(tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("kept\n", encoding="utf-8")
    for target in (existing, existing / "sub"):
        done = run_cli("diff", "aim_sijf_2022", CARESOURCE, "--write-cases", target, timeout=20)
        _quiet(done)
        assert done.returncode == 2 and done.stdout == ""
        assert f"cannot write into {target} (--write-cases)" in done.stderr
        assert f"{existing} exists and is not a folder" in done.stderr
    assert existing.read_text(encoding="utf-8") == "kept\n"


# ------------------------------------------------------------------ missing: bounds
@pytest.mark.slow  # subprocesses
@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--reply-days", "3000000", "expected a number of days from 0 to 365, got 3000000"),
        ("--today", "9999-12-31", "9999-12-31 is outside the dates sijfasp accepts"),
        ("--today", "0001-01-01", "0001-01-01 is outside the dates sijfasp accepts"),
    ],
)
def test_missing_letter_dates_are_bounded(option, value, words):
    case = EXAMPLES_DIR / "odi_missing.yaml"
    done = run_cli("missing", case, "--format", "markdown", option, value)
    _quiet(done)
    assert done.returncode == 2 and done.stdout == ""
    assert f"argument {option}: {words}" in done.stderr


@pytest.mark.slow  # a subprocess that solves
def test_the_latest_letter_date_and_longest_reply_still_make_a_letter():
    case = EXAMPLES_DIR / "odi_missing.yaml"
    args = ("--format", "markdown", "--today", "2199-12-31", "--reply-days", "365")
    done = run_cli("missing", case, *args)
    _quiet(done)
    assert done.returncode == 0 and "2200-12-31" in done.stdout


# ------------------------------------------------------------------ policy test files
def _test_folder(tmp_path: Path, entries: str) -> Path:
    folder = _folder_with_vocabulary(tmp_path)
    shutil.copy(CARESOURCE_FILE, folder)
    tests = folder / "tests"
    (tests / "cases").mkdir(parents=True)
    shutil.copy(APPROVABLE_PATH, tests / "cases")
    path = tests / f"{CARESOURCE}.tests.yaml"
    path.write_text(f"policy: {CARESOURCE}\ntests:\n{entries}", encoding="utf-8")
    return path


@pytest.mark.slow  # a subprocess
def test_a_duplicate_key_in_a_policy_test_file_is_refused(tmp_path):
    path = _test_folder(
        tmp_path,
        "- name: one\n  case: cases/approvable.yaml\n  expect: approvable\n  expect: not_met\n",
    )
    done = run_cli("test", path, cwd=tmp_path)
    _quiet(done)
    assert done.returncode == 2
    assert "tests[0].expect: error[property]: 'expect' is written twice (again at line 6)" in (
        done.stderr
    )


def test_a_look_alike_policy_in_a_test_file_is_refused_with_its_code_point(tmp_path):
    path = _test_folder(tmp_path, "- name: one\n  case: cases/approvable.yaml\n")
    path.write_text(
        path.read_text(encoding="utf-8").replace(CARESOURCE, "c\u0430resource_sijf_2026"),
        encoding="utf-8",
    )
    with pytest.raises(SijfaspError) as raised:
        policytests.load_test_file(path)
    (diagnostic,) = raised.value.diagnostics
    assert "(character 2 is U+0430 CYRILLIC SMALL LETTER A)" in diagnostic.message
    assert diagnostic.hint == f"did you mean '{CARESOURCE}'?"


def test_a_test_name_with_accented_letters_makes_an_ascii_case_id():
    assert _slug("VAS élevé") == "vas_eleve"
    assert _slug("Schmerz über 5/10") == "schmerz_uber_5_10"
    assert _slug("тест") == "test"  # no letter left in ASCII: the generic id


@pytest.mark.slow  # a subprocess that solves
def test_a_test_named_vas_eleve_runs(tmp_path):
    path = _test_folder(
        tmp_path, "- name: VAS élevé\n  case: cases/approvable.yaml\n  expect: approvable\n"
    )
    done = run_cli("test", path, cwd=tmp_path)
    _quiet(done)
    assert done.returncode == 0, done.stderr
    assert "1 passed, 0 failed" in done.stdout


_FAILING = "- name: fails\n  case: cases/approvable.yaml\n  expect: not_met\n"


@pytest.mark.slow  # a subprocess that solves
@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="the superuser writes any file"
)
def test_update_of_a_read_only_test_file_names_it_before_running(tmp_path):
    path = _test_folder(tmp_path, _FAILING)
    path.chmod(0o444)
    before = path.read_bytes()
    done = run_cli("test", "--update", path, cwd=tmp_path)
    _quiet(done)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert "cannot update" in done.stderr and "the file is read-only" in done.stderr
    assert path.name in done.stderr and path.read_bytes() == before


def test_update_checks_every_file_can_be_written_before_any_test_runs(tmp_path, monkeypatch):
    # What a user who is not the superuser sees of a read-only file (os.access), wherever the
    # tests run; the command itself is run by the test above.
    path = _test_folder(tmp_path, _FAILING)
    real_access = os.access
    monkeypatch.setattr(
        policytests.os,
        "access",
        lambda p, mode: not (mode & os.W_OK and Path(p) == path) and real_access(p, mode),
    )
    ran = []
    monkeypatch.setattr(policytests, "run_file", lambda test_file: ran.append(test_file) or [])
    with pytest.raises(SijfaspError) as raised:
        policytests.run_tests([path], update=True)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.message.endswith(f"{path.name}: the file is read-only")
    assert diagnostic.file is not None and diagnostic.file.endswith(path.name)
    assert ran == []  # refused before any test ran


@pytest.mark.slow  # a subprocess that solves
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE as on Linux")
def test_update_that_cannot_write_names_the_file_and_leaves_it_as_it_was(tmp_path):
    path = _test_folder(tmp_path, _FAILING)
    before = path.read_bytes()

    def no_file_growth() -> None:  # every write into a file fails (EFBIG), as for root too
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    done = subprocess.run(
        cli_command("test", "--update", path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        preexec_fn=no_file_growth,
        check=False,
    )
    _quiet(done)
    assert done.returncode == 2
    assert f"{path.name}: error[import]: cannot update" in done.stderr
    assert "the file is left as it was" in done.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(["cases", path.name])


def test_a_version_line_naming_a_plan_is_refused_with_its_line():
    message, hint = versions.line_problem("anthem_medicaid") or ("", "")
    assert "is not a line of business" in message and "did you mean 'medicaid'?" in hint


def test_the_bundled_versions_are_on_distinct_dates():
    versions.check_unique(bundled_policy_versions())
