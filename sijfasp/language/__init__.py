"""The policy language: text to a checked, compiled policy.

Owns the AST (`ast`); the parser (`parser`, over `grammar`, `syntax_errors` and `to_ast`, the
only users of Lark); the semantic checks (`semantics`, over `vocabulary_checks`,
`expression_checks`, `references`, `narrowing` and `declarations`) and the checked models
(`checked`); a policy's own vocabulary extensions (`extensions`); what a version may be written
as (`version_syntax`); the compiler to ASP facts (`compiler`, over `compile_records`,
`compile_criteria`, `subsumption`, `candidates`, `condition_text` and `program_builder`) and what
it hands on (`compiled`); and the canonical layout (`formatter`).

May import: `sijfasp.core`. Never clingo: the language knows the ASP program only as text.
"""
