"""The command line: `sijfasp COMMAND`, `python -m sijfasp`.

Owns argument parsing, running each command and its exit status (`commands`: `main(argv)`, and
`entry()` for the console script). A command imports the modules only it uses inside itself, for
a quick start. Later, one module per command group over a small shared core.

May import: everything. Nothing imports it but `sijfasp.__main__`.
"""
