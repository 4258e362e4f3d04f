"""Results as JSON (`--format json`): every identifier, status and hash the words leave out;
docs/cli.md says what each version of the schema holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from ..core.kinds import Determination
from .render_words import reasons_words
from .results import CaseResult, MissingGroup, MissingItem, PolicyResult, PolicySetInfo


def _set_json(info: PolicySetInfo | None) -> dict | None:
    return None if info is None else {"path": info.path, "origin": info.origin}


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
