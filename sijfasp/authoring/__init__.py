"""Authoring: tools for the people who write policies.

Owns the lint that proves over every case (`prove`), policy test files and their coverage
(`policytests`), the semantic diff of two policies (`semdiff`), its witness cases (`witness`)
and their rendering (`diff_render`), and the language server (`lsp`, the only user of pygls).

May import: `sijfasp.api` and every stage below it. Nothing below imports it.
"""
