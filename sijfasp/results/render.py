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

from ..core import textsafe
from ..core.kinds import Determination, ExclusionStatus, NodeKind, Status
from ..core.wording import article, lower_first, plural, section_key
from .results import (
    STATUS_WORDS,
    AdvisoryResult,
    CaseResult,
    MissingGroup,
    MissingItem,
    NodeResult,
    PolicyResult,
    PolicySetInfo,
)

WIDTH = 80
MARKS = {Status.MET: "✓", Status.NOT_MET: "✗", Status.NOT_DOCUMENTED: "?"}
DETERMINATION_WORDS = {
    Determination.APPROVABLE: "approvable: every criterion is met as documented",
    Determination.EXCLUDED: "excluded: an exclusion of the policy is documented",
    Determination.NOT_MET: "not met: documented facts contradict a criterion",
    Determination.INCOMPLETE: "incomplete: criteria are not documented yet",
    Determination.NOT_APPLICABLE: "not applicable: the policy does not address this service",
    Determination.NO_VERSION: "no version in effect: the case is not judged under this policy",
}
# Determinations under which the policy's criteria were not looked at, so none are shown.
NOT_JUDGED = (Determination.NOT_APPLICABLE, Determination.NO_VERSION)
MAX_SETS_SHOWN = 5
MAX_OPTIONS_SHOWN = 8
MAX_ITEMS_LISTED = 8
DEFAULT_REPLY_DAYS = 7  # the standard decision window for a non-urgent prior authorization


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
        *_wrap(f"{result.title}{_effective(result)}", 2),
    ]
    if result.version_use is not None:
        lines += _wrap(result.version_use.reason(plain=True), 2, 4)
    lines.append(f"  determination: {_determination_words(result)}")
    for notice in result.notices:
        lines += _wrap(f"notice: {notice}", 2, 4)
    return lines


def _effective(result: PolicyResult) -> str:
    """`, effective DATE` of the version used; nothing when no version was in effect."""
    if result.determination == Determination.NO_VERSION:
        return ""
    return f", effective {result.effective.isoformat()}"


def _version_words(result: PolicyResult) -> str:
    """The version used and why, for Markdown (empty for a result without version data)."""
    use = result.version_use
    if use is None:
        return ""
    reason = use.reason(plain=True)
    return textsafe.markdown(reason[0].upper() + reason[1:]) + "."


def _service_words(case: CaseResult) -> str:
    """The requested service as the policies name it (its identifier only if none judged it)."""
    label = next(
        (r.service_label for r in case.results if r.service_label not in ("", case.service)), ""
    )
    return label or case.service.replace("_", " ")


def _case_header(case: CaseResult) -> list[str]:
    case_id = textsafe.terminal(case.case)
    service = textsafe.terminal(_service_words(case))
    return [
        *_wrap(f"case {case_id}: {service}, requested {case.request_date.isoformat()}", 0, 2),
        "",
    ]


LEGEND = "  (✓ met, ✗ not met, ? not documented)"


# Under a none-of criterion a member is what must not hold: met is against the request, not met
# in its favour. The mark follows what is favourable, and the words say which way it went, so a
# favourable fact never stands next to ✗.
RULED_OUT = {
    Status.MET: ("✗", "applies: "),
    Status.NOT_MET: ("✓", "does not apply: "),
    Status.NOT_DOCUMENTED: ("?", ""),
}


# A none-of member whose label says it is documented negative: ruled out when it does not hold.
NEGATIVE_SUFFIX = ": documented negative"


def _mark(node: NodeResult, ruled_out: bool) -> tuple[str, str]:
    return RULED_OUT[node.status] if ruled_out else (MARKS[node.status], "")


def _node_label(node: NodeResult, ruled_out: bool) -> tuple[str, str]:
    """A node's mark and label in words; a none-of member reads as what was found."""
    mark, words = _mark(node, ruled_out)
    if ruled_out and node.label.endswith(NEGATIVE_SUFFIX):
        what = node.label.removesuffix(NEGATIVE_SUFFIX)
        said = {
            Status.MET: ": documented as absent",
            Status.NOT_MET: ": not documented as absent",
            Status.NOT_DOCUMENTED: ": not documented either way",
        }[node.status]
        return mark, what + said
    if ruled_out and node.status == Status.MET:
        return mark, f"{node.label} (documented, against the request)"
    if ruled_out and node.status == Status.NOT_MET:
        return mark, f"{node.label}: not the case as documented"
    return mark, words + node.label


