"""Hostile batch runs (issue 20, data loss in batch): an output that is an input, a resume of
an output holding lines another writer left, of a changed input or of other options, two runs
on one output, a lone surrogate in a case, a huge --workers. Each leaves every file as it was
(or finishes the run exactly) and says why in one message, never a traceback or exit 3.

Most runs read cases that fail validation at once (an id and nothing else): each gives an error
line without any solving, so these tests are quick; runs that must overlap use real cases."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from sijfasp import batch
from sijfasp.batch import command, engines
from sijfasp.cli import main as cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"


def _record(out: Path) -> Path:
    return out.with_name(out.name + ".resume")


def _cheap(count: int, prefix: str = "c") -> str:
    """Cases that fail validation at once (no request): an error line each, no solving."""
    return "".join(json.dumps({"id": f"{prefix}{n}"}) + "\n" for n in range(count))


def _real(count: int) -> str:
    """Cases cycling through the examples (every determination), each with its id."""
    examples = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
    lines = []
    for n in range(count):
        case = dict(examples[n % len(examples)], id=f"real-{n:03d}")
        lines.append(json.dumps(case, default=str) + "\n")
    return "".join(lines)


def _ids(path: Path) -> list[str | None]:
    return [json.loads(line)["case"] for line in path.read_text(encoding="utf-8").splitlines()]


def _batch(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["batch", *map(str, args)])
    return code, capsys.readouterr().err


def _subprocess(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sijfasp", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        **kwargs,
    )


def _stop_at(monkeypatch, index: int) -> None:
    """The run is interrupted (as by Ctrl-C) when it comes to write the line of case `index`."""
    write = batch.Journal.write

    def stopping(journal, outcome):
        if outcome.index == index:
            raise KeyboardInterrupt
        return write(journal, outcome)

    monkeypatch.setattr(batch.Journal, "write", stopping)


def _stopped_run(tmp_path, capsys, monkeypatch, text: str, at: int, *options: str):
    """An input, and the output of a run of it stopped before case `at`."""
    source = tmp_path / "cases.jsonl"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as patch:
        _stop_at(patch, at)
        code, _ = _batch(capsys, source, "--out", out, *options)
    assert code == 130 and out.read_bytes().count(b"\n") == at
    return source, out


# ------------------------------------------------------------------ the output is an input
def _same_file(tmp, cases):
    return [cases], cases


def _hard_link(tmp, cases):
    os.link(cases, tmp / "out.jsonl")
    return [cases], tmp / "out.jsonl"


def _output_links_to_input(tmp, cases):
    (tmp / "out.jsonl").symlink_to(cases)
    return [cases], tmp / "out.jsonl"


def _input_links_to_output(tmp, cases):
    (tmp / "link.jsonl").symlink_to(cases)
    return [tmp / "link.jsonl"], cases


def _output_in_input_folder(tmp, cases):
    folder = tmp / "cases"
    folder.mkdir()
    (folder / "a.json").write_text('{"id": "a"}')
    return [folder, cases], folder / "results.jsonl"  # not there yet


def _output_is_a_case_file(tmp, cases):
    (tmp / "a.json").write_text('{"id": "a"}')
    return [cases, tmp / "a.json"], tmp / "a.json"


@pytest.mark.parametrize(
    "arrange",
    [
        _same_file,
        _hard_link,
        _output_links_to_input,
        _input_links_to_output,
        _output_in_input_folder,
        _output_is_a_case_file,
    ],
)
@pytest.mark.parametrize("options", [[], ["--resume"], ["--engine", "dask", "--workers", "2"]])
def test_an_output_that_is_an_input_is_refused_before_anything_is_written(
    tmp_path, capsys, arrange, options
):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(_cheap(3), encoding="utf-8")
    inputs, out = arrange(tmp_path, cases)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, err = _batch(capsys, *inputs, "--out", out, *options)
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert "is the input" in err or "in the input folder" in err, err
    assert "choose another --out" in err, err
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing truncated, no record written, no output created


def test_the_resume_record_cannot_be_an_input(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    record = _record(out)
    record.write_text(_cheap(2), encoding="utf-8")  # a JSON Lines input named like the record
    code, err = _batch(capsys, record, "--out", out)
    assert code == 2 and "is the input" in err, err
    assert record.read_text() == _cheap(2) and not out.exists()


def test_an_output_named_as_a_resume_record_is_refused(tmp_path, capsys, monkeypatch):
    # Written by a second run, another run's record would change under that run's lock.
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(4), 2)
    record = _record(out).read_bytes()
    code, err = _batch(capsys, source, "--out", _record(out))
    assert code == 2 and "named as the resume record of another output" in err, err
    assert _record(out).read_bytes() == record and not _record(_record(out)).exists()


@pytest.mark.slow  # a process of its own, with standard input redirected
def test_an_output_read_on_standard_input_is_refused(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(_cheap(2), encoding="utf-8")
    with out.open("rb") as stdin:
        result = _subprocess("batch", "-", "--out", out, stdin=stdin)
    assert result.returncode == 2, result.stderr
    assert "is the input - (standard input)" in result.stderr
    assert out.read_text() == _cheap(2)


def test_an_output_that_is_no_regular_file_is_refused(tmp_path, capsys):
    source = tmp_path / "cases.jsonl"
    source.write_text(_cheap(2), encoding="utf-8")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for out, kind in ((fifo, "a named pipe (FIFO)"), (Path(os.devnull), "a device")):
        code, err = _batch(capsys, source, "--out", out)
        assert code == 2 and f"cannot write {out}: {kind}, not a regular file" in err, err
    out = tmp_path / "out.jsonl"
    os.mkfifo(_record(out))  # a record that is a pipe would never be read to its end
    for options in ([], ["--resume"]):
        code, err = _batch(capsys, source, "--out", out, *options)
        assert code == 2 and f"cannot write {_record(out)}: a named pipe" in err, err
        assert not out.exists()
    assert not Path(os.devnull + ".resume").exists() and not (tmp_path / "pipe.resume").exists()


# ------------------------------------------------------------------ resume: lines it did not write
def test_resume_never_cuts_a_last_line_it_did_not_write(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(6), 3)
    foreign = b'{"case":"added by hand","note":"no newline"}'
    with out.open("ab") as file:
        file.write(foreign)
    before = out.read_bytes()
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2, err
    assert "not written by" in err and f"{out}" in err, err
    assert out.read_bytes() == before  # the line without a newline is still there


def test_resume_never_goes_on_after_a_whole_line_it_did_not_write(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(6), 3)
    with out.open("ab") as file:
        file.write(b'{"case":"c3","source":"elsewhere"}\n')
    before = out.read_bytes()
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2 and "not written by" in err, err
    assert out.read_bytes() == before


def test_resume_refuses_a_line_changed_since_it_was_written(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(6), 3)
    lines = out.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"c1"', b'"cX"')
    out.write_bytes(b"".join(lines))
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2 and f"{out}:2" in err and "changed since" in err, err
    assert out.read_bytes() == b"".join(lines)


def test_resume_refuses_an_output_without_its_record(tmp_path, capsys):
    source = tmp_path / "cases.jsonl"
    source.write_text(_cheap(4), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    # An output from elsewhere (or an older sijfasp): two lines, the last without a newline.
    written = b'{"case":"c0","source":"x","errors":[]}\n{"case":"c1","sou'
    out.write_bytes(written)
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2 and "no resume record" in err, err
    assert out.read_bytes() == written and not _record(out).exists()


def test_resume_cuts_a_partial_line_it_wrote_and_finishes_the_run(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(6), 4)
    reference = tmp_path / "reference.jsonl"
    assert _batch(capsys, source, "--out", reference)[0] == 1
    whole = out.read_bytes()
    last = whole.rstrip(b"\n").rfind(b"\n") + 1
    out.write_bytes(whole[: last + 20])  # stopped while writing its fourth line
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 1 and "3 already done" in err, err
    assert out.read_bytes() == reference.read_bytes()
    # A finished run resumed again is left as it is.
    assert _batch(capsys, source, "--out", out, "--resume")[0] == 1
    assert out.read_bytes() == reference.read_bytes()


def test_an_empty_output_resumes_as_a_new_run(tmp_path, capsys):
    source = tmp_path / "cases.jsonl"
    source.write_text(_cheap(3), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _ = _batch(capsys, source, "--out", out, "--resume")
    assert code == 1 and _ids(out) == ["c0", "c1", "c2"]


def test_a_run_stopped_before_its_first_line_starts_again(tmp_path, capsys):
    source = tmp_path / "cases.jsonl"
    source.write_text(_cheap(3), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"")
    _record(out).write_bytes(b"")  # stopped before even the record's header was written
    code, _ = _batch(capsys, source, "--out", out, "--resume")
    assert code == 1 and _ids(out) == ["c0", "c1", "c2"]


def test_a_run_stopped_between_its_record_and_emptying_the_output_is_refused(
    tmp_path, capsys, monkeypatch
):
    # A new run writes the record's header, then empties the output: stopped in between, the
    # output still holds an earlier run's lines, which this record does not account for.
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(4), 2)
    header = _record(out).read_bytes().splitlines(keepends=True)[0]
    _record(out).write_bytes(header)
    before = out.read_bytes()
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2 and "before any line" in err and "not written by" in err, err
    assert out.read_bytes() == before and _record(out).read_bytes() == header


@pytest.mark.parametrize(
    "damage",
    [
        lambda lines: [lines[0], b"not json\n", *lines[2:]],
        lambda lines: [lines[0], lines[2], lines[1]],  # entries out of order
        lambda lines: [b'{"format": "something else"}\n', *lines[1:]],
    ],
)
def test_a_damaged_record_is_refused(tmp_path, capsys, monkeypatch, damage):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(4), 2)
    record = b"".join(damage(_record(out).read_bytes().splitlines(keepends=True)))
    _record(out).write_bytes(record)
    before = out.read_bytes()
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2, err
    assert "damaged" in err or "not a resume record" in err, err
    assert out.read_bytes() == before and _record(out).read_bytes() == record


# ------------------------------------------------------------------ resume: a changed input
def _folder_of_cases(folder: Path, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        # No id: named after the file, as `check` names it (error lines without solving).
        (folder / name).write_text(f"note: {name}\n", encoding="utf-8")


def test_resume_refuses_a_folder_with_a_case_file_added_before_the_stop(
    tmp_path, capsys, monkeypatch
):
    folder = tmp_path / "cases"
    _folder_of_cases(folder, ["a.yaml", "c.yaml", "e.yaml", "g.yaml"])
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as patch:
        _stop_at(patch, 2)
        assert _batch(capsys, folder, "--out", out)[0] == 130
    before = out.read_bytes()
    _folder_of_cases(folder, ["b.yaml"])  # sorts before the first case not done
    code, err = _batch(capsys, folder, "--out", out, "--resume")
    assert code == 2 and "the input changed" in err, err
    assert f"{folder / 'b.yaml'}" in err and f"{folder / 'c.yaml'}" in err, err
    assert out.read_bytes() == before
    # A case file added after the stop is simply one more case to do.
    (folder / "b.yaml").unlink()
    _folder_of_cases(folder, ["z.yaml"])
    code, err = _batch(capsys, folder, "--out", out, "--resume")
    assert code == 1 and "2 already done" in err, err
    reference = tmp_path / "reference.jsonl"
    assert _batch(capsys, folder, "--out", reference)[0] == 1
    assert out.read_bytes() == reference.read_bytes()


def test_resume_refuses_a_case_whose_content_changed(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "cases"
    _folder_of_cases(folder, ["a.yaml", "b.yaml", "c.yaml"])
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as patch:
        _stop_at(patch, 2)
        assert _batch(capsys, folder, "--out", out)[0] == 130
    before = out.read_bytes()
    (folder / "b.yaml").write_text("note: changed\n", encoding="utf-8")  # same name
    code, err = _batch(capsys, folder, "--out", out, "--resume")
    assert code == 2 and "the input changed" in err and "content" in err, err
    assert out.read_bytes() == before


def test_resume_refuses_an_input_with_fewer_cases_than_lines(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(6), 4)
    before = out.read_bytes()
    source.write_text(_cheap(2), encoding="utf-8")
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 2 and "more lines than the input has cases" in err, err
    assert out.read_bytes() == before


# ------------------------------------------------------------------ resume: other options
@pytest.mark.parametrize(
    ("first", "then", "named"),
    [
        (
            ["--policy", "aim_sijf_2022"],
            ["--policy", "caresource_sijf_2026"],
            "caresource_sijf_2026",
        ),
        ([], ["--policy", "aim_sijf_2022"], "caresource_sijf_2026"),
        ([], ["--enumerate", "2"], "--enumerate"),
        ([], ["--as-of", "2023-01-01"], "--as-of"),
        ([], ["--max-records", "20"], "--max-records"),
    ],
)
def test_resume_with_other_options_is_refused(tmp_path, capsys, monkeypatch, first, then, named):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(5), 2, *first)
    before = out.read_bytes()
    code, err = _batch(capsys, source, "--out", out, "--resume", *then)
    assert code == 2 and "written with other options" in err and named in err, err
    assert out.read_bytes() == before


def test_resume_with_a_changed_policy_file_is_refused(tmp_path, capsys, monkeypatch):
    policy = tmp_path / "aim.sijp"
    shutil.copy(REPO / "policies_asp" / "aim_sijf_2022.sijp", policy)
    shutil.copy(REPO / "policies_asp" / "vocabulary.sijv", tmp_path / "vocabulary.sijv")
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(5), 2, "--policy-file", policy)
    before = out.read_bytes()
    policy.write_text(policy.read_text() + "\n# a comment changes the file\n")
    code, err = _batch(capsys, source, "--out", out, "--resume", "--policy-file", policy)
    assert code == 2 and "written with other options" in err and "content" in err, err
    assert out.read_bytes() == before


def test_resume_with_a_higher_time_limit_goes_on(tmp_path, capsys, monkeypatch):
    # As docs/batch.md says: a case still grounding past the limit stops the batch, and
    # --resume with a higher limit goes on from it.
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(4), 2, "--time-limit", "5")
    code, err = _batch(capsys, source, "--out", out, "--resume", "--time-limit", "50")
    assert code == 1 and "2 already done" in err, err
    assert _ids(out) == ["c0", "c1", "c2", "c3"]


# ------------------------------------------------------------------ one writer at a time
def test_an_output_locked_by_another_run_is_left_alone(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(5), 2)
    before, record = out.read_bytes(), _record(out).read_bytes()
    with out.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running batch holds it
        for options in ([], ["--resume"], ["--resume", "--engine", "dask"]):
            code, err = _batch(capsys, source, "--out", out, *options)
            assert code == 2 and "another sijfasp batch is writing" in err, (options, err)
            assert out.read_bytes() == before and _record(out).read_bytes() == record
    code, err = _batch(capsys, source, "--out", out, "--resume")  # once it is released
    assert code == 1 and _ids(out) == ["c0", "c1", "c2", "c3", "c4"], err


def test_a_file_system_without_locks_is_refused(tmp_path, capsys, monkeypatch):
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, _cheap(5), 2)
    before = out.read_bytes()

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    for options in ([], ["--resume"]):
        code, err = _batch(capsys, source, "--out", out, *options)
        assert code == 2 and "cannot lock" in err and "does not support locks" in err, err
        assert out.read_bytes() == before


@pytest.mark.slow  # real cases in processes of their own
def test_two_concurrent_resumes_of_one_output_leave_one_writer(tmp_path):
    cases = _real(12)
    source, reference = tmp_path / "cases.jsonl", tmp_path / "reference.jsonl"
    source.write_text(cases, encoding="utf-8")
    assert _subprocess("batch", source, "--out", reference).returncode == 0
    # A run that stopped after 5 cases: its input then had those 5 cases only.
    live = tmp_path / "live.jsonl"
    live.write_text(_real(5), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert _subprocess("batch", live, "--out", out).returncode == 0

    def start(source: Path, *options: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "sijfasp", "batch", str(source), "--out", str(out)]
        return subprocess.Popen([*command, *options], cwd=REPO, stderr=subprocess.PIPE, text=True)

    # The resumed run reads its cases from a pipe this test holds open, so it is still writing
    # when the two others start, on a fast machine or a loaded one.
    live.unlink()
    os.mkfifo(live)
    running = start(live, "--resume")
    lines = cases.splitlines(keepends=True)
    with open(live, "w", encoding="utf-8") as pipe:
        pipe.writelines(lines[:8])
        pipe.flush()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and out.read_bytes().count(b"\n") < 8:
            time.sleep(0.02)
        assert out.read_bytes().count(b"\n") == 8
        # While it waits for more: a second resume, and a new run, which would truncate the
        # output (of the same cases, from a file: the pipe is the running one's).
        others = [start(source, "--resume"), start(source)]
        refusals = [other.communicate(timeout=120)[1] for other in others]
        pipe.writelines(lines[8:])
    _, err = running.communicate(timeout=300)
    assert running.returncode == 0 and "5 already done" in err, err
    for other, refusal in zip(others, refusals):
        assert other.returncode == 2, refusal
        assert "another sijfasp batch is writing" in refusal
    assert out.read_bytes() == reference.read_bytes()  # each case once, in input order


# ------------------------------------------------------------------ memory
def _peak_rss_of(*args: str) -> tuple[int, subprocess.CompletedProcess]:
    """Peak resident set (bytes) of a batch run in a process of its own."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(done.returncode)\n"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "sijfasp", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    return int(done.stdout.split()[-1]) * 1024, done


