"""``tredegar bench``: the benchmarks of ``node/bench`` (see docs/performance.md).

It takes its own ``--data`` (a scratch directory, made fresh; by default a
temporary one, removed after) and ``--json FILE`` (the rows as a JSON list),
not the ones of ``common``. The table goes to standard output, progress to
standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from node.bench.report import SIZES, table
from node.bench.runner import Say, run
from node.errors import ConflictError

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``bench``."""
    del common
    bench = commands.add_parser(
        "bench",
        help="measure the node against what this machine can do",
        description="Run every benchmark on real nodes over loopback and print "
        "each figure beside a baseline measured in the same run.",
    )
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a tenth of the size")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    bench.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    bench.add_argument(
        "--data",
        metavar="DIR",
        help="a new scratch directory to keep (default: a temporary one)",
    )
    bench.set_defaults(handler=run_bench)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_bench(args: argparse.Namespace) -> int:
    sizes = SIZES["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.data:
        root = Path(args.data)
        if root.exists() and any(root.iterdir()):
            raise ConflictError(f"{root} is not empty: choose a new --data")
        root.mkdir(parents=True, exist_ok=True)
        scratch = None
    else:
        scratch = tempfile.mkdtemp(prefix="tredegar-bench-")
        root = Path(scratch)
    say = Say(lambda text: print(text, file=sys.stderr, flush=True))
    # SIGTERM stops the run as Ctrl-C does: every node started is stopped.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        rows = asyncio.run(run(sizes, root, say))
    finally:
        signal.signal(signal.SIGTERM, previous)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        Path(args.json).write_bytes(
            orjson.dumps([row.to_json() for row in rows], option=orjson.OPT_INDENT_2)
        )
    print(table(rows))
    return 0  # a goal missed is a finding, not a failure of the command
