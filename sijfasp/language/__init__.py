"""The policy language: text to a checked, compiled policy.

Owns the AST (`ast`), the parser and its grammar loading (`parser`, the only user of Lark), the
semantic checks and the vocabulary (`semantics`), a policy's own vocabulary extensions
(`extensions`), what a version may be written as (`version_syntax`), the compiler to ASP facts
with their metadata (`compiler`) and the canonical layout (`formatter`).

May import: `sijfasp.core`. Never clingo: the language knows the ASP program only as text.
"""
