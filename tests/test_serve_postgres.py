"""`sijfasp serve` on PostgreSQL: a throwaway cluster on a loopback port, two servers sharing it.

The cluster is made with the system's PostgreSQL (`apt-get install postgresql`; .ci/run installs
it); the test skips, saying why, where there is none or psycopg is not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("cryptography")

from serve_support import FHIR, bearer, free_port, start, write_config

pytestmark = pytest.mark.slow
PUBLIC = "https://pa.test"
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _as_owner(command: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if user else command


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip(
        "psycopg", reason="psycopg is not installed (pip install 'sijfasp[postgres]')"
    )
    if not BINARIES:
        pytest.skip(
            "PostgreSQL is not installed (apt-get install -y postgresql; .ci/run installs it)"
        )
    bin_dir = Path(BINARIES[-1])
    user = None
    folder = Path(tempfile.mkdtemp(prefix="sijfasp-pg-", dir="/tmp"))
    if os.geteuid() == 0:  # the server refuses to run as root: the postgres account runs it
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = free_port()
    data = folder / "data"
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "sijfasp"], user),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on"
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ],
            user,
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        subprocess.run(
            _as_owner(
                [
                    str(bin_dir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "sijfasp",
                    "sijfasp",
                ],
                user,
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql://sijfasp@127.0.0.1:{port}/sijfasp"
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user),
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_two_servers_share_one_postgresql_database(postgres, tmp_path):
    import json

    config, key = write_config(tmp_path, extra=f'base_url = "{PUBLIC}"\n')
    first = start(tmp_path, config=config, key=key, database=postgres)
    second = start(tmp_path, config=config, key=key, database=postgres)
    try:
        claim = json.loads((FHIR / "odi_missing.json").read_text())
        claim["entry"][0]["resource"]["identifier"][0]["value"] = f"pg-{time.time_ns()}"
        with first.client() as a, second.client() as b:
            submitted = a.post("/Claim/$submit", json=claim, headers=bearer())
            assert submitted.status_code == 200, submitted.text
            again = b.post("/Claim/$submit", json=claim, headers=bearer())
            assert again.json() == submitted.json()  # idempotent across processes
            claim["entry"][0]["resource"]["created"] = "2026-07-16"
            newer = b.post("/Claim/$submit", json=claim, headers=bearer())
            assert newer.headers["X-Claim-Version"] == "2"
            inquiry = a.post("/Claim/$inquire", json=claim, headers=bearer())
            assert inquiry.status_code == 200
            assert inquiry.json() == newer.json()
            # A JWT used at one process is a replay at the other.
            hook = json.loads((FHIR / "hooks" / "approvable.order-sign.json").read_text())
            path = "/cds-services/sijfasp-order-sign"
            token = first.jwt(path, aud=PUBLIC + path)  # both serve the public URL
            auth = {"Authorization": f"Bearer {token}"}
            assert a.post(path, json=hook, headers=auth).status_code == 200
            replay = b.post(path, json=hook, headers=auth)
            assert replay.status_code == 401
            assert "replay" in replay.json()["issue"][0]["diagnostics"]
    finally:
        first.stop()
        second.stop()
    import psycopg

    with psycopg.connect(postgres) as db:
        assert db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == 1
        rows = db.execute(
            "SELECT version, first_request_id FROM claims WHERE claim_key LIKE %s ORDER BY version",
            ("%|" + claim["entry"][0]["resource"]["identifier"][0]["value"],),
        ).fetchall()
    assert [r[0] for r in rows] == [1, 2] and rows[0][1] == rows[1][1]
