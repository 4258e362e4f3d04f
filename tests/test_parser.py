"""The parser: bundled files parse, spans point at the text, every construct has its AST node,
and syntax errors are all reported with file:line:col."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from support import POLICIES_DIR, VOCABULARY

from sijfasp.core.diagnostics import SijfaspError, render
from sijfasp.core.source import SourceText
from sijfasp.language import ast
from sijfasp.language.parser import parse, parse_text

POLICY_FILES = sorted(POLICIES_DIR.glob("*.sijp"))


def _parse_file(path: Path) -> tuple[ast.SourceFile, str]:
    text = path.read_text(encoding="utf-8")
    return parse(SourceText(str(path), text)), text


def _walk(node):
    """Every AST node reachable from `node` (dataclasses, tuples)."""
    yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _walk(item)
        return
    fields = getattr(node, "__dataclass_fields__", None)
    if fields is None:
        return
    for name in fields:
        if name == "span":
            continue
        yield from _walk(getattr(node, name))


def _named(tree: ast.SourceFile, cls, name: str):
    found = [
        n
        for n in _walk(tree.declarations)
        if isinstance(n, cls) and getattr(n, "name", None) == name
    ]
    assert len(found) == 1, f"{cls.__name__} {name}: found {len(found)}"
    return found[0]


def _body(expr_text: str):
    """Parse one criterion body inside a criteria block and return its AST."""
    tree = parse_text('criteria for s {\n  c [S] "label": ' + expr_text + "\n}\n", "t.sijp")
    (block,) = tree.declarations
    (criterion,) = block.items
    return criterion.body


def _errors(text: str, path: str = "bad.sijp") -> list:
    with pytest.raises(SijfaspError) as raised:
        parse_text(text, path)
    assert raised.value.diagnostics, "a syntax error carries at least one diagnostic"
    return raised.value.diagnostics


# ------------------------------------------------------------------ bundled files
def test_bundled_policy_files_exist():
    assert {p.name for p in POLICY_FILES} >= {"aim_sijf_2022.sijp", "caresource_sijf_2026.sijp"}


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_bundled_policy_parses(path):
    tree, _ = _parse_file(path)
    kinds = {type(d) for d in tree.declarations}
    assert {
        ast.ImportDecl,
        ast.PolicyDecl,
        ast.ServiceDecl,
        ast.CriteriaBlock,
        ast.RecordsDecl,
    } <= kinds
    (policy,) = [d for d in tree.declarations if isinstance(d, ast.PolicyDecl)]
    # One version per file: `ID.sijp`, or `ID_vVERSION.sijp` for another version (docs/authoring.md).
    assert path.stem == policy.name or path.stem.startswith(policy.name + "_v")
    assert tree.path == str(path)
    roles = {d.role for d in tree.declarations if isinstance(d, ast.CriteriaBlock)}
    assert {"criteria", "exclusions"} <= roles


def test_vocabulary_parses():
    tree, _ = _parse_file(VOCABULARY)
    decls = tree.declarations
    assert isinstance(decls[0], ast.VocabularyDecl) and decls[0].name == "sij_fusion"
    findings = {d.name: d for d in decls if isinstance(d, ast.FindingDecl)}
    requests = {d.name: d for d in decls if isinstance(d, ast.RequestDecl)}
    records = {d.name: d for d in decls if isinstance(d, ast.RecordDecl)}
    assert {"vas_score", "odi_score", "pain_radiating", "tumor"} <= set(findings)
    assert {"service", "date", "side", "approach", "fixation"} <= set(requests)
    assert set(records) == {"therapy", "injection", "imaging", "surgery"}
    vas = findings["vas_score"].type
    assert (vas.name, vas.low, vas.high) == ("number", Decimal(0), Decimal(10))
    assert findings["pain_radiating"].type.name == "bool"
    service = requests["service"].type
    assert service.name == "choice"
    assert set(service.values) == {
        "percutaneous_sij_fusion",
        "open_sij_fusion",
        "revision_sij_fusion",
    }
    assert any(p.name == "required" and p.value is None for p in requests["service"].properties)
    imaging = {f.name: f for f in records["imaging"].fields}
    assert imaging["findings"].type.name == "set"
    assert "neural_compression_excluded" in imaging["findings"].type.values
    cost = [p for p in records["therapy"].properties if p.name == "cost"]
    assert cost and cost[0].value == Decimal(60)


# ------------------------------------------------------------------ spans
def _position_of(text: str, pattern: str) -> tuple[int, int]:
    """1-based line and column of the first match of a regex's group 1 in `text`."""
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, pattern
    start = match.start(1)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, column


