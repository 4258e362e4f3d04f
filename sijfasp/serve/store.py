"""The database: every request, its decision, the policy version and content hash, the coverage
assertion; the claims by identifier and version; the JWT ids seen.

SQLite by default (one file, created on first start, write-ahead log, each request committed
before it is answered, `synchronous=FULL`), or PostgreSQL by URL (`postgresql://...`, with the
`postgres` extra's psycopg): the same schema. The table `schema_migrations` records which
migrations ran; each runs once, in order, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


def json_default(value: Any) -> Any:
    """What `json.dumps` writes for a value JSON has no type for: a number read exactly (a
    Decimal) as a JSON number, a date as ISO text, anything else as text. The server writes
    every answer, stored or sent, with it: `"valueDecimal": 14`, never `"14"`."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# Each migration: a list of statements, portable between SQLite and PostgreSQL.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            client TEXT,
            endpoint TEXT NOT NULL,
            body_sha256 TEXT NOT NULL,
            body TEXT NOT NULL,
            status INTEGER NOT NULL,
            response TEXT NOT NULL,
            case_id TEXT,
            replay_of TEXT
        )""",
        """CREATE TABLE decisions (
            id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL REFERENCES requests(id),
            policy_id TEXT NOT NULL,
            policy_version TEXT NOT NULL,
            policy_sha256 TEXT NOT NULL,
            determination TEXT NOT NULL,
            coverage_assertion_id TEXT,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX decisions_request ON decisions(request_id)",
        "CREATE UNIQUE INDEX decisions_assertion ON decisions(coverage_assertion_id)",
        """CREATE TABLE claims (
            claim_key TEXT NOT NULL,
            version INTEGER NOT NULL,
            body_sha256 TEXT NOT NULL,
            request_id TEXT NOT NULL REFERENCES requests(id),
            first_request_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (claim_key, version),
            UNIQUE (claim_key, body_sha256)
        )""",
        """CREATE TABLE cases (
            url TEXT PRIMARY KEY,
            policy_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            case_json TEXT NOT NULL
        )""",
        """CREATE TABLE seen_jwt (
            issuer TEXT NOT NULL,
            jti TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (issuer, jti)
        )""",
    ),
)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Decision:
    policy_id: str
    policy_version: str
    policy_sha256: str
    determination: str
    coverage_assertion_id: str | None


class Duplicate(Exception):
    """A row another request wrote first (a claim version, a JWT id)."""