def other_request(node: NodeResult) -> str | None:
    """For an alternative meant for another kind of request (the joint-by-joint documentation
    of a bilateral request, when the request is one-sided), the words that say so; else None."""
    if node.kind != NodeKind.ALL or node.status != Status.NOT_MET:
        return None
    for child in node.children:
        if (
            child.kind == NodeKind.LEAF
            and (child.condition or "").startswith("request.")
            and child.status == Status.NOT_MET
        ):
            asked = child.condition_words or child.label
            if asked.endswith(": bilateral"):
                return "not for a one-sided request"
            if asked.endswith(("left or right", "right or left")):
                return "not for a bilateral request"
            return "not for this request"
    return None


def _node_line(
    result: PolicyResult, node: NodeResult, indent: int, ruled_out: bool = False
) -> list[str]:
    mark, label = _node_label(node, ruled_out)
    head = f"{mark} {_section(result, node.cite)}: {label}"
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
        for advisory in result.advisories:
            if advisory.applies:
                lines += _wrap(_advisory_short(result, advisory), 2, 4)
        lines += _reasons_text(result)
        lines += _missing_summary(result)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _advisory_line(result: PolicyResult, advisory: AdvisoryResult) -> str:
    """One advisory on one line: its section, what it is about, and the documented values."""
    state = (
        f" (recommendation {STATUS_WORDS[advisory.recommendation]})"
        if advisory.recommendation
        else ""
    )
    evidence = "; ".join(advisory.evidence_words or advisory.evidence)
    return f"{_section(result, advisory.cite)}: {advisory.label}{state}" + (
        f"; {evidence}" if evidence else ""
    )


def _advisory_short(result: PolicyResult, advisory: AdvisoryResult) -> str:
    """An advisory in `check`: one line with its topic, the documented values and, when it
    recommends a criterion, that criterion's status; `explain` gives its full label."""
    topic = _section(result, advisory.cite).rsplit(", ", 1)[-1]
    parts = list(advisory.evidence_words or advisory.evidence)
    if advisory.recommendation:
        parts.append(f"recommendation {STATUS_WORDS[advisory.recommendation]}")
    return f"advisory, {topic}: " + ("; ".join(parts) or advisory.label)


def reasons_words(result: PolicyResult) -> tuple[str, ...]:
    """The reasons for people (a result built without them: as they are)."""
    return result.reasons_words or result.reasons


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
            "  for approval, new attempts would have to show (the documented ones failed);",
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
        lines += _wrap(f"{_section(result, group.criterion)}: {group.label}", 4, 6)
        for leaf in group.leaves():
            lines += _leaf_group_text(result, group, leaf, more)
    return lines


def _phrases(option: tuple[MissingItem, ...], more: str = "more") -> list[tuple[MissingItem, str]]:
    """Each item of an option in words; the records added for one criterion read as one."""
    # Keyed by the records too: a record of the set another is ordered against, asked for the
    # same criterion, is its own phrase.
    runs: dict[tuple[str, str], list[MissingItem]] = {}
    for item in option:
        if item.records is not None:
            runs.setdefault((item.criterion_id, item.records), []).append(item)
    phrases: list[tuple[MissingItem, str]] = []
    asks = [item for item in option if item.on_record is not None]
    if asks:
        phrases += [(asks[0], lower_first(text)) for text in record_asks_text(asks)]
    for item in option:
        if item.on_record is not None:
            continue
        if item.records is None:
            phrases.append((item, item.plain or item.need))
        elif runs[(item.criterion_id, item.records)][0] is item:
            run = runs[(item.criterion_id, item.records)]
            noun = item.fact if len(run) == 1 else f"{item.fact} records"
            what = item.records if len(run) > 1 else item.records.replace(", each on", ", on")
            phrases.append((item, f"{_count_word(len(run))} {more} {noun}: {what}"))
    return phrases


def needs_text(option: tuple[MissingItem, ...], more: str = "more") -> str:
    return " AND ".join(phrase for _, phrase in _phrases(option, more))


