"""Loaded policies are cached between runs (policies/cache.py): a hit is the same as a fresh load,
any change to what a load reads is a miss, and a bad or unusable cache only costs a load."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import support

from sijfasp.api import evaluate_case
from sijfasp.cases.reader import read_case_file
from sijfasp.cases.vocabulary import case_under
from sijfasp.core import user_cache
from sijfasp.core.kinds import Determination
from sijfasp.policies import cache as policy_cache
from sijfasp.policies import loading as policies
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.policies.loading import load_policy

BUNDLE = support.REPO_ROOT / "policies_asp"
POLICY_FILES = ("aim_sijf_2022.sijp", "aim_sijf_2022_v2022-06-12.sijp", "caresource_sijf_2026.sijp")
EXAMPLES = support.REPO_ROOT / "examples" / "cases"
# Between them, every determination (of a version in effect).
DECIDED = (
    "approvable.yaml",
    "fibromyalgia.yaml",
    "odi_missing.yaml",
    "open_fusion_trauma.yaml",
    "vas_4.yaml",
)


@pytest.fixture
def policy_folder(tmp_path) -> Path:
    """A copy of the bundled policies, free to edit."""
    folder = tmp_path / "policies"
    folder.mkdir()
    for name in (*POLICY_FILES, "vocabulary.sijv"):
        shutil.copy(BUNDLE / name, folder / name)
    return folder


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("policy-*.pickle"))


def _fresh(path: Path, monkeypatch, shown: str | None = None) -> LoadedPolicy:
    with monkeypatch.context() as patch:
        patch.setenv("SIJFASP_NO_CACHE", "1")
        return load_policy(path, shown)


def _no_fresh_loads(monkeypatch) -> None:
    def refuse(*_: object) -> LoadedPolicy:
        raise AssertionError("loaded afresh, not from the cache")

    monkeypatch.setattr(policies, "_load", refuse)


def _counting_fresh_loads(monkeypatch) -> list[Path]:
    loads: list[Path] = []
    real = policies._load

    def counted(path: Path, *rest: object) -> LoadedPolicy:
        loads.append(path)
        return real(path, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(policies, "_load", counted)
    return loads


def _means(loaded: LoadedPolicy) -> str:
    fact = loaded.policy.vocabulary.fact("request", "service")
    assert fact is not None
    return fact.means


@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_a_hit_equals_a_fresh_load_and_decides_the_same(cache, monkeypatch):
    paths = [BUNDLE / name for name in POLICY_FILES]
    written = [load_policy(path, path.name) for path in paths]
    assert len(_entries(cache)) == len(paths)
    fresh = [_fresh(path, monkeypatch, path.name) for path in paths]
    with monkeypatch.context() as patch:
        _no_fresh_loads(patch)
        hits = [load_policy(path, path.name) for path in paths]
    assert hits == fresh == written
    # (Not their reprs: a set's order differs between a built and an unpickled one, as it
    # does between two runs.)
    assert [h.compiled.program for h in hits] == [f.compiled.program for f in fresh]
    seen = set()
    for name in DECIDED:
        example = EXAMPLES / name
        data = read_case_file(example)
        decided = []
        for loaded in (hits, fresh):
            case, chosen = case_under(data, loaded, example.name)
            decided.append(evaluate_case(chosen, case))
        assert decided[0] == decided[1], example.name
        assert decided[0].results, example.name
        seen |= {r.determination for r in decided[0].results}
    assert seen == set(Determination) - {Determination.NO_VERSION}


@pytest.mark.slow
def test_an_edited_policy_is_loaded_afresh(cache, policy_folder, monkeypatch):
    path = policy_folder / "aim_sijf_2022.sijp"
    before = load_policy(path)
    (entry,) = _entries(cache)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('cite      "AIM SIJF 2022"', 'cite      "AIM 2022"'), "utf-8")
    loads = _counting_fresh_loads(monkeypatch)
    after = load_policy(path)
    assert loads == [path]
    assert before.policy.cite == "AIM SIJF 2022" and after.policy.cite == "AIM 2022"
    (replaced,) = _entries(cache)  # the earlier text's entry is gone
    assert replaced != entry
    assert load_policy(path) == after and loads == [path]
    assert after == _fresh(path, monkeypatch)


def test_an_edited_vocabulary_is_read_afresh(cache, policy_folder, monkeypatch):
    path = policy_folder / "aim_sijf_2022.sijp"
    vocabulary = policy_folder / "vocabulary.sijv"
    load_policy(path)
    old = 'means "The procedure requested"'
    assert old in vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(
        vocabulary.read_text(encoding="utf-8").replace(old, 'means "The procedure asked for"'),
        "utf-8",
    )
    loads = _counting_fresh_loads(monkeypatch)
    after = load_policy(path)
    assert loads == [path]
    assert _means(after) == "The procedure asked for"
    assert after == _fresh(path, monkeypatch)


def test_the_same_text_elsewhere_is_another_entry(cache, policy_folder, tmp_path, monkeypatch):
    # Imports are found next to the policy: a copy in another folder reads another vocabulary.
    other = tmp_path / "other"
    shutil.copytree(policy_folder, other)
    vocabulary = other / "vocabulary.sijv"
    old = 'means "The procedure requested"'
    vocabulary.write_text(
        vocabulary.read_text(encoding="utf-8").replace(old, 'means "Asked for"'), "utf-8"
    )
    load_policy(policy_folder / "aim_sijf_2022.sijp", "aim.sijp")
    copy = load_policy(other / "aim_sijf_2022.sijp", "aim.sijp")
    assert _means(copy) == "Asked for"
    assert len(_entries(cache)) == 2


def test_a_code_change_is_a_miss(cache, monkeypatch):
    path = BUNDLE / "caresource_sijf_2026.sijp"
    load_policy(path)
    monkeypatch.setattr(policy_cache, "code_digest", lambda: "another sijfasp")
    loads = _counting_fresh_loads(monkeypatch)
    load_policy(path)
    assert loads == [path]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a cache entry\n",
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[: len(policy_cache.FORMAT) + 10],
        lambda data: b"",
        lambda data: policy_cache.FORMAT + pickle.dumps(("key", (), "not a policy")),
        lambda data: data.replace(b"sijfasp-loaded-policy 1", b"sijfasp-loaded-policy 0"),
    ],
    ids=["garbage", "truncated", "header-only", "empty", "foreign", "older-format"],
)
@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_a_damaged_entry_is_ignored_and_rewritten(cache, monkeypatch, damage):
    path = BUNDLE / "aim_sijf_2022.sijp"
    expected = load_policy(path, path.name)
    (entry,) = _entries(cache)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))
    loads = _counting_fresh_loads(monkeypatch)
    assert load_policy(path, path.name) == expected
    assert loads == [path]
    assert entry.read_bytes() == good
    assert load_policy(path, path.name) == expected and loads == [path]


def test_an_entry_that_would_run_code_is_refused(cache, tmp_path, monkeypatch):
    path = BUNDLE / "aim_sijf_2022.sijp"
    expected = load_policy(path, path.name)
    (entry,) = _entries(cache)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    key = policy_cache._names(path, policies.read_source(path, path.name))[1]
    entry.write_bytes(policy_cache.FORMAT + pickle.dumps((key, (), Payload())))
    assert load_policy(path, path.name) == expected
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no file owners to check")
def test_an_entry_others_may_write_is_not_trusted(cache, monkeypatch):
    path = BUNDLE / "aim_sijf_2022.sijp"
    load_policy(path, path.name)
    (entry,) = _entries(cache)
    entry.chmod(0o666)
    loads = _counting_fresh_loads(monkeypatch)
    load_policy(path, path.name)
    assert loads == [path]
    assert not _entries(cache)[0].stat().st_mode & 0o077  # rewritten, the user's own


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no file owners to check")
def test_a_cache_folder_others_may_write_is_not_used(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    path = BUNDLE / "aim_sijf_2022.sijp"
    loads = _counting_fresh_loads(monkeypatch)
    load_policy(path, path.name)
    load_policy(path, path.name)
    assert loads == [path, path]
    assert not list(cache.iterdir())


def test_a_read_only_cache_still_serves_and_never_fails(cache, monkeypatch):
    path = BUNDLE / "aim_sijf_2022.sijp"
    expected = load_policy(path, path.name)
    cache.chmod(0o500)
    try:
        with monkeypatch.context() as patch:
            _no_fresh_loads(patch)
            assert load_policy(path, path.name) == expected
        other = BUNDLE / "caresource_sijf_2026.sijp"
        assert load_policy(other, other.name) == _fresh(other, monkeypatch, other.name)
        if os.geteuid() != 0:  # the superuser writes to any folder
            assert len(_entries(cache)) == 1
    finally:
        cache.chmod(0o700)


def test_a_failed_write_leaves_no_file(cache, monkeypatch):
    path = BUNDLE / "aim_sijf_2022.sijp"

    def refuse(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(policy_cache.os, "replace", refuse)
    assert load_policy(path, path.name) == _fresh(path, monkeypatch, path.name)
    assert not list(cache.iterdir())


def test_a_cache_folder_that_cannot_be_made_is_no_cache(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("SIJFASP_CACHE_DIR", str(blocked / "sijfasp"))
    path = BUNDLE / "aim_sijf_2022.sijp"
    assert load_policy(path, path.name) == _fresh(path, monkeypatch, path.name)


def test_no_cache_when_turned_off(cache, monkeypatch):
    monkeypatch.setenv("SIJFASP_NO_CACHE", "1")
    path = BUNDLE / "aim_sijf_2022.sijp"
    loads = _counting_fresh_loads(monkeypatch)
    load_policy(path, path.name)
    load_policy(path, path.name)
    assert loads == [path, path]
    assert not cache.exists()


def test_old_entries_beyond_the_limit_go(cache, monkeypatch):
    monkeypatch.setattr(policy_cache, "MAX_ENTRIES", 2)
    for name in POLICY_FILES:
        load_policy(BUNDLE / name, name)
    assert len(_entries(cache)) == 2


def test_where_the_cache_folder_is(tmp_path, monkeypatch):
    monkeypatch.delenv("SIJFASP_NO_CACHE", raising=False)
    monkeypatch.delenv("SIJFASP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache.cache_dir() == tmp_path / "xdg" / "sijfasp"
    assert not (tmp_path / "xdg" / "sijfasp").stat().st_mode & 0o077
    monkeypatch.setenv("SIJFASP_CACHE_DIR", str(tmp_path / "chosen"))
    assert user_cache.cache_dir() == tmp_path / "chosen"
    monkeypatch.setenv("SIJFASP_NO_CACHE", "1")
    assert user_cache.cache_dir() is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no file owners to check")
def test_no_cache_of_any_kind_in_a_folder_others_may_write(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SIJFASP_CACHE_DIR", str(shared))
    monkeypatch.delenv("SIJFASP_NO_CACHE", raising=False)
    assert user_cache.cache_dir() is None  # neither the parser's nor the policies'


def test_a_temporary_file_left_by_a_killed_run_goes(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    left = cache / ".policy-left.tmp"
    recent = cache / ".policy-writing.tmp"
    left.write_bytes(b"half an entry")
    recent.write_bytes(b"being written")
    os.utime(left, (0, 0))
    load_policy(BUNDLE / "aim_sijf_2022.sijp")
    assert not left.exists() and recent.exists()


# A check in a fresh process, printing on stderr the modules it imported.
CHECK = (
    "import sys; from sijfasp.cli import main as cli; status = cli.main(sys.argv[1:]); "
    "print(' '.join(sorted(sys.modules)), file=sys.stderr); sys.exit(status)"
)
UNUSED_BY_CHECK = {
    "sijfasp.batch",
    "sijfasp.authoring.prove",
    "sijfasp.authoring.semdiff",
    "sijfasp.authoring.witness",
    "sijfasp.authoring.diff_render",
    "sijfasp.language.formatter",
    "sijfasp.authoring.lsp",
    "sijfasp.authoring.policytests",
    "dask",
    "distributed",
}
# Needed only to load a policy afresh.
UNUSED_ON_A_HIT = {"sijfasp.language.parser", "lark"}


def _check_in_process(cache: Path) -> tuple[str, set[str]]:
    environment = {**os.environ, "SIJFASP_CACHE_DIR": str(cache)}
    environment.pop("SIJFASP_NO_CACHE", None)
    run = subprocess.run(
        [sys.executable, "-c", CHECK, "check", str(EXAMPLES / "approvable.yaml")],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return run.stdout, set(run.stderr.split())


@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_check_imports_only_what_it_uses(tmp_path):
    cache = tmp_path / "cache"
    cold, first = _check_in_process(cache)
    assert "sijfasp.api" in first  # the listing is real
    assert not first & UNUSED_BY_CHECK
    warm, second = _check_in_process(cache)
    assert not second & (UNUSED_BY_CHECK | UNUSED_ON_A_HIT)
    assert cold == warm
    assert "approvable" in warm
