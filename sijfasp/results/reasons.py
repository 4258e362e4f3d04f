"""Why a case is excluded or not met, one quotable reason per documented exclusion or
contradicted criterion (`reasons`, with the identifiers JSON keeps; `reasons_in_words`, for
people), and why a policy does not address the request's procedure code (`code_reasons`).
"""

from __future__ import annotations

from typing import assert_never

from ..core.kinds import Determination, ExclusionStatus, NodeKind, Status
from ..core.wording import lower_first
from ..language.semantics import CPT_FIELD
from .near_misses import NEARLY_WORDS
from .results import ExclusionResult, NodeResult
from .snapshot_reader import Reader


def code_reasons(reader: Reader) -> tuple[str, ...]:
    """Why the policy does not address the request: its code is not one the service lists."""
    code = reader.case.request.get(CPT_FIELD)
    service = next((s for s in reader.policy.services if s.name == reader.case.service), None)
    if code is None or service is None or not service.cpt_codes or code in service.cpt_codes:
        return ()
    listed = ", ".join(service.cpt_codes)
    return (
        f"{reader.policy.cite} {service.section}: {service.label}: covers CPT {listed}; "
        f"the request documents CPT {code}, a procedure the policy does not address.",
    )


def reasons(
    determination: Determination,
    tree: tuple[NodeResult, ...],
    exclusions: tuple[ExclusionResult, ...],
) -> tuple[str, ...]:
    """One specific, quotable reason per documented exclusion or contradicted criterion."""
    return _reasons(determination, tree, exclusions, plain=False)


def _not_together(tree: tuple[NodeResult, ...]) -> tuple[str, ...]:
    """Not met though no criterion is contradicted alone: the solver found no documentation
    that could be added meeting the criteria together (a record ordered after another set, and
    a criterion that rules out a record of that set)."""
    return tuple(
        f"{top.cite}: {top.label}. Not documented, and no documentation that could be added "
        "meets it together with the other criteria."
        for top in tree
        if top.status == Status.NOT_DOCUMENTED
    )


def reasons_in_words(
    determination: Determination,
    tree: tuple[NodeResult, ...],
    exclusions: tuple[ExclusionResult, ...],
) -> tuple[str, ...]:
    """The reasons for people: what `reasons` says, with the documented values in words and
    in sentences a provider's office reads as they are."""
    return _reasons(determination, tree, exclusions, plain=True)


def _reasons(
    determination: Determination,
    tree: tuple[NodeResult, ...],
    exclusions: tuple[ExclusionResult, ...],
    plain: bool,
) -> tuple[str, ...]:
    if determination == Determination.EXCLUDED:
        return tuple(
            f"{e.cite}: {e.label}. Documented: "
            f"{'; '.join(e.evidence_words if plain else e.evidence)}."
            for e in exclusions
            if e.status == ExclusionStatus.APPLIES
        )
    if determination != Determination.NOT_MET:
        return ()
    return tuple(
        _reason_text(node, plain=plain)
        for top in tree
        if top.status == Status.NOT_MET
        for node in _deepest_failures(top)
    ) or _not_together(tree)


def _deepest_failures(node: NodeResult) -> list[NodeResult]:
    failing = [c for c in node.children if c.status == Status.NOT_MET]
    if not failing or node.kind in (NodeKind.ANY, NodeKind.AT_LEAST, NodeKind.NONE):
        return [node]
    return [leaf for child in failing for leaf in _deepest_failures(child)]


def _decisive_evidence(node: NodeResult, plain: bool = False) -> str:
    # Records that nearly qualify explain the tree; a reason quotes what decided it.
    if plain:
        return "; ".join(e for e in node.evidence_words if not e.startswith(NEARLY_WORDS))
    return "; ".join(e for e in node.evidence if not e.startswith("nearly:"))


def _quoted_deep(node: NodeResult) -> str:
    """A failing criterion for people: its own documented values, or those of the members
    that decided it, without the labels of the groups in between."""
    if node.evidence_words:
        return _decisive_evidence(node, True) or lower_first(node.label)
    if node.kind in (NodeKind.AT_LEAST, NodeKind.NONE):
        return _quoted(node, True)
    failing = [c for c in node.children if c.status == Status.NOT_MET]
    kept = [c for c in failing if not _for_other_request(c)] or failing
    if node.kind == NodeKind.ALL:
        kept = [c for c in kept if _on_the_request(c)] or kept
    return "; ".join(_quoted_deep(c) for c in kept) or lower_first(node.label)


