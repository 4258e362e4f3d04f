"""Bounds on what one run reads and spends, with their defaults.

Every limit is documented in docs/cli.md and docs/case-format.md, with the option and the
environment variable that raise it. A case past a limit is refused with a message naming the
limit, exit status 2: never a wrong answer, never a run without end.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class Limits:
    # Bytes of one case file (or of standard input).
    max_file_bytes: int = 5_000_000
    # Records of all kinds together in one case.
    max_records: int = 5_000
    # Characters of any one text in a case: a key, a value or the id.
    max_string_length: int = 1_000
    # How far back a record may be dated, in years before the request date.
    max_record_years: int = 50
    # Seconds of wall-clock time one run may take (0: no limit).
    time_limit: float = 60.0
    # Bytes of address space the process may use, where the platform can bound it (0: no limit).
    memory_limit: int = 4 * GIB

    @property
    def max_values(self) -> int:
        """Values (mappings, lists, scalars) read from a YAML case before it is refused: a
        generous allowance per record, so that reading stops early on a flood of values."""
        return self.max_records * 30 + 10_000


DEFAULT_LIMITS = Limits()

# The case id: a short name, safe in a terminal, a file name and a Markdown heading.
MAX_ID_LENGTH = 128
ID_CHARACTERS = "ASCII letters, digits, and . _ - : / and space (not first or last)"

# Inputs longer than this get no did-you-mean hint (the comparison is quadratic).
MAX_SUGGEST_LENGTH = 64

# The option and environment variable that raise each limit, for messages and docs.
RAISE_WITH = {
    "max_file_bytes": ("--max-file-size", "SIJFASP_MAX_FILE_SIZE"),
    "max_records": ("--max-records", "SIJFASP_MAX_RECORDS"),
    "max_string_length": ("--max-string-length", "SIJFASP_MAX_STRING_LENGTH"),
    "max_record_years": ("--max-record-years", "SIJFASP_MAX_RECORD_YEARS"),
    "time_limit": ("--time-limit", "SIJFASP_TIME_LIMIT"),
    "memory_limit": ("--memory-limit", "SIJFASP_MEMORY_LIMIT"),
}


def too_complex(subject: str, seconds: float) -> str:
    """What a run or a case past the time limit is told (the start of the sentence)."""
    return f"the {subject} is too complex to finish within the time limit ({seconds:g} s)"


def raise_hint(name: str) -> str:
    option, variable = RAISE_WITH[name]
    return f"raise the limit with {option} or {variable}"


# Bytes of one policy or vocabulary file: the bundled ones are under 100 kB.
MAX_POLICY_BYTES = 5_000_000