def _count_word(number: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(number, str(number))


def _section(result: PolicyResult, cite: str) -> str:
    """A criterion's section without the policy's own name, which the header already gives."""
    return cite[len(result.cite) :].strip() if cite.startswith(result.cite) else cite


def _leaf_group_text(
    result: PolicyResult, top: MissingGroup, group: MissingGroup, more: str = "more"
) -> list[str]:
    cited = _section(result, group.criterion)
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
            lines += _wrap(f"{word}: {_section(result, exclusion.cite)} {exclusion.label}", 4, 6)
        applying = [a for a in result.advisories if a.applies]
        lines.append(
            "  advisory recommendations (never decide the case):"
            if applying
            else "  advisory recommendations: none apply"
        )
        for advisory in applying:
            lines += _wrap(f"- {_advisory_line(result, advisory)}", 4, 6)
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
        return _wrap(f"- {_section(result, node.cite)}: {node.label} ({other})", indent, indent + 2)
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
        if _needs_line(result):
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
        sections = sorted({_section(result, i.criterion) for i in items} - {""}, key=section_key)
        if sections:  # a citation is never printed empty
            lines += _wrap(f"[{'; '.join(sections)}]", 7)
    if not result.missing_complete:
        more = f"{total - len(sets)} more sets" if total is not None else "more sets"
        lines += _wrap(f"... and {more} (a larger --enumerate N lists more)", 4)
    return lines


# ------------------------------------------------------------------ the policy set used
# Hex digits of a policy text's sha256 that name its version in text and Markdown: a short id
# to tell two texts apart, as a short commit id does; the folder and the full hash are JSON's.
SHORT_HASH = 8


def _set_words(info: PolicySetInfo) -> str:
    return info.origin if info.path is None else f"{info.path} ({info.origin})"


def short_id(result: PolicyResult) -> str:
    """A policy text's short version id: the first hex digits of its sha256."""
    return result.source_sha256[:SHORT_HASH] or "unknown"


def _version_ids(case: CaseResult) -> str:
    """Each policy judged, by its citation, version and the short id of its text."""
    return ", ".join(
        f"{r.cite}"
        + (f" version {r.version_use.version}" if r.version_use and r.version_use.version else "")
        + f" (text {short_id(r)})"
        for r in case.results
    )


def _origin_words(info: PolicySetInfo) -> str:
    """How the policy set was chosen, without its folder (JSON names the folder)."""
    return {
        "--policies": "named with --policies",
        "--policy-file": "policy files named with --policy-file",
        "SIJFASP_POLICIES": "named by SIJFASP_POLICIES",
    }.get(info.origin, info.origin)


def text_set_line(case: CaseResult) -> str:
    """The policy set a case was judged with (how it was found, not its folder) and each
    policy's version with the short id of its text; one line, or a few when wrapped."""
    if case.policy_set is None:
        return ""
    ids = _version_ids(case)
    line = f"policies: {_origin_words(case.policy_set)}" + (f"; {ids}" if ids else "")
    return "\n".join(_wrap(textsafe.terminal(line), 0, 2)) + "\n"


def markdown_set_line(case: CaseResult, with_hashes: bool = True) -> str:
    """The policy set as a closing line of a Markdown document (a letter names each policy's
    version under its own heading)."""
    if case.policy_set is None:
        return ""
    ids = _version_ids(case)
    words = textsafe.markdown(_origin_words(case.policy_set))
    return f"Policies: {words}" + (f"; {ids}" if ids and with_hashes else "") + ".\n"


def _set_json(info: PolicySetInfo | None) -> dict | None:
    return None if info is None else {"path": info.path, "origin": info.origin}


def text_policies(policies: list[dict], info: PolicySetInfo | None = None) -> str:
    lines = []
    if info is not None:
        lines += _wrap(textsafe.terminal(f"policy set: {_set_words(info)}"), 0, 2) + [""]
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


# ------------------------------------------------------------------ markdown
def markdown_explain(case: CaseResult) -> str:
    """A reviewer's summary: criteria met ✓ / not met ✗ / not documented ?, with reasons."""
    out = [
        f"# Criteria review: case {textsafe.markdown(case.case)}",
        "",
        f"Requested service: {textsafe.markdown(_service_words(case))}, request date "
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
            f"{textsafe.markdown(result.document)}{number}{_effective(result)} "
            f"({textsafe.markdown(result.cite)}, text {short_id(result)}). "
            f"{_version_words(result)}".rstrip(),
            "",
            f"**Finding:** {_determination_words(result)}.",
            "",
        ]
        out += _markdown_notices(result)
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
            out += [f"- {a.cite}: {a.label}" for a in applying] + [""]
    return "\n".join(out).rstrip() + "\n"


def _reviewed_under(result: PolicyResult, number: str) -> str:
    document = textsafe.markdown(result.document)
    cite = textsafe.markdown(result.cite)
    if result.determination == Determination.NO_VERSION:
        return f"Not reviewed under {document}{number} ({cite}): {_version_words(result)}"
    return (
        f"Reviewed under {document}{number}, effective {result.effective.isoformat()} "
        f"({cite}, text {short_id(result)}). {_version_words(result)}"
    ).rstrip()


def _markdown_notices(result: PolicyResult) -> list[str]:
    if not result.notices:
        return []
    return [f"> **Notice:** {textsafe.markdown(n)}" for n in result.notices] + [""]


def _markdown_rows(node: NodeResult, depth: int, ruled_out: bool = False) -> list[str]:
    indent = "&nbsp;" * 4 * depth
    other = other_request(node)
    if other is not None:
        return [f"| - | {indent}{node.label} ({other}) | {node.cite} | |"]
    mark, label = _node_label(node, ruled_out)
    label = indent + label
    evidence = textsafe.markdown("; ".join(node.evidence_words or node.evidence))
    rows = [f"| {mark} | {label} | {node.cite} | {evidence} |"]
    for child in node.children:
        rows += _markdown_rows(child, depth + 1, node.kind == NodeKind.NONE)
    return rows


LETTER_NOTE = (
    "The criteria are found met or not met against the policy text; the decision rests with "
    "the physician reviewer."
)


def markdown_missing(
    case: CaseResult, today: dt.date | None = None, reply_days: int = DEFAULT_REPLY_DAYS
) -> str:
    """What a provider's office is sent, one document per payer (never two payers' criteria in
    one): a request for additional information when something is requested, a notice of the
    findings for physician review when a criterion is not met or an exclusion is documented,
    and otherwise a short note that nothing is requested."""
    today = today or dt.date.today()
    by_payer: dict[str, list[PolicyResult]] = {}
    for result in case.results:
        by_payer.setdefault(result.payer_id or result.payer, []).append(result)
    documents = [
        _payer_document(case, tuple(results), today, reply_days) for results in by_payer.values()
    ] or [_nothing_requested(case, (), today)]
    return "\n---\n\n".join(documents)


def _letter_header(
    case: CaseResult,
    results: tuple[PolicyResult, ...],
    title: str,
    today: dt.date,
    reply_by: dt.date | None = None,
) -> list[str]:
    details = case.details
    service = next(
        (r.service_label for r in results if r.service_label not in ("", case.service)),
        _service_words(case),
    )
    payer = details.payer if details.payer and not results else None
    if results:
        payer = results[0].payer
    rows = [
        ("Patient", details.patient),
        ("Member ID", details.member_id),
        ("Payer", payer),
        ("Plan", details.plan),
        ("Reference", details.reference_id),
        ("Case", case.case),
        ("Requested procedure", service),
        ("Request date", case.request_date.isoformat()),
        ("Date of this letter", today.isoformat()),
        ("Please reply by", reply_by.isoformat() if reply_by else None),
    ]
    return [
        f"# {title}",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {_cell(value)} |" for name, value in rows if value),
        "",
    ]


def _payer_document(
    case: CaseResult, results: tuple[PolicyResult, ...], today: dt.date, reply_days: int
) -> str:
    asking = tuple(r for r in results if r.determination == Determination.INCOMPLETE)
    findings = tuple(
        r for r in results if r.determination in (Determination.NOT_MET, Determination.EXCLUDED)
    )
    if asking:
        out = _request_letter(case, results, asking, today, reply_days)
        for result in findings:  # another version of the same payer's policy, rarely
            out += _policy_heading(result) + _findings_section(result)
        return "\n".join(out).rstrip() + "\n"
    if findings:
        out = _letter_header(case, results, "Findings for physician review", today)
        kinds = {r.determination for r in findings}
        if kinds == {Determination.EXCLUDED}:
            verdict = "an exclusion of the policy applies"
        elif kinds == {Determination.NOT_MET}:
            verdict = "it does not meet every criterion"
        else:
            verdict = "it does not meet every criterion, or an exclusion applies"
        out += [
            "The documentation of this prior authorization request was reviewed against the "
            f"policy below. As documented, {verdict}. These findings go to "
            "the physician reviewer, who decides the request; they are not a decision on it. "
            "No additional information is requested.",
            "",
        ]
        for result in findings:
            out += _policy_heading(result) + _findings_section(result)
        return "\n".join(out).rstrip() + "\n"
    return _nothing_requested(case, results, today)


def _needs_line(result: PolicyResult) -> bool:
    """No version chosen for want of the plan's line of business (policies/versions.py): it is asked."""
    return result.version_use is not None and bool(result.version_use.undecided)


def _determination_words(result: PolicyResult) -> str:
    if _needs_line(result):  # `no_version_in_effect`, though a version is, for each line
        return "no version chosen: the line of business is not documented"
    return DETERMINATION_WORDS[result.determination]


def _nothing_requested(case: CaseResult, results: tuple[PolicyResult, ...], today: dt.date) -> str:
    asking = any(_needs_line(r) for r in results)
    title = "Additional information requested" if asking else "No additional information requested"
    out = _letter_header(case, results, title, today)
    for result in results:
        out += _policy_heading(result)
        if result.determination == Determination.APPROVABLE:
            out += ["Every criterion of this policy is met as documented.", ""]
        elif result.determination == Determination.NOT_APPLICABLE:
            out += ["This policy does not address the requested procedure.", ""]
            out += (
                [textsafe.markdown(" ".join(reasons_words(result))), ""] if result.reasons else []
            )
        elif _needs_line(result):
            out += [
                "Please tell us the plan's line of business (for example Medicaid, Medicare "
                "Advantage or commercial): which version of this policy applies to the request "
                "depends on it.",
                "",
            ]
        elif result.determination == Determination.NO_VERSION:
            out += ["No version of this policy was in effect on the date of the request.", ""]
    if not results:
        out += ["No policy was applied to this request.", ""]
    return "\n".join(out).rstrip() + "\n"


def _policy_heading(result: PolicyResult) -> list[str]:
    number = f" {result.number}" if result.number else ""
    return [
        f"## {textsafe.markdown(result.payer)}: {textsafe.markdown(result.title)}",
        "",
        _reviewed_under(result, number),
        "",
        *_markdown_notices(result),
        *_letter_advisories(result),
    ]


def _letter_advisories(result: PolicyResult) -> list[str]:
    """The advisories that apply, for the reviewer: they never decide the case."""
    lines = [
        f"- {textsafe.markdown(_advisory_line(result, a))}" for a in result.advisories if a.applies
    ]
    if not lines:
        return []
    return [
        "Advisory recommendations of this policy (for the reviewer; they decide nothing):",
        "",
    ] + [
        *lines,
        "",
    ]


def _findings_section(result: PolicyResult) -> list[str]:
    """A criterion not met or an exclusion documented: what was found, with the documented
    values that decide it, for the physician reviewer; what new documentation could change it."""
    excluded = result.determination == Determination.EXCLUDED
    out = [
        (
            "An exclusion of this policy is documented:"
            if excluded
            else "As documented, this criterion is not met:"
            if len(result.reasons) == 1
            else "As documented, these criteria are not met:"
        ),
        "",
        *(f"- {textsafe.markdown(reason)}" for reason in reasons_words(result)),
        "",
    ]
    retry = _new_attempts_letter(result)
    if retry:
        return out + retry
    if excluded:
        out += [
            "If the documentation of this exclusion is in error, send the corrected record; "
            "otherwise no documentation is requested.",
            "",
        ]
    else:
        out += [
            "New documentation could change this finding only if it shows otherwise, such as a "
            "more recent assessment; send it with a note if it exists.",
            "",
        ]
    return out


def _request_letter(
    case: CaseResult,
    results: tuple[PolicyResult, ...],
    asking: tuple[PolicyResult, ...],
    today: dt.date,
    reply_days: int,
) -> list[str]:
    """A request for additional information, for the results of one payer that ask for some."""
    out = _letter_header(
        case,
        results,
        "Request for additional information",
        today,
        today + dt.timedelta(days=reply_days),
    )
    out += [
        "To complete the review of this prior authorization request, please send the "
        "documentation listed below. Where options are listed, any one of them is enough. "
        + LETTER_NOTE,
        "",
    ]
    first = _asked_first(asking)
    if first:
        out += ["First, for the criteria below:", ""]
        out += [f"- {textsafe.markdown(_sentence(item.prompt))}" for item in first.values()]
        out.append("")
    asked: dict[str, str] = {}  # a criterion's request as written, and where it was first asked
    for result in asking:
        out += _policy_heading(result)
        for top in result.grouped:
            for leaf in top.leaves():
                body = _letter_group(leaf, frozenset(first))
                key = "\n".join(body)
                where = f"{_section(result, leaf.criterion)}: {leaf.label}"
                out.append(f"### {textsafe.markdown(where)}")
                out.append("")
                if key in asked:
                    out += [f"As requested above under {asked[key]}.", ""]
                    continue
                asked[key] = textsafe.markdown(leaf.criterion)
                out += body + [""]
                out += _on_file(result, leaf.criterion_id)
    return out


MAX_ON_FILE = 3


def _on_file(result: PolicyResult, criterion_id: str) -> list[str]:
    """The documented records of a criterion that do not count, each with why ("more than 6
    months before the request"), so a record on file is not asked for again without a word."""
    node = _find_node(result.criteria, criterion_id)
    if node is None:
        return []
    reasons: dict[str, list[str]] = {}  # each record, and why it does not count (every set's)
    for each in _walk(node):
        if other_request(each) is not None:
            continue
        for evidence in each.evidence_words:
            if not evidence.startswith(NEARLY_PREFIX):
                continue
            record, _, why = evidence.removeprefix(NEARLY_PREFIX).strip().partition(": ")
            parts = reasons.setdefault(record, [])
            parts += [part for part in why.split("; ") if part not in parts]
    lines = []
    for record, parts in reasons.items():
        if all(part.endswith("not documented") for part in parts):
            continue  # asked for above
        head, _, rest = record.partition(", ")
        named = f"{head} ({rest})" if rest else head
        why = "; ".join(parts)
        why = f"it is {why}" if why.startswith("more than") else why
        lines.append(f"- The {named} does not count: {why}.")
    if not lines:
        return []
    return ["On file:", "", *[textsafe.markdown(x) for x in lines[:MAX_ON_FILE]], ""]


NEARLY_PREFIX = "does not count:"  # explain.NEARLY_WORDS: a record that nearly qualifies


def _find_node(nodes: tuple[NodeResult, ...], node_id: str) -> NodeResult | None:
    for node in nodes:
        if node.id == node_id:
            return node
        found = _find_node(node.children, node_id)
        if found is not None:
            return found
    return None


def _walk(node: NodeResult) -> list[NodeResult]:
    out = [node]
    if other_request(node) is None:
        for child in node.children:
            out += _walk(child)
    return out


def _new_attempts_letter(result: PolicyResult) -> list[str]:
    """For a case not met because documented attempts failed: what new attempts would have
    to show, so the office knows what a repeated test must document."""
    if not result.new_attempts_grouped:
        return []
    out = [
        "The documented attempts did not show the outcome the policy requires. For these "
        "criteria to be met, new attempts would have to show:",
        "",
    ]
    for top in result.new_attempts_grouped:
        for leaf in top.leaves():
            out += [
                f"### {textsafe.markdown(_section(result, leaf.criterion) + ': ' + leaf.label)}",
                "",
            ]
            how = [] if len(leaf.options) == 1 else ["One of:", ""]
            out += how
            for option in leaf.options:
                out.append("- " + _capital("; and ".join(_new_attempt_items(option))))
            out.append("")
    return out


def _new_attempt_items(option: tuple[MissingItem, ...]) -> list[str]:
    runs: dict[tuple[str, str], list[MissingItem]] = {}
    for item in option:
        runs.setdefault((item.criterion_id, item.words), []).append(item)
    texts = []
    for run in runs.values():
        item = run[0]
        if not item.send or item.records is None:
            texts += _letter_items(tuple(run))
            continue
        separate = item.records.endswith("a date of its own")
        noun = _with_article(item.words)
        count = "" if len(run) == 1 else f"{_count_word(len(run))} new records, each "
        texts.append(
            textsafe.markdown(
                (count or "a new attempt: ")
                + noun
                + (", on separate dates" if separate and len(run) > 1 else "")
            )
        )
    return texts


def _cell(value: str) -> str:
    return textsafe.markdown(value).replace("|", "/")


def _asked_first(results: tuple[PolicyResult, ...]) -> dict[str, MissingItem]:
    """Request fields (by name) every option of two or more criteria needs, whatever value each
    option names (the side of the fusion): asked once at the top of the letter; under each
    criterion an option that needs one value says so ("For a bilateral request, ...")."""
    counts: dict[str, int] = {}
    items: dict[str, MissingItem] = {}
    for result in results:
        if result.determination != Determination.INCOMPLETE:
            continue
        for top in result.grouped:
            for leaf in top.leaves():
                if not leaf.options or leaf.choose != 1:
                    continue
                common = set.intersection(
                    *(
                        {i.fact for i in option if i.fact.startswith("request.") and not i.send}
                        for option in leaf.options
                    )
                )
                for option in leaf.options:
                    for item in option:
                        if item.fact in common:
                            items.setdefault(item.fact, item)
                for fact in common:
                    counts[fact] = counts.get(fact, 0) + 1
    return {fact: items[fact] for fact, count in counts.items() if count >= 2}


# A request field's values in words, as "for a ... request" reads them.
_REQUEST_KINDS = {"left or right": "one-sided", "left, right or bilateral": ""}


def _for_request(items: list[MissingItem]) -> str:
    """The kind of request an option is for, from the values of the request fields asked at
    the top that it names: "For a bilateral request, " (nothing when any value serves)."""
    kinds = []
    for item in items:
        words = _REQUEST_KINDS.get(item.words, item.words)
        if words:
            kinds.append(words)
    return f"For a {' '.join(kinds)} request, " if kinds else ""


def _ask_key(item: MissingItem) -> str:
    """What an item asks: a field of a documented record is asked once, whatever its value."""
    ask = item.on_record
    return f"{ask.record} {ask.field}" if ask is not None else item.key


def collapsed(group: MissingGroup) -> tuple[tuple[MissingItem, ...], ...]:
    """A group's options as a letter lists them: a record's undocumented field is one item,
    not one per value that would serve, and the options it made differ only by are one.
    Options that fill in some of those fields and add records besides are left out when the
    fields alone are an option: the office documents what it has, or sends the records."""
    if group.choose != 1:
        return group.options
    unique: dict[frozenset[str], tuple[MissingItem, ...]] = {}
    for option in group.options:
        kept: dict[str, MissingItem] = {}
        for item in option:
            kept.setdefault(_ask_key(item), item)
        unique.setdefault(frozenset(kept), tuple(kept.values()))
    record_keys = {
        _ask_key(i) for option in unique.values() for i in option if i.on_record is not None
    }
    fields_only = [keys for keys in unique if keys and keys <= record_keys]
    covered = frozenset().union(*fields_only) if fields_only else frozenset()
    return tuple(
        option
        for keys, option in unique.items()
        if not (keys & record_keys and not keys <= record_keys and keys & record_keys <= covered)
    )


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _many(noun: str) -> str:
    """A record's noun, several of them: "diagnostic injections", "X-rays of the hip"."""
    head, of, rest = noun.partition(" of ")
    if of:
        return f"{_many(head)} of {rest}"
    last = noun.rsplit(" ", 1)[-1]
    if last.endswith("y") and not last.endswith(("ay", "ey", "oy")):
        return noun[:-1] + "ies"
    return noun + "s"


def record_asks_text(items: list[MissingItem]) -> list[str]:
    """The fields of documented records to fill in, one sentence per question: "Document the
    side of the joint injected (left, right or both joints) for the diagnostic injections of
    2026-04-01 and 2026-05-06"."""
    questions: dict[tuple[str, str], dict[str, list[str]]] = {}
    for item in items:
        ask = item.on_record
        if ask is None:
            continue
        dates = questions.setdefault((ask.question, ask.choices), {}).setdefault(ask.noun, [])
        if ask.date not in dates:
            dates.append(ask.date)
    texts = []
    for (question, choices), nouns in questions.items():
        records = _and(
            [
                f"the {noun if len(dates) == 1 else _many(noun)}"
                + (f" of {_and(dates)}" if any(dates) else "")
                for noun, dates in nouns.items()
            ]
        )
        texts.append(f"{question}" + (f" ({choices})" if choices else "") + f" for {records}")
    return texts


def _letter_group(group: MissingGroup, asked_first: frozenset[str] = frozenset()) -> list[str]:
    """What one criterion needs, in the letter's words; request fields asked at the top are
    left out, an option that needs one of their values saying which kind of request it is for."""
    lines: list[str] = []
    asked = [[i for i in option if i.fact in asked_first] for option in collapsed(group)]
    options = tuple(
        tuple(i for i in option if i.fact not in asked_first) for option in collapsed(group)
    )
    prefixes = [_for_request(items) for items in asked]
    if len(options) == 1 and group.choose == 1 and group.options_complete and not prefixes[0]:
        lines += [f"- {_capital(text)}" for text in _letter_items(options[0])]
    else:
        how = f"Any {group.choose} of the following:" if group.choose > 1 else "One of:"
        lines += [how, ""]
        for prefix, option in zip(prefixes, options, strict=True):
            texts = _letter_items(option) or ["nothing more is needed for this criterion"]
            first = prefix + lower_first(texts[0]) if prefix else _capital(texts[0])
            lines.append(f"- {first}" + ("" if len(texts) == 1 else ","))
            lines += [f"  and {lower_first(text)}" for text in texts[1:]]
        if not group.options_complete:
            lines.append("- or other documentation that meets this criterion")
    asks = dict.fromkeys(item.prompt for option in options for item in option if item.send)
    if asks:
        lines += [
            "",
            " ".join(textsafe.markdown(_sentence(ask)) + "." for ask in asks)
            + " Send the records of what was done; if a study, injection or therapy named "
            "here was not done, this criterion is not met without it.",
        ]
    return lines


def _letter_items(option: tuple[MissingItem, ...]) -> list[str]:
    """Each item of an option as a sentence; the records added for one criterion read as one."""
    texts: list[str] = record_asks_text(list(option))
    runs: dict[tuple[str, str], list[MissingItem]] = {}
    for item in option:
        if item.send:
            runs.setdefault((item.criterion_id, item.words), []).append(item)
    for item in option:
        if item.on_record is not None:
            continue
        if not item.send:
            words = item.words
            if words.startswith("needed:"):
                words = f" ({words})"
            elif words.startswith("on "):
                words = f", {words}"
            elif words:
                words = f": {words}"
            texts.append(_sentence(item.prompt) + words)
            continue
        run = runs[(item.criterion_id, item.words)]
        if run[0] is not item:
            continue
        separate = item.records is not None and item.records.endswith("a date of its own")
        if item.records is None:  # days of therapy
            texts.append(f"send the therapy records of {item.words}")
        elif len(run) == 1:
            texts.append(f"send the record of {_with_article(item.words)}")
        else:
            texts.append(
                f"send the records of {_count_word(len(run))} more, each "
                f"{_with_article(item.words)}" + (", on separate dates" if separate else "")
            )
    return [textsafe.markdown(t) for t in texts]


_HEAD_ENDS = (" excluding", " with", " ruling", " showing", ",", " by", " of", " or", ":")


def _with_article(phrase: str) -> str:
    """A record set's description with "a" or "an", unless its head noun is plural."""
    head = phrase
    for end in _HEAD_ENDS:
        head = head.split(end, 1)[0]
    last = head.rsplit(" ", 1)[-1].lower()
    if last.endswith("s") and not last.endswith(("ss", "sis", "us")):
        return phrase
    if last in _UNCOUNTED:
        return phrase
    return article(phrase)


# Head nouns a record set is described by that take no article ("physical therapy by ...").
_UNCOUNTED = {"therapy", "imaging", "management", "medication", "care", "pharmacotherapy"}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(prompt: str) -> str:
    return prompt.rstrip(". ")


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
        "words": item.words,
        "send": item.send,
        "plain": item.plain,
        "values": list(item.values),
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
        # None when no version was in effect: no version's date applies.
        "effective": (
            None
            if result.determination == Determination.NO_VERSION
            else result.effective.isoformat()
        ),
        "service": result.service,
        "determination": result.determination,
        "criteria": _plain(result.criteria),
        "exclusions": _plain(result.exclusions),
        "advisories": _plain(result.advisories),
        "reasons": list(result.reasons),
        "reasons_words": list(reasons_words(result)),  # the reasons for people, in words
        "missing": [[_item_json(i) for i in items] for items in result.missing],
        "missing_complete": result.missing_complete,
        "missing_total": result.missing_total,
        "missing_grouped": [_group_json(g) for g in result.grouped],
        # Not met because documented attempts failed: what new attempts would have to show.
        "new_attempts": [[_item_json(i) for i in items] for items in result.new_attempts],
        "new_attempts_grouped": [_group_json(g) for g in result.new_attempts_grouped],
        "missing_grouped_exact": result.grouped_exact,
        "payer_id": result.payer_id,
        "policy_version": _version_json(result),
        "notices": list(result.notices),
    }


