"""`sijfasp batch`: one line per case in input order, error lines, resume, workers, Dask."""

from __future__ import annotations

import datetime as dt
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
from support import LEFT_BLOCK

from sijfasp.cli import main as cli

# Batches run the command in subprocesses, with worker processes: the full tier only.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "cases"
EXAMPLE_YAML = sorted(EXAMPLES.glob("*.yaml"))


def _example(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _json_line(case: dict) -> str:
    return json.dumps(case, default=str) + "\n"


def _cases(count: int) -> list[dict]:
    """`count` cases cycling through the examples (every determination), each with its id."""
    examples = [_example(p) for p in EXAMPLE_YAML]
    cases = []
    for index in range(count):
        case = dict(examples[index % len(examples)])
        case["id"] = f"case-{index:05d}-{case.get('id', 'x')}"
        cases.append(case)
    return cases


def _write_jsonl(path: Path, cases: list[dict]) -> Path:
    path.write_text("".join(_json_line(c) for c in cases), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _check_json(case_path: Path, capsys) -> dict:
    assert cli.main(["check", str(case_path), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _subprocess(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sijfasp", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        **kwargs,
    )


# ------------------------------------------------------------------ one process
def test_lines_are_the_check_json_of_each_case(tmp_path, capsys):
    sample = EXAMPLE_YAML[:4]
    source = _write_jsonl(tmp_path / "cases.jsonl", [_example(p) for p in sample])
    out = tmp_path / "out.jsonl"
    assert cli.main(["batch", str(source), "--out", str(out)]) == 0
    capsys.readouterr()
    written = _lines(out)
    assert len(written) == len(sample)
    for path, line in zip(sample, written):
        assert line == _check_json(path, capsys), path.name
    # One compact line per case.
    assert all(len(text) > 100 for text in out.read_text(encoding="utf-8").splitlines())


def test_an_invalid_case_gives_an_error_line_and_exit_1(tmp_path, capsys):
    good = _cases(3)
    bad = dict(good[1], id="broken")
    bad["findings"] = dict(bad.get("findings") or {}, vas_score="high")
    source = tmp_path / "cases.jsonl"
    source.write_text(
        _json_line(good[0]) + _json_line(bad) + "{not json\n" + "\n" + _json_line(good[2]),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    assert cli.main(["batch", str(source), "--out", str(out)]) == 1
    summary = capsys.readouterr().err
    assert "2 invalid" in summary and "4 cases" in summary
    written = _lines(out)
    assert [w.get("case") for w in written] == [good[0]["id"], "broken", None, good[2]["id"]]
    assert written[1]["source"] == f"{source}:2"
    assert written[1]["errors"][0]["field"] == "findings.vas_score"
    assert written[2]["source"] == f"{source}:3"
    assert "not valid JSON" in written[2]["errors"][0]["message"]
    assert "results" in written[3]  # the blank line is no case; the batch went on


def test_a_line_over_the_size_limit_is_an_error_line(tmp_path, capsys):
    cases = _cases(2)
    cases[0]["padding_note"] = "x" * 5000  # unknown field, but the size is checked first
    source = _write_jsonl(tmp_path / "cases.jsonl", cases)
    out = tmp_path / "out.jsonl"
    assert cli.main(["batch", str(source), "--out", str(out), "--max-file-size", "4K"]) == 1
    written = _lines(out)
    assert "longer than the limit" in written[0]["errors"][0]["message"]
    assert written[1]["case"] == cases[1]["id"]


def test_a_directory_of_case_files_in_name_order(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert cli.main(["batch", str(EXAMPLES), "--out", str(out)]) == 0
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json"))
    written = _lines(out)
    assert len(written) == len(names)
    ids = [w["case"] for w in written]
    assert ids[names.index("vas_4.yaml")] == "vas_4"
    assert ids[names.index("approvable.json")] == _example(EXAMPLES / "approvable.yaml")["id"]
    assert "12 cases" in capsys.readouterr().err


def test_standard_input(tmp_path, capsys, monkeypatch):
    cases = _cases(3)
    data = "".join(_json_line(c) for c in cases).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = tmp_path / "out.jsonl"
    assert cli.main(["batch", "-", "--out", str(out)]) == 0
    assert [w["case"] for w in _lines(out)] == [c["id"] for c in cases]


def test_summary_counts_per_policy_and_determination(tmp_path, capsys):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(len(EXAMPLE_YAML)))
    assert cli.main(["batch", str(source), "--out", str(tmp_path / "o.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "cases/s" in err
    for policy in ("aim_sijf_2022", "caresource_sijf_2026"):
        assert f"  {policy}: approvable " in err
    assert "\r" not in err  # no progress bar when standard error is not a terminal


def test_resume_after_a_partial_last_line(tmp_path, capsys):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(8))
    full = tmp_path / "full.jsonl"
    assert cli.main(["batch", str(source), "--out", str(full)]) == 0
    whole = full.read_bytes()
    lines = whole.splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"".join(lines[:3]) + lines[3][:40])  # killed while writing line 4
    # Its resume record (OUTPUT.resume) as the run left it: the header, then an entry per line
    # written or being written.
    record = (tmp_path / "full.jsonl.resume").read_bytes().splitlines(keepends=True)
    (tmp_path / "partial.jsonl.resume").write_bytes(b"".join(record[:5]))
    capsys.readouterr()
    assert cli.main(["batch", str(source), "--out", str(partial), "--resume"]) == 0
    assert "3 already done" in capsys.readouterr().err
    assert partial.read_bytes() == whole
    # Resuming a finished run does nothing.
    assert cli.main(["batch", str(source), "--out", str(partial), "--resume"]) == 0
    assert partial.read_bytes() == whole


def test_resume_refuses_an_output_of_other_cases(tmp_path, capsys):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(4))
    out = tmp_path / "out.jsonl"
    assert cli.main(["batch", str(source), "--out", str(out)]) == 0
    other = _write_jsonl(tmp_path / "other.jsonl", list(reversed(_cases(4))))
    before = out.read_bytes()
    assert cli.main(["batch", str(other), "--out", str(out), "--resume"]) == 2
    assert "the input changed since the output was written" in capsys.readouterr().err
    assert out.read_bytes() == before


@pytest.mark.parametrize("args", [["--workers", "0"], ["--engine", "spark"], []])
def test_option_errors_exit_2(tmp_path, capsys, args):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(1))
    out = [] if not args else ["--out", str(tmp_path / "o.jsonl")]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["batch", str(source), *out, *args])
    assert stopped.value.code == 2


def test_a_scheduler_needs_the_dask_engine(tmp_path, capsys):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(1))
    args = ["--out", str(tmp_path / "o.jsonl"), "--scheduler", "tcp://127.0.0.1:1"]
    assert cli.main(["batch", str(source), *args]) == 2
    assert "--engine dask" in capsys.readouterr().err


def test_a_missing_input_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert cli.main(["batch", str(tmp_path / "nope.jsonl"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------ worker processes
def test_workers_lose_and_duplicate_nothing(tmp_path):
    # Enough cases that two workers finish them out of order many times over.
    cases = _cases(80)
    source = _write_jsonl(tmp_path / "cases.jsonl", cases)
    out = tmp_path / "out.jsonl"
    result = _subprocess("batch", str(source), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    written = _lines(out)
    assert [w["case"] for w in written] == [c["id"] for c in cases]
    assert "80 cases" in result.stderr
    # The same lines as one process gives (spot check on the first examples' cycle).
    single = tmp_path / "single.jsonl"
    subset = _write_jsonl(tmp_path / "subset.jsonl", cases[:12])
    assert _subprocess("batch", str(subset), "--out", str(single)).returncode == 0
    assert single.read_text().splitlines() == out.read_text().splitlines()[:12]


def test_a_killed_run_resumes_to_the_same_output(tmp_path):
    cases = _cases(60)
    source = _write_jsonl(tmp_path / "cases.jsonl", cases)
    reference = tmp_path / "reference.jsonl"
    assert _subprocess("batch", str(source), "--out", str(reference)).returncode == 0
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "sijfasp", "batch", str(source), "--out", str(out)]
        + ["--workers", "2"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 15:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    stopped = out.read_bytes()
    assert 15 <= stopped.count(b"\n") < len(cases)
    result = _subprocess("batch", str(source), "--out", str(out), "--resume", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == reference.read_bytes()


def test_ctrl_c_leaves_whole_lines(tmp_path):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(200))
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "sijfasp", "batch", str(source), "--out", str(out)]
        + ["--workers", "2"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    data = out.read_bytes()
    assert data.endswith(b"\n")
    assert all(json.loads(line)["case"] for line in data.splitlines())


# ------------------------------------------------------------------ Dask
def test_dask_local_cluster_gives_the_same_output(tmp_path):
    pytest.importorskip("distributed")
    cases = _cases(30)
    source = _write_jsonl(tmp_path / "cases.jsonl", cases)
    local = tmp_path / "local.jsonl"
    assert _subprocess("batch", str(source), "--out", str(local)).returncode == 0
    out = tmp_path / "dask.jsonl"
    result = _subprocess(
        "batch", str(source), "--out", str(out), "--engine", "dask", "--workers", "2"
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == local.read_bytes()


def test_a_case_past_the_time_limit_is_an_error_line_and_the_batch_goes_on(tmp_path):
    cases = _cases(3)
    source = _write_jsonl(tmp_path / "cases.jsonl", cases)
    out = tmp_path / "out.jsonl"
    result = _subprocess("batch", str(source), "--out", str(out), "--time-limit", "0.001")
    assert result.returncode == 1, result.stderr
    lines = _lines(out)
    assert [line["case"] for line in lines] == [c["id"] for c in cases]  # none skipped
    timed_out = [line for line in lines if "errors" in line]
    assert timed_out, "a limit of 1 ms stops the solver on some case"
    for line in timed_out:
        assert line["errors"][0]["message"].startswith(
            "the case is too complex to finish within the time limit (0.001 s)"
        )
        assert "--time-limit" in line["errors"][0]["message"]


def _grounding_heavy_case() -> dict:
    """Five thousand diagnostic blocks (the most a chart may hold) documented without their
    relief, one a day back from the request: seconds of grounding (each block matched against
    the block filters' tests of both worlds), before any solving."""
    case = _example(EXAMPLE_YAML[0])
    request = dt.date.fromisoformat(str(case["request"]["date"]))
    blocks = [
        {**LEFT_BLOCK, "date": (request - dt.timedelta(days=1 + i)).isoformat()}
        for i in range(5000)
    ]
    return {**case, "id": "grounding-heavy", "records": {"injection": blocks}}


@pytest.mark.slow
def test_a_case_still_grounding_well_past_the_limit_stops_the_batch_naming_it(tmp_path):
    source = _write_jsonl(tmp_path / "cases.jsonl", [_grounding_heavy_case()])
    out = tmp_path / "out.jsonl"
    result = _subprocess(
        "batch", str(source), "--out", str(out), "--time-limit", "0.05",
        "--max-record-years", "100",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"the case {source}:1 is too complex" in result.stderr
    assert "--resume" in result.stderr
    assert out.read_bytes() == b""


def test_the_dask_engine_without_dask_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(1))
    out = tmp_path / "out.jsonl"
    out.write_text("an earlier output\n")
    assert cli.main(["batch", str(source), "--out", str(out), "--engine", "dask"]) == 2
    assert "pip install 'sijfasp[cluster]'" in capsys.readouterr().err
    assert out.read_text() == "an earlier output\n"  # left alone


# ------------------------------------------------------------------ the benchmark's generator
def _generator():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return generate


def test_the_generator_is_seeded_and_its_cases_are_valid():
    from sijfasp.cases.case import validate_case
    from sijfasp.cases.reader import read_json_case_text
    from sijfasp.policies.loading import bundled_policies

    generate = _generator()
    first = [generate.json_line(c) for c in generate.generate(60, seed=3)]
    assert first == [generate.json_line(c) for c in generate.generate(60, seed=3)]
    assert first != [generate.json_line(c) for c in generate.generate(60, seed=4)]
    vocabulary = bundled_policies()[0].policy.vocabulary
    for line in first:
        validate_case(read_json_case_text(line, "generated"), vocabulary, "generated")
    assert len({json.loads(line)["id"] for line in first}) == 60
    counts = [generate.record_count(json.loads(line)) for line in first]
    assert min(counts) < 15 and max(counts) >= 60  # short and long charts
    base = generate._examples()[0]
    for count in (3, 10, 250):
        assert generate.record_count(generate.with_records(base, count, seed=1)) == count


def test_the_generated_mix_has_every_determination(tmp_path):
    generate = _generator()
    source = tmp_path / "mix.jsonl"
    source.write_text("".join(generate.json_line(c) for c in generate.generate(40, seed=1)))
    out = tmp_path / "out.jsonl"
    assert _subprocess("batch", str(source), "--out", str(out)).returncode == 0
    found: dict[str, set[str]] = {}
    for line in _lines(out):
        for result in line["results"]:
            found.setdefault(result["policy"], set()).add(result["determination"])
    everything = {"approvable", "excluded", "incomplete", "not_met", "not_applicable"}
    # The generator is written from the two bundled policies' examples.
    assert found["aim_sijf_2022"] == found["caresource_sijf_2026"] == everything


def _benchmark(name: str) -> list[str]:
    return [sys.executable, str(REPO / "benchmarks" / name)]


@pytest.mark.exhaustive
def test_the_large_batch_benchmark_kills_resumes_counts_and_samples():
    result = subprocess.run(
        [*_benchmark("run.py"), "--large-batch", "80", "--interrupt", "1.5", "--sample", "2"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "killed after 1.5 s with " in result.stdout  # 80 cases take longer than that
    assert "lines out: 80 of 80, distinct cases 80, in input order: yes" in result.stdout
    assert "sample of 2 cases against `check --format json`: 0 differ" in result.stdout


def test_the_ground_once_floor_prints_a_rate_per_policy():
    result = subprocess.run(
        [*_benchmark("ground_once.py"), "--solves", "20"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["aim_sijf_2022", "caresource_sijf_2026"]
    assert lines[-1].startswith("all 2 policies: ") and lines[-1].endswith(" cases/s at most")


@pytest.mark.exhaustive
def test_the_benchmark_prints_every_figure_of_its_table():
    """A short run of the whole table: each measure the README and docs/batch.md quote."""
    result = subprocess.run(
        [*_benchmark("run.py"), "--mix", "6", "--batch", "6", "--cap", "4", "--cold-runs", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout.split("\nmeasure ", 1)[1]
    labels = [
        "clingo alone, decide (floor)",
        "check --no-missing (the fast path)",
        "check --format json (minimal sets)",
        "json check vs floor",
        "slowest case of the mix, minimal sets",
        "peak memory, mix",
        " 1000 records, minimal sets",
        " 5000 records, determination",
        "40 open home programs, 5000 records, minimal sets",
        "cold sijfasp check (cache populated)",
        "python -c 'import clingo, lark, yaml'",
        "cold sijfasp check, empty cache",
        "batch --workers 2, 6 cases",
    ]
    for label in labels:
        assert label in table, label
    lines = [line for line in table.splitlines() if line.startswith("  batch lines out")]
    assert len(lines) == 1 and lines[0].endswith("  6 of 6, in input order: ok"), lines


@pytest.mark.parametrize(
    ("workers", "message"),
    [("0", "expected 1 or more"), ("two", "expected a whole number, got 'two'")],
)
def test_a_bad_number_of_workers_is_a_usage_error(tmp_path, capsys, workers, message):
    source = _write_jsonl(tmp_path / "cases.jsonl", _cases(1))
    out = tmp_path / "out.jsonl"
    with pytest.raises(SystemExit) as stopped:
        cli.main(["batch", str(source), "--out", str(out), "--workers", workers])
    assert stopped.value.code == 2
    assert f"argument --workers: {message}" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_a_case_judged_alone_in_a_chunk_is_read_once_and_judged_as_alone(monkeypatch):
    """In a chunk, a chart longer than TOGETHER_RECORDS is judged on its own, after the others
    are judged together: its line is the one it gets alone, and its text is read only once."""
    from sijfasp.batch import evaluate as batch_evaluate
    from sijfasp.core.limits import DEFAULT_LIMITS
    from sijfasp.policies import versions
    from sijfasp.policies.loading import bundled_policy_versions

    generate = _generator()
    cases = _cases(3)
    cases.append(generate.with_records(cases[0], batch_evaluate.TOGETHER_RECORDS + 50, seed=3))
    cases[-1]["id"] = "long-chart"
    policies = [versions.reference(p) for p in bundled_policy_versions()]
    config = batch_evaluate.Config(tuple(policies), (), DEFAULT_LIMITS, 10)
    items = [
        batch_evaluate.Item(n, f"cases.jsonl:{n + 1}", _json_line(case), True)
        for n, case in enumerate(cases)
    ]
    read = batch_evaluate._read
    reads: list[int] = []

    def counted(config, item):
        reads.append(item.index)
        return read(config, item)

    monkeypatch.setattr(batch_evaluate, "_read", counted)
    lines = [outcome.line for outcome in batch_evaluate.evaluate_items(config, items)]
    assert sorted(reads) == [0, 1, 2, 3]
    # (The cases judged together print as alone: tests/test_batched.py.)
    assert lines[-1] == batch_evaluate.evaluate_item(config, items[-1]).line
    assert json.loads(lines[-1])["case"] == "long-chart"
