"""What a case's evaluation found, as plain typed data: the hand-off from explain to render.

Every status, count and reason here was read off the solver's model by `explain` and `missing`;
nothing in this module or after it decides anything about the case. No clingo in here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from ..core.kinds import Determination, ExclusionStatus, NodeKind, Status, line_words

STATUS_WORDS = {
    Status.MET: "met",
    Status.NOT_MET: "not met",
    Status.NOT_DOCUMENTED: "not documented",
}


@dataclass(frozen=True)
class NodeResult:
    id: str
    label: str
    cite: str
    status: Status
    kind: NodeKind
    minimum: int | None
    condition: str | None
    evidence: tuple[str, ...]
    children: tuple[NodeResult, ...]
    # The evidence for people: the vocabulary's meanings, values in words with their units,
    # records by what they are and their date (no field names); `evidence` keeps the names.
    evidence_words: tuple[str, ...] = ()
    # What a leaf asks, for people ("Pain intensity on a 0-10 scale: 5/10 or more").
    condition_words: str | None = None
    # A fact leaf whose finding is known only by an implication of the vocabulary: the
    # documented findings that imply it, as `name = value` ("sacral_tumor_present = true").
    implied_by: tuple[str, ...] = ()

    @property
    def met_count(self) -> int:
        """How many members the solver found met (the figure an at-least criterion shows)."""
        return sum(1 for c in self.children if c.status == Status.MET)


@dataclass(frozen=True)
class RecordAsk:
    """A field of a documented record that is not documented, for a letter to ask once
    whatever value would serve: "Document the side of the joint injected on the diagnostic
    injections of 2026-04-01 and 2026-05-06 (left, right or both joints)"."""

    record: str  # the record, stable within a case ("injection 3")
    field: str  # the field's name, to ask each field of each record once
    noun: str  # the record in words without its date: "diagnostic injection"
    date: str  # the record's date, ISO
    question: str  # "Document the side of the joint injected", or a yes/no field's own ask
    choices: str = ""  # the values in words: "left, right or both joints"


@dataclass(frozen=True)
class MissingItem:
    """One piece of documentation that is missing, with what it must show."""

    key: str  # the ASP item, stable across runs
    fact: str  # finding or request field name, or the record kind
    need: str
    criterion: str  # section reference
    criterion_id: str
    prompt: str
    cost: int
    records: str | None = None  # for an added record: what the record set is, in words
    # The item in plain clinical words, for a letter to a provider's office: no field names,
    # no operators ("the pain score (VAS): 5 or more", "a left hip radiograph").
    words: str = ""
    send: bool = False  # a record to send (documentation that may exist), not a finding
    # The item for a reviewer: what must be documented, named as the vocabulary means it, with
    # the value needed ("Pain intensity on a 0-10 scale: 5 or more points").
    plain: str = ""
    # For a fact any one of several values serves (the side, when the records asked for follow
    # it): those values, in the vocabulary's order. One item, not one set per value.
    values: tuple[str, ...] = ()
    # A field of a documented record to fill in: asked once, whatever value the item names.
    on_record: RecordAsk | None = None


@dataclass(frozen=True)
class MissingGroup:
    """A criterion that still needs documentation: all of its groups, or any one option."""

    criterion_id: str
    criterion: str
    label: str
    groups: tuple[MissingGroup, ...]
    options: tuple[tuple[MissingItem, ...], ...]
    options_complete: bool
    choose: int = 1  # how many of the options are needed (an "at least K of" criterion)

    def count(self) -> int | None:
        """How many minimal sets this group stands for (None when not known exactly)."""
        if self.groups:
            total = 1
            for group in self.groups:
                part = group.count()
                if part is None:
                    return None
                total *= part
            return total
        if not self.options_complete:
            return None
        return math.comb(len(self.options), self.choose)

    def leaves(self) -> list[MissingGroup]:
        """The groups with options under this one, in order (itself when it has options)."""
        if not self.groups:
            return [self]
        return [leaf for child in self.groups for leaf in child.leaves()]


@dataclass(frozen=True)
class ExclusionResult:
    id: str
    label: str
    cite: str
    status: ExclusionStatus
    evidence: tuple[str, ...]
    evidence_words: tuple[str, ...] = ()  # the evidence for people, as a NodeResult's
    implied_by: tuple[str, ...] = ()  # as a NodeResult's, for the findings the exclusion reads


@dataclass(frozen=True)
class AdvisoryResult:
    id: str
    label: str
    cite: str
    applies: bool
    recommendation: Status | None  # the recommended criterion's status, when it has one
    evidence: tuple[str, ...]
    evidence_words: tuple[str, ...] = ()  # the evidence for people, as a NodeResult's


