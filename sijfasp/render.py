"""Results as text (80 columns), JSON, or Markdown.

Wording rule: the tool finds criteria met or not met; it never says a request is denied, since a
physician reviewer makes that decision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import textwrap
from typing import Any

from . import textsafe
from .kinds import Determination, ExclusionStatus, NodeKind, Status
from .results import STATUS_WORDS, CaseResult, MissingGroup, MissingItem, NodeResult, PolicyResult

WIDTH = 80
MARKS = {Status.MET: "✓", Status.NOT_MET: "✗", Status.NOT_DOCUMENTED: "?"}
DETERMINATION_WORDS = {
    Determination.APPROVABLE: "approvable: every criterion is met as documented",
    Determination.EXCLUDED: "excluded: an exclusion of the policy is documented",
    Determination.NOT_MET: "not met: documented facts contradict a criterion",
    Determination.INCOMPLETE: "incomplete: criteria are not documented yet",
    Determination.NOT_APPLICABLE: "not applicable: the policy does not address this service",
}
MAX_SETS_SHOWN = 5
MAX_OPTIONS_SHOWN = 8
MAX_ITEMS_LISTED = 8


def _wrap(text: str, indent: int, hanging: int | None = None) -> list[str]:
    hanging = indent if hanging is None else hanging
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * hanging,
        break_on_hyphens=False,
    ) or [""]


def _header(result: PolicyResult) -> list[str]:
    number = f" {result.number}" if result.number else ""
    lines = [
        *_wrap(f"{result.policy}: {result.payer}, {result.document}{number}", 0, 2),
        *_wrap(f"{result.title}, effective {result.effective.isoformat()}", 2),
    ]
    lines.append(f"  determination: {DETERMINATION_WORDS[result.determination]}")
    return lines


def _case_header(case: CaseResult) -> list[str]:
    case_id = textsafe.terminal(case.case)
    return [
        *_wrap(f"case {case_id}: {case.service} requested {case.request_date.isoformat()}", 0, 2),
        "",
    ]


LEGEND = "  (✓ met, ✗ not met, ? not documented)"


def _node_line(result: PolicyResult, node: NodeResult, indent: int) -> list[str]:
    head = f"{MARKS[node.status]} {_section(result, node.cite)}: {node.label}"
    return _wrap(head, indent, indent + 2)


# ------------------------------------------------------------------ text
def text_check(case: CaseResult) -> str:
    lines = _case_header(case)
    for result in case.results:
        lines += _header(result)
        if result.criteria:
            lines.append(LEGEND)
        for node in result.criteria:
            lines += _node_line(result, node, 2)
        for exclusion in result.exclusions:
            if exclusion.status == ExclusionStatus.APPLIES:
                lines += _wrap(
                    f"! excluded by {_section(result, exclusion.cite)}: {exclusion.label}", 2, 4
                )
        lines += _reasons_text(result)
        lines += _missing_summary(result)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _reasons_text(result: PolicyResult) -> list[str]:
    if not result.reasons:
        return []
    lines = ["  reasons:"]
    for reason in result.reasons:
        lines += _wrap(f"- {reason}", 4, 6)
    return lines


def _missing_summary(result: PolicyResult) -> list[str]:
    if result.determination != Determination.INCOMPLETE:
        return []
    lines = [
        "  missing documentation: every criterion below; where options are listed,",
        "  any one of them is enough",
    ]
    for group in result.grouped:
        lines += _wrap(f"{_section(result, group.criterion)}: {group.label}", 4, 6)
        for leaf in group.leaves():
            lines += _leaf_group_text(result, group, leaf)
    return lines


def _phrases(option: tuple[MissingItem, ...]) -> list[tuple[MissingItem, str]]:
    """Each item of an option in words; the records added for one criterion read as one."""
    runs: dict[str, list[MissingItem]] = {}
    for item in option:
        if item.records is not None:
            runs.setdefault(item.criterion_id, []).append(item)
    phrases: list[tuple[MissingItem, str]] = []
    for item in option:
        if item.records is None:
            phrases.append((item, item.need))
        elif runs[item.criterion_id][0] is item:
            run = runs[item.criterion_id]
            noun = item.fact if len(run) == 1 else f"{item.fact} records"
            what = item.records if len(run) > 1 else item.records.replace(", each on", ", on")
            phrases.append((item, f"{_count_word(len(run))} more {noun}: {what}"))
    return phrases


def needs_text(option: tuple[MissingItem, ...]) -> str:
    return " AND ".join(phrase for _, phrase in _phrases(option))


def _count_word(number: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(number, str(number))


def _plural(number: int, word: str) -> str:
    return f"{number} {word}" + ("" if number == 1 else "s")


def _section(result: PolicyResult, cite: str) -> str:
    """A criterion's section without the policy's own name, which the header already gives."""
    return cite[len(result.cite) :].strip() if cite.startswith(result.cite) else cite


def _leaf_group_text(result: PolicyResult, top: MissingGroup, group: MissingGroup) -> list[str]:
    where = "" if group.criterion == top.criterion else f" [{_section(result, group.criterion)}]"
    if len(group.options) == 1 and group.options_complete and group.choose == 1:
        option = group.options[0]
        return _wrap("- " + needs_text(option) + where, 6, 8)
    how = f"any {group.choose} of" if group.choose > 1 else "one of"
    head = f"{group.label}{where}, {how}" if group is not top else how
    lines = _wrap(f"- {head}:", 6, 8)
    for letter, option in zip("abcdefghijklmnopqrstuvwxyz", group.options[:MAX_OPTIONS_SHOWN]):
        lines += _wrap(f"({letter}) " + needs_text(option), 8, 12)
    hidden = len(group.options) - MAX_OPTIONS_SHOWN
    if hidden > 0:
        lines += _wrap(f"... and {_plural(hidden, 'other option')}", 8)
    elif not group.options_complete:
        lines += _wrap("... and other options", 8)
    return lines


def text_explain(case: CaseResult) -> str:
    lines = _case_header(case)
    for result in case.results:
        lines += _header(result)
        if result.determination == Determination.NOT_APPLICABLE:
            lines.append("")
            continue
        lines.append("  criteria " + LEGEND.strip() + ":")
        for node in result.criteria:
            lines += _tree_text(result, node, 4)
        lines.append("  exclusions checked:")
        for exclusion in result.exclusions:
            word = {
                ExclusionStatus.APPLIES: "! documented",
                ExclusionStatus.DOCUMENTED_ABSENT: "- absent",
                ExclusionStatus.NOT_DOCUMENTED: "- not documented",
            }[exclusion.status]
            lines += _wrap(f"{word}: {_section(result, exclusion.cite)} {exclusion.label}", 4, 6)
        applying = [a for a in result.advisories if a.applies]
        lines.append(
            "  advisory recommendations (never decide the case):"
            if applying
            else "  advisory recommendations: none apply"
        )
        for advisory in applying:
            state = (
                f" (recommendation {STATUS_WORDS[advisory.recommendation]})"
                if advisory.recommendation
                else ""
            )
            lines += _wrap(
                f"- {_section(result, advisory.cite)}: {advisory.label}{state}; "
                + "; ".join(advisory.evidence),
                4,
                6,
            )
        lines += _reasons_text(result)
        lines += _missing_summary(result)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _tree_text(result: PolicyResult, node: NodeResult, indent: int) -> list[str]:
    lines = _node_line(result, node, indent)
    if node.kind == NodeKind.AT_LEAST:
        lines += _wrap(
            f"· {node.met_count} of {len(node.children)} met, {node.minimum} needed",
            indent + 2,
            indent + 4,
        )
    for evidence in node.evidence:
        lines += _wrap(f"· {evidence}", indent + 2, indent + 4)
    for child in node.children:
        lines += _tree_text(result, child, indent + 2)
    return lines


def text_missing(case: CaseResult, listed: bool = False) -> str:
    """Missing documentation; `listed`: the user asked for the sets themselves (--enumerate)."""
    lines = _case_header(case)
    for result in case.results:
        lines += _header(result)
        if result.determination != Determination.INCOMPLETE:
            lines.append(
                "  nothing to add: "
                + (
                    "the case is already approvable"
                    if result.determination == Determination.APPROVABLE
                    else "no added documentation can change this determination"
                )
            )
            lines.append("")
            continue
        lines += _missing_summary(result)
        lines += _sets_text(result, listed)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _sets_text(result: PolicyResult, listed: bool) -> list[str]:
    """The full minimal sets: all of them when few and short, or as many as were asked for."""
    total = result.missing_total
    sets = result.missing
    if not listed and (not result.missing_complete or any(len(s) > MAX_ITEMS_LISTED for s in sets)):
        count = f"{total} minimal sets" if total is not None else "Many minimal sets"
        return _wrap(
            f"{count} of missing documentation in all, combining the options above; "
            "list them with --enumerate N",
            2,
            4,
        )
    count = f"{total}" if total is not None else f"more than {len(sets)}"
    lines = [
        f"  minimal sets of missing documentation: {count}"
        + (", fewest items first" if len(sets) > 1 else "")
    ]
    for number, items in enumerate(sets, start=1):
        lines += _wrap(f"{number}. {needs_text(items)}", 4, 7)
        sections = sorted({_section(result, i.criterion) for i in items})
        lines += _wrap(f"[{'; '.join(sections)}]", 7)
    if not result.missing_complete:
        more = f"{total - len(sets)} more sets" if total is not None else "more sets"
        lines += _wrap(f"... and {more} (a larger --enumerate N lists more)", 4)
    return lines


def text_policies(policies: list[dict]) -> str:
    lines = []
    for p in policies:
        lines.append(f"{p['id']}: {p['payer']}")
        lines += _wrap(
            f"{p['title']} ({p['document']}{' ' + p['number'] if p['number'] else ''}"
            f"), effective {p['effective']}",
            2,
        )
        for s in p["services"]:
            cpt = f"CPT {s['cpt']}" if s["cpt"] else "no CPT code listed"
            lines += _wrap(f"- {s['service']} ({cpt}) [{s['section']}]", 2, 4)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------ markdown
def markdown_explain(case: CaseResult) -> str:
    """A reviewer's summary: criteria met ✓ / not met ✗ / not documented ?, with reasons."""
    out = [
        f"# Criteria review: case {textsafe.markdown(case.case)}",
        "",
        f"Requested service: `{case.service}`, request date {case.request_date.isoformat()}.",
        "The criteria below are found met or not met against the policy text; the decision "
        "rests with the physician reviewer.",
        "",
    ]
    for result in case.results:
        number = f" {result.number}" if result.number else ""
        out += [
            f"## {result.payer}: {result.title}",
            "",
            f"{result.document}{number}, effective {result.effective.isoformat()} "
            f"(`{result.policy}`).",
            "",
            f"**Finding:** {DETERMINATION_WORDS[result.determination]}.",
            "",
        ]
        if result.determination == Determination.NOT_APPLICABLE:
            continue
        out += ["| | criterion | section | evidence |", "|---|---|---|---|"]
        for node in result.criteria:
            out += _markdown_rows(node, 0)
        out.append("")
        if result.reasons:
            out += ["### Reasons", ""] + [f"- {r}" for r in result.reasons] + [""]
        documented = [e for e in result.exclusions if e.status == ExclusionStatus.APPLIES]
        unknown = [e for e in result.exclusions if e.status == ExclusionStatus.NOT_DOCUMENTED]
        out += ["### Exclusions", ""]
        out += [
            f"- ✗ {e.cite}: {e.label} (documented: {'; '.join(e.evidence)})" for e in documented
        ]
        if unknown:
            out.append(
                "- Not documented either way: "
                + "; ".join(f"{e.cite} ({e.label})" for e in unknown)
            )
        if not documented and not unknown:
            out.append("- None documented.")
        out.append("")
        applying = [a for a in result.advisories if a.applies]
        if applying:
            out += ["### Advisory recommendations", ""]
            out += [f"- {a.cite}: {a.label}" for a in applying] + [""]
    return "\n".join(out).rstrip() + "\n"


