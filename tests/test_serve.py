"""`sijfasp serve` driven over HTTP: the real server as a subprocess on a free loopback port."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jwt")
pytest.importorskip("cryptography")

from serve_support import FHIR, bearer, running, start, write_config

pytestmark = pytest.mark.slow
ORDER_SIGN = "/cds-services/sijfasp-order-sign"
ORDER_SELECT = "/cds-services/sijfasp-order-select"
CRD = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("serve")) as started:
        yield started


def _load(name: str) -> dict:
    return json.loads((FHIR / name).read_text())


def _hook(name: str, hook: str = "order-sign") -> dict:
    data = _load(f"hooks/{name}.order-sign.json")
    data["hook"] = hook
    return data


def _validate(resource: dict) -> None:
    """A FHIR resource the server wrote, checked against fhir.resources' R4B models."""
    models = pytest.importorskip("fhir.resources.R4B")
    import importlib

    kind = resource["resourceType"]
    module = importlib.import_module(f"{models.__name__}.{kind.lower()}")
    getattr(module, kind).model_validate(resource)


def _coverage_information(answer: dict) -> list[dict[str, object]]:
    (action,) = answer["systemActions"]
    assert action["type"] == "update"
    assert action["resource"]["resourceType"] == "ServiceRequest"
    _validate(action["resource"])
    found = []
    for extension in action["resource"]["extension"]:
        assert extension["url"] == CRD
        found.append(
            {e["url"]: next(v for k, v in e.items() if k != "url") for e in extension["extension"]}
        )
    return found


def _issues(response) -> list[dict]:
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    _validate(body)
    return body["issue"]


def test_health_and_discovery_need_no_token(server):
    with server.client() as http:
        assert http.get("/healthz").json()["status"] == "ok"
        services = http.get("/cds-services").json()["services"]
    assert {s["id"]: s["hook"] for s in services} == {
        "sijfasp-order-sign": "order-sign",
        "sijfasp-order-select": "order-select",
    }
    for s in services:
        assert {"patient", "coverage"} <= set(s["prefetch"])


