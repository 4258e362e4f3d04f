"""Regenerate the tables in docs/case-format.md and docs/policies.md.

The tables are written between `<!-- BEGIN generated: NAME -->` and `<!-- END generated: NAME -->`
markers, from the bundled vocabulary and policies; the text around them is left alone.

    python docs/tables.py          # rewrite the tables in place
    python docs/tables.py --check  # exit 1 if a table is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sijfasp.language.semantics import FactDef, FieldDef, RecordKind, ValueType
from sijfasp.policies.loading import bundled_policies

DOCS = Path(__file__).resolve().parent


def _type(value_type: ValueType) -> str:
    if value_type.kind == "number":
        return f"number {value_type.low}..{value_type.high}"
    if value_type.kind == "choice":
        return "one of " + ", ".join(f"`{v}`" for v in value_type.values)
    if value_type.kind == "set":
        return "list of " + ", ".join(f"`{v}`" for v in value_type.values)
    if value_type.kind == "date":
        return "date"
    return "true / false"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def request_table() -> str:
    vocabulary = bundled_policies()[0].policy.vocabulary
    rows = ["| Field | Type | Required | Meaning |", "|---|---|---|---|"]
    for fact in vocabulary.request_fields:
        rows.append(
            f"| `{fact.name}` | {_type(fact.type)} | {'yes' if fact.required else 'no'} "
            f"| {_cell(fact.means)} |"
        )
    return "\n".join(rows)


def _finding_row(fact: FactDef) -> str:
    unit = f" ({fact.unit})" if fact.unit else ""
    return f"| `{fact.name}` | {_type(fact.type)}{unit} | {_cell(fact.means)} |"


def findings_table() -> str:
    vocabulary = bundled_policies()[0].policy.vocabulary
    rows = ["| Finding | Type | Meaning |", "|---|---|---|"]
    rows += [_finding_row(f) for f in vocabulary.findings]
    return "\n".join(rows)


def _field_row(field: FieldDef) -> str:
    if field.derived:
        status = "derived (never written)"
    elif field.required:
        status = "yes"
    else:
        status = "no"
    if field.only_for:
        status += f"; only for `{field.only_for}`"
    unit = f" ({field.unit})" if field.unit else ""
    return f"| `{field.name}` | {_type(field.type)}{unit} | {status} | {_cell(field.means)} |"


def record_table(kind: RecordKind) -> str:
    rows = [
        f"`{kind.name}`: {kind.means}.",
        "",
        "| Field | Type | Required | Meaning |",
        "|---|---|---|---|",
    ]
    rows += [_field_row(f) for f in kind.fields]
    return "\n".join(rows)


def records_tables() -> str:
    vocabulary = bundled_policies()[0].policy.vocabulary
    return "\n\n".join(record_table(k) for k in vocabulary.records)


def _criteria_rows(
    compiled,
    node_id: str,
    depth: int,
    rows: list[str],
    shown: set[str],
    services: str | None = None,
) -> None:
    """One row per node, members indented under it. A node listed before in the same policy's
    tables (a `define` used twice) is named again without its members. `services` adds a last
    column (the exclusions table): filled on the top row, empty on member rows."""
    info = compiled.nodes[node_id]
    indent = "&nbsp;&nbsp;" * depth
    again = node_id in shown and bool(info.children)
    test = (
        f"`{info.condition}`"
        if info.condition
        else {
            "all": "all of",
            "any": "any of",
            "none": "none of",
            "at_least": f"at least {info.minimum} of",
        }.get(info.kind, info.kind)
    )
    if again:
        test += " (members listed above)"
    row = f"| {indent}`{node_id}` | {_cell(info.section)} | {_cell(info.label)} | {_cell(test)} |"
    if services is not None:
        row += f" {services} |"
    rows.append(row)
    shown.add(node_id)
    if again:
        return
    for child in info.children:
        _criteria_rows(compiled, child, depth + 1, rows, shown, None if services is None else "")


def policy_tables(policy_id: str) -> str:
    loaded = next(p for p in bundled_policies() if p.policy.id == policy_id)
    policy, compiled = loaded.policy, loaded.compiled
    out: list[str] = []
    shown: set[str] = set()
    for service in policy.services:
        cpt = f", CPT {', '.join(service.cpt_codes)}" if service.cpt_codes else ""
        out += [
            f"#### Criteria for `{service.name}` [{service.section}{cpt}]",
            "",
            "| Criterion | Section | Label | Test |",
            "|---|---|---|---|",
        ]
        for top in compiled.top[service.name]:
            _criteria_rows(compiled, top, 0, out, shown)
        out.append("")
    exclusions: dict[str, list[str]] = {}
    for service, ids in compiled.exclusions.items():
        for node_id in ids:
            exclusions.setdefault(node_id, []).append(service)
    out += [
        "#### Exclusions",
        "",
        "| Exclusion | Section | Label | Test | Services |",
        "|---|---|---|---|---|",
    ]
    for node_id, services in exclusions.items():
        _criteria_rows(compiled, node_id, 0, out, shown, ", ".join(f"`{s}`" for s in services))
    advisories: dict[str, tuple[str, list[str]]] = {}
    for service, items in compiled.advisories.items():
        for advisory_id, when_id, _ in items:
            advisories.setdefault(advisory_id, (when_id, []))[1].append(service)
    if advisories:
        out += [
            "",
            "#### Advisories (never part of the determination)",
            "",
            "| Advisory | Section | Label |",
            "|---|---|---|",
        ]
        for advisory_id, (when_id, _) in advisories.items():
            info = compiled.nodes[when_id]
            out.append(f"| `{advisory_id}` | {_cell(info.section)} | {_cell(info.label)} |")
    return "\n".join(out).rstrip()


def _policy_tables() -> dict:
    """One table per bundled policy, found rather than named: a new policy gets its own."""
    return {
        loaded.policy.id: (lambda policy_id=loaded.policy.id: policy_tables(policy_id))
        for loaded in bundled_policies()
    }


GENERATED = {
    "case-format.md": {
        "request": request_table,
        "findings": findings_table,
        "records": records_tables,
    },
    "policies.md": _policy_tables(),
}
# Tables whose markers may be missing: a policy added since the file was written gets a new
# section at the end (its prose is the author's to write).
APPENDED = {"policies.md"}


def _markers(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- BEGIN generated: {re.escape(name)} -->\n)(.*?)"
        rf"(<!-- END generated: {re.escape(name)} -->)",
        re.S,
    )


def refresh(text: str, tables: dict, append: bool = False) -> str:
    for name, make in tables.items():
        pattern = _markers(name)
        if not pattern.search(text):
            if not append:
                raise SystemExit(f"no markers for the table '{name}'")
            text = (
                text.rstrip("\n")
                + f"\n\n### `{name}`\n\n<!-- BEGIN generated: {name} -->\n"
                + f"<!-- END generated: {name} -->\n"
            )
        text = pattern.sub(lambda m: m.group(1) + make() + "\n" + m.group(3), text)
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for file_name, tables in GENERATED.items():
        path = DOCS / file_name
        text = path.read_text(encoding="utf-8")
        new = refresh(text, tables, append=file_name in APPENDED)
        if new != text:
            stale.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if check else 'updated'}: {path.relative_to(DOCS.parent)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
