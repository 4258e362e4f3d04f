"""What an incomplete order needs, in the letter's words, for the CRD card and the reason of
its coverage information: each criterion still open by its section and label, and what it
needs ("Document whether the compression test was positive or negative"), with how many of
its options are needed when there are several. The words of each option are the letter's
(render_letter), so the card, the reason and the letter say the same thing.
"""

from __future__ import annotations

from ..core import textsafe
from ..core.wording import lower_first, upper_first

# The letter's words: an option's items, and the request fields asked once at the top.
from ..results.render_letter import asked_first, for_request, letter_items
from ..results.render_needs import collapsed
from ..results.results import MissingGroup, MissingItem, PolicyResult
from .letter_html import plain_text

MAX_CRITERIA = 3  # criteria named in the reason
MAX_OPTIONS_IN_REASON = 3
MAX_CRITERIA_ON_CARD = 8
MAX_OPTIONS_ON_CARD = 5
NOTHING_MORE = "nothing more is needed for this criterion"
_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def count_word(number: int) -> str:
    return _NUMBERS[number] if 0 <= number < len(_NUMBERS) else str(number)


def _option(option: tuple[MissingItem, ...], first: dict[str, MissingItem]) -> str:
    """One option as one phrase (Markdown, as the letter writes it), lower case first; a
    request field asked once at the top is left out, the option saying which kind of request
    it is for ("for a bilateral request, send ...")."""
    prefix = for_request([i for i in option if i.fact in first])
    texts = letter_items(tuple(i for i in option if i.fact not in first)) or [NOTHING_MORE]
    return lower_first(prefix) + "; and ".join(lower_first(text) for text in texts)


def option_words(option: tuple[MissingItem, ...]) -> str:
    """One minimal set of missing documentation as the letter asks for it (Markdown)."""
    return upper_first(_option(option, {}))


def _first(result: PolicyResult) -> tuple[dict[str, MissingItem], str]:
    """The request fields every option of two or more criteria needs (the side of the
    fusion), asked once before the criteria, as the letter asks them; and that ask (Markdown)."""
    first = asked_first((result,))
    asks = [textsafe.markdown(item.prompt.rstrip(". ")) for item in first.values()]
    return first, "; ".join(asks)


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
    first, ask = _first(result)
    lines = [f"- First: {ask}."] if ask else []
    leaves = _leaves(result)
    for group in leaves[:MAX_CRITERIA_ON_CARD]:
        options = collapsed(group)
        where = textsafe.markdown(_where(result, group, with_policy=False))
        how = _how_many(group, len(options))
        if not how:
            lines.append(f"- {where}: {upper_first(_option(options[0], first))}.")
            continue
        lines.append(f"- {where}: {how}:")
        lines += [f"  - {upper_first(_option(o, first))}" for o in options[:MAX_OPTIONS_ON_CARD]]
        lines += _more_options(group, len(options) - MAX_OPTIONS_ON_CARD, "  - ")
    hidden = len(leaves) - MAX_CRITERIA_ON_CARD
    if hidden > 0:
        lines.append(f"- And {count_word(hidden)} more criteria: the questionnaire asks for them.")
    return lines


def _more_options(group: MissingGroup, hidden: int, bullet: str) -> list[str]:
    if hidden > 0:
        options = f"{count_word(hidden)} other options" if hidden > 1 else "one other option"
        them = "them" if hidden > 1 else "it"
        return [f"{bullet}or {options} (the questionnaire lists {them})"]
    if not group.options_complete:
        return [f"{bullet}or other documentation that meets this criterion"]
    return []


def reason_text(result: PolicyResult) -> str:
    """The coverage information's reason for an incomplete order: a short plain summary."""
    first, ask = _first(result)
    parts = []
    leaves = _leaves(result)
    for group in leaves[:MAX_CRITERIA]:
        options = collapsed(group)
        how = _how_many(group, len(options))
        words = [plain_text(_option(o, first)) for o in options[:MAX_OPTIONS_IN_REASON]]
        words += _more_options(group, len(options) - MAX_OPTIONS_IN_REASON, "")
        listed = "; ".join(words)
        where = _where(result, group, with_policy=True)
        parts.append(f"{where}: {how}: {listed}" if how else f"{where}: {listed}")
    more = len(leaves) - MAX_CRITERIA
    tail = (
        f" And {count_word(more)} more criteria (the questionnaire lists them)." if more > 0 else ""
    )
    head = f"{upper_first(plain_text(ask))}. " if ask else ""
    return head + "Documentation needed for " + ". For ".join(parts) + "." + tail


__all__ = ["card_lines", "option_words", "reason_text"]