@pytest.mark.parametrize(
    ("name", "path", "hook"),
    [
        ("approvable", ORDER_SIGN, "order-sign"),
        ("two_tests_undocumented", ORDER_SELECT, "order-select"),
    ],
)
def test_hooks_answer_coverage_information_and_a_card(server, name, path, hook):
    with server.client() as http:
        token = server.jwt(path)
        answer = http.post(
            path, json=_hook(name, hook), headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    info = _coverage_information(body)
    assert len(info) == 2  # both policies judge the order
    for item in info:
        assert item["coverage"] == {"reference": "Coverage/coverage-1"}
        assert item["pa-needed"] == "auth-needed"
        assert item["coverage-assertion-id"]
        assert item["date"]
    card = body["cards"][0]
    assert len(card["summary"]) <= 140
    if name == "approvable":
        assert {i["covered"] for i in info} == {"covered"}
        assert all("doc-needed" not in i for i in info)
        assert "met as documented" in card["summary"]
    else:
        assert {i["doc-needed"] for i in info} == {"clinical"}
        assert all(
            str(i["questionnaire"]).startswith("http://sijfasp.org/fhir/Questionnaire/")
            for i in info
        )
        assert "documentation is missing" in card["summary"]
        assert "_" not in card["detail"]  # in words: no vocabulary names


def test_the_card_and_reason_say_what_is_needed_in_the_letters_words(server):
    with server.client() as http:
        answer = http.post(
            ORDER_SIGN,
            json=_hook("two_tests_undocumented"),
            headers={"Authorization": f"Bearer {server.jwt(ORDER_SIGN)}"},
        )
    assert answer.status_code == 200, answer.text
    detail = answer.json()["cards"][0]["detail"]
    # Each policy's open criterion by its section, how many of its options are needed, and
    # each option as the letter asks for it: never one option as "result: yes".
    assert (
        "Percutaneous 3d, at least three of seven provocative tests positive: one of these five:"
        in detail
    )
    assert (
        "  - Document whether the active straight leg raise test was positive or negative" in detail
    )
    assert "D.I.B.5, positive thigh thrust test or compression test: one of these two:" in detail
    assert ": yes" not in detail and "Send " not in detail
    reasons = {
        i["questionnaire"].rsplit("/", 1)[1].split("-missing")[0]: i["reason"]["text"]
        for i in _coverage_information(answer.json())
    }
    aim = reasons["aim-sijf-2022"]
    assert aim.startswith(
        "Documentation needed for AIM SIJF 2022 Percutaneous 3d, at least three of seven "
        "provocative tests positive: one of these five: document whether the long dorsal "
        "ligament test was positive or negative; "
    )
    assert aim.endswith("; or two other options (the questionnaire lists them).")
    assert reasons["caresource-sijf-2026"] == (
        "Documentation needed for MM-1508 D.I.B.5, positive thigh thrust test or compression "
        "test: one of these two: document whether the compression test was positive or "
        "negative; document whether the thigh thrust test was positive or negative."
    )
    for text in [detail, *reasons.values()]:
        assert ": yes" not in text and "_" not in text and "\\" not in text


def test_an_order_with_numbers_is_updated_with_its_numbers(server):
    hook = _hook("two_tests_undocumented")
    for entry in hook["context"]["draftOrders"]["entry"]:
        if entry["resource"]["resourceType"] == "ServiceRequest":
            entry["resource"]["quantityQuantity"] = {"value": 1}
    with server.client() as http:
        answer = http.post(
            ORDER_SIGN, json=hook, headers={"Authorization": f"Bearer {server.jwt(ORDER_SIGN)}"}
        )
    assert answer.status_code == 200, answer.text
    (action,) = answer.json()["systemActions"]
    assert action["resource"]["quantityQuantity"] == {"value": 1}


def test_wrong_hook_for_the_service_is_refused(server):
    with server.client() as http:
        token = server.jwt(ORDER_SIGN)
        answer = http.post(
            ORDER_SIGN,
            json=_hook("approvable", "order-select"),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 422
    assert _issues(answer)[0]["expression"] == ["hook"]


@pytest.mark.parametrize(
    ("name", "action"),
    [("approvable", "A1"), ("odi_missing", "A4"), ("vas_4", "A4"), ("fibromyalgia", "A4")],
)
def test_claim_submit_answers_the_pas_response_bundle(server, name, action):
    with server.client() as http:
        answer = http.post("/Claim/$submit", json=_load(f"{name}.json"), headers=bearer())
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["resourceType"] == "Bundle"
    first = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "ClaimResponse"
    actions = {
        ext["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "ClaimResponse"
        for item in entry["resource"].get("item", [])
        for adj in item["adjudication"]
        for ext in adj.get("extension", [])
    }
    assert action in actions
    assert "A3" not in actions  # never a denial on its own


def test_resubmission_is_idempotent_and_a_new_version_is_linked(server, tmp_path):
    claim = _load("two_tests_undocumented.json")
    claim["entry"][0]["resource"]["identifier"][0]["value"] = "idempotency-1"
    with server.client() as http:
        first = http.post("/Claim/$submit", json=claim, headers=bearer())
        again = http.post("/Claim/$submit", json=claim, headers=bearer())
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()  # the same answer, stored once
        assert first.headers["X-Claim-Version"] == "1"
        changed = copy.deepcopy(claim)
        changed["entry"][0]["resource"]["created"] = "2026-07-16"
        second = http.post("/Claim/$submit", json=changed, headers=bearer())
        assert second.status_code == 200
        assert second.headers["X-Claim-Version"] == "2"
        assert second.headers["X-First-Request"] == first.json()["identifier"]["value"]
        inquiry = http.post("/Claim/$inquire", json=claim, headers=bearer())
        assert inquiry.status_code == 200
        assert inquiry.json() == second.json()  # the latest version's decision
        unknown = copy.deepcopy(claim)
        unknown["entry"][0]["resource"]["identifier"][0]["value"] = "never-sent"
        missing = http.post("/Claim/$inquire", json=unknown, headers=bearer())
        assert missing.status_code == 404
    database = next(server.log.parent.glob("serve.db"))
    with sqlite3.connect(database) as db:
        versions = db.execute(
            "SELECT version, first_request_id FROM claims WHERE claim_key LIKE '%|idempotency-1' ORDER BY version"
        ).fetchall()
        replays = db.execute(
            "SELECT COUNT(*) FROM requests WHERE replay_of IS NOT NULL"
        ).fetchone()[0]
    assert [v for v, _ in versions] == [1, 2]
    assert versions[0][1] == versions[1][1]  # both linked to the first request
    assert replays >= 1


def test_questionnaire_package_and_next_question(server):
    with server.client() as http:
        package = http.post(
            "/Questionnaire/$questionnaire-package",
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "questionnaire",
                        "valueCanonical": "http://sijfasp.org/fhir/Questionnaire/aim_sijf_2022",
                    }
                ],
            },
            headers=bearer(),
        )
        assert package.status_code == 200, package.text
        (bundle,) = [
            p["resource"] for p in package.json()["parameter"] if p["name"] == "PackageBundle"
        ]
        assert bundle["entry"][0]["resource"]["resourceType"] == "Questionnaire"
        # The adaptive questionnaire of an order the hook found incomplete, by its assertion id.
        token = server.jwt(ORDER_SIGN)
        hook = http.post(
            ORDER_SIGN,
            json=_hook("two_tests_undocumented"),
            headers={"Authorization": f"Bearer {token}"},
        )
        info = _coverage_information(hook.json())[0]
        adaptive = http.post(
            "/Questionnaire/$questionnaire-package",
            json={
                "resourceType": "Parameters",
                "parameter": [{"name": "context", "valueString": info["coverage-assertion-id"]}],
            },
            headers=bearer(),
        )
        assert adaptive.status_code == 200, adaptive.text
        entries = adaptive.json()["parameter"][0]["resource"]["entry"]
        questionnaire = next(
            e["resource"] for e in entries if e["resource"]["url"] == info["questionnaire"]
        )
        response = next(
            e["resource"]
            for e in entries
            if e["resource"]["resourceType"] == "QuestionnaireResponse"
            and e["resource"]["questionnaire"].split("|")[0] == questionnaire["url"]
        )
        # Nothing answered yet: the next questions are still those of what is missing.
        grown = http.post(
            "/Questionnaire/$next-question",
            json={
                "resourceType": "Parameters",
                "parameter": [{"name": "questionnaire-response", "resource": response}],
            },
            headers=bearer(),
        )
        assert grown.status_code == 200, grown.text
        assert grown.json()["status"] == "in-progress"
        assert grown.json()["contained"][0]["resourceType"] == "Questionnaire"
        _validate(grown.json())
        _validate(package.json())
        unknown = dict(response, questionnaire="http://sijfasp.org/fhir/Questionnaire/nothing")
        assert (
            http.post("/Questionnaire/$next-question", json=unknown, headers=bearer()).status_code
            == 404
        )