def _markdown_rows(node: NodeResult, depth: int) -> list[str]:
    label = ("&nbsp;" * 4 * depth) + node.label
    evidence = "; ".join(node.evidence).replace("|", "/")
    rows = [f"| {MARKS[node.status]} | {label} | {node.cite} | {evidence} |"]
    for child in node.children:
        rows += _markdown_rows(child, depth + 1)
    return rows


def markdown_missing(case: CaseResult) -> str:
    """A request for additional information a payer could send to the provider office."""
    out = [
        f"# Request for additional information: case {textsafe.markdown(case.case)}",
        "",
        f"Requested service: `{case.service}`, request date {case.request_date.isoformat()}.",
        "",
    ]
    for result in case.results:
        number = f" {result.number}" if result.number else ""
        out += [
            f"## {result.payer}: {result.title}",
            "",
            f"{result.document}{number}, effective {result.effective.isoformat()}.",
            "",
        ]
        if result.determination != Determination.INCOMPLETE:
            out += [
                f"No additional information is requested under this policy "
                f"({DETERMINATION_WORDS[result.determination]}).",
                "",
            ]
            continue
        out += [
            "To complete the review, please document each of the following. Where "
            "options are listed, any one of them is enough.",
            "",
        ]
        out += _markdown_groups(result.grouped, 0)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _markdown_groups(groups: tuple[MissingGroup, ...], depth: int) -> list[str]:
    out: list[str] = []
    pad = "  " * depth
    for group in groups:
        if group.groups:
            out.append(f"{pad}- **{group.label}** ({group.criterion}):")
            out += _markdown_groups(group.groups, depth + 1)
            continue
        how = (
            f"any {group.choose} of"
            if group.choose > 1
            else ("one of" if len(group.options) > 1 else "")
        )
        out.append(f"{pad}- **{group.label}** ({group.criterion})" + (f", {how}:" if how else ":"))
        for option in group.options:
            text = "; and ".join(f"{item.prompt} ({phrase})" for item, phrase in _phrases(option))
            out.append(f"{pad}  - {text}")
        if not group.options_complete:
            out.append(f"{pad}  - ... or another option")
    return out


