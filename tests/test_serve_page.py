"""The reviewer's page in a real headless browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("cryptography")

from serve_support import ROOT, TOKEN, running

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = os.environ.get("SIJFASP_SCREENSHOT")  # where to keep the docs' screenshot


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("page")) as started:
        yield started


def test_a_case_is_judged_with_its_tree_letter_and_downloads(browser, server):
    page = browser.new_page()
    page.goto(server.url + "/")
    assert page.title().startswith("Review a case")
    # Every form control has a label.
    for control in page.query_selector_all("textarea, input:not([type=hidden]), select"):
        ident = control.get_attribute("id")
        assert ident and page.query_selector(f"label[for={ident}]"), ident
    page.set_input_files("#file", str(ROOT / "examples" / "cases" / "two_tests_undocumented.yaml"))
    page.wait_for_function("document.getElementById('case').value.length > 100")
    page.fill("#token", TOKEN)
    page.click("#case-form button[type=submit]")
    page.wait_for_selector(".policy")
    text = page.inner_text("main")
    assert "Documentation is missing" in text
    assert "✓" in text and "?" in text
    assert "Percutaneous 3" in text and "D.I.B.5" in text  # section references
    assert "any one of these completes the request" in text
    sets = page.inner_text(".sets")  # in the letter's words, not "test result: yes"
    assert "Document whether the compression test was positive or negative" in sets
    assert ": yes" not in sets
    assert "_" not in page.inner_text(".policies")  # in words: no vocabulary names
    downloads = [a.get_attribute("download") for a in page.query_selector_all("a.download")]
    assert downloads == ["claim-response.json", "questionnaire.json"]
    # The tree says what the command line says (render_words): a one-sided request's
    # bilateral alternatives are marked as not for it, never ✗; no "documented negative".
    tree = page.inner_text(".policies")
    assert "documented negative" not in tree
    bilateral = page.query_selector_all(".tree li.other-request")
    assert bilateral, "the bilateral alternatives are shown as not for this request"
    for item in bilateral:
        words = item.inner_text()
        assert "not for a one-sided request" in words and "✗" not in words
    for item in page.query_selector_all(".tree li.node"):
        head = item.inner_text().split("\n", 1)[0]
        assert not (head.startswith("✗") and "bilateral" in head), head
    assert "not documented as absent" in tree  # a none-of member, as explain words it
    # The letter is HTML: headings, a table and a list; no Markdown shows.
    letter = page.inner_text("#letter")
    assert "Request for additional information" in letter
    assert "#" not in letter and "|---|" not in letter and "| |" not in letter
    assert page.query_selector("#letter h3") and page.query_selector("#letter table th")
    assert page.query_selector("#letter li") is not None
    assert "Document whether the compression test was positive or negative" in letter
    if SCREENSHOT:  # the docs' picture: the tree down to a bilateral alternative
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=SCREENSHOT, full_page=False)
    # Print preview: only the letter is shown, as HTML.
    page.emulate_media(media="print")
    assert not page.is_visible(".policies")
    assert page.is_visible("#letter")
    assert page.is_visible("#letter table") and page.is_visible("#letter h3")
    assert "#" not in page.inner_text("#letter")
    page.emulate_media(media="screen")
    # The token is asked for once: the next page of this tab has it filled in.
    page.goto(server.url + "/")
    assert page.input_value("#token") == TOKEN
    page.close()


def test_the_form_works_without_javascript_and_refuses_a_bad_token(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/")
    assert not page.is_visible("#file")  # the file picker needs the script
    page.fill("#case", (ROOT / "examples" / "cases" / "vas_4.yaml").read_text())
    page.fill("#token", "wrong")
    page.click("#case-form button[type=submit]")
    assert "Not allowed" in page.inner_text("main")
    page.fill("#case", (ROOT / "examples" / "cases" / "vas_4.yaml").read_text())
    page.fill("#token", TOKEN)
    page.click("#case-form button[type=submit]")
    text = page.inner_text("main")
    assert "do not meet a criterion" in text and "✗" in text
    # An exclusion documented: by its section, with the documented values.
    page.goto(server.url + "/")
    page.fill("#case", (ROOT / "examples" / "cases" / "fibromyalgia.yaml").read_text())
    page.fill("#token", TOKEN)
    page.click("#case-form button[type=submit]")
    text = page.inner_text("main")
    assert "Exclusions documented" in text and "AIM SIJF 2022 Exclusions 4" in text
    assert "(documented: " in text and "Findings for physician review" in text
    page.goto(server.url + "/")
    # A stored request (a FHIR PAS Bundle submitted over the API), opened by its number.
    import json

    import httpx

    claim = json.loads((ROOT / "examples" / "fhir" / "odi_missing.json").read_text())
    submitted = httpx.post(
        server.url + "/Claim/$submit",
        json=claim,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    page.goto(server.url + "/")
    page.fill("#request", submitted.headers["X-Request-Id"])
    page.fill("#token2", TOKEN)
    page.click(".stored-form button[type=submit]")
    text = page.inner_text("main")
    assert "Stored as request" in text and "Documentation is missing" in text
    context.close()


def test_an_author_compares_two_versions(browser, server):
    page = browser.new_page()
    page.goto(server.url + "/policies")
    page.keyboard.press("Tab")  # keyboard reaches the links and forms
    form = page.query_selector("form.diff-form")
    assert form is not None
    page.select_option("form.diff-form select[name=old]", index=0)
    page.select_option("form.diff-form select[name=new]", index=1)
    page.click("form.diff-form button")
    assert "Differences in the criteria" in page.inner_text("main")
    assert page.query_selector_all(".diff .added")
    page.close()