@pytest.mark.parametrize(
    "policy, criterion",
    [
        ("aim_sijf_2022", "vas_at_least_5"),  # nested inside an all of
        ("aim_sijf_2022", "diagnostic_blocks"),  # a top criterion
        ("aim_sijf_2022", "excluded_graft_only_posterior"),
        ("caresource_sijf_2026", "active_six_months"),
        ("caresource_sijf_2026", "failed_therapeutic_injections"),
    ],
)
def test_criterion_span_points_at_its_name(policy, criterion):
    path = POLICIES_DIR / f"{policy}.sijp"
    tree, text = _parse_file(path)
    node = _named(tree, ast.Criterion, criterion)
    line, column = _position_of(text, rf"^\s*({criterion})\b")
    assert (node.span.path, node.span.line, node.span.column) == (str(path), line, column)
    assert str(node.span) == f"{path}:{line}:{column}"
    source = SourceText(str(path), text)
    assert source.line(node.span.line)[node.span.column - 1 :].startswith(criterion)
    assert (node.span.end_line, node.span.end_column) > (node.span.line, node.span.column)


def test_declaration_spans_point_at_their_keyword():
    path = POLICIES_DIR / "aim_sijf_2022.sijp"
    tree, text = _parse_file(path)
    define = _named(tree, ast.DefineDecl, "physical_therapy_requirement")
    assert (define.span.line, define.span.column) == _position_of(
        text, r"^(define) physical_therapy_requirement"
    )
    records = _named(tree, ast.RecordsDecl, "diagnostic_block_75")
    assert (records.span.line, records.span.column) == _position_of(
        text, r"^(records) diagnostic_block_75"
    )
    service = _named(tree, ast.ServiceDecl, "revision_sij_fusion")
    assert (service.span.line, service.span.column) == _position_of(
        text, r"^(service) revision_sij_fusion"
    )


def test_fact_reference_span_covers_the_name():
    body = _body("request.fixation is fda_structural_device")
    assert isinstance(body, ast.IsValue)
    span = body.fact.span
    assert (span.line, span.column) == (2, 18)
    assert span.end_column - span.column == len("request.fixation")
    assert body.span.end_column - body.span.column == len(
        "request.fixation is fda_structural_device"
    )


# ------------------------------------------------------------------ combinators
@pytest.mark.parametrize(
    "text, kind, minimum",
    [
        ("all of { a is true  b is true }", "all", None),
        ("any of { a is true  b is true }", "any", None),
        ("none of { a is true  b is true }", "none", None),
        ("at least 1 of { a is true  b is true }", "at_least", 1),
    ],
)
def test_combinators(text, kind, minimum):
    body = _body(text)
    assert isinstance(body, ast.Combinator)
    assert (body.kind, body.minimum) == (kind, minimum)
    assert [m.fact.name for m in body.members] == ["a", "b"]
    assert all(isinstance(m, ast.IsValue) for m in body.members)


def test_combinator_members_may_be_named_criteria_and_nested():
    body = _body(
        'all of {\n  sub [S.1] "Sub": any of { x is true  y >= 2 }\n'
        '  other "Other, no section": none of { z is true }\n  some_definition\n}'
    )
    sub, other, reference = body.members
    assert isinstance(sub, ast.Criterion)
    assert (sub.name, sub.section, sub.label) == ("sub", "S.1", "Sub")
    assert isinstance(sub.body, ast.Combinator) and sub.body.kind == "any"
    assert isinstance(other, ast.Criterion) and other.section is None
    assert other.label == "Other, no section"
    assert isinstance(reference, ast.Reference) and reference.name == "some_definition"