def _answers(resource: object) -> list[tuple[str, object]]:
    """Every answer value written in a resource (its value[x] name and value)."""
    found: list[tuple[str, object]] = []
    if isinstance(resource, dict):
        for key, value in resource.items():
            if key.startswith("value") and key != "valueCoding":
                found.append((key, value))
            found += _answers(value)
    elif isinstance(resource, list):
        for value in resource:
            found += _answers(value)
    return found


def _adaptive_start(server, http) -> dict:
    """The pre-filled response of AIM's adaptive questionnaire for an order the hook found
    incomplete (two provocative tests documented, three needed)."""
    hook = http.post(
        ORDER_SIGN,
        json=_hook("two_tests_undocumented"),
        headers={"Authorization": f"Bearer {server.jwt(ORDER_SIGN)}"},
    )
    info = next(i for i in _coverage_information(hook.json()) if "aim" in i["questionnaire"])
    package = http.post(
        "/Questionnaire/$questionnaire-package",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "context", "valueString": info["coverage-assertion-id"]}],
        },
        headers=bearer(),
    )
    entries = package.json()["parameter"][0]["resource"]["entry"]
    return next(
        e["resource"]
        for e in entries
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
        and e["resource"]["questionnaire"].split("|")[0] == info["questionnaire"]
    )


