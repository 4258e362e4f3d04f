"""Which policy set a run uses (--policies, SIJFASP_POLICIES, found upwards, installed), the set
and hashes named in the output, compile --check on the set in use, duplicate policies, and
vocabulary extensions of one policy that do not leak into the others."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sijfasp.cli.main import main
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.core.resources import policies_dir
from sijfasp.policies import policy_set
from sijfasp.policies.loading import set_policies
from sijfasp.policies.policy_set import Origin, discover

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


@pytest.mark.slow
def test_every_command_that_loads_policies_takes_the_option(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    # One test file is enough to show `test` reads the named set (the bundled files are all run
    # by tests/test_policytests.py).
    for test_file in (folder / "tests").glob("*.tests.yaml"):
        if test_file.name != "caresource_sijf_2026.boundaries.tests.yaml":
            test_file.unlink()
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


@pytest.mark.slow
def test_the_option_may_come_before_the_command(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    _aim_with_stricter_block(folder)
    code, out, _ = _run(capsys, "--policies", folder, "check", APPROVABLE, "--policy", AIM)
    assert code == 0
    # The text names how the set was chosen, never its folder (JSON has the path).
    assert "not met" in out and "policies: named with --policies;" in out
    assert str(folder.resolve()) not in " ".join(out.split())
    # The same folder on both sides is one choice; two different ones are refused.
    code, _, _ = _run(capsys, "--policies", folder, "policies", "--policies", folder)
    assert code == 0
    with pytest.raises(SystemExit) as stopped:
        _run(capsys, "--policies", folder, "policies", "--policies", tmp_path)
    assert stopped.value.code == 2
    assert "given twice with different folders" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        _run(capsys, "--policies", folder, "fmt", folder / f"{AIM}.sijp")
    assert stopped.value.code == 2
    assert "--policies does not apply to 'fmt'" in capsys.readouterr().err


# ------------------------------------------------------------------ the set named in output
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_text_output_names_the_set_and_each_version(tmp_path, capsys):
    """The closing line says how the set was chosen and each policy's version with a short id
    of its text: no folder, no full hash (however long the folder's path, whatever wraps)."""
    folder = _copy_set(tmp_path)
    code, out, _ = _run(capsys, "check", APPROVABLE, "--policies", folder)
    assert code == 0
    tail = " ".join(out.rsplit("\npolicies: ", 1)[1].split())
    assert tail.startswith("named with --policies;")
    short = _sha256(folder / f"{AIM}.sijp")[:8]
    assert re.search(rf"AIM SIJF 2022 version [\d-]+ \(text {short}\)", tail), tail
    assert str(folder.resolve()) not in " ".join(out.split())
    assert _sha256(folder / f"{AIM}.sijp") not in out


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
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


@pytest.mark.slow
def test_the_letter_and_the_review_name_the_set(tmp_path, capsys):
    folder = _copy_set(tmp_path)
    for command in ("missing", "explain"):
        code, out, _ = _run(
            capsys, command, APPROVABLE, "--format", "markdown", "--policies", folder
        )
        assert code == 0
        short = _sha256(folder / f"{AIM}.sijp")[:8]
        assert f"text {short})" in out and str(folder.resolve()) not in out
        if command == "explain":
            assert "Policies: named with --policies;" in out


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


def test_compile_write_keeps_each_version_in_its_own_file(tmp_path, capsys):
    """Several versions of one policy in a set: each .lp is compiled from its own .sijp."""
    folder = _copy_set(tmp_path)
    assert len({p.stem.split("_v")[0] for p in folder.glob(f"{AIM}*.sijp")}) == 1
    code, out, _ = _run(capsys, "compile", "--write", "--policies", folder)
    assert code == 0 and "wrote" not in out
    for source in folder.glob("*.sijp"):
        compiled = source.with_suffix(".lp").read_text(encoding="utf-8")
        assert f"Generated by sijfasp from {source.name};" in compiled, source.name


@pytest.mark.slow
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
    bundled = len(list(BUNDLE.glob(f"{AIM}*.sijp")))
    assert [p.policy.id for p in loaded].count(AIM) == bundled + 1


# ------------------------------------------------------------------ an edit takes effect at once
def _subprocess(
    args: list[str], cwd: Path, policies: Path | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != policy_set.ENVIRONMENT_VARIABLE}
    if policies is not None:
        env[policy_set.ENVIRONMENT_VARIABLE] = str(policies)
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


# ------------------------------------------------------------------ a third policy, its own words
THIRD = "thirdpayer_sijf_2025"
EXTENSION = """\
# Items only the third payer's policy reads.
vocabulary thirdpayer_extra "What only the third payer's policy reads"

finding transfixing_device_planned: bool {
  means "A transfixing device is planned"
  ask "Document whether a transfixing device is planned"
  cost 1
}

request_field side: choice {unspecified} { extends }

record therapy { extends
  field kind: choice {yoga} { extends }
}
"""
THIRD_POLICY = """\
# A third payer's policy, with its own vocabulary additions.
import "vocabulary.sijv"
import "thirdpayer_extra.sijv"

policy thirdpayer_sijf_2025 {
  payer     "Third Payer"
  title     "Sacroiliac Joint Fusion"
  document  "Medical Policy"
  effective 2025-01-01
  cite      "TP 2025"
}

service percutaneous_sij_fusion cpt 27279 [1] "Percutaneous SIJ fusion"

criteria for percutaneous_sij_fusion {
  pain [1.a] "Pain for at least 6 months": pain_duration_months >= 6
  transfixing [1.b] "A transfixing device is planned": transfixing_device_planned is true
  yoga_course [1.c] "A course of yoga": at least 1 therapy where kind is yoga
}
"""


def _third_set(tmp_path: Path, extension: str = EXTENSION) -> Path:
    folder = _copy_set(tmp_path)
    (folder / "thirdpayer_extra.sijv").write_text(extension, encoding="utf-8")
    (folder / f"{THIRD}.sijp").write_text(THIRD_POLICY, encoding="utf-8")
    return folder


def _extended_case(tmp_path: Path, payer: str | None = None, finding: str = "") -> Path:
    """The approvable example with the third policy's finding and a yoga course added."""
    text = APPROVABLE.read_text(encoding="utf-8")
    text = text.replace(
        "findings:\n", f"findings:\n  {finding or 'transfixing_device_planned'}: true\n", 1
    )
    text = text.replace(
        "  therapy:\n", "  therapy:\n    - {kind: yoga, start: 2025-06-01, end: 2025-09-01}\n", 1
    )
    if payer:
        text = f"payer: {payer}\n" + text
    path = tmp_path / "extended.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _results(out: str) -> dict[str, dict]:
    return {r["policy"]: r for r in json.loads(out)["results"]}


def _bundled_determinations(case: Path, capsys) -> dict[str, str]:
    """The determinations of the bundled set alone, whatever policies it holds."""
    code, out, err = _run(capsys, "check", case, "--format", "json", "--policies", BUNDLE)
    assert code == 0, err
    return {p: r["determination"] for p, r in _results(out).items()}


@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_a_third_policy_with_its_own_vocabulary_compiles_lints_and_is_judged(tmp_path, capsys):
    folder = _third_set(tmp_path)
    code, out, err = _run(capsys, "compile", "--check", "--policies", folder)
    assert code == 1 and f"not compiled: {folder.resolve() / (THIRD + '.lp')}" in err
    code, out, _ = _run(capsys, "compile", "--write", "--policies", folder)
    assert code == 0 and out.splitlines() == [f"wrote {folder.resolve() / (THIRD + '.lp')}"]
    for name in ("aim_sijf_2022.lp", "caresource_sijf_2026.lp"):
        assert (folder / name).read_bytes() == (BUNDLE / name).read_bytes()
    code, out, err = _run(capsys, "lint", "--policies", folder)
    files = len(list(folder.glob("*.sijp")))
    assert code == 0 and out == f"{files} policy files: no errors, no warnings\n", err
    code, out, _ = _run(capsys, "lint", folder / "thirdpayer_extra.sijv")
    assert code == 0

    case = _extended_case(tmp_path)
    code, out, err = _run(capsys, "explain", case, "--format", "json", "--policies", folder)
    assert code == 0, err
    extended = _results(out)
    assert extended[THIRD]["determination"] == "approvable"
    third_text = json.dumps(extended[THIRD])
    assert "transfixing_device_planned" in third_text and "yoga" in third_text
    # The extension it was judged with is traced by its hash, as the policy and vocabulary are.
    extension = folder / "thirdpayer_extra.sijv"
    assert extended[THIRD]["policy_version"]["extension_sha256"] == {
        extension.name: _sha256(extension)
    }
    assert extended[AIM]["policy_version"]["extension_sha256"] == {}
    # The other two never see the third policy's items, and judge exactly as without them.
    code, out, _ = _run(capsys, "explain", APPROVABLE, "--format", "json", "--policies", BUNDLE)
    plain = _results(out)
    for policy in (AIM, "caresource_sijf_2026"):
        text = json.dumps(extended[policy])
        assert "yoga" not in text and "transfixing" not in text
        assert extended[policy] == plain[policy]


@pytest.mark.slow
def test_without_its_finding_the_third_policy_is_incomplete_and_the_others_unchanged(
    tmp_path, capsys
):
    folder = _third_set(tmp_path)
    code, out, err = _run(capsys, "check", APPROVABLE, "--format", "json", "--policies", folder)
    assert code == 0, err
    determinations = {p: r["determination"] for p, r in _results(out).items()}
    assert determinations.pop(THIRD) == "incomplete"
    assert determinations == _bundled_determinations(APPROVABLE, capsys)


def test_an_item_no_policy_knows_is_still_an_error_with_a_did_you_mean(tmp_path, capsys):
    folder = _third_set(tmp_path)
    case = _extended_case(tmp_path, finding="transfixing_device_planed")
    code, _, err = _run(capsys, "check", case, "--policies", folder)
    assert code == 2
    assert "unknown finding 'transfixing_device_planed'" in err
    assert "did you mean 'transfixing_device_planned'?" in err


@pytest.mark.slow
def test_an_extension_item_is_refused_when_the_case_names_another_payer(tmp_path, capsys):
    folder = _third_set(tmp_path)
    case = _extended_case(tmp_path, payer="aim")
    code, _, err = _run(capsys, "check", case, "--policies", folder)
    assert code == 2
    assert "unknown finding 'transfixing_device_planned'" in err
    assert f"this case is judged by {AIM}" in err
    assert "found the text 'yoga'" in err
    case = _extended_case(tmp_path, payer="thirdpayer")
    code, out, err = _run(capsys, "check", case, "--format", "json", "--policies", folder)
    assert code == 0, err
    assert list(_results(out)) == [THIRD]


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_batch_reads_a_case_with_extension_items_as_check_does(tmp_path, capsys):
    folder = _third_set(tmp_path)
    case = _extended_case(tmp_path)
    code, out, _ = _run(capsys, "check", case, "--format", "json", "--policies", folder)
    assert code == 0
    out_file = tmp_path / "out.jsonl"
    code, _, err = _run(capsys, "batch", case, "--out", out_file, "--policies", folder)
    assert code == 0, err
    assert json.loads(out_file.read_text()) == json.loads(out)


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        (
            'finding vas_score: number 0..10 { means "x" ask "y" }\n',
            "'vas_score' is already declared as a finding by the vocabulary this one extends "
            "(at policies_asp/vocabulary.sijv:",
        ),
        (
            "record therapy { extends\n  field start: date { extends }\n}\n",
            "field 'therapy.start' has the type date: only a choice or a set can be extended",
        ),
        (
            "finding imaging_modality: choice {spect} { extends }\n",
            "'imaging_modality' is not a finding of the vocabulary this one extends",
        ),
        (
            "request_field side: choice {left} { extends }\n",
            "request field 'side' already has the value left",
        ),
        (
            'request_field cpt_code: choice {c27278, c27279} { required means "x" ask "y" }\n',
            "request_field 'cpt_code' of an extension cannot be required",
        ),
        (
            'record therapy { extends\n  field hours: number 0..100 { required means "x" }\n}\n',
            "field 'therapy.hours' added by an extension cannot be required",
        ),
        (
            'finding side_note: bool { extends means "x" }\n',
            "unknown property 'means' on the extension of finding 'side_note'",
        ),
    ],
)
@pytest.mark.slow  # a few seconds; the full tier runs it
def test_an_extension_adds_and_never_redeclares(tmp_path, capsys, monkeypatch, addition, expected):
    folder = _third_set(tmp_path, EXTENSION + "\n" + addition)
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "lint", "--policies", folder)
    assert code == 2
    assert expected in err, err
    assert "policies_asp/thirdpayer_extra.sijv:" in err


