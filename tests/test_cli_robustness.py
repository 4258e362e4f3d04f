"""The CLI's promises under hostile conditions: bounded time, memory and input, Ctrl-C, a closed
or full output, a console without ✓ ✗, special files, standard input. Never exit 3, never a
traceback. Through subprocesses where the promise is about the process."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support import (
    APPROVABLE,
    REPO,
    approvable_case,
    cli_command,
    cli_env,
    known_determinations,
    run_cli,
    write_case,
)

from sijfasp.cli import author
from sijfasp.cli.common import fit_encoding
from sijfasp.cli.main import main
from sijfasp.core import textsafe

# Each test starts the command in a subprocess, some wait on limits: the full tier only.
pytestmark = pytest.mark.slow

BOTH_APPROVABLE = {"aim_sijf_2022": "approvable", "caresource_sijf_2026": "approvable"}
THERAPY_KINDS = ("physical_therapy", "chiropractic", "nsaid_or_analgesic", "rest", "tens")


def _in_process(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr


@pytest.fixture(scope="module")
def slow_case(tmp_path_factory) -> Path:
    """3,000 diagnostic blocks, one a day back from the request, none with its relief: each is
    an open record matched against every block filter of both worlds (seconds of grounding and
    of minimal sets), inside every limit but time."""
    lines = [
        "id: slow",
        "request: {service: percutaneous_sij_fusion, date: 2026-07-15}",
        "records:",
        "  injection:",
    ]
    request = dt.date(2026, 7, 15)
    for index in range(3000):
        day = request - dt.timedelta(days=1 + index)
        lines.append(
            f"    - {{date: {day.isoformat()}, purpose: diagnostic, site: sij_intra_articular, "
            "side: left, image_guided: true, contrast_enhanced: true, agent: local_anesthetic}"
        )
    path = tmp_path_factory.mktemp("slow") / "slow.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ time and Ctrl-C
def test_time_limit_stops_a_long_run_with_a_clear_message(slow_case):
    started = time.monotonic()
    result = run_cli("check", slow_case, "--time-limit", "1.5")
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "too complex to finish within the time limit (1.5 s)" in result.stderr
    assert "--time-limit" in result.stderr
    _clean(result.stderr)
    assert elapsed < 4, elapsed


def test_time_limit_from_the_environment(slow_case):
    result = run_cli("check", slow_case, env=cli_env(SIJFASP_TIME_LIMIT="1"))
    assert result.returncode == 2 and "time limit (1 s)" in result.stderr, result.stderr


def test_ctrl_c_stops_a_run_during_solving_with_exit_130(slow_case):
    process = subprocess.Popen(
        cli_command("check", slow_case),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        text=True,
    )
    time.sleep(2.0)  # past start-up, inside grounding or solving
    assert process.poll() is None, "the run ended before it could be interrupted"
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    assert time.monotonic() - sent < 1.5
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "interrupted" in stderr
    _clean(stderr)


# ------------------------------------------------------------------ memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is bounded on Linux")
def test_memory_limit_gives_a_clear_message():
    result = run_cli("check", APPROVABLE, "--memory-limit", "100M")
    assert result.returncode == 2, result.stderr
    assert "too complex to finish within the memory limit (100 MiB)" in result.stderr
    _clean(result.stderr)


def test_bad_limit_values_are_usage_errors():
    for option, value in (("--memory-limit", "lots"), ("--time-limit", "-1")):
        result = run_cli("check", APPROVABLE, option, value)
        assert result.returncode == 2 and option in result.stderr, result.stderr


# ------------------------------------------------------------------ output
def test_closed_stdout_exits_quietly():
    process = subprocess.Popen(
        cli_command("explain", APPROVABLE),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdout is not None
    process.stdout.close()  # as `sijfasp explain x | head -0` does
    assert process.wait(timeout=60) == 0
    assert process.stderr is not None
    assert process.stderr.read() == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_is_a_clear_error():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            cli_command("check", APPROVABLE),
            cwd=REPO,
            stdout=full,
            stderr=subprocess.PIPE,
            env=cli_env(),
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "cannot write the output: No space left on device" in result.stderr
    _clean(result.stderr)


def test_ascii_console_gets_ascii_marks():
    result = run_cli(
        "check", REPO / "examples/cases/vas_4.yaml", env=cli_env(PYTHONIOENCODING="ascii")
    )
    assert result.returncode == 0, result.stderr
    assert "(+ met, x not met, ? not documented)" in result.stdout
    assert "  x D.I.B.2:" in result.stdout
    assert result.stdout.isascii()


def test_fit_encoding_keeps_what_the_console_can_show():
    assert fit_encoding("✓ ok", "utf-8") == "✓ ok"
    assert fit_encoding("✓ ✗ · é…", "ascii") == "+ x - \\xe9..."


def test_compile_write_on_a_read_only_install(tmp_path, monkeypatch):
    # Every bundled policy looks stale, and writing is refused as on a read-only install.
    monkeypatch.setattr(
        author, "compiled_path", lambda path: tmp_path / path.with_suffix(".lp").name
    )

    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "write_text", refuse)
    code, _, stderr = _in_process("compile", "--write")
    assert code == 2
    assert "cannot write" in stderr and "Permission denied" in stderr
    _clean(stderr)


# ------------------------------------------------------------------ what is read
def test_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    code, _, stderr = _in_process("check", str(link))
    assert code == 2
    assert f"{link}: error[case]: cannot read the case: a device, not a regular file" in stderr


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    code, _, stderr = _in_process("check", str(fifo))
    assert code == 2
    assert "a named pipe (FIFO), not a regular file" in stderr


def test_directory_without_case_files_is_refused(tmp_path):
    # A directory stands for its case files; one with none is an error, not an empty run.
    (tmp_path / "notes.txt").write_text("not a case", encoding="utf-8")
    code, out, stderr = _in_process("check", str(tmp_path))
    assert code == 2 and out == ""
    assert "no case file (.yaml, .yml or .json) in" in stderr


def test_file_over_the_size_limit(tmp_path):
    path = write_case(tmp_path, approvable_case())
    code, _, stderr = _in_process("check", str(path), "--max-file-size", "1K")
    assert code == 2
    assert "larger than the limit of 1,024 bytes" in stderr and "--max-file-size" in stderr


def test_records_over_the_limit(tmp_path):
    path = write_case(tmp_path, approvable_case())
    code, _, stderr = _in_process("check", str(path), "--max-records", "3")
    assert code == 2
    assert f"{path}: records: error[case]: " in stderr
    assert "at most 3 are read in one case" in stderr and "--max-records" in stderr


def test_flood_of_yaml_values_is_refused_early(tmp_path):
    path = tmp_path / "flood.yaml"
    path.write_text(
        "request: {service: percutaneous_sij_fusion, date: 2026-07-15}\n"
        "records:\n  therapy:\n" + "  - {}\n" * 20_000,
        encoding="utf-8",
    )
    code, _, stderr = _in_process("check", str(path), "--max-records", "10")
    assert code == 2
    assert "the case holds more than 10,300 values, more than 10 records can need" in stderr


def test_a_raised_limit_accepts_the_case(tmp_path):
    data = approvable_case()
    data["records"]["therapy"][0]["start"] = "1960-01-01"
    path = write_case(tmp_path, data)
    assert _in_process("check", str(path))[0] == 2
    code, _, stderr = _in_process("check", str(path), "--max-record-years", "70")
    assert code == 0, stderr


# ------------------------------------------------------------------ standard input
@pytest.mark.parametrize("as_json", [False, True])
def test_case_from_standard_input(as_json):
    data = approvable_case()
    text = (
        json.dumps(data, default=str)
        if as_json
        else yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    )
    result = run_cli("check", "-", "--format", "json", input=text)
    assert result.returncode == 0, result.stderr
    assert known_determinations(result.stdout) == BOTH_APPROVABLE


def test_standard_input_has_the_same_limits_and_names_itself():
    text = APPROVABLE.read_text(encoding="utf-8")
    result = run_cli("check", "-", "--max-file-size", "100", input=text)
    assert result.returncode == 2
    assert "<stdin>: error[case]: the case is larger than the limit of 100 bytes" in result.stderr
    bad = run_cli("check", "-", input="request: {service: percutaneous_sij_fusion, date: x}\n")
    assert bad.returncode == 2
    assert "<stdin>: request.date: error[case]: expected a date YYYY-MM-DD" in bad.stderr


# ------------------------------------------------------------------ escaping
def test_markdown_escaping_keeps_ids_as_text():
    assert textsafe.markdown("odi_missing") == "odi_missing"
    assert textsafe.markdown("_a_ *b* [c](d) <!-- |e| ~f~") == (
        "\\_a\\_ \\*b\\* \\[c\\](d) &lt;!-- \\|e\\| \\~f\\~"
    )
    # The newline is shown as the two characters \n, the backslash escaped for Markdown.
    assert textsafe.markdown("x\n## heading") == "x\\\\n## heading"
    assert textsafe.markdown("http://example.org") == "http:\\/\\/example.org"


def test_terminal_escaping_and_shortening():
    assert textsafe.terminal("a\x1b]0;t\x07\u202eb\x9b") == "a\\x1b]0;t\\x07\\u202eb\\x9b"
    assert textsafe.for_diagnostic("x" * 100) == "x" * 60 + "…"


def test_markdown_header_carries_the_escaped_id(tmp_path):
    data = approvable_case()
    data["id"] = "x _forged_ id"
    path = write_case(tmp_path, data)
    code, stdout, stderr = _in_process("explain", str(path), "--format", "markdown")
    assert code == 0, stderr
    assert stdout.startswith("# Criteria review: case x \\_forged\\_ id\n")


def test_therapies_since_1900_within_raised_date_limit_are_decided_within_the_time_limit():
    # Refused by the date rule by default. With it raised, 200 documented therapies spanning
    # 126 years each are merged into runs, one atom per span, not one per day: decided well
    # inside the limit (this once took longer than any limit allowed).
    case = REPO / "tests/hostile/cases/therapies_since_1900.yaml"
    result = run_cli("check", case, "--max-record-years", "200", "--time-limit", "20")
    assert result.returncode == 0, result.stderr
    judged = result.stdout.count("determination: ")
    assert judged >= 2 and result.stdout.count("determination: incomplete") == judged


@pytest.mark.parametrize(
    "command",
    [
        ("lint", "{special}"),
        ("compile", "{special}"),
        ("check", "{case}", "--policy-file", "{special}"),
    ],
)
def test_policy_files_must_be_regular_files(tmp_path, command):
    fifo = tmp_path / "policy.sijp"
    os.mkfifo(fifo)
    args = [a.format(special=fifo, case=APPROVABLE) for a in command]
    code, stdout, stderr = _in_process(*args)
    assert code == 2 and stdout == ""
    assert (
        f"{fifo}: error[import]: cannot read {fifo}: a named pipe (FIFO), not a regular file"
        in stderr
    )
