"""The parts of `sijfasp serve` in the process (quick): config, storage, authentication."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import examples

pytest.importorskip("starlette")
pytest.importorskip("cryptography")

from sijfasp.core.diagnostics import SijfaspError
from sijfasp.serve import auth, config
from sijfasp.serve.store import Decision, Store


def _config(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    return config.load(path, config.Settings())


@pytest.mark.parametrize(
    ("text", "words", "where"),
    [
        ("[server]\nworkerz = 2\n", "unknown setting 'workerz'", "server.workerz"),
        ("[server]\nworkers = 0\n", "positive number", "server.workers"),
        (
            '[[client]]\nid = "a"\nkind = "bearer"\ntoken_sha256 = "abc"\n',
            "64 hexadecimal",
            "client[0].token_sha256",
        ),
        ('[[client]]\nid = "a"\nkind = "basic"\n', "'jwt' or 'bearer'", "client[0].kind"),
        (
            '[[client]]\nid = "a"\nkind = "jwt"\nissuer = "x"\n',
            "one of 'public_key' or 'jwks'",
            "client[0]",
        ),
        ('[[route]]\npayer = "p"\npolicies = []\n', "list of policy ids", "route[0].policies"),
        (
            '[[route]]\npayer = "p"\nline_of_business = "medicare"\npolicies = ["a"]\n',
            "unknown line of business",
            "route[0].line_of_business",
        ),
        ("[server\n", "not a TOML file", ""),
        ("[server]\ncache_mb = -1\n", "whole number, 0 or more", "server.cache_mb"),
        ("[server]\ncache_mb = true\n", "whole number, 0 or more", "server.cache_mb"),
    ],
)
def test_a_bad_config_is_one_clear_message(tmp_path, text, words, where):
    with pytest.raises(SijfaspError) as raised:
        _config(tmp_path, text)
    (diagnostic,) = raised.value.diagnostics
    assert words in diagnostic.message
    assert (diagnostic.field_path or "") == where


def test_routes_beside_the_policies_follow_the_config_file(tmp_path):
    (tmp_path / "payers.toml").write_text('[[route]]\npayer = "B"\npolicies = ["b"]\n')
    path = tmp_path / "serve.toml"
    path.write_text('[[route]]\npayer = "A"\npolicies = ["a"]\n')
    settings = config.load(path, config.Settings(policies=tmp_path))
    assert [r.payer for r in settings.routes] == ["A", "B"]


def test_migrations_run_once_and_a_claim_is_stored_once_per_body(tmp_path):
    url = str(tmp_path / "s.db")
    store = Store(url)
    assert Store(url).schema_version() == 1  # a second start applies nothing again
    with sqlite3.connect(url) as db:
        assert db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    decision = Decision("p", "1", "h" * 64, "approvable", "a1")
    answer = {"resourceType": "Bundle"}
    assert (
        store.record(
            "r1", "c", "Claim/$submit", "d1", "{}", 200, answer, "k", [decision], claim_key="K"
        )
        is None
    )
    replay = store.record(
        "r2", "c", "Claim/$submit", "d1", "{}", 200, {"other": 1}, "k", [decision], claim_key="K"
    )
    assert replay == ("r1", answer, 200)
    assert (
        store.record("r3", "c", "Claim/$submit", "d2", "{}", 200, answer, "k", [], claim_key="K")
        is None
    )
    versions = store.claim("K")
    assert [(v["version"], v["first_request_id"]) for v in versions] == [(1, "r1"), (2, "r1")]
    assert store.counts()["decisions"] == 1  # the replay stored no decision
    assert store.assertion("a1") == ("r1", "p")


def test_bearer_tokens_are_compared_by_digest(tmp_path):
    digest = hashlib.sha256(b"secret").hexdigest()
    settings = config.Settings(clients=(config.Client("pas", "bearer", token_sha256=digest),))
    assert auth.bearer_client(settings, {"authorization": "Bearer secret"}) == "pas"
    with pytest.raises(auth.Refused, match="not one of a configured client"):
        auth.bearer_client(settings, {"authorization": "Bearer other"})
    with pytest.raises(auth.Refused, match="no bearer client"):
        auth.bearer_client(config.Settings(), {"authorization": "Bearer secret"})


def test_a_jwks_client_is_verified_by_kid_and_a_jti_only_once(tmp_path):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [dict(public, kid="k7", use="sig")]}
    (tmp_path / "ehr.jwks.json").write_text(json.dumps(jwks))
    settings = _config(
        tmp_path,
        '[[client]]\nid = "ehr"\nkind = "jwt"\nissuer = "https://e"\njwks = "ehr.jwks.json"\n',
    )
    store = Store(str(tmp_path / "s.db"))
    now = int(time.time())
    claims = {
        "iss": "https://e",
        "aud": "https://s/cds-services/x",
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
    }
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k7"})
    headers = {"authorization": f"Bearer {token}"}
    assert auth.jwt_client(settings, store, headers, ["https://s/cds-services/x"]) == "ehr"
    with pytest.raises(auth.Refused, match="replay"):
        auth.jwt_client(settings, store, headers, ["https://s/cds-services/x"])
    other = jwt.encode(dict(claims, jti="j2"), key, algorithm="ES256", headers={"kid": "nope"})
    with pytest.raises(auth.Refused, match="kid"):
        auth.jwt_client(
            settings, store, {"authorization": f"Bearer {other}"}, ["https://s/cds-services/x"]
        )
    long = jwt.encode(
        dict(claims, jti="j3", exp=now + 7200), key, algorithm="ES256", headers={"kid": "k7"}
    )
    with pytest.raises(auth.Refused, match="more than 3600 seconds"):
        auth.jwt_client(
            settings, store, {"authorization": f"Bearer {long}"}, ["https://s/cds-services/x"]
        )


def test_the_start_message_says_how_to_configure_a_client():
    message = auth.start_message(config.Settings())
    assert message and "[[client]]" in message and "--dev" in message
    assert auth.start_message(config.Settings(dev=True)) is None


@pytest.mark.slow
def test_the_server_stays_outside_the_core():
    """Only `sijfasp/serve/` imports the server libraries; nothing imports it but the command
    line, inside the `serve` command."""
    import ast

    package = Path(__file__).resolve().parent.parent / "sijfasp"
    for path in package.rglob("*.py"):
        inside = "serve" in path.relative_to(package).parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            for name in names:
                if name.split(".")[0] in ("starlette", "uvicorn", "jwt", "psycopg", "anyio"):
                    assert inside, f"{path.name} imports {name}"
                if not inside and name in (".serve", ".serve.command", "sijfasp.serve"):
                    assert path.name == "cli/serve.py" and id(node) not in top, (
                        f"{path.name} imports {name}"
                    )


def test_the_letter_markdown_becomes_escaped_html():
    from sijfasp.core import textsafe
    from sijfasp.serve.letter_html import letter_html, plain_text

    hostile = "<script>alert(1)</script> *x* | a_b_ [link](http://e.org) & more"
    markdown = "\n".join(
        [
            "# Request for additional information",
            "",
            "| | |",
            "|---|---|",
            f"| Case | {textsafe.markdown(hostile).replace('|', '/')} |",
            "| Request date | 2026-07-15 |",
            "",
            "> **Notice:** " + textsafe.markdown(hostile),
            "",
            "### Percutaneous 3d: " + textsafe.markdown("At least 3 of 7 tests"),
            "",
            "One of:",
            "",
            "- Document whether the compression test was positive or negative,",
            "  and send the record of an X-ray",
            "- " + textsafe.markdown(hostile),
            "",
            "---",
            "",
            "Text with **an unclosed mark",
        ]
    )
    page = letter_html(markdown)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h3>Request for additional information</h3>" in page
    assert '<th scope="row">Case</th>' in page and "<td>2026-07-15</td>" in page
    assert "<blockquote><p><strong>Notice:</strong> &lt;script&gt;" in page
    assert "<h5>Percutaneous 3d: At least 3 of 7 tests</h5>" in page
    assert (
        "<li>Document whether the compression test was positive or negative, and send the "
        "record of an X-ray</li>" in page
    )
    assert "*x* | a_b_ [link](http://e.org) &amp; more" in page  # as written, no markup
    assert '<hr class="next-letter">' in page
    assert "<p>Text with **an unclosed mark</p>" in page
    assert "|---|" not in page and "\\" not in page and "#" not in page
    assert plain_text(textsafe.markdown(hostile)) == hostile


_LETTER_TAGS = re.compile(
    r"</?(?:h[1-6]|p|ul|li|table|thead|tbody|tr|th|td|blockquote|strong)(?: [a-z]+=\"[a-z-]+\")?>"
    r"|<hr class=\"next-letter\">"
)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
def test_no_text_becomes_markup_in_the_letters_html(lines):
    """Whatever the letter's text holds, the page gets only the converter's own tags: every
    other `<`, `>` and `&` of it arrives escaped, and each line's words survive as text."""
    from sijfasp.serve.letter_html import letter_html

    markdown = "\n".join(lines)
    page = letter_html(markdown)
    outside_tags = _LETTER_TAGS.sub("", page)
    assert "<" not in outside_tags and ">" not in outside_tags
    assert not re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)", outside_tags)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8))
