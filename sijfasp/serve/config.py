"""The server's settings: a TOML file (`--config`), its clients, and the payer routes.

    [server]
    base_url = "https://pa.example.org"  # the JWT audience prefix (the URL clients call)
    max_body_bytes = 1_000_000           # larger request bodies: 413
    time_limit = 20                      # seconds one judgement may take: then 503
    workers = 2                          # judgements at once
    queue = 16                           # waiting beyond the workers: past this, 429

    [[client]]                           # a CDS Hooks client: a signed JWT
    id = "ehr-1"
    kind = "jwt"
    issuer = "https://ehr.example.org"
    public_key = "keys/ehr-1.pem"        # or jwks = "keys/ehr-1.jwks.json"

    [[client]]                           # a PAS / DTR client (and the page): a bearer token
    id = "pas-1"
    kind = "bearer"
    token_sha256 = "9f86d0..."           # the token's SHA-256 in hex: the token itself is not kept

    [[route]]                            # payer and line of business -> policies
    payer = "Organization/payer-1"       # Coverage.payor: reference, identifier value or display
    line_of_business = "medicaid"        # optional: given to the case (chooses versions)
    coverage_type = "MCPOL"              # optional: a Coverage.type code it must carry
    policies = ["caresource_sijf_2026"]

Routes may also be kept in `payers.toml` beside the policies (the policy folder): the routes of
both are used, the config file's first. Paths are relative to the file naming them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.diagnostics import Diagnostic, SijfaspError
from ..core.kinds import LineOfBusiness

ROUTES_FILE = "payers.toml"


@dataclass(frozen=True)
class Client:
    id: str
    kind: str  # "jwt" (CDS Hooks) or "bearer" (PAS, DTR, the page)
    issuer: str | None = None
    public_key: str | None = None  # PEM text
    jwks: dict[str, Any] | None = None
    token_sha256: str | None = None


@dataclass(frozen=True)
class Route:
    payer: str
    policies: tuple[str, ...]
    line_of_business: str | None = None
    coverage_type: str | None = None


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    policies: Path | None = None
    database: str = "sijfasp.db"
    dev: bool = False
    base_url: str | None = None
    max_body_bytes: int = 1_000_000
    time_limit: float = 20.0
    workers: int = 2
    queue: int = 16
    cache_mb: int = 32  # megabytes of hook requests whose judgements are kept (0: none)
    clients: tuple[Client, ...] = ()
    routes: tuple[Route, ...] = ()
    config_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _fail(file: str, path: str, message: str, hint: str | None = None) -> SijfaspError:
    return SijfaspError([Diagnostic("property", message, hint=hint, field_path=path, file=file)])


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _fail(str(path), "", f"cannot read the file: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise _fail(str(path), "", f"not a TOML file: {error}") from None


def _text(data: dict[str, Any], key: str, file: str, path: str, required: bool = True) -> Any:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(file, f"{path}.{key}", f"'{key}' must be a text", None)
    return value


def _client(data: Any, file: str, path: str, folder: Path) -> Client:
    if not isinstance(data, dict):
        raise _fail(file, path, "a client is a table ([[client]])")
    ident = _text(data, "id", file, path)
    kind = data.get("kind")
    if kind == "jwt":
        issuer = _text(data, "issuer", file, path)
        key_file = _text(data, "public_key", file, path, required=False)
        jwks_file = _text(data, "jwks", file, path, required=False)
        if (key_file is None) == (jwks_file is None):
            raise _fail(file, path, "a jwt client names one of 'public_key' or 'jwks'")
        try:
            if key_file is not None:
                return Client(ident, kind, issuer, (folder / key_file).read_text("utf-8"))
            import json

            jwks = json.loads((folder / jwks_file).read_text("utf-8"))
        except OSError as error:
            raise _fail(file, path, f"cannot read the key of client '{ident}': {error}") from None
        except ValueError as error:
            raise _fail(file, f"{path}.jwks", f"not a JWKS file: {error}") from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise _fail(file, f"{path}.jwks", "a JWKS file is an object with a 'keys' list")
        return Client(ident, kind, issuer, jwks=jwks)
    if kind == "bearer":
        digest = _text(data, "token_sha256", file, path).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise _fail(
                file,
                f"{path}.token_sha256",
                "'token_sha256' is the SHA-256 of the token, 64 hexadecimal digits",
                "e.g. printf %s TOKEN | sha256sum",
            )
        return Client(ident, kind, token_sha256=digest)
    raise _fail(file, f"{path}.kind", "a client's 'kind' is 'jwt' or 'bearer'")


def _routes(data: Any, file: str) -> list[Route]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise _fail(file, "route", "routes are tables ([[route]])")
    routes = []
    lines = [k.value for k in LineOfBusiness]
    for index, item in enumerate(data):
        path = f"route[{index}]"
        if not isinstance(item, dict):
            raise _fail(file, path, "a route is a table ([[route]])")
        payer = _text(item, "payer", file, path)
        policies = item.get("policies")
        if (
            not isinstance(policies, list)
            or not policies
            or not all(isinstance(p, str) for p in policies)
        ):
            raise _fail(file, f"{path}.policies", "'policies' is a list of policy ids")
        line = _text(item, "line_of_business", file, path, required=False)
        if line is not None and line not in lines:
            raise _fail(
                file,
                f"{path}.line_of_business",
                f"unknown line of business '{line}'",
                ", ".join(lines),
            )
        kind = _text(item, "coverage_type", file, path, required=False)
        routes.append(Route(payer, tuple(policies), line, kind))
    return routes


def _number(data: dict[str, Any], key: str, file: str, default: Any, kind: type) -> Any:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(file, f"server.{key}", f"'{key}' must be a positive number")
    return kind(value)


def _count(data: dict[str, Any], key: str, file: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(file, f"server.{key}", f"'{key}' must be a whole number, 0 or more")
    return value


def load(config: Path | None, settings: Settings) -> Settings:
    """The settings of the command line completed by the config file and the routes file
    beside the policies."""
    clients: list[Client] = []
    routes: list[Route] = []
    server: dict[str, Any] = {}
    if config is not None:
        data = _read_toml(config)
        file = str(config)
        server = data.get("server", {})
        if not isinstance(server, dict):
            raise _fail(file, "server", "[server] is a table")
        known = {"base_url", "max_body_bytes", "time_limit", "workers", "queue", "cache_mb"}
        for key in server:
            if key not in known:
                raise _fail(
                    file, f"server.{key}", f"unknown setting '{key}'", ", ".join(sorted(known))
                )
        raw_clients = data.get("client", [])
        if not isinstance(raw_clients, list):
            raise _fail(file, "client", "clients are tables ([[client]])")
        clients = [
            _client(item, file, f"client[{i}]", config.parent) for i, item in enumerate(raw_clients)
        ]
        routes = _routes(data.get("route"), file)
        settings = dataclasses.replace(
            settings,
            config_file=file,
            base_url=server.get("base_url", settings.base_url),
            max_body_bytes=_number(server, "max_body_bytes", file, settings.max_body_bytes, int),
            time_limit=_number(server, "time_limit", file, settings.time_limit, float),
            workers=_number(server, "workers", file, settings.workers, int),
            queue=_number(server, "queue", file, settings.queue, int),
            cache_mb=_count(server, "cache_mb", file, settings.cache_mb),
        )
    if settings.policies is not None and (settings.policies / ROUTES_FILE).is_file():
        routes_file = settings.policies / ROUTES_FILE
        routes += _routes(_read_toml(routes_file).get("route"), str(routes_file))
    return dataclasses.replace(settings, clients=tuple(clients), routes=tuple(routes))


__all__ = ["ROUTES_FILE", "Client", "Route", "Settings", "load"]
