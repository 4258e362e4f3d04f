"""`lsp`: the language server over stdio (authoring/lsp.py; pygls is the optional `lsp` extra,
imported by this command alone)."""

from __future__ import annotations

import argparse
import sys

from .common import Exit


def lsp_options(lsp: argparse.ArgumentParser) -> None:
    pass  # no options of its own


def cmd_lsp(args: argparse.Namespace) -> int:
    # pygls is the optional `lsp` extra: nothing else imports it.
    try:
        from ..authoring import lsp
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        print("sijfasp: install the lsp extra: pip install 'sijfasp[lsp]'", file=sys.stderr)
        return Exit.BAD_INPUT
    lsp.serve()
    return Exit.OK