@example([" ", "#x", "- a", "**b", "<i>", "\x1b[31m"])  # blank, line-start marks, markup
def test_text_the_renderer_escapes_reads_back_as_itself(texts):
    """Each text the letter renderer writes escaped mid-line (`textsafe.markdown`), as a
    paragraph of its own, reads on the page as written: none of it is taken as markup."""
    from sijfasp.core import textsafe
    from sijfasp.serve.letter_html import letter_html

    # Written after a word, as the renderer writes a value ("Case: ..."): line-start markers
    # (#, -, >) are the renderer's own and never come from a value.
    written = [" ".join(["Case:", *t.split()]) for t in texts]
    page = letter_html("\n\n".join(textsafe.markdown(w) for w in written))
    shown = html.unescape(_LETTER_TAGS.sub("\n", page))
    for w in written:
        assert textsafe.terminal(w) in shown, (w, page)


# ------------------------------------------------------------------ judgements kept per process
def test_cache_is_megabytes_and_zero_turns_it_off(tmp_path):
    assert config.Settings().cache_mb == 32
    assert _config(tmp_path, "[server]\ncache_mb = 0\n").cache_mb == 0
    assert _config(tmp_path, "[server]\ncache_mb = 3\n").cache_mb == 3


def _together(kept, call, count: int, release) -> None:
    """`count` threads make `call` at once; the first one's judgement of key "k" is held
    until the others have arrived, then `release` lets it finish."""
    import threading

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while "k" not in kept.running and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the other calls arrive meanwhile
    release.set()
    for thread in threads:
        thread.join(10)


