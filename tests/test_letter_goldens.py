"""What a reviewer and a provider's office read, word for word, and in words only.

The goldens (tests/golden/letters/, written by scripts/refresh_letter_goldens.py) hold every
example case's `check` and `explain` text, `explain --format markdown` and the letter of `missing
--format markdown`. A change of policy, vocabulary or wording shows there as a diff to read;
after reading it, regenerate with `python scripts/refresh_letter_goldens.py`.

The scan (test_people_outputs_of_a_generated_corpus_are_in_words) renders every output for people
of a generated corpus and looks for what must never reach them: identifiers of the vocabulary or
of a policy (snake_case words, policy ids, determination and status values), paths, hashes and
a short word said twice ("the the").
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import refresh_letter_goldens as goldens  # noqa: E402

from sijfasp.api import Options, evaluate_cases  # noqa: E402
from sijfasp.cases.case import validate_case  # noqa: E402
from sijfasp.cases.reader import read_json_case_text  # noqa: E402
from sijfasp.core.kinds import Determination, ExclusionStatus, Status  # noqa: E402
from sijfasp.policies.loading import bundled_policies  # noqa: E402
from sijfasp.results import render  # noqa: E402
from sijfasp.results.results import CaseResult, PolicySetInfo  # noqa: E402

GOLDEN = goldens.GOLDEN
SNAKE = re.compile(r"(?<![\w\\-])[a-z][a-z0-9]*(?:\\?_[a-z0-9]+)+(?![\w-])")
HEX = re.compile(r"\b[0-9a-f]{12,}\b")
PATH = re.compile(r"(?:^|[\s(])(?:/[\w.-]+){2,}|\b[\w-]+\.(?:sijp|sijv|lp|yaml|yml|json)\b")
# A short word said twice ("Document the the result"): an article added to a label that has one.
DOUBLED = re.compile(r"\b(the|a|an|of|and|or|to|is)\s+\1\b", re.IGNORECASE)


def leaks(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """What must not be in an output for people: identifiers, paths and hashes, and a word
    said twice (the words in `allowed`, such as the case's own id, taken out first)."""
    for word in allowed:
        text = text.replace(word, " ")
    found = [f"identifier {m.group()}" for m in SNAKE.finditer(text)]
    found += [f"hash {m.group()}" for m in HEX.finditer(text)]
    found += [f"path {m.group().strip()}" for m in PATH.finditer(text)]
    found += [f"doubled {m.group()}" for m in DOUBLED.finditer(text)]
    return found


def _identifiers() -> set[str]:
    """Every identifier a policy or the vocabulary defines that reads as one word (no `_`)
    would pass the snake_case scan: the one-word ones that are not English are listed here."""
    words = set()
    for loaded in bundled_policies():
        words.add(loaded.policy.id)
    return words


# ------------------------------------------------------------------ goldens
@pytest.fixture(scope="module")
def current() -> dict[str, str]:
    return goldens.outputs()


def test_every_example_has_its_goldens():
    names = {p.name for p in GOLDEN.glob("*")}
    for case in goldens.case_files():
        stem = case.stem + (".json" if case.suffix == ".json" else "")
        for suffix, _, _ in goldens.OUTPUTS:
            assert f"{stem}.{suffix}" in names, f"no golden {stem}.{suffix}: run the script"


@pytest.mark.slow
def test_outputs_match_the_goldens(current):
    differ = [
        name
        for name, text in current.items()
        if not (GOLDEN / name).exists() or (GOLDEN / name).read_text(encoding="utf-8") != text
    ]
    assert not differ, (
        f"{len(differ)} outputs differ from their goldens, first {differ[0]}; read the diff of "
        "`python scripts/refresh_letter_goldens.py` and commit it if it is right"
    )


def test_goldens_are_in_words():
    for path in sorted(GOLDEN.glob("*")):
        case_id = path.name.split(".", 1)[0]
        found = leaks(path.read_text(encoding="utf-8"), (case_id,))
        assert not found, (path.name, found[:5])


def test_a_letter_is_one_payers():
    """Without a payer in the case, each payer gets a document of its own."""
    text = (GOLDEN / "two_tests_undocumented.letter.md").read_text(encoding="utf-8")
    documents = text.split("\n---\n")
    assert len(documents) == 2
    assert "AIM" in documents[0] and "CareSource" not in documents[0]
    assert "CareSource" in documents[1] and "AIM" not in documents[1]


def test_a_letter_exists_only_when_something_is_requested():
    """Not met and excluded: a notice of what was found, for physician review, with the
    documented values; never a request that then says nothing is requested."""
    for name in ("vas_4", "fibromyalgia", "two_tests_negative"):
        text = (GOLDEN / f"{name}.letter.md").read_text(encoding="utf-8")
        assert "# Request for additional information" not in text, name
        assert text.count("# Findings for physician review") == 2, name
        assert "physician reviewer" in text and "denied" not in text.lower(), name
    vas = (GOLDEN / "vas_4.letter.md").read_text(encoding="utf-8")
    assert "Pain intensity on a 0-10 scale: 4/10" in vas
    assert "D.I.B.2" in vas and "Percutaneous 1" in vas
    excluded = (GOLDEN / "fibromyalgia.letter.md").read_text(encoding="utf-8")
    assert "An exclusion of this policy is documented" in excluded


# ------------------------------------------------------------------ the scan
CORPUS_STRIDE = 4  # every 4th case of the corpus: the generated mix and the open home programs


def _people_outputs(result: CaseResult) -> list[tuple[str, str]]:
    return [
        ("check", render.text_check(result) + render.text_set_line(result)),
        ("explain", render.text_explain(result)),
        ("missing", render.text_missing(result)),
        ("explain.md", render.markdown_explain(result) + render.markdown_set_line(result)),
        ("letter", render.markdown_missing(result)),
    ]


def _corpus_results() -> list[CaseResult]:
    sys.path.insert(0, str(ROOT / "tests"))
    import corpus_outputs

    policies = list(bundled_policies())
    vocabulary = policies[0].policy.vocabulary
    info = PolicySetInfo(str(ROOT / "policies_asp"), "found from the working directory")
    cases = [
        validate_case(
            read_json_case_text(corpus_outputs.generate.json_line(raw), raw["id"]), vocabulary
        )
        for raw in corpus_outputs.corpus()[::CORPUS_STRIDE]
    ]
    # As `check` of several cases judges them (the determinations together).
    judged = evaluate_cases(
        [(case, policies) for case in cases], Options(enumerate=render.MAX_SETS_SHOWN)
    )
    return [dataclasses.replace(result, policy_set=info) for result in judged]


@pytest.mark.slow
def test_people_outputs_of_a_generated_corpus_are_in_words():
    """No identifier (snake_case word of the vocabulary, policy id, enum value), path or hash in
    any text or Markdown output of a generated corpus; JSON keeps them."""
    results = _corpus_results()
    assert {r.determination for c in results for r in c.results} >= {
        Determination.APPROVABLE,
        Determination.INCOMPLETE,
        Determination.NOT_MET,
        Determination.EXCLUDED,
    }
    policy_ids = _identifiers()
    enum_values = {d.value for d in Determination} | {s.value for s in Status}
    enum_values |= {e.value for e in ExclusionStatus}
    problems = []
    for result in results:
        for kind, text in _people_outputs(result):
            found = leaks(text, (result.case,))
            found += [f"policy id {p}" for p in policy_ids if p in text]
            found += [
                f"enum value {v}" for v in enum_values if "_" in v and re.search(rf"\b{v}\b", text)
            ]
            problems += [f"{result.case} {kind}: {f}" for f in found]
    assert not problems, f"{len(problems)} leaks, first: {problems[:8]}"


def test_the_scan_finds_what_it_looks_for():
    """The scan itself: each kind of leak is found, words are not."""
    assert leaks("vas_score = 4") == ["identifier vas_score"]
    assert leaks("plan medicaid\\_passe") == ["identifier medicaid\\_passe"]
    assert leaks("text sha256 77be0a997fa7f5719300d2613213e93c") == [
        "hash 77be0a997fa7f5719300d2613213e93c"
    ]
    assert leaks("policy set: /work/main/policies_asp (found)")[0].startswith("identifier")
    assert any(x.startswith("path") for x in leaks("see /home/me/sijfasp/x now"))
    assert any(x.startswith("path") for x in leaks("file aim_sijf_2022.sijp"))
    assert leaks("Pain intensity on a 0-10 scale: 4/10; MM-1508 D.I.B.2 (text 77be0a99)") == []
    assert leaks("case gen-11-000001-odi_missing: ok", ("gen-11-000001-odi_missing",)) == []
    assert leaks("Document the the result of the test") == ["doubled the the"]
    assert leaks("Document the result of the test; a CT or an MRI") == []
