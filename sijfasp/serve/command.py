"""`sijfasp serve`: load the policies, open the database, run uvicorn until Ctrl-C."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
from pathlib import Path

from ..core.diagnostics import Diagnostic, SijfaspError
from ..policies.loading import set_policies
from ..policies.policy_set import discover
from . import INSTALL_LINE
from .config import Settings, load


def require() -> None:
    try:
        import jwt  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise SijfaspError(
            [
                Diagnostic(
                    "import",
                    "sijfasp serve needs the optional server support, which is not installed",
                    hint=f"install it with: {INSTALL_LINE}",
                    file="serve",
                )
            ]
        ) from None


def serve(
    host: str | None,
    port: int,
    policies: Path | None,
    database: str,
    config: Path | None,
    dev: bool,
) -> int:
    require()
    import uvicorn

    from .app import create_app, setup_logging
    from .auth import start_message

    if dev and host not in (None, "127.0.0.1"):
        raise SijfaspError(
            [
                Diagnostic(
                    "property",
                    "--dev serves without authentication, on 127.0.0.1 only",
                    hint="leave out --host, or leave out --dev and configure a client",
                    file="--host",
                )
            ]
        )
    chosen = discover(policies)
    settings = load(
        config,
        Settings(
            host="127.0.0.1" if dev or host is None else host,
            port=port,
            policies=chosen.directory,
            database=database,
            dev=dev,
        ),
    )
    loaded = list(set_policies(chosen))
    app = create_app(settings, loaded)
    setup_logging()
    say = sys.stderr.write
    say(f"sijfasp serve: {len(loaded)} policy versions from {chosen.directory}\n")
    if not app.state.service.engine.warm_up():
        say("sijfasp serve: the policies do not read the warm-up order; the first call warms up\n")
    say(f"sijfasp serve: database {settings.database}\n")
    if dev:
        say("sijfasp serve: --dev: no authentication, listening on 127.0.0.1 only\n")
    message = start_message(settings)
    if message:
        say(f"sijfasp serve: {message}\n")
    say(f"sijfasp serve: listening on http://{settings.host}:{settings.port}/ (Ctrl-C stops)\n")
    sys.stderr.flush()
    # The command line's watchdog ends a run at once on Ctrl-C (it reads the signal from the
    # wake-up pipe); a server instead lets uvicorn stop taking requests and finish those under
    # way, then returns here.
    if threading.current_thread() is threading.main_thread():
        signal.set_wakeup_fd(-1)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    say("sijfasp serve: stopped\n")
    return 0


__all__ = ["dataclasses", "serve"]
