"""What an incomplete order needs, in the letter's words, for the CRD card and the reason of
its coverage information: each criterion still open by its section and label, and what it
needs ("Document whether the compression test was positive or negative"), with how many of
its options are needed when there are several. The words of each option are the letter's
(render_letter), so the card, the reason and the letter say the same thing.
"""

from __future__ import annotations

from ..core import textsafe
from ..core.wording import lower_first
from ..results.render_letter import _letter_items  # the letter's words for one option
from ..results.render_needs import collapsed
from ..results.results import MissingGroup, MissingItem, PolicyResult
from .letter_html import plain_text

MAX_CRITERIA = 3  # criteria named in the reason; the card names them all
MAX_OPTIONS_IN_REASON = 3
MAX_OPTIONS_ON_CARD = 8
NOTHING_MORE = "nothing more is needed for this criterion"
_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def count_word(number: int) -> str:
    return _NUMBERS[number] if 0 <= number < len(_NUMBERS) else str(number)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _option(option: tuple[MissingItem, ...]) -> str:
    """One option as one phrase (Markdown, as the letter writes it), lower case first."""
    texts = _letter_items(option) or [NOTHING_MORE]
    return "; and ".join(lower_first(text) for text in texts)


def _how_many(group: MissingGroup, options: int) -> str:
    """How many of a criterion's options are needed, in words ("" for a single option)."""
    if options == 1 and group.choose == 1 and group.options_complete:
        return ""
    of = f"these {count_word(options)}" if group.options_complete else "these"
    if group.choose > 1:
        return f"any {count_word(group.choose)} of {of}"
    return f"one of {of}"


def _leaves(result: PolicyResult) -> list[MissingGroup]:
    return [leaf for top in result.grouped for leaf in top.leaves()]


def _where(result: PolicyResult, group: MissingGroup, with_policy: bool) -> str:
    cite = group.criterion
    if not with_policy and cite.startswith(result.cite):
        cite = cite[len(result.cite) :].strip()
    return f"{cite}, {lower_first(group.label)}" if group.label else cite


def card_lines(result: PolicyResult) -> list[str]:
    """Markdown list lines for the card's detail: each open criterion and what it needs."""
    lines: list[str] = []
    for group in _leaves(result):
        options = collapsed(group)
        where = textsafe.markdown(_where(result, group, with_policy=False))
        how = _how_many(group, len(options))
        if not how:
            lines.append(f"- {where}: {_capital(_option(options[0]))}.")
            continue
        lines.append(f"- {where}: {how}:")
        lines += [f"  - {_capital(_option(o))}" for o in options[:MAX_OPTIONS_ON_CARD]]
        hidden = len(options) - MAX_OPTIONS_ON_CARD
        if hidden > 0:
            lines.append(f"  - or one of {count_word(hidden)} other options (the questionnaire)")
        elif not group.options_complete:
            lines.append("  - or other documentation that meets this criterion")
    return lines


def reason_text(result: PolicyResult) -> str:
    """The coverage information's reason for an incomplete order: a short plain summary."""
    parts = []
    leaves = _leaves(result)
    for group in leaves[:MAX_CRITERIA]:
        options = collapsed(group)
        how = _how_many(group, len(options))
        words = [plain_text(_option(o)) for o in options[:MAX_OPTIONS_IN_REASON]]
        hidden = len(options) - MAX_OPTIONS_IN_REASON
        if hidden > 0:
            words.append(
                f"or {count_word(hidden)} other option{'s' if hidden > 1 else ''} "
                "(the questionnaire lists them)"
            )
        elif not group.options_complete:
            words.append("or other documentation that meets this criterion")
        listed = "; ".join(words)
        where = _where(result, group, with_policy=True)
        parts.append(f"{where}: {how}: {listed}" if how else f"{where}: {listed}")
    more = len(leaves) - MAX_CRITERIA
    tail = (
        f" And {count_word(more)} more criteria (the questionnaire lists them)." if more > 0 else ""
    )
    return "Documentation needed for " + ". For ".join(parts) + "." + tail


__all__ = ["card_lines", "reason_text"]
