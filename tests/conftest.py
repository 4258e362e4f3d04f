"""Shared test setup (tests/ is on the import path through pytest's `pythonpath` setting)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import support

_CACHE_HOME = tempfile.mkdtemp(prefix="sijfasp-test-cache-")

# Tests of half a second or more (command-line runs, policy sets loaded from a folder of their
# own, scans of every module) whose areas keep quicker tests in the quick tier: marked `slow`
# here, so `-m "not slow"` leaves them to the full tier. file -> test function names.
SLOW = {
    "test_case_loader.py": ["test_asp_like_case_id_is_carried_as_data"],
    "test_cold_start.py": [
        "test_data_classes_are_compiled_once_and_made_alike",
        "test_an_entry_others_may_write_is_not_read",
        "test_a_program_is_read_as_text_the_first_time_only",
        "test_entries_of_other_python_builds_beyond_the_last_few_go",
    ],
    "test_cpt_codes.py": ["test_an_unknown_code_exits_2_with_the_expected_codes"],
    "test_fhir_architecture.py": ["test_only_the_fhir_package_imports_the_fhir_libraries"],
    "test_letters.py": [
        "test_records_that_nearly_qualify_are_listed_with_what_they_miss",
        "test_a_request_before_the_effective_date_is_judged_only_when_the_version_is_chosen",
        "test_a_letter_without_a_payer_is_one_letter_per_payer",
        "test_blocks_that_failed_say_what_new_blocks_would_have_to_show",
    ],
    "test_policy_cache.py": ["test_an_edited_policy_is_loaded_afresh"],
    "test_policy_set.py": [
        "test_the_option_may_come_before_the_command",
        "test_a_service_added_by_an_extension_is_not_applicable_to_the_others",
        "test_an_extension_item_is_refused_when_the_case_names_another_payer",
        "test_without_its_finding_the_third_policy_is_incomplete_and_the_others_unchanged",
        "test_the_letter_and_the_review_name_the_set",
        "test_compile_write_leaves_the_installed_bundle_alone",
        "test_text_output_names_the_set_and_each_version",
        "test_an_edited_vocabulary_is_read_afresh_in_one_process",
    ],
    "test_policytests.py": [
        "test_update_drops_ids_the_policy_no_longer_has",
        "test_a_failure_shows_a_diff_and_exits_1",
        "test_a_need_holding_a_colon_unquoted_is_refused_with_the_quoted_form",
        "test_coverage_lists_what_was_never_exercised",
        "test_set_remove_and_add_change_a_copy_of_the_case",
    ],
    "test_prove.py": ["test_lint_exits_2_on_a_proven_error_and_0_on_a_warning"],
    "test_serve_units.py": ["test_the_server_stays_outside_the_core"],
}


def pytest_configure(config: pytest.Config) -> None:
    # The tests and the runs they start keep their caches (core/user_cache.py) in a folder of their
    # own, never in the user's cache directory; tests of the caches choose their own folders.
    # Parallel workers (pytest-xdist) share the folder of the run that started them, so the
    # bundled policies are compiled once per run rather than once per worker.
    os.environ.pop("SIJFASP_CACHE_DIR", None)
    if not hasattr(config, "workerinput"):
        os.environ["SIJFASP_TEST_CACHE_HOME"] = _CACHE_HOME
    os.environ["XDG_CACHE_HOME"] = os.environ.get("SIJFASP_TEST_CACHE_HOME", _CACHE_HOME)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        slow = SLOW.get(item.path.name, ())
        if not slow:
            continue
        # A renamed test would silently rejoin the quick tier: name it.
        if gone := [name for name in slow if not hasattr(getattr(item, "module", None), name)]:
            raise pytest.UsageError(
                f"tests/conftest.py SLOW names what {item.path.name} lacks: {gone}"
            )
        if getattr(item, "originalname", item.name) in slow:
            item.add_marker(pytest.mark.slow)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_HOME, ignore_errors=True)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A cache folder of the test's own (SIJFASP_CACHE_DIR), with caching on."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SIJFASP_CACHE_DIR", str(folder))
    monkeypatch.delenv("SIJFASP_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def base() -> dict:
    """A fresh copy of the fully documented example case."""
    return support.base_case()