# ------------------------------------------------------------------ conditions
@pytest.mark.parametrize(
    "text, value, negated",
    [
        ("pain_radiating is true", "true", False),
        ("pain_radiating is false", "false", False),
        ("pain_radiating is not true", "true", True),
        ("request.approach is posterior", "posterior", False),
    ],
)
def test_is_value(text, value, negated):
    body = _body(text)
    assert isinstance(body, ast.IsValue)
    assert (body.value, body.negated) == (value, negated)


def test_fact_ref_scopes():
    finding = _body("vas_score >= 5").fact
    request = _body("request.side is left").fact
    assert (finding.scope, finding.name) == ("finding", "vas_score")
    assert (request.scope, request.name) == ("request", "side")


@pytest.mark.parametrize(
    "text, values",
    [
        ("request.side in {left, right}", ("left", "right")),
        ("request.side in { bilateral }", ("bilateral",)),
        ("request.side in {left, right,}", ("left", "right")),
    ],
)
def test_is_in(text, values):
    body = _body(text)
    assert isinstance(body, ast.IsIn)
    assert body.values == values
    assert body.fact.scope == "request"


@pytest.mark.parametrize("operator", [">=", "<=", ">", "<", "=", "!="])
def test_comparisons(operator):
    body = _body(f"odi_score {operator} 30")
    assert isinstance(body, ast.Compare)
    assert (body.fact.name, body.operator, body.value) == ("odi_score", operator, Decimal(30))


def test_comparison_with_decimal_and_request_field():
    body = _body("hba1c_percent <= 7.5")
    assert body.value == Decimal("7.5") and isinstance(body.value, Decimal)
    request = _body("request.x >= 2")
    assert isinstance(request, ast.Compare) and request.fact.scope == "request"


def test_reference():
    body = _body("physical_therapy_requirement")
    assert body == ast.Reference("physical_therapy_requirement", body.span)


# ------------------------------------------------------------------ counting records
def test_count_records():
    body = _body("at least 2 injection")
    assert isinstance(body, ast.CountRecords)
    assert (body.unit, body.minimum, body.window_days) == ("records", 2, None)
    (part,) = body.records.parts
    assert isinstance(part, ast.RecordSetName) and part.name == "injection"


def test_count_separate_dates():
    body = _body("at least 2 separate dates of injection where purpose is diagnostic")
    assert (body.unit, body.minimum, body.window_days) == ("dates", 2, None)
    (part,) = body.records.parts
    assert isinstance(part, ast.RecordFilter) and part.kind == "injection"
    assert part.conditions[0].operator == "is"


@pytest.mark.parametrize(
    "text, window",
    [
        ("at least 180 days of therapy within last 365 days", 365),
        ("at least 180 days of therapy", None),
    ],
)
def test_count_days(text, window):
    body = _body(text)
    assert (body.unit, body.minimum, body.window_days) == ("days", 180, window)


def test_record_set_union_is_flattened():
    body = _body("at least 1 therapy where kind is rest or injection or (imaging or my_set)")
    parts = body.records.parts
    assert [type(p) for p in parts] == [
        ast.RecordFilter,
        ast.RecordSetName,
        ast.RecordSetName,
        ast.RecordSetName,
    ]
    assert [getattr(p, "kind", getattr(p, "name", None)) for p in parts] == [
        "therapy",
        "injection",
        "imaging",
        "my_set",
    ]


def test_or_binds_looser_than_and():
    body = _body(
        "at least 1 therapy where kind is rest and end within last 30 days "
        "or therapy where kind is tens"
    )
    first, second = body.records.parts
    assert [c.field for c in first.conditions] == ["kind", "end"]
    assert [c.field for c in second.conditions] == ["kind"]


