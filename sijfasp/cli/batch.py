"""`batch`: many cases, one JSON line each (the package sijfasp/batch/, imported by this command
and by a parser of every command)."""

from __future__ import annotations

import argparse

from .common import (
    case_limit_options,
    case_limits,
    policy_options,
    policy_set,
    run_limit_options,
    select_policies,
)


def batch_options(batch_: argparse.ArgumentParser) -> None:
    from .. import batch

    batch.add_arguments(batch_)
    policy_options(batch_)
    case_limit_options(batch_)
    run_limit_options(batch_)


def cmd_batch(args: argparse.Namespace) -> int:
    from .. import batch

    chosen = None if args.policy_file else policy_set(args)
    return batch.run(args, select_policies(args), case_limits(args), chosen)
