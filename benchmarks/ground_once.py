"""The floor of a design that grounds each policy once: how long one solve with assumptions takes.

    python benchmarks/ground_once.py [--solves 2000] [--seed 1]

In that design a case would be reduced beforehand to the values of externals, and deciding it
would be one solve call with assumptions on a program grounded once per policy. This script
measures that solve call alone: each policy's criteria tree (its compiled facts) with the
combinations, statuses and determination of `policy.lp`, and the truth of every leaf (as
documented, in the hypothetical world, and whether it could still hold) left to externals
that random assumptions fix, seeded. It decides nothing real: leaf values are drawn at random,
and no reduction of a case or explanation is done; the time it prints is what the solver's
side of such a design could not go below, from Python, on this machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import clingo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# The criteria tree of policy.lp (combinations, three-valued status, the determination) over
# leaves whose truth comes from externals instead of from the case's facts.
TREE = """
world(doc; hyp).
#external leaf_holds(W, N) : leaf(N, _), world(W).
#external leaf_possible(N) : leaf(N, _).
#external requested(S) : service(S).
holds(W, N) :- leaf_holds(W, N).
possible(N) :- leaf_possible(N).
holds(W, N) :- node(N, all), world(W), holds(W, C) : child(N, C).
holds(W, N) :- node(N, any), child(N, C), holds(W, C).
holds(W, N) :- node(N, at_least(K)), world(W), #count{ C : child(N, C), holds(W, C) } >= K.
holds(W, N) :- node(N, none), world(W), not holds(W, C) : child(N, C).
possible(N) :- holds(doc, N).
possible(N) :- node(N, all), possible(C) : child(N, C).
possible(N) :- node(N, any), child(N, C), possible(C).
possible(N) :- node(N, at_least(K)), #count{ C : child(N, C), possible(C) } >= K.
possible(N) :- node(N, none), not holds(doc, C) : child(N, C).
status(N, met) :- node(N, _), holds(doc, N).
status(N, not_documented) :- node(N, _), not holds(doc, N), possible(N).
status(N, not_met) :- node(N, _), not possible(N).
applicable :- requested(S).
meets(W) :- applicable, world(W), requested(S), holds(W, N) : top(S, N).
excluded(W, X) :- requested(S), excludes(S, X), holds(W, X).
any_exclusion(W) :- excluded(W, _).
reachable :- meets(hyp), not any_exclusion(hyp).
determination(not_applicable) :- not applicable.
determination(excluded) :- applicable, any_exclusion(doc).
determination(approvable) :- applicable, not any_exclusion(doc), meets(doc).
determination(incomplete) :- applicable, not any_exclusion(doc), not meets(doc), reachable.
determination(not_met) :- applicable, not any_exclusion(doc), not meets(doc), not reachable.
#show status/2.
#show determination/1.
#show excluded/2.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solves", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from sijfasp.policies.loading import bundled_policies

    total = 0.0
    for loaded in bundled_policies():
        control = clingo.Control(["--warn=none"])
        control.add("base", [], loaded.compiled.program)
        control.add("base", [], TREE)
        control.ground([("base", [])])
        externals = [a for a in control.symbolic_atoms if a.is_external]
        for atom in externals:
            control.assign_external(atom.literal, None)  # free: the assumptions decide
        leaves = [a.literal for a in externals if a.symbol.name != "requested"]
        services = [a.literal for a in externals if a.symbol.name == "requested"]
        rng = random.Random(args.seed)
        draws = [
            [lit if rng.random() < 0.7 else -lit for lit in leaves]
            + [lit if i == 0 else -lit for i, lit in enumerate(services)]
            for _ in range(args.solves)
        ]
        shown = 0
        started = time.perf_counter()
        for assumptions in draws:
            models: list[list[clingo.Symbol]] = []
            control.solve(
                assumptions=assumptions, on_model=lambda m: models.append(m.symbols(shown=True))
            )
            shown += len(models[0])
        elapsed = time.perf_counter() - started
        total += elapsed / args.solves
        print(
            f"{loaded.policy.id}: {len(externals)} externals, "
            f"{elapsed / args.solves * 1e6:,.0f} µs a solve with the model read "
            f"({shown // args.solves} atoms shown)"
        )
    print(f"all {len(bundled_policies())} policies: {1 / total:,.0f} cases/s at most")
    return 0


if __name__ == "__main__":
    sys.exit(main())
