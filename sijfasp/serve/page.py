"""The reviewer's page: HTML rendered on the server, so that its forms work without JavaScript.

`/` takes a case (pasted YAML, JSON or FHIR; a file is read into the text box by the page's
script) or the id of a stored request, and `/review` shows, per policy, the determination, the
criteria tree with ✓ / ✗ / ? and the evidence in words, the section of each criterion, the
minimal sets of missing documentation, the letter (print-ready) and downloads of the
ClaimResponse and the questionnaire. `/policies` shows each policy version's criteria tree for
an author, and the differences between two versions of a policy. Everything it says is in
words: no vocabulary names, enum values or hashes.
"""

from __future__ import annotations

import base64
import difflib
import html
import json
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..core.diagnostics import SijfaspError
from ..core.kinds import ExclusionStatus, NodeKind
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..results import render
from ..results.render_words import node_label, other_request
from ..results.results import CaseResult, NodeResult, PolicyResult
from . import auth
from .card_words import option_words
from .engine import PLAIN, Judged
from .letter_html import inline_html, letter_html
from .store import json_default

e = html.escape


def _document(title: str, body: str, dev: bool) -> HTMLResponse:
    token = (
        ""
        if dev
        else '<p class="token-note">This server asks for a token once; it is kept for this tab only.</p>'
    )
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · sijfasp</title>
<link rel="stylesheet" href="/static/page.css">
<script src="/static/page.js" defer></script>
</head><body>
<header><a class="home" href="/">sijfasp</a> <nav><a href="/">Review a case</a> · <a href="/policies">Policies</a></nav></header>
<main id="main">
{body}
</main>
<footer>{token}<p>sijfasp finds criteria met or not met; a physician decides any denial.</p></footer>
</body></html>"""
    )


def _token_field(dev: bool) -> str:
    if dev:
        return ""
    return (
        '<p><label for="token">Access token</label><br>'
        '<input type="password" id="token" name="token" autocomplete="off" required></p>'
    )


def index(service: Any, message: str = "") -> HTMLResponse:
    dev = service.settings.dev
    recent = ""
    warning = f'<div class="problem" role="alert">{message}</div>' if message else ""
    body = f"""<h1>Review a prior-authorization request</h1>
{warning}
<form method="post" action="/review" class="case-form" id="case-form">
  <p><label for="case">Case: paste YAML, JSON or FHIR (a PAS request Bundle or a CDS Hooks order request)</label><br>
  <textarea id="case" name="case" rows="16" cols="80" required spellcheck="false"></textarea></p>
  <p class="needs-script"><label for="file">Or choose a file</label><br>
  <input type="file" id="file" accept=".yaml,.yml,.json"></p>
  {_token_field(dev)}
  <p><button type="submit">Judge the case</button></p>
</form>
<h2>Open a stored request</h2>
<form method="post" action="/review" class="stored-form">
  <p><label for="request">Request number (the X-Request-Id of an answer)</label><br>
  <input type="text" id="request" name="request" size="40" required pattern="[0-9a-f]{{32}}"></p>
  {_token_field(dev).replace('id="token"', 'id="token2"').replace('for="token"', 'for="token2"')}
  <p><button type="submit">Open</button></p>