@pytest.mark.slow  # writes and reads a 64 MB output
def test_resume_reads_the_output_in_constant_memory(tmp_path):
    keys = {f"k{n:04d}" + "x" * 60: 1 for n in range(240)}  # an error line of about 64 KB
    lines = [json.dumps({"id": f"big{n}", **keys}) + "\n" for n in range(1000)]
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text("".join(lines[:3]), encoding="utf-8")
    large.write_text("".join(lines), encoding="utf-8")
    for source in (small, large):
        done = _subprocess("batch", source, "--out", source.with_suffix(".out"))
        assert done.returncode == 1, done.stderr
    assert large.with_suffix(".out").stat().st_size > 60_000_000
    peaks = {}
    for source in (small, large):
        out = source.with_suffix(".out")
        peaks[source.name], done = _peak_rss_of("batch", source, "--out", out, "--resume")
        assert done.returncode == 1 and "already done" in done.stderr, done.stderr
    # Reading 64 MB of output costs no more than a few MB above reading 200 KB of it.
    assert peaks["large.jsonl"] - peaks["small.jsonl"] < 16 * 2**20, peaks


# ------------------------------------------------------------------ lone surrogates
SURROGATES = [
    ("id", '{"id": "\\ud800", "request": {}}', "id"),
    ("key", '{"id": "k1", "\\udc00x": 1}', "\\udc00x"),
    ("value", '{"id": "v1", "request": {"service": "\\udfff"}}', "request.service"),
]


