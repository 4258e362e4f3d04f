"""Cases judged in several threads at once, as the service judges its requests.

Each thread builds its own clingo Controls from the programs parsed once per process and shared
by all threads (solve/solver.py). clingo counts references to its AST nodes without atomic
operations and runs without Python's lock, so two threads giving one node to their builders at
once corrupted it: a wrong program ("invalid ast"), or a crash of the whole process. The
judging runs in a process of its own, so that a crash is reported as one, not as a lost worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from support import REPO

SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    sys.path.insert(0, "benchmarks")
    import generate
    from sijfasp.api import Options, evaluate_case, evaluate_cases
    from sijfasp.cases.case import validate_case
    from sijfasp.cases.reader import read_json_case_text
    from sijfasp.policies.loading import bundled_policies

    THREADS, ROUNDS = 4, int(sys.argv[1])
    policies = list(bundled_policies())
    vocabulary = policies[0].policy.vocabulary
    cases = [
        validate_case(read_json_case_text(generate.json_line(raw), f"case-{n}"), vocabulary, "")
        for n, raw in enumerate(generate.generate(12, 5))
    ]
    options = {"decided": Options(missing=False), "with sets": Options()}
    alone = {
        name: [evaluate_case(policies, case, chosen) for case in cases]
        for name, chosen in options.items()
    }
    problems = []

    def judge(thread):
        for round_number in range(ROUNDS):
            for name, chosen in options.items():
                mine = cases[thread::THREADS]
                try:
                    if round_number % 2:  # the determinations of several cases together
                        found = evaluate_cases([(case, policies) for case in mine], chosen)
                    else:
                        found = [evaluate_case(policies, case, chosen) for case in mine]
                except Exception as error:
                    problems.append(f"{name}: {error!r}")
                    continue
                if found != alone[name][thread::THREADS]:
                    problems.append(f"{name}: thread {thread} judged otherwise")

    threads = [threading.Thread(target=judge, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"judged": len(cases) * THREADS, "problems": problems[:5]}))
    """
)


def _judge_in_threads(rounds: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(rounds)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # A negative status is a signal: the process crashed (a segmentation fault is -11).
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return json.loads(done.stdout.splitlines()[-1])


# Before the programs were shared under a lock, this failed on every one of four runs.
@pytest.mark.slow
def test_cases_judged_in_threads_at_once_are_judged_as_alone():
    found = _judge_in_threads(2)
    assert found["judged"] == 48
    assert found["problems"] == []
