"""The letter to a provider's office (`missing --format markdown`), one document per payer: a
request for additional information, findings for physician review, or a note that nothing is
requested. Its words never say a request is denied: a physician reviewer decides.
"""

from __future__ import annotations

import datetime as dt
import re

from ..core import textsafe
from ..core.kinds import Determination
from ..core.wording import article, lower_first, upper_first
from .render_markdown import markdown_notices, reviewed_under
from .render_needs import collapsed, count_word, record_asks_text
from .render_words import (
    advisory_line,
    needs_line,
    other_request,
    reasons_words,
    section,
    service_words,
)
from .results import CaseResult, MissingGroup, MissingItem, NodeResult, PolicyResult

DEFAULT_REPLY_DAYS = 7  # the standard decision window for a non-urgent prior authorization
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
        service_words(case),
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


def _nothing_requested(case: CaseResult, results: tuple[PolicyResult, ...], today: dt.date) -> str:
    asking = any(needs_line(r) for r in results)
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
        elif needs_line(result):
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
        reviewed_under(result, number),
        "",
        *markdown_notices(result),
        *_letter_advisories(result),
    ]


def _letter_advisories(result: PolicyResult) -> list[str]:
    """The advisories that apply, for the reviewer: they never decide the case."""
    lines = [
        f"- {textsafe.markdown(advisory_line(result, a))}" for a in result.advisories if a.applies
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
    first = asked_first(asking)
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
                where = f"{section(result, leaf.criterion)}: {leaf.label}"
                out.append(f"### {textsafe.markdown(where)}")
                out.append("")
                if key in asked:
                    out += [f"As requested above under {asked[key]}.", ""]
                    continue
                asked[key] = textsafe.markdown(leaf.criterion)
                out += body + [""]
                out += _on_file(result, leaf.criterion_id)
    return out


def _on_file(result: PolicyResult, criterion_id: str) -> list[str]:
    """The documented records of a criterion that do not count, each with why ("more than 6
    months before the request"), so a record on file is not asked for again without a word.
    Every record the explanation names is named (it names each record that fails only by its
    date or side, and a few others), in its order: the nearest first."""
    node = _find_node(result.criteria, criterion_id)
    if node is None:
        return []
    reasons: dict[str, list[str]] = {}  # each record, and why it does not count (every set's)
    more = False  # records left unnamed by the explanation too
    for each in _walk(node):
        if other_request(each) is not None:
            continue
        for evidence in each.evidence_words:
            if evidence.startswith(MORE_PREFIX) and MORE_WORDS in evidence:
                more = True
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
        lines.append(f"- The {named} does not count: {_it(parts)}.")
    if not lines:
        return []
    if more:
        lines.append("- Other records on file do not count either.")
    return ["On file:", "", *[textsafe.markdown(x) for x in lines], ""]


# near_misses: a record of the other joint ("right joint, needs the left joint or both joints").
_SIDE_MISS = re.compile(r"((?:left|right) joint|both joints), needs (.+)")
# How a reason about a record's date begins, and the words that make it a clause about "it".
_IT_VERBS = {"more than": "it is ", "dated": "it is ", "ended on": "it ", "started on": "it "}


def _it(parts: list[str]) -> str:
    """Why a record does not count, as a clause about it: its side first, the joints the
    criterion's alternatives need gathered in one ("it is of the left joint, not the right
    joint or both joints"), or its date ("it is more than 6 months before the request", "it
    ended on 2023-04-01, before ...")."""
    sides = [found for part in parts if (found := _SIDE_MISS.fullmatch(part))]
    if sides:
        needed = {joint for found in sides for joint in found.group(2).split(" or ")}
        either = " or ".join(sorted(needed, key=lambda j: (j == "both joints", j)))
        side = sides[0].group(1)
        joint = side if side == "both joints" else f"the {side}"
        rest = [part for part in parts if not _SIDE_MISS.fullmatch(part)]
        return "; ".join([f"it is of {joint}, not {either}", *rest])
    why = "; ".join(parts)
    for start, words in _IT_VERBS.items():
        if why.startswith(start):
            return words + why
    return why


# near_misses: the line counting the records it does not name ("... and 2 more records that
# nearly qualify", "... and 1 more record that nearly qualifies").
MORE_PREFIX, MORE_WORDS = "... and ", "nearly qualif"
NEARLY_PREFIX = "does not count:"  # near_misses.NEARLY_WORDS: a record that nearly qualifies


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
        "The documented attempts do not count, for the reasons above. For these criteria to "
        "be met, new attempts would have to show:",
        "",
    ]
    for top in result.new_attempts_grouped:
        for leaf in top.leaves():
            out += [
                f"### {textsafe.markdown(section(result, leaf.criterion) + ': ' + leaf.label)}",
                "",
            ]
            how = [] if len(leaf.options) == 1 else ["One of:", ""]
            out += how
            for option in leaf.options:
                out.append("- " + upper_first("; and ".join(_new_attempt_items(option))))
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
            texts += letter_items(tuple(run))
            continue
        separate = item.records.endswith("a date of its own")
        noun = _with_article(item.words)
        count = "" if len(run) == 1 else f"{count_word(len(run))} new records, each "
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


def asked_first(results: tuple[PolicyResult, ...]) -> dict[str, MissingItem]:
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


def for_request(items: list[MissingItem]) -> str:
    """The kind of request an option is for, from the values of the request fields asked at
    the top that it names: "For a bilateral request, " (nothing when any value serves)."""
    kinds = []
    for item in items:
        words = _REQUEST_KINDS.get(item.words, item.words)
        if words:
            kinds.append(words)
    return f"For a {' '.join(kinds)} request, " if kinds else ""


def _letter_group(group: MissingGroup, asked_first: frozenset[str] = frozenset()) -> list[str]:
    """What one criterion needs, in the letter's words; request fields asked at the top are
    left out, an option that needs one of their values saying which kind of request it is for."""
    lines: list[str] = []
    asked = [[i for i in option if i.fact in asked_first] for option in collapsed(group)]
    options = tuple(
        tuple(i for i in option if i.fact not in asked_first) for option in collapsed(group)
    )
    prefixes = [for_request(items) for items in asked]
    if len(options) == 1 and group.choose == 1 and group.options_complete and not prefixes[0]:
        lines += [f"- {upper_first(text)}" for text in letter_items(options[0])]
    else:
        how = f"Any {group.choose} of the following:" if group.choose > 1 else "One of:"
        lines += [how, ""]
        for prefix, option in zip(prefixes, options, strict=True):
            texts = letter_items(option) or ["nothing more is needed for this criterion"]
            first = prefix + lower_first(texts[0]) if prefix else upper_first(texts[0])
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


def letter_items(option: tuple[MissingItem, ...]) -> list[str]:
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
                f"send the records of {count_word(len(run))} more, each "
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


def _sentence(prompt: str) -> str:
    return prompt.rstrip(". ")