def _next(http, response: dict, **answers: bool) -> dict:
    """One round of `$next-question`: the response sent back with more answers, as a form
    filler does (the contained questionnaire and its reference as the server wrote them)."""
    sent = copy.deepcopy(response)
    sent.setdefault("item", []).extend(
        {"linkId": link, "answer": [{"valueBoolean": value}]} for link, value in answers.items()
    )
    answer = http.post(
        "/Questionnaire/$next-question",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "questionnaire-response", "resource": sent}],
        },
        headers=bearer(),
    )
    assert answer.status_code == 200, answer.text
    grown = answer.json()
    _validate(grown)
    for name, value in _answers(grown):  # numbers as JSON numbers, never text
        if name in ("valueDecimal", "valueInteger"):
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (name, value)
    if grown["status"] == "in-progress":
        (contained,) = grown["contained"]
        assert grown["questionnaire"] == "#" + contained["id"]  # refers to what it contains
        assert contained["url"] == response.get("questionnaire", "").split("|")[0] or (
            response["questionnaire"].startswith("#")
        )
    return grown


def _asked(grown: dict) -> set[str]:
    return {item["linkId"] for item in grown["contained"][0]["item"]}


def test_next_question_in_two_rounds_to_completed(server):
    with server.client() as http:
        start = _adaptive_start(server, http)
        first = _next(http, start)
        assert first["status"] == "in-progress"
        assert "active_straight_leg_raise_test" in _asked(first)
        pain = next(v for n, v in _answers(first) if n == "valueDecimal")
        assert pain == 14 and isinstance(pain, int)  # months of pain, a JSON number
        second = _next(http, first, active_straight_leg_raise_test=True)
    assert second["status"] == "completed"  # three provocative tests positive


