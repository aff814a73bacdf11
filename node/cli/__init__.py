"""The ``tredegar`` command: set up, run and look after a node.

Every command takes ``--data DIR`` (default ``$TREDEGAR_DATA`` or ``./data``)
and ``--json`` (standard output is then exactly one JSON object; logs go to
standard error). Settings come from ``DIR/tredegar.toml`` overridden by
``TREDEGAR_*`` variables; this package is the only place that reads the
process environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from node import __version__
from node.cli import (
    accounts,
    bench,
    demo,
    keys,
    maintenance,
    migrate,
    peers,
    setup,
    tokens,
)
from node.cli.output import fail

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        default=os.environ.get("TREDEGAR_DATA", "data"),
        help="the node's data directory (default: $TREDEGAR_DATA or ./data)",
    )
    common.add_argument(
        "--json", action="store_true", help="print exactly one JSON object"
    )
    parser = argparse.ArgumentParser(
        prog="tredegar",
        description="Tredegar: a federated node for grassroots organising.",
    )
    parser.add_argument(
        "--version", action="version", version=f"tredegar {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    setup.register(commands, common)
    tokens.register(commands, common)
    peers.register(commands, common)
    keys.register(commands, common)
    demo.register(commands, common)
    maintenance.register(commands, common)
    migrate.register(commands, common)
    accounts.register(commands, common)
    bench.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        return fail(args, error)
    return status


if __name__ == "__main__":
    sys.exit(main())