def _for_other_request(node: NodeResult) -> bool:
    """A group meant for another kind of request (joint by joint, for a bilateral one), which
    the request itself rules out."""
    return node.kind == NodeKind.ALL and any(
        _on_the_request(c) and c.status == Status.NOT_MET for c in node.children
    )


def _on_the_request(node: NodeResult) -> bool:
    """A leaf that tests the request itself (`request.side is bilateral`), not its documentation."""
    return node.kind == NodeKind.LEAF and (node.condition or "").startswith("request.")


def _quoted(node: NodeResult, plain: bool = False) -> str:
    """A criterion as a reason quotes it: its documented values, or for a criterion with no
    evidence of its own, its label with the values of the members that decided it."""
    if node.evidence:
        return _decisive_evidence(node, plain) or node.label
    deciding = Status.MET if node.kind == NodeKind.NONE else Status.NOT_MET
    members = [c for c in node.children if c.status == deciding]
    if node.kind == NodeKind.ALL:
        # A group meant for another kind of request (joint by joint, for a bilateral one) is
        # decided by the request alone: what its other members lack is beside the point.
        members = [c for c in members if _on_the_request(c)] or members
    parts = [_quoted(c, plain) for c in members]
    sep = "; " if plain else ", "
    return f"{node.label} ({sep.join(parts)})" if parts else node.label


def _reason_text(node: NodeResult, plain: bool = False) -> str:
    sep = "; " if plain else ", "
    match node.kind:
        case NodeKind.LEAF:
            documented = _decisive_evidence(node, plain)
            if plain:
                needed = node.condition_words or node.label
                means, _, wanted = needed.rpartition(": ")
                if means and documented.startswith(means + ": ") and "; " not in documented:
                    # One value against what is needed: "Pain intensity on a 0-10 scale:
                    # 4/10 documented, 5/10 or more needed."
                    shown = documented.removeprefix(means + ": ")
                    return (
                        f"{node.cite}: {node.label}. {means}: {shown} documented, {wanted} needed."
                    )
                return (
                    f"{node.cite}: {node.label}. Not met as documented ({documented}); "
                    f"needed: {lower_first(needed)}."
                )
            return (
                f"{node.cite}: {node.label}. Not met as documented ({documented}); "
                f"the criterion needs {node.condition}."
            )
        case NodeKind.AT_LEAST:
            negative = [c for c in node.children if c.status == Status.NOT_MET]
            return (
                f"{node.cite}: {node.label}. {node.met_count} of the required {node.minimum} "
                "met; documented as not met: " + sep.join(_quoted(c, plain) for c in negative) + "."
            )
        case NodeKind.NONE:
            present = [_quoted(c, plain) for c in node.children if c.status == Status.MET]
            return f"{node.cite}: {node.label}. Not met as documented: {sep.join(present)}."
        case NodeKind.ANY | NodeKind.ALL:
            parts = [_quoted(c, plain) for c in node.children if c.status == Status.NOT_MET]
            if plain:
                # Alternatives meant for another kind of request are beside the point.
                failing = [c for c in node.children if c.status == Status.NOT_MET]
                kept = [c for c in failing if not _for_other_request(c)] or failing
                if node.kind == NodeKind.ALL or len(kept) == 1:
                    said = sep.join(_quoted_deep(c) for c in kept)
                    return f"{node.cite}: {node.label}. Not met as documented: {said}."
                said = sep.join(
                    _quoted_deep(c) if c.kind == NodeKind.LEAF else f"{c.label} ({_quoted_deep(c)})"
                    for c in kept
                )
                return (
                    f"{node.cite}: {node.label}. None of the alternatives is met as "
                    f"documented: {said}."
                )
            return (
                f"{node.cite}: {node.label}. None of the alternatives can be met as documented "
                f"({', '.join(parts)})."
            )
    assert_never(node.kind)
