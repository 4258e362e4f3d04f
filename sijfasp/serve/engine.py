"""Judging a request with the loaded policies, and the answers of CRD, DTR and PAS.

The policies are loaded once, at start. A request's Coverage chooses the policies (the payer
routes of config.py); the FHIR reader of `sijfasp/fhir/` makes the raw case; the same stages
as the command line judge it (`api.evaluate_case`, with the server's time limit).

A hook request is judged once per process for identical contents (`Judgements`): the same
request with another `hookInstance` (an EHR signing the order it selected, or calling again)
gets the judgement already made, and calls that arrive together with the same contents wait
for the first one's. Each call still gets its own answer (its own card and assertion ids) and
its own stored request. The judgement is a function of the request's contents and the
policies loaded at start, so a kept one is the one the call would have made.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..api import DEFAULT_ENUMERATE, Options, evaluate_case
from ..cases.case import Case
from ..cases.reader import read_case_text, read_json_case_text
from ..cases.vocabulary import case_under
from ..core.diagnostics import Diagnostic, SijfaspError
from ..core.kinds import Determination
from ..core.limits import Limits
from ..fhir import is_fhir
from ..fhir.claim_response import claim_response
from ..fhir.questionnaire import (
    QUESTIONNAIRE_BASE,
    missing_bundle,
    missing_questionnaire,
    missing_url,
    policy_questionnaire,
)
from ..fhir.read import FhirCase, merge_answers, read_fhir
from ..language.extensions import union
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..results.results import CaseResult, PolicyResult
from .card_words import card_lines, reason_text
from .config import Route, Settings
from .store import json_default

CRD_EXTENSION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
SERVICE_IDS = {"sijfasp-order-sign": "order-sign", "sijfasp-order-select": "order-select"}
# What the hook services ask the EHR to send; what is not sent is not documented.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "documentation": (
        "Observation?patient={{context.patientId}}&_count=200"
        "&code=http://loinc.org|38214-3,http://loinc.org|72514-3,http://loinc.org|97909-6,"
        "http://loinc.org|82810-3,http://loinc.org|72166-2,http://loinc.org|4548-4,"
        "http://loinc.org|39156-5"
    ),
    "conditions": "Condition?patient={{context.patientId}}&_count=200",
    "procedures": "Procedure?patient={{context.patientId}}&_count=200",
    "imaging": "DiagnosticReport?patient={{context.patientId}}&_count=200",
    "medications": "MedicationStatement?patient={{context.patientId}}&_count=200",
}
PLAIN = {
    Determination.APPROVABLE: "every criterion is met as documented",
    Determination.INCOMPLETE: "documentation is missing for some criteria",
    Determination.NOT_MET: "documented facts do not meet a criterion; a physician reviews it",
    Determination.EXCLUDED: "an exclusion of the policy is documented; a physician reviews it",
    Determination.NOT_APPLICABLE: "the policy does not address this service",
    Determination.NO_VERSION: "no version of the policy is in effect for this request",
}
JUDGED = (
    Determination.APPROVABLE,
    Determination.INCOMPLETE,
    Determination.NOT_MET,
    Determination.EXCLUDED,
)


def fail(path: str, message: str, hint: str | None = None, code: str = "case") -> SijfaspError:
    return SijfaspError([Diagnostic(code, message, hint=hint, field_path=path, file="request")])


@dataclass(frozen=True)
class Judged:
    """A request judged: the raw case, the validated case, its policies and the result."""

    data: dict[str, Any]
    case: Case
    policies: list[LoadedPolicy]
    read: FhirCase | None
    result: CaseResult
    route: Route | None


# A hook request's members that say which call it is, not what is judged: the reader never
# reads them (fhir/read.py reads `hook`, `context` and `prefetch`), so two calls that differ
# only in them are judged alike.
PER_CALL = ("hookInstance", "fhirServer", "fhirAuthorization")
# The hooks the services answer: the reader judges an order alike under either (it only checks
# that the hook is one it reads), so the order signed is the order selected before it.
ORDER_HOOKS = tuple(SERVICE_IDS.values())


def _has_duplicates(value: Any) -> bool:
    """Whether a key is written twice anywhere in a request read by the case reader: such a
    request is refused by the reader, never answered from a judgement kept for its look-alike."""
    if isinstance(value, dict):
        return bool(getattr(value, "duplicates", ())) or any(
            _has_duplicates(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_duplicates(v) for v in value)
    return False


def request_key(data: dict[str, Any]) -> str | None:
    """The SHA-256 of what a hook request asks to judge: its canonical JSON without the
    per-call members (whether it has a `hookInstance` is kept: that makes it a hook request),
    order-select and order-sign alike; None when it cannot be kept (a key written twice).
    Values JSON has no type for are written with their type (a Decimal `14.0` is not the
    integer 14)."""
    if _has_duplicates(data):
        return None
    contents = {k: v for k, v in data.items() if k not in PER_CALL}
    if contents.get("hook") in ORDER_HOOKS:
        contents["hook"] = "order"
    text = json.dumps(
        ["hookInstance" in data, contents],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=repr,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Judgements:
    """Judgements kept by request contents, and those under way: a call whose contents are
    being judged waits for that judgement rather than making it again, and gets its refusal
    when it fails (a bad request, the time limit: the same contents fail alike). What is kept
    is bounded by the size of the requests judged (`budget` bytes; a judgement takes about
    five times its request's size in memory): the least recently used go first. A failed
    judgement is not kept: the next call with those contents is judged again."""

    def __init__(self, budget: int):
        self.budget = budget
        self.lock = threading.Lock()
        self.kept: OrderedDict[str, tuple[Judged, int]] = OrderedDict()
        self.size = 0  # the bytes of the requests kept
        self.running: dict[str, _UnderWay] = {}

    def get(
        self, key: str, judge: Callable[[], Judged], wait: float, size: int
    ) -> tuple[Judged, bool]:
        """The judgement of the contents `key` (a request of `size` bytes), and whether it
        was kept from another call."""
        with self.lock:
            found = self._kept(key)
            if found is not None:
                return found, True
            under_way = self.running.get(key)
            if under_way is None:
                mine = self.running[key] = _UnderWay()
        if under_way is not None:
            under_way.done.wait(wait or None)
            if under_way.error is not None:
                raise under_way.error
            with self.lock:
                found = self._kept(key)
            if found is not None:
                return found, True
            return judge(), False  # the first call's judgement is late: judged here
        try:
            judged = judge()
        except BaseException as error:
            mine.error = error
            raise
        else:
            with self.lock:
                if size <= self.budget:
                    self.kept[key] = (judged, size)
                    self.size += size
                    while self.size > self.budget:
                        _, (_, dropped) = self.kept.popitem(last=False)
                        self.size -= dropped
            return judged, False
        finally:
            with self.lock:
                self.running.pop(key)
            mine.done.set()

    def _kept(self, key: str) -> Judged | None:
        found = self.kept.get(key)
        if found is None:
            return None
        self.kept.move_to_end(key)
        return found[0]


class _UnderWay:
    """A judgement being made: set when it ends, with its error if it failed."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


class Engine:
    def __init__(self, policies: list[LoadedPolicy], settings: Settings):
        self.policies = policies
        self.settings = settings
        self.limits = Limits(max_file_bytes=settings.max_body_bytes, time_limit=settings.time_limit)
        self.vocabulary = union([p.policy.vocabulary for p in policies])
        # The vocabulary of each set of policies a route chooses, made once.
        self._vocabularies: dict[tuple[int, ...], Any] = {}
        self.judgements = Judgements(settings.cache_mb * 1_000_000)

    def warm_up(self) -> bool:
        """Judge a made-up order (an SI joint fusion, CPT 27279, with no documentation) under
        every policy, its decision only, twice, and word its card: the first call after start
        then finds the readers imported, the FHIR paths compiled and each compiled program
        parsed, as every later call does. Nothing is stored or kept; routes are not consulted.
        False when the policy set does not read such an order (the first call then pays)."""
        order = {
            "resourceType": "ServiceRequest",
            "id": "warm-up",
            "status": "draft",
            "intent": "order",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "27279"}]},
            "authoredOn": dt.date.today().isoformat(),
        }
        hook = {
            "hook": "order-sign",
            "hookInstance": "warm-up",
            "context": {"draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]}},
        }
        try:
            for _ in range(2):  # a compiled program's first use differs from every later one
                read = read_fhir(hook, self.vocabulary, "warm-up")
                case, chosen = case_under(dict(read.data), self.policies, "warm-up", self.limits)
                result = evaluate_case(chosen, case, Options(missing=False))
                judged = Judged(dict(read.data), case, chosen, read, result, None)
                self.crd(hook, judged)
        except SijfaspError:
            return False
        return True

    def _vocabulary_of(self, policies: list[LoadedPolicy]) -> Any:
        key = tuple(id(p) for p in policies)
        found = self._vocabularies.get(key)
        if found is None:
            found = self._vocabularies[key] = union([p.policy.vocabulary for p in policies])
        return found

    # ------------------------------------------------------------ routes
    def _coverages(self, data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
        """The Coverage resources of a request and every resource beside them."""
        resources: list[Any] = []
        if "hook" in data:
            for value in (data.get("prefetch") or {}).values():
                if isinstance(value, dict) and value.get("resourceType") == "Bundle":
                    resources += [e.get("resource") for e in value.get("entry") or []]
                else:
                    resources.append(value)
        elif data.get("resourceType") == "Bundle":
            resources = [e.get("resource") for e in data.get("entry") or [] if isinstance(e, dict)]
        resources = [r for r in resources if isinstance(r, dict)]
        return [r for r in resources if r.get("resourceType") == "Coverage"], resources

    def _payer_keys(self, coverage: dict[str, Any], resources: list[Any]) -> set[str]:
        keys: set[str] = set()
        for payor in coverage.get("payor") or []:
            if not isinstance(payor, dict):
                continue
            reference = payor.get("reference")
            ident = payor.get("identifier") or {}
            keys |= {v for v in (reference, ident.get("value"), payor.get("display")) if v}
            for org in resources:
                if org.get("resourceType") == "Organization" and reference == (
                    f"Organization/{org.get('id')}"
                ):
                    keys |= {i.get("value") for i in org.get("identifier") or [] if i.get("value")}
                    if org.get("name"):
                        keys.add(org["name"])
        return {str(k) for k in keys}

    def route(self, data: dict[str, Any]) -> tuple[list[LoadedPolicy], Route | None]:
        """The policies a request is judged by: its Coverage's route, or every policy when no
        route is configured."""
        if not self.settings.routes:
            return self.policies, None
        coverages, resources = self._coverages(data)
        for coverage in coverages:
            keys = self._payer_keys(coverage, resources)
            types = {
                c.get("code")
                for c in (coverage.get("type") or {}).get("coding") or []
                if isinstance(c, dict)
            }
            for route in self.settings.routes:
                if route.payer in keys and (
                    route.coverage_type is None or route.coverage_type in types
                ):
                    chosen = [p for p in self.policies if p.policy.id in route.policies]
                    if chosen:
                        return chosen, route
        raise fail(
            "Coverage.payor",
            "no policy is configured for this coverage's payer"
            if coverages
            else "the request has no Coverage, which chooses the policies",
            "the payer routes of the server (docs/serve.md, payer routes)",
        )

    # ------------------------------------------------------------ judging
    def parse(self, body: bytes, kind: str = "json") -> Any:
        """A request body as JSON (or a YAML case, for the page), refusing keys written twice."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise fail("", "the body is not UTF-8 text") from None
        if kind == "json":
            return read_json_case_text(text, "request")
        return read_case_text(text, "request", self.limits)

    def judge_hook(self, data: dict[str, Any], size: int) -> tuple[Judged, bool]:
        """A hook request (of `size` bytes) judged, or the judgement of the same contents made
        before or under way (`Judgements`), and whether it was kept from another call; judged
        afresh when keeping is off (`cache_mb = 0`)."""
        key = request_key(data) if self.settings.cache_mb else None
        if key is None:
            return self.judge(data), False
        return self.judgements.get(key, lambda: self.judge(data), self.settings.time_limit, size)

    def judge(self, data: Any, options: Options | None = None) -> Judged:
        if not isinstance(data, dict):
            raise fail("", "the body is not a JSON object")
        policies, route = self.route(data) if is_fhir(data) else (self.policies, None)
        read = None
        raw: dict[str, Any] = data
        if is_fhir(data):
            vocabulary = self._vocabulary_of(policies)
            read = read_fhir(data, vocabulary, "request")
            raw = dict(read.data)
        if route is not None and route.line_of_business and "line_of_business" not in raw:
            raw["line_of_business"] = route.line_of_business
        case, chosen = case_under(raw, policies, "request", self.limits)
        result = evaluate_case(
            chosen,
            case,
            options or Options(enumerate=DEFAULT_ENUMERATE),
            time_limit=self.settings.time_limit,
        )
        return Judged(raw, case, chosen, read, result, route)

    def answered(self, case_json: str, response: dict[str, Any]) -> Judged:
        """A stored case with a QuestionnaireResponse's answers merged in, judged again."""
        raw = read_json_case_text(case_json, "stored case")
        answers = read_fhir(response, self.vocabulary, "questionnaire-response")
        merged = merge_answers(raw, answers, "questionnaire-response")
        return self.judge(merged)

    # ------------------------------------------------------------ PAS
    def claim_bundle(self, judged: Judged) -> dict[str, Any]:
        return claim_response(judged.result, judged.case, judged.read)

    # ------------------------------------------------------------ DTR
    def adaptive(self, judged: Judged) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
        """The questionnaire package of what the case lacks, and the cases to keep for
        `$next-question` (URL, policy, case)."""
        vocabularies = {p.policy.id: p.policy.vocabulary for p in judged.policies}
        bundle = missing_bundle([(judged.result, judged.case, vocabularies)])
        return bundle, self.kept_cases(judged)

    def kept_cases(self, judged: Judged) -> list[tuple[str, str, str]]:
        """The cases to keep for `$next-question`: per incomplete policy, the adaptive
        questionnaire's URL, the policy and the case."""
        text = json.dumps(judged.data, default=json_default, ensure_ascii=False)
        return [
            (missing_url(r.policy, judged.case.id), r.policy, text)
            for r in judged.result.results
            if r.determination == Determination.INCOMPLETE
        ]

    def next_question(
        self, judged: Judged, policy_id: str, response: dict[str, Any]
    ) -> dict[str, Any]:
        """The response grown by the next questions: the adaptive questionnaire of what the case
        still lacks under the policy, contained, or the response completed."""
        result = next((r for r in judged.result.results if r.policy == policy_id), None)
        grown = dict(response)
        if result is None or result.determination != Determination.INCOMPLETE:
            grown["status"] = "completed"
            if not str(grown.get("questionnaire", "")).startswith("#"):
                grown.pop("contained", None)  # kept when the response refers to it
            return grown
        vocabulary = next(p.policy.vocabulary for p in judged.policies if p.policy.id == policy_id)
        questionnaire, _ = missing_questionnaire(result, judged.case, vocabulary)
        # Contained, so without `meta.versionId`; the response refers to it by its id, and its
        # `url` (the adaptive questionnaire's canonical) is how the next round finds the case.
        grown["status"] = "in-progress"
        grown["contained"] = [questionnaire]
        grown["questionnaire"] = f"#{questionnaire['id']}"
        return grown

    def package(self, canonicals: list[str], service: str | None) -> dict[str, Any]:
        """The questionnaires of the policies named by canonical URL (the latest version)."""
        entries = []
        by_id = versions.grouped(self.policies)
        for index, url in enumerate(canonicals):
            base = url.split("|", 1)[0]
            policy_id = base.removeprefix(QUESTIONNAIRE_BASE)
            if not base.startswith(QUESTIONNAIRE_BASE) or policy_id not in by_id:
                raise fail(
                    f"parameter[questionnaire][{index}]",
                    "not the questionnaire of a policy of this server",
                    f"{QUESTIONNAIRE_BASE}POLICY with POLICY one of " + ", ".join(by_id),
                )
            latest = versions.latest(by_id[policy_id])
            loaded = latest[0] if latest else by_id[policy_id][0]
            questionnaire = policy_questionnaire(loaded, service)
            entries.append({"fullUrl": questionnaire["url"], "resource": questionnaire})
        return {"resourceType": "Bundle", "type": "collection", "entry": entries}

    # ------------------------------------------------------------ CRD
    def crd(self, data: dict[str, Any], judged: Judged) -> tuple[dict[str, Any], dict[str, str]]:
        """The CDS Hooks response (cards and the system action updating the order) and the
        coverage assertion id given to each policy's decision."""
        read = judged.read
        order_ref = (read.sources.get("request.service", ("",)) if read else ("",))[0]
        orders = ((data.get("context") or {}).get("draftOrders") or {}).get("entry") or []
        order = next(
            (
                e["resource"]
                for e in orders
                if isinstance(e, dict)
                and isinstance(e.get("resource"), dict)
                and f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}" == order_ref
            ),
            None,
        )
        coverages, _ = self._coverages(data)
        coverage_ref = (
            f"Coverage/{coverages[0].get('id')}" if coverages and coverages[0].get("id") else None
        )
        today = dt.date.today().isoformat()
        extensions = []
        assertions: dict[str, str] = {}
        lines = []
        for result in judged.result.results:
            if result.determination not in JUDGED:
                continue
            assertion = uuid.uuid4().hex
            assertions[result.policy] = assertion
            extensions.append(
                self._coverage_information(result, judged, coverage_ref, assertion, today)
            )
            lines.append(self._card_line(result))
        cards = []
        if lines:
            summary = _summary(judged.result)
            cards.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "summary": summary,
                    "indicator": "info",
                    "detail": "\n\n".join(lines),
                    "source": {"label": "sijfasp coverage requirements"},
                }
            )
        else:
            cards.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "summary": "No policy of this payer addresses the ordered service",
                    "indicator": "info",
                    "source": {"label": "sijfasp coverage requirements"},
                }
            )
        actions = []
        if order is not None and extensions:
            updated = copy.deepcopy(order)  # its numbers stay exact, written as numbers
            updated["extension"] = [*(updated.get("extension") or []), *extensions]
            actions.append(
                {
                    "type": "update",
                    "description": "Add the coverage information to the order",
                    "resource": updated,
                }
            )
        response: dict[str, Any] = {"cards": cards}
        if actions:
            response["systemActions"] = actions
        return response, assertions

    def _coverage_information(
        self,
        result: PolicyResult,
        judged: Judged,
        coverage_ref: str | None,
        assertion: str,
        today: str,
    ) -> dict[str, Any]:
        determination = result.determination
        parts: list[dict[str, Any]] = [
            {
                "url": "coverage",
                "valueReference": {"reference": coverage_ref or "Coverage/unknown"},
            },
            {
                "url": "covered",
                "valueCode": "covered"
                if determination in (Determination.APPROVABLE, Determination.INCOMPLETE)
                else "conditional",
            },
            {"url": "pa-needed", "valueCode": "auth-needed"},
        ]
        if determination == Determination.INCOMPLETE:
            parts += [
                {"url": "doc-needed", "valueCode": "clinical"},
                {"url": "doc-purpose", "valueCode": "withpa"},
                {
                    "url": "questionnaire",
                    "valueCanonical": missing_url(result.policy, judged.case.id),
                },
            ]
        reason = _reason(result)
        parts += [
            {"url": "reason", "valueCodeableConcept": {"text": reason}},
            {"url": "date", "valueDate": today},
            {"url": "coverage-assertion-id", "valueString": assertion},
        ]
        return {"url": CRD_EXTENSION, "extension": parts}

    def _card_line(self, result: PolicyResult) -> str:
        from ..results.render import needs_text, reasons_words

        head = f"**{result.payer}: {result.title}**: {PLAIN[result.determination]}."
        details = (
            list(reasons_words(result)) if result.determination != Determination.INCOMPLETE else []
        )
        lines = [f"- {d}" for d in details[:6]]
        if result.determination == Determination.INCOMPLETE and result.grouped:
            lines = card_lines(result)  # what is needed, as the letter asks for it
        elif result.determination == Determination.INCOMPLETE and result.missing:
            lines = ["- Send " + needs_text(result.missing[0]) + "."]
        return "\n".join([head, *lines])


