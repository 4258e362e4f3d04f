"""Results as text, 80 columns: `check`, `explain` and `missing`, the policy set a case was
judged with, and the list of policies.
"""

from __future__ import annotations

import textwrap

from ..core import textsafe
from ..core.kinds import Determination, ExclusionStatus, NodeKind
from ..core.wording import plural, section_key
from .render_needs import collapsed, needs_text
from .render_words import (
    NOT_JUDGED,
    advisory_line,
    determination_words,
    effective_words,
    needs_line,
    node_label,
    origin_words,
    other_request,
    reasons_words,
    section,
    service_words,
    set_words,
    version_ids,
)
from .results import (
    STATUS_WORDS,
    AdvisoryResult,
    CaseResult,
    MissingGroup,
    NodeResult,
    PolicyResult,
    PolicySetInfo,
)

WIDTH = 80
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
        *_wrap(f"{result.payer}: {result.document}{number}", 0, 2),
        *_wrap(f"{result.title}{effective_words(result)}", 2),
    ]
    if result.version_use is not None:
        lines += _wrap(result.version_use.reason(plain=True), 2, 4)
    lines.append(f"  determination: {determination_words(result)}")
    for notice in result.notices:
        lines += _wrap(f"notice: {notice}", 2, 4)
    return lines


def _case_header(case: CaseResult) -> list[str]:
    case_id = textsafe.terminal(case.case)
    service = textsafe.terminal(service_words(case))
    return [
        *_wrap(f"case {case_id}: {service}, requested {case.request_date.isoformat()}", 0, 2),
        "",
    ]


LEGEND = "  (✓ met, ✗ not met, ? not documented)"


def _node_line(
    result: PolicyResult, node: NodeResult, indent: int, ruled_out: bool = False
) -> list[str]:
    mark, label = node_label(node, ruled_out)
    head = f"{mark} {section(result, node.cite)}: {label}"
    return _wrap(head, indent, indent + 2)


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
                    f"! excluded by {section(result, exclusion.cite)}: {exclusion.label}", 2, 4
                )
        for advisory in result.advisories:
            if advisory.applies:
                lines += _wrap(_advisory_short(result, advisory), 2, 4)
        lines += _reasons_text(result)
        lines += _missing_summary(result)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _advisory_short(result: PolicyResult, advisory: AdvisoryResult) -> str:
    """An advisory in `check`: one line with its topic, the documented values and, when it
    recommends a criterion, that criterion's status; `explain` gives its full label."""
    topic = section(result, advisory.cite).rsplit(", ", 1)[-1]
    parts = list(advisory.evidence_words or advisory.evidence)
    if advisory.recommendation:
        parts.append(f"recommendation {STATUS_WORDS[advisory.recommendation]}")
    return f"advisory, {topic}: " + ("; ".join(parts) or advisory.label)


def _reasons_text(result: PolicyResult) -> list[str]:
    if not result.reasons:
        return []
    lines = ["  reasons:"]
    for reason in reasons_words(result):
        lines += _wrap(f"- {textsafe.terminal(reason)}", 4, 6)
    return lines


def _missing_summary(result: PolicyResult) -> list[str]:
    if result.determination == Determination.NOT_MET and result.new_attempts_grouped:
        return [
            "  for approval, new attempts would have to show (documented ones do not count);",
            "  where options are listed, any one of them is enough",
            *_groups_text(result, result.new_attempts_grouped, "new"),
        ]
    if result.determination != Determination.INCOMPLETE:
        return []
    if not result.grouped and not result.missing_complete:  # check --no-missing
        return ["  missing documentation: not worked out (--no-missing)"]
    return [
        "  missing documentation: every criterion below; where options are listed,",
        "  any one of them is enough",
        *_groups_text(result, result.grouped),
    ]


def _groups_text(
    result: PolicyResult, groups: tuple[MissingGroup, ...], more: str = "more"
) -> list[str]:
    """Each criterion still open, then what each of its parts needs (`more`: "new" for new
    attempts)."""
    lines: list[str] = []
    for group in groups:
        lines += _wrap(f"{section(result, group.criterion)}: {group.label}", 4, 6)
        for leaf in group.leaves():
            lines += _leaf_group_text(result, group, leaf, more)
    return lines


def _leaf_group_text(
    result: PolicyResult, top: MissingGroup, group: MissingGroup, more: str = "more"
) -> list[str]:
    cited = section(result, group.criterion)
    where = "" if group.criterion == top.criterion or not cited else f" [{cited}]"
    options = collapsed(group)
    if len(options) == 1 and group.options_complete and group.choose == 1:
        option = options[0]
        return _wrap("- " + needs_text(option, more) + where, 6, 8)
    how = f"any {group.choose} of" if group.choose > 1 else "one of"
    head = f"{group.label}{where}, {how}" if group is not top else how
    lines = _wrap(f"- {head}:", 6, 8)
    for letter, option in zip("abcdefghijklmnopqrstuvwxyz", options[:MAX_OPTIONS_SHOWN]):
        lines += _wrap(f"({letter}) " + needs_text(option, more), 8, 12)
    hidden = len(options) - MAX_OPTIONS_SHOWN
    if hidden > 0:
        lines += _wrap(f"... and {plural(hidden, 'other option')}", 8)
    elif not group.options_complete:
        lines += _wrap("... and other options", 8)
    return lines