def test_two_policies_that_declare_one_item_two_ways_cannot_judge_one_case(tmp_path, capsys):
    folder = _third_set(tmp_path)
    fourth = THIRD_POLICY.replace(THIRD, "fourthpayer_sijf_2025").replace(
        "thirdpayer_extra.sijv", "fourthpayer_extra.sijv"
    )
    (folder / "fourthpayer_sijf_2025.sijp").write_text(
        fourth.replace("transfixing_device_planned is true", "transfixing_device_planned >= 1")
    )
    (folder / "fourthpayer_extra.sijv").write_text(
        EXTENSION.replace("thirdpayer_extra", "fourthpayer_extra").replace(
            "transfixing_device_planned: bool", "transfixing_device_planned: number 0..3"
        )
    )
    code, _, err = _run(capsys, "check", _extended_case(tmp_path), "--policies", folder)
    assert code == 2
    assert "'transfixing_device_planned' is declared differently by two vocabularies" in err


def test_a_policy_sees_a_case_without_the_items_of_other_vocabularies(tmp_path):
    from sijfasp.cases.case import restrict_case, validate_case
    from sijfasp.cases.reader import read_case_file

    loaded = {p.policy.id: p for p in set_policies(discover(_third_set(tmp_path)))}
    data = read_case_file(_extended_case(tmp_path))
    data["request"]["side"] = "unspecified"
    case = validate_case(data, loaded[THIRD].policy.vocabulary, "extended.yaml")
    assert restrict_case(case, loaded[THIRD].policy.vocabulary) is case
    aim = restrict_case(case, loaded[AIM].policy.vocabulary)
    assert "transfixing_device_planned" not in aim.findings
    assert "side" not in aim.request and aim.service == case.service
    assert [r.values["kind"] for r in aim.records if r.kind == "therapy"] == [
        r.values["kind"] for r in case.records if r.kind == "therapy" and r.index > 0
    ]
    # Records keep their index: evidence still points at the entry of the case file.
    assert [r.index for r in aim.records if r.kind == "therapy"] == [1, 2, 3]