</form>{recent}"""
    return _document("Review a case", body, dev)


def _node(node: NodeResult, result: PolicyResult, ruled_out: bool = False) -> str:
    """A criterion with its mark, section, label and evidence, worded as the command line's
    `explain` words it (render_words): an alternative for another kind of request is marked so
    and not ✗; a none-of member reads as what was found."""
    section = e(node.cite)
    other = other_request(node)
    if other is not None:  # nothing in it is missing: no mark, no children
        return (
            '<li class="node other-request"><span class="mark" aria-label="does not apply" '
            'title="does not apply">-</span> '
            f'<span class="section">{section}</span> {e(node.label)} '
            f'<span class="asks">({e(other)})</span></li>'
        )
    mark, label = node_label(node, ruled_out)
    state = {"✓": "met", "✗": "not met", "?": "not documented"}[mark]
    evidence = [e(text) for text in node.evidence_words or node.evidence]
    if node.kind == NodeKind.AT_LEAST:
        evidence.insert(
            0, e(f"{node.met_count} of {len(node.children)} met, {node.minimum} needed")
        )
    items = "".join(f"<li>{text}</li>" for text in evidence)
    under_none = node.kind == NodeKind.NONE
    children = "".join(_node(child, result, under_none) for child in node.children)
    return (
        f'<li class="node {state.replace(" ", "-")}"><span class="mark" aria-label="{state}" title="{state}">{mark}</span> '
        f'<span class="section">{section}</span> {e(label)}'
        + (f'<ul class="evidence" aria-label="evidence">{items}</ul>' if items else "")
        + (f"<ul>{children}</ul>" if children else "")
        + "</li>"
    )


def _download(name: str, data: Any, label: str) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=json_default)
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f'<a class="download" download="{e(name)}" href="data:application/fhir+json;base64,{encoded}">{e(label)}</a>'


def _policy_section(result: PolicyResult) -> str:
    tree = "".join(_node(n, result) for n in result.criteria)
    exclusions = "".join(
        f'<li><span class="section">{e(x.cite)}</span> {e(x.label)}'
        + (f" (documented: {e('; '.join(x.evidence_words or x.evidence))})" if x.evidence else "")
        + "</li>"
        for x in result.exclusions
        if x.status == ExclusionStatus.APPLIES
    )
    reasons = (
        "".join(f"<li>{e(r)}</li>" for r in render.reasons_words(result)) if result.reasons else ""
    )
    sets = ""
    if result.missing:
        options = "".join(
            f"<li>{inline_html(option_words(option))}</li>" for option in result.missing[:5]
        )
        more = len(result.missing) - 5
        tail = f"<p>and {more} more options</p>" if more > 0 else ""
        sets = f'<h4>Missing documentation: any one of these completes the request</h4><ol class="sets">{options}</ol>{tail}'
    return f"""<section class="policy" aria-labelledby="p-{e(result.policy)}">
