"""Who is calling: a CDS Hooks client by its signed JWT, a PAS/DTR client by its bearer token.

A CDS Hooks request carries `Authorization: Bearer JWT`, signed by the client (RS256, RS384,
ES256, ES384, PS256 or EdDSA), whose `iss` names a configured client; the signature is checked
against that client's public key or JWKS file (by `kid`), then `aud` (the URL called), `exp`,
`iat` and `jti`: a JWT id seen before from the same issuer is a replay and refused. A PAS or
DTR request (and the reviewer's page) carries a bearer token whose SHA-256 a configured client
names. Every failure is one sentence, never the token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from .config import Client, Settings
from .store import Store

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384", "EdDSA"]
LEEWAY = 30  # seconds of clock difference allowed
MAX_LIFETIME = 3600  # a JWT valid for longer than this is refused


class Refused(Exception):
    """The request is not authenticated: the message says why, for a 401."""


def _bearer(headers: Any) -> str:
    value = headers.get("authorization")
    if not value:
        raise Refused("no Authorization header: send 'Authorization: Bearer TOKEN'")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("the Authorization header is not 'Bearer TOKEN'")
    return token.strip()


def bearer_client(settings: Settings, headers: Any, token: str | None = None) -> str:
    """The id of the bearer client whose token this is."""
    if not any(c.kind == "bearer" for c in settings.clients):
        raise Refused("no bearer client is configured on this server")
    token = token if token is not None else _bearer(headers)
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    for client in settings.clients:
        if (
            client.kind == "bearer"
            and client.token_sha256
            and hmac.compare_digest(client.token_sha256, digest)
        ):
            return client.id
    raise Refused("the bearer token is not one of a configured client")


def _key(client: Client, header: dict[str, Any]) -> Any:
    import jwt

    if client.public_key is not None:
        return client.public_key
    keys = (client.jwks or {}).get("keys", [])
    kid = header.get("kid")
    chosen = [k for k in keys if kid is None or k.get("kid") == kid]
    if not chosen:
        raise Refused(f"no key of client '{client.id}' has the JWT's kid")
    try:
        return jwt.PyJWK(chosen[0]).key
    except jwt.PyJWTError as error:
        raise Refused(f"the JWKS key of client '{client.id}' cannot be used: {error}") from None


def jwt_client(settings: Settings, store: Store, headers: Any, audiences: list[str]) -> str:
    """The id of the CDS Hooks client that signed the request's JWT."""
    import jwt

    clients = [c for c in settings.clients if c.kind == "jwt"]
    if not clients:
        raise Refused("no CDS Hooks (jwt) client is configured on this server")
    token = _bearer(headers)
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Refused("the bearer token is not a JWT") from None
    issuer = claims.get("iss")
    client = next((c for c in clients if c.issuer == issuer), None)
    if client is None:
        raise Refused("the JWT's issuer is not a configured client")
    if header.get("alg") not in ALGORITHMS:
        raise Refused(f"the JWT's algorithm is not one of {', '.join(ALGORITHMS)}")
    try:
        verified = jwt.decode(
            token,
            _key(client, header),
            algorithms=ALGORITHMS,
            audience=audiences,
            issuer=client.issuer,
            leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused("the JWT has expired") from None
    except jwt.InvalidAudienceError:
        raise Refused("the JWT's audience is not this service's URL") from None
    except jwt.MissingRequiredClaimError as error:
        raise Refused(f"the JWT has no '{error.claim}' claim") from None
    except jwt.InvalidSignatureError:
        raise Refused("the JWT's signature does not verify with the client's key") from None
    except jwt.PyJWTError as error:
        raise Refused(f"the JWT is not valid: {error}") from None
    expires = dt.datetime.fromtimestamp(int(verified["exp"]), dt.UTC)
    if int(verified["exp"]) - int(verified["iat"]) > MAX_LIFETIME:
        raise Refused(f"the JWT is valid for more than {MAX_LIFETIME} seconds")
    if store.seen_jwt(client.issuer or "", str(verified["jti"]), expires):
        raise Refused("the JWT's jti was used before (a replay)")
    return client.id


def start_message(settings: Settings) -> str | None:
    """What the start-up says when no client is configured (every call is then refused)."""
    if settings.dev or settings.clients:
        return None
    return (
        "no client is configured: every hook and operation is refused (401). Configure one "
        "in a config file (sijfasp serve --config serve.toml), e.g.\n"
        '  [[client]]\n  id = "pas-1"\n  kind = "bearer"\n'
        '  token_sha256 = "<printf %s TOKEN | sha256sum>"\n'
        'or a CDS Hooks client with kind = "jwt", issuer and public_key (docs/serve.md); '
        "or run with --dev on this machine alone."
    )


__all__ = ["Refused", "bearer_client", "jwt_client", "start_message"]
