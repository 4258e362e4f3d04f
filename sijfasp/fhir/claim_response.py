"""FHIR out: a Da Vinci PAS response Bundle, the ClaimResponse first.

Per policy that addresses the request, one ClaimResponse whose item carries the review action
(X12 306 codes, as PAS carries them):

* `approvable` -> A1 (certified in total), with the authorization period;
* `incomplete` -> A4 (pended), with a Task asking for the questionnaire of what is missing
  (LOINC 102089-0, its canonical as input);
* `not_met` and `excluded` -> A4 (pended) for review by a physician: `processNote` says what
  sijfasp found (criteria not met, or which exclusion applies, by section) and that it does
  not decide a denial, then every reason (the documented values, and for a FHIR case the
  resources they were read from), with the policy version and content hash. Never A3: sijfasp
  finds criteria met or not met; a physician decides a denial;
* `not_applicable` (or no version in effect) -> nothing from that policy; a ClaimResponse
  without a decision, saying why of each policy, only when no policy decides.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..cases.case import Case
from ..core.kinds import Determination, ExclusionStatus, NodeKind, Status
from ..core.wording import lower_first
from ..results.render_words import service_words
from ..results.results import CaseResult, NodeResult, PolicyResult
from .questionnaire import missing_url
from .read import FhirCase

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition"
CLAIM_RESPONSE_PROFILE = f"{PAS}/profile-claimresponse"
REVIEW_ACTION = f"{PAS}/extension-reviewAction"
REVIEW_ACTION_CODE = f"{PAS}/extension-reviewActionCode"
ITEM_PERIOD = f"{PAS}/extension-itemPreAuthPeriod"
X12_306 = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
LOINC_QUESTIONNAIRE = "102089-0"
# How long an approval sijfasp finds stays valid, from the request date: the policies state no
# period, so this is the project's default (docs/fhir.md); a payer sets its own.
AUTHORIZATION_DAYS = 180
# The X12 306 codes sijfasp writes: never A3 (not certified), which is a physician's to give.
REVIEW_WORDS = {"A1": "Certified in total", "A4": "Pended"}
# The human-review statement of a `not_met` or `excluded` determination: what sijfasp found,
# and that a physician or other appropriate professional decides.
HUMAN_REVIEW = (
    "Pended for review by a physician or other appropriate professional: sijfasp found {found}; "
    "it does not decide a denial."
)


def _reference(kind: str, ident: str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def _review_action(code: str, number: str) -> dict[str, Any]:
    return {
        "url": REVIEW_ACTION,
        "extension": [
            {
                "url": REVIEW_ACTION_CODE,
                "valueCodeableConcept": {
                    "coding": [{"system": X12_306, "code": code, "display": REVIEW_WORDS[code]}]
                },
            },
            {"url": "number", "valueString": number},
        ],
    }


def human_review(result: PolicyResult) -> str:
    """What sijfasp found, with the sections, and that a physician decides: an exclusion that
    applies, or criteria not met, as documented."""
    if result.determination == Determination.EXCLUDED:
        applying = [
            f"{e.cite} ({lower_first(e.label)})"
            for e in result.exclusions
            if e.status == ExclusionStatus.APPLIES
        ]
        what = "an exclusion of the policy applies" if len(applying) < 2 else "exclusions apply"
        found = f"that {what} as documented: {'; '.join(applying)}"
    else:
        unmet = [c.cite for c in result.criteria if c.status == Status.NOT_MET]
        found = "criteria not met as documented" + (f": {', '.join(unmet)}" if unmet else "")
    return HUMAN_REVIEW.format(found=found)


def _sourced(names: tuple[str, ...], words: tuple[str, ...], read: FhirCase) -> list[str]:
    """The documented values of a leaf in words with the resources they were read from
    ("Pain intensity on a 0-10 scale: 4/10 (Observation/vas-1)"); values read from no
    resource (not documented) are left out. `names` are the same lines with the vocabulary's
    names ("vas_score = 4"), which say which fact each one is."""
    out = []
    for name, text in zip(names, words, strict=True):
        key = name.removeprefix("implied by ").split(" = ", 1)[0].strip()
        sources = read.sources.get(key) if " = " in name else None
        if sources:
            out.append(f"{text} ({', '.join(sources)})")
    return out


def _evidence_notes(result: PolicyResult, read: FhirCase | None) -> list[str]:
    """For a case read from FHIR, where the documented values that decided were read: of each
    unmet leaf, the members documented present under a `none of`, an applying exclusion."""
    if read is None:
        return []  # the reasons already quote the documented values
    lines: list[str] = []

    def cite(cited: str, names: tuple[str, ...], words: tuple[str, ...]) -> None:
        found = _sourced(names, words, read)
        if found:
            lines.append(f"{cited}, as read from the documents: {'; '.join(found)}.")

    def walk(node: NodeResult) -> None:
        if node.status != Status.NOT_MET:
            return
        if not node.children:
            cite(node.cite, node.evidence, node.evidence_words)
        elif node.kind == NodeKind.NONE:
            for child in node.children:
                if child.status == Status.MET:
                    cite(child.cite, child.evidence, child.evidence_words)
        else:
            for child in node.children:
                walk(child)

    if result.determination == Determination.EXCLUDED:
        for exclusion in result.exclusions:
            if exclusion.status == ExclusionStatus.APPLIES:
                cite(exclusion.cite, exclusion.evidence, exclusion.evidence_words)
    else:
        for top in result.criteria:
            walk(top)
    return lines


def _missing_note(result: PolicyResult, url: str) -> str:
    """What an incomplete determination asks for: the criteria still to document, and the
    questionnaire that asks it."""
    criteria = "; ".join(f"{g.criterion} ({lower_first(g.label)})" for g in result.grouped)
    missing = f"documentation is missing for {criteria}" if criteria else "documentation is missing"
    return (
        f"Pended for more information: {missing}. Complete the questionnaire of what is "
        f"missing ({url}); any one of its options completes the request."
    )


def _no_decision_note(result: PolicyResult, service: str) -> str:
    if result.determination == Determination.NO_VERSION and result.version_use is not None:
        return f"{result.cite}: {result.version_use.reason()}; it makes no decision."
    return (
        f"{result.cite} does not address the requested service ({service}); it makes no decision."
    )


def _policy_note(result: PolicyResult) -> str:
    version = result.version_use.version if result.version_use else None
    return (
        f"Judged under {result.cite} ({result.policy}, version {version or result.effective}, "
        f"policy text sha256 {result.source_sha256 or 'unknown'})."
    )


def claim_response(
    case_result: CaseResult,
    case: Case,
    read: FhirCase | None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """The PAS response Bundle of one case."""
    created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
    claim_id = read.sources.get("request.service", ("",))[0] if read is not None else ""
    claim_reference = (
        {"reference": claim_id}
        if read is not None and claim_id.startswith(("Claim/", "ServiceRequest/"))
        else {"identifier": {"value": case.details.get("reference_id", case.id)}}
    )
    patient = read.sources.get("patient") if read is not None else None
    patient_reference = (
        {"reference": patient[0]}
        if patient
        else {"display": case.details.get("patient", f"the patient of case {case.id}")}
    )
    entries: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for result in case_result.results:
        if result.determination in (Determination.NOT_APPLICABLE, Determination.NO_VERSION):
            continue  # this policy makes no decision
        number = f"{_safe(case.id)}-{_safe(result.policy)}"
        notes = [_policy_note(result)]
        response: dict[str, Any] = {
            "resourceType": "ClaimResponse",
            "id": number,
            "meta": {"profile": [CLAIM_RESPONSE_PROFILE]},
            "status": "active",
            "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
            "use": "preauthorization",
            "patient": patient_reference,
            "created": created.isoformat().replace("+00:00", "Z"),
            "insurer": {"display": result.payer},
            "request": claim_reference,
        }
        adjudication: dict[str, Any] = {
            "category": {"coding": [{"system": ADJUDICATION, "code": "submitted"}]}
        }
        item: dict[str, Any] = {"itemSequence": 1, "adjudication": [adjudication]}
        determination = result.determination
        if determination == Determination.APPROVABLE:
            start = case.date
            end = start + dt.timedelta(days=AUTHORIZATION_DAYS - 1)
            period = {"start": start.isoformat(), "end": end.isoformat()}
            response["outcome"] = "complete"
            response["disposition"] = "Every criterion is met as documented."
            response["preAuthRef"] = number
            response["preAuthPeriod"] = period
            adjudication["extension"] = [_review_action("A1", number)]
            item["extension"] = [{"url": ITEM_PERIOD, "valuePeriod": period}]
            notes.append(
                f"Certified in total: every criterion of {result.cite} is met as documented and "
                f"no exclusion applies; for {AUTHORIZATION_DAYS} days from the request date, "
                f"{start.isoformat()} to {end.isoformat()}."
            )
        elif determination == Determination.INCOMPLETE:
            url = missing_url(result.policy, case.id)
            response["outcome"] = "queued"
            response["disposition"] = "Pended: documentation is missing."
            adjudication["extension"] = [_review_action("A4", number)]
            notes.append(_missing_note(result, url))
            task = {
                "resourceType": "Task",
                "id": f"{number}-request",
                "status": "requested",
                "intent": "order",
                "code": {
                    "coding": [
                        {
                            "system": "http://loinc.org",
                            "code": LOINC_QUESTIONNAIRE,
                            "display": "Payer questionnaire",
                        }
                    ]
                },
                "description": "Complete the questionnaire of the documentation still needed",
                "focus": {"reference": f"ClaimResponse/{number}"},
                "for": patient_reference,
                "authoredOn": created.isoformat().replace("+00:00", "Z"),
                "input": [
                    {
                        "type": {
                            "coding": [{"system": "http://loinc.org", "code": LOINC_QUESTIONNAIRE}]
                        },
                        "valueCanonical": url,
                    }
                ],
            }
            tasks.append(task)
        elif determination in (Determination.NOT_MET, Determination.EXCLUDED):
            response["outcome"] = "queued"
            response["disposition"] = (
                "Pended for physician review: an exclusion applies as documented."
                if determination == Determination.EXCLUDED
                else "Pended for physician review: criteria not met as documented."
            )
            adjudication["extension"] = [_review_action("A4", number)]
            notes.append(human_review(result))
            notes.extend(result.reasons_words or result.reasons)
            notes.extend(_evidence_notes(result, read))
        else:  # pragma: no cover - every determination is handled above
            raise AssertionError(determination)
        response["item"] = [item]
        response["processNote"] = [
            {"number": n + 1, "type": "display", "text": text[:4000]}
            for n, text in enumerate(notes)
        ]
        item["noteNumber"] = list(range(1, len(notes) + 1))
        entries.append(response)
    if not entries:
        entries.append(
            {
                "resourceType": "ClaimResponse",
                "id": f"{_safe(case.id)}-no-decision",
                "meta": {"profile": [CLAIM_RESPONSE_PROFILE]},
                "status": "active",
                "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
                "use": "preauthorization",
                "patient": patient_reference,
                "created": created.isoformat().replace("+00:00", "Z"),
                "insurer": {"display": "the policies used"},
                "request": claim_reference,
                "outcome": "complete",
                "disposition": "No policy used makes a decision on this request.",
                "processNote": [
                    {"number": n + 1, "type": "display", "text": text[:4000]}
                    for n, text in enumerate(
                        _no_decision_note(r, service_words(case_result))
                        for r in case_result.results
                    )
                ],
            }
        )
        if not case_result.results:
            del entries[0]["processNote"]  # FHIR JSON has no empty arrays
    return {
        "resourceType": "Bundle",
        "id": f"{_safe(case.id)}-response",
        "type": "collection",
        "timestamp": created.isoformat().replace("+00:00", "Z"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in [*entries, *tasks]],
    }


__all__ = ["AUTHORIZATION_DAYS", "HUMAN_REVIEW", "claim_response", "human_review"]
