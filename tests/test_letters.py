"""Reviewer-grade output: the request-for-information letter, provenance in the JSON, notices,
near misses of record criteria, marks under none-of criteria, and the case conventions."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from support import LEFT_BLOCK

from sijfasp.cli.main import main
from sijfasp.core.wording import article, plain_words, section_key
from sijfasp.policies.loading import bundled_policies
from sijfasp.results.missing import definite

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "examples" / "cases"
EMPTY = CASES / "empty_request.yaml"
VOCABULARY = next(iter(bundled_policies())).policy.vocabulary
DETAILS = (
    'payer: CareSource\nmember_id: "M-0042"\npatient: "J. D."\n'
    'plan: Medicaid PASSE\nreference_id: "PA-2026-77"\n'
)


def _run(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _case(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _vocabulary_names() -> set[str]:
    """Every name the vocabulary declares: findings, request fields, record kinds, their
    fields and every enumerated value."""
    names: set[str] = set()
    for fact in (*VOCABULARY.findings, *VOCABULARY.request_fields):
        names.add(fact.name)
        names.update(fact.type.values)
    for record in VOCABULARY.records:
        names.add(record.name)
        for field_def in record.fields:
            names.add(field_def.name)
            names.update(field_def.type.values)
    return names


# ------------------------------------------------------------------ the letter
def test_letter_with_a_payer_covers_one_policy_in_plain_words(tmp_path, capsys):
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + DETAILS)
    code, out, err = _run(capsys, "missing", case, "--format", "markdown", "--today", "2026-07-16")
    assert code == 0, err
    assert "## CareSource" in out and "AIM Specialty Health" not in out
    tokens = set(re.findall(r"[A-Za-z0-9_.]+", out))
    # A name with `_` is an identifier in any text; none may appear. Single words (left,
    # imaging, date) are also English and may, but never as `name = value` or `request.x`.
    identifiers = {n for n in _vocabulary_names() if "_" in n}
    assert identifiers, "the vocabulary has identifiers to look for"
    assert not tokens & identifiers, sorted(tokens & identifiers)
    # A single-word name that is not written so in words (mri, ct, xray, sij) never appears.
    spelled = {n for n in _vocabulary_names() if "_" not in n and plain_words(n) != n}
    assert {"mri", "ct", "xray", "sij"} <= spelled
    assert not tokens & spelled, sorted(tokens & spelled)
    assert not re.search(r"\b\w+ (=|>=|<=) \w+", out)
    assert "request." not in out and " AND " not in out and "`" not in out
    # the header
    for field in ("| Patient | J. D. |", "| Member ID | M-0042 |", "| Plan | Medicaid PASSE |"):
        assert field in out
    assert "| Reference | PA-2026-77 |" in out
    assert "| Please reply by | 2026-07-23 |" in out  # 7 days by default
    # the policy version it was judged under
    source = (REPO / "policies_asp" / "caresource_sijf_2026.sijp").read_bytes()
    full = hashlib.sha256(source).hexdigest()
    # A short id of the policy text names its version; the full hash and the id stay in JSON.
    assert f"text {full[:8]})" in out and full not in out
    assert "effective 2026-06-01" in out and "caresource_sijf_2026" not in out
    assert "(MM-1508, text " in out
    # the side is named, records are asked for as records, and absence is explained
    assert "a left hip radiograph" in out
    assert "Send the record of" in out
    assert "was not done, this criterion is not met without it" in out
    assert "Document whether the pain radiates" in out


def test_letter_asks_for_a_missing_field_of_a_documented_record(tmp_path, capsys):
    text = (CASES / "approvable.yaml").read_text(encoding="utf-8")
    assert ", relief_percent: 80}" in text
    case = _case(tmp_path, text.replace(", relief_percent: 80}", "}", 1))
    code, out, _ = _run(
        capsys, "missing", case, "--policy", "aim_sijf_2022", "--format", "markdown"
    )
    assert code == 0
    assert "Document the percentage of pain relief" in out
    assert ", on the diagnostic injection of 2026-04-01 (needed: 75% or more)" in out
    assert "relief_percent" not in out


def test_a_letter_dated_before_the_request_is_refused(capsys):
    code, out, err = _run(capsys, "missing", EMPTY, "--format", "markdown", "--today", "2026-07-14")
    assert code == 2 and out == ""
    assert "--today 2026-07-14 is before the request date 2026-07-15" in err
    code, out, _ = _run(capsys, "missing", EMPTY, "--format", "markdown", "--today", "2026-07-15")
    assert code == 0 and "2026-07-15" in out


def test_letter_reply_days_and_today(tmp_path, capsys):
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + "payer: aim\n")
    code, out, _ = _run(
        capsys,
        "missing",
        case,
        "--format",
        "markdown",
        "--today",
        "2026-07-20",
        "--reply-days",
        "14",
    )
    assert code == 0
    assert "| Date of this letter | 2026-07-20 |" in out
    assert "| Please reply by | 2026-08-03 |" in out
    assert "## AIM Specialty Health" in out and "CareSource" not in out


@pytest.mark.slow
def test_a_letter_without_a_payer_is_one_letter_per_payer(capsys):
    code, out, _ = _run(capsys, "missing", EMPTY, "--format", "markdown", "--today", "2026-07-16")
    assert code == 0
    aim, caresource = out.split("\n---\n\n")
    # Never two payers' criteria in one letter: each payer's letter names its own payer.
    assert "## AIM Specialty Health" in aim and "CareSource" not in aim
    assert "| Payer | AIM Specialty Health |" in aim
    assert "## CareSource" in caresource and "AIM" not in caresource
    for letter in (aim, caresource):
        assert letter.startswith("# Request for additional information")
        assert letter.count("Document the pain score (VAS or 0-10 numeric rating scale)") == 1


def test_a_letter_asks_once_for_the_field_of_several_records(tmp_path, capsys):
    """An injection's side not documented: one item naming the injections, never one option
    per side that would serve."""
    text = (CASES / "approvable.yaml").read_text(encoding="utf-8")
    case = _case(tmp_path, text.replace(", side: left, image_guided", ", image_guided"))
    code, out, err = _run(
        capsys, "missing", case, "--format", "markdown", "--policy", "caresource_sijf_2026"
    )
    assert code == 0, err
    block = out[out.index("### D.I.B.7") : out.index("### D.I.B.10")]
    assert (
        "- Document the side of the joint injected (left, right or both joints) for the "
        "diagnostic injections of 2026-04-01 and 2026-05-06\n" in block
    )
    assert block.count("- ") == 2  # that, or two new blocks
    assert "and Document" not in out and out.count("diagnostic injection of 2026-04-01") == 0
    code, out, err = _run(capsys, "missing", case, "--policy", "caresource_sijf_2026")
    flat = " ".join(out.split())
    assert flat.count("for the diagnostic injections of 2026-04-01 and 2026-05-06") == 1


def test_a_notice_not_a_request_when_a_criterion_is_not_met(capsys):
    code, out, err = _run(
        capsys, "missing", CASES / "vas_4.yaml", "--format", "markdown", "--policy", "aim_sijf_2022"
    )
    assert code == 0, err
    assert out.startswith("# Findings for physician review")
    assert "Request for additional information" not in out and "Please reply by" not in out
    assert "Percutaneous 1, VAS: Pain score (VAS) of 5 or more" in out
    assert "Pain intensity on a 0-10 scale: 4/10 documented, 5/10 or more needed." in out
    assert "goes to the physician reviewer" in out or "go to the physician reviewer" in out


def test_a_record_on_file_that_does_not_count_is_named_with_why(tmp_path, capsys):
    case = _case(
        tmp_path,
        "request: {service: open_sij_fusion, date: 2026-07-15, side: left}\nrecords:\n"
        "  imaging:\n    - {date: 2025-12-01, modality: ct, region: sij, side: left,\n"
        "       findings: [localized_sij_pathology]}\n",
    )
    code, out, err = _run(
        capsys, "missing", case, "--format", "markdown", "--policy", "caresource_sijf_2026"
    )
    assert code == 0, err
    assert (
        "- The CT of the SIJ of 2025-12-01 (left joint) does not count: it is more than 6 months "
        "before the request." in out
    )


def test_an_unknown_payer_is_an_error_with_a_suggestion(tmp_path, capsys):
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + "payer: caresorce\n")
    code, out, err = _run(capsys, "missing", case, "--format", "markdown")
    assert code == 2 and out == ""
    assert "payer" in err and "did you mean 'caresource'?" in err


@pytest.mark.parametrize(
    "payer", ["CareSource (Arkansas PASSE)", "caresource  (arkansas passe)", "CARESOURCE"]
)
def test_the_payer_may_be_named_as_the_letters_print_it(tmp_path, capsys, payer):
    """An office copies the payer's name from a letter: the name the policy states, in any
    letter case and spacing, names its policies as the payer id does."""
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + f"payer: {payer}\n")
    code, out, err = _run(capsys, "missing", case, "--format", "markdown")
    assert code == 0, err
    assert "MM-1508" in out and "AIM" not in out


@pytest.mark.parametrize(
    "line, problem",
    [
        ("patient: " + "x" * 81, "at most 80"),
        ('member_id: "M<script>"', "is not accepted"),
        ("plan: [a, b]", "is a text"),
        ('patient: "A\\u202eB"', "is not accepted"),
        ('reference_id: "a\\nb"', "is not accepted"),
        ("payer: '**bold**'", "is not accepted"),
    ],
)
def test_case_details_are_validated(tmp_path, capsys, line, problem):
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + line + "\n")
    code, _, err = _run(capsys, "check", case)
    assert code == 2
    assert problem in err


def test_a_bare_number_member_id_is_refused_rather_than_read(tmp_path, capsys):
    # 00123 would be read as 123: an id that is a number is written in quotes.
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + "member_id: 12345\n")
    code, _, err = _run(capsys, "check", case)
    assert code == 2
    assert "'member_id' is a text; found the number" in err and "write it in quotes" in err


def test_every_error_of_a_case_is_reported_at_once_with_suggestions(tmp_path, capsys):
    case = _case(
        tmp_path,
        "request:\n  service: percutaneous_sij_fusion\n  date: 2026-07-15\n"
        "findings:\n  vas: 7\nrecords:\n  imaging:\n"
        "    - {date: 2026-01-01, modality: MRI, region: sij, findings: []}\n"
        'member_id: "bad|id"\n',
    )
    code, _, err = _run(capsys, "check", case)
    assert code == 2
    assert "did you mean 'vas_score'?" in err
    assert "did you mean 'mri'?" in err
    assert "member_id" in err


# ------------------------------------------------------------------ JSON provenance
def test_json_carries_schema_tool_and_policy_versions(capsys):
    code, out, _ = _run(capsys, "check", "--format", "json", CASES / "vas_4.yaml")
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == 4
    assert data["tool"]["name"] == "sijfasp" and data["tool"]["version"]
    vocabulary = hashlib.sha256((REPO / "policies_asp" / "vocabulary.sijv").read_bytes())
    for result in data["results"]:
        version = result["policy_version"]
        source = (REPO / "policies_asp" / f"{result['policy']}.sijp").read_bytes()
        assert version["source_sha256"] == hashlib.sha256(source).hexdigest()
        assert version["vocabulary_sha256"] == vocabulary.hexdigest()
        assert version["effective"] == result["effective"]


@pytest.mark.slow  # a few seconds; the full tier runs it
def test_several_cases_in_one_run(capsys, tmp_path):
    code, out, _ = _run(
        capsys, "check", "--format", "json", CASES / "vas_4.yaml", CASES / "relief_60.yaml"
    )
    assert code == 0
    data = json.loads(out)
    assert [d["case"] for d in data] == ["vas_4", "relief_60"]
    code, out, _ = _run(capsys, "check", "--policy", "aim_sijf_2022", CASES)
    assert code == 0
    shown = re.findall(r"^case (\S+):", out, flags=re.MULTILINE)
    expected = sorted(p.stem for p in CASES.iterdir() if p.suffix in (".yaml", ".json"))
    assert sorted(shown) == expected


@pytest.mark.parametrize("name", ["aim", "AIM_SIJF_2022", "aim_sijf_202"])
def test_an_unknown_policy_gets_a_suggestion(capsys, name):
    code, _, err = _run(capsys, "check", CASES / "vas_4.yaml", "--policy", name)
    assert code == 2
    assert "did you mean 'aim_sijf_2022'?" in err


def test_standard_input_is_read_once(capsys):
    code, out, err = _run(capsys, "check", "-", "-")
    assert code == 2 and out == ""
    assert "standard input (-) can be read only once" in err


def test_several_letters_are_parted_by_a_rule(capsys):
    code, out, _ = _run(
        capsys,
        "missing",
        "--format",
        "markdown",
        "--today",
        "2026-07-16",
        CASES / "odi_missing.yaml",
        CASES / "vas_4.yaml",
    )
    assert code == 0
    documents = out.split("\n---\n\n")  # one per payer of each case
    assert [d.split("| Case | ")[1].split(" ")[0] for d in documents] == [
        "odi_missing",
        "odi_missing",
        "vas_4",
        "vas_4",
    ]
    assert documents[0].startswith("# Request for additional information")
    assert documents[2].startswith("# Findings for physician review")


def test_an_error_in_any_of_several_cases_is_reported_with_the_others(tmp_path, capsys):
    bad1 = _case(tmp_path, "request: {service: nope, date: 2026-07-15}\n", "a.yaml")
    bad2 = _case(tmp_path, "request: {service: percutaneous_sij_fusion}\n", "b.yaml")
    code, out, err = _run(capsys, "check", bad1, CASES / "vas_4.yaml", bad2)
    assert code == 2 and out == ""
    assert "a.yaml" in err and "b.yaml" in err


# ------------------------------------------------------------------ notices
@pytest.mark.slow
def test_a_request_before_the_effective_date_is_judged_only_when_the_version_is_chosen(
    tmp_path, capsys
):
    text = (CASES / "approvable.yaml").read_text(encoding="utf-8")
    assert "  date: 2026-07-15\n" in text
    case = _case(tmp_path, text.replace("  date: 2026-07-15\n", "  date: 2026-05-20\n", 1))
    _, out, _ = _run(capsys, "check", "--policy", "caresource_sijf_2026", case)
    assert "no version in effect on 2026-05-20" in " ".join(out.split())
    # Chosen explicitly, the version is applied, and a notice says it was not yet in effect.
    args = ("--policy", "caresource_sijf_2026@2026-06-01", case)
    notice = "version 2026-06-01 takes effect on 2026-06-01, after 2026-05-20"
    _, out, _ = _run(capsys, "check", *args)
    assert f"notice: {notice}" in " ".join(out.split())
    _, out, _ = _run(capsys, "explain", "--format", "json", *args)
    (result,) = json.loads(out)["results"]
    assert [n for n in result["notices"] if notice in n]
    assert result["determination"] == "approvable"  # a notice, not a change of determination
    for command in ("explain", "missing"):
        _, out, _ = _run(capsys, command, "--format", "markdown", *args)
        assert f"**Notice:** {notice}" in out
    _, out, _ = _run(capsys, "check", "--format", "json", "--policy", "aim_sijf_2022", case)
    assert json.loads(out)["results"][0]["notices"] == []


# ------------------------------------------------------------------ reasons and marks
NEAR = """id: near
request:
  service: percutaneous_sij_fusion
  date: 2026-07-15
