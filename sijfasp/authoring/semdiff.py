"""Semantic diff of two policies (or two versions of one): the criteria that decide some case
differently, each with a minimal witness case, found and checked by the solver.

For each service, cases are built from the solver's minimal sets of missing documentation
(`witness.Writer` turns them into case files) and judged under both policies:

1. each minimal completion of the bare request (and of a request of each side) under one
   policy, and each that does without one of its criteria, judged under the other;
2. a case approvable under both (one policy's completion completed under the other), varied one
   documented item at a time: left out, another value (each threshold of either policy), its
   dates moved before each time window of either policy;
3. each exclusion made to hold (the fewest items, by the solver) on a request, then completed
   under the other policy;
4. the case approvable under both, without the facts a group of alternatives of one policy
   reads (the thigh thrust or the compression test), completed again under the other policy
   without them: a difference two changes away from that case.

A case that the two decide differently (any change of determination) is a witness. Witnesses are
grouped by what decides them (the criteria not met or not documented and the exclusions that
apply, under each policy); a group whose deciders contain a smaller group's, under both
policies, is dropped as showing nothing of its own. Each group's smallest witness (and its
smallest found by moving a record in time, which keeps that record) is made minimal: items are
left out one by one while both determinations and what decides them stay the same, each step
judged by the solver again. A service only one policy addresses is one difference, with one
witness.

When the two share criteria (an edit, or two versions), the search starts from what changed
(`diff_model.changed_nodes`: the nodes whose compiled facts, followed through what they name,
differ): a criterion the same in both decides every case alike, so only the items the changed
ones read are varied, and only the changed ones are searched. Each criterion no judged case was
decided by, or that no difference names, gets a case it alone fails (the rest of its policy met),
from the bare request and from a case the other policy approves; what is still left is reported
as not tried, with why: a criterion no case fails while the others hold is reported with the
others it fails only alongside (`Search.failing_only_with`).

The impact analysis replays the policy tests of the first policy under the second and lists the
tests whose determination changes.

The cases are judged in `diff_judge` (the solver), the report is `diff_model`'s.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.kinds import CountUnit, Determination, FactScope
from ..language.compiler import RecordsLeaf
from ..language.extensions import union
from ..policies.loaded import LoadedPolicy
from ..solve.atoms import FactRef
from .diff_judge import Judge, determination_under
from .diff_model import (
    ALONE,
    ALONE_OTHERS,
    CODE,
    COMPLETION,
    COMPLETIONS,
    EXCLUSION,
    JOINT_CASES,
    KEPT_REQUEST,
    LEFT_OUT,
    MOVED,
    NEWER,
    OTHER_VALUE,
    OTHERS_FACTS,
    SERVICE,
    SIDED_COMPLETIONS,
    WITHOUT,
    CaseData,
    Decider,
    Difference,
    Impact,
    Item,
    Judgement,
    NotTried,
    Report,
    Signature,
    Witness,
    case_key,
    changed_nodes,
    count_items,
    deciding_level,
    fact_groups,
    items_of,
    label,
    load_test_file,
    minimal_signatures,
    same,
    service_nodes,
    signature_of,
    test_file_for,
    unscaled,
    without,
    without_facts,
)

_IMPLICATION = re.compile(r"^implication\((\w+), (\w+)\)\.")


def _fact_item(key: str) -> Item:
    """The item of a case a fact key (`vas_score`, `request.side`) is."""
    fact = FactRef.of_key(key)
    return ("request" if fact.scope == FactScope.REQUEST else "findings", fact.name)


# ------------------------------------------------------------------ the search
class Diff:
    def __init__(self, a: LoadedPolicy, b: LoadedPolicy, date: dt.date | None = None):
        # Both policies' items: a witness may document an item of one policy's extension.
        self.vocabulary = union([a.policy.vocabulary, b.policy.vocabulary])
        self.a, self.b = Judge(a, self.vocabulary), Judge(b, self.vocabulary)
        # The criteria and exclusions of each policy some judged case was decided by.
        self.tried: tuple[set[str], set[str]] = (set(), set())
        # The nodes of each policy the other does not share (an edit's): the search starts
        # from them, and the rest, the same in both, decides every case alike. None: all.
        self.changed = changed_nodes(a, b)
        self.date = date or max(a.policy.effective, b.policy.effective)
        # The record each moved-in-time case moved: its witness keeps it, or it would no
        # longer show the time window.
        self._moved: dict[str, tuple[str, dict[str, Any]]] = {}

    def is_changed(self, side: int, node: str) -> bool:
        return self.changed is None or node in self.changed[side]

    @functools.cached_property
    def _read(self) -> tuple[set[tuple[str, str]], set[str], set[tuple[str, str]]] | None:
        """What the changed nodes of either policy read: (part, name) of the findings and
        request fields (a finding implying one read too), the record kinds, and (kind, field)
        of the record fields their filters test. None: all."""
        if self.changed is None:
            return None
        facts: set[tuple[str, str]] = set()
        kinds: set[str] = set()
        fields: set[tuple[str, str]] = set()
        for side, judge in enumerate((self.a, self.b)):
            compiled = judge.loaded.compiled
            for node in self.changed[side]:
                leaf = compiled.nodes[node].leaf
                if isinstance(leaf, RecordsLeaf):
                    # The set's filters, and those of the sets they order records against
                    # (`date after SET`): the other set's records are read too.
                    pending, seen = [leaf.set_id], set()
                    while pending:
                        set_id = pending.pop()
                        seen.add(set_id)
                        for fl in judge.writer.filters.of(set_id):
                            kinds.add(fl.kind)
                            for test in fl.conditions:
                                fields.add((fl.kind, test.arguments[0].name))
                                if test.name in ("matches", "covers"):
                                    facts.add(("request", test.arguments[1].arguments[0].name))
                                if test.name in ("after", "before"):
                                    target = test.arguments[1].name
                                    if target not in seen:
                                        pending.append(target)
                elif leaf is not None:
                    fact = FactRef.of_key(leaf.key)
                    part = "request" if fact.scope == FactScope.REQUEST else "findings"
                    facts.add((part, fact.name))
            for line in compiled.program.splitlines():
                implied = _IMPLICATION.match(line)
                if implied and ("findings", implied.group(2)) in facts:
                    facts.add(("findings", implied.group(1)))
        return facts, kinds, fields

    def _reads(self, item: Item) -> bool:
        """Whether a changed node reads the item (a request field, finding, record)."""
        read = self._read
        if read is None:
            return True
        if item[0] == "records":
            return item[1] in read[1]
        return (item[0], item[1]) in read[0]

    @functools.cached_property
    def _tested(self) -> dict[tuple[str, str], set[str]]:
        """The record fields a filter of either policy tests, with the values it names."""
        found: dict[tuple[str, str], set[str]] = {}
        for judge in (self.a, self.b):
            for filters in judge.writer.filters.own.values():
                for fl in filters:
                    for test, accepted in zip(fl.conditions, fl.values, strict=True):
                        named = found.setdefault((fl.kind, test.arguments[0].name), set())
                        named.update(accepted)
        return found

    def request(self, service: str, **fields: Any) -> CaseData:
        return {"id": "witness", "request": {"service": service, "date": self.date, **fields}}

    def judged(self, data: CaseData) -> tuple[Judgement, Judgement] | None:
        a, b = self.a.judge(data), self.b.judge(data)
        if a is None or b is None:
            return None
        return a, b

    def determinations(self, data: CaseData) -> tuple[Determination, Determination] | None:
        """Both determinations (None when a policy refuses the case); what decides the case
        under each is noted as tried, having been compared with the other's determination."""
        a, b = self.a.determination(data), self.b.determination(data)
        if a is None or b is None:
            return None
        for judge, tried in zip((self.a, self.b), self.tried, strict=True):
            tried.update(judge.deciding(data))
        return a, b

    def differs(self, data: CaseData) -> tuple[Judgement, Judgement] | None:
        pair = self.determinations(data)
        if pair is None or pair[0] == pair[1]:
            return None
        return self.judged(data)

    def services(self, only: str | None = None) -> tuple[str, ...]:
        if only is not None:
            return (only,)
        return tuple(dict.fromkeys(self.a.services() + self.b.services()))

    def run(self, only: str | None = None) -> list[Difference]:
        found: list[Difference] = []
        for service in self.services(only):
            found += self.service_differences(service)
        return found

    def not_tried(self, only: str | None = None) -> list[NotTried]:
        """Each criterion and exclusion of either policy, of a service both address, that no
        case judged under both was decided by, with why. (A service only one addresses differs
        on every case: its criteria are not listed.)"""
        found = []
        for service in self.services(only):
            if service not in self.a.services() or service not in self.b.services():
                continue
            for index, (side, judge, tried) in enumerate(
                (("a", self.a, self.tried[0]), ("b", self.b, self.tried[1]))
            ):
                for decider in deciding_level(judge.loaded, service):
                    # A node the same in both policies decides every case alike: tried.
                    if decider.id in tried or not self.is_changed(index, decider.id):
                        continue
                    why = judge.not_found.get(decider.id) or (
                        "no case the search built was decided by it"
                        if decider.status == "criterion"
                        else "no case the search built made it apply"
                    )
                    cause = judge.fails_with.get(decider.id)
                    if cause is None:
                        found.append(NotTried(side, service, decider, why))
                        continue
                    compiled, cite = judge.loaded.compiled, judge.loaded.policy.cite
                    alongside = tuple(
                        Decider(n, compiled.cite(n, cite), compiled.nodes[n].label, "criterion")
                        for n in cause.ids
                    )
                    why = f"{why}: {fails_with_words(alongside, cause.together)}"
                    found.append(NotTried(side, service, decider, why, alongside, cause.together))
        return found

    def service_differences(self, service: str) -> list[Difference]:
        in_a, in_b = service in self.a.services(), service in self.b.services()
        if not in_a and not in_b:
            return []
        base = self.request(service)
        if in_a != in_b:
            owner = self.a if in_a else self.b
            for case in owner.completions(base, 1):
                pair = self.differs(case)
                if pair is not None:
                    witness = self._minimal(SERVICE, case, pair)
                    return [Difference(service, *signature_of(pair), (witness,))]
            return []
        # Codes first: a code one policy's service lists and the other's does not.
        candidates: list[tuple[str, CaseData]] = list(self._code_cases(service))
        changed = [
            d.id
            for index, judge in enumerate((self.a, self.b))
            for d in deciding_level(judge.loaded, service)
            if self.is_changed(index, d.id)
        ]
        if not changed and not candidates:
            return []  # every criterion and exclusion the same in both: no case differs
        # An edit (some criteria the same in both) starts from the changed criteria: fewer
        # completions of the bare request, the searches below made for the changed ones.
        many, sided_many = (COMPLETIONS, SIDED_COMPLETIONS) if self.changed is None else (2, 1)
        completions_a = self.a.completions(base, many)
        completions_b = self.b.completions(base, many)
        candidates += [(COMPLETION, c) for c in completions_a + completions_b]
        for side in self._sides():
            sided = self.request(service, side=side)
            for judge in (self.a, self.b):
                candidates += [(COMPLETION, c) for c in judge.completions(sided, sided_many)]
        joint = self._joint(completions_a, completions_b)
        for case in joint[:JOINT_CASES]:
            candidates += list(self._variations(case))
        candidates += [(EXCLUSION, c) for c in self._exclusion_cases(base, service)]
        for index, judge in enumerate((self.a, self.b)):
            nodes = [n for n in service_nodes(judge.loaded, service) if self.is_changed(index, n)]
            candidates += [(WITHOUT, c) for c in judge.searched(base, nodes, avoid=True)]
        # A case approvable under both, with the facts a group of the other's alternatives reads
        # taken out, completed again under one policy without them.
        for case in joint[:JOINT_CASES]:
            for judge, other in ((self.a, self.b), (self.b, self.a)):
                for group in fact_groups(other.loaded, service):
                    if not any(self._reads(_fact_item(key)) for key in group):
                        continue
                    stripped = without_facts(case, group)
                    if stripped != case:
                        candidates += [
                            (OTHERS_FACTS, c) for c in judge.searched_without(stripped, [group])
                        ]
        found = self._differences(service, candidates)
        # Each criterion no case has yet been decided by, or that no difference found names: a
        # case it alone fails, the rest of its policy met, from the bare request and from a case
        # the other policy approves (a criterion of one policy alone, where the other approves).
        named = (
            {n for d in found for n in d.a},
            {n for d in found for n in d.b},
        )
        extra: list[tuple[str, CaseData]] = []
        for index, (judge, tried) in enumerate(((self.a, self.tried[0]), (self.b, self.tried[1]))):
            criteria = [
                d.id for d in deciding_level(judge.loaded, service) if d.status == "criterion"
            ]
            changed = [c for c in criteria if self.is_changed(index, c)]
            untried = {c for c in changed if c not in tried}
            wanted = [c for c in changed if c in untried or c not in named[index]]
            if wanted:
                extra += [(ALONE, c) for c in judge.failing(base, wanted, criteria, untried)]
                for approved in (completions_b, completions_a)[index][:1]:
                    extra += [(ALONE_OTHERS, c) for c in judge.failing(approved, wanted, criteria)]
        if not extra:
            return found
        return self._differences(service, candidates + extra)

    def _code_cases(self, service: str) -> Iterator[tuple[str, CaseData]]:
        """For each procedure code one policy addresses for the service and the other does not,
        a completion under the policy that addresses it, documenting that code."""
        listed = []
        for judge in (self.a, self.b):
            decl = next((s for s in judge.loaded.policy.services if s.name == service), None)
            listed.append(set(decl.cpt_codes) if decl is not None else set())
        if listed[0] == listed[1]:
            return
        table = self.vocabulary.codes_of(service) or ()
        # A service listing no code addresses every code of the vocabulary's table for it.
        addressed = [codes or set(table) for codes in listed]
        for code in sorted(addressed[0] ^ addressed[1]):
            judge = self.a if code in addressed[0] else self.b
            number = int(code) if code.isdigit() else code
            for case in judge.completions(self.request(service, cpt_code=number), 1):
                yield CODE, case

    def _sides(self) -> tuple[str, ...]:
        """The values of the request's side, when the vocabulary has that field."""
        side = self.vocabulary.fact("request", "side")
        return tuple(side.type.values) if side is not None and side.type.kind == "choice" else ()

    def _joint(self, first_a: list[CaseData], first_b: list[CaseData]) -> list[CaseData]:
        """Cases approvable under both: one policy's completion completed under the other."""
        found = []
        pairs = [(c, self.b) for c in first_a[:JOINT_CASES]]
        pairs += [(c, self.a) for c in first_b[:JOINT_CASES]]
        for case, other in pairs:
            for completed in [case] + other.completions(case, 1):
                pair = self.determinations(completed)
                if pair and all(d == Determination.APPROVABLE for d in pair):
                    found.append(completed)
                    break
        return found

    def _variations(self, data: CaseData) -> Iterator[tuple[str, CaseData]]:
        """The case with one item left out, given another value, or moved back in time: each
        an item some changed node reads (an item read by the same nodes in both alone cannot
        make them differ)."""
        for item in items_of(data):
            if self._reads(item):
                yield LEFT_OUT, without(data, item)
        for name, value in (data.get("findings") or {}).items():
            if not self._reads(("findings", name)):
                continue
            for other in self._other_values("finding", name, None, value):
                varied = copy.deepcopy(data)
                varied["findings"][name] = other
                yield OTHER_VALUE, varied
        for name, value in data["request"].items():
            if name in KEPT_REQUEST or not self._reads(("request", name)):
                continue
            for other in self._other_values("request", name, None, value):
                varied = copy.deepcopy(data)
                varied["request"][name] = other
                yield OTHER_VALUE, varied
        for kind, records in (data.get("records") or {}).items():
            if not self._reads(("records", kind)):
                continue
            for index, record in enumerate(records):
                for name, value in record.items():
                    if name in ("start", "end", "date") or (kind, name) not in self._tested:
                        continue
                    if self._read is not None and (kind, name) not in self._read[2]:
                        continue
                    if self.changed is not None and name not in self.changed.words:
                        continue  # a field whose test no edit changed
                    for other in self._other_values("record", name, kind, value):
                        varied = copy.deepcopy(data)
                        varied["records"][kind][index][name] = other
                        yield OTHER_VALUE, varied
                if kind in self._latest_kinds:
                    yield from self._newer(data, kind, record)
                for days in self._window_shifts():
                    varied = copy.deepcopy(data)
                    moved = varied["records"][kind][index]
                    for name in ("start", "end", "date"):
                        if isinstance(moved.get(name), dt.date):
                            moved[name] = moved[name] - dt.timedelta(days=days)
                    self._moved[case_key(varied)] = (kind, copy.deepcopy(moved))
                    yield MOVED, varied

    @functools.cached_property
    def _latest_kinds(self) -> set[str]:
        """The record kinds a `latest of` leaf of either policy reads."""
        return {
            judge.loaded.compiled.record_sets[leaf.set_id].kind
            for judge in (self.a, self.b)
            for info in judge.loaded.compiled.nodes.values()
            if isinstance(leaf := info.leaf, RecordsLeaf) and leaf.unit == CountUnit.LATEST
        }

    def _newer(
        self, data: CaseData, kind: str, record: dict[str, Any]
    ) -> Iterator[tuple[str, CaseData]]:
        """A copy of the record a day later (on the request date at the latest), with one tested
        field given another value: only the latest result would tell the two apart."""
        day = record.get("date")
        if not isinstance(day, dt.date):
            return
        request_date = data["request"]["date"]
        record_kind = self.vocabulary.record(kind)
        for name, value in record.items():
            if name == "date" or (kind, name) not in self._tested or record_kind is None:
                continue
            field_def = record_kind.field(name)
            # Every other value of a choice: an outcome the policies never name (a positive
            # result) is the one that makes the latest attempt fail.
            others = (
                [v for v in field_def.type.values if v != value]
                if field_def is not None and field_def.type.kind == "choice"
                else self._other_values("record", name, kind, value)
            )
            for other in others:
                varied = copy.deepcopy(data)
                newer = {**copy.deepcopy(record), name: other}
                newer["date"] = min(day + dt.timedelta(days=1), request_date)
                varied["records"][kind].append(newer)
                yield NEWER, varied

    def _other_values(self, scope: str, name: str, kind: str | None, value: Any) -> list[Any]:
        vocabulary = self.vocabulary
        definition: Any
        if scope == "record":
            record = vocabulary.record(kind or "")
            definition = record.field(name) if record is not None else None
        else:
            definition = vocabulary.fact(scope, name)
        if definition is None:
            return []
        kind_of = definition.type.kind
        if kind_of == "bool" and isinstance(value, bool):
            return [not value]
        if kind_of == "choice":
            named = self._tested.get((kind or "", name)) if scope == "record" else None
            return [v for v in definition.type.values if v != value and (not named or v in named)]
        if kind_of == "number":
            wanted = set()
            for judge in (self.a, self.b):
                compiled = judge.loaded.compiled
                classes = (
                    compiled.field_classes.get((kind or "", name), ())
                    if scope == "record"
                    else compiled.fact_classes.get(name, ())
                )
                for value_class in classes:
                    wanted.add(value_class.representative)
            numbers = [unscaled(v) for v in sorted(wanted)]
            return [n for n in numbers if n != value]
        return []

    def _window_shifts(self) -> list[int]:
        """Days to move a record back so that it leaves a window of either policy (of a count
        or of a record filter)."""
        shifts = set()
        for judge in (self.a, self.b):
            for info in judge.loaded.compiled.nodes.values():
                leaf = info.leaf
                if isinstance(leaf, RecordsLeaf):
                    if leaf.window:
                        shifts.add(leaf.window + 1)
                    if leaf.window_months:
                        shifts.add(31 * leaf.window_months + 1)
            # A window of a record filter (`date within last 365 days`) too.
            for filters in judge.writer.filters.own.values():
                for fl in filters:
                    for test in fl.conditions:
                        if test.name == "within":
                            shifts.add(abs(test.arguments[1].number) + 1)
                        elif test.name == "within_months":
                            shifts.add(31 * test.arguments[1].number + 1)
        return sorted(shifts)

    def _exclusion_cases(self, base: CaseData, service: str) -> Iterator[CaseData]:
        """Each exclusion of either policy made to hold, then completed under the other."""
        for side, owner, other in ((0, self.a, self.b), (1, self.b, self.a)):
            for node in owner.loaded.compiled.exclusions.get(service, ()):
                if not self.is_changed(side, node):
                    continue
                for triggered in owner.searched(base, [node], avoid=False):
                    yield triggered
                    yield from other.completions(triggered, 1)

    def _differences(
        self, service: str, candidates: list[tuple[str, CaseData]]
    ) -> list[Difference]:
        """Candidates judged differently, grouped by what decides them; the groups made of
        smaller ones dropped; per group the smallest witness, and the smallest with dates moved
        when that is what showed it (a time window), each made minimal."""
        groups: dict[Signature, dict[bool, tuple[str, CaseData]]] = {}
        seen: set[str] = set()
        for origin, case in candidates:
            key = case_key(case)
            if key in seen:
                continue
            seen.add(key)
            pair = self.differs(case)
            if pair is None:
                continue
            kept = groups.setdefault(signature_of(pair), {})
            moved = origin == MOVED
            if moved not in kept or count_items(case) < count_items(kept[moved][1]):
                kept[moved] = (origin, case)
        found: dict[Signature, list[Witness]] = {}
        for signature in minimal_signatures(list(groups)):
            for origin, case in groups[signature].values():
                pair = self.judged(case)
                assert pair is not None
                witness = self._minimal(origin, case, pair)
                found.setdefault(signature_of((witness.a, witness.b)), []).append(witness)
        differences = []
        for signature in minimal_signatures(list(found)):
            witnesses = sorted(found[signature], key=lambda w: (w.origin == MOVED, w.items))
            unique = {case_key(w.case): w for w in witnesses}
            differences.append(Difference(service, *signature, tuple(unique.values())))
        return sorted(differences, key=lambda d: d.name)

    def _minimal(self, origin: str, case: CaseData, pair: tuple[Judgement, Judgement]) -> Witness:
        """Leave items out one by one while both determinations and what decides them stay
        the same, each step judged by the solver again."""
        wanted = signature_of(pair)
        kept = self._moved.get(case_key(case)) if origin == MOVED else None
        # The approvable side first: leaving out what it needs changes it at once, and the
        # other side is then not asked.
        first = self.b if pair[1].approvable() else self.a
        first_wanted = pair[1] if first is self.b else pair[0]
        for item in reversed(items_of(case)):
            if (
                kept is not None
                and item[:2] == ("records", kept[0])
                and (case["records"][item[1]][int(item[2])] == kept[1])
            ):
                continue
            smaller = without(case, item)
            if first.determination(smaller) != first_wanted.determination:
                continue
            if self.determinations(smaller) != (pair[0].determination, pair[1].determination):
                continue
            found = self.judged(smaller)
            if found is not None and same(found, pair) and signature_of(found) == wanted:
                case, pair = smaller, found
        return Witness(origin, pair[0], pair[1], case, count_items(case))


