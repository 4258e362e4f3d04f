"""The words every output format says the same way: a determination, a criterion's mark and
label (a none-of member read as what was found), a criterion's section within its policy, the
version used and the short id of its text, the reasons.

Wording rule: the tool finds criteria met or not met; it never says a request is denied, since a
physician reviewer makes that decision.
"""

from __future__ import annotations

from ..core import textsafe
from ..core.kinds import Determination, NodeKind, Status
from .results import (
    STATUS_WORDS,
    AdvisoryResult,
    CaseResult,
    NodeResult,
    PolicyResult,
    PolicySetInfo,
)

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


def effective_words(result: PolicyResult) -> str:
    """`, effective DATE` of the version used; nothing when no version was in effect."""
    if result.determination == Determination.NO_VERSION:
        return ""
    return f", effective {result.effective.isoformat()}"


def version_words(result: PolicyResult) -> str:
    """The version used and why, for Markdown (empty for a result without version data)."""
    use = result.version_use
    if use is None:
        return ""
    reason = use.reason(plain=True)
    return textsafe.markdown(reason[0].upper() + reason[1:]) + "."


def service_words(case: CaseResult) -> str:
    """The requested service as the policies name it (its identifier only if none judged it)."""
    label = next(
        (r.service_label for r in case.results if r.service_label not in ("", case.service)), ""
    )
    return label or case.service.replace("_", " ")


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


def node_label(node: NodeResult, ruled_out: bool) -> tuple[str, str]:
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


def advisory_line(result: PolicyResult, advisory: AdvisoryResult) -> str:
    """One advisory on one line: its section, what it is about, and the documented values."""
    state = (
        f" (recommendation {STATUS_WORDS[advisory.recommendation]})"
        if advisory.recommendation
        else ""
    )
    evidence = "; ".join(advisory.evidence_words or advisory.evidence)
    return f"{section(result, advisory.cite)}: {advisory.label}{state}" + (
        f"; {evidence}" if evidence else ""
    )


def reasons_words(result: PolicyResult) -> tuple[str, ...]:
    """The reasons for people (a result built without them: as they are)."""
    return result.reasons_words or result.reasons


def section(result: PolicyResult, cite: str) -> str:
    """A criterion's section without the policy's own name, which the header already gives."""
    return cite[len(result.cite) :].strip() if cite.startswith(result.cite) else cite


# Hex digits of a policy text's sha256 that name its version in text and Markdown: a short id
# to tell two texts apart, as a short commit id does; the folder and the full hash are JSON's.
SHORT_HASH = 8


def set_words(info: PolicySetInfo) -> str:
    return info.origin if info.path is None else f"{info.path} ({info.origin})"


def short_id(result: PolicyResult) -> str:
    """A policy text's short version id: the first hex digits of its sha256."""
    return result.source_sha256[:SHORT_HASH] or "unknown"


def version_ids(case: CaseResult) -> str:
    """Each policy judged, by its citation, version and the short id of its text."""
    return ", ".join(
        f"{r.cite}"
        + (f" version {r.version_use.version}" if r.version_use and r.version_use.version else "")
        + f" (text {short_id(r)})"
        for r in case.results
    )


def origin_words(info: PolicySetInfo) -> str:
    """How the policy set was chosen, without its folder (JSON names the folder)."""
    return {
        "--policies": "named with --policies",
        "--policy-file": "policy files named with --policy-file",
        "SIJFASP_POLICIES": "named by SIJFASP_POLICIES",
    }.get(info.origin, info.origin)


def needs_line(result: PolicyResult) -> bool:
    """No version chosen for want of the plan's line of business (policies/versions.py): it is asked."""
    return result.version_use is not None and bool(result.version_use.undecided)


def determination_words(result: PolicyResult) -> str:
    if needs_line(result):  # `no_version_in_effect`, though a version is, for each line
        return "no version chosen: the line of business is not documented"
    return DETERMINATION_WORDS[result.determination]
