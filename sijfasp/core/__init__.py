"""Core: what every stage shares, and nothing of any stage.

Owns the closed sets (`kinds`: determinations, statuses, node kinds, operators, as `StrEnum`s),
the code systems a vocabulary's `code` clauses name (`codings`),
numbers and dates as ASP integers (`units`), source text and spans (`source`), diagnostics and
`SijfaspError` (`diagnostics`), input limits (`limits`), escaping of user text for the terminal
and Markdown (`textsafe`), words for people (`wording`), where the grammar, the bundled policies
and the encodings are (`resources`), the user's cache folder (`user_cache`), the cached code
of data classes (`dataclass_code`) and option values the command line and the batch read alike
(`arguments`).

May import: the standard library, and other core modules. No stage, no clingo, no Lark.
"""
