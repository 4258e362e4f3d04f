"""FHIR out: DTR-shaped Questionnaires and pre-filled QuestionnaireResponses.

`policy_questionnaire` asks every item a policy reads for a service, grouped by criterion (the
section reference in each group's text); `missing_bundle` asks only what a case still lacks,
its minimal sets offered as alternatives (a choice item, and `enableWhen` on each question),
with a QuestionnaireResponse pre-filled with what the case documents.

The linkIds are the vocabulary's names, so a response written by hand or by another system is
predictable: a finding `vas_score`, a request field `request.side`, a new record a repeating
group named by its kind with its fields `kind.field` inside, a field of a documented record a
group `kind#N` (N counting from 1) with `kind#N.field` inside. read.py reads them back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..cases.case import Case
from ..core import codings
from ..core.kinds import Determination
from ..language.compiler import RecordsLeaf
from ..language.semantics import FactDef, FieldDef, RecordKind, Vocabulary
from ..policies.loaded import LoadedPolicy
from ..results.results import CaseResult, MissingItem, PolicyResult
from .mapping import UCUM_UNITS

DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition"
STANDARD_PROFILE = f"{DTR}/dtr-std-questionnaire"
ADAPTIVE_PROFILE = f"{DTR}/dtr-questionnaire-adapt"
RESPONSE_PROFILE = f"{DTR}/dtr-questionnaireresponse"
INFORMATION_ORIGIN = f"{DTR}/information-origin"
QUESTIONNAIRE_BASE = f"{codings.CANONICAL_BASE}/Questionnaire/"
UNIT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
SET_LINK = "set"
DOCUMENTED_LINK = "documented"
_FILL = re.compile(r"fill\(r\((\w+),(\d+)\),(\w+),")
_MORE = re.compile(r"more(?:_days)?\((\w+)")


def policy_url(policy_id: str) -> str:
    return f"{QUESTIONNAIRE_BASE}{policy_id}"


def missing_url(policy_id: str, case_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9.-]", "-", f"{policy_id}-missing-{case_id}")[:64]
    return f"{QUESTIONNAIRE_BASE}{safe}"


# ------------------------------------------------------------------ items
def _codes(key: str, codes: Iterable[codings.Coding]) -> list[dict[str, Any]]:
    out = [
        {"system": c.system, "code": c.code, **({"display": c.display} if c.display else {})}
        for c in codes
        if c.value is None
    ]
    return [*out, {"system": codings.PROJECT_SYSTEM, "code": key}]


def _option(key: str, value: str, words: str | None = None) -> dict[str, Any]:
    return {
        "valueCoding": {
            "system": codings.PROJECT_SYSTEM,
            "code": codings.project_code(key, value),
            "display": words or value.replace("_", " "),
        }
    }


def _typed(
    item: dict[str, Any], key: str, definition: FactDef | FieldDef, values: Iterable[str] = ()
) -> dict[str, Any]:
    kind = definition.type.kind
    if kind == "bool":
        item["type"] = "boolean"
    elif kind == "number":
        item["type"] = "decimal"
        ucum = UCUM_UNITS.get(definition.unit or "")
        if ucum:
            item["extension"] = [
                {
                    "url": UNIT_EXTENSION,
                    "valueCoding": {
                        "system": codings.UCUM,
                        "code": ucum[0],
                        "display": definition.unit,
                    },
                }
            ]
    elif kind == "date":
        item["type"] = "date"
    else:
        item["type"] = "choice"
        if kind == "set":
            item["repeats"] = True
        offered = tuple(values) or definition.type.values
        item["answerOption"] = [_option(key, v, v.replace("_", " ")) for v in offered]
    return item


def fact_item(fact: FactDef, text: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": fact.key,
        "code": _codes(fact.key, fact.codes),
        "text": text or fact.ask,
    }
    return _typed(item, fact.key, fact)


def record_group(
    kind: RecordKind, text: str | None = None, prefix: str | None = None
) -> dict[str, Any]:
    """A repeating group of a record kind's fields; with `prefix` (`injection#3`), the group
    that fills fields of a documented record, not repeating."""
    link = prefix or kind.name
    fields = []
    for field_def in kind.fields:
        if field_def.derived:
            continue
        key = f"{kind.name}.{field_def.name}"
        item: dict[str, Any] = {
            "linkId": f"{link}.{field_def.name}",
            "code": _codes(key, field_def.codes),
            "text": field_def.ask or field_def.means,
        }
        if field_def.required and prefix is None:
            item["required"] = True
        _typed(item, key, field_def)
        if field_def.only_for and prefix is None:
            kind_key = f"{kind.name}.kind"
            item["enableWhen"] = [
                {
                    "question": f"{link}.kind",
                    "operator": "=",
                    "answerCoding": {
                        "system": codings.PROJECT_SYSTEM,
                        "code": codings.project_code(kind_key, field_def.only_for),
                    },
                }
            ]
        fields.append(item)
    group: dict[str, Any] = {
        "linkId": link,
        "code": _codes(kind.name, kind.codes),
        "text": text or kind.ask,
        "type": "group",
        "item": fields,
    }
    if prefix is None:
        group["repeats"] = True
    return group


# ------------------------------------------------------------------ the policy's questionnaire
def _walk(loaded: LoadedPolicy, node_id: str) -> Iterable[tuple[str, str]]:
    """(fact key or record kind, 'fact' | 'records') read under a node, in order."""
    compiled = loaded.compiled
    node = compiled.nodes[node_id]
    if node.leaf is not None:
        if isinstance(node.leaf, RecordsLeaf):
            yield compiled.record_sets[node.leaf.set_id].kind, "records"
        else:
            yield node.leaf.key, "fact"
    for child in node.children:
        yield from _walk(loaded, child)


def policy_questionnaire(loaded: LoadedPolicy, service: str | None) -> dict[str, Any]:
    policy, compiled = loaded.policy, loaded.compiled
    vocabulary = policy.vocabulary
    services = [service] if service else [s.name for s in policy.services]
    asked: set[str] = set()
    groups = []
    request = [vocabulary.fact("request", "service"), vocabulary.fact("request", "date")]
    header = [fact_item(f) for f in request if f is not None]
    if service:
        header[0]["initial"] = [_option("request.service", service)]
    asked |= {"request.service", "request.date"}
    for name in services:
        tops = [*compiled.top.get(name, ()), *compiled.exclusions.get(name, ())]
        for node_id in tops:
            node = compiled.nodes[node_id]
            items = []
            for key, what in _walk(loaded, node_id):
                if key in asked:
                    continue
                asked.add(key)
                if what == "records":
                    kind = vocabulary.record(key)
                    if kind is not None:
                        items.append(record_group(kind))
                    continue
                fact = _fact(vocabulary, key)
                if fact is not None:
                    items.append(fact_item(fact))
            if not items:
                continue
            exclusion = node_id in compiled.exclusions.get(name, ())
            groups.append(
                {
                    "linkId": f"criterion.{name}.{node_id}",
                    "text": f"{policy.cite} {node.section}: {node.label}"
                    + (" (an exclusion)" if exclusion else ""),
                    "type": "group",
                    "item": items,
                    **(
                        {
                            "enableWhen": [
                                {
                                    "question": "request.service",
                                    "operator": "=",
                                    "answerCoding": {
                                        "system": codings.PROJECT_SYSTEM,
                                        "code": codings.project_code("request.service", name),
                                    },
                                }
                            ]
                        }
                        if len(services) > 1
                        else {}
                    ),
                }
            )
    return {
        "resourceType": "Questionnaire",
        "id": policy.id.replace("_", "-") + (f"-{service.replace('_', '-')}" if service else ""),
        "meta": {"profile": [STANDARD_PROFILE]},
        "url": policy_url(policy.id),
        "version": policy.version,
        "name": re.sub(r"[^A-Za-z0-9]", "", policy.id.title()),
        "title": f"{policy.payer}: {policy.title} ({policy.cite}), documentation",
        "status": "active",
        "subjectType": ["Patient"],
        "date": policy.effective.isoformat(),
        "publisher": "sijfasp",
        "description": f"What {policy.cite} reads to decide a request"
        + (f" for {service.replace('_', ' ')}" if service else "")
        + "; each group names the criterion by its section.",
        "item": header + groups,
    }


def _fact(vocabulary: Vocabulary, key: str) -> FactDef | None:
    if key.startswith("request."):
        return vocabulary.fact("request", key.removeprefix("request."))
    return vocabulary.fact("finding", key)


# ------------------------------------------------------------------ what is missing
def _answer(fact: FactDef | FieldDef, key: str, value: Any) -> dict[str, Any] | None:
    kind = fact.type.kind
    if kind == "bool" and isinstance(value, bool):
        return {"valueBoolean": value}
    if kind == "number" and isinstance(value, (int, Decimal, float)):
        number = Decimal(str(value))
        return {
            "valueDecimal": int(number) if number == number.to_integral_value() else float(number)
        }
    if kind == "date" and isinstance(value, dt.date):
        return {"valueDate": value.isoformat()}
    if kind == "choice" and isinstance(value, str):
        return {
            "valueCoding": {
                "system": codings.PROJECT_SYSTEM,
                "code": codings.project_code(key, value),
            }
        }
    return None


def _origin() -> list[dict[str, Any]]:
    return [
        {"url": INFORMATION_ORIGIN, "extension": [{"url": "source", "valueCode": "auto-server"}]}
    ]


def _set_words(items: tuple[MissingItem, ...]) -> str:
    parts = [i.plain or i.words or i.prompt for i in items]
    text = "; ".join(p for p in parts if p)
    return text[:900]


def missing_questionnaire(
    result: PolicyResult, case: Case, vocabulary: Vocabulary
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The adaptive questionnaire of what the case lacks under one policy, and its response
    pre-filled with what the case documents."""
    sets = list(result.missing)
    url = missing_url(result.policy, case.id)
    several = len(sets) > 1
    items: list[dict[str, Any]] = []
    documented: list[dict[str, Any]] = []
    answered: list[dict[str, Any]] = []
    # What the policy reads that the case documents: shown, read-only, and pre-filled.
    read = _read_facts(result)
    for key in read:
        fact = _fact(vocabulary, key)
        value = (
            case.request.get(key.removeprefix("request."))
            if key.startswith("request.")
            else case.findings.get(key)
        )
        if fact is None or value is None:
            continue
        answer = _answer(fact, key, value)
        if answer is None:
            continue
        item = fact_item(fact, fact.means)
        item["readOnly"] = True
        documented.append(item)
        answered.append({"linkId": key, "answer": [{**answer, "extension": _origin()}]})
    if documented:
        items.append(
            {
                "linkId": DOCUMENTED_LINK,
                "text": "Documented in the request (pre-filled)",
                "type": "group",
                "item": documented,
            }
        )
    if several:
        items.append(
            {
                "linkId": SET_LINK,
                "text": "Which documentation will you send? Any one of these completes the request.",
                "type": "choice",
                "required": True,
                "answerOption": [
                    {
                        "valueCoding": {
                            "system": codings.PROJECT_SYSTEM,
                            "code": f"set.{n + 1}",
                            "display": f"Option {n + 1}: {_set_words(s)}",
                        }
                    }
                    for n, s in enumerate(sets)
                ],
            }
        )
    questions: dict[str, dict[str, Any]] = {}
    for n, missing in enumerate(sets):
        for entry in missing:
            link, question = _question(entry, vocabulary, case)
            if question is None:
                continue
            if link not in questions:
                questions[link] = question
                if several:
                    question["enableWhen"] = []
                    question["enableBehavior"] = "any"
            elif question.get("text") and question["text"] not in questions[link]["text"]:
                questions[link]["text"] += f"; or {question['text']}"
            if several:
                condition = {
                    "question": SET_LINK,
                    "operator": "=",
                    "answerCoding": {"system": codings.PROJECT_SYSTEM, "code": f"set.{n + 1}"},
                }
                if condition not in questions[link]["enableWhen"]:
                    questions[link]["enableWhen"].append(condition)
    items.extend(questions.values())
    questionnaire: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": url.rsplit("/", 1)[1],
        "meta": {"profile": [ADAPTIVE_PROFILE]},
        "url": url,
        "version": result.version_use.version
        if result.version_use and result.version_use.version
        else str(result.effective),
        "title": f"{result.payer}: documentation still needed for {result.cite}",
        "status": "active",
        "subjectType": ["Patient"],
        "derivedFrom": [policy_url(result.policy)],
        "item": items,
    }
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"{questionnaire['id'][:55]}-response",
        "meta": {"profile": [RESPONSE_PROFILE]},
        "questionnaire": f"{url}|{questionnaire['version']}",
        "status": "in-progress",
    }
    if answered:
        response["item"] = [{"linkId": DOCUMENTED_LINK, "item": answered}]
    return questionnaire, response