def _version_json(result: PolicyResult) -> dict[str, Any]:
    use = result.version_use
    judged = result.determination != Determination.NO_VERSION
    data: dict[str, Any] = {
        "id": result.policy,
        "version": use.version if use is not None else None,
        "effective": result.effective.isoformat() if judged else None,
        "source_sha256": result.source_sha256,
        "vocabulary_sha256": result.vocabulary_sha256,
        "extension_sha256": dict(result.extension_sha256),
    }
    if use is not None:
        data["selection"] = {
            "on": use.on.isoformat(),
            "as_of": use.as_of,
            "line_of_business": use.plan,
            "in_effect_since": use.effective.isoformat() if use.effective else None,
            "plan_line": use.plan_line,
            # The line of business decides the version and the case does not document it.
            "line_of_business_needed": bool(use.undecided),
            "by_line_of_business": [
                {"line_of_business": line, "version": version} for line, version in use.undecided
            ],
            "explicit": use.explicit,
            "versions": [{"version": v, "dates": dates} for v, dates in use.known],
            "reason": use.reason(),
        }
    return data


JSON_SCHEMA = 4  # docs/cli.md: what each version of the JSON output holds


def case_json(case: CaseResult) -> dict:
    details = {k: v for k, v in dataclasses.asdict(case.details).items() if v is not None}
    return {
        "schema": JSON_SCHEMA,
        "tool": {"name": "sijfasp", "version": case.tool_version},
        "case": case.case,
        "service": case.service,
        "request_date": case.request_date.isoformat(),
        "details": details,
        "results": [result_json(r) for r in case.results],
        "policy_set": _set_json(case.policy_set),
    }


def json_case(case: CaseResult) -> str:
    return json.dumps(case_json(case), indent=2, ensure_ascii=False) + "\n"


def json_cases(cases: list[CaseResult]) -> str:
    """One case: its object. Several: a list of them, in the order given."""
    data: Any = case_json(cases[0]) if len(cases) == 1 else [case_json(c) for c in cases]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def json_policies(policies: list[dict], info: PolicySetInfo | None = None) -> str:
    data = {"policy_set": _set_json(info), "policies": policies}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
