"""Cases: the bytes of a case file to a validated `Case`.

Owns reading YAML and JSON (`reader`, the only user of PyYAML for cases), validating into a
`Case` of plain data (`case`), and reading a case with the vocabulary of the policies that judge
it, which are the policies of the payer it names (`vocabulary`).

May import: `sijfasp.policies`, `sijfasp.language`, `sijfasp.core`. A new input format (FHIR,
say) is an adapter above this stage that produces the same `Case`.
"""
