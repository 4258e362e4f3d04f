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
from .wording import article, section_key

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
        *_wrap(f"{result.policy}: {result.payer}, {result.document}{number}", 0, 2),
        *_wrap(f"{result.title}{_effective(result)}", 2),
    ]
    if result.version_use is not None:
        lines += _wrap(result.version_use.reason(), 2, 4)
    lines.append(f"  determination: {DETERMINATION_WORDS[result.determination]}")
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
    reason = use.reason()
    return textsafe.markdown(reason[0].upper() + reason[1:]) + "."


def _case_header(case: CaseResult) -> list[str]:
    case_id = textsafe.terminal(case.case)
    return [
        *_wrap(f"case {case_id}: {case.service} requested {case.request_date.isoformat()}", 0, 2),
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


def _mark(node: NodeResult, ruled_out: bool) -> tuple[str, str]:
    return RULED_OUT[node.status] if ruled_out else (MARKS[node.status], "")


def _node_line(
    result: PolicyResult, node: NodeResult, indent: int, ruled_out: bool = False
) -> list[str]:
    mark, words = _mark(node, ruled_out)
    head = f"{mark} {_section(result, node.cite)}: {words}{node.label}"
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
    evidence = "; ".join(advisory.evidence)
    return f"{_section(result, advisory.cite)}: {advisory.label}{state}" + (
        f"; {evidence}" if evidence else ""
    )


def _advisory_short(result: PolicyResult, advisory: AdvisoryResult) -> str:
    """An advisory in `check`: one line with its topic, the documented values and, when it
    recommends a criterion, that criterion's status; `explain` gives its full label."""
    topic = _section(result, advisory.cite).rsplit(", ", 1)[-1]
    parts = list(advisory.evidence)
    if advisory.recommendation:
        parts.append(f"recommendation {STATUS_WORDS[advisory.recommendation]}")
    return f"advisory, {topic}: " + ("; ".join(parts) or advisory.label)


def _reasons_text(result: PolicyResult) -> list[str]:
    if not result.reasons:
        return []
    lines = ["  reasons:"]
    for reason in result.reasons:
        lines += _wrap(f"- {reason}", 4, 6)
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
    runs: dict[str, list[MissingItem]] = {}
    for item in option:
        if item.records is not None:
            runs.setdefault(item.criterion_id, []).append(item)
    phrases: list[tuple[MissingItem, str]] = []
    for item in option:
        if item.records is None:
            phrases.append((item, item.plain or item.need))
        elif runs[item.criterion_id][0] is item:
            run = runs[item.criterion_id]
            noun = item.fact if len(run) == 1 else f"{item.fact} records"
            what = item.records if len(run) > 1 else item.records.replace(", each on", ", on")
            phrases.append((item, f"{_count_word(len(run))} {more} {noun}: {what}"))
    return phrases


def needs_text(option: tuple[MissingItem, ...], more: str = "more") -> str:
    return " AND ".join(phrase for _, phrase in _phrases(option, more))


def _count_word(number: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(number, str(number))


def _plural(number: int, word: str) -> str:
    return f"{number} {word}" + ("" if number == 1 else "s")


def _section(result: PolicyResult, cite: str) -> str:
    """A criterion's section without the policy's own name, which the header already gives."""
    return cite[len(result.cite) :].strip() if cite.startswith(result.cite) else cite


def _leaf_group_text(
    result: PolicyResult, top: MissingGroup, group: MissingGroup, more: str = "more"
) -> list[str]:
    where = "" if group.criterion == top.criterion else f" [{_section(result, group.criterion)}]"
    if len(group.options) == 1 and group.options_complete and group.choose == 1:
        option = group.options[0]
        return _wrap("- " + needs_text(option, more) + where, 6, 8)
    how = f"any {group.choose} of" if group.choose > 1 else "one of"
    head = f"{group.label}{where}, {how}" if group is not top else how
    lines = _wrap(f"- {head}:", 6, 8)
    for letter, option in zip("abcdefghijklmnopqrstuvwxyz", group.options[:MAX_OPTIONS_SHOWN]):
        lines += _wrap(f"({letter}) " + needs_text(option, more), 8, 12)
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
    lines = _node_line(result, node, indent, ruled_out)
    if node.kind == NodeKind.AT_LEAST:
        lines += _wrap(
            f"· {node.met_count} of {len(node.children)} met, {node.minimum} needed",
            indent + 2,
            indent + 4,
        )
    for evidence in node.evidence:
        lines += _wrap(f"· {evidence}", indent + 2, indent + 4)
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
        sections = sorted({_section(result, i.criterion) for i in items}, key=section_key)
        lines += _wrap(f"[{'; '.join(sections)}]", 7)
    if not result.missing_complete:
        more = f"{total - len(sets)} more sets" if total is not None else "more sets"
        lines += _wrap(f"... and {more} (a larger --enumerate N lists more)", 4)
    return lines


# ------------------------------------------------------------------ the policy set used
SHORT_HASH = 12  # hex digits of a content hash in text and Markdown; JSON has them all


def _set_words(info: PolicySetInfo) -> str:
    return info.origin if info.path is None else f"{info.path} ({info.origin})"


def text_set_line(case: CaseResult) -> str:
    """One line naming the policy set a case was judged with and each policy file's hash."""
    if case.policy_set is None:
        return ""
    hashes = ", ".join(
        f"{r.policy} sha256 {r.source_sha256[:SHORT_HASH] or 'unknown'}" for r in case.results
    )
    line = f"policy set: {_set_words(case.policy_set)}" + (f"; {hashes}" if hashes else "")
    return "\n".join(_wrap(textsafe.terminal(line), 0, 2)) + "\n"


def markdown_set_line(case: CaseResult, with_hashes: bool = True) -> str:
    """The policy set as a closing line of a Markdown document; a letter already names each
    policy's hash under its heading."""
    if case.policy_set is None:
        return ""
    hashes = "; ".join(
        f"{r.policy} sha256 {r.source_sha256[:SHORT_HASH] or 'unknown'}" for r in case.results
    )
    words = textsafe.markdown(_set_words(case.policy_set))
    return f"Policy set: {words}" + (f"; {hashes}" if hashes and with_hashes else "") + ".\n"


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
            f"{result.document}{number}{_effective(result)} (`{result.policy}`). "
            f"{_version_words(result)}".rstrip(),
            "",
            f"**Finding:** {DETERMINATION_WORDS[result.determination]}.",
            "",
        ]
        out += _markdown_notices(result)
        if result.determination in NOT_JUDGED:
            if result.reasons:
                out += ["### Reasons", ""] + [f"- {r}" for r in result.reasons] + [""]
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


def _reviewed_under(result: PolicyResult, number: str) -> str:
    if result.determination == Determination.NO_VERSION:
        return (
            f"Not reviewed under {textsafe.markdown(result.document)}{number} (policy "
            f"{result.policy}): {_version_words(result)}"
        )
    return (
        f"Reviewed under {textsafe.markdown(result.document)}{number}, effective "
        f"{result.effective.isoformat()} (policy {result.policy}; policy text sha256 "
        f"{result.source_sha256 or 'unknown'}). {_version_words(result)}"
    ).rstrip()


def _markdown_notices(result: PolicyResult) -> list[str]:
    if not result.notices:
        return []
    return [f"> **Notice:** {textsafe.markdown(n)}" for n in result.notices] + [""]


def _markdown_rows(node: NodeResult, depth: int, ruled_out: bool = False) -> list[str]:
    mark, words = _mark(node, ruled_out)
    label = ("&nbsp;" * 4 * depth) + words + node.label
    evidence = "; ".join(node.evidence).replace("|", "/")
    rows = [f"| {mark} | {label} | {node.cite} | {evidence} |"]
    for child in node.children:
        rows += _markdown_rows(child, depth + 1, node.kind == NodeKind.NONE)
    return rows


def markdown_missing(
    case: CaseResult, today: dt.date | None = None, reply_days: int = DEFAULT_REPLY_DAYS
) -> str:
    """A request for additional information a payer can send to the provider's office as it is:
    a header naming the patient, member and reference, a reply-by date, and per policy the
    version it was judged under and what to send, in plain clinical words."""
    today = today or dt.date.today()
    details = case.details
    service = case.results[0].service_label if case.results else case.service
    rows = [
        ("Patient", details.patient),
        ("Member ID", details.member_id),
        ("Payer", details.payer),
        ("Plan", details.plan),
        ("Reference", details.reference_id),
        ("Case", case.case),
        ("Requested procedure", service),
        ("Request date", case.request_date.isoformat()),
        ("Date of this letter", today.isoformat()),
        ("Please reply by", (today + dt.timedelta(days=reply_days)).isoformat()),
    ]
    out = [
        "# Request for additional information",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {_cell(value)} |" for name, value in rows if value),
        "",
        "To complete the review of this prior authorization request, please send the "
        "documentation listed below. Where options are listed, any one of them is enough. "
        "The criteria are found met or not met against the policy text; the decision rests "
        "with the physician reviewer.",
        "",
    ]
    first = _asked_first(case)
    if first:
        out += ["First, for the criteria below:", ""]
        out += [f"- {_capital(text)}" for item in first.values() for text in _letter_items((item,))]
        out.append("")
    asked: dict[str, str] = {}  # a criterion's request as written, and where it was first asked
    for result in case.results:
        number = f" {result.number}" if result.number else ""
        out += [
            f"## {textsafe.markdown(result.payer)}: {textsafe.markdown(result.title)}",
            "",
            _reviewed_under(result, number),
            "",
        ]
        out += _markdown_notices(result)
        if result.determination != Determination.INCOMPLETE:
            out += [
                "No additional information is requested under this policy "
                f"({DETERMINATION_WORDS[result.determination]}).",
                "",
            ]
            if result.determination == Determination.NOT_APPLICABLE and result.reasons:
                out += [" ".join(result.reasons), ""]  # the procedure code it does not address
            out += _new_attempts_letter(result)
            continue
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
                asked[key] = textsafe.markdown(f"{result.payer}, {leaf.criterion}")
                out += body + [""]
    return "\n".join(out).rstrip() + "\n"


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
        noun = _with_article(item.words) if len(run) == 1 else item.words
        count = "" if len(run) == 1 else f"{_count_word(len(run))} new, each "
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


def _asked_first(case: CaseResult) -> dict[str, MissingItem]:
    """Request fields every option of two or more criteria needs (the side of the fusion, when
    any side serves): asked once at the top of the letter rather than under each criterion."""
    counts: dict[str, int] = {}
    items: dict[str, MissingItem] = {}
    for result in case.results:
        if result.determination != Determination.INCOMPLETE:
            continue
        for top in result.grouped:
            for leaf in top.leaves():
                if not leaf.options:
                    continue
                common = set.intersection(
                    *(
                        {i.key for i in option if i.fact.startswith("request.") and not i.send}
                        for option in leaf.options
                    )
                )
                for option in leaf.options:
                    for item in option:
                        if item.key in common:
                            items.setdefault(item.key, item)
                for key in common:
                    counts[key] = counts.get(key, 0) + 1
    return {key: items[key] for key, count in counts.items() if count >= 2}


def _letter_group(group: MissingGroup, asked_first: frozenset[str] = frozenset()) -> list[str]:
    """What one criterion needs, in the letter's words; items asked at the top are left out."""
    lines: list[str] = []
    options = tuple(
        kept if (kept := tuple(i for i in option if i.key not in asked_first)) else option
        for option in group.options
    )
    if len(options) == 1 and group.choose == 1 and group.options_complete:
        lines += [f"- {_capital(text)}" for text in _letter_items(options[0])]
    else:
        how = f"Any {group.choose} of the following:" if group.choose > 1 else "One of:"
        lines += [how, ""]
        for option in options:
            texts = _letter_items(option)
            lines.append(f"- {_capital(texts[0])}" + ("" if len(texts) == 1 else ","))
            lines += [f"  and {text}" for text in texts[1:]]
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
    texts: list[str] = []
    runs: dict[tuple[str, str], list[MissingItem]] = {}
    for item in option:
        if item.send:
            runs.setdefault((item.criterion_id, item.words), []).append(item)
    for item in option:
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
