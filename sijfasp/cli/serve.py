"""`serve`: the HTTP service (sijfasp/serve/, the optional `serve` extra, imported by this command
alone)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import policies_option


def serve_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    sub.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    policies_option(sub)
    sub.add_argument(
        "--db",
        default="sijfasp.db",
        metavar="PATH|URL",
        help="SQLite file (created on first start) or postgresql:// URL (default sijfasp.db)",
    )
    sub.add_argument(
        "--config", type=Path, metavar="FILE", help="the server's TOML file: clients, routes"
    )
    sub.add_argument(
        "--dev",
        action="store_true",
        help="no authentication, on 127.0.0.1 only: for trying it on this machine",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    # The server is the optional `serve` extra: imported by this command alone.
    from ..serve.command import serve

    return serve(args.host, args.port, args.policies, args.db, args.config, args.dev)
