"""The policy test file: its format read and checked (`load_test_file`), each test's case built
from a case file and its changes (`set`, `remove`, `add`), and what it expects (determination,
missing documentation, reason words, statuses, the advisories that apply and the status of
what they recommend).

A test file (`<policies>/tests/<policy id>.tests.yaml`, format in docs/authoring.md) names a
policy and lists cases. Running, updating and coverage are `policytests`'.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cases.case import Case, validate_case
from ..cases.reader import read_case_file, written_at
from ..core.diagnostics import Code, Diagnostic, SijfaspError, did_you_mean, non_ascii_note
from ..core.kinds import Determination, ExclusionStatus, Status
from ..core.limits import MAX_ID_LENGTH
from ..core.resources import policies_dir
from ..core.source import SourceText, Span
from ..core.textsafe import for_diagnostic
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..policies.loading import (
    POLICY_SUFFIX,
    bundled_policy_versions,
    load_policy,
    policy_versions,
)
from ..results.results import PolicyResult

TESTS_FOLDER = "tests"
TESTS_SUFFIX = ".tests.yaml"
TOP_KEYS = ("policy", "note", "not_applicable", "tests", "equivalent")
ENTRY_KEYS = (
    "name",
    "note",
    "case",
    "set",
    "remove",
    "add",
    "expect",
    "missing",
    "reason",
    "criteria",
    "exclusions",
    "advisories",
    "recommendations",
)
STATUS_ORDER = (Status.MET, Status.NOT_MET, Status.NOT_DOCUMENTED)
EXCLUSION_ORDER = (
    ExclusionStatus.APPLIES,
    ExclusionStatus.DOCUMENTED_ABSENT,
    ExclusionStatus.NOT_DOCUMENTED,
)


# ------------------------------------------------------------------ the test file
@dataclass
class TestCase:
    name: str
    index: int
    case: Case
    expect: Determination | None
    missing: list[list[str]] | None
    reason: list[str]
    criteria: dict[str, Status]
    exclusions: dict[str, ExclusionStatus]
    raw: dict[str, Any]  # the entry as written, for --update
    # The ids of the advisories that apply to the case, every other one not (None: unchecked).
    advisories: tuple[str, ...] | None = None
    # Advisory id -> the status of what it recommends; each listed advisory must apply.
    recommendations: dict[str, Status] = field(default_factory=dict)


@dataclass
class TestFile:
    path: Path
    shown: str
    policy: LoadedPolicy
    tests: list[TestCase]
    not_applicable: dict[str, set[str]]  # node or exclusion id -> statuses it cannot take
    raw: dict[str, Any]
    dropped: list[str] = field(default_factory=list)  # ids the policy no longer has (--update)
    # mutant -> why it cannot change a determination (`sijfasp test --mutate`, authoring/mutate.py)
    equivalent: dict[str, str] = field(default_factory=dict)


def _problem(
    shown: str, where: str, message: str, hint: str | None = None, at: Any = None
) -> SijfaspError:
    """A bad test file; `at` (a `_Place`) adds the line and column, quoted with a caret."""
    span, sources = (at.span, [at.source]) if at is not None else (None, [])
    diagnostic = Diagnostic(
        Code.PROPERTY, message, span, hint=hint, field_path=where or None, file=shown
    )
    return SijfaspError([diagnostic], sources)


@dataclass(frozen=True)
class _Place:
    span: Span
    source: SourceText


def _place(path: Path, shown: str, keys: Iterable[str | int], value: bool = False) -> Any:
    """Where a field of a test file is written (the key at the end of `keys`, or with `value`
    what is written after it), for a message that points at it; None when not found."""
    found = written_at(path, shown, list(keys), value)
    return _Place(found[0], SourceText(shown, found[1])) if found else None


def default_test_files(directory: Path | None = None) -> list[Path]:
    """Every test file of the policies in a folder (default: the bundled policies)."""
    folder = (directory or policies_dir()) / TESTS_FOLDER
    return sorted(folder.glob("*" + TESTS_SUFFIX)) if folder.is_dir() else []


def _policies_beside(test_path: Path) -> dict[str, LoadedPolicy]:
    """The policies of the folder a test file's `tests/` folder sits in, by `ID@VERSION` and,
    for the latest version of each, by `ID` alone."""
    folder = test_path.resolve().parent.parent
    if folder == policies_dir().resolve():
        found = bundled_policy_versions()
    else:
        found = policy_versions(load_policy(p) for p in sorted(folder.glob("*" + POLICY_SUFFIX)))
    known = {versions.reference(p): p for p in found}
    known.update({p.policy.id: p for p in versions.latest(found)})
    return known


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_test_file(path: Path, lenient: bool = False) -> TestFile:
    """Read and check a test file and every case it names; SijfaspError on the first problem.

    `lenient` (for --update): a criterion or exclusion id the policy no longer has is dropped
    from the test rather than refused, so that renaming a criterion does not block the update."""
    dropped: list[str] | None = [] if lenient else None
    shown = _shown(path)
    raw = read_case_file(path)
    _refuse_duplicates(raw, shown)
    if not isinstance(raw, dict):
        raise _problem(shown, "", "a test file is a mapping with 'policy' and 'tests'")
    for key in raw:
        if key not in TOP_KEYS:
            raise _problem(
                shown, str(key), f"unknown field '{key}'", did_you_mean(str(key), TOP_KEYS)
            )
    policy_id = raw.get("policy")
    if not isinstance(policy_id, str):
        raise _problem(shown, "policy", "expected the id of the policy the tests are for")
    known = _policies_beside(path)
    if policy_id not in known:
        raise _problem(
            shown,
            "policy",
            f"unknown policy '{for_diagnostic(policy_id)}'{non_ascii_note(policy_id)}",
            did_you_mean(policy_id, known)
            or (
                "known: " + ", ".join(known)
                if known
                else f"no policy files ({POLICY_SUFFIX}) in {path.resolve().parent.parent}: "
                f"a test file goes in the tests/ folder beside its policy"
            ),
        )
    loaded = known[policy_id]
    not_applicable = _not_applicable(raw.get("not_applicable"), shown, loaded, dropped)
    entries = raw.get("tests")
    if not isinstance(entries, list) or not entries:
        raise _problem(shown, "tests", "expected a list of tests")
    tests = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        test = _load_entry(entry, index, path, shown, loaded, dropped)
        if test.name in names:
            raise _problem(shown, f"tests[{index}].name", f"a second test named '{test.name}'")
        names.add(test.name)
        tests.append(test)
    equivalent = _equivalent(raw.get("equivalent"), shown)
    return TestFile(path, shown, loaded, tests, not_applicable, raw, dropped or [], equivalent)


def _equivalent(value: Any, shown: str) -> dict[str, str]:
    """`equivalent:` entries, each a mutant as `sijfasp test --mutate` names it and a reason."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise _problem(shown, "equivalent", "expected a list of {mutant, reason}")
    found: dict[str, str] = {}
    for index, entry in enumerate(value):
        where = f"equivalent[{index}]"
        if not isinstance(entry, dict):
            raise _problem(shown, where, "expected a mapping with 'mutant' and 'reason'")
        for key in entry:
            if key not in ("mutant", "reason"):
                hint = did_you_mean(str(key), ("mutant", "reason"))
                raise _problem(shown, f"{where}.{key}", f"unknown field '{key}'", hint)
        mutant, reason = entry.get("mutant"), entry.get("reason")
        if not isinstance(mutant, str) or not mutant.strip():
            raise _problem(shown, f"{where}.mutant", "expected the mutant as --mutate names it")
        if not isinstance(reason, str) or not reason.strip():
            raise _problem(
                shown, f"{where}.reason", "expected why no case can tell this mutant apart"
            )
        found[mutant.strip()] = reason.strip()
    return found


