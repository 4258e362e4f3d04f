"""Helpers shared by the policy tests: the example case, mutations, evaluation, and completion.

Cases are handled as plain dicts (the YAML shape of a case) so that a test reads as the
documentation it changes. Every mutation helper returns a deep copy and leaves its input alone.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import clingo
import pytest
import yaml

from sijfasp.api import Options
from sijfasp.api import evaluate as _evaluate
from sijfasp.authoring.witness import RecordFilters, Writer, record_filters
from sijfasp.cases.case import validate_case
from sijfasp.language.semantics import Vocabulary
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.policies.loading import bundled_policies
from sijfasp.results.results import MissingItem, NodeResult, PolicyResult
from sijfasp.solve import solver
from sijfasp.solve.batched import determine_many
from sijfasp.solve.case_facts import case_symbols

REPO_ROOT = Path(__file__).resolve().parent.parent

# A diagnostic block of the left joint as the examples document one, without its date and
# relief: `{**LEFT_BLOCK, "date": ..., "relief_percent": ...}`.
LEFT_BLOCK: dict[str, Any] = {
    "purpose": "diagnostic",
    "site": "sij_intra_articular",
    "side": "left",
    "image_guided": True,
    "contrast_enhanced": True,
    "agent": "local_anesthetic",
}

# Set by conftest.py from `--exhaustive`: the exhaustive tier runs each property test at its full
# number of examples, the main suite at a quarter of it (at least 10).
EXHAUSTIVE = False


def examples(full: int) -> int:
    """A property test's number of examples in the tier being run (see EXHAUSTIVE)."""
    return full if EXHAUSTIVE else max(10, full // 4)


EXAMPLES_DIR = REPO_ROOT / "examples" / "cases"
APPROVABLE_PATH = EXAMPLES_DIR / "approvable.yaml"

AIM = "aim_sijf_2022"
CARESOURCE = "caresource_sijf_2026"
POLICY_IDS = (AIM, CARESOURCE)

PERCUTANEOUS = "percutaneous_sij_fusion"
OPEN = "open_sij_fusion"
REVISION = "revision_sij_fusion"

DETERMINATIONS = ("not_applicable", "excluded", "approvable", "incomplete", "not_met")

# How many minimal sets the completion self-check takes per case and policy.
SELF_CHECK_SETS = 10
# How many leave-one-item-out solver calls it spends per case beyond the first set.
REMOVAL_BUDGET = 60

# How many choices among equally narrow added records the minimality check tries per item.
MAX_TIE_CHOICES = 8

# A sentinel for the mutation helpers: the key is removed (left undocumented).
REMOVE = object()


# ------------------------------------------------------------------ cases
def load_yaml(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.lru_cache(maxsize=1)
def _approvable() -> dict:
    return load_yaml(APPROVABLE_PATH)


def base_case() -> dict:
    """A fresh copy of examples/cases/approvable.yaml (approvable under both policies)."""
    return copy.deepcopy(_approvable())


def request_date(case: dict) -> dt.date:
    value = case["request"]["date"]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def days_before(case: dict, days: int) -> dt.date:
    """The date `days` days before the case's request date."""
    return request_date(case) - dt.timedelta(days=days)


def example_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def with_findings(case: dict, **values: Any) -> dict:
    """A copy with findings set; a value of REMOVE leaves that finding undocumented."""
    result = copy.deepcopy(case)
    findings = result.setdefault("findings", {}) or {}
    result["findings"] = findings
    for name, value in values.items():
        if value is REMOVE:
            findings.pop(name, None)
        else:
            findings[name] = value
    return result


def without_findings(case: dict, *names: str) -> dict:
    return with_findings(case, **dict.fromkeys(names, REMOVE))


def with_request(case: dict, **values: Any) -> dict:
    """A copy with request fields set; a value of REMOVE removes that field."""
    result = copy.deepcopy(case)
    for name, value in values.items():
        if value is REMOVE:
            result["request"].pop(name, None)
        else:
            result["request"][name] = value
    return result


def records_of(case: dict, kind: str) -> list[dict]:
    return list((case.get("records") or {}).get(kind) or [])


def with_records(case: dict, kind: str, records: Iterable[dict]) -> dict:
    """A copy whose `kind` records are replaced by `records` (an empty list removes them)."""
    result = copy.deepcopy(case)
    all_records = result.setdefault("records", {}) or {}
    result["records"] = all_records
    items = [copy.deepcopy(r) for r in records]
    if items:
        all_records[kind] = items
    else:
        all_records.pop(kind, None)
    return result


def add_records(case: dict, kind: str, *records: dict) -> dict:
    return with_records(case, kind, records_of(case, kind) + list(records))


def without_records(case: dict, kind: str, where: Callable[[dict], bool] | None = None) -> dict:
    """A copy without the `kind` records that `where` selects (all of them without `where`)."""
    kept = [r for r in records_of(case, kind) if where is not None and not where(r)]
    return with_records(case, kind, kept)


def update_records(case: dict, kind: str, where: Callable[[dict], bool], /, **values: Any) -> dict:
    """A copy where every selected `kind` record gets `values` (REMOVE deletes a field)."""
    updated = []
    for record in records_of(case, kind):
        record = copy.deepcopy(record)
        if where(record):
            for name, value in values.items():
                if value is REMOVE:
                    record.pop(name, None)
                else:
                    record[name] = value
        updated.append(record)
    return with_records(case, kind, updated)


def with_side(case: dict, side: str) -> dict:
    """A copy requested for `side`, with its SIJ imaging and joint injections of that side (the
    records the criteria tie to the joint to be fused); other records keep theirs."""
    case = with_request(case, side=side)
    case = update_records(case, "imaging", lambda r: r.get("region") == "sij", side=side)
    return update_records(
        case, "injection", lambda r: r.get("site") == "sij_intra_articular", side=side
    )


def request_only(
    service: str = PERCUTANEOUS, date: dt.date = dt.date(2026, 7, 15), **request: Any
) -> dict:
    """A case that documents nothing but the request."""
    return {"id": "request-only", "request": {"service": service, "date": date, **request}}


# ------------------------------------------------------------------ evaluation
@functools.lru_cache(maxsize=1)
def policies() -> dict[str, LoadedPolicy]:
    return {p.policy.id: p for p in bundled_policies()}


def loaded(policy_id: str) -> LoadedPolicy:
    return policies()[policy_id]


def vocabulary() -> Vocabulary:
    return loaded(AIM).policy.vocabulary


# The case id names a case but takes no part in its evaluation (case_symbols leaves it out, and
# a PolicyResult does not carry it), so cases differing only in id share one evaluation.
_KEY_ID = "test-case"


def _case_key(case: dict) -> str:
    """The case as canonical JSON (dates as ISO text, which the case format accepts), with
    the id replaced by one common id."""
    return json.dumps({**case, "id": _KEY_ID}, sort_keys=True, default=str)


@functools.lru_cache(maxsize=2048)
def _evaluate_cached(key: str, policy_id: str, enumerate: int) -> PolicyResult:
    checked = validate_case(json.loads(key), vocabulary(), "<test case>")
    return _evaluate(loaded(policy_id), checked, Options(enumerate=enumerate))


def evaluate(case: dict, policy_id: str, enumerate: int = 10) -> PolicyResult:
    """Check the case dict against the vocabulary and evaluate it under one bundled policy.

    Results are immutable and cached by the case's content, so tables that share a case
    evaluate it once.
    """
    return _evaluate_cached(_case_key(case), policy_id, enumerate)


_DETERMINED: dict[tuple[str, str], str] = {}
_DETERMINED_LIMIT = 8192


def _remember(key: str, policy_id: str, found: str) -> str:
    if len(_DETERMINED) >= _DETERMINED_LIMIT:
        _DETERMINED.clear()
    _DETERMINED[key, policy_id] = found
    return found


def _determination_of(key: str, policy_id: str) -> str:
    checked = validate_case(json.loads(key), vocabulary(), "<test case>")
    compiled = loaded(policy_id).compiled
    if not hasattr(solver, "_control"):  # fall back to the public call
        return str(solver.determine(compiled, case_symbols(checked)).determination)
    # The same program, options and optimum as sijfasp.solve.solver.determine; only the
    # determination atom is read off the model instead of copying every atom.
    control = solver._control(
        ["--opt-mode=opt", "--opt-strategy=usc"], compiled, case_symbols(checked)
    )
    control.ground([("base", []), ("decide", [])])
    found: list[str] = []

    def on_model(model: clingo.Model) -> None:
        found[:] = [
            d
            for d in DETERMINATIONS
            if model.contains(clingo.Function("determination", [clingo.Function(d)]))
        ]

    control.solve(on_model=on_model)
    assert len(found) == 1, found
    return found[0]


def determination(case: dict, policy_id: str) -> str:
    """Only the determination (the solver's optimum, without listing missing documentation)."""
    return determinations_of([case], policy_id)[0]


def determinations_of(cases: Iterable[dict], policy_id: str) -> list[str]:
    """The determination of each case, those not yet known found together in one grounding
    (sijfasp.solve.batched, which `sijfasp check` of several cases uses and whose equality with
    one case at a time tests/test_batched.py checks)."""
    keys = [_case_key(case) for case in cases]
    known = {k: _DETERMINED.get((k, policy_id)) for k in keys}
    unknown = sorted(k for k, found in known.items() if found is None)
    if len(unknown) == 1:
        known[unknown[0]] = _remember(
            unknown[0], policy_id, _determination_of(unknown[0], policy_id)
        )
    elif unknown:
        facts = [
            case_symbols(validate_case(json.loads(k), vocabulary(), "<test case>")) for k in unknown
        ]
        snapshots = determine_many(loaded(policy_id).compiled, facts)
        for k, snapshot in zip(unknown, snapshots, strict=True):
            known[k] = _remember(k, policy_id, str(snapshot.determination))
    return [known[k] or "" for k in keys]


def find_node(result: PolicyResult, node_id: str) -> NodeResult:
    stack = list(result.criteria)
    while stack:
        node = stack.pop()
        if node.id == node_id:
            return node
        stack.extend(node.children)
    raise KeyError(f"{node_id} is not in the criteria of {result.policy}/{result.service}")


def status(result: PolicyResult, node_id: str) -> str:
    return find_node(result, node_id).status


def subtree_ids(policy_id: str, node_id: str) -> set[str]:
    nodes = loaded(policy_id).compiled.nodes
    found, stack = set(), [node_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(nodes[current].children)
    return found


def cite(policy_id: str, node_id: str) -> str:
    lp = loaded(policy_id)
    return lp.compiled.cite(node_id, lp.policy.cite)


def keys(items: Iterable[MissingItem]) -> frozenset[str]:
    return frozenset(i.key for i in items)


def set_keys(result: PolicyResult) -> set[frozenset[str]]:
    return {keys(s) for s in result.missing}


# ------------------------------------------------------------------ completion
# Missing documentation is written into cases by sijfasp's own writer (witness.Writer, which
# `sijfasp diff` uses for its witnesses): the tests below check every set it writes against
# the solver, so the writer is held to what the sets mean too.
@functools.lru_cache(maxsize=4)
def writer(policy_id: str) -> Writer:
    return Writer(loaded(policy_id).compiled, vocabulary())


def filter_facts(policy_id: str) -> RecordFilters:
    """The record filters of a bundled policy, read from its compiled facts."""
    return record_filters(loaded(policy_id).compiled.program)


def tied_to_unknown_request(case: dict, policy_id: str, set_id: str) -> bool:
    """Whether no record of set `set_id` can be written: each of its filters ties a field to a
    request value the case does not document."""
    return writer(policy_id).tied_to_unknown_request(case, set_id)


def ties(case: dict, policy_id: str, key: str) -> int:
    """How many equally narrow records an added-record item can become (1 for the others)."""
    return writer(policy_id).ties(case, key)


def apply_missing_set(
    case: dict,
    policy_id: str,
    items: Iterable[MissingItem | str],
    choices: dict[str, int] | None = None,
    skip_unwritable: bool = False,
) -> dict:
    """Turn a set of missing documentation (MissingItems or their ASP keys) into documentation,
    in a copy of the case: see sijfasp/authoring/witness.py for what each item becomes. `choices` (item
    key -> index) picks among equally narrow records; `skip_unwritable` leaves out an added
    record tied to a request value the case does not document (the self-check leaves the guess
    of the side out)."""
    keys = [i if isinstance(i, str) else i.key for i in items]
    return writer(policy_id).apply(case, keys, choices, skip_unwritable)


def self_check(
    case: dict, policy_id: str, limit: int = SELF_CHECK_SETS, removal_budget: int = REMOVAL_BUDGET
) -> PolicyResult:
    """For an incomplete case: every listed minimal set completes it, and is minimal.

    Up to `limit` listed sets are each applied with apply_missing_set and must give
    `approvable`; then, set by set, leaving out any single item must not give `approvable`
    (the first set always in full, further sets while `removal_budget` solver calls last).

    An added record stands for any record of its set. When records of several filters of a
    union set are equally narrow (each joins as many record sets), which one serves least
    depends on the rest of the set: leaving an item out must then give something other than
    `approvable` for some choice among them (up to MAX_TIE_CHOICES tried), and the same choice
    with the item must give `approvable`. Left without the request value its filter is tied to
    (the guess of the requested side), an added record cannot be written and is left out.
    Returns the evaluated result, so callers can assert more about it.
    """
    result = evaluate(case, policy_id, enumerate=limit)
    assert result.determination == "incomplete", result.determination
    assert result.missing, "an incomplete case lists at least one set of missing documentation"
    # Every listed set, and each of its items standing for several values taken each way,
    # completes the case: all of them judged in one grounding.
    completions: list[tuple[list[str], dict]] = []
    for items in result.missing[:limit]:
        keys = [i.key for i in items]
        completions.append((sorted(keys), apply_missing_set(case, policy_id, items)))
        for index, item in enumerate(items):
            for key in item.key.split(" | ")[1:]:
                other = keys[:index] + [key] + keys[index + 1 :]
                completions.append((other, apply_missing_set(case, policy_id, other)))
    # The case itself is judged with its completions, in the same grounding: the determination
    # alone (solve/batched.py) agrees that it is incomplete.
    alone, *got = determinations_of([case, *(completed for _, completed in completions)], policy_id)
    assert alone == "incomplete", alone
    for (shown, _), found in zip(completions, got, strict=True):
        assert found == "approvable", f"{policy_id}: applying {shown} gives {found}"
    spent = 0
    for number, items in enumerate(result.missing[:limit]):
        if number and spent + len(items) > removal_budget:
            break
        shown = sorted(i.key for i in items)
        # For each item left out: the ways to choose among tied records, the first of them
        # judged for every item together, the others one by one while none has told.
        trials = []
        for index, item in enumerate(items):
            rest = items[:index] + items[index + 1 :]
            # Ties are counted where the records are added: after the guesses and fills.
            documented = apply_missing_set(
                case, policy_id, [i for i in rest if i.key.startswith(("guess(", "fill("))]
            )
            tied = [(i.key, n) for i in rest if (n := ties(documented, policy_id, i.key)) > 1]
            combinations = [
                dict(zip((k for k, _ in tied), combination))
                for combination in itertools.islice(
                    itertools.product(*(range(n) for _, n in tied)), MAX_TIE_CHOICES
                )
            ]
            trials.append((item, rest, combinations))
        first = determinations_of(
            [
                apply_missing_set(case, policy_id, rest, combinations[0], skip_unwritable=True)
                for _, rest, combinations in trials
            ],
            policy_id,
        )
        spent += len(trials)
        witnesses = []
        for (item, rest, combinations), got_first in zip(trials, first, strict=True):
            witness = combinations[0] if got_first != "approvable" else None
            for choices in combinations[1:] if witness is None else ():
                got = determination(
                    apply_missing_set(case, policy_id, rest, choices, skip_unwritable=True),
                    policy_id,
                )
                spent += 1
                if got != "approvable":
                    witness = choices
                    break
            assert witness is not None, (
                f"{policy_id}: {shown} without {item.key} is already approvable"
            )
            witnesses.append(witness)
        # Where a choice among tied records told, the same choice with the item completes it.
        chosen = [w for w in witnesses if any(w.values())]
        got = determinations_of(
            [apply_missing_set(case, policy_id, items, w) for w in chosen], policy_id
        )
        spent += len(chosen)
        for witness, found in zip(chosen, got, strict=True):
            assert found == "approvable", (
                f"{policy_id}: applying {shown} with choices {witness} gives {found}"
            )
    return result


# ------------------------------------------------------------------ criteria tables
def is_anonymous(parent: str, child: str) -> bool:
    """A member written without a name of its own gets the id `<parent>_<n>`."""
    return re.fullmatch(re.escape(parent) + r"_\d+", child) is not None


def named_criteria(policy_id: str, service: str) -> set[str]:
    """Every criterion of a service with an id of its own: tops, and named members below."""
    compiled = loaded(policy_id).compiled
    found: set[str] = set()
    stack = list(compiled.top[service])
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(c for c in compiled.nodes[node].children if not is_anonymous(node, c))
    return found


def param(policy_id: str, node: str, *values: Any, marks: Any = (), label: str = ""):
    """A table row named by its section, e.g. "MM-1508 D.I.B.6 two_provocative_tests"."""
    name = f"{cite(policy_id, node)} {node}" + (f" ({label})" if label else "")
    return pytest.param(node, *values, id=name, marks=marks)


# One row in this many of each criteria table runs in the quick tier (pytest -m "not slow"); the
# main suite runs every row. The tables hold some 800 rows, each a case solved under a policy.
QUICK_SHARE = 4


def quick_sample(rows: list) -> list:
    """A criteria table's rows for its parametrize: every QUICK_SHARE-th as it is, the others
    marked slow, so that the quick tier keeps a sample of every table."""
    return [
        row
        if number % QUICK_SHARE == 0
        else pytest.param(*row.values, id=row.id, marks=[*row.marks, pytest.mark.slow])
        for number, row in enumerate(rows)
    ]


def items_naming(result: PolicyResult, policy_id: str, node: str) -> list[MissingItem]:
    """Missing items (of any listed set) that name the criterion or a criterion below it."""
    below = subtree_ids(policy_id, node)
    return [item for items in result.missing for item in items if item.criterion_id in below]


def distinct_cases(tables: dict[str, list], known_bugs: dict[str, Any] | None = None) -> list:
    """pytest params (build,) for the distinct cases of named tables whose rows have a case
    builder as second value, named "<row id>, <table>"; an id in `known_bugs` gets that mark."""
    seen: set[str] = set()
    params = []
    for table, rows in tables.items():
        for row in rows:
            build = row.values[1]
            key = _case_key(build())
            if key in seen:
                continue
            seen.add(key)
            name = f"{row.id}, {table}"
            params.append(pytest.param(build, id=name, marks=(known_bugs or {}).get(name, ())))
    return params


def check_met(case: dict, policy_id: str, node: str, expected: str = "approvable") -> PolicyResult:
    result = evaluate(case, policy_id)
    assert status(result, node) == "met", find_node(result, node)
    assert result.determination == expected
    return result


def check_contradicted(
    case: dict, policy_id: str, node: str, expected: str = "not_met", reason_node: str | None = None
) -> PolicyResult:
    """The documented value contradicts the criterion: its status is not_met, and when that
    decides the case, a reason cites the section of the failing criterion."""
    result = evaluate(case, policy_id)
    assert status(result, node) == "not_met", find_node(result, node)
    assert result.determination == expected, result.reasons
    if expected == "not_met":
        wanted = cite(policy_id, reason_node or node)
        assert any(r.startswith(wanted + ":") for r in result.reasons), (wanted, result.reasons)
        assert not result.missing
    return result


def check_open(
    case: dict,
    policy_id: str,
    node: str,
    exact: set[frozenset[str]] | None = None,
    includes: Iterable[frozenset[str]] = (),
    named_under: str | None = None,
    listed: int = SELF_CHECK_SETS,
) -> PolicyResult:
    """The criterion is not documented: the case is incomplete and a minimal set names it.

    `listed`: the sets worked out (0: every one). Where more sets tie than are listed, which of
    them a listing shows is the solver's choice: a caller that needs a set naming the criterion
    among them all asks for every one (0).

    Every item naming it carries the section of the criterion it names in `criterion`. An
    alternative of an any-of that no minimal set needs (a sibling is always met with fewer
    items) is named through `named_under`, the group whose items must appear instead.
    """
    result = evaluate(case, policy_id, enumerate=listed)
    assert status(result, node) == "not_documented", find_node(result, node)
    assert result.determination == "incomplete", result.reasons
    if named_under is not None:
        assert node in subtree_ids(policy_id, named_under), (node, named_under)
        assert not items_naming(result, policy_id, node), "no set should need it"
    naming = items_naming(result, policy_id, named_under or node)
    assert naming, [[i.key for i in s] for s in result.missing]
    for item in naming:
        assert item.criterion == cite(policy_id, item.criterion_id), item
    found = set_keys(result)
    if exact is not None:
        assert result.missing_complete, "more sets than expected"
        assert found == exact, found
    for wanted in includes:
        assert wanted in found, (wanted, found)
    return result


# ------------------------------------------------------------------ the command line, golden files
TESTS = Path(__file__).resolve().parent
REPO = REPO_ROOT
GOLDEN = TESTS / "golden"
BAD_POLICIES = TESTS / "bad_policies"
POLICIES_DIR = REPO / "policies_asp"
VOCABULARY = POLICIES_DIR / "vocabulary.sijv"
APPROVABLE = REPO / "examples" / "cases" / "approvable.yaml"


def bundled_ids() -> list[str]:
    """Every bundled policy's id, in the order the CLI lists them."""
    from sijfasp.policies.loading import bundled_policies

    return [p.policy.id for p in bundled_policies()]


def update_golden() -> bool:
    """True when SIJFASP_UPDATE_GOLDEN=1: golden files are rewritten instead of compared."""
    return os.environ.get("SIJFASP_UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Compare `actual` with the golden file at `path`, or rewrite it when asked to."""
    if update_golden():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), (
        f"missing golden file {path.relative_to(REPO)}; "
        "run the tests with SIJFASP_UPDATE_GOLDEN=1 to create it"
    )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from {path.relative_to(REPO)} "
        "(if the change is intended, rerun with SIJFASP_UPDATE_GOLDEN=1 "
        "and review the diff)"
    )


def cli_command(*args: Any) -> list[str]:
    """The command line of `python -m sijfasp ARGS`."""
    return [sys.executable, "-m", "sijfasp", *(str(a) for a in args)]


def cli_env(**overrides: str) -> dict[str, str]:
    """The environment the CLI tests run in: UTF-8 output, 80 columns, plus `overrides`."""
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "80", **overrides}


def run_cli(
    *args: Any,
    cwd: Path = REPO,
    timeout: float = 120,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m sijfasp ARGS` from `cwd`; text output, never raises on a non-zero exit."""
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env or cli_env(),
        timeout=timeout,
        input=input,
    )


def run_many(commands: list[tuple], cwd: Path = REPO) -> dict[tuple, subprocess.CompletedProcess]:
    """Run several `python -m sijfasp` commands side by side; results keyed by their arguments."""
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {tuple(args): pool.submit(run_cli, *args, cwd=cwd) for args in commands}
    return {args: future.result() for args, future in futures.items()}


def approvable_case() -> dict:
    """The bundled approvable example as a fresh, mutable dict (YAML dates as dt.date)."""
    return copy.deepcopy(_APPROVABLE_DATA)


_APPROVABLE_DATA = yaml.safe_load(APPROVABLE.read_text(encoding="utf-8"))


def _plain_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def write_case(directory: Path, data: Any, name: str = "case.yaml") -> Path:
    """Write a case as YAML (or JSON when `name` ends in .json) and return its path."""
    path = directory / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data, default=_plain_json, indent=1), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def determinations(json_text: str) -> dict[str, str]:
    """policy id -> determination, from `check --format json` output."""
    data = json.loads(json_text)
    return {r["policy"]: r["determination"] for r in data["results"]}


def known_determinations(json_text: str) -> dict[str, str]:
    """determinations() of the policies in POLICY_IDS only, after checking every bundled policy
    got one."""
    found = determinations(json_text)
    assert set(found) <= set(bundled_ids())
    return {policy: d for policy, d in found.items() if policy in POLICY_IDS}
