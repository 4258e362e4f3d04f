"""Results: what the model says, named and ordered, and shown.

Owns the results model (`results`: frozen data, imports only `sijfasp.core.kinds`), the reading
of a model into criteria, exclusions and advisories (`explain`), the minimal sets of missing
documentation (`missing`) and the text, JSON and Markdown output (`render`, which reads only the
results model, `kinds`, `textsafe` and `wording`).

May import: `sijfasp.solve`, `sijfasp.cases`, `sijfasp.policies`, `sijfasp.language`,
`sijfasp.core`. Never the parser: results come from compiled policies and models.
"""
