"""A seeded mix of realistic cases, as JSON Lines, for the benchmark and `sijfasp batch`.

    python benchmarks/generate.py --count 1000 --seed 1 > cases.jsonl
    python benchmarks/generate.py --count 5 --seed 1 --records 1000   # every case 1,000 records

Each case starts from one of the example cases (examples/cases), so every determination is
represented, then gets documented changes drawn from the seed:
- findings left undocumented (from none to most of them) or contradicted (a low pain score,
  too short a duration, a negative test);
- an exclusion (a generalized pain disorder), another service (open, revision);
- a chart of a few records, or a long one: therapy courses that overlap (physical therapy in
  blocks, medication refills, heat, a brace), repeated imaging of the lumbar spine and hip,
  therapeutic injections elsewhere; now and then a home exercise program with some of its
  optional fields not documented.
The same seed gives the same cases, byte for byte.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "cases"

# How often each kind of change is drawn, per case.
P_DROP_FINDINGS = 0.35
P_FEW_MISSING = 0.8  # of the cases with findings left out, those missing only one to three
P_CONTRADICT = 0.15
P_EXCLUSION = 0.06
P_OTHER_SERVICE = 0.08
P_HOME_PROGRAM = 0.08
# Chart lengths: most charts are short; some are long (an EHR extract with a record a visit).
CHART_LENGTHS = ((0.80, 0, 0), (0.15, 10, 60), (0.05, 60, 300))

CONTRADICTIONS = (
    ("vas_score", 3),
    ("pain_duration_months", 4),
    ("odi_score", 12),
    ("thigh_thrust_test", False),
    ("compression_test", False),
    ("pain_radiating", True),
    ("other_pain_sources_excluded", False),
)
HOME_PROGRAM_FIELDS = (
    "patient_specific",
    "instructed_with_redemonstration",
    "compliance_documented",
    "prescription_documented",
    "follow_up_documented",
)


def _examples() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        case.setdefault("id", path.stem)
        cases.append(case)
    return cases


def _day(request: dt.date, rng: random.Random, back_min: int, back_max: int) -> dt.date:
    return request - dt.timedelta(days=rng.randint(back_min, back_max))


def chart_records(request: dt.date, count: int, rng: random.Random) -> dict[str, list[dict]]:
    """`count` extra records of the kinds a long chart holds, overlapping in time."""
    therapy: list[dict] = []
    imaging: list[dict] = []
    injection: list[dict] = []
    for _ in range(count):
        roll = rng.random()
        start = _day(request, rng, 30, 900)
        if roll < 0.45:
            end = min(request, start + dt.timedelta(days=rng.randint(7, 60)))
            kind = rng.choice(("physical_therapy", "ice_or_heat", "activity_modification"))
            therapy.append({"kind": kind, "start": start, "end": end})
        elif roll < 0.70:
            end = min(request, start + dt.timedelta(days=rng.randint(20, 90)))
            kind = rng.choice(("nsaid_or_analgesic", "adjunctive_medication", "sij_belt_or_brace"))
            therapy.append({"kind": kind, "start": start, "end": end})
        elif roll < 0.90:
            region, findings = rng.choice(
                (
                    ("lumbar_spine", ["neural_compression_excluded"]),
                    ("hip", ["hip_osteoarthritis_excluded"]),
                    ("pelvis", ["hip_pathology_excluded"]),
                )
            )
            imaging.append(
                {
                    "date": start,
                    "modality": rng.choice(("xray", "mri")),
                    "region": region,
                    "findings": findings,
                }
            )
        else:
            injection.append(
                {
                    "date": start,
                    "purpose": "therapeutic",
                    "site": "other",
                    "image_guided": rng.random() < 0.5,
                    "contrast_enhanced": False,
                    "agent": "corticosteroid",
                    "lasting_relief": False,
                }
            )
    return {"therapy": therapy, "imaging": imaging, "injection": injection}


def _add_records(case: dict, extra: dict[str, list[dict]]) -> None:
    records = case.get("records") or {}
    case["records"] = records
    for kind, items in extra.items():
        if items:
            records[kind] = list(records.get(kind) or []) + items


def record_count(case: dict) -> int:
    return sum(len(items or []) for items in (case.get("records") or {}).values())


def vary(base: dict, index: int, seed: int, rng: random.Random) -> dict:
    """One case: `base` with documented changes drawn from `rng`."""
    case = copy.deepcopy(base)
    case["id"] = f"gen-{seed}-{index:06d}-{base['id']}"
    findings = case.get("findings") or {}
    case["findings"] = findings
    request = case["request"]
    if rng.random() < P_DROP_FINDINGS and findings:
        # Most charts miss a few findings; some miss most of them.
        names = sorted(findings)
        dropped = rng.randint(1, 3) if rng.random() < P_FEW_MISSING else len(names)
        for name in rng.sample(names, rng.randint(1, min(dropped, len(names)))):
            del findings[name]
    if rng.random() < P_CONTRADICT:
        name, value = rng.choice(CONTRADICTIONS)
        findings[name] = value
    if rng.random() < P_EXCLUSION:
        findings["generalized_pain_disorder"] = True
    if rng.random() < P_OTHER_SERVICE:
        request["service"] = rng.choice(("open_sij_fusion", "revision_sij_fusion"))
    date = request["date"]
    if rng.random() < P_HOME_PROGRAM:
        program = {
            "kind": "home_exercise_program",
            "start": _day(date, rng, 120, 300),
            "end": _day(date, rng, 10, 60),
        }
        for name in HOME_PROGRAM_FIELDS:
            if rng.random() < 0.6:
                program[name] = rng.random() < 0.8
        _add_records(case, {"therapy": [program]})
    low, high = _chart_length(rng.random())
    if high:
        _add_records(case, chart_records(date, rng.randint(low, high), rng))
    return case


def _chart_length(roll: float) -> tuple[int, int]:
    for share, low, high in CHART_LENGTHS:
        if roll < share:
            return low, high
        roll -= share
    return CHART_LENGTHS[-1][1:]


def with_records(base: dict, count: int, seed: int, index: int = 0) -> dict:
    """`base` padded (or cut) to exactly `count` records: for time against chart length."""
    rng = random.Random(f"{seed}-{index}-{count}")
    case = copy.deepcopy(base)
    case["id"] = f"records-{count}-{index:03d}-{base['id']}"
    missing = count - record_count(case)
    if missing > 0:
        _add_records(case, chart_records(case["request"]["date"], missing, rng))
    while record_count(case) > count:
        records = case["records"]
        kind = max(records, key=lambda k: len(records[k] or []))
        records[kind] = records[kind][:-1]
    return case


def home_courses(request: dt.date, count: int, rng: random.Random) -> list[dict]:
    """`count` overlapping home exercise programs, each with some optional fields undocumented.

    The worst case for days of therapy: every course may still join the therapy sets once its
    missing fields are filled in, so the days they cover are open in the hypothetical world.
    """
    courses = []
    for _ in range(count):
        start = _day(request, rng, 60, 400)
        program = {
            "kind": "home_exercise_program",
            "start": start,
            "end": min(request, start + dt.timedelta(days=rng.randint(20, 120))),
        }
        left_out = rng.sample(HOME_PROGRAM_FIELDS, rng.randint(1, len(HOME_PROGRAM_FIELDS)))
        for name in HOME_PROGRAM_FIELDS:
            if name not in left_out:
                program[name] = rng.random() < 0.9
        courses.append(program)
    return courses


def with_home_courses(base: dict, count: int, seed: int, index: int = 0) -> dict:
    """`base` with `count` more overlapping home exercise programs (see `home_courses`)."""
    rng = random.Random(f"home-{seed}-{index}-{count}")
    case = copy.deepcopy(base)
    case["id"] = f"home-{count}-{index:03d}-{base['id']}"
    _add_records(case, {"therapy": home_courses(case["request"]["date"], count, rng)})
    return case


def open_home_chart(base: dict, courses: int, seed: int, records: int | None = None) -> dict:
    """The worst chart for days of therapy: `base` without its therapy records, plus `courses`
    overlapping home exercise programs with none of their optional fields documented, padded
    to `records` records when given."""
    case = copy.deepcopy(base)
    records_of = case.get("records") or {}
    case["records"] = {kind: items for kind, items in records_of.items() if kind != "therapy"}
    rng = random.Random(f"open-{seed}-{courses}")
    programs = home_courses(case["request"]["date"], courses, rng)
    for program in programs:
        for name in HOME_PROGRAM_FIELDS:
            program.pop(name, None)
    _add_records(case, {"therapy": programs})
    case["id"] = f"open-home-{courses}-{base['id']}"
    return with_records(case, records, seed) if records else case


def generate(count: int, seed: int, records: int | None = None) -> Iterator[dict]:
    rng = random.Random(seed)
    examples = _examples()
    for index in range(count):
        base = examples[index % len(examples)] if index < len(examples) else rng.choice(examples)
        if records is None:
            yield vary(base, index, seed, rng)
        else:
            yield with_records(base, records, seed, index)


def json_line(case: dict) -> str:
    return json.dumps(case, default=str, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="how many cases (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")
    parser.add_argument(
        "--records", type=int, default=None, help="give every case exactly this many records"
    )
    parser.add_argument("--out", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        for case in generate(args.count, args.seed, args.records):
            out.write(json_line(case))
    finally:
        if args.out:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
