"""A `define` written without a section cites its members' sections (compiler.member_sections),
and no citation is printed as `[]`, in the compiled program or in the text output."""

from __future__ import annotations

import shutil

from support import POLICIES_DIR

from sijfasp.policies.loading import load_policy

POLICY = """\
import "vocabulary.sijv"

policy sections_2026 {
  payer     "Example Payer"
  title     "Sections"
  document  "Guideline"
  effective 2026-01-01
  cite      "SEC"
}

service percutaneous_sij_fusion [1] "SIJ fusion"

records blocks "Diagnostic blocks": injection where purpose is diagnostic

define pain_and_function "Pain and function": all of {
  pain [2.a] "Pain of at least 5": vas_score >= 5
  function [2.b] "ODI of at least 30": odi_score >= 30
}

define blocks_done "Two blocks": at least 2 blocks

define nothing_cited "Provocation": thigh_thrust_test is true

criteria for percutaneous_sij_fusion {
  both [3] "Pain, function, blocks and provocation": all of {
    pain_and_function
    blocks_done
    nothing_cited
  }
}
"""


def test_a_define_without_a_section_cites_its_members(tmp_path):
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", tmp_path)
    path = tmp_path / "sections_2026.sijp"
    path.write_text(POLICY, encoding="utf-8")
    compiled = load_policy(path).compiled
    assert compiled.nodes["pain_and_function"].section == "2.a, 2.b"
    assert 'section(pain_and_function, "2.a, 2.b").' in compiled.program
    assert "% SEC [2.a, 2.b] Pain and function" in compiled.program
    # Nothing to cite: the comment has no brackets, never `[]`.
    assert "[]" not in compiled.program
    assert "% SEC Diagnostic blocks" in compiled.program
    assert "% SEC Provocation" in compiled.program
