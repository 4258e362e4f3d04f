"""Identical hook requests judged once per server process (docs/serve.md, "How a call is
served"), over HTTP: the real server as a subprocess on a free loopback port."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jwt")
pytest.importorskip("cryptography")

from serve_support import FHIR, start, write_config

pytestmark = pytest.mark.slow
ORDER_SIGN = "/cds-services/sijfasp-order-sign"
ORDER_SELECT = "/cds-services/sijfasp-order-select"
NAMES = ("approvable", "two_tests_undocumented")


def _hook(name: str, instance: str) -> dict:
    data = json.loads((FHIR / "hooks" / f"{name}.order-sign.json").read_text())
    data["hookInstance"] = instance
    return data


def _same_for_every_call(answer: dict) -> dict:
    """An answer without what each call gets anew: the card's uuid and the coverage
    assertion ids (each call's own, stored with its decisions)."""
    text = json.dumps(answer)
    for action in answer.get("systemActions", []):
        for extension in action["resource"].get("extension", []):
            for part in extension["extension"]:
                if part["url"] == "coverage-assertion-id":
                    text = text.replace(part["valueString"], "ASSERTION")
    for card in answer["cards"]:
        text = text.replace(card["uuid"], "UUID")
    return json.loads(text)


def _assertions(answer: dict) -> list[str]:
    return [
        part["valueString"]
        for action in answer.get("systemActions", [])
        for extension in action["resource"].get("extension", [])
        for part in extension["extension"]
        if part["url"] == "coverage-assertion-id"
    ]


def _server(folder, cache: str):
    config, _ = write_config(folder, clients=False, extra=cache)
    config.write_text(config.read_text().replace("queue = 8", "queue = 32"))  # none refused
    return start(folder, "--dev", config=config, database=folder / "serve.db")


def test_calls_together_answer_as_calls_one_at_a_time(tmp_path):
    """Eight calls at once of each of two orders, to a server keeping judgements, answer what
    a server judging every call anew answers one call at a time; each is stored once, with
    its own body and decisions, and each order is judged once."""
    (alone_dir := tmp_path / "alone").mkdir()
    (together_dir := tmp_path / "together").mkdir()
    alone = _server(alone_dir, "cache_mb = 0\n")
    try:
        expected = {}
        with alone.client() as http:
            for name in NAMES:
                answers = [
                    http.post(ORDER_SIGN, json=_hook(name, f"alone-{name}-{n}")) for n in (1, 2)
                ]
                assert all(a.status_code == 200 for a in answers), answers[0].text
                first, second = (_same_for_every_call(a.json()) for a in answers)
                assert first == second
                expected[name] = first
    finally:
        alone.stop()
    assert '"kept"' not in alone.log.read_text()  # cache_mb = 0: every call judged
    assert "warm-up" not in alone.log.read_text()  # the policies read the warm-up order

    together = _server(together_dir, "")
    sent = [(name, f"together-{name}-{n}") for n in range(8) for name in NAMES]
    found: dict[str, tuple[str, int, dict]] = {}
    barrier = threading.Barrier(len(sent))

    def call(name: str, instance: str) -> None:
        with together.client() as http:
            barrier.wait(30)
            answer = http.post(ORDER_SIGN, json=_hook(name, instance))
        found[instance] = (name, answer.status_code, answer.json())

    try:
        threads = [threading.Thread(target=call, args=each) for each in sent]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        with together.client() as http:  # and the order selected, after: kept as well
            later = http.post(
                ORDER_SELECT, json=dict(_hook(NAMES[1], "later"), hook="order-select")
            )
    finally:
        together.stop()
    assert len(found) == len(sent)
    for name, status, answer in found.values():
        assert status == 200
        assert _same_for_every_call(answer) == expected[name]
    assert _same_for_every_call(later.json()) == expected[NAMES[1]]
    every = [a for _, _, answer in found.values() for a in _assertions(answer)]
    assert len(every) == len(set(every)) == 2 * len(sent)  # each call its own assertions
    lines = [json.loads(line) for line in together.log.read_text().splitlines() if '"ms"' in line]
    hooks = [line for line in lines if line["path"] in (ORDER_SIGN, ORDER_SELECT)]
    assert len(hooks) == len(sent) + 1
    assert sum(1 for line in hooks if not line.get("kept")) == len(NAMES)  # one per order
    with sqlite3.connect(together_dir / "serve.db") as db:
        rows = db.execute("SELECT id, body FROM requests").fetchall()
        instances = sorted(json.loads(body)["hookInstance"] for _, body in rows)
        assert instances == sorted([instance for _, instance in sent] + ["later"])
        decided = db.execute(
            "SELECT request_id, COUNT(*), COUNT(DISTINCT coverage_assertion_id) "
            "FROM decisions GROUP BY request_id"
        ).fetchall()
        assert sorted(r for r, _, _ in decided) == sorted(r for r, _ in rows)
        assert all(count == 2 == distinct for _, count, distinct in decided)


def test_a_key_written_twice_is_refused_after_its_look_alike_was_answered(tmp_path):
    server = _server(tmp_path, "")
    try:
        with server.client() as http:
            good = _hook(NAMES[0], "first")
            assert http.post(ORDER_SIGN, json=good).status_code == 200
            text = json.dumps(dict(good, hookInstance="second"))
            twice = text.replace('"status": "active"', '"status": "active", "status": "active"', 1)
            assert twice != text
            for _ in range(2):
                refused = http.post(
                    ORDER_SIGN, content=twice, headers={"Content-Type": "application/json"}
                )
                assert refused.status_code == 422, refused.text
                (issue,) = refused.json()["issue"]
                assert "written twice" in issue["diagnostics"]
    finally:
        server.stop()


def test_the_warm_up_judges_a_made_up_order_and_keeps_nothing():
    from serve_support import POLICIES

    from sijfasp.policies.loading import set_policies
    from sijfasp.policies.policy_set import discover
    from sijfasp.serve.config import Settings
    from sijfasp.serve.engine import Engine

    engine = Engine(list(set_policies(discover(POLICIES))), Settings(dev=True))
    assert engine.warm_up() is True
    assert not engine.judgements.kept and not engine.judgements.running


@pytest.mark.slow
def test_a_policy_set_that_cannot_read_the_warm_up_order_says_so_at_start(tmp_path):
    """The warm-up order is a fusion coded CPT 27279: a policy set whose vocabulary does not
    map that code to a service cannot judge it, and the server says at start that its first
    call pays the warm-up instead."""
    from serve_support import POLICIES

    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
    vocabulary = policies / "vocabulary.sijv"
    text = vocabulary.read_text(encoding="utf-8")
    mapping = '  code cpt "27279" for percutaneous_sij_fusion\n'
    assert mapping in text
    vocabulary.write_text(text.replace(mapping, ""), encoding="utf-8")
    server = start(tmp_path, "--dev", policies=policies)
    server.stop()
    log = server.log.read_text()
    assert "the policies do not read the warm-up order; the first call warms up" in log
    assert "listening on http://127.0.0.1:" in log
