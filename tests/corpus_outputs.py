"""The outputs a generated corpus is compared on, as plain JSON-ready data.

    python tests/corpus_outputs.py            # rewrites tests/golden/corpus/outputs.jsonl

For each generated case (benchmarks/generate.py, fixed seed) and each bundled policy: the
determination, every criterion's and exclusion's status, the solver's documented counts and days
of every count and duration leaf, the ranked minimal sets (item keys, complete, total), the
grouped view's options (item keys), and the days each `more_days` item still lacks in the
models that ask for it. Wording is left out on purpose: this compares what is decided. Each set
keeps its total cost: where a list is cut short, which of several equally good sets make the
cut is the solver's choice, so a comparison there looks at sizes and costs (see
test_corpus_agreement).
Regenerate only when a change of meaning is intended, and say so in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import generate  # noqa: E402

from sijfasp.api import Options, evaluate  # noqa: E402
from sijfasp.cases.case import restrict_case, validate_case  # noqa: E402
from sijfasp.cases.reader import read_json_case_text  # noqa: E402
from sijfasp.core.kinds import CountUnit  # noqa: E402
from sijfasp.language.compiler import RecordsLeaf  # noqa: E402
from sijfasp.policies.loaded import LoadedPolicy  # noqa: E402
from sijfasp.policies.loading import bundled_policies  # noqa: E402
from sijfasp.results.results import MissingGroup, MissingItem, NodeResult  # noqa: E402
from sijfasp.solve import solver  # noqa: E402
from sijfasp.solve.atoms import MoreDays, Snapshot, World, item_key  # noqa: E402
from sijfasp.solve.batched import determine_many  # noqa: E402
from sijfasp.solve.case_facts import case_symbols  # noqa: E402

GOLDEN = REPO_ROOT / "tests" / "golden" / "corpus" / "outputs.jsonl"
SEED = 11
COUNT = 200
HOME_CASES = 24  # cases with 1 to 4 home exercise programs whose optional fields are missing


def corpus() -> list[dict]:
    """The generated mix, then examples with open home programs (days of therapy in play)."""
    examples = generate._examples()
    home = [
        generate.with_home_courses(examples[i % len(examples)], 1 + i % 4, SEED, i)
        for i in range(HOME_CASES)
    ]
    return list(generate.generate(COUNT, SEED)) + home


def _statuses(nodes: tuple[NodeResult, ...], into: dict[str, str]) -> dict[str, str]:
    for node in nodes:
        into[node.id] = node.status.value
        _statuses(node.children, into)
    return into


def _set(items: tuple[MissingItem, ...]) -> dict[str, Any]:
    return {"items": [item.key for item in items], "cost": sum(item.cost for item in items)}


def _groups(groups: tuple[MissingGroup, ...]) -> list[Any]:
    return [
        {
            "criterion": g.criterion_id,
            "choose": g.choose,
            "complete": g.options_complete,
            "options": [_set(option) for option in g.options],
            "groups": _groups(g.groups),
        }
        for g in groups
    ]


def _leaf_figures(loaded: LoadedPolicy, snapshot: Snapshot) -> dict[str, int]:
    """The documented count or days of every count and duration leaf, as the solver gives them
    in the determination's model."""
    figures = {}
    for node_id, node in loaded.compiled.nodes.items():
        leaf = node.leaf
        if not isinstance(leaf, RecordsLeaf):
            continue
        if leaf.unit == CountUnit.DAYS:
            figures[node_id] = snapshot.days(World.DOC, node_id)
        elif leaf.unit in (CountUnit.RECORDS, CountUnit.DATES) and not leaf.apart:
            figures[node_id] = snapshot.count(World.DOC, node_id)
        # A latest result or a spaced count has no count_of: its statuses say what it found.
    return figures


def _days_lacking(loaded: LoadedPolicy, facts: list) -> list[list[Any]]:
    """For each of the first minimal sets that adds days: its items, the leaf, its days in hyp.

    Which sets come first among equally good ones is the solver's choice, so a comparison
    looks at the sets both runs found.
    """
    abducer = solver.Abducer(loaded.compiled, facts)
    found = []
    for model in abducer.minimal_sets(limit=10).models:
        keys = " ".join(sorted(item_key(item) for item in model.items()))
        for item in model.items():
            if isinstance(item, MoreDays):
                found.append([keys, item.node, model.days(World.HYP, item.node)])
    return sorted(found)


def outputs(raw_cases: list[dict], policies: list[LoadedPolicy]) -> list[dict]:
    vocabulary = policies[0].policy.vocabulary
    cases = [
        validate_case(read_json_case_text(generate.json_line(raw), raw["id"]), vocabulary)
        for raw in raw_cases
    ]
    # The determinations' models of every case under each policy, from one grounding per
    # chunk of cases, as `check` of several cases has them (solve/batched.py: the same atoms as
    # each case alone, tests/test_batched.py); a case is grounded alone for its sets only.
    restricted = {
        loaded.policy.id: [case_symbols(restrict_case(c, loaded.policy.vocabulary)) for c in cases]
        for loaded in policies
    }
    models = {
        loaded.policy.id: determine_many(loaded.compiled, restricted[loaded.policy.id])
        for loaded in policies
    }
    results = []
    for number, (raw, case) in enumerate(zip(raw_cases, cases, strict=True)):
        unrestricted: list | None = None  # the case's own facts, for its days lacking
        for loaded in policies:
            model = models[loaded.policy.id][number]
            facts = restricted[loaded.policy.id][number]
            result = evaluate(loaded, case, Options(), determined=model, facts=facts)
            entry: dict[str, Any] = {
                "case": raw["id"],
                "policy": loaded.policy.id,
                "determination": result.determination.value,
                "statuses": _statuses(result.criteria, {}),
                "exclusions": {e.id: e.status.value for e in result.exclusions},
                "figures": _leaf_figures(loaded, model),
                "sets": [_set(s) for s in result.missing],
                "complete": result.missing_complete,
                "total": result.missing_total,
                "grouped": _groups(result.grouped),
                "grouped_exact": result.grouped_exact,
            }
            if result.determination.value == "incomplete":
                if unrestricted is None:
                    unrestricted = list(case_symbols(case))
                entry["days_lacking"] = _days_lacking(loaded, unrestricted)
            results.append(entry)
    return results


def main() -> int:
    policies = list(bundled_policies())
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    data = outputs(corpus(), policies)
    lines = [json.dumps(entry, sort_keys=True, separators=(",", ":")) for entry in data]
    GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(data)} outputs written to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
