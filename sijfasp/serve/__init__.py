"""`sijfasp serve`: the prior-authorization exchange over HTTP, with a reviewer's page.

An ASGI application (Starlette, run by uvicorn) serving Da Vinci CRD (CDS Hooks order-sign and
order-select), DTR (`$questionnaire-package`, `$next-question`) and PAS (`Claim/$submit`,
`Claim/$inquire`) over the FHIR package (`sijfasp/fhir/`), storing every request and decision
in SQLite or PostgreSQL, and a page for reviewers and policy authors at `/`.

- `config.py`: the server's settings, its clients and the payer routes (TOML files).
- `auth.py`: signed JWTs of CDS Hooks clients, bearer tokens of PAS/DTR clients.
- `store.py`: the database, its schema and migrations.
- `engine.py`: judging a request with the loaded policies, and the CRD response.
- `page.py` and `static/`: the reviewer's page (HTML rendered on the server, no CDN).
- `app.py`: the routes, limits, errors as FHIR OperationOutcomes, JSON logs.

This package imports the core stages and `sijfasp/fhir/`; nothing else imports it, and the
command line imports it inside `sijfasp serve` alone. It needs the optional `serve` extra.
"""

from __future__ import annotations

INSTALL_LINE = 'pip install "sijfasp[serve]"'

__all__ = ["INSTALL_LINE"]