@dataclass(frozen=True)
class VersionUse:
    """Which version of a policy a case was judged under, and why (docs/cli.md)."""

    version: str | None  # None: no version was in effect
    on: dt.date  # the date versions were compared on: the request date, or --as-of
    as_of: bool  # `on` was given with --as-of
    plan: str | None  # the case's line of business (kinds.LineOfBusiness), when documented
    effective: dt.date | None  # the date that put the version in effect
    plan_line: bool  # that date is the version's own for the line (`effective for LINE`)
    explicit: bool  # picked with --policy ID@VERSION
    known: tuple[tuple[str, str], ...] = ()  # (version, its dates in words) of every version
    # No version chosen, for want of the case's line of business, which decides it: (line, the
    # version it would take or None), then (None, ...) for every line without a date of its own.
    undecided: tuple[tuple[str | None, str | None], ...] = ()

    def reason(self, plain: bool = False) -> str:
        """Why this version (or none) was used, in one sentence, the line of business in words
        ("Medicaid"); `plain` is kept for callers and changes nothing since."""
        on = f"the --as-of date {self.on.isoformat()}" if self.as_of else self.on.isoformat()
        shown = line_words(self.plan) if self.plan else None
        plan = f" for {shown}" if shown else ""
        if self.undecided:
            each = "; ".join(
                f"for {line_words(line)}, "
                + (f"version {version}" if version else "no version in effect")
                for line, version in self.undecided
            )
            return (
                f"which version applies on {on} depends on the plan's line of business, which "
                f"the case does not document: {each}"
            )
        if self.version is None:
            known = "; ".join(f"{v} ({dates})" for v, dates in self.known)
            return f"no version in effect on {on}{plan}; versions encoded: {known or 'none'}"
        if self.explicit:
            return f"version {self.version}, chosen explicitly with --policy"
        assert self.effective is not None
        whose = ""
        if self.plan:
            whose = f" for {shown}" if self.plan_line else ", its date for every line of business"
        return (
            f"version {self.version}, in effect on {on}{plan} "
            f"(effective {self.effective.isoformat()}{whose})"
        )


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    payer: str
    title: str
    document: str
    number: str | None
    effective: dt.date
    cite: str
    service: str
    determination: Determination
    criteria: tuple[NodeResult, ...]
    exclusions: tuple[ExclusionResult, ...]
    advisories: tuple[AdvisoryResult, ...]
    reasons: tuple[str, ...]
    missing: tuple[tuple[MissingItem, ...], ...]
    missing_complete: bool
    missing_total: int | None
    grouped: tuple[MissingGroup, ...]
    grouped_exact: bool
    payer_id: str = ""  # the policy id's first word ("aim", "caresource"): what a case names
    service_label: str = ""  # the requested service as the policy names it
    source_sha256: str = ""  # of the policy source file as read
    vocabulary_sha256: str = ""  # of the vocabulary file as read
    # The policy's own vocabulary extensions as read: (file name, sha256), in import order.
    extension_sha256: tuple[tuple[str, str], ...] = ()
    notices: tuple[str, ...] = ()  # said alongside the determination, never changing it
    version_use: VersionUse | None = None
    # Not met because documented attempts failed: what new attempts (and any documentation
    # still missing) would have to show for approval, as minimal sets and grouped. Never
    # changes the determination; empty when a documented fact contradicts a criterion.
    new_attempts: tuple[tuple[MissingItem, ...], ...] = ()
    new_attempts_grouped: tuple[MissingGroup, ...] = ()
    # The reasons for people: the same reasons with the documented values in words.
    reasons_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseDetails:
    """Who and what a case is about, for a letter's header: optional, validated plain text."""

    patient: str | None = None
    member_id: str | None = None
    payer: str | None = None
    plan: str | None = None
    reference_id: str | None = None
    line_of_business: str | None = None  # kinds.LineOfBusiness: chooses policy versions


@dataclass(frozen=True)
class PolicySetInfo:
    """The policy set a case was judged with: its folder (None for policy files named one by
    one) and how it was chosen (policy_set.Origin, or "--policy-file")."""

    path: str | None
    origin: str


@dataclass(frozen=True)
class CaseResult:
    case: str
    service: str
    request_date: dt.date
    results: tuple[PolicyResult, ...]
    details: CaseDetails = CaseDetails()
    tool_version: str = ""
    policy_set: PolicySetInfo | None = None


__all__ = [
    "STATUS_WORDS",
    "AdvisoryResult",
    "CaseDetails",
    "CaseResult",
    "ExclusionResult",
    "MissingGroup",
    "MissingItem",
    "NodeResult",
    "PolicyResult",
    "PolicySetInfo",
    "RecordAsk",
    "VersionUse",
]