# ------------------------------------------------------------------ field conditions
@pytest.mark.parametrize(
    "text, field, operator, values, comparator, number",
    [
        ("kind is rest", "kind", "is", ("rest",), None, None),
        ("kind in {rest, tens}", "kind", "in", ("rest", "tens"), None, None),
        ("relief_percent >= 75", "relief_percent", "compare", (), ">=", Decimal(75)),
        ("relief_percent != 12.5", "relief_percent", "compare", (), "!=", Decimal("12.5")),
        (
            "findings has localized_sij_pathology",
            "findings",
            "has",
            ("localized_sij_pathology",),
            None,
            None,
        ),
        ("date within last 180 days", "date", "within", (), None, Decimal(180)),
        ("side matches request.side", "side", "matches", ("request.side",), None, None),
        ("side matches side", "side", "matches", ("side",), None, None),
    ],
)
def test_field_conditions(text, field, operator, values, comparator, number):
    body = _body(f"at least 1 imaging where {text}")
    (part,) = body.records.parts
    (condition,) = part.conditions
    assert isinstance(condition, ast.FieldCondition)
    assert (
        condition.field,
        condition.operator,
        condition.values,
        condition.comparator,
        condition.number,
    ) == (field, operator, values, comparator, number)


def test_several_field_conditions_keep_their_order():
    body = _body(
        "at least 1 injection where purpose is diagnostic and image_guided is true "
        "and relief_percent >= 50"
    )
    (part,) = body.records.parts
    assert [c.field for c in part.conditions] == ["purpose", "image_guided", "relief_percent"]


# ------------------------------------------------------------------ declarations
POLICY_TEXT = """# a comment
import "vocabulary.sijv"
policy p {  # trailing comment
  payer "Payer"
  effective 2024-01-31
  version 3
  flag
}
service percutaneous_sij_fusion cpt 27279 [Percutaneous] "Label one"
service revision_sij_fusion [Revision] "Label two"
define d1 [Sec 1] "With section": vas_score >= 5
define d2 "Without section": any of { a is true }
records r1 [Sec 2] "A set": therapy where kind is rest or therapy where kind is tens
records r2 "No section": injection
criteria for percutaneous_sij_fusion { c1 [A] "C1": d1 }
exclusions for percutaneous_sij_fusion, revision_sij_fusion { e1 [B] "E1": tumor is true }
advisories for percutaneous_sij_fusion {
  a1 [C] "With recommend": when tobacco_use is true recommend tobacco_free_weeks >= 6
  a2 "Without recommend": when bmi >= 40
}
"""


@pytest.fixture(scope="module")
def policy_tree():
    return parse_text(POLICY_TEXT, "p.sijp")


def _decls(tree, cls):
    return [d for d in tree.declarations if isinstance(d, cls)]


def test_import_and_policy(policy_tree):
    (imp,) = _decls(policy_tree, ast.ImportDecl)
    assert imp.path == "vocabulary.sijv"
    (policy,) = _decls(policy_tree, ast.PolicyDecl)
    props = {p.name: p.value for p in policy.properties}
    assert props == {
        "payer": "Payer",
        "effective": "2024-01-31",
        "version": Decimal(3),
        "flag": None,
    }


def test_services(policy_tree):
    one, two = _decls(policy_tree, ast.ServiceDecl)
    assert (one.name, one.cpt, one.section, one.label) == (
        "percutaneous_sij_fusion",
        "27279",
        "Percutaneous",
        "Label one",
    )
    assert (two.name, two.cpt, two.section, two.label) == (
        "revision_sij_fusion",
        None,
        "Revision",
        "Label two",
    )


def test_define_and_records(policy_tree):
    d1, d2 = _decls(policy_tree, ast.DefineDecl)
    assert (d1.name, d1.section, d1.label) == ("d1", "Sec 1", "With section")
    assert isinstance(d1.body, ast.Compare)
    assert (d2.section, d2.label) == (None, "Without section")
    assert isinstance(d2.body, ast.Combinator)
    r1, r2 = _decls(policy_tree, ast.RecordsDecl)
    assert (r1.name, r1.section, len(r1.records.parts)) == ("r1", "Sec 2", 2)
    assert r2.section is None
    assert r2.records.parts == (ast.RecordSetName("injection", r2.records.parts[0].span),)


def test_blocks(policy_tree):
    criteria, exclusions, advisories = _decls(policy_tree, ast.CriteriaBlock)
    assert (criteria.role, criteria.services) == ("criteria", ("percutaneous_sij_fusion",))
    assert (exclusions.role, exclusions.services) == (
        "exclusions",
        ("percutaneous_sij_fusion", "revision_sij_fusion"),
    )
    assert len(exclusions.service_spans) == 2
    assert exclusions.service_spans[1].column > exclusions.service_spans[0].column
    assert advisories.role == "advisories"
    (c1,) = criteria.items
    assert isinstance(c1, ast.Criterion) and isinstance(c1.body, ast.Reference)


