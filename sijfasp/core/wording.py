"""Small rules of wording shared by the stages that write for people: articles, value names
in words, labels inside sentences, and section references in document order. No imports."""

from __future__ import annotations

import re

# Value names a letter spells as a clinician would; any other name reads with spaces for `_`.
ABBREVIATIONS = {
    "ct": "CT",
    "mri": "MRI",
    "xray": "X-ray",
    "sij": "SIJ",
    "fda": "FDA",
    "hep": "HEP",
    "tens": "TENS",
    "ia": "intra-articular",
    "l5": "L5",
    "nsaid": "NSAID",
}


def plain_words(name: str) -> str:
    """A vocabulary value name in words: `lumbar_spine` reads "lumbar spine", `mri` "MRI"."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in name.split("_") if word)


def value_words(value: str, kind: str, unit: str | None = None, scale: str | None = None) -> str:
    """A documented value in words with its unit: yes / no, "7/10" (points on a scale from 0 to
    `scale` 10), "80%", "14 months", "left", "lumbar spine"."""
    if kind == "bool":
        return {"true": "yes", "false": "no"}.get(value, value)
    if kind == "number":
        if unit == "points" and scale == "10":
            return f"{value}/10"
        if unit == "%":
            return f"{value}%"
        return f"{value} {unit}" if unit else value
    if kind == "set":
        return ", ".join(plain_words(v.strip()) for v in value.strip("[]").split(",")) or "none"
    return plain_words(value)


# Letters whose name starts with a vowel sound, for an abbreviation read letter by letter.
_VOWEL_LETTER_NAMES = set("AEFHILMNORSX")


def article(phrase: str) -> str:
    """`phrase` with "a" or "an" before it: an injection, an MRI, an SIJ CT, a CT, a hip film."""
    word = phrase.split(" ", 1)[0].strip("(\"'")
    if not word:
        return phrase
    letters = word.split("-", 1)[0]
    if letters.isupper() and (len(letters) > 1 or "-" in word):  # read letter by letter
        vowel = letters[0] in _VOWEL_LETTER_NAMES
    else:
        vowel = word[0].lower() in "aeiou" and not word.lower().startswith(("uni", "use", "one"))
    return ("an " if vowel else "a ") + phrase


def plural(number: int, word: str) -> str:
    """A count in words: "1 day", "2 days"."""
    return f"{number} {word}" + ("" if number == 1 else "s")


def upper_first(text: str) -> str:
    """A phrase starting a sentence or a list item: its first letter in upper case."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """A label inside a sentence: "SIJ MRI ..." stays, "Image-guided ..." becomes lower case."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[1].isupper() or first[1].isdigit()):
        return text
    return text[:1].lower() + text[1:]


def section_key(cite: str) -> list[tuple[int, int | str]]:
    """A section reference's sort key in document order: D.I.B.3 before D.I.B.10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", cite)]


__all__ = [
    "ABBREVIATIONS",
    "article",
    "lower_first",
    "plain_words",
    "section_key",
    "value_words",
]
