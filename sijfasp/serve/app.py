"""The ASGI application: routes, authentication, limits, errors as OperationOutcomes, JSON logs.

Every hook and operation runs the same way (`_operation`): a request id; the body read up to
the size limit (413); the client authenticated (401); a place among the workers or in the
queue (429 with Retry-After when both are full); the work in a worker thread with the time
limit (503 past it); the request, its decisions and its answer committed to the database before
the answer is sent; one JSON log line. A problem of the request is a 4xx with a FHIR
OperationOutcome naming the JSON path of the problem; nothing else shows a traceback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.diagnostics import SijfaspError
from ..policies.loaded import LoadedPolicy
from ..solve.solver import OutOfTime
from . import auth, page
from .config import Settings
from .engine import PREFETCH, SERVICE_IDS, Engine, Judged, decisions_of, fail
from .store import Store, json_default

FHIR_JSON = "application/fhir+json"
STATIC = Path(__file__).parent / "static"
log = logging.getLogger("sijfasp.serve")


class Problem(Exception):
    def __init__(self, status: int, code: str, message: str, path: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.path = status, code, message, path


def outcome(issues: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """A FHIR OperationOutcome: (code, what is wrong, JSON path) per issue."""
    out = []
    for code, message, path in issues:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
        if path:
            issue["expression"] = [path]
        out.append(issue)
    return {"resourceType": "OperationOutcome", "issue": out}


def _error_outcome(error: SijfaspError) -> dict[str, Any]:
    issues = []
    for d in error.diagnostics:
        message = d.message + (f" ({d.hint})" if d.hint else "")
        issues.append(("invalid", message, d.field_path or None))
    return outcome(issues)


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=json_default).encode("utf-8")


def _fhir(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _Json(data, status_code=status, headers=headers, media_type=FHIR_JSON)


def _canonical_sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Service:
    """The state shared by the routes: settings, engine, store, the work counter."""

    def __init__(self, settings: Settings, policies: list[LoadedPolicy]):
        self.settings = settings
        self.engine = Engine(policies, settings)
        self.store = Store(settings.database)
        self.limiter = anyio.CapacityLimiter(settings.workers)
        self.waiting = 0
        self.lock = threading.Lock()

    # ------------------------------------------------------------ the common path
    async def body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Problem(413, "too-long", f"the body is larger than {limit:,} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Problem(413, "too-long", f"the body is larger than {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def authenticate(self, request: Request, kind: str) -> str | None:
        if self.settings.dev:
            return "dev"
        try:
            if kind == "jwt":
                base = (self.settings.base_url or str(request.base_url)).rstrip("/")
                audiences = [base + request.url.path, base, str(request.url).split("?")[0]]
                return auth.jwt_client(self.settings, self.store, request.headers, audiences)
            return auth.bearer_client(self.settings, request.headers)
        except auth.Refused as refused:
            raise Problem(401, "security", str(refused)) from None

    async def operation(
        self,
        request: Request,
        kind: str,
        work: Callable[[Any, str, str | None, bytes], tuple[int, Any, dict[str, Any]]],
    ) -> Response:
        """Authenticate, read, queue, work, log; `work(data, request_id, client, body)` returns
        the status, the answer and what to log."""
        started = time.monotonic()
        request_id = uuid.uuid4().hex
        client: str | None = None
        status = 500
        logged: dict[str, Any] = {}
        headers = {"X-Request-Id": request_id}
        try:
            client = self.authenticate(request, kind)
            body = await self.body(request)
            try:
                data = json.loads(body.decode("utf-8")) if body.strip() else None
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                where = (
                    f"line {error.lineno} column {error.colno}"
                    if isinstance(error, json.JSONDecodeError)
                    else "its bytes"
                )
                raise Problem(400, "structure", f"the body is not JSON (at {where})") from None
            if data is None:
                raise Problem(400, "required", "the body is empty: a JSON resource is expected")
            data = self.engine.parse(body) if isinstance(data, dict) else data
            with self.lock:
                if self.waiting >= self.settings.workers + self.settings.queue:
                    raise Problem(429, "throttled", "the server is busy: try again shortly")
                self.waiting += 1
            try:
                status, answer, logged = await anyio.to_thread.run_sync(
                    work, data, request_id, client, body, limiter=self.limiter
                )
            finally:
                with self.lock:
                    self.waiting -= 1
            extra = logged.pop("headers", {})
            headers.update(extra)
            return _fhir(answer, status, headers)
        except Problem as problem:
            status = problem.status
            if status == 429:
                headers["Retry-After"] = "1"
            if status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            return _fhir(outcome([(problem.code, problem.message, problem.path)]), status, headers)
        except SijfaspError as error:
            status = 422
            return _fhir(_error_outcome(error), status, headers)
        except OutOfTime:
            status = 503
            headers["Retry-After"] = "5"
            message = (
                f"the request took longer than the server's limit of {self.settings.time_limit:g} s"
            )
            return _fhir(outcome([("timeout", message, None)]), status, headers)
        except Exception as error:  # a fault of the server: logged, never shown
            status = 500
            logged = {"fault": type(error).__name__, "where": _where(error)}
            return _fhir(
                outcome([("exception", "the server failed on this request", None)]), 500, headers
            )
        finally:
            entry = {
                "request_id": request_id,
                "client": client,
                "method": request.method,
                "path": request.url.path,
                "status": status,
                "ms": round((time.monotonic() - started) * 1000, 1),
                **logged,
            }
            log.info(json.dumps(entry, ensure_ascii=False))

    # ------------------------------------------------------------ what is logged and stored
    @staticmethod
    def _logged(judged: Judged) -> dict[str, Any]:
        return {
            "policies": [
                {
                    "policy": r.policy,
                    "version": r.version_use.version if r.version_use else None,
                    "sha256": r.source_sha256[:12],
                    "determination": r.determination.value,
                }
                for r in judged.result.results
            ]
        }

    # ------------------------------------------------------------ CRD
    def hook(self, service_id: str) -> Callable[..., tuple[int, Any, dict[str, Any]]]:
        hook_name = SERVICE_IDS[service_id]

        def work(data: Any, request_id: str, client: str | None, body: bytes):
            if not isinstance(data, dict) or data.get("hook") != hook_name:
                raise fail("hook", f"this service answers the {hook_name} hook")
            if not isinstance(data.get("hookInstance"), str):
                raise fail("hookInstance", "a hook request has a hookInstance")
            judged, kept = self.engine.judge_hook(data, len(body))
            response, assertions = self.engine.crd(data, judged)
            keep = self.engine.kept_cases(judged)
            self.store.record(
                request_id,
                client,
                f"cds-services/{service_id}",
                _canonical_sha256(data),
                body.decode("utf-8"),
                200,
                response,
                judged.case.id,
                decisions_of(judged, assertions),
                cases=keep,
            )
            logged = self._logged(judged)
            if kept:
                logged["kept"] = True  # the judgement of identical contents, made before
            return 200, response, logged

        return work

    # ------------------------------------------------------------ PAS
    def submit(self, data: Any, request_id: str, client: str | None, body: bytes):
        claim = _first_claim(data)
        key = _claim_key(claim)
        digest = _canonical_sha256(data)
        judged = self.engine.judge(data)
        bundle = self.engine.claim_bundle(judged)
        bundle["identifier"] = {"system": DECISION_SYSTEM, "value": request_id}
        for attempt in (1, 2):
            try:
                replay = self.store.record(
                    request_id,
                    client,
                    "Claim/$submit",
                    digest,
                    body.decode("utf-8"),
                    200,
                    bundle,
                    judged.case.id,
                    decisions_of(judged),
                    claim_key=key,
                )
                break
            except Exception as error:  # another process stored this claim version first
                if attempt == 2 or not _is_duplicate(error):
                    raise
        logged = self._logged(judged)
        if replay is not None:
            first, answer, status = replay
            logged["replay_of"] = first
            return status, answer, logged
        if key is not None:
            versions = self.store.claim(key)
            logged["headers"] = {"X-Claim-Version": str(versions[-1]["version"])}
            if len(versions) > 1:
                logged["headers"]["X-First-Request"] = versions[0]["first_request_id"]
        return 200, bundle, logged

    def inquire(self, data: Any, request_id: str, client: str | None, body: bytes):
        claim = _first_claim(data)
        key = _claim_key(claim)
        if key is None:
            raise fail("entry[0].resource.identifier", "the Claim inquired about has no identifier")
        versions = self.store.claim(key)
        if not versions:
            raise Problem(
                404,
                "not-found",
                "no claim with this identifier was submitted",
                "entry[0].resource.identifier",
            )
        latest = versions[-1]
        headers = {"X-Claim-Version": str(latest["version"])}
        if len(versions) > 1:
            headers["X-First-Request"] = latest["first_request_id"]
        return 200, latest["response"], {"found": latest["request_id"], "headers": headers}

    # ------------------------------------------------------------ DTR
    def package(self, data: Any, request_id: str, client: str | None, body: bytes):
        params = _parameters(data)
        assertion = next((_value(p) for p in params if p.get("name") == "context"), None)
        canonicals = [_value(p) for p in params if p.get("name") == "questionnaire"]
        logged: dict[str, Any] = {}
        if assertion:
            found = self.store.assertion(str(assertion))
            if found is None:
                raise Problem(
                    404, "not-found", "no coverage assertion with this id", "parameter[context]"
                )
            stored = self.store.request(found[0])
            assert stored is not None
            judged = self.engine.judge(json.loads(stored["body"]))
            bundle, keep = self.engine.adaptive(judged)
            self.store.record(
                request_id, client, "Questionnaire/$questionnaire-package",
                _canonical_sha256(data), body.decode("utf-8"), 200,
                bundle, judged.case.id, decisions_of(judged), cases=keep,
            )  # fmt: skip
            logged = self._logged(judged)
        elif canonicals:
            order = next((p.get("resource") for p in params if p.get("name") == "order"), None)
            service = None
            if isinstance(order, dict):
                service = _service_of(order, self.engine)
            bundle = self.engine.package([str(c) for c in canonicals], service)
            self.store.record(
                request_id, client, "Questionnaire/$questionnaire-package",
                _canonical_sha256(data), body.decode("utf-8"), 200, bundle,
            )  # fmt: skip
        else:
            raise fail(
                "parameter",
                "name the questionnaires (parameter 'questionnaire') or the coverage assertion "
                "(parameter 'context')",
            )
        answer = {
            "resourceType": "Parameters",
            "parameter": [{"name": "PackageBundle", "resource": bundle}],
        }
        return 200, answer, logged

    def next_question(self, data: Any, request_id: str, client: str | None, body: bytes):
        response = data
        if isinstance(data, dict) and data.get("resourceType") == "Parameters":
            response = next(
                (
                    p.get("resource")
                    for p in _parameters(data)
                    if p.get("name") == "questionnaire-response"
                ),
                None,
            )
        if (
            not isinstance(response, dict)
            or response.get("resourceType") != "QuestionnaireResponse"
        ):
            raise fail("parameter[questionnaire-response]", "a QuestionnaireResponse is expected")
        url = _answered_questionnaire(response)
        stored = self.store.case(url.split("|", 1)[0]) if url else None
        if stored is None:
            raise Problem(
                404, "not-found",
                "not the adaptive questionnaire of a request this server judged",
                "QuestionnaireResponse.questionnaire",
            )  # fmt: skip
        policy_id, case_json = stored
        answers = {k: v for k, v in response.items() if k != "contained"}
        answers["questionnaire"] = url
        judged = self.engine.answered(case_json, answers)
        grown = self.engine.next_question(judged, policy_id, response)
        self.store.record(
            request_id, client, "Questionnaire/$next-question", _canonical_sha256(data),
            body.decode("utf-8"), 200, grown, judged.case.id, decisions_of(judged),
        )  # fmt: skip
        return 200, grown, self._logged(judged)


DECISION_SYSTEM = "http://sijfasp.org/fhir/decision"


def _answered_questionnaire(response: dict[str, Any]) -> str | None:
    """The canonical URL of the questionnaire a response answers. The first response names it
    (`url|version`, from the questionnaire package); a response `$next-question` grew refers
    to its contained adaptive questionnaire (`#id`, as SDC's and DTR's adaptive responses
    do), whose `url` is that canonical."""
    reference = response.get("questionnaire")
    if not isinstance(reference, str):
        return None
    if not reference.startswith("#"):
        return reference
    contained = response.get("contained")
    for resource in contained if isinstance(contained, list) else []:
        if (
            isinstance(resource, dict)
            and resource.get("resourceType") == "Questionnaire"
            and resource.get("id") == reference[1:]
            and isinstance(resource.get("url"), str)
        ):
            version = resource.get("version")
            return resource["url"] + (f"|{version}" if isinstance(version, str) else "")
    raise fail(
        "QuestionnaireResponse.questionnaire",
        f"'{reference[:40]}' names no Questionnaire with a url among the response's contained "
        "resources",
        "send the response back with the contained questionnaire the server wrote",
    )


def _is_duplicate(error: BaseException) -> bool:
    text = str(error).upper()
    return "UNIQUE" in text or "DUPLICATE" in text


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""


def _first_claim(data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and data.get("resourceType") == "Claim":
        return data
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise fail("resourceType", "a PAS request Bundle (its Claim first) is expected")
    entries = data.get("entry")
    first = (
        entries[0].get("resource")
        if isinstance(entries, list) and entries and isinstance(entries[0], dict)
        else None
    )
    if not isinstance(first, dict) or first.get("resourceType") != "Claim":
        raise fail("entry[0].resource", "the Bundle's first entry is not a Claim")
    return first


def _claim_key(claim: dict[str, Any]) -> str | None:
    for ident in claim.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            return f"{ident.get('system', '')}|{ident['value']}"
    return None


def _parameters(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resourceType") != "Parameters":
        raise fail("resourceType", "a FHIR Parameters resource is expected")
    params = data.get("parameter") or []
    if not isinstance(params, list):
        raise fail("parameter", "'parameter' is a list")
    return [p for p in params if isinstance(p, dict)]


def _value(parameter: dict[str, Any]) -> Any:
    return next((v for k, v in parameter.items() if k.startswith("value")), None)


def _service_of(order: dict[str, Any], engine: Engine) -> str | None:
    try:
        hook = {
            "hook": "order-select",
            "hookInstance": "package",
            "context": {"draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]}},
        }
        from ..fhir.read import read_fhir

        read = read_fhir(hook, engine.vocabulary, "order")
        service = read.data.get("request", {}).get("service")
        return service if isinstance(service, str) else None
    except SijfaspError:
        return None


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": hook,
                "id": service_id,
                "title": "SI joint fusion coverage requirements",
                "description": "Whether an SI joint fusion order needs prior authorization, "
                "what documentation the payer's policy needs, and the questionnaire to gather it",
                "prefetch": PREFETCH,
            }
            for service_id, hook in SERVICE_IDS.items()
        ]
    }


def create_app(settings: Settings, policies: list[LoadedPolicy]) -> Starlette:
    service = Service(settings, policies)

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "policies": len(policies), "schema": service.store.schema_version()}
        )

    async def services(request: Request) -> Response:
        return JSONResponse(discovery())

    async def hook(request: Request) -> Response:
        service_id = request.path_params["service_id"]
        if service_id not in SERVICE_IDS:
            return _fhir(outcome([("not-found", f"no service '{service_id[:60]}'", None)]), 404)
        return await service.operation(request, "jwt", service.hook(service_id))

    async def submit(request: Request) -> Response:
        return await service.operation(request, "bearer", service.submit)

    async def inquire(request: Request) -> Response:
        return await service.operation(request, "bearer", service.inquire)

    async def package(request: Request) -> Response:
        return await service.operation(request, "bearer", service.package)

    async def next_question(request: Request) -> Response:
        return await service.operation(request, "bearer", service.next_question)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _fhir(outcome([("not-found", "no such endpoint", None)]), 404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _fhir(
            outcome([("not-supported", "this endpoint does not take that method", None)]), 405
        )

    routes = [
        Route("/healthz", healthz),
        Route("/cds-services", services),
        Route("/cds-services/{service_id}", hook, methods=["POST"]),
        Route("/Claim/$submit", submit, methods=["POST"]),
        Route("/Claim/$inquire", inquire, methods=["POST"]),
        Route("/Questionnaire/$questionnaire-package", package, methods=["POST"]),
        Route("/Questionnaire/$next-question", next_question, methods=["POST"]),
        *page.routes(service),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.state.service = service
    return app


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


__all__ = ["HTMLResponse", "create_app", "discovery", "outcome", "setup_logging"]
