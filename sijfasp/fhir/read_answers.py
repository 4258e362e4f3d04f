"""Answers from FHIR: a QuestionnaireResponse to sijfasp's questionnaire, each answer read as a
finding, a request field, a new record or a field of a documented record.
"""

from __future__ import annotations

import re
from typing import Any

from ..core import codings
from ..core.diagnostics import did_you_mean
from ..language.semantics import FactDef, FieldDef, RecordKind
from .read_resources import (
    QUESTIONNAIRE_BASE,
    Fact,
    Resource,
    ResourceReader,
    matching,
    value_codings,
    values_of,
)


class AnswerReading(ResourceReader):
    """Reads a QuestionnaireResponse to sijfasp's questionnaire."""

    def answers(self, resource: Resource, alone: bool) -> None:
        data = resource.data
        canonical = data.get("questionnaire")
        if not (isinstance(canonical, str) and canonical.startswith(QUESTIONNAIRE_BASE)):
            if alone:
                raise self.fail(
                    f"{resource.path}.questionnaire" if resource.path else "questionnaire",
                    "the QuestionnaireResponse does not answer a questionnaire of sijfasp",
                    f"its questionnaire starts with {QUESTIONNAIRE_BASE}",
                )
            return  # another payer's form: listed as not read
        resource.used = True
        if data.get("status") == "entered-in-error":
            self.notices.append(f"ignored: {resource.ref} is marked entered-in-error")
            return
        items = data.get("item", [])
        self.answer_items(items, f"{resource.path}.item" if resource.path else "item", resource)

    def answer_items(self, items: Any, path: str, resource: Resource) -> None:
        if not isinstance(items, list):
            raise self.fail(path, "expected a list of items")
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
                raise self.fail(where, "an item names its linkId")
            link = item["linkId"]
            if link == "set":  # which minimal set the responder chose: nothing to document
                continue
            fill = re.fullmatch(r"([a-z][a-z0-9_]*)#([0-9]{1,6})", link)
            if fill is not None and self.vocabulary.record(fill.group(1)) is not None:
                self.answer_fill(fill.group(1), int(fill.group(2)) - 1, item, where, resource)
                continue
            kind = self.vocabulary.record(link)
            if kind is not None:
                self.answer_record(kind, item, where, resource)
                continue
            fact = self.fact_by_key(link)
            if fact is not None:
                self.answer_fact(fact, link, item, where, resource)
                continue
            if item.get("answer"):
                self.unread[f"answer to '{link[:40]}'"] += 1
            if "item" in item:
                self.answer_items(item["item"], f"{where}.item", resource)

    def fact_by_key(self, key: str) -> FactDef | None:
        if key.startswith("request."):
            return self.vocabulary.fact("request", key.removeprefix("request."))
        return self.vocabulary.fact("finding", key)

    def answer_value(self, item_def: FactDef | FieldDef, key: str, answer: Any, where: str) -> Any:
        if not isinstance(answer, dict):
            raise self.fail(where, "an answer is a JSON object with one value[x]")
        kind = item_def.type.kind
        for name, value in answer.items():
            if not name.startswith("value"):
                continue
            if name == "valueBoolean" and kind == "bool":
                return value
            if name in ("valueDecimal", "valueInteger") and kind == "number":
                return self.number(value, f"{where}.{name}", None)
            if name == "valueQuantity" and kind == "number":
                return self.number(value, f"{where}.{name}", item_def.unit)
            if name in ("valueDate", "valueDateTime") and kind == "date":
                return self.date(value, f"{where}.{name}")
            if name == "valueCoding" and kind in ("choice", "set", "bool"):
                listed = value_codings(key, values_of(kind, item_def.type.values), item_def.codes)
                matched = matching([value], listed)
                if not matched:
                    code = value.get("code") if isinstance(value, dict) else None
                    values = values_of(kind, item_def.type.values)
                    raise self.fail(
                        f"{where}.valueCoding",
                        f"'{code}' is not a value of {key}",
                        did_you_mean(str(code), [codings.project_code(key, v) for v in values])
                        or "values: " + ", ".join(values),
                    )
                chosen = matched[0].value
                return (chosen == "true") if kind == "bool" else chosen
            raise self.fail(f"{where}.{name}", f"{key} is {item_def.type.describe()}: not a {name}")
        raise self.fail(where, "the answer holds no value[x]")

    def answer_fact(
        self, fact: FactDef, key: str, item: dict[str, Any], where: str, resource: Resource
    ) -> None:
        answers = item.get("answer") or []
        if not isinstance(answers, list):
            raise self.fail(f"{where}.answer", "expected a list of answers")
        for index, answer in enumerate(answers[:1]):
            value = self.answer_value(fact, key, answer, f"{where}.answer[{index}]")
            self.put(key, Fact(value, resource.ref, where))

    def answer_fill(
        self, kind_name: str, index: int, item: dict[str, Any], where: str, resource: Resource
    ) -> None:
        """Fields of a documented record (`injection#3`, its `injection#3.side`)."""
        kind = self.vocabulary.record(kind_name)
        assert kind is not None
        for number, sub in enumerate(item.get("item") or []):
            here = f"{where}.item[{number}]"
            link = sub.get("linkId") if isinstance(sub, dict) else None
            name = str(link).removeprefix(f"{kind_name}#{index + 1}.")
            field_def = kind.field(name)
            if field_def is None or field_def.derived:
                raise self.fail(f"{here}.linkId", f"'{link}' is not a field of {kind_name}")
            answers = sub.get("answer") or []
            if answers:
                value = self.answer_value(
                    field_def, f"{kind_name}.{name}", answers[0], f"{here}.answer[0]"
                )
                self.fills.append((kind_name, index, name, value, here))

    def answer_record(
        self, kind: RecordKind, item: dict[str, Any], where: str, resource: Resource
    ) -> None:
        values: dict[str, Any] = {}
        field_sources: dict[str, str] = {}
        inner = item.get("item") or []
        if not isinstance(inner, list):
            raise self.fail(f"{where}.item", "expected a list of items")
        for index, sub in enumerate(inner):
            here = f"{where}.item[{index}]"
            link = sub.get("linkId") if isinstance(sub, dict) else None
            if not isinstance(link, str):
                raise self.fail(here, "an item names its linkId")
            name = link.removeprefix(f"{kind.name}.")
            field_def = kind.field(name)
            if field_def is None or field_def.derived:
                names = [f.name for f in kind.fields if not f.derived]
                raise self.fail(
                    f"{here}.linkId",
                    f"'{link}' is not a field of {kind.name}",
                    did_you_mean(name, names) or "fields: " + ", ".join(names),
                )
            answers = sub.get("answer") or []
            if field_def.type.kind == "set":
                values[name] = [
                    self.answer_value(field_def, link, a, f"{here}.answer[{i}]")
                    for i, a in enumerate(answers)
                ]
            elif answers:
                values[name] = self.answer_value(field_def, link, answers[0], f"{here}.answer[0]")
            if name in values:
                field_sources[name] = resource.ref
        if values:
            record_resource = Resource(resource.data, where, used=True)
            self.records.setdefault(kind.name, []).append((values, record_resource, field_sources))
