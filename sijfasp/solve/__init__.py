"""Solve: a case and a compiled policy to the model clingo finds.

Owns the ASP boundary (`atoms`: every predicate that crosses it, both ways), the case as input
atoms (`case_facts`), the encoding specialized to a policy (`prune`) and clingo itself
(`solver`: ground, solve, abduce). The hand-written meaning of the facts is
`sijfasp/encodings/policy.lp`, package data beside the stages.

May import: `sijfasp.cases`, `sijfasp.policies`, `sijfasp.language`, `sijfasp.core`, clingo.
"""