def _refuse_duplicates(raw: Any, shown: str) -> None:
    """A key written twice anywhere in a test file is refused, as in a case: which of the two
    values a test meant cannot be told."""
    problems = []
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, line in getattr(value, "duplicates", ()):
                at = f"{where}.{key}" if where else str(key)
                problems.append(
                    Diagnostic(
                        Code.PROPERTY,
                        f"'{for_diagnostic(key)}' is written twice"
                        + (f" (again at line {line})" if line else "")
                        + "; a key may appear once in a mapping",
                        field_path=for_diagnostic(at),
                        file=shown,
                    )
                )
            stack += [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    if problems:
        raise SijfaspError(sorted(problems, key=lambda d: d.field_path or ""))


def _not_applicable(
    value: Any, shown: str, loaded: LoadedPolicy, dropped: list[str] | None
) -> dict[str, set[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _problem(shown, "not_applicable", "expected a mapping: node id -> list of statuses")
    nodes, exclusions = coverage_universe(loaded)
    result: dict[str, set[str]] = {}
    for node_id, statuses in value.items():
        where = f"not_applicable.{node_id}"
        if node_id in nodes:
            allowed: tuple[str, ...] = tuple(STATUS_ORDER)
        elif node_id in exclusions:
            allowed = tuple(EXCLUSION_ORDER)
        elif dropped is not None:
            dropped.append(where)
            continue
        else:
            raise _problem(
                shown,
                where,
                f"'{node_id}' is no criterion or exclusion of {loaded.policy.id}",
                did_you_mean(str(node_id), [*nodes, *exclusions]),
            )
        if not isinstance(statuses, list) or not all(s in allowed for s in statuses):
            raise _problem(shown, where, "expected a list of: " + ", ".join(allowed))
        result[str(node_id)] = set(statuses)
    return result


def _load_entry(
    entry: Any,
    index: int,
    path: Path,
    shown: str,
    loaded: LoadedPolicy,
    dropped: list[str] | None = None,
) -> TestCase:
    where = f"tests[{index}]"
    if not isinstance(entry, dict):
        raise _problem(shown, where, "a test is a mapping with 'name', 'case' and 'expect'")
    for key in entry:
        if key not in ENTRY_KEYS:
            raise _problem(
                shown,
                f"{where}.{key}",
                f"unknown field '{key}'",
                did_you_mean(str(key), ENTRY_KEYS) or "a test has " + ", ".join(ENTRY_KEYS),
            )
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise _problem(shown, f"{where}.name", "expected the test's name")
    where = f"tests[{index}] ({name})"
    data = _case_data(entry, path, shown, where)
    case_name = f"{shown}::{name}"
    case = validate_case(data, loaded.policy.vocabulary, case_name)
    expect = _choice(entry.get("expect"), Determination, shown, f"{where}.expect", optional=True)
    missing = _missing(entry.get("missing"), shown, f"{where}.missing")
    reason = entry.get("reason", [])
    if isinstance(reason, str):
        reason = [reason]
    if not isinstance(reason, list) or not all(isinstance(w, str) for w in reason):
        raise _problem(shown, f"{where}.reason", "expected words (a text or a list of texts)")
    nodes, exclusions = coverage_universe(loaded)
    criteria = {
        node: Status(status)
        for node, status in _statuses(
            entry.get("criteria"), Status, nodes, shown, f"{where}.criteria", dropped
        ).items()
    }
    excluded = {
        node: ExclusionStatus(status)
        for node, status in _statuses(
            entry.get("exclusions"),
            ExclusionStatus,
            exclusions,
            shown,
            f"{where}.exclusions",
            dropped,
        ).items()
    }
    advisories = _advisories(
        entry.get("advisories"),
        advisory_ids(loaded),
        shown,
        f"{where}.advisories",
        dropped,
        lambda keys: _place(path, shown, ["tests", index, "advisories", *keys], True),
    )
    recommendations = _recommendations(
        entry.get("recommendations"),
        loaded,
        shown,
        f"{where}.recommendations",
        dropped,
        lambda keys, value=False: _place(
            path, shown, ["tests", index, "recommendations", *keys], value
        ),
    )
    return TestCase(
        name,
        index,
        case,
        Determination(expect) if expect else None,
        missing,
        list(reason),
        criteria,
        excluded,
        entry,
        advisories,
        recommendations,
    )


def advisory_ids(loaded: LoadedPolicy) -> list[str]:
    """Every advisory of the policy, of any service."""
    found = [a.id for infos in loaded.compiled.advisories.values() for a in infos]
    return list(dict.fromkeys(found))


def _advisories(
    value: Any,
    known: list[str],
    shown: str,
    where: str,
    dropped: list[str] | None,
    place: Any = lambda keys: None,
) -> tuple[str, ...] | None:
    """`advisories:` of a test: the ids of the advisories that apply (an empty list: none)."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _problem(
            shown,
            where,
            "expected a list of the ids of the advisories that apply ([] for none)",
            "known: " + ", ".join(known) if known else "the policy has no advisories",
            place(()),
        )
    found = []
    for number, advisory in enumerate(value):
        if advisory not in known and dropped is not None:
            dropped.append(f"{where}.{advisory}")
            continue
        if advisory not in known:
            raise _problem(
                shown,
                where,
                f"unknown advisory '{for_diagnostic(advisory)}'",
                did_you_mean(advisory, known)
                or ("known: " + ", ".join(known) if known else "the policy has no advisories"),
                place((number,)),
            )
        found.append(advisory)
    return tuple(sorted(set(found)))


def recommending_advisories(loaded: LoadedPolicy) -> list[str]:
    """The advisories of the policy that recommend something (`recommend ...`)."""
    found = [a.id for infos in loaded.compiled.advisories.values() for a in infos if a.recommend]
    return list(dict.fromkeys(found))


RECOMMENDATION_STATUSES = tuple(str(s) for s in STATUS_ORDER)


def _recommendations(
    value: Any,
    loaded: LoadedPolicy,
    shown: str,
    where: str,
    dropped: list[str] | None,
    place: Any,
) -> dict[str, Status]:
    """`recommendations:` of a test: advisory id -> the status of what it recommends (met,
    not_met, not_documented), each advisory applying. Every problem points at its line."""
    if value is None:
        return {}
    known = recommending_advisories(loaded)
    every = advisory_ids(loaded)
    listed = (
        "advisories with a recommendation: " + ", ".join(known)
        if known
        else "no advisory of the policy recommends anything"
    )
    if not isinstance(value, dict):
        raise _problem(
            shown,
            where,
            "expected a mapping: advisory id -> " + ", ".join(RECOMMENDATION_STATUSES),
            listed,
            place((), True),
        )
    found: dict[str, Status] = {}
    for advisory, status in value.items():
        name = str(advisory)
        at = f"{where}.{for_diagnostic(name)}"
        if name not in known and dropped is not None:
            dropped.append(at)
            continue
        if name in every and name not in known:
            raise _problem(
                shown,
                at,
                f"advisory '{name}' recommends nothing: it only applies or not "
                "(state that with advisories)",
                listed,
                place((name,)),
            )
        if name not in known:
            raise _problem(
                shown,
                at,
                f"unknown advisory '{for_diagnostic(name)}'{non_ascii_note(name)}",
                did_you_mean(name, known) or listed,
                place((name,)),
            )
        if status not in RECOMMENDATION_STATUSES:
            raise _problem(
                shown,
                at,
                "expected the status of what the advisory recommends: "
                + ", ".join(RECOMMENDATION_STATUSES)
                + f"; found {for_diagnostic(str(status))!r}",
                did_you_mean(str(status), RECOMMENDATION_STATUSES),
                place((name,), True),
            )
        found[name] = Status(status)
    return found


def recommendation_statuses(result: PolicyResult) -> dict[str, Status]:
    """Each advisory that applies in a result and recommends something -> that status."""
    return {
        a.id: a.recommendation
        for a in result.advisories
        if a.applies and a.recommendation is not None
    }


def applying_advisories(result: PolicyResult) -> tuple[str, ...]:
    """The ids of the advisories that apply in a result, sorted."""
    return tuple(sorted(a.id for a in result.advisories if a.applies))


def _choice(value: Any, enum: Any, shown: str, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    words = [m.value for m in enum]
    if value not in words:
        raise _problem(
            shown,
            where,
            f"expected one of {', '.join(words)}; found {value!r}",
            did_you_mean(str(value), words),
        )
    return str(value)


def _missing(value: Any, shown: str, where: str) -> list[list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(s, list) and all(isinstance(i, str) for i in s) for s in value
    ):
        mapping = next(
            (
                i
                for s in value
                if isinstance(s, list)
                for i in s
                if isinstance(i, dict) and len(i) == 1
            ),
            None,
        )
        hint = None
        if mapping is not None:  # `- [imaging 1 of 1 more: SIJ CT]`: YAML read a mapping
            key, rest = next(iter(mapping.items()))
            hint = f"quote a need holding ': ', like: - ['{key}: {rest}']"
        raise _problem(shown, where, "expected a list of sets, each a list of needs (texts)", hint)
    return sorted(sorted(s) for s in value)  # sets of needs: order does not matter


def _statuses(
    value: Any,
    enum: Any,
    known: Iterable[str],
    shown: str,
    where: str,
    dropped: list[str] | None = None,
) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _problem(shown, where, "expected a mapping: id -> status")
    known = list(known)
    result = {}
    for node_id, status in value.items():
        if node_id not in known and dropped is not None:
            dropped.append(f"{where}.{node_id}")
            continue
        if node_id not in known:
            raise _problem(
                shown,
                f"{where}.{node_id}",
                f"unknown id '{node_id}'",
                did_you_mean(str(node_id), known),
            )
        result[str(node_id)] = _choice(status, enum, shown, f"{where}.{node_id}") or ""
    return result


def _case_data(entry: dict[str, Any], path: Path, shown: str, where: str) -> Any:
    source = entry.get("case")
    if isinstance(source, str):
        target = path.parent / source
        if not target.is_file():
            raise _problem(shown, f"{where}.case", f"cannot find the case file '{source}'")
        data = read_case_file(target)
    elif isinstance(source, dict):
        data = copy.deepcopy(source)
    else:
        raise _problem(shown, f"{where}.case", "expected a case (a mapping) or a path to one")
    if isinstance(data, dict):
        data = dict(data)
        data["id"] = _slug(str(entry["name"]))
    changes = entry.get("set", {})
    if not isinstance(changes, dict):
        raise _problem(shown, f"{where}.set", "expected a mapping: field path -> value")
    for dotted, value in changes.items():
        _apply(data, str(dotted), shown, f"{where}.set.{dotted}", value=value)
    removals = entry.get("remove", [])
    if not isinstance(removals, list):
        raise _problem(shown, f"{where}.remove", "expected a list of field paths")
    for dotted in removals:
        _apply(data, str(dotted), shown, f"{where}.remove", remove=True)
    additions = entry.get("add", {})
    if not isinstance(additions, dict) or not all(isinstance(v, list) for v in additions.values()):
        raise _problem(shown, f"{where}.add", "expected a mapping: list path -> items to append")
    for dotted, items in additions.items():
        _apply(data, str(dotted), shown, f"{where}.add.{dotted}", value=items, append=True)
    return data


def _slug(name: str) -> str:
    """The test's name as a case id (ASCII letters, digits, `_`): accents dropped ("VAS élevé"
    gives vas_eleve), any other character `_`."""
    plain = unicodedata.normalize("NFKD", name.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    word = re.sub(r"_+", "_", "".join(c if c.isascii() and c.isalnum() else "_" for c in plain))
    return word.strip("_")[:MAX_ID_LENGTH] or "test"


_ABSENT = object()


def _apply(
    data: Any,
    dotted: str,
    shown: str,
    where: str,
    value: Any = _ABSENT,
    remove: bool = False,
    append: bool = False,
) -> None:
    """Set, remove or append to the value at a field path like `findings.vas_score`,
    `records.injection.0.relief_percent` or `records.therapy`, creating mappings on the way."""
    parts = dotted.split(".")
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise _problem(shown, where, f"'{dotted}': no item {part} in a list of {len(node)}")
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
            if key not in node:
                if remove:
                    raise _problem(shown, where, f"'{dotted}': nothing to remove at '{part}'")
                if not last:
                    node[key] = {}
                elif append:
                    node[key] = []
        else:
            raise _problem(shown, where, f"'{dotted}': '{part}' is inside a value, not a mapping")
        if last:
            if remove:
                del node[key]
            elif append:
                if not isinstance(node[key], list):
                    raise _problem(shown, where, f"'{dotted}' is not a list to add to")
                node[key] = [*node[key], *value]
            else:
                node[key] = value
            return
        # Copy on the way down: a shared inline case stays as written.
        child = node[key]
        child = (
            dict(child)
            if isinstance(child, dict)
            else list(child)
            if isinstance(child, list)
            else child
        )
        node[key] = child
        node = child


def coverage_universe(loaded: LoadedPolicy) -> tuple[dict[str, str], dict[str, str]]:
    """Every criterion node (members included) and every exclusion, each with its service."""
    compiled = loaded.compiled
    nodes: dict[str, str] = {}

    def visit(node_id: str, service: str) -> None:
        if node_id in nodes:
            return
        nodes[node_id] = service
        for child in compiled.nodes[node_id].children:
            visit(child, service)

    for service, roots in compiled.top.items():
        for root in roots:
            visit(root, service)
    exclusions: dict[str, str] = {}
    for service, ids in compiled.exclusions.items():
        for exclusion in ids:
            exclusions.setdefault(exclusion, service)
    return nodes, exclusions
