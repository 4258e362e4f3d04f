"""Missing documentation in words, for text and letters: an option's items as phrases (the
records added for one criterion read as one), the undocumented fields of documented records as
one question each, and a group's options as a letter lists them (`collapsed`).
"""

from __future__ import annotations

from ..core.wording import lower_first
from .results import MissingGroup, MissingItem


def _phrases(option: tuple[MissingItem, ...], more: str = "more") -> list[tuple[MissingItem, str]]:
    """Each item of an option in words; the records added for one criterion read as one."""
    # Keyed by the records too: a record of the set another is ordered against, asked for the
    # same criterion, is its own phrase.
    runs: dict[tuple[str, str], list[MissingItem]] = {}
    for item in option:
        if item.records is not None:
            runs.setdefault((item.criterion_id, item.records), []).append(item)
    phrases: list[tuple[MissingItem, str]] = []
    asks = [item for item in option if item.on_record is not None]
    if asks:
        phrases += [(asks[0], lower_first(text)) for text in record_asks_text(asks)]
    for item in option:
        if item.on_record is not None:
            continue
        if item.records is None:
            phrases.append((item, item.plain or item.need))
        elif runs[(item.criterion_id, item.records)][0] is item:
            run = runs[(item.criterion_id, item.records)]
            noun = item.fact if len(run) == 1 else f"{item.fact} records"
            what = item.records if len(run) > 1 else item.records.replace(", each on", ", on")
            phrases.append((item, f"{count_word(len(run))} {more} {noun}: {what}"))
    return phrases


def needs_text(option: tuple[MissingItem, ...], more: str = "more") -> str:
    return " AND ".join(phrase for _, phrase in _phrases(option, more))


def count_word(number: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(number, str(number))


def _ask_key(item: MissingItem) -> str:
    """What an item asks: a field of a documented record is asked once, whatever its value."""
    ask = item.on_record
    return f"{ask.record} {ask.field}" if ask is not None else item.key


def collapsed(group: MissingGroup) -> tuple[tuple[MissingItem, ...], ...]:
    """A group's options as a letter lists them: a record's undocumented field is one item,
    not one per value that would serve, and the options it made differ only by are one.
    Options that fill in some of those fields and add records besides are left out when the
    fields alone are an option: the office documents what it has, or sends the records."""
    if group.choose != 1:
        return group.options
    unique: dict[frozenset[str], tuple[MissingItem, ...]] = {}
    for option in group.options:
        kept: dict[str, MissingItem] = {}
        for item in option:
            kept.setdefault(_ask_key(item), item)
        unique.setdefault(frozenset(kept), tuple(kept.values()))
    record_keys = {
        _ask_key(i) for option in unique.values() for i in option if i.on_record is not None
    }
    fields_only = [keys for keys in unique if keys and keys <= record_keys]
    covered = frozenset().union(*fields_only) if fields_only else frozenset()
    return tuple(
        option
        for keys, option in unique.items()
        if not (keys & record_keys and not keys <= record_keys and keys & record_keys <= covered)
    )


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _many(noun: str) -> str:
    """A record's noun, several of them: "diagnostic injections", "X-rays of the hip"."""
    head, of, rest = noun.partition(" of ")
    if of:
        return f"{_many(head)} of {rest}"
    last = noun.rsplit(" ", 1)[-1]
    if last.endswith("y") and not last.endswith(("ay", "ey", "oy")):
        return noun[:-1] + "ies"
    return noun + "s"


def record_asks_text(items: list[MissingItem]) -> list[str]:
    """The fields of documented records to fill in, one sentence per question: "Document the
    side of the joint injected (left, right or both joints) for the diagnostic injections of
    2026-04-01 and 2026-05-06"."""
    questions: dict[tuple[str, str], dict[str, list[str]]] = {}
    for item in items:
        ask = item.on_record
        if ask is None:
            continue
        dates = questions.setdefault((ask.question, ask.choices), {}).setdefault(ask.noun, [])
        if ask.date not in dates:
            dates.append(ask.date)
    texts = []
    for (question, choices), nouns in questions.items():
        records = _and(
            [
                f"the {noun if len(dates) == 1 else _many(noun)}"
                + (f" of {_and(dates)}" if any(dates) else "")
                for noun, dates in nouns.items()
            ]
        )
        texts.append(f"{question}" + (f" ({choices})" if choices else "") + f" for {records}")
    return texts
