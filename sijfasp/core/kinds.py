"""The closed sets every stage shares, as enums.

Each is a `StrEnum` whose values are the words the ASP program and the JSON output use, so a
member prints as itself. Code that dispatches over one ends in `assert_never` or a raise, never
in a default branch: a new member must be handled everywhere before anything runs.
"""

from __future__ import annotations

from enum import StrEnum

# The value of a record's side field that covers either side: `covers` in policy.lp reads it, and
# the checks and the code that match records in Python must read it alike.
BOTH_SIDES = "bilateral"


class Determination(StrEnum):
    """determination/1: the finding for a case under one policy, in precedence order."""

    NOT_APPLICABLE = "not_applicable"
    EXCLUDED = "excluded"
    APPROVABLE = "approvable"
    INCOMPLETE = "incomplete"
    NOT_MET = "not_met"
    # Not a finding of the solver: no encoded version of the policy was in effect on the date
    # (sijfasp/policies/versions.py), so the case was not judged under it at all.
    NO_VERSION = "no_version_in_effect"


class Status(StrEnum):
    """status/2: a node of the criteria tree as documented (exclusion nodes too)."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_DOCUMENTED = "not_documented"


class ExclusionStatus(StrEnum):
    """An exclusion as documented: the solver's status/2 of the exclusion node, in its words."""

    APPLIES = "applies"
    DOCUMENTED_ABSENT = "documented_absent"
    NOT_DOCUMENTED = "not_documented"

    @classmethod
    def of(cls, status: Status) -> ExclusionStatus:
        match status:
            case Status.MET:
                return cls.APPLIES
            case Status.NOT_MET:
                return cls.DOCUMENTED_ABSENT
            case Status.NOT_DOCUMENTED:
                return cls.NOT_DOCUMENTED
        raise ValueError(f"unknown status {status!r}")


class World(StrEnum):
    """The case as documented, and the case with guessed additions."""

    DOC = "doc"
    HYP = "hyp"


class ItemKind(StrEnum):
    """item/1: the kinds of missing documentation the solver can add."""

    GUESS = "guess"  # an undocumented finding or request field
    FILL = "fill"  # a missing optional field of a documented record
    MORE = "more"  # a record added to a record set
    MORE_DAYS = "more_days"  # days of therapy a duration criterion lacks


class NodeKind(StrEnum):
    """node/2: how a criterion combines its members, or a leaf test."""

    ALL = "all"
    ANY = "any"
    AT_LEAST = "at_least"
    NONE = "none"
    LEAF = "leaf"


class FactScope(StrEnum):
    """Where a fact lives in a case: findings, or the request (`request.side`)."""

    FINDING = "finding"
    REQUEST = "request"


class Operator(StrEnum):
    """A numeric comparison, as the ASP program names it."""

    GE = "ge"
    GT = "gt"
    LE = "le"
    LT = "lt"
    EQ = "eq"
    NE = "ne"

    @classmethod
    def of_symbol(cls, text: str) -> Operator:
        """The operator of a DSL comparison (`>=`); a KeyError for anything else."""
        return _OPERATOR_SYMBOLS[text]


_OPERATOR_SYMBOLS = {
    ">=": Operator.GE,
    "<=": Operator.LE,
    ">": Operator.GT,
    "<": Operator.LT,
    "=": Operator.EQ,
    "!=": Operator.NE,
}


class FieldOperator(StrEnum):
    """How a record filter tests a field, as the DSL writes it."""

    IS = "is"
    IN = "in"
    COMPARE = "compare"
    HAS = "has"
    WITHIN = "within"
    MATCHES = "matches"
    COVERS = "covers"
    AFTER = "after"  # the date field is later than some record of a named set
    BEFORE = "before"  # the date field is earlier than some record of a named set


class LeafTest(StrEnum):
    """How a leaf tests a finding or request field."""

    IS_TRUE = "is_true"
    IS_FALSE = "is_false"
    NOT_TRUE = "not_true"
    VALUE_IN = "value_in"
    COMPARE = "compare"


class CountUnit(StrEnum):
    """What a records leaf counts."""

    RECORDS = "records"
    DATES = "dates"
    DAYS = "days"
    LATEST = "latest"  # `latest of SET`: the most recent attempt shows the outcome


class LineOfBusiness(StrEnum):
    """The kind of coverage a plan is (a case's `line_of_business`): which version of a policy
    applies may depend on it (`effective for medicaid DATE`, policies/versions.py), never on a plan's
    name. `other` documents a line that is none of the listed ones."""

    COMMERCIAL = "commercial"
    MARKETPLACE = "marketplace"
    MEDICAID = "medicaid"
    CHIP = "chip"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICARE_MEDICAID = "medicare_medicaid"
    OTHER = "other"


# Each line of business in words, for text, Markdown and letters.
LINE_OF_BUSINESS_WORDS = {
    LineOfBusiness.COMMERCIAL: "commercial",
    LineOfBusiness.MARKETPLACE: "individual marketplace",
    LineOfBusiness.MEDICAID: "Medicaid",
    LineOfBusiness.CHIP: "CHIP",
    LineOfBusiness.MEDICARE_ADVANTAGE: "Medicare Advantage",
    LineOfBusiness.MEDICARE_MEDICAID: "Medicare-Medicaid (dual eligible)",
    LineOfBusiness.OTHER: "another line of business",
}


def line_words(line: str | None) -> str:
    """A line of business in words ("Medicaid"); None: every line without a date of its own in
    a policy version, as a version's choice lists them."""
    if line is None:
        return "any other line of business"
    try:
        return LINE_OF_BUSINESS_WORDS[LineOfBusiness(line)]
    except ValueError:
        return line.replace("_", " ")