# ------------------------------------------------------------------ json
def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _item_json(item: MissingItem) -> dict:
    return {
        "fact": item.fact,
        "need": item.need,
        "criterion": item.criterion,
        "prompt": item.prompt,
        "item": item.key,
        "criterion_id": item.criterion_id,
        "cost": item.cost,
    }


def _group_json(group: MissingGroup) -> dict:
    data: dict[str, Any] = {
        "criterion": group.criterion,
        "criterion_id": group.criterion_id,
        "label": group.label,
    }
    if group.groups:
        data["all_of"] = [_group_json(g) for g in group.groups]
    else:
        data["choose"] = group.choose
        data["options"] = [[_item_json(i) for i in option] for option in group.options]
        data["options_complete"] = group.options_complete
    return data


def result_json(result: PolicyResult) -> dict:
    return {
        "policy": result.policy,
        "payer": result.payer,
        "title": result.title,
        "document": result.document,
        "number": result.number,
        "effective": result.effective.isoformat(),
        "service": result.service,
        "determination": result.determination,
        "criteria": _plain(result.criteria),
        "exclusions": _plain(result.exclusions),
        "advisories": _plain(result.advisories),
        "reasons": list(result.reasons),
        "missing": [[_item_json(i) for i in items] for items in result.missing],
        "missing_complete": result.missing_complete,
        "missing_total": result.missing_total,
        "missing_grouped": [_group_json(g) for g in result.grouped],
        "missing_grouped_exact": result.grouped_exact,
    }


def json_case(case: CaseResult) -> str:
    data = {
        "case": case.case,
        "service": case.service,
        "request_date": case.request_date.isoformat(),
        "results": [result_json(r) for r in case.results],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def json_policies(policies: list[dict]) -> str:
    return json.dumps({"policies": policies}, indent=2, ensure_ascii=False) + "\n"
