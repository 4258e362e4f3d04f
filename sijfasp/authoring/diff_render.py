"""The semantic diff for people and programs: text, Markdown, JSON, and witness case files.

Everything shown was found and checked by the solver in `semdiff`; nothing here decides.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..core import textsafe
from .diff_model import CaseData, Decider, Difference, Report, Witness

CASES_FOLDER = "cases"


# ------------------------------------------------------------------ witness files
def witness_name(index: int, difference: Difference, number: int = 0) -> str:
    """A file and case id for a witness: `01-therapeutic_injection_trial`."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", difference.name)[:60].strip("_.-") or "difference"
    suffix = f"-{number + 1}" if number else ""
    return f"{index:02d}-{slug}{suffix}"


def witness_case(case: CaseData, name: str) -> CaseData:
    """The witness as a case file holds it: its id first, then request, findings, records."""
    data: CaseData = {"id": name, "request": case["request"]}
    for key in ("findings", "records"):
        if case.get(key):
            data[key] = case[key]
    return data


class _PlainDumper(yaml.SafeDumper):
    """Every value written out: a case refuses YAML anchors and aliases, which PyYAML writes for
    one date object used twice (a latest result dated on the request date)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def case_yaml(case: CaseData) -> str:
    return yaml.dump(case, Dumper=_PlainDumper, sort_keys=False, default_flow_style=None, width=100)


def witnesses(report: Report) -> list[tuple[str, Difference, Witness]]:
    """Every witness of the report with its name, in report order."""
    found = []
    for index, difference in enumerate(report.differences, start=1):
        for number, witness in enumerate(difference.witnesses):
            found.append((witness_name(index, difference, number), difference, witness))
    return found


def write_cases(report: Report, folder: Path) -> list[Path]:
    """Each witness as `<folder>/<name>.yaml`, a case file `sijfasp check` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, _, witness in witnesses(report):
        path = folder / f"{name}.yaml"
        path.write_text(case_yaml(witness_case(witness.case, name)), encoding="utf-8")
        written.append(path)
    return written


def test_entry(name: str, witness: Witness, under_a: bool) -> dict[str, Any]:
    """A policy-test entry (docs/authoring.md) reusing the witness file from a test file's
    folder: its expected determination under the first or the second policy."""
    judgement = witness.a if under_a else witness.b
    return {
        "name": f"diff witness {name}",
        "case": f"{CASES_FOLDER}/{name}.yaml",
        "expect": judgement.determination.value,
    }


# ------------------------------------------------------------------ text
def _decider_line(decider: Decider) -> str:
    return textsafe.terminal(decider.text())


def text(report: Report) -> str:
    lines = [
        f"Semantic diff: {report.a} -> {report.b}",
        f"services: {', '.join(report.services)}; request date of the witnesses: "
        f"{report.date.isoformat()}",
        "",
    ]
    lines.append(_headline(report))
    lines += [textsafe.terminal(line) for line in _unwritten(report)]
    lines += [textsafe.terminal(line) for line in _not_tried_lines(report)]
    for name, difference, witness in witnesses(report):
        lines += ["", f"{name}  ({difference.service})"]
        for policy, judgement in ((report.a, witness.a), (report.b, witness.b)):
            lines.append(f"  {policy}: {judgement.determination.value}")
            lines += [f"    {_decider_line(d)}" for d in judgement.deciders]
        lines.append(f"  witness: {_items(witness.items)}, {witness.origin}")
        lines += ["    " + line for line in _summary(witness.case)]
    lines += ["", *_impact_text(report)]
    return "\n".join(lines).rstrip() + "\n"


def _summary(case: CaseData) -> list[str]:
    """The witness in one line per part: request, findings, each record kind."""
    request = ", ".join(f"{k}={_plain(v)}" for k, v in case["request"].items())
    lines = [f"request: {request}"]
    findings = case.get("findings") or {}
    if findings:
        lines.append("findings: " + ", ".join(f"{k}={_plain(v)}" for k, v in findings.items()))
    for kind, records in (case.get("records") or {}).items():
        for record in records:
            fields = ", ".join(f"{k}={_plain(v)}" for k, v in record.items())
            lines.append(f"{kind}: {fields}")
    return [textsafe.terminal(line) for line in lines]


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


def _impact_text(report: Report) -> list[str]:
    if report.impact_file is None:
        return [f"impact: no policy tests of {report.a} to replay"]
    lines = [
        f"impact: the {report.impact_total} tests of {report.impact_file} replayed under "
        f"{report.b}: {_changes(len(report.impact))}"
    ]
    lines += [f"  {textsafe.terminal(i.test)}: {i.a.value} -> {i.b.value}" for i in report.impact]
    return lines


