"""What the semantic diff reports and works on, without the solver: the witnesses and
differences (`Report`), the policies it compares resolved from the command line, the items of a
case a witness can do without, the criteria of a service, and the policy tests it replays.

`semdiff` searches with clingo over these; `diff_render` shows them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.diagnostics import Diagnostic, SijfaspError, did_you_mean
from ..core.kinds import Determination, FactScope, NodeKind, Status
from ..core.resources import policies_dir
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..policies.loading import POLICY_SUFFIX, bundled_policy_versions, load_policy
from ..results.results import NodeResult
from ..solve.atoms import FactRef
from .policytests import default_test_files, load_test_file

# How many minimal completions of the bare request each policy contributes.
COMPLETIONS = 6
# How many for a request of each side.
SIDED_COMPLETIONS = 3
# How many cases approvable under both are varied item by item.
JOINT_CASES = 1
# How a witness was found, for the report.
LEFT_OUT = "one item left out of a case approvable under both"
OTHER_VALUE = "one value changed in a case approvable under both"
MOVED = "one record moved back in time in a case approvable under both"
NEWER = "a newer record with another value added to a case approvable under both"
COMPLETION = "a minimal completion under one policy"
WITHOUT = "a minimal completion under one policy without one of its criteria"
OTHERS_FACTS = (
    "a case approvable under both, completed again without the facts a criterion of the other reads"
)
EXCLUSION = "an exclusion made to hold"
ALONE = "a case one criterion alone fails, the rest of its policy met"
ALONE_OTHERS = "a case the other policy approves, completed but for one criterion"
SERVICE = "a service only one policy addresses"
CODE = "a procedure code only one policy addresses"

# Keys of a case that are never left out: they make it a request at all.
KEPT_REQUEST = ("service", "date")

# Case data, the shape of a case file: {"id", "request", "findings", "records"}.
CaseData = dict[str, Any]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Decider:
    """A criterion or exclusion that decides a case, or the service not being addressed."""

    id: str
    cite: str
    label: str
    status: str  # not met, not documented, applies, not addressed

    def text(self) -> str:
        return f"{self.cite} {self.id} ({self.status}): {self.label}".strip()


@dataclass(frozen=True)
class Judgement:
    determination: Determination
    deciders: tuple[Decider, ...]  # empty when approvable

    def approvable(self) -> bool:
        return self.determination == Determination.APPROVABLE

    def ids(self) -> frozenset[str]:
        return frozenset(d.id for d in self.deciders)


@dataclass(frozen=True)
class Witness:
    """A case the two policies decide differently, with both judgements."""

    origin: str  # how it was found: completion, without, exclusion, left out, ...
    a: Judgement
    b: Judgement
    case: CaseData
    items: int  # documented items (request fields other than service and date, findings, records)


@dataclass(frozen=True)
class Difference:
    """Criteria that decide some case differently, with the witnesses that show it."""

    service: str
    a: frozenset[str]  # the ids deciding the witnesses under the first policy
    b: frozenset[str]
    witnesses: tuple[Witness, ...]

    @property
    def name(self) -> str:
        first = self.witnesses[0]
        ids = [d.id for d in first.a.deciders + first.b.deciders]
        return "-".join(dict.fromkeys(ids)) or "difference"

    def deciders(self) -> tuple[tuple[Decider, ...], tuple[Decider, ...]]:
        first = self.witnesses[0]
        return first.a.deciders, first.b.deciders


@dataclass(frozen=True)
class Impact:
    test: str
    a: Determination
    b: Determination


@dataclass(frozen=True)
class NotTried:
    """A criterion or exclusion of one policy that no judged case was decided by, and why."""

    side: str  # "a" or "b"
    service: str
    criterion: Decider  # its status: "criterion" or "exclusion"
    why: str  # in words, the criteria it fails only alongside named by section and label
    # The criteria of its policy it fails only alongside (no case fails it while they hold):
    # any one of them, or all of them together (`together`).
    fails_with: tuple[Decider, ...] = ()
    together: bool = False


@dataclass
class Report:
    a: str  # the policies as `ID@VERSION` (and file, for a path)
    b: str
    services: tuple[str, ...]
    date: dt.date
    differences: list[Difference] = field(default_factory=list)
    impact_file: str | None = None
    impact: list[Impact] = field(default_factory=list)
    impact_total: int = 0
    # Why some sets of missing documentation could not be written as cases (so were not
    # searched): a record ordered against a set the case has no record of, for one.
    unwritten: tuple[str, ...] = ()
    # The criteria and exclusions of either policy that no case the search judged was
    # decided by: "no differences" is only said when there are none.
    not_tried: list[NotTried] = field(default_factory=list)

    def all_tried(self) -> bool:
        return not self.not_tried


# ------------------------------------------------------------------ resolving A and B
def resolve(text: str, policy_files: Sequence[Path] = ()) -> LoadedPolicy:
    """A policy id (its latest version), `ID@VERSION`, or the path of a .sijp file."""
    if is_path(text):
        path = Path(text)
        if not path.is_file():
            raise SijfaspError([Diagnostic("unknown-name", f"no policy file '{text}'", file=text)])
        return load_policy(path)
    known = list(bundled_policy_versions())
    known += [load_policy(p) for p in policy_files]
    by_id = versions.grouped(known)
    policy_id, version = versions.split_reference(text)
    if policy_id not in by_id:
        raise SijfaspError(
            [
                Diagnostic(
                    "unknown-name",
                    f"unknown policy '{policy_id}'",
                    hint=did_you_mean(policy_id, list(by_id)) or "known: " + ", ".join(by_id),
                    file=text,
                )
            ]
        )
    if version is None:
        return by_id[policy_id][-1]
    for loaded in by_id[policy_id]:
        if loaded.policy.version == version:
            return loaded
    known_versions = ", ".join(v.policy.version for v in by_id[policy_id])
    raise SijfaspError(
        [
            Diagnostic(
                "unknown-name",
                f"policy '{policy_id}' has no version '{version}'",
                hint="its versions: " + known_versions,
                file=text,
            )
        ]
    )


def check_service(a: LoadedPolicy, b: LoadedPolicy, service: str | None) -> None:
    """A service neither policy addresses is an error, with a did-you-mean."""
    known = list(dict.fromkeys(s.name for p in (a, b) for s in p.policy.services))
    if service is None or service in known:
        return
    raise SijfaspError(
        [
            Diagnostic(
                "unknown-name",
                f"neither policy addresses the service '{service}'",
                hint=did_you_mean(service, known) or "services: " + ", ".join(known),
                file="--service",
            )
        ]
    )


def is_path(text: str) -> bool:
    return text.endswith(POLICY_SUFFIX) or "/" in text


def shown(reference: str, given: str) -> str:
    """`ID@VERSION`, with the file when A or B was given as one."""
    return f"{reference} ({given})" if is_path(given) else reference


def label(loaded: LoadedPolicy) -> str:
    return versions.reference(loaded)


def fact_groups(loaded: LoadedPolicy, service: str) -> list[tuple[str, ...]]:
    """The facts each group of alternatives of a service reads, when it reads facts only (a
    criterion met by the thigh thrust or the compression test): a completion under the other
    policy that documents none of them shows whether that policy asks for them too."""
    compiled = loaded.compiled

    def facts(node_id: str) -> set[str] | None:
        info = compiled.nodes[node_id]
        if info.leaf is not None:
            key = info.fact_key()
            return {key} if key is not None else None
        found: set[str] = set()
        for child in info.children:
            below = facts(child)
            if below is None:
                return None
            found |= below
        return found

    groups: list[tuple[str, ...]] = []
    for node_id in service_nodes(loaded, service):
        if compiled.nodes[node_id].kind not in (NodeKind.ANY, NodeKind.AT_LEAST):
            continue
        keys = facts(node_id)
        if keys and tuple(sorted(keys)) not in groups:
            groups.append(tuple(sorted(keys)))
    return groups


def without_facts(data: CaseData, keys: Sequence[str]) -> CaseData:
    """The case without these findings and request fields (as a case writes them)."""
    result = data
    for key in keys:
        fact = FactRef.of_key(key)
        part = "request" if fact.scope == FactScope.REQUEST else "findings"
        if fact.name in (result.get(part) or {}):
            result = without(result, (part, fact.name))
    return result


def service_nodes(loaded: LoadedPolicy, service: str) -> list[str]:
    """The criteria of a service, every node below its top ones."""
    compiled = loaded.compiled
    found: list[str] = []
    pending = list(compiled.top.get(service, ()))
    while pending:
        node = pending.pop(0)
        if node not in found:
            found.append(node)
            pending += compiled.nodes[node].children
    return found


def deciding_level(loaded: LoadedPolicy, service: str) -> list[Decider]:
    """The criteria a case of a service can be decided by (its top criteria, as deep as an
    all-of goes) and its exclusions, as deciders (their status: criterion or exclusion)."""
    compiled, cite = loaded.compiled, loaded.policy.cite
    found: list[str] = []

    def walk(node: str) -> None:
        info = compiled.nodes[node]
        if info.kind == NodeKind.ALL and info.children:
            for child in info.children:
                walk(child)
        elif node not in found:
            found.append(node)

    for top in compiled.top.get(service, ()):
        walk(top)
    deciders = [
        Decider(n, compiled.cite(n, cite), compiled.nodes[n].label, "criterion") for n in found
    ]
    deciders += [
        Decider(x, compiled.cite(x, cite), compiled.nodes[x].label, "exclusion")
        for x in compiled.exclusions.get(service, ())
    ]
    return deciders


def failures(node: NodeResult) -> list[Decider]:
    """The criteria a case fails, as deep as an all-of goes: a group of alternatives (any of,
    at least, none of) is named as one."""
    if node.status == Status.MET:
        return []
    if node.kind == NodeKind.ALL and node.children:
        return [d for c in node.children for d in failures(c)]
    status = "not met" if node.status == Status.NOT_MET else "not documented"
    return [Decider(node.id, node.cite, node.label, status)]


def case_key(data: CaseData) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "id"}, sort_keys=True, default=str)


# ------------------------------------------------------------------ the items of a case
# An item is one documented thing a witness can do without: a request field, a finding, a
# record.
Item = tuple[str, ...]


def items_of(data: CaseData) -> list[Item]:
    found: list[Item] = [("request", k) for k in data.get("request", {}) if k not in KEPT_REQUEST]
    found += [("findings", k) for k in data.get("findings") or {}]
    for kind, records in (data.get("records") or {}).items():
        found += [("records", kind, str(i)) for i in range(len(records or []))]
    return found


def without(data: CaseData, item: Item) -> CaseData:
    result = copy.deepcopy(data)
    if item[0] == "records":
        kind, index = item[1], int(item[2])
        del result["records"][kind][index]
        if not result["records"][kind]:
            del result["records"][kind]
        if not result["records"]:
            del result["records"]
    else:
        del result[item[0]][item[1]]
        if not result[item[0]] and item[0] == "findings":
            del result["findings"]
    return result


def count_items(data: CaseData) -> int:
    return len(items_of(data))


# What decides a witness under each policy: the ids of the criteria and exclusions.
Signature = tuple[frozenset[str], frozenset[str]]


def signature_of(pair: tuple[Judgement, Judgement]) -> Signature:
    return pair[0].ids(), pair[1].ids()


def same(one: tuple[Judgement, Judgement], other: tuple[Judgement, Judgement]) -> bool:
    return all(x.determination == y.determination for x, y in zip(one, other, strict=True))


def minimal_signatures(signatures: list[Signature]) -> list[Signature]:
    """The signatures with no smaller one inside: a witness failing X and Y under one policy
    shows nothing that the witness failing X alone does not."""
    return [
        signature
        for signature in signatures
        if not any(
            other != signature and other[0] <= signature[0] and other[1] <= signature[1]
            for other in signatures
        )
    ]


def unscaled(scaled: int) -> int | float:
    value = Decimal(scaled) / 100
    return int(value) if value == value.to_integral_value() else float(value)


# ------------------------------------------------------------------ impact analysis
def test_file_for(loaded: LoadedPolicy) -> Path | None:
    """The policy tests of a version: in the tests/ folder beside its file (or the bundled
    one), the file whose `policy` names this version (or its id, for the latest)."""
    folder = Path(loaded.policy.path).parent if loaded.policy.path else None
    candidates: list[Path] = []
    if folder is not None and (folder / "tests").is_dir():
        candidates = default_test_files(folder)
    if not candidates:
        candidates = default_test_files(policies_dir())
    # The policy's own test file (`<file stem>.tests.yaml`) before others naming the version
    # (a boundaries file beside it).
    own = Path(loaded.policy.path).stem + ".tests.yaml" if loaded.policy.path else None
    candidates = sorted(candidates, key=lambda path: path.name != own)
    for path in candidates:
        try:
            test_file = load_test_file(path)
        except SijfaspError:
            continue
        if test_file.policy.policy.id == loaded.policy.id and (
            test_file.policy.policy.version == loaded.policy.version
        ):
            return path
    return None


# ------------------------------------------------------------------ what an edit changed
_FACT = re.compile(r"^([a-z_]\w*)\((.*)\)\.")
_NAME = re.compile(r"\b[a-z_]\w*\b")
# Facts left out of a node's meaning: the words shown for it, and the facts of a service (its
# top criteria and exclusions, which the nodes of either policy are compared by; a value
# naming a service would otherwise lead from one criterion to all).
_WORDING = ("label", "section", "policy", "service", "top", "excludes", "advises")


def _facts_by_owner(program: str) -> dict[str, list[str]]:
    """The compiled facts, without comments and wording, by their first argument."""
    owned: dict[str, list[str]] = {}
    for line in program.splitlines():
        found = _FACT.match(line.strip())
        if found is None or found.group(1) in _WORDING:
            continue
        args = [a.strip() for a in re.split(r"[,()]", found.group(2))]
        # The values the solver may add for a record field: owned by the kind and field, so
        # that a threshold moved on one field changes only the nodes testing that field.
        owner = f"{args[0]}.{args[1]}" if found.group(1) == "field_candidate" else args[0]
        owned.setdefault(owner, []).append(found.group(0))
    return owned


def _meaning(owner: str, owned: dict[str, list[str]]) -> frozenset[str]:
    """The facts of a node (or record set) and of everything they name, followed to the end:
    two nodes with the same meaning decide every case alike."""
    seen: set[str] = set()
    facts: set[str] = set()
    pending = [owner]
    kinds: set[str] = set()  # the record kinds its filters read
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for fact in owned.get(name, ()):
            facts.add(fact)
            names = _NAME.findall(fact)
            if names[0] == "filter":
                kinds.add(names[-1])
            pending += [n for n in names if n in owned and n not in seen]
    words = {n for fact in facts for n in _NAME.findall(fact)}
    for kind in kinds:
        for word in words:
            facts.update(owned.get(f"{kind}.{word}", ()))
    return frozenset(facts)


@dataclass(frozen=True)
class Changes:
    """What an edit changed: per policy, the nodes whose meaning the other does not share."""

    a: frozenset[str]
    b: frozenset[str]
    # The names in the facts that differ (the field whose threshold moved, the fact compared):
    # the values worth varying.
    words: frozenset[str]

    def __getitem__(self, side: int) -> frozenset[str]:
        return (self.a, self.b)[side]


def changed_nodes(a: LoadedPolicy, b: LoadedPolicy) -> Changes | None:
    """The nodes (criteria at every depth, and exclusions) of each policy whose meaning the
    other does not share under the same id: where an edit can change a determination. None
    when what every criterion reads differs (the implications, or the codes of a service both
    address)."""
    owned_a, owned_b = _facts_by_owner(a.compiled.program), _facts_by_owner(b.compiled.program)

    both = {s.name for s in a.policy.services} & {s.name for s in b.policy.services}

    def context(owned: dict[str, list[str]]) -> list[str]:
        """The implications, and the codes of the services both address."""
        found = [f for facts in owned.values() for f in facts if f.startswith("implication(")]
        found += [
            f for s in sorted(both) for f in owned.get(s, ()) if f.startswith("service_code(")
        ]
        return sorted(found)

    if context(owned_a) != context(owned_b):
        return None
    differing: set[str] = set()
    changed: list[set[str]] = [set(), set()]
    for side, (mine, theirs) in enumerate(((a, b), (b, a))):
        for node in mine.compiled.nodes:
            meaning = _meaning(node, (owned_a, owned_b)[side])
            other = (
                _meaning(node, (owned_b, owned_a)[side]) if node in theirs.compiled.nodes else None
            )
            if other != meaning:
                changed[side].add(node)
                differing |= meaning ^ (other or frozenset())
    words = frozenset(n for fact in differing for n in _NAME.findall(fact))
    return Changes(frozenset(changed[0]), frozenset(changed[1]), words)