def test_advisories_with_and_without_recommend(policy_tree):
    advisories = _decls(policy_tree, ast.CriteriaBlock)[2]
    a1, a2 = advisories.items
    assert isinstance(a1, ast.Advisory) and isinstance(a2, ast.Advisory)
    assert (a1.name, a1.section, a1.label) == ("a1", "C", "With recommend")
    assert isinstance(a1.when, ast.IsValue) and a1.when.fact.name == "tobacco_use"
    assert isinstance(a1.recommend, ast.Compare)
    assert a1.recommend.fact.name == "tobacco_free_weeks"
    assert (a2.section, a2.recommend) == (None, None)
    assert isinstance(a2.when, ast.Compare)


def test_vocabulary_declarations():
    tree = parse_text(
        'vocabulary v "Words"\n'
        'finding f: number 0.5..9.5 { unit "u" cost 2 }\n'
        "finding g: bool { }\n"
        "request_field r: choice {a, b} { required }\n"
        'record k {\n  means "m"\n  field d: date\n'
        '  field s: set {x, y} { required means "s" }\n}\n',
        "v.sijv",
    )
    header, f, g, r, k = tree.declarations
    assert (header.name, header.description) == ("v", "Words")
    assert (f.type.name, f.type.low, f.type.high) == ("number", Decimal("0.5"), Decimal("9.5"))
    assert [(p.name, p.value) for p in f.properties] == [("unit", "u"), ("cost", Decimal(2))]
    assert g.properties == () and g.type.name == "bool"
    assert (r.type.name, r.type.values) == ("choice", ("a", "b"))
    assert [p.name for p in k.properties] == ["means"]
    d, s = k.fields
    assert (d.name, d.type.name, d.properties) == ("d", "date", ())
    assert (s.type.name, s.type.values) == ("set", ("x", "y"))


def test_empty_and_comment_only_files_parse():
    assert parse_text("", "e.sijp").declarations == ()
    assert parse_text("# only a comment\n\n   # another\n", "e.sijp").declarations == ()


# ------------------------------------------------------------------ syntax errors
THREE_ERRORS = """policy p { payer "x" }
service s [A] "x" extra
criteria for s {
  a [A] "l": vas_score >> 5
}
define d "x": at least of { a is true }
"""


def test_several_syntax_errors_are_all_reported():
    diagnostics = _errors(THREE_ERRORS, "three.sijp")
    assert [d.span.line for d in diagnostics] == [2, 4, 6]
    assert all(d.code == "syntax" and d.severity == "error" for d in diagnostics)
    assert [str(d.span) for d in diagnostics] == [
        "three.sijp:2:19",
        "three.sijp:4:25",
        "three.sijp:6:24",
    ]
    assert "'extra'" in diagnostics[0].message
    assert "'>'" in diagnostics[1].message and "number" in diagnostics[1].message
    assert "'of'" in diagnostics[2].message and "whole number" in diagnostics[2].message


def test_rendered_syntax_error_has_location_line_and_caret():
    diagnostics = _errors(THREE_ERRORS, "three.sijp")
    source = SourceText("three.sijp", THREE_ERRORS)
    text = render(diagnostics[0], {"three.sijp": source})
    lines = text.splitlines()
    assert lines[0].startswith("three.sijp:2:19: error[syntax]: unexpected 'extra'")
    assert lines[1].endswith('service s [A] "x" extra')
    caret = lines[2]
    assert caret.index("^") == lines[1].index("extra") and caret.count("^") == len("extra")


def test_errors_in_different_blocks_are_all_reported():
    text = (
        'criteria for s {\n  a [A] "l": vas_score >= >= 5\n}\n'
        'criteria for s {\n  b [A] "l": odi_score <= <= 5\n}\n'
    )
    diagnostics = _errors(text)
    assert [(d.span.line, d.span.column) for d in diagnostics] == [(2, 27), (5, 27)]