def text_explain(case: CaseResult) -> str:
    lines = _case_header(case)
    for result in case.results:
        lines += _header(result)
        if result.determination in NOT_JUDGED:
            lines += _reasons_text(result)  # a procedure code the service does not list
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
            lines += _wrap(f"{word}: {section(result, exclusion.cite)} {exclusion.label}", 4, 6)
        applying = [a for a in result.advisories if a.applies]
        lines.append(
            "  advisory recommendations (never decide the case):"
            if applying
            else "  advisory recommendations: none apply"
        )
        for advisory in applying:
            lines += _wrap(f"- {advisory_line(result, advisory)}", 4, 6)
        lines += _reasons_text(result)
        lines += _missing_summary(result)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _tree_text(
    result: PolicyResult, node: NodeResult, indent: int, ruled_out: bool = False
) -> list[str]:
    other = other_request(node)
    if other is not None:
        # No ✗: the alternative does not apply to this request, nothing in it is missing.
        return _wrap(f"- {section(result, node.cite)}: {node.label} ({other})", indent, indent + 2)
    lines = _node_line(result, node, indent, ruled_out)
    if node.kind == NodeKind.AT_LEAST:
        lines += _wrap(
            f"· {node.met_count} of {len(node.children)} met, {node.minimum} needed",
            indent + 2,
            indent + 4,
        )
    for evidence in node.evidence_words or node.evidence:
        lines += _wrap(f"· {textsafe.terminal(evidence)}", indent + 2, indent + 4)
    for child in node.children:
        lines += _tree_text(result, child, indent + 2, node.kind == NodeKind.NONE)
    return lines


def text_missing(case: CaseResult, listed: bool = False) -> str:
    """Missing documentation; `listed`: the user asked for the sets themselves (--enumerate)."""
    lines = _case_header(case)
    for result in case.results:
        lines += _header(result)
        if result.determination == Determination.NOT_MET and result.new_attempts_grouped:
            lines.append("  nothing to add: the documented facts do not meet the policy")
            lines += _missing_summary(result)
            lines.append("")
            continue
        if needs_line(result):
            lines += ["  to add: the plan's line of business, which decides the version", ""]
            continue
        if result.determination != Determination.INCOMPLETE:
            lines.append(
                "  nothing to add: "
                + (
                    "the case is already approvable"
                    if result.determination == Determination.APPROVABLE
                    else "no version of this policy applies on the date"
                    if result.determination == Determination.NO_VERSION
                    else "no added documentation can change this determination"
                )
            )
            if result.determination in (Determination.NOT_MET, Determination.EXCLUDED):
                lines += _reasons_text(result)  # what was found, for physician review
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
        sections = sorted({section(result, i.criterion) for i in items} - {""}, key=section_key)
        if sections:  # a citation is never printed empty
            lines += _wrap(f"[{'; '.join(sections)}]", 7)
    if not result.missing_complete:
        more = f"{total - len(sets)} more sets" if total is not None else "more sets"
        lines += _wrap(f"... and {more} (a larger --enumerate N lists more)", 4)
    return lines


def text_set_line(case: CaseResult) -> str:
    """The policy set a case was judged with (how it was found, not its folder) and each
    policy's version with the short id of its text; one line, or a few when wrapped."""
    if case.policy_set is None:
        return ""
    ids = version_ids(case)
    line = f"policies: {origin_words(case.policy_set)}" + (f"; {ids}" if ids else "")
    return "\n".join(_wrap(textsafe.terminal(line), 0, 2)) + "\n"


def text_policies(policies: list[dict], info: PolicySetInfo | None = None) -> str:
    lines = []
    if info is not None:
        lines += _wrap(textsafe.terminal(f"policy set: {set_words(info)}"), 0, 2) + [""]
    for p in policies:
        lines.append(f"{p['id']} version {p['version']}: {p['payer']}")
        lines += _wrap(
            f"{p['title']} ({p['document']}{' ' + p['number'] if p['number'] else ''})",
            2,
        )
        plans = "".join(f"; {d} for {plan}" for plan, d in p["effective_for"].items())
        lines += _wrap(f"effective {p['effective']}{plans} ({p['file']})", 2, 4)
        for s in p["services"]:
            cpt = f"CPT {', '.join(s['cpt_codes'])}" if s["cpt_codes"] else "no CPT code listed"
            lines += _wrap(f"- {s['service']} ({cpt}) [{s['section']}]", 2, 4)
        if p.get("source_sha256"):
            lines.append(f"  sha256 {p['source_sha256']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