def test_calls_that_arrive_together_with_the_same_contents_are_judged_once():
    import threading

    from sijfasp.serve.engine import Judgements

    kept = Judgements(8)
    calls: list[int] = []
    release = threading.Event()

    def judge():
        calls.append(1)
        release.wait(5)  # every other call arrives while this one is under way
        return object()

    found: list[tuple[object, bool]] = []
    _together(kept, lambda: found.append(kept.get("k", judge, 10, 1)), 6, release)
    assert len(calls) == 1
    assert len({id(judged) for judged, _ in found}) == 1
    assert sorted(was_kept for _, was_kept in found) == [False] + [True] * 5
    assert kept.get("k", judge, 10, 1)[1] is True and len(calls) == 1


def test_calls_waiting_for_a_judgement_that_fails_get_its_refusal():
    import threading

    from sijfasp.serve.engine import Judgements

    kept = Judgements(100)
    calls: list[int] = []
    release = threading.Event()

    def refuse():
        calls.append(1)
        release.wait(5)
        raise SijfaspError([])

    refused: list[object] = []

    def call() -> None:
        try:
            kept.get("k", refuse, 10, 1)
        except SijfaspError as error:
            refused.append(error)

    _together(kept, call, 4, release)
    assert len(calls) == 1 and len(refused) == 4
    assert not kept.kept and not kept.running


def test_a_failed_judgement_is_not_kept_and_the_oldest_goes_first():
    from sijfasp.serve.engine import Judgements

    kept = Judgements(200)

    def refuse():
        raise SijfaspError([])

    with pytest.raises(SijfaspError):
        kept.get("bad", refuse, 1, 10)
    assert "bad" not in kept.kept and not kept.running
    made: list[str] = []
    for key in ("a", "b", "a", "c", "b", "huge"):
        kept.get(key, lambda key=key: made.append(key) or key, 1, 201 if key == "huge" else 100)
    # "a" was used after "b", so "c" put "b" out, and "b" was judged again, putting "a" out;
    # a request larger than the whole budget is judged and not kept.
    assert made == ["a", "b", "c", "b", "huge"]
    assert list(kept.kept) == ["c", "b"] and kept.size == 200


def test_the_request_key_leaves_out_only_what_says_which_call_it_is():
    from decimal import Decimal

    from sijfasp.cases.reader import read_json_case_text
    from sijfasp.serve.engine import request_key

    hooks = Path(__file__).resolve().parent.parent / "examples" / "fhir" / "hooks"
    hook = json.loads((hooks / "approvable.order-sign.json").read_text())
    key = request_key(hook)
    assert key is not None
    again = dict(hook, hookInstance="another", fhirServer="https://x", fhirAuthorization={})
    assert request_key(again) == key
    assert request_key(dict(hook, hook="order-select")) == key  # selected, then signed
    assert request_key(dict(hook, hook="order-dispatch")) != key
    other = dict(hook, context=dict(hook["context"], userId="Practitioner/other"))
    assert request_key(other) != key
    assert request_key({"a": Decimal("14.0")}) != request_key({"a": 14})
    assert request_key({"a": 1}) != request_key({"a": True})
    twice = read_json_case_text('{"hook": "order-sign", "hook": "order-sign"}', "request")
    assert request_key(twice) is None  # the reader refuses it: never a kept judgement
