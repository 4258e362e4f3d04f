"""Which policy set a run uses (--policies, SIJFASP_POLICIES, found upwards, installed), the set
and hashes named in the output, compile --check on the set in use, duplicate policies, and
vocabulary extensions of one policy that do not leak into the others."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sijfasp import policy_set
from sijfasp.cli import main
from sijfasp.diagnostics import SijfaspError
from sijfasp.policies import set_policies
from sijfasp.policy_set import Origin, discover
from sijfasp.resources import policies_dir

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "policies_asp"
APPROVABLE = REPO / "examples" / "cases" / "approvable.yaml"
AIM = "aim_sijf_2022"


def _run(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _copy_set(tmp_path: Path, name: str = "policies_asp") -> Path:
    """A copy of the bundled policies (with their compiled files), to edit freely."""
    target = tmp_path / name
    shutil.copytree(BUNDLE, target)
    return target


def _clean_env(monkeypatch) -> None:
    monkeypatch.delenv(policy_set.ENVIRONMENT_VARIABLE, raising=False)


def _aim_with_stricter_block(folder: Path) -> None:
    """The diagnostic block's relief threshold raised past the example's 80% and 85%."""
    path = folder / f"{AIM}.sijp"
    text = path.read_text(encoding="utf-8")
    assert "with relief_percent >= 75" in text
    path.write_text(text.replace("with relief_percent >= 75", "with relief_percent >= 90"))


# ------------------------------------------------------------------ discovery
def test_the_option_comes_first(tmp_path, monkeypatch):
    named = _copy_set(tmp_path, "named")
    monkeypatch.setenv(policy_set.ENVIRONMENT_VARIABLE, str(_copy_set(tmp_path, "by_env")))
    chosen = discover(named)
    assert (chosen.directory, chosen.origin) == (named.resolve(), Origin.OPTION)


def test_the_environment_variable_comes_before_the_working_directory(tmp_path, monkeypatch):
    by_env = _copy_set(tmp_path, "by_env")
    monkeypatch.setenv(policy_set.ENVIRONMENT_VARIABLE, str(by_env))
    monkeypatch.chdir(REPO)  # a policies_asp/ is right here; the variable still wins
    chosen = discover()
    assert (chosen.directory, chosen.origin) == (by_env.resolve(), Origin.ENVIRONMENT)


def test_a_policies_folder_is_found_from_the_working_directory_upwards(tmp_path, monkeypatch):
    _clean_env(monkeypatch)
    found = _copy_set(tmp_path / "checkout")
    deep = tmp_path / "checkout" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    chosen = discover()
    assert (chosen.directory, chosen.origin) == (found.resolve(), Origin.WORKING_DIRECTORY)
    monkeypatch.chdir(found)  # from inside the set itself
    assert discover().directory == found.resolve()


def test_a_policies_folder_without_a_policy_is_passed_over(tmp_path, monkeypatch):
    _clean_env(monkeypatch)
    (tmp_path / "policies_asp").mkdir()
    (tmp_path / "policies_asp" / "notes.txt").write_text("not a policy")
    monkeypatch.chdir(tmp_path)
    chosen = discover()
    assert chosen.origin != Origin.WORKING_DIRECTORY or chosen.directory != (
        tmp_path / "policies_asp"
    )


def test_the_installed_bundle_comes_last(tmp_path, monkeypatch):
    _clean_env(monkeypatch)
    if policy_set.find_upwards(tmp_path) is not None:
        pytest.skip("a policies_asp/ above the temporary folder")
    monkeypatch.chdir(tmp_path)
    chosen = discover()
    assert (chosen.directory, chosen.origin) == (policies_dir().resolve(), Origin.INSTALLED)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_named_folder_that_does_not_exist_is_an_error(tmp_path, monkeypatch, capsys, how):
    _clean_env(monkeypatch)
    missing = tmp_path / "nowhere"
    args = ["check", APPROVABLE]
    if how == "option":
        args += ["--policies", missing]
    else:
        monkeypatch.setenv(policy_set.ENVIRONMENT_VARIABLE, str(missing))
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    named_by = "--policies" if how == "option" else "SIJFASP_POLICIES"
    assert f"the policy set {missing} named by {named_by} does not exist" in err
    assert "Traceback" not in err


def test_a_named_folder_without_a_policy_is_an_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "vocabulary.sijv").write_text((BUNDLE / "vocabulary.sijv").read_text())
    for command in (["check", APPROVABLE], ["lint"], ["compile", "--check"], ["policies"]):
        code, _, err = _run(capsys, *command, "--policies", empty)
        assert code == 2, command
        assert "holds no policy file (.sijp)" in err, command


def test_every_command_that_loads_policies_takes_the_option(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    out_file = tmp_path / "out.jsonl"
    runs = [
        ["policies", "--policies", folder],
        ["lint", "--policies", folder],
        ["compile", "--check", "--policies", folder],
        ["check", APPROVABLE, "--policies", folder],
        ["explain", APPROVABLE, "--policies", folder],
        ["missing", APPROVABLE, "--policies", folder],
        ["batch", APPROVABLE, "--out", out_file, "--policies", folder],
        ["test", "--policies", folder],
    ]
    for args in runs:
        code, _, err = _run(capsys, *args)
        assert code == 0, (args, err)


# ------------------------------------------------------------------ the set named in output
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_text_output_names_the_set_and_each_hash(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    code, out, _ = _run(capsys, "check", APPROVABLE, "--policies", folder)
    assert code == 0
    tail = " ".join(out.split("policy set:")[1].split())
    assert tail.startswith(f"{folder.resolve()} (--policies);")
    assert f"{AIM} sha256 {_sha256(folder / f'{AIM}.sijp')[:12]}" in tail


def test_json_output_names_the_set_and_batch_lines_have_the_same_shape(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    code, out, _ = _run(capsys, "check", APPROVABLE, "--format", "json", "--policies", folder)
    assert code == 0
    data = json.loads(out)
    assert data["policy_set"] == {"path": str(folder.resolve()), "origin": "--policies"}
    aim = next(r for r in data["results"] if r["policy"] == AIM)
    assert aim["policy_version"]["source_sha256"] == _sha256(folder / f"{AIM}.sijp")
    out_file = tmp_path / "out.jsonl"
    code, _, err = _run(capsys, "batch", APPROVABLE, "--out", out_file, "--policies", folder)
    assert code == 0, err
    line = json.loads(out_file.read_text().splitlines()[0])
    assert line == data


def test_the_letter_and_the_review_name_the_set(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    for command in ("missing", "explain"):
        code, out, _ = _run(
            capsys, command, APPROVABLE, "--format", "markdown", "--policies", folder
        )
        assert code == 0
        assert "Policy set: " in out and "(--policies)" in out


def test_policy_files_named_one_by_one_say_so(capsys):
    code, out, _ = _run(
        capsys, "check", APPROVABLE, "--format", "json", "--policy-file", BUNDLE / f"{AIM}.sijp"
    )
    assert code == 0
    assert json.loads(out)["policy_set"] == {"path": None, "origin": "--policy-file"}


def test_policies_and_policy_file_together_are_refused(tmp_path, capsys):
    code, _, err = _run(
        capsys,
        "check",
        APPROVABLE,
        "--policies",
        BUNDLE,
        "--policy-file",
        BUNDLE / f"{AIM}.sijp",
    )
    assert code == 2 and "give one" in err


# ------------------------------------------------------------------ compile --check and --write
def test_compile_check_reports_not_compiled_apart_from_stale(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    code, out, _ = _run(capsys, "compile", "--check", "--policies", folder)
    assert code == 0 and "up to date" in out
    (folder / "caresource_sijf_2026.lp").unlink()
    _aim_with_stricter_block(folder)
    code, out, err = _run(capsys, "compile", "--check", "--policies", folder)
    assert code == 1
    assert f"not compiled: {folder.resolve() / 'caresource_sijf_2026.lp'} does not exist" in err
    assert f"stale: {folder.resolve() / (AIM + '.lp')} differs" in err
    assert "caresource_sijf_2026.lp differs" not in err
    code, out, err = _run(capsys, "compile", "--write", "--policies", folder)
    assert code == 0 and out.count("wrote ") == 2
    assert (folder / "caresource_sijf_2026.lp").is_file()
    assert (folder / f"{AIM}.lp").read_bytes() != (BUNDLE / f"{AIM}.lp").read_bytes()
    code, out, _ = _run(capsys, "compile", "--check", "--policies", folder)
    assert code == 0


def test_compile_write_leaves_the_installed_bundle_alone(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    before = {p.name: p.read_bytes() for p in BUNDLE.glob("*.lp")}
    _aim_with_stricter_block(folder)
    code, _, _ = _run(capsys, "compile", "--write", "--policies", folder)
    assert code == 0
    assert {p.name: p.read_bytes() for p in BUNDLE.glob("*.lp")} == before


# ------------------------------------------------------------------ duplicate policies
def test_two_files_with_one_policy_id_and_version_are_an_error(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    shutil.copy(folder / f"{AIM}.sijp", folder / "aim_copy.sijp")
    with pytest.raises(SijfaspError) as raised:
        set_policies(discover(folder))
    message = raised.value.diagnostics[0].message
    assert f"policy '{AIM}'" in message
    assert f"{AIM}.sijp" in message and "aim_copy.sijp" in message
    code, _, err = _run(capsys, "check", APPROVABLE, "--policies", folder)
    assert code == 2 and "aim_copy.sijp" in err


def test_one_id_with_two_effective_dates_is_two_versions(tmp_path):
    folder = _copy_set(tmp_path)
    text = (folder / f"{AIM}.sijp").read_text()
    assert "effective 2022-09-11" in text
    (folder / "aim_copy.sijp").write_text(
        text.replace("effective 2022-09-11", "effective 2023-01-01")
    )
    loaded = set_policies(discover(folder))
    assert [p.policy.id for p in loaded].count(AIM) == 2


# ------------------------------------------------------------------ an edit takes effect at once
def _subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != policy_set.ENVIRONMENT_VARIABLE}
    return subprocess.run(
        [sys.executable, "-m", "sijfasp", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_an_edit_in_a_checkout_changes_the_next_check(tmp_path):
    checkout = tmp_path / "checkout"
    folder = _copy_set(checkout)
    args = ["check", str(APPROVABLE), "--format", "json"]
    before = json.loads(_subprocess(args, checkout).stdout)
    assert before["policy_set"]["origin"] == Origin.WORKING_DIRECTORY
    assert before["policy_set"]["path"] == str(folder.resolve())
    assert {r["policy"]: r["determination"] for r in before["results"]}[AIM] == "approvable"
    _aim_with_stricter_block(folder)
    after = json.loads(_subprocess(args, checkout).stdout)
    determinations = {r["policy"]: r["determination"] for r in after["results"]}
    assert determinations[AIM] == "not_met"
    assert determinations["caresource_sijf_2026"] == "approvable"
    checked = _subprocess(["compile", "--check"], checkout)
    assert checked.returncode == 1 and "stale:" in checked.stderr
