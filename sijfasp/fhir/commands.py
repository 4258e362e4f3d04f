"""The FHIR side of the command line: cli/fhir.py calls these, and imports this module only when a
case is FHIR, `--answers` is given, or a FHIR output is asked for."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from ..cases.case import Case
from ..cases.reader import display_name, read_case_file
from ..cases.vocabulary import case_under
from ..core.diagnostics import Diagnostic, SijfaspError, did_you_mean
from ..core.limits import Limits
from ..core.textsafe import terminal
from ..language.extensions import union
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..results.results import CaseResult
from . import is_fhir, require
from .claim_response import claim_response
from .questionnaire import missing_bundle, policy_questionnaire
from .read import FhirCase, merge_answers, read_fhir


def _notify(name: str, notices: tuple[str, ...]) -> None:
    for notice in notices:
        sys.stderr.write(terminal(f"note: {name}: {notice}") + "\n")


def _relocated(error: SijfaspError, read: FhirCase) -> SijfaspError:
    """A case problem pointed at the FHIR resource its field was read from: its JSON path is
    the location, the message names the resource and the case field it gave."""
    moved = []
    for diagnostic in error.diagnostics:
        case_path = diagnostic.field_path
        where = read.locate(case_path) if case_path else None
        if where is not None:
            path, source = where
            diagnostic = dataclasses.replace(
                diagnostic,
                field_path=path,
                message=f"{source}, read as {case_path}: {diagnostic.message}",
            )
        moved.append(diagnostic)
    error.diagnostics = moved
    return error


def read_case(
    data: Any,
    policies: list[LoadedPolicy],
    name: str,
    limits: Limits,
    answers: Path | None,
    notify: bool = True,
) -> tuple[Case, list[LoadedPolicy], FhirCase | None]:
    """The validated case of FHIR input (or of a case with `--answers` merged in), the policies
    it is judged under, and what the FHIR reader found (None for a YAML/JSON case). The
    reader's notices go to standard error unless `notify` is false (a batch's workers)."""
    vocabulary = union([p.policy.vocabulary for p in policies])
    read: FhirCase | None = None
    if is_fhir(data):
        read = read_fhir(data, vocabulary, name)
        if notify:
            _notify(name, read.notices)
        data = read.data
    if answers is not None:
        shown = display_name(answers)
        raw = read_case_file(answers, limits)
        if not (isinstance(raw, dict) and raw.get("resourceType") == "QuestionnaireResponse"):
            raise SijfaspError(
                [
                    Diagnostic(
                        "case",
                        "--answers takes a FHIR QuestionnaireResponse",
                        hint="the response to sijfasp's questionnaire (sijfasp missing CASE "
                        "--format questionnaire)",
                        field_path="resourceType",
                        file=shown,
                    )
                ]
            )
        require(shown, "--answers", None)
        answered = read_fhir(raw, vocabulary, shown)
        _notify(shown, answered.notices)
        data = merge_answers(data, answered, shown)
    try:
        case, chosen = case_under(data, policies, name, limits)
    except SijfaspError as error:
        raise _relocated(error, read) if read is not None else error from None
    return case, chosen, read


def output(
    fmt: str,
    results: list[CaseResult],
    cases: list[tuple[Case, list[LoadedPolicy]]],
    read: dict[str, FhirCase | None],
) -> str:
    """`--format claim-response` (check), `--format questionnaire` (missing), or the JSON
    output of FHIR cases: each case's object with `fhir`, the resources each fact was read
    from (`sources`) and the notices."""
    if fmt == "json":
        from ..results.render import case_json

        objects = []
        for result, (case, _) in zip(results, cases, strict=True):
            data = case_json(result)
            found = read.get(case.path)
            if found is not None:
                data["fhir"] = {
                    "sources": {k: list(v) for k, v in found.sources.items()},
                    "notices": list(found.notices),
                }
            objects.append(data)
        return (
            json.dumps(objects[0] if len(objects) == 1 else objects, indent=2, ensure_ascii=False)
            + "\n"
        )
    if fmt == "claim-response":
        bundles = [
            claim_response(result, case, read.get(case.path))
            for result, (case, _) in zip(results, cases, strict=True)
        ]
        if len(bundles) == 1:
            return _json(bundles[0])
        return _json(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": b} for b in bundles],
            }
        )
    entries = [
        (result, case, {p.policy.id: p.policy.vocabulary for p in chosen})
        for result, (case, chosen) in zip(results, cases, strict=True)
    ]
    return _json(missing_bundle(entries))


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def questionnaire(policies: list[LoadedPolicy], reference: str, service: str | None) -> str:
    """`sijfasp questionnaire POLICY[@VERSION] [--service S]`: the latest version asked for."""
    chosen = versions.latest(policies)
    loaded = chosen[0] if chosen else policies[0]
    if service is not None:
        names = [s.name for s in loaded.policy.services]
        if service not in names:
            raise SijfaspError(
                [
                    Diagnostic(
                        "unknown-name",
                        f"policy '{loaded.policy.id}' has no service '{service}'",
                        hint=did_you_mean(service, names) or "its services: " + ", ".join(names),
                        file="--service",
                    )
                ]
            )
    return _json(policy_questionnaire(loaded, service))


__all__ = ["output", "questionnaire", "read_case"]