@pytest.mark.parametrize(
    "text, where, hint",
    [
        ("Policy p {}\n", (1, 1), "lower case"),
        ("policy p { payer 'x' }\n", (1, 18), "double quotes"),
        ('policy p { payer "x" } @\n', (1, 24), None),
    ],
)
def test_unexpected_character(text, where, hint):
    (diagnostic,) = _errors(text, "c.sijp")
    assert diagnostic.code == "syntax"
    assert (diagnostic.span.line, diagnostic.span.column) == where
    assert diagnostic.message.startswith("unexpected character")
    assert (diagnostic.hint is None) if hint is None else (hint in diagnostic.hint)


def test_end_of_file_too_early_has_a_location():
    diagnostics = _errors('criteria for s {\n  a [A] "l": all of {\n', "eof.sijp")
    # Each bracket left open is reported where it was opened.
    assert [str(d.span) for d in diagnostics] == ["eof.sijp:1:16", "eof.sijp:2:21"]
    assert all("file ends before it is closed" in (d.hint or "") for d in diagnostics)


def test_unterminated_string_is_a_syntax_error():
    diagnostics = _errors('service s [A] "no end\ncriteria for s { }\n', "u.sijp")
    assert diagnostics[0].span.line == 1


def test_number_of_reported_syntax_errors_is_capped():
    text = "".join(f'criteria for s {{ a{i} [A] "l": x >> 1 }}\n' for i in range(40))
    diagnostics = _errors(text)
    assert 2 <= len(diagnostics) <= 20


def test_errors_after_an_unexpected_character_are_still_reported():
    text = (
        "policy p { payer 'x' }\nservice s [A] \"x\"\n"
        'criteria for s {\n  a [A] "l": vas_score >> 5\n}\n'
    )
    diagnostics = _errors(text, "mixed.sijp")
    assert [d.span.line for d in diagnostics] == [1, 4]


def test_one_missing_colon_is_one_error():
    text = (
        'criteria for s {\n  a [A] "first" vas_score >= 5\n'
        '  b [A] "second": odi_score >= 30\n  c [A] "third": tumor is true\n}\n'
    )
    diagnostics = _errors(text, "colon.sijp")
    assert [str(d.span) for d in diagnostics] == ["colon.sijp:2:17"]


# ------------------------------------------------------------------ errors that guide
def _one(text: str):
    (diagnostic,) = _errors(text, "g.sijp")
    return diagnostic


def test_an_unclosed_brace_is_reported_where_it_was_opened():
    text = (
        "criteria for s {\n"
        '  a [A] "l": all of {\n'
        "    vas_score >= 5\n"
        '  b [B] "m": tumor is true\n'
        "}\n"
        "exclusions for s {\n"
        '  x [X] "x": tumor is true\n'
        "}\n"
    )
    diagnostic = _one(text)
    assert str(diagnostic.span) == "g.sijp:2:21"
    assert diagnostic.message == "'{' opened at line 2 is never closed"
    assert "close it with '}'" in diagnostic.hint
    assert "noticed at line 6" in diagnostic.hint


def test_an_unclosed_parenthesis_is_reported_where_it_was_opened():
    text = 'records r "r": (therapy or injection\ncriteria for s {\n  a [A] "l": tumor is true\n}\n'
    diagnostic = _one(text)
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 16)
    assert diagnostic.message == "'(' opened at line 1 is never closed"


def test_balanced_brackets_are_never_called_unclosed():
    diagnostics = _errors('criteria for s {\n  a [A] "l": all of { tumor is true }\n  b\n}\n')
    assert not any("never closed" in d.message for d in diagnostics)


@pytest.mark.parametrize(
    "text, word, meant",
    [
        ('criterias for s {\n  a [A] "l": tumor is true\n}\n', "criterias", "criteria"),
        ('exclusion for s {\n  a [A] "l": tumor is true\n}\n', "exclusion", "exclusions"),
        (
            'criteria for s {\n  a [A] "l": atleast 1 of { tumor is true }\n}\n',
            "atleast",
            "at least",
        ),
        ('criteria for s {\n  a [A] "l": anyof { tumor is true }\n}\n', "anyof", "any of"),
        ('servce s [A] "x"\n', "servce", "service"),
    ],
)
def test_a_misspelt_keyword_is_one_error_with_a_did_you_mean(text, word, meant):
    diagnostic = _one(text)
    assert diagnostic.message == f"unexpected '{word}'; it is not a keyword"
    assert diagnostic.hint == f"did you mean '{meant}'?"
    assert text.splitlines()[diagnostic.span.line - 1][diagnostic.span.column - 1 :].startswith(
        word
    )