def test_a_lone_surrogate_is_an_error_line_and_the_batch_goes_on(tmp_path, capsys, monkeypatch):
    text = _cheap(1, "before") + "".join(line + "\n" for _, line, _ in SURROGATES)
    text += _cheap(1, "after")
    source = tmp_path / "cases.jsonl"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, err = _batch(capsys, source, "--out", out)
    assert code == 1 and "5 cases" in err, err
    data = out.read_bytes()
    data.decode("utf-8")  # every byte is UTF-8: nothing unencodable was written
    written = [json.loads(line) for line in data.splitlines()]
    assert [w["case"] for w in written] == ["before0", None, "k1", "v1", "after0"]
    for line, (_, _, field) in zip(written[1:4], SURROGATES):
        assert line["errors"] == [
            {
                "message": "a lone surrogate escape (\\ud800 to \\udfff) stands for no "
                "character: the text cannot be read",
                "field": field,
            }
        ], line
    # A run stopped just after such a case resumes, and its resume finishes.
    with monkeypatch.context() as patch:
        _stop_at(patch, 3)
        assert _batch(capsys, source, "--out", out)[0] == 130
    code, err = _batch(capsys, source, "--out", out, "--resume")
    assert code == 1 and "3 already done" in err, err
    assert out.read_bytes() == data