def fails_with_words(alongside: Sequence[Decider], together: bool) -> str:
    """The criteria a criterion fails only alongside, by section and label: `it fails only
    alongside PLT 3 (Pain of at least 5)`."""
    if not alongside:
        return "no case fails it at all"
    named = [f"{d.cite} ({d.label})".strip() for d in alongside]
    if len(named) == 1:
        listed = named[0]
    else:
        listed = ", ".join(named[:-1]) + (" and " if together else " or ") + named[-1]
    return f"it fails only alongside {listed}"


def impact(
    a: LoadedPolicy, b: LoadedPolicy, path: Path, services: Sequence[str] = ()
) -> tuple[list[Impact], int]:
    """The tests of `path` (of `services`, when given) whose determination under `b` differs
    from that under `a`, and how many tests were replayed."""
    test_file = load_test_file(path)
    tests = [t for t in test_file.tests if not services or t.case.service in services]
    changed = []
    for test in tests:
        under_a = determination_under(a, test.case)
        under_b = determination_under(b, test.case)
        if under_a != under_b:
            changed.append(Impact(test.name, under_a, under_b))
    return changed, len(tests)


# ------------------------------------------------------------------ the whole diff
def semantic_diff(
    a: LoadedPolicy,
    b: LoadedPolicy,
    service: str | None = None,
    date: dt.date | None = None,
    with_impact: bool = True,
    search: Diff | None = None,
) -> Report:
    """The differences between a and b. `search`: a Diff of a and b to run (a new one
    otherwise), whose judged cases its caller can then question further."""
    search = search or Diff(a, b, date)
    services = search.services(service)
    report = Report(label(a), label(b), services, search.date)
    report.differences = search.run(service)
    report.not_tried = search.not_tried(service)
    report.unwritten = tuple(sorted(search.a.unwritten | search.b.unwritten))
    if with_impact:
        path = test_file_for(a)
        if path is not None:
            report.impact_file = _shown(path)
            report.impact, report.impact_total = impact(a, b, path, services)
    return report


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
