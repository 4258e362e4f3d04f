"""The TextMate grammar shipped for editors follows the Lark grammar: every keyword of the
language is coloured as one, and a bundled policy scans into the scopes a reader expects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TM_GRAMMAR = REPO / "editors" / "vscode" / "syntaxes" / "sijfasp.tmLanguage.json"
LARK_GRAMMAR = REPO / "grammar" / "sijfasp.lark"
PACKAGE = REPO / "editors" / "vscode" / "package.json"


def _grammar() -> dict:
    return json.loads(TM_GRAMMAR.read_text(encoding="utf-8"))


def _patterns() -> list[tuple[str, re.Pattern[str], dict]]:
    grammar = _grammar()
    found = []
    for include in grammar["patterns"]:
        rule = grammar["repository"][include["include"].lstrip("#")]
        found.append((rule.get("name", ""), re.compile(rule["match"]), rule.get("captures", {})))
    return found


def scan(line: str) -> list[tuple[str, str]]:
    """(text, scope) tokens of one line, as a TextMate engine reads flat `match` rules: the
    earliest match wins, the first rule listed on a tie."""
    patterns = _patterns()
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(line):
        best = None
        for order, (scope, pattern, captures) in enumerate(patterns):
            match = pattern.search(line, position)
            if match and match.end() > match.start():
                key = (match.start(), order)
                if best is None or key < best[0]:
                    best = (key, scope, match, captures)
        if best is None:
            break
        _, scope, match, captures = best
        if captures:
            for group, capture in captures.items():
                tokens.append((match.group(int(group)), capture["name"]))
        else:
            tokens.append((match.group(0), scope))
        position = match.end()
    return tokens


def _lark_words() -> set[str]:
    """Every word the Lark grammar writes as a literal: the language's keywords."""
    text = LARK_GRAMMAR.read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    return set(re.findall(r'"([a-z_]+)"', code))


def test_the_grammar_files_are_valid_json_with_compiling_patterns():
    grammar = _grammar()
    assert grammar["scopeName"] == "source.sijfasp"
    assert set(grammar["fileTypes"]) == {"sijp", "sijv"}
    assert len(_patterns()) == len(grammar["patterns"])
    package = json.loads(PACKAGE.read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    assert set(language["extensions"]) == {".sijp", ".sijv"}
    (contributed,) = package["contributes"]["grammars"]
    assert (PACKAGE.parent / contributed["path"]).resolve() == TM_GRAMMAR.resolve()


def test_every_keyword_of_the_lark_grammar_is_coloured_as_a_keyword():
    words = _lark_words()
    assert {"criteria", "all", "least", "where", "with", "covers"} <= words
    for word in sorted(words):
        scopes = {scope for _, scope in scan(f"{word} x")}
        assert scopes & {"keyword.control.sijfasp", "storage.type.sijfasp"}, word


@pytest.mark.parametrize("path", sorted((REPO / "policies_asp").glob("*.sij[pv]")), ids=str)
def test_bundled_files_scan_into_expected_scopes(path):
    seen: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        for text, scope in scan(line):
            seen.setdefault(scope, set()).add(text)
        stripped = line.strip()
        if stripped.startswith("#"):
            assert scan(line)[0][1] == "comment.line.number-sign.sijfasp", line
    assert "comment.line.number-sign.sijfasp" in seen
    assert "string.quoted.double.sijfasp" in seen
    if path.suffix == ".sijp":
        assert any(t.startswith("[") for t in seen["entity.name.tag.section.sijfasp"])
        text = path.read_text(encoding="utf-8")
        for phrase in ("all of", "at least", "none of"):  # where the file uses them
            if re.search(rf"^\s*[^#\s].*\b{phrase}\b", text, flags=re.MULTILINE):
                assert set(phrase.split()) <= seen["keyword.control.sijfasp"], phrase


def test_a_criterion_line_reads_as_its_parts():
    line = '  pain [D.I.B.2] "Pain of 5 or more": vas_score >= 5  # why'
    assert scan(line) == [
        ("pain", "variable.other.sijfasp"),
        ("[D.I.B.2]", "entity.name.tag.section.sijfasp"),
        ('"Pain of 5 or more"', "string.quoted.double.sijfasp"),
        (":", "punctuation.separator.sijfasp"),
        ("vas_score", "variable.other.sijfasp"),
        (">=", "keyword.operator.comparison.sijfasp"),
        ("5", "constant.numeric.sijfasp"),
        ("# why", "comment.line.number-sign.sijfasp"),
    ]