<h3 id="p-{e(result.policy)}">{e(result.payer)}: {e(result.title)}</h3>
<p class="determination determination-{e(result.determination.value.replace("_", "-"))}"><strong>{e(PLAIN[result.determination].capitalize())}.</strong></p>
{f'<h4>Reasons</h4><ul class="reasons">{reasons}</ul>' if reasons else ""}
{f"<h4>Exclusions documented</h4><ul>{exclusions}</ul>" if exclusions else ""}
{f'<h4>Criteria</h4><p class="legend">✓ met, ✗ not met, ? not documented, - not for this request</p><ul class="tree">{tree}</ul>' if tree else ""}
{sets}
</section>"""


def review_html(service: Any, judged: Judged, request_id: str | None) -> HTMLResponse:
    result: CaseResult = judged.result
    engine = service.engine
    sections = (
        "".join(_policy_section(r) for r in result.results if r.criteria or r.reasons)
        or "<p>No policy addresses this request.</p>"
    )
    letter = render.markdown_missing(result)
    downloads = [
        _download(
            "claim-response.json", engine.claim_bundle(judged), "Download the ClaimResponse (FHIR)"
        )
    ]
    bundle, _ = engine.adaptive(judged)
    if bundle.get("entry"):
        downloads.append(
            _download(
                "questionnaire.json", bundle, "Download the questionnaire of what is missing (FHIR)"
            )
        )
    stored = f'<p class="stored">Stored as request {e(request_id)}.</p>' if request_id else ""
    service_words = next((r.service_label for r in result.results if r.service_label), "")
    heading = (
        f"Review of the request for {service_words}" if service_words else "Review of the request"
    )
    body = f"""<h1>{e(heading)}</h1>
{stored}
<p class="downloads">{" ".join(downloads)}</p>
<div class="policies">{sections}</div>
<section class="letter-section" aria-labelledby="letter-title">
<h2 id="letter-title">Letter</h2>
<p class="screen-only"><button type="button" class="print" data-print>Print the letter</button></p>
<div class="letter" id="letter">{letter_html(letter)}</div>
</section>"""
    return _document("Review", body, service.settings.dev)


def _problem(error: SijfaspError) -> str:
    items = "".join(
        f"<li>{e(d.message)}"
        + (f" ({e(d.hint)})" if d.hint else "")
        + (f" <span class='where'>at {e(d.field_path)}</span>" if d.field_path else "")
        + "</li>"
        for d in error.diagnostics
    )
    return f"The case cannot be judged:<ul>{items}</ul>"


async def review(request: Request) -> Response:
    service = request.app.state.service
    raw = await request.body()
    if len(raw) > service.settings.max_body_bytes:
        return HTMLResponse("<p>The case is too large.</p>", status_code=413)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if not service.settings.dev:
        try:
            auth.bearer_client(
                service.settings, request.headers, form.get("token") or _header_token(request)
            )
        except auth.Refused as refused:
            page = index(service, e(f"Not allowed: {refused}"))
            page.status_code = 401
            return page
    import anyio

    try:
        if form.get("request"):
            stored = service.store.request(form["request"].strip())
            if stored is None or not stored.get("body"):
                page = index(service, "No stored request has that number.")
                page.status_code = 404
                return page
            data = service.engine.parse(stored["body"].encode("utf-8"))
            request_id = stored["id"]
        else:
            data = service.engine.parse(form.get("case", "").encode("utf-8"), kind="yaml")
            request_id = None
        judged = await anyio.to_thread.run_sync(service.engine.judge, data, limiter=service.limiter)
    except SijfaspError as error:
        page = index(service, _problem(error))
        page.status_code = 422
        return page
    return review_html(service, judged, request_id)


def _header_token(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def _tree_lines(loaded: LoadedPolicy) -> list[str]:
    compiled = loaded.compiled
    lines: list[str] = []

    def walk(node_id: str, depth: int) -> None:
        node = compiled.nodes[node_id]
        lines.append(f"{'  ' * depth}{loaded.policy.cite} {node.section}: {node.label}".rstrip())
        for child in node.children:
            walk(child, depth + 1)

    for service_name, roots in compiled.top.items():
        label = next((s.label for s in loaded.policy.services if s.name == service_name), "")
        lines.append(label or "a service of the policy")
        for root in roots:
            walk(root, 1)
    return lines


def _tree_html(loaded: LoadedPolicy) -> str:
    compiled = loaded.compiled

    def walk(node_id: str) -> str:
        node = compiled.nodes[node_id]
        children = "".join(walk(c) for c in node.children)
        return (
            f'<li><span class="section">{e(loaded.policy.cite)} {e(node.section)}</span> {e(node.label)} '
            f'<span class="line">(line {node.line})</span>'
            + (f"<ul>{children}</ul>" if children else "")
            + "</li>"
        )

    parts = []
    for service_name, roots in compiled.top.items():
        label = next((s.label for s in loaded.policy.services if s.name == service_name), "")
        parts.append(f"<h4>{e(label)}</h4><ul class='tree'>{''.join(walk(r) for r in roots)}</ul>")
    return "".join(parts)


async def policies(request: Request) -> Response:
    service = request.app.state.service
    grouped = versions.grouped(service.engine.policies)
    query = request.query_params
    body = ["<h1>Policies</h1>"]
    for policy_id, loaded_versions in grouped.items():
        first = loaded_versions[0].policy
        body.append(f'<section class="policy"><h2>{e(first.payer)}: {e(first.title)}</h2>')
        if len(loaded_versions) > 1:
            options = "".join(f"<option>{e(v.policy.version)}</option>" for v in loaded_versions)
            body.append(
                f'<form method="get" action="/policies#diff-{e(policy_id)}" class="diff-form">'
                f'<input type="hidden" name="policy" value="{e(policy_id)}">'
                f'<label for="old-{e(policy_id)}">Compare version</label> <select id="old-{e(policy_id)}" name="old">{options}</select> '
                f'<label for="new-{e(policy_id)}">with version</label> <select id="new-{e(policy_id)}" name="new">{options}</select> '
                "<button type=submit>Show the differences</button></form>"
            )
        if query.get("policy") == policy_id:
            by_version = {v.policy.version: v for v in loaded_versions}
            old, new = by_version.get(query.get("old", "")), by_version.get(query.get("new", ""))
            if old is not None and new is not None:
                diff = difflib.unified_diff(
                    _tree_lines(old),
                    _tree_lines(new),
                    f"version {old.policy.version}",
                    f"version {new.policy.version}",
                    lineterm="",
                    n=1,
                )
                rows = (
                    "".join(
                        f'<li class="{"added" if line.startswith("+") else "removed" if line.startswith("-") else "same"}">{e(line)}</li>'
                        for line in diff
                    )
                    or "<li>The two versions have the same criteria.</li>"
                )
                body.append(
                    f'<h3 id="diff-{e(policy_id)}">Differences in the criteria</h3><ul class="diff">{rows}</ul>'
                )
        for loaded in loaded_versions:
            p = loaded.policy
            body.append(
                f"<details><summary>Version {e(p.version)}, effective {e(str(p.effective))}</summary>{_tree_html(loaded)}</details>"
            )
        body.append("</section>")
    return _document("Policies", "".join(body), service.settings.dev)


def routes(service: Any) -> list[Route]:
    async def home(request: Request) -> Response:
        return index(service)

    return [
        Route("/", home),
        Route("/review", review, methods=["POST"]),
        Route("/policies", policies),
    ]


__all__ = ["routes"]
