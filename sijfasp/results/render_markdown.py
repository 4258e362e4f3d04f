"""A reviewer's summary in Markdown (`explain --format markdown`): criteria met, not met or not
documented, with their evidence, the reasons, exclusions and advisories; and the lines a letter
shares with it (the policy reviewed under, its notices).
"""

from __future__ import annotations

from ..core import textsafe
from ..core.kinds import Determination, ExclusionStatus, NodeKind
from .render_words import (
    NOT_JUDGED,
    advisory_line,
    determination_words,
    effective_words,
    node_label,
    origin_words,
    other_request,
    reasons_words,
    service_words,
    short_id,
    version_ids,
    version_words,
)
from .results import CaseResult, NodeResult, PolicyResult


def markdown_set_line(case: CaseResult, with_hashes: bool = True) -> str:
    """The policy set as a closing line of a Markdown document (a letter names each policy's
    version under its own heading)."""
    if case.policy_set is None:
        return ""
    ids = version_ids(case)
    words = textsafe.markdown(origin_words(case.policy_set))
    return f"Policies: {words}" + (f"; {ids}" if ids and with_hashes else "") + ".\n"


def markdown_explain(case: CaseResult) -> str:
    """A reviewer's summary: criteria met ✓ / not met ✗ / not documented ?, with reasons."""
    out = [
        f"# Criteria review: case {textsafe.markdown(case.case)}",
        "",
        f"Requested service: {textsafe.markdown(service_words(case))}, request date "
        f"{case.request_date.isoformat()}.",
        "The criteria below are found met or not met against the policy text; the decision "
        "rests with the physician reviewer.",
        "",
    ]
    for result in case.results:
        number = f" {result.number}" if result.number else ""
        out += [
            f"## {textsafe.markdown(result.payer)}: {textsafe.markdown(result.title)}",
            "",
            f"{textsafe.markdown(result.document)}{number}{effective_words(result)} "
            f"({textsafe.markdown(result.cite)}, text {short_id(result)}). "
            f"{version_words(result)}".rstrip(),
            "",
            f"**Finding:** {determination_words(result)}.",
            "",
        ]
        out += markdown_notices(result)
        reasons = [f"- {textsafe.markdown(r)}" for r in reasons_words(result)]
        if result.determination in NOT_JUDGED:
            if reasons:
                out += ["### Reasons", "", *reasons, ""]
            continue
        out += ["| | criterion | section | evidence |", "|---|---|---|---|"]
        for node in result.criteria:
            out += _markdown_rows(node, 0)
        out.append("")
        if reasons:
            out += ["### Reasons", "", *reasons, ""]
        documented = [e for e in result.exclusions if e.status == ExclusionStatus.APPLIES]
        unknown = [e for e in result.exclusions if e.status == ExclusionStatus.NOT_DOCUMENTED]
        out += ["### Exclusions", ""]
        out += [
            f"- ✗ {e.cite}: {e.label} (documented: "
            f"{textsafe.markdown('; '.join(e.evidence_words or e.evidence))})"
            for e in documented
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
            # As text and the letter say it: the records and values that make it apply.
            out += [f"- {textsafe.markdown(advisory_line(result, a))}" for a in applying] + [""]
    return "\n".join(out).rstrip() + "\n"


def reviewed_under(result: PolicyResult, number: str) -> str:
    document = textsafe.markdown(result.document)
    cite = textsafe.markdown(result.cite)
    if result.determination == Determination.NO_VERSION:
        return f"Not reviewed under {document}{number} ({cite}): {version_words(result)}"
    return (
        f"Reviewed under {document}{number}, effective {result.effective.isoformat()} "
        f"({cite}, text {short_id(result)}). {version_words(result)}"
    ).rstrip()


def markdown_notices(result: PolicyResult) -> list[str]:
    if not result.notices:
        return []
    return [f"> **Notice:** {textsafe.markdown(n)}" for n in result.notices] + [""]


def _markdown_rows(node: NodeResult, depth: int, ruled_out: bool = False) -> list[str]:
    indent = "&nbsp;" * 4 * depth
    other = other_request(node)
    if other is not None:
        return [f"| - | {indent}{node.label} ({other}) | {node.cite} | |"]
    mark, label = node_label(node, ruled_out)
    label = indent + label
    evidence = textsafe.markdown("; ".join(node.evidence_words or node.evidence))
    rows = [f"| {mark} | {label} | {node.cite} | {evidence} |"]
    for child in node.children:
        rows += _markdown_rows(child, depth + 1, node.kind == NodeKind.NONE)
    return rows
