"""FHIR out: a Da Vinci PAS response Bundle, the ClaimResponse first.

Per policy that addresses the request, one ClaimResponse whose item carries the review action
(X12 306 codes, as PAS carries them):

* `approvable` -> A1 (certified in total), with the authorization period;
* `incomplete` -> A4 (pended), with a Task asking for the questionnaire of what is missing
  (LOINC 102089-0, its canonical as input);
* `not_met` and `excluded` -> A4 (pended) for review by a physician, every unmet criterion's
  reason in `processNote` (section, the documented values and where they were read, policy
  version and content hash). Never A3: sijfasp finds criteria met or not met; a physician
  decides a denial;
* `not_applicable` -> nothing from that policy (a ClaimResponse without a decision only when
  no policy addresses the request).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..cases.case import Case
from ..core.kinds import Determination
from ..results.results import CaseResult, PolicyResult
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
HUMAN_REVIEW = (
    "Pended for review by a physician or other appropriate professional: sijfasp found "
    "criteria not met as documented; it does not decide a denial."
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


def _cited(text: str, read: FhirCase | None) -> str:
    """Evidence `vas_score = 4` with the resource it was read from, when the case was FHIR."""
    if read is None:
        return text
    key = text.split(" = ", 1)[0].strip()
    sources = read.sources.get(key)
    return f"{text} ({', '.join(sources)})" if sources else text


def _unmet_notes(result: PolicyResult, read: FhirCase | None) -> list[str]:
    notes = list(result.reasons_words or result.reasons)
    evidence: list[str] = []

    def walk(node: Any) -> None:
        """The evidence of what makes a criterion not met: its unmet leaves, and under a
        `none of` the members documented as present."""
        if node.status.value != "not_met":
            return
        if not node.children:
            if node.evidence:
                evidence.append(
                    f"{node.cite}: documented " + "; ".join(_cited(e, read) for e in node.evidence)
                )
            return
        if node.kind.value == "none":
            for child in node.children:
                if child.status.value == "met" and child.evidence:
                    evidence.append(
                        f"{child.cite}: documented "
                        + "; ".join(_cited(e, read) for e in child.evidence)
                    )
            return
        for child in node.children:
            walk(child)

    for top in result.criteria:
        walk(top)
    for exclusion in result.exclusions:
        if exclusion.status.value == "applies" and exclusion.evidence:
            evidence.append(
                f"{exclusion.cite}: documented "
                + "; ".join(_cited(e, read) for e in exclusion.evidence)
            )
    return notes + evidence


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
                f"Certified in total, for {AUTHORIZATION_DAYS} days from the request date."
            )
        elif determination == Determination.INCOMPLETE:
            url = missing_url(result.policy, case.id)
            response["outcome"] = "queued"
            response["disposition"] = "Pended: documentation is missing."
            adjudication["extension"] = [_review_action("A4", number)]
            notes.append(
                "Pended for more information: complete the questionnaire of what is missing "
                f"({url}); any one of its options completes the request."
            )
            notes.extend(result.reasons_words or result.reasons)
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
            response["disposition"] = "Pended for physician review."
            adjudication["extension"] = [_review_action("A4", number)]
            notes.append(HUMAN_REVIEW)
            notes.extend(_unmet_notes(result, read))
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
                "disposition": "No policy used addresses the requested service: no decision.",
            }
        )
    return {
        "resourceType": "Bundle",
        "id": f"{_safe(case.id)}-response",
        "type": "collection",
        "timestamp": created.isoformat().replace("+00:00", "Z"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in [*entries, *tasks]],
    }


__all__ = ["AUTHORIZATION_DAYS", "HUMAN_REVIEW", "claim_response"]
