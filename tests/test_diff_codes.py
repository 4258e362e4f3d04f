"""`sijfasp diff` compares the procedure codes of a service both policies address before their
criteria: a code one lists and the other does not is a difference, with a witness that
`sijfasp check` confirms under each policy."""

from __future__ import annotations

import json
import shutil

import pytest
from support import POLICIES_DIR, run_cli

POLICY = """\
import "vocabulary.sijv"

policy {id} {{
  payer     "Example Payer"
  title     "Codes"
  document  "Guideline"
  effective 2026-01-01
  cite      "COD"
}}

service percutaneous_sij_fusion cpt {codes} [1] "SIJ fusion"

criteria for percutaneous_sij_fusion {{
  pain [2] "Pain of at least 5": vas_score >= 5
}}
"""


@pytest.mark.slow  # a diff and two checks through the command line
def test_a_code_only_one_policy_lists_is_a_difference_check_confirms(tmp_path):
    for name, codes in (("a", "27278, 27279"), ("b", "27279")):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
        (folder / f"codes_{name}.sijp").write_text(
            POLICY.format(id=f"codes_{name}", codes=codes), encoding="utf-8"
        )
    done = run_cli("diff", "a/codes_a.sijp", "b/codes_b.sijp", "--write-cases", "w", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "1 difference" in done.stdout
    assert "a procedure code only one policy addresses" in done.stdout
    assert "cpt_code=27278" in done.stdout
    (witness,) = sorted((tmp_path / "w").glob("*.yaml"))
    verdicts = []
    for name in ("a", "b"):
        check = run_cli("check", str(witness), "--policies", name, "--format", "json", cwd=tmp_path)
        verdicts.append(json.loads(check.stdout)["results"][0]["determination"])
    assert verdicts == ["approvable", "not_applicable"]
