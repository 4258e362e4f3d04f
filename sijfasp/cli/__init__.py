"""The command line: `sijfasp COMMAND`, `python -m sijfasp`.

Owns argument parsing, running each command and its exit status: `main` (`main(argv)`, and
`entry()` for the console script) assembles the parser from one module per command group
(`judge`: check, explain, missing; `author`: policies, compile, lint, fmt, test, diff; `fhir`:
questionnaire and FHIR cases; `batch`; `lsp`; `serve`) over `common` (exit statuses, shared
options, the policies of a run, output and errors, the watchdog). A command imports the modules
only it uses inside itself, for a quick start.

May import: everything. Nothing imports it but `sijfasp.__main__`.
"""
