"""Standard codes of vocabulary items: the code systems a `code` clause may name, and the form
each system's codes take.

A vocabulary item (finding, request field, record kind, record field) names its codes in its
`.sijv` declaration (`code loinc "38214-3" "display"`), or a value's with `for VALUE`. The
systems are few and named by a short word; `sijfasp` is the project's own code system, for what
no standard code names (provocative tests, the side fields). Every item and every value also
has an implicit code in that system: its name (`vas_score`, `request.side`, `imaging.region`,
`imaging.region.sij`), so a form or a response written by another system can always name it.

Imports nothing of sijfasp: the semantic check and the FHIR reader and writer use it alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The project's canonical base: its CodeSystem, Questionnaires and extensions hang under it.
CANONICAL_BASE = "http://sijfasp.org/fhir"
PROJECT_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/vocabulary"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
# The Da Vinci guides use both forms of CMS's HCPCS address: sijfasp writes the first and
# reads either.
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"  # as HL7 Terminology has it
HCPCS_ALSO = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"  # ImagingStudy's modality codes
UCUM = "http://unitsofmeasure.org"

SYSTEMS: dict[str, str] = {
    "loinc": LOINC,
    "snomed": SNOMED,
    "icd10cm": ICD10CM,
    "cpt": CPT,
    "hcpcs": HCPCS,
    "dicom": DICOM,
    "sijfasp": PROJECT_SYSTEM,
}
# The same system under another address.
ALIASES: dict[str, str] = {HCPCS_ALSO: HCPCS}


@dataclass(frozen=True)
class Coding:
    """A checked code: its system's address, the code, its display, and the value it codes
    (None: the item itself)."""

    system: str
    code: str
    display: str | None = None
    value: str | None = None


def canonical_system(system: str) -> str:
    return ALIASES.get(system, system)


# ------------------------------------------------------------------ forms
_LOINC = re.compile(r"([0-9]{1,7})-([0-9])")
# A category (3 characters, `M45`) or a code below one (`M45.6`, `M53.2X8`): a category names
# every code under it, as a prefix.
_ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
# Category I (five digits), II (four digits and F), III (four digits and T), and the two-digit
# modifiers (`50`).
_CPT = re.compile(r"[0-9]{4}[0-9FTU]|[0-9]{2}")
# Level II: a letter and four digits (`G0260`), or a two-character modifier (`LT`, `RT`).
_HCPCS = re.compile(r"[A-V][0-9]{4}|[A-Z][A-Z0-9]")
_SNOMED = re.compile(r"[1-9][0-9]{5,17}")
_DICOM = re.compile(r"[A-Z0-9]{2,16}")
_PROJECT = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")


def loinc_check_digit(number: str) -> int:
    """The mod-10 check digit LOINC gives the digits before the hyphen (doubling every other
    digit from the rightmost one, summing the digits)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
        total += digit // 10 + digit % 10
    return (10 - total % 10) % 10


def form_problem(short: str, code: str) -> str | None:
    """What is wrong with the form of `code` in the system named `short`, or None."""
    if short == "loinc":
        match = _LOINC.fullmatch(code)
        if match is None:
            return "a LOINC code is up to seven digits, a hyphen and a check digit (38214-3)"
        expected = loinc_check_digit(match.group(1))
        if int(match.group(2)) != expected:
            return f"the LOINC check digit of {match.group(1)} is {expected}, not {match.group(2)}"
        return None
    if short == "icd10cm":
        if _ICD10CM.fullmatch(code) is None:
            return (
                "an ICD-10-CM code is a letter, two characters, and after a dot up to four more "
                "(M45, M53.2X8)"
            )
        return None
    if short == "cpt":
        if _CPT.fullmatch(code) is None:
            return "a CPT code is five characters (27279, 0775T), or a modifier of two digits"
        return None
    if short == "hcpcs":
        if _HCPCS.fullmatch(code) is None:
            return "a HCPCS code is a letter and four digits (G0260), or a modifier of two (LT)"
        return None
    if short == "snomed":
        if _SNOMED.fullmatch(code) is None:
            return "a SNOMED CT identifier is 6 to 18 digits, the first not 0"
        return None
    if short == "dicom":
        if _DICOM.fullmatch(code) is None:
            return "a DICOM code is capitals or digits (CT, MR)"
        return None
    if short == "sijfasp":
        if _PROJECT.fullmatch(code) is None:
            return "a sijfasp code is a name in lower case, parts joined by dots"
        return None
    raise ValueError(short)


def icd10cm_under(code: str, listed: str) -> bool:
    """`code` is `listed` or a code below it (`M45.6` under `M45`, `T84.218A` under `T84.21`)."""
    code, listed = code.upper(), listed.upper()
    if code == listed:
        return True
    if "." not in listed:
        return code.startswith(listed + ".")
    return code.startswith(listed)


def matches(system: str, code: str, coding: Coding) -> bool:
    """A code read from a document names this vocabulary coding (ICD-10-CM by category)."""
    system = canonical_system(system)
    if system != coding.system:
        return False
    if system == ICD10CM:
        return icd10cm_under(code, coding.code)
    return code == coding.code


def project_code(*parts: str) -> str:
    """The implicit project code of an item or value: its names joined by dots."""
    return ".".join(parts)


__all__ = [
    "CANONICAL_BASE",
    "PROJECT_SYSTEM",
    "SYSTEMS",
    "Coding",
    "canonical_system",
    "form_problem",
    "icd10cm_under",
    "loinc_check_digit",
    "matches",
    "project_code",
]