def _reason(result: PolicyResult) -> str:
    from ..results.render import needs_text, reasons_words

    if result.determination == Determination.APPROVABLE:
        return "Every criterion of the policy is met as documented; prior authorization is needed."
    if result.determination == Determination.INCOMPLETE and result.grouped:
        return reason_text(result)
    if result.determination == Determination.INCOMPLETE and result.missing:
        return "Documentation needed: " + needs_text(result.missing[0]) + "."
    words = "; ".join(reasons_words(result)[:4])
    return f"For physician review: {words}" if words else PLAIN[result.determination]


def _summary(result: CaseResult) -> str:
    determinations = {r.determination for r in result.results}
    if Determination.INCOMPLETE in determinations:
        text = "Prior authorization needed: documentation is missing"
    elif determinations & {Determination.NOT_MET, Determination.EXCLUDED}:
        text = "Prior authorization needed: the request goes to physician review"
    else:
        text = "Prior authorization needed: the criteria are met as documented"
    return text[:140]


def decisions_of(judged: Judged, assertions: dict[str, str] | None = None) -> list[Any]:
    from .store import Decision

    out = []
    for result in judged.result.results:
        use = result.version_use
        version = use.version if use is not None and getattr(use, "version", None) else ""
        out.append(
            Decision(
                result.policy,
                str(version or _version_of(judged, result.policy)),
                result.source_sha256,
                result.determination.value,
                (assertions or {}).get(result.policy),
            )
        )
    return out


def _version_of(judged: Judged, policy_id: str) -> str:
    for loaded in judged.policies:
        if loaded.policy.id == policy_id:
            return loaded.policy.version or ""
    return ""


def replace_time_limit(engine: Engine, seconds: float) -> Engine:
    return Engine(engine.policies, dataclasses.replace(engine.settings, time_limit=seconds))


__all__ = ["PLAIN", "PREFETCH", "SERVICE_IDS", "Engine", "Judged", "decisions_of", "fail"]