@pytest.mark.slow
def test_the_environment_variable_and_the_option_in_a_real_run(tmp_path):
    checkout = tmp_path / "checkout"
    _copy_set(checkout)
    other = _copy_set(tmp_path, "other")
    _aim_with_stricter_block(other)
    args = ["check", str(APPROVABLE), "--format", "json"]
    by_env = json.loads(_subprocess(args, checkout, policies=other).stdout)
    assert by_env["policy_set"] == {"path": str(other.resolve()), "origin": "SIJFASP_POLICIES"}
    assert {r["policy"]: r["determination"] for r in by_env["results"]}[AIM] == "not_met"
    by_option = json.loads(
        _subprocess([*args, "--policies", str(BUNDLE)], checkout, policies=other).stdout
    )
    assert by_option["policy_set"] == {"path": str(BUNDLE.resolve()), "origin": "--policies"}
    missing = _subprocess(args, checkout, policies=tmp_path / "nowhere")
    assert missing.returncode == 2 and "named by SIJFASP_POLICIES does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.slow
def test_an_edited_vocabulary_is_read_afresh_in_one_process(tmp_path):
    folder = _third_set(tmp_path)
    before = {p.policy.id: p for p in set_policies(discover(folder))}[THIRD]
    assert "pilates" not in before.policy.vocabulary.record("therapy").field("kind").type.values
    extension = folder / "thirdpayer_extra.sijv"
    extension.write_text(extension.read_text().replace("{yoga}", "{yoga, pilates}"))
    os.utime(extension, ns=(1, 1))  # a new stamp even within the file system's time resolution
    after = {p.policy.id: p for p in set_policies(discover(folder))}[THIRD]
    assert "pilates" in after.policy.vocabulary.record("therapy").field("kind").type.values