# ------------------------------------------------------------------ Markdown
def markdown(report: Report) -> str:
    md = textsafe.markdown
    lines = [
        f"# Semantic diff: {md(report.a)} → {md(report.b)}",
        "",
        f"Services: {', '.join(md(s) for s in report.services)}. Request date of the "
        f"witnesses: {report.date.isoformat()}.",
        "",
    ]
    headline = _headline(report)
    lines += [headline[0].upper() + headline[1:] + ".", ""]
    if report.unwritten:
        lines += [md(" ".join(_unwritten(report))), ""]
    if report.not_tried:
        lines += ["Not tried:", ""]
        lines += [f"- {md(line.strip())}" for line in _not_tried_lines(report)[1:]]
        lines.append("")
    for name, difference, witness in witnesses(report):
        lines += [f"## {md(name)} ({md(difference.service)})", ""]
        lines += ["| Policy | Determination | Decided by |", "|---|---|---|"]
        for policy, judgement in ((report.a, witness.a), (report.b, witness.b)):
            decided = "<br>".join(md(d.text()) for d in judgement.deciders) or "—"
            lines.append(f"| {md(policy)} | {judgement.determination.value} | {decided} |")
        lines += [
            "",
            f"Witness ({_items(witness.items)}; {md(witness.origin)}), `{name}.yaml`:",
            "",
            "```yaml",
            case_yaml(witness_case(witness.case, name)).rstrip(),
            "```",
            "",
        ]
    lines += ["## Impact", ""]
    if report.impact_file is None:
        lines += [f"No policy tests of {md(report.a)} to replay.", ""]
    else:
        lines += [
            f"The {report.impact_total} tests of `{report.impact_file}` replayed under "
            f"{md(report.b)}: {_changes(len(report.impact))}.",
            "",
        ]
        if report.impact:
            lines += [f"| Test | {md(report.a)} | {md(report.b)} |", "|---|---|---|"]
            lines += [f"| {md(i.test)} | {i.a.value} | {i.b.value} |" for i in report.impact]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------ JSON
def _decider_json(decider: Decider) -> dict[str, str]:
    return {
        "id": decider.id,
        "cite": decider.cite,
        "label": decider.label,
        "status": decider.status,
    }


def to_json(report: Report) -> str:
    differences = []
    for index, difference in enumerate(report.differences, start=1):
        shown = []
        for number, witness in enumerate(difference.witnesses):
            name = witness_name(index, difference, number)
            shown.append(
                {
                    "name": name,
                    "origin": witness.origin,
                    "items": witness.items,
                    "a": {
                        "determination": witness.a.determination.value,
                        "decided_by": [_decider_json(d) for d in witness.a.deciders],
                    },
                    "b": {
                        "determination": witness.b.determination.value,
                        "decided_by": [_decider_json(d) for d in witness.b.deciders],
                    },
                    "case": witness_case(witness.case, name),
                    "test_entries": {
                        "a": test_entry(name, witness, True),
                        "b": test_entry(name, witness, False),
                    },
                }
            )
        differences.append(
            {
                "service": difference.service,
                "a": sorted(difference.a),
                "b": sorted(difference.b),
                "witnesses": shown,
            }
        )
    data = {
        "a": report.a,
        "b": report.b,
        "services": list(report.services),
        "date": report.date.isoformat(),
        "differences": differences,
        "unwritten": list(report.unwritten),
        "all_tried": report.all_tried(),
        "not_tried": [
            {
                "policy": n.side,
                "service": n.service,
                **_decider_json(n.criterion),
                "why": n.why,
                # The criteria it fails only alongside: any one of them, or all together.
                "fails_only_with": [d.id for d in n.fails_with],
                "fails_only_with_all": n.together,
            }
            for n in report.not_tried
        ],
        "impact": {
            "tests": report.impact_file,
            "replayed": report.impact_total,
            "changed": [{"test": i.test, "a": i.a.value, "b": i.b.value} for i in report.impact],
        },
    }
    return json.dumps(data, indent=2, default=_plain, ensure_ascii=False) + "\n"


def _headline(report: Report) -> str:
    """How many differences; "no differences" only when every criterion of both was tried."""
    count = len(report.differences)
    if count:
        return f"{count} difference{'s' if count != 1 else ''}"
    if report.all_tried():
        return "no differences"
    untried = len(report.not_tried)
    return (
        f"no differences found, but {untried} criteri{'a were' if untried != 1 else 'on was'} "
        "not tried: the two may still differ there"
    )


def _not_tried_lines(report: Report) -> list[str]:
    """Each criterion or exclusion no judged case was decided by, with its policy and why."""
    if not report.not_tried:
        return []
    lines = [f"not tried ({len(report.not_tried)}):"]
    for n in report.not_tried:
        policy = report.a if n.side == "a" else report.b
        c = n.criterion
        lines.append(f"  {policy}, {c.status} {c.cite} {c.id}: {c.label}: {n.why}")
    return lines


def _unwritten(report: Report) -> list[str]:
    """The searches left out because a set of missing documentation could not be written."""
    if not report.unwritten:
        return []
    return [
        "some sets of missing documentation could not be written as cases, so were not "
        "searched: " + "; ".join(report.unwritten)
    ]


def _items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def _changes(count: int) -> str:
    if count == 1:
        return "1 changes its determination"
    return f"{count} change their determination"