def _read_facts(result: PolicyResult) -> list[str]:
    found: list[str] = []

    def walk(nodes: Iterable[Any]) -> None:
        for node in nodes:
            for text in node.evidence:
                key = text.split(" = ", 1)[0].strip()
                if re.fullmatch(r"(request\.)?[a-z][a-z0-9_]*", key) and key not in found:
                    found.append(key)
            walk(node.children)

    walk(result.criteria)
    for exclusion in result.exclusions:
        for text in exclusion.evidence:
            key = text.split(" = ", 1)[0].strip()
            if re.fullmatch(r"(request\.)?[a-z][a-z0-9_]*", key) and key not in found:
                found.append(key)
    return found


def _question(
    entry: MissingItem, vocabulary: Vocabulary, case: Case
) -> tuple[str, dict[str, Any] | None]:
    fill = _FILL.match(entry.key)
    if fill is not None:
        kind_name, index, field_name = fill.group(1), int(fill.group(2)), fill.group(3)
        kind = vocabulary.record(kind_name)
        field_def = kind.field(field_name) if kind is not None else None
        if kind is None or field_def is None:
            return entry.key, None
        prefix = f"{kind_name}#{index + 1}"
        record = case.record(kind_name, index)
        when = f" of {record.date.isoformat()}" if record is not None and record.date else ""
        key = f"{kind_name}.{field_name}"
        item: dict[str, Any] = {
            "linkId": f"{prefix}.{field_name}",
            "code": _codes(key, field_def.codes),
            "text": field_def.ask or field_def.means,
        }
        _typed(item, key, field_def)
        return prefix, {
            "linkId": prefix,
            "text": f"The {kind_name.replace('_', ' ')}{when} (record {index + 1} of its kind): "
            + (entry.plain or entry.words or entry.prompt),
            "type": "group",
            "item": [item],
        }
    if _MORE.match(entry.key):
        kind = vocabulary.record(entry.fact)
        if kind is None:
            return entry.key, None
        group = record_group(kind, f"{kind.ask}: {entry.words or entry.need}")
        return kind.name, group
    fact = _fact(vocabulary, entry.fact)
    if fact is None:
        return entry.key, None
    item = fact_item(fact, entry.plain or entry.prompt)
    if entry.values and fact.type.kind == "choice":
        _typed(item, fact.key, fact, entry.values)
    return fact.key, item


def missing_bundle(results: list[tuple[CaseResult, Case, dict[str, Vocabulary]]]) -> dict[str, Any]:
    """For every case and every policy that finds it incomplete: the adaptive questionnaire
    and its pre-filled response, in one Bundle (a DTR questionnaire package's shape)."""
    entries: list[dict[str, Any]] = []
    for case_result, case, vocabularies in results:
        for result in case_result.results:
            if result.determination != Determination.INCOMPLETE or not result.missing:
                continue
            questionnaire, response = missing_questionnaire(
                result, case, vocabularies[result.policy]
            )
            entries.append({"fullUrl": questionnaire["url"], "resource": questionnaire})
            entries.append({"fullUrl": f"urn:uuid:{response['id']}", "resource": response})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:  # FHIR JSON has no empty arrays: nothing is missing, no entry
        bundle["entry"] = entries
    return bundle


__all__ = [
    "missing_bundle",
    "missing_questionnaire",
    "missing_url",
    "policy_questionnaire",
    "policy_url",
]