@pytest.mark.slow
def test_a_service_added_by_an_extension_is_not_applicable_to_the_others(tmp_path, capsys):
    extension = EXTENSION + (
        "\nrequest_field service: choice {intra_articular_sij_fusion} { extends }\n"
    )
    folder = _third_set(tmp_path, extension)
    policy = (folder / f"{THIRD}.sijp").read_text()
    policy = policy.replace(
        "criteria for percutaneous_sij_fusion {",
        'service intra_articular_sij_fusion cpt 27278 [2] "Intra-articular fusion"\n\n'
        "criteria for percutaneous_sij_fusion, intra_articular_sij_fusion {",
    )
    (folder / f"{THIRD}.sijp").write_text(policy)
    case = _extended_case(tmp_path)
    case.write_text(
        case.read_text().replace(
            "service: percutaneous_sij_fusion", "service: intra_articular_sij_fusion"
        )
    )
    code, out, err = _run(capsys, "check", case, "--format", "json", "--policies", folder)
    assert code == 0, err
    determinations = {p: r["determination"] for p, r in _results(out).items()}
    assert determinations.pop(THIRD) == "approvable"
    assert set(determinations) == set(_bundled_determinations(APPROVABLE, capsys))
    assert set(determinations.values()) == {"not_applicable"}