records:
  injection:
    - {date: 2026-02-05, purpose: diagnostic, site: sij_intra_articular, image_guided: true,
       contrast_enhanced: true, agent: local_anesthetic, relief_percent: 60}
    - {date: 2026-03-10, purpose: diagnostic, site: sij_intra_articular, image_guided: true,
       contrast_enhanced: true, agent: local_anesthetic, relief_percent: 60}
"""


@pytest.mark.slow
def test_records_that_nearly_qualify_are_listed_with_what_they_miss(tmp_path, capsys):
    case = _case(tmp_path, NEAR)
    _, out, _ = _run(capsys, "explain", "--policy", "aim_sijf_2022", "--format", "json", case)
    (result,) = json.loads(out)["results"]
    (criterion,) = [n for n in result["criteria"] if n["cite"].endswith("Percutaneous 5")]

    def nodes(node):
        yield node
        for child in node.get("children", []):
            yield from nodes(child)

    # The blocks of the joint to be fused (a one-sided request's route to Percutaneous 5).
    (blocks,) = [n for n in nodes(criterion) if n["id"] == "joint_blocks"]
    nearly = [e for e in blocks["evidence"] if e.startswith("nearly:")]
    assert len(nearly) == 2
    assert all("relief 60%, needs 75% or more" in e for e in nearly)
    assert any("2026-02-05" in e for e in nearly) and any("2026-03-10" in e for e in nearly)


def test_a_record_outside_a_window_names_the_window_start(tmp_path, capsys):
    case = _case(
        tmp_path,
        "request: {service: open_sij_fusion, date: 2026-07-15, side: left}\nrecords:\n"
        "  imaging:\n    - {date: 2026-01-01, modality: ct, region: sij, side: left,\n"
        "       findings: [localized_sij_pathology]}\n",
    )
    _, out, _ = _run(capsys, "explain", "--policy", "caresource_sijf_2026", case)
    flat = " ".join(out.split())
    assert (
        "does not count: CT of the SIJ of 2026-01-01, left joint: more than 6 months before the "
        "request" in flat
    )
    _, out, _ = _run(
        capsys, "explain", "--policy", "caresource_sijf_2026", case, "--format", "json"
    )
    evidence = json.dumps(json.loads(out)["results"][0]["criteria"])
    assert "dated before the window that starts 2026-01-15" in evidence  # JSON keeps the dates


def test_none_of_members_never_show_a_favourable_fact_next_to_a_cross(capsys):
    _, out, _ = _run(capsys, "explain", "--policy", "aim_sijf_2022", CASES / "fibromyalgia.yaml")
    flat = " ".join(out.split())
    assert "✓ Percutaneous 1: The pain limits functional activities: not documented as" in flat
    assert "✗ Percutaneous 1: The pain limits functional activities" not in flat
    assert "does not apply" not in out


def test_check_shows_each_advisory_on_one_line(tmp_path, capsys):
    text = (CASES / "approvable.yaml").read_text(encoding="utf-8")
    case = _case(tmp_path, text.replace("findings:\n", "findings:\n  tobacco_use: true\n", 1))
    _, out, _ = _run(capsys, "check", "--policy", "aim_sijf_2022", case)
    lines = [line for line in out.splitlines() if line.strip().startswith("advisory, ")]
    assert len(lines) == 1
    flat = " ".join(out.split())
    assert (
        "advisory, tobacco cessation: Current tobacco use: yes; recommendation not documented"
        in flat
    )


# ------------------------------------------------------------------ small conventions
def test_sections_sort_in_document_order():
    cites = ["MM-1508 D.I.B.10", "MM-1508 D.I.B.3", "MM-1508 D.I.B.9.a", "MM-1508 D.I.B.1"]
    assert sorted(cites, key=section_key) == [
        "MM-1508 D.I.B.1",
        "MM-1508 D.I.B.3",
        "MM-1508 D.I.B.9.a",
        "MM-1508 D.I.B.10",
    ]


def test_the_sections_of_a_set_are_listed_in_document_order(capsys):
    args = ("missing", EMPTY, "--policy", "caresource_sijf_2026", "--enumerate", "1")
    code, out, _ = _run(capsys, *args)
    assert code == 0
    flat = " ".join(out.split())
    listed = flat.split("[D.I.B.1;", 1)[1].split("]", 1)[0]
    sections = ["D.I.B.1"] + [s.strip() for s in listed.split(";") if s.strip()]
    assert sections == sorted(sections, key=section_key)
    assert sections.index("D.I.B.2") < sections.index("D.I.B.10")


@pytest.mark.parametrize(
    "phrase, expected",
    [
        ("injection record", "an injection record"),
        ("MRI of the SIJ", "an MRI of the SIJ"),
        ("SIJ CT", "an SIJ CT"),
        ("CT of the lumbar spine", "a CT of the lumbar spine"),
        ("X-ray", "an X-ray"),
        ("left hip radiograph", "a left hip radiograph"),
    ],
)
def test_article(phrase, expected):
    assert article(phrase) == expected


# ------------------------------------------------------------------ one item for several values
def test_the_side_is_one_item_naming_every_side_that_serves(capsys):
    """With the side not documented, a criterion whose records follow the side asks for it once
    ("left, right or bilateral"), not once per side."""
    code, out, err = _run(
        capsys, "missing", EMPTY, "--format", "json", "--policy", "caresource_sijf_2026"
    )
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    blocks = next(g for g in result["missing_grouped"] if g["criterion_id"] == "diagnostic_blocks")
    # Two blocks of the joint(s) to be fused serve any side; a bilateral request may also
    # document them joint by joint, or mix one block of both joints with one of each joint.
    both, mixed, each_joint = blocks["options"]
    (side,) = [i for i in both if i["fact"] == "request.side"]
    assert side["values"] == ["left", "right", "bilateral"]
    assert side["plain"] == "Side of the SI joint to be fused: left, right or bilateral"
    for option in (mixed, each_joint):
        (side,) = [i for i in option if i["fact"] == "request.side"]
        assert side["values"] == ["bilateral"]
    # Only the same-side film narrows the sides: a film of both hips serves any side, and a
    # bilateral request may instead send one film of each hip.
    hips = next(
        g
        for top in result["missing_grouped"]
        for g in top.get("all_of", [])
        if g["criterion_id"] == "ipsilateral_hip"
    )
    sides = sorted(
        tuple(i["values"])
        for option in hips["options"]
        for i in option
        if i["fact"] == "request.side"
    )
    assert sides == [("bilateral",), ("left", "right")]


def test_missing_text_names_facts_in_words_not_identifiers(capsys):
    code, out, err = _run(capsys, "missing", EMPTY, "--policy", "caresource_sijf_2026")
    assert code == 0, err
    out = " ".join(out.split())
    assert "request.side" not in out and " = " not in out and ">=" not in out
    assert "Pain intensity on a 0-10 scale: 5 points or more" in out
    assert "The pain radiates: no" in out
    assert "Side of the SI joint to be fused: left or right AND one more imaging" in out


def test_a_letter_asks_for_the_side_once_and_says_which_request_an_option_is_for(tmp_path, capsys):
    case = _case(tmp_path, EMPTY.read_text(encoding="utf-8") + DETAILS)
    code, out, err = _run(capsys, "missing", case, "--format", "markdown")
    assert code == 0, err
    # The side is asked once, at the top, never chosen for the office; an option that needs
    # one kind of request says so (a bilateral request may send the records joint by joint).
    head = out[: out.index("## ")]
    assert "- State the side of the requested fusion (left, right or bilateral)\n" in head
    body = out[out.index("## ") :]
    assert "State the side" not in body
    blocks = out[out.index("### D.I.B.7") : out.index("### D.I.B.8")]
    assert "- For a bilateral request, send the record" in blocks
    hips = out[out.index("### D.I.B.9.b") : out.index("### D.I.B.9.c")]
    assert "- For a one-sided request, send the record of a hip radiograph of that side" in hips


@pytest.mark.slow  # every minimal set of the empty request, several seconds
@pytest.mark.exhaustive  # the listing of its first sets is in the goldens (test_letter_goldens)
def test_the_empty_request_lists_each_set_once_with_the_side_one_item():
    """Each side would make sets of its own; with the side one item where any side serves,
    MM-1508's 1824 solver models are 1752 sets. Most are a bilateral request's: blocks,
    injections and SIJ imaging of both joints, of each joint, or a mix."""
    from sijfasp.api import evaluate
    from sijfasp.cases.case import load_case
    from sijfasp.results.missing import Options

    case = load_case(EMPTY, VOCABULARY)
    totals = {
        p.policy.id: (r.missing_total, r.missing_complete)
        for p in bundled_policies()
        if p.policy.id in ("aim_sijf_2022", "caresource_sijf_2026")
        and (r := evaluate(p, case, Options(enumerate=0, budget=300.0)))
    }
    assert totals == {"aim_sijf_2022": (15120, True), "caresource_sijf_2026": (1752, True)}


# ------------------------------------------------------------------ new attempts for a failed test
RELIEF_60 = CASES / "relief_60.yaml"


@pytest.mark.slow
def test_blocks_that_failed_say_what_new_blocks_would_have_to_show(capsys):
    """AIM: two blocks documented at 60% are not met, and nothing is asked for; the output says
    what new blocks would have to show, and applying that gives approvable."""
    import support as s

    result = s.evaluate(s.load_yaml(RELIEF_60), s.AIM)
    assert result.determination == "not_met" and not result.missing
    (option,) = result.new_attempts
    assert sorted(i.key for i in option) == [
        "more(diagnostic_block_75,1)",
        "more(diagnostic_block_75,2)",
    ]
    completed = s.apply_missing_set(s.load_yaml(RELIEF_60), s.AIM, option)
    assert s.determination(completed, s.AIM) == "approvable"
    code, out, err = _run(capsys, "missing", RELIEF_60, "--policy", "aim_sijf_2022")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "new attempts would have to show" in flat
    assert "two new injection records: Image-guided" in flat
    code, out, _ = _run(capsys, "check", RELIEF_60, "--format", "json", "--policy", "aim_sijf_2022")
    (data,) = json.loads(out)["results"]
    assert data["determination"] == "not_met" and data["missing"] == []
    assert len(data["new_attempts"]) == 1 and data["new_attempts_grouped"]
    code, out, _ = _run(
        capsys, "missing", RELIEF_60, "--format", "markdown", "--policy", "aim_sijf_2022"
    )
    assert "new attempts would have to show" in out
    assert (
        "Two new records, each an image-guided, contrast-enhanced intra-articular SIJ block" in out
    )


def test_no_new_attempts_when_a_documented_fact_fails_a_criterion():
    import support as s

    case = s.with_findings(s.load_yaml(RELIEF_60), vas_score=4)
    result = s.evaluate(case, s.AIM)
    assert result.determination == "not_met"
    assert result.new_attempts == () and result.new_attempts_grouped == ()


# ------------------------------------------------------------------ words for people, names in JSON
def test_an_alternative_for_another_request_has_no_cross(capsys):
    """A one-sided request: the joint-by-joint documentation of a bilateral request is marked as
    not for it, without ✗ and without its members."""
    code, out, err = _run(
        capsys, "explain", CASES / "approvable.yaml", "--policy", "caresource_sijf_2026"
    )
    assert code == 0, err
    flat = " ".join(out.split())
    assert (
        "- D.I.B.7: For a bilateral request, blocks of each joint (not for a one-sided request)"
        in flat
    )
    marks = [line.strip()[:1] for line in out.splitlines() if "✗ not met" not in line]
    assert "✗" not in marks  # an approvable case: nothing shows as not met
    assert "request.side" not in out and "Blocks of the right joint" not in out


def test_json_keeps_the_names_and_gives_the_words(capsys):
    code, out, err = _run(
        capsys, "check", CASES / "vas_4.yaml", "--format", "json", "--policy", "aim_sijf_2022"
    )
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert result["policy"] == "aim_sijf_2022" and result["determination"] == "not_met"
    assert any("vas_score = 4" in reason for reason in result["reasons"])
    assert any(
        "Pain intensity on a 0-10 scale: 4/10 documented" in reason
        for reason in result["reasons_words"]
    )

    def nodes(node):
        yield node
        for child in node["children"]:
            yield from nodes(child)

    vas = next(
        n for top in result["criteria"] for n in nodes(top) if n["evidence"] == ["vas_score = 4"]
    )
    assert vas["evidence_words"] == ["Pain intensity on a 0-10 scale: 4/10"]
    assert vas["condition_words"] == "Pain intensity on a 0-10 scale: 5/10 or more"


# ------------------------------------------------------------------ records on file, nearest first
def _yaml_case(tmp_path: Path, edit, name: str = "case.yaml") -> Path:
    """examples/cases/approvable.yaml, edited by `edit` (a function of the loaded case)."""
    case = yaml.safe_load((CASES / "approvable.yaml").read_text(encoding="utf-8"))
    edit(case)
    return _case(tmp_path, yaml.safe_dump(case, sort_keys=False), name)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_study_too_old_is_named_first_among_more_than_three_near_misses(tmp_path, capsys):
    """open_fusion_trauma with its pelvis CT dated 2025-12-01: four studies nearly qualify for
    MM-1508 D.I.A.2; the one failing only by its age comes first and the letter names it."""
    text = (CASES / "open_fusion_trauma.yaml").read_text(encoding="utf-8")
    old = "2026-06-20, modality: ct, region: pelvis"
    assert old in text
    case = _case(tmp_path, text.replace(old, "2025-12-01, modality: ct, region: pelvis"))
    policy = ("--policy", "caresource_sijf_2026")
    _, out, _ = _run(
        capsys, "missing", case, "--format", "markdown", *policy, "--today", "2026-07-16"
    )
    on_file = out[out.index("On file:") :]
    assert on_file.splitlines()[2] == (
        "- The CT of the pelvis of 2025-12-01 does not count: it is more than 6 months before "
        "the request."
    ), on_file
    assert "- Other records on file do not count either." in on_file
    _, out, _ = _run(capsys, "explain", case, *policy)
    flat = _flat(out)
    nearly = flat[flat.index("0 qualifying studies; 1 needed") :]
    assert nearly.index("CT of the pelvis of 2025-12-01: more than 6 months") < nearly.index(
        "X-ray of the SIJ of 2026-01-20"
    )
    assert "... and 1 more record that nearly qualifies" in flat


def test_every_record_failing_only_by_its_date_or_side_is_named(tmp_path, capsys):
    """Four studies too old and one of the other joint, beside two with other findings: the
    five are named in the explanation and the letter, whatever the limit of three."""
    old = [
        f"    - {{date: 2025-0{m}-10, modality: ct, region: sij, side: left, "
        "findings: [localized_sij_pathology]}\n"
        for m in (1, 2, 3, 4)
    ]
    case = _case(
        tmp_path,
        "request: {service: open_sij_fusion, date: 2026-07-15, side: left}\n"
        "findings: {post_traumatic_sij_injury: true}\nrecords:\n  imaging:\n"
        + "".join(old)
        + "    - {date: 2026-06-01, modality: mri, region: sij, side: right, "
        "findings: [localized_sij_pathology]}\n"
        "    - {date: 2026-06-02, modality: xray, region: sij, side: left, findings: []}\n"
        "    - {date: 2026-06-03, modality: xray, region: pelvis, findings: []}\n",
    )
    policy = ("--policy", "caresource_sijf_2026")
    _, out, _ = _run(capsys, "explain", case, *policy, "--format", "json")
    (result,) = json.loads(out)["results"]
    (joint,) = [n for n in _nodes(result["criteria"]) if n["id"] == "joint_recent_imaging"]
    nearly = [e for e in joint["evidence_words"] if e.startswith("does not count:")]
    assert len(nearly) == 5, joint["evidence_words"]
    assert all("2025-0" in e or "2026-06-01" in e for e in nearly), nearly
    assert joint["evidence_words"][-1] == "... and 2 more records that nearly qualify"
    assert any(
        e.endswith(
            "MRI of the SIJ of 2026-06-01, right joint: right joint, needs the left "
            "joint or both joints"
        )
        for e in nearly
    ), nearly
    _, out, _ = _run(capsys, "missing", case, "--format", "markdown", *policy)
    for month in (1, 2, 3, 4):
        assert (
            f"- The CT of the SIJ of 2025-0{month}-10 (left joint) does not count: it is more "
            "than 6 months before the request." in out
        ), out
    assert (
        "- The MRI of the SIJ of 2026-06-01 (right joint) does not count: it is of the right "
        "joint, not the left joint or both joints." in out
    ), out
    assert "- Other records on file do not count either." in out


def _nodes(nodes):
    for node in nodes:
        yield node
        yield from _nodes(node.get("children", []))


# ------------------------------------------------------------------ a field's label and its article
def test_a_choice_field_whose_meaning_has_its_article_is_asked_once_with_it(tmp_path, capsys):
    """The example third policy's lab result ("The result of the test") undocumented on the
    newest cotinine test: "Document the result of the test", never "the the"."""
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(REPO / "policies_asp" / "vocabulary.sijv", folder)
    for name in ("examplepayer_sijf_2026.sijp", "examplepayer_extra.sijv"):
        shutil.copy(REPO / "examples" / "third_policy" / name, folder)
    source = REPO / "examples" / "third_policy" / "tests" / "cases" / "examplepayer_approvable.yaml"
    text = source.read_text(encoding="utf-8")
    latest = "{date: 2026-05-04, test: cotinine, result: negative}"
    assert latest in text
    case = _case(tmp_path, text.replace(latest, "{date: 2026-05-04, test: cotinine}"))
    code, out, err = _run(
        capsys,
        "--policies",
        folder,
        "missing",
        case,
        "--policy",
        "examplepayer_sijf_2026",
        "--format",
        "markdown",
    )
    assert code == 0, err
    assert "Document the result of the test (positive or negative) for the lab of 2026-05-04" in out
    assert not re.search(r"\b(the|a|an) (the|a|an)\b", out, re.IGNORECASE), out


@pytest.mark.parametrize(
    "means, expected",
    [
        ("the result of the test", "the result of the test"),
        ("The result of the test", "The result of the test"),
        ("a laboratory test", "a laboratory test"),
        ("side of the joint injected", "the side of the joint injected"),
        ("theatre booking", "the theatre booking"),
    ],
)
def test_definite(means, expected):
    assert definite(means) == expected


# ------------------------------------------------------------------ the later block that failed
def _later_block(case: dict) -> None:
    case["records"]["injection"].append({**LEFT_BLOCK, "date": "2026-06-10", "relief_percent": 20})


@pytest.mark.parametrize("form", [(), ("--format", "markdown")], ids=["text", "markdown"])
def test_explain_names_the_later_failed_block_in_every_format(tmp_path, capsys, form):
    case = _yaml_case(tmp_path, _later_block)
    _, out, _ = _run(capsys, "explain", case, "--policy", "aim_sijf_2022", *form)
    flat = _flat(out)
    assert "pain generator not confirmed by a later block" in flat
    assert "diagnostic injection of 2026-06-10, left joint, relief 20%" in flat, out
    # What made it apply, not the bilateral alternative that did not (the request's side).
    assert "relief 20%; Side of the SI joint" not in flat, out


# ------------------------------------------------------------------ the current episode of care
def _old_episode(case: dict) -> None:
    """Pain for 8 months (since 2025-11-15); every course of therapy ended in 2023."""
    case["findings"]["pain_duration_months"] = 8
    case["records"]["therapy"] = [
        {"kind": "physical_therapy", "start": "2022-09-01", "end": "2023-09-01"},
    ]


def test_a_course_before_the_pain_began_is_said_in_a_plain_sentence(tmp_path, capsys):
    case = _yaml_case(tmp_path, _old_episode)
    _, out, _ = _run(capsys, "explain", case, "--policy", "aim_sijf_2022")
    flat = _flat(out)
    assert (
        "the physical therapy starting 2022-09-01 ended on 2023-09-01, before the current pain "
        "began around 2025-11-15, 8 months before the request" in flat
    ), out
    assert "did not show the outcome needed" not in flat
    assert "how long the current pain has lasted" not in flat
    _, out, _ = _run(capsys, "missing", case, "--policy", "aim_sijf_2022", "--format", "markdown")
    assert "ended on 2023-09-01, before the current pain began around 2025-11-15" in _flat(out)


def test_a_failed_outcome_still_says_the_outcome_was_not_shown(tmp_path, capsys):
    """Blocks with too little relief fail by their outcome, not their date or side."""

    def low_relief(case: dict) -> None:
        for injection in case["records"]["injection"]:
            if injection.get("purpose") == "diagnostic":
                injection["relief_percent"] = 40

    case = _yaml_case(tmp_path, low_relief)
    _, out, _ = _run(capsys, "explain", case, "--policy", "aim_sijf_2022")
    assert "did not show the outcome needed (relief 40%, needs 75% or more)" in _flat(out), out
