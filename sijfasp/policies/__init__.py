"""Policies: which policy files a run uses, in which version, loaded.

Owns finding the policy set (`policy_set`, no clingo), a loaded policy (`loaded`), reading,
checking and compiling a policy file or the bundle (`loading`), the versions in effect on a date
for a plan (`versions`), and the cache of loaded policies between runs (`cache`).

May import: `sijfasp.language`, `sijfasp.core`. `loading` imports the language's parser,
checks and compiler only to load a policy afresh, never for one that comes from the cache.
"""
