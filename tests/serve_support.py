"""The real server as a subprocess on a free loopback port, for the tests of `sijfasp serve`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies_asp"
FHIR = ROOT / "examples" / "fhir"
TOKEN = "pas-token-of-the-tests"
ISSUER = "https://ehr.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    private_key: object | None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def jwt(self, path: str, **claims: object) -> str:
        import jwt

        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": self.url + path,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": "k1"})

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def write_config(folder: Path, clients: bool = True, extra: str = "") -> tuple[Path, object]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (folder / "ehr.pem").write_bytes(pem)
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    text = "[server]\nworkers = 2\nqueue = 8\n" + extra
    if clients:
        text += (
            f'\n[[client]]\nid = "ehr-1"\nkind = "jwt"\nissuer = "{ISSUER}"\n'
            'public_key = "ehr.pem"\n'
            f'\n[[client]]\nid = "pas-1"\nkind = "bearer"\ntoken_sha256 = "{digest}"\n'
        )
    config = folder / "serve.toml"
    config.write_text(text)
    return config, key


def start(
    folder: Path,
    *arguments: str,
    config: Path | None = None,
    key: object | None = None,
    database: Path | None = None,
    policies: Path = POLICIES,
) -> Server:
    port = free_port()
    log = folder / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "sijfasp",
        "serve",
        "--port",
        str(port),
        "--policies",
        str(policies),
        "--db",
        str(database or folder / "serve.db"),
        *(["--config", str(config)] if config else []),
        *arguments,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIJFASP_")}
    handle = log.open("wb")
    process = subprocess.Popen(
        command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=folder
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the server stopped: " + log.read_text())
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Server(url, process, log, key)
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start: " + log.read_text())


@contextlib.contextmanager
def running(folder: Path, *arguments: str, clients: bool = True) -> Iterator[Server]:
    config, key = write_config(folder, clients)
    server = start(folder, *arguments, config=config, key=key)
    try:
        yield server
    finally:
        server.stop()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
