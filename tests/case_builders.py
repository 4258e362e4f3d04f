"""Case builders shared by the criteria tests of both policies.

Each builder returns a function that makes a fresh case from the fully documented example with
one documented change, so a parametrize table can hold it.
"""

from __future__ import annotations

import support as s


# ------------------------------------------------------------------ record selectors
def kind(name):
    return lambda r: r.get("kind") == name


def purpose(name):
    return lambda r: r.get("purpose") == name


def imaging(modality, region):
    return lambda r: r.get("modality") == modality and r.get("region") == region


# ------------------------------------------------------------------ case builders
def base():
    return s.base_case()


def findings(**values):
    return lambda: s.with_findings(s.base_case(), **values)


def drop(*names):
    return lambda: s.without_findings(s.base_case(), *names)


def drop_records(kind_name, where=None):
    return lambda: s.without_records(s.base_case(), kind_name, where)


def change_records(kind_name, where, **values):
    return lambda: s.update_records(s.base_case(), kind_name, where, **values)


def all_of(*changes):
    def build():
        case = s.base_case()
        for change in changes:
            case = change(case)
        return case

    return build


def home_program(**flags):
    """The physical therapy course replaced by a home exercise program with these flags."""

    def build():
        return s.update_records(
            s.base_case(),
            "therapy",
            kind("physical_therapy"),
            kind="home_exercise_program",
            **flags,
        )

    return build


# ------------------------------------------------------------------ expected item keys
def g(fact, value):
    return f"guess({fact},{value})"


def one(*item_keys):
    return frozenset(item_keys)