@pytest.mark.slow
def test_an_installed_copy_uses_the_checkout_it_runs_in(tmp_path):
    """The layout `pip install .` makes (grammar and policies inside the package), run from a
    checkout whose policy was edited: the edit decides, and compile --check calls it stale."""
    site = tmp_path / "site"
    shutil.copytree(
        REPO / "sijfasp", site / "sijfasp", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "grammar", site / "sijfasp" / "grammar")
    shutil.copytree(BUNDLE, site / "sijfasp" / "policies_asp")
    checkout = tmp_path / "checkout"
    _aim_with_stricter_block(_copy_set(checkout))
    env = {k: v for k, v in os.environ.items() if k != policy_set.ENVIRONMENT_VARIABLE}
    env["PYTHONPATH"] = str(site)

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sijfasp", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    args = ("check", str(APPROVABLE), "--format", "json", "--policy", AIM)
    inside = json.loads(run(*args, cwd=checkout).stdout)
    assert inside["policy_set"]["origin"] == Origin.WORKING_DIRECTORY
    assert inside["results"][0]["determination"] == "not_met"
    outside = json.loads(run(*args, cwd=tmp_path).stdout)
    assert outside["policy_set"] == {
        "path": str((site / "sijfasp" / "policies_asp").resolve()),
        "origin": Origin.INSTALLED,
    }
    assert outside["results"][0]["determination"] == "approvable"
    checked = run("compile", "--check", cwd=checkout)
    assert checked.returncode == 1 and f"stale: {checkout.resolve()}" in checked.stderr
