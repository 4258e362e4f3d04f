"""docs/fhir.md's mapping table is the one the code reads by (SIJFASP_UPDATE_GOLDEN=1 rewrites
it), and it names what the docs promise."""

from __future__ import annotations

import re

from support import REPO_ROOT, update_golden, vocabulary

from sijfasp.fhir.mapping import mapping_table

DOC = REPO_ROOT / "docs" / "fhir.md"
BLOCK = re.compile(
    r"(<!-- BEGIN generated: mapping -->\n)(.*?)(<!-- END generated: mapping -->)", re.S
)


def test_the_mapping_table_in_the_docs_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    match = BLOCK.search(text)
    assert match is not None
    table = "\n" + mapping_table(vocabulary()) + "\n"
    if update_golden():
        DOC.write_text(text[: match.start(2)] + table + text[match.end(2) :], encoding="utf-8")
        return
    assert match.group(2) == table, "run with SIJFASP_UPDATE_GOLDEN=1 and review the diff"


def test_the_table_names_the_coded_items_and_their_expressions():
    table = mapping_table(vocabulary())
    assert "| `vas_score` | loinc 38214-3, loinc 72514-3 |" in table
    assert "Claim `item.modifier.coding`" in table
    assert "DiagnosticReport `conclusionCode.coding`" in table
    assert "performed.ofType(dateTime) \\| performed.ofType(Period).start" in table


def test_the_cli_docs_have_a_section_of_their_own():
    text = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "## FHIR: questionnaires, claim responses and answers" in text
    for option in ("--answers", "--format claim-response", "--format questionnaire"):
        assert option in text