def test_a_lone_surrogate_in_a_yaml_case_file_is_an_error_line(tmp_path, capsys):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a.yaml").write_text('id: "\\ud800"\nrequest: {}\n', encoding="utf-8")
    (folder / "b.yaml").write_text('id: b\nrequest: {service: "x\\udfffy"}\n', encoding="utf-8")
    (folder / "c.yaml").write_text('id: c\nrecords:\n  - "\\U0000DC00"\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, err = _batch(capsys, folder, "--out", out)
    assert code == 1 and "3 cases" in err, err
    written = [json.loads(line) for line in out.read_bytes().decode("utf-8").splitlines()]
    assert [(w["case"], w["errors"][0]["field"]) for w in written] == [
        (None, "id"),
        ("b", "request.service"),
        ("c", "records[0]"),
    ]


def test_a_case_file_named_with_undecodable_bytes_is_written_as_utf8(tmp_path, capsys):
    folder = tmp_path / "cases"
    folder.mkdir()
    name = os.fsdecode(b"\xff-case.json")
    try:
        (folder / name).write_text('{"id": "odd-name"}', encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses the name")
    out = tmp_path / "out.jsonl"
    code, err = _batch(capsys, folder, "--out", out)
    assert code == 1, err
    (line,) = [json.loads(text) for text in out.read_bytes().decode("utf-8").splitlines()]
    assert line["case"] == "odd-name" and line["source"] == str(folder / name)
    assert _batch(capsys, folder, "--out", out, "--resume")[0] == 1  # and resumes


# ------------------------------------------------------------------ workers
def test_workers_below_one_are_refused_with_what_is_accepted(capsys):
    for value in ("0", "-1", "-10000", "two"):
        with pytest.raises(SystemExit) as stopped:
            cli.main(["batch", "x.jsonl", "--out", "o.jsonl", "--workers", value])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        expected = "1 or more" if value != "two" else "a whole number, got 'two'"
        assert f"argument --workers: expected {expected}" in err, err


class _Recorded:
    """An engine that records how many processes it was asked for and runs in this process."""

    asked: ClassVar[list[int]] = []

    def __init__(self, config, workers, *rest):
        type(self).asked.append(workers)
        self.inner = engines.InProcess(config)
        self.capacity = workers

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.mark.parametrize(("engine", "name"), [("local", "Processes"), ("dask", "Dask")])
def test_workers_are_capped_at_the_cores_and_the_cases(tmp_path, capsys, monkeypatch, engine, name):
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(command, name, _Recorded)  # the engines the run starts
    _Recorded.asked = []
    source = tmp_path / "cases.jsonl"
    for count in (cores + 3, 1):
        source.write_text(_cheap(count), encoding="utf-8")
        code, err = _batch(
            capsys, source, "--out", tmp_path / "o.jsonl", "--engine", engine, "--workers", "10000"
        )
        assert code == 1 and f"{count} case" in err, err
        assert "--workers 10000: " in err and "capped" in err, err
    if engine == "local":
        # More cases than cores: one process per core; one case: no process at all.
        assert _Recorded.asked == ([cores] if cores > 1 else [])
    else:
        assert _Recorded.asked == [cores, 1]


# ------------------------------------------------------------------ Dask
@pytest.mark.slow  # a local Dask cluster
def test_dask_keeps_the_guarantees(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    text = _real(3) + SURROGATES[0][1] + "\n" + _real(6)[len(_real(3)) :]
    source, out = _stopped_run(tmp_path, capsys, monkeypatch, text, 4)
    whole = out.read_bytes()
    last = whole.rstrip(b"\n").rfind(b"\n") + 1
    out.write_bytes(whole[: last + 20])  # stopped while writing the surrogate case's line
    result = _subprocess(
        "batch", source, "--out", out, "--resume", "--engine", "dask", "--workers", "2"
    )
    assert result.returncode == 1 and "3 already done" in result.stderr, result.stderr
    reference = tmp_path / "reference.jsonl"
    assert _batch(capsys, source, "--out", reference)[0] == 1
    assert out.read_bytes() == reference.read_bytes()