def test_next_question_in_three_rounds_to_completed(server):
    with server.client() as http:
        first = _next(http, _adaptive_start(server, http))
        assert first["status"] == "in-progress"
        # A negative test: one fewer option, still one more positive test needed.
        second = _next(http, first, active_straight_leg_raise_test=False)
        assert second["status"] == "in-progress"
        asked = _asked(second)
        assert "active_straight_leg_raise_test" not in asked
        assert {"compression_test", "distraction_test", "thigh_thrust_test"} <= asked
        third = _next(http, second, compression_test=True)
        lost = {k: v for k, v in second.items() if k != "contained"}
        refused = http.post("/Questionnaire/$next-question", json=lost, headers=bearer())
        assert refused.status_code == 422
        (issue,) = _issues(refused)
        assert issue["expression"] == ["QuestionnaireResponse.questionnaire"]
        assert "contained" in issue["diagnostics"]
    assert third["status"] == "completed"
    assert third["questionnaire"].startswith("#") and third["contained"]  # still resolves


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "no Authorization header"),
        ({"Authorization": "Bearer wrong"}, "not one of a configured client"),
        ({"Authorization": "Basic abc"}, "not 'Bearer TOKEN'"),
    ],
)
def test_pas_without_a_good_token_is_refused(server, headers, words):
    with server.client() as http:
        answer = http.post("/Claim/$submit", json=_load("approvable.json"), headers=headers)
    assert answer.status_code == 401
    assert words in _issues(answer)[0]["diagnostics"]


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"aud": "https://elsewhere.test/cds-services/sijfasp-order-sign"}, "audience"),
        ({"iss": "https://stranger.test"}, "issuer"),
        ({"jti": None}, "'jti'"),
    ],
)
def test_hook_with_a_bad_jwt_is_refused(server, claims, words):
    with server.client() as http:
        token = server.jwt(ORDER_SIGN, **claims)
        answer = http.post(
            ORDER_SIGN, json=_hook("approvable"), headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 401
    assert words in _issues(answer)[0]["diagnostics"]


def test_a_replayed_jwt_and_a_bearer_token_on_a_hook_are_refused(server):
    with server.client() as http:
        token = server.jwt(ORDER_SIGN)
        auth = {"Authorization": f"Bearer {token}"}
        assert http.post(ORDER_SIGN, json=_hook("approvable"), headers=auth).status_code == 200
        replay = http.post(ORDER_SIGN, json=_hook("approvable"), headers=auth)
        assert replay.status_code == 401
        assert "replay" in _issues(replay)[0]["diagnostics"]
        assert http.post(ORDER_SIGN, json=_hook("approvable"), headers=bearer()).status_code == 401


def test_a_jwt_signed_by_another_key_is_refused(server, tmp_path):
    _, other = write_config(tmp_path)
    import jwt

    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "https://ehr.test",
            "aud": server.url + ORDER_SIGN,
            "iat": now,
            "exp": now + 60,
            "jti": "x1",
        },
        other,
        algorithm="RS256",
    )
    with server.client() as http:
        answer = http.post(
            ORDER_SIGN, json=_hook("approvable"), headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 401
    assert "signature" in _issues(answer)[0]["diagnostics"]


def test_oversize_malformed_and_wrong_bodies_get_an_operation_outcome(server):
    with server.client() as http:
        big = http.post("/Claim/$submit", content=b"{" + b" " * 1_100_000 + b"}", headers=bearer())
        assert big.status_code == 413
        assert _issues(big)[0]["code"] == "too-long"
        broken = http.post(
            "/Claim/$submit", content=b'{"resourceType": "Bundle",', headers=bearer()
        )
        assert broken.status_code == 400
        assert "not JSON" in _issues(broken)[0]["diagnostics"]
        empty = http.post("/Claim/$submit", content=b"", headers=bearer())
        assert empty.status_code == 400
        claim = _load("approvable.json")
        claim["entry"][0]["resource"]["created"] = "someday"
        bad = http.post("/Claim/$submit", json=claim, headers=bearer())
        assert bad.status_code == 422
        issue = _issues(bad)[0]
        assert issue["expression"] == ["entry[0].resource.created"]
        assert "Traceback" not in bad.text
        patient = http.post("/Claim/$submit", json={"resourceType": "Patient"}, headers=bearer())
        assert patient.status_code == 422
        nowhere = http.post("/Claim/$nothing", json={}, headers=bearer())
        assert nowhere.status_code == 404
        assert _issues(nowhere)


def test_logs_are_json_lines_without_patient_names_or_values(server):
    # A judged request of its own: under xdist the other tests may run in another worker.
    with server.client() as http:
        answer = http.post("/Claim/$submit", json=_load("approvable.json"), headers=bearer())
        assert answer.status_code == 200
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    assert lines
    assert all({"request_id", "client", "status"} <= set(line) for line in lines)
    judged = [line for line in lines if line.get("policies")]
    assert judged and all(
        "determination" in p and "version" in p for line in judged for p in line["policies"]
    )
    text = server.log.read_text()
    assert "Example" not in text and "Pat" not in text  # the patient's name in the examples
    assert "pas-token-of-the-tests" not in text


def test_no_client_configured_refuses_everything_and_says_how(tmp_path):
    with running(tmp_path, clients=False) as server:
        with server.client() as http:
            assert http.get("/cds-services").status_code == 200
            answer = http.post("/Claim/$submit", json=_load("approvable.json"))
            assert answer.status_code == 401
            hook = http.post(ORDER_SIGN, json=_hook("approvable"))
            assert hook.status_code == 401
        server.stop()
        assert "no client is configured" in server.log.read_text()


def test_dev_mode_needs_no_token_and_binds_loopback_only(tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "sijfasp", "serve", "--dev", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "127.0.0.1 only" in refused.stderr
    server = start(tmp_path, "--dev")
    try:
        with server.client() as http:
            assert http.post("/Claim/$submit", json=_load("approvable.json")).status_code == 200
    finally:
        server.stop()
    text = server.log.read_text()
    assert "--dev: no authentication, listening on 127.0.0.1 only" in text


def test_killed_mid_request_loses_nothing_answered(tmp_path):
    config, key = write_config(tmp_path)
    database = tmp_path / "kill.db"
    server = start(tmp_path, config=config, key=key, database=database)
    answered: list[str] = []
    claims = []
    for number in range(40):
        claim = _load("approvable.json" if number % 2 else "vas_4.json")
        claim["entry"][0]["resource"]["identifier"][0]["value"] = f"kill-{number}"
        claims.append(claim)

    def send(part: list[dict]) -> None:
        with server.client() as http:
            for claim in part:
                try:
                    answer = http.post("/Claim/$submit", json=claim, headers=bearer())
                except Exception:
                    return
                if answer.status_code == 200:
                    answered.append(claim["entry"][0]["resource"]["identifier"][0]["value"])

    threads = [threading.Thread(target=send, args=(claims[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(kill=True)  # SIGKILL, with requests under way
    for thread in threads:
        thread.join(30)
    assert 6 <= len(answered) < 40
    restarted = start(tmp_path, config=config, key=key, database=database)
    try:
        with restarted.client() as http:
            for value in answered:
                claim = next(
                    c
                    for c in claims
                    if c["entry"][0]["resource"]["identifier"][0]["value"] == value
                )
                inquiry = http.post("/Claim/$inquire", json=claim, headers=bearer())
                assert inquiry.status_code == 200, value
                assert inquiry.json()["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    finally:
        restarted.stop()
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT claim_key, COUNT(*) FROM claims GROUP BY claim_key").fetchall()
        assert all(count == 1 for _, count in rows)  # none stored twice
        decided = db.execute(
            "SELECT COUNT(*) FROM claims c JOIN decisions d ON d.request_id = c.request_id"
        ).fetchone()[0]
        assert decided == 2 * len(rows)  # every stored claim with both policies' decisions


def test_payer_routes_saturation_and_the_time_limit(tmp_path):
    routes = (
        '\n[[route]]\npayer = "Example Health Plan"\nline_of_business = "medicaid"\n'
        'policies = ["caresource_sijf_2026"]\n'
    )
    config, key = write_config(tmp_path, extra="")
    text = config.read_text().replace("workers = 2\nqueue = 8", "workers = 1\nqueue = 1")
    config.write_text(text + routes)
    server = start(tmp_path, config=config, key=key)
    try:
        with server.client() as http:
            answer = http.post("/Claim/$submit", json=_load("approvable.json"), headers=bearer())
            assert answer.status_code == 200, answer.text
            responses = [
                e["resource"]
                for e in answer.json()["entry"]
                if e["resource"]["resourceType"] == "ClaimResponse"
            ]
            assert [r["insurer"]["display"] for r in responses] == ["CareSource (Arkansas PASSE)"]
            stranger = _load("approvable.json")
            for entry in stranger["entry"]:
                if entry["resource"]["resourceType"] == "Organization":
                    entry["resource"]["name"] = "Another Plan"
            refused = http.post("/Claim/$submit", json=stranger, headers=bearer())
            assert refused.status_code == 422
            assert _issues(refused)[0]["expression"] == ["Coverage.payor"]
        # One worker and a queue of one: of eight calls at once, some are told to retry.
        statuses: list[int] = []
        retry: list[str | None] = []

        def call(number: int) -> None:
            claim = _load("approvable.json")
            claim["entry"][0]["resource"]["identifier"][0]["value"] = f"busy-{number}"
            with server.client() as http:
                answer = http.post("/Claim/$submit", json=claim, headers=bearer())
            statuses.append(answer.status_code)
            retry.append(answer.headers.get("Retry-After"))

        threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert set(statuses) == {200, 429}, statuses
        assert all(r == "1" for s, r in zip(statuses, retry) if s == 429)
    finally:
        server.stop()
    assert server.process.returncode == 0  # Ctrl-C (SIGINT) stops it cleanly
    assert server.log.read_text().rstrip().endswith("sijfasp serve: stopped")
    config.write_text(config.read_text().replace("workers = 1", "time_limit = 0.001\nworkers = 1"))
    slow = start(tmp_path, config=config, key=key, database=tmp_path / "slow.db")
    try:
        with slow.client() as http:
            answer = http.post("/Claim/$submit", json=_load("approvable.json"), headers=bearer())
        assert answer.status_code == 503
        assert _issues(answer)[0]["code"] == "timeout"
        assert answer.headers["Retry-After"]
    finally:
        slow.stop()