def test_errors_after_a_repaired_keyword_keep_their_positions():
    text = (
        'exclusion for s {\n  a [A] "l": tumor is true\n}\n'
        'criteria for s {\n  b [B] "m": vas_score >> 5\n}\n'
    )
    diagnostics = _errors(text, "g.sijp")
    assert [str(d.span) for d in diagnostics] == ["g.sijp:1:1", "g.sijp:5:25"]


@pytest.mark.parametrize(
    "body, word, combinator",
    [
        ("tumor is true or vas_score < 4", "or", "any of {"),
        ("tumor is true and vas_score < 4", "and", "all of {"),
        ("any of { tumor is true or fracture is true }", "or", "any of {"),
        ("all of { tumor is true and fracture is true }", "and", "all of {"),
    ],
)
def test_or_and_between_conditions_point_to_the_combinator(body, word, combinator):
    text = f'criteria for s {{\n  a [A] "l": {body}\n  b [B] "m": tumor is true\n}}\n'
    diagnostic = _one(text)
    assert diagnostic.message == f"'{word}' does not join two conditions"
    assert combinator in diagnostic.hint
    line = text.splitlines()[diagnostic.span.line - 1]
    assert line[diagnostic.span.column - 1 :].startswith(word + " ")


def test_or_on_the_next_line_is_recognised_too():
    text = 'criteria for s {\n  a [A] "l": tumor is true\n    or vas_score < 4\n}\n'
    diagnostic = _one(text)
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 5)


def test_and_or_of_record_filters_and_sets_are_not_mistakes():
    body = (
        "at least 1 therapy where kind is physical_therapy and duration_days >= 42"
        " or injection where purpose is diagnostic"
    )
    assert _body(body) is not None


@pytest.mark.parametrize("written, meant", [("==", "="), ("=>", ">="), ("=<", "<="), ("<>", "!=")])
def test_a_comparison_from_another_language_is_named(written, meant):
    diagnostic = _one(f'criteria for s {{\n  a [A] "l": vas_score {written} 5\n}}\n')
    assert diagnostic.message == f"'{written}' is not a comparison"
    assert diagnostic.hint.startswith(f"write '{meant}'")
    assert (diagnostic.span.column, diagnostic.span.end_column) == (24, 26)


def test_a_label_without_its_colon_gets_a_hint():
    diagnostic = _one('criteria for s {\n  a [A] "l" tumor is true\n}\n')
    assert "expected ':'" in diagnostic.message
    assert "label is followed by ':'" in diagnostic.hint


def test_a_record_sets_or_is_not_taken_for_a_mistake_later():
    text = (
        'records r "r": therapy\n  or injection\ncriteria for s {\n  a [A] "l" tumor is true\n}\n'
    )
    diagnostic = _one(text)
    assert (diagnostic.span.line, "expected ':'" in diagnostic.message) == (4, True)


@pytest.mark.parametrize(
    "text, meant",
    [
        ('vocabulary v "x"\nrequest_feild a: date {}\n', "request_field"),
        ('vocabulary v "x"\nfindng a: bool {}\n', "finding"),
        ('records r "r": therapy wher kind is x\n', "where"),
        ('criteria for s {\n  a [A] "l": at leest 1 of { b }\n}\n', "least"),
        ('advisories for s {\n  a [A] "l": when b recomend c\n}\n', "recommend"),
        ('criteria for s {\n  a [A] "l": all off { b }\n}\n', "of"),
    ],
)
def test_keywords_of_every_kind_get_a_did_you_mean(text, meant):
    assert _one(text).hint == f"did you mean '{meant}'?"


def test_a_name_close_to_a_keyword_is_not_called_misspelt():
    # `date` is a type name here, not a misspelt `dates`.
    diagnostic = _one('finding b: bool { means "x" } date\n')
    assert diagnostic.hint is None and "'date'" in diagnostic.message