class Store:
    """One connection per thread (SQLite) or a connection per call (PostgreSQL)."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._lock = threading.Lock()
        with self.transaction() as db:
            self._migrate(db)

    # ------------------------------------------------------------ connections
    def _connect(self) -> Any:
        if self.postgres:
            import importlib

            psycopg = importlib.import_module("psycopg")  # the `postgres` extra
            return psycopg.connect(self.url)
        connection = sqlite3.connect(self.url, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        """A transaction, committed when the block ends, rolled back when it raises."""
        if self.postgres:
            with self._connect() as connection:  # commits on leaving, rolls back on error
                yield _Cursor(connection, True)
            return
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield _Cursor(connection, False)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _migrate(self, db: _Cursor) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in db.query("SELECT version FROM schema_migrations")}
        for number, statements in enumerate(MIGRATIONS, start=1):
            if number in done:
                continue
            for statement in statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (number, now())
            )

    def schema_version(self) -> int:
        with self.transaction() as db:
            rows = db.query("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    # ------------------------------------------------------------ writes
    def record(
        self,
        request_id: str,
        client: str | None,
        endpoint: str,
        body_sha256: str,
        body: str,
        status: int,
        response: Any,
        case_id: str | None = None,
        decisions: list[Decision] = (),  # type: ignore[assignment]
        claim_key: str | None = None,
        cases: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    ) -> tuple[str, Any, int] | None:
        """Store a request, its decisions, its claim version and the cases of its adaptive
        questionnaires, in one transaction. For a claim already stored with the same body, store
        the request as a replay and return the first answer (request id, response, status)."""
        stamp = now()
        text = json.dumps(response, ensure_ascii=False, separators=(",", ":"), default=json_default)
        with self.transaction() as db:
            if claim_key is not None:
                same = db.query(
                    "SELECT r.id, r.response, r.status FROM claims c JOIN requests r "
                    "ON r.id = c.request_id WHERE c.claim_key = ? AND c.body_sha256 = ?",
                    (claim_key, body_sha256),
                )
                if same:
                    db.execute(
                        "INSERT INTO requests (id, received_at, client, endpoint, body_sha256, "
                        "body, status, response, case_id, replay_of) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (request_id, stamp, client, endpoint, body_sha256, "", same[0][2],
                         "", case_id, same[0][0]),
                    )  # fmt: skip
                    return same[0][0], json.loads(same[0][1]), int(same[0][2])
            db.execute(
                "INSERT INTO requests (id, received_at, client, endpoint, body_sha256, body, "
                "status, response, case_id, replay_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (request_id, stamp, client, endpoint, body_sha256, body, status, text, case_id),
            )
            for number, decision in enumerate(decisions):
                db.execute(
                    "INSERT INTO decisions (id, request_id, policy_id, policy_version, "
                    "policy_sha256, determination, coverage_assertion_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (f"{request_id}-{number}", request_id, decision.policy_id,
                     decision.policy_version, decision.policy_sha256, decision.determination,
                     decision.coverage_assertion_id, stamp),
                )  # fmt: skip
            if claim_key is not None:
                rows = db.query(
                    "SELECT version, first_request_id FROM claims WHERE claim_key = ? "
                    "ORDER BY version",
                    (claim_key,),
                )
                version = rows[-1][0] + 1 if rows else 1
                first = rows[0][1] if rows else request_id
                db.execute(
                    "INSERT INTO claims (claim_key, version, body_sha256, request_id, "
                    "first_request_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (claim_key, version, body_sha256, request_id, first, stamp),
                )
            for url, policy_id, case_json in cases:
                db.execute("DELETE FROM cases WHERE url = ?", (url,))
                db.execute(
                    "INSERT INTO cases (url, policy_id, request_id, case_json) VALUES (?, ?, ?, ?)",
                    (url, policy_id, request_id, case_json),
                )
        return None

    def seen_jwt(self, issuer: str, jti: str, expires: dt.datetime) -> bool:
        """Record a JWT id; True when it was seen before (a replay)."""
        try:
            with self.transaction() as db:
                db.execute("DELETE FROM seen_jwt WHERE expires_at < ?", (now(),))
                if db.query("SELECT 1 FROM seen_jwt WHERE issuer = ? AND jti = ?", (issuer, jti)):
                    return True
                db.execute(
                    "INSERT INTO seen_jwt (issuer, jti, expires_at) VALUES (?, ?, ?)",
                    (issuer, jti, expires.isoformat(timespec="microseconds")),
                )
        except Exception as error:  # a concurrent insert of the same id
            if "UNIQUE" in str(error).upper() or "DUPLICATE" in str(error).upper():
                return True
            raise
        return False

    # ------------------------------------------------------------ reads
    def claim(self, claim_key: str) -> list[dict[str, Any]]:
        """The versions of a claim, oldest first, each with its answer."""
        with self.transaction() as db:
            rows = db.query(
                "SELECT c.version, c.request_id, c.first_request_id, c.created_at, r.response "
                "FROM claims c JOIN requests r ON r.id = c.request_id "
                "WHERE c.claim_key = ? ORDER BY c.version",
                (claim_key,),
            )
        return [
            {
                "version": row[0],
                "request_id": row[1],
                "first_request_id": row[2],
                "created_at": row[3],
                "response": json.loads(row[4]),
            }
            for row in rows
        ]

    def request(self, request_id: str) -> dict[str, Any] | None:
        with self.transaction() as db:
            rows = db.query(
                "SELECT id, received_at, client, endpoint, body, status, response, case_id, "
                "replay_of FROM requests WHERE id = ?",
                (request_id,),
            )
            if not rows:
                return None
            decisions = db.query(
                "SELECT policy_id, policy_version, policy_sha256, determination, "
                "coverage_assertion_id FROM decisions WHERE request_id = ? ORDER BY id",
                (request_id,),
            )
        row = rows[0]
        return {
            "id": row[0],
            "received_at": row[1],
            "client": row[2],
            "endpoint": row[3],
            "body": row[4],
            "status": row[5],
            "response": json.loads(row[6]) if row[6] else None,
            "case_id": row[7],
            "replay_of": row[8],
            "decisions": [Decision(*d) for d in decisions],
        }

    def case(self, url: str) -> tuple[str, str] | None:
        """The raw case (JSON) and policy id behind an adaptive questionnaire's URL."""
        with self.transaction() as db:
            rows = db.query("SELECT policy_id, case_json FROM cases WHERE url = ?", (url,))
        return (rows[0][0], rows[0][1]) if rows else None

    def assertion(self, assertion_id: str) -> tuple[str, str] | None:
        """The request id and policy id of a coverage assertion."""
        with self.transaction() as db:
            rows = db.query(
                "SELECT request_id, policy_id FROM decisions WHERE coverage_assertion_id = ?",
                (assertion_id,),
            )
        return (rows[0][0], rows[0][1]) if rows else None

    def counts(self) -> dict[str, int]:
        with self.transaction() as db:
            return {
                table: int(db.query(f"SELECT COUNT(*) FROM {table}")[0][0])
                for table in ("requests", "decisions", "claims", "cases")
            }

    def recent(self, limit: int = 20) -> list[tuple[str, str, str]]:
        """The latest stored requests: id, time, endpoint."""
        with self.transaction() as db:
            rows = db.query(
                "SELECT id, received_at, endpoint FROM requests WHERE replay_of IS NULL "
                "ORDER BY received_at DESC LIMIT ?",
                (limit,),
            )
        return [(r[0], r[1], r[2]) for r in rows]


class _Cursor:
    """`?` placeholders on both databases (PostgreSQL's `%s` written for it)."""

    def __init__(self, connection: Any, postgres: bool):
        self.connection = connection
        self.postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        self.connection.execute(self._sql(sql), parameters)

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self.connection.execute(self._sql(sql), parameters).fetchall())


__all__ = ["MIGRATIONS", "Decision", "Duplicate", "Store"]
