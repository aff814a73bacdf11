"""``tredegar key rotate``: move the group to a new key and feed."""

from __future__ import annotations

import argparse
from typing import Any

from node.cli.output import emit, settings_for
from node.services.rotation import rotate_key
from node.storage.lock import DataDirLock

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``key rotate``."""
    key = commands.add_parser("key", help="the group's signing key")
    actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = actions.add_parser(
        "rotate",
        parents=[common],
        help="publish feed.moved from the old key and start a new feed (node stopped)",
    )
    rotate.add_argument("--reason", help="a short public reason, e.g. 'key leaked'")
    rotate.set_defaults(handler=rotate_command)


def rotate_command(args: argparse.Namespace) -> int:
    """Rotate the key; the node must not be running."""
    settings = settings_for(args)
    with DataDirLock(settings.data_dir):
        rotated = rotate_key(settings, args.reason)
    emit(
        args,
        {
            "old_feed": rotated.old_feed,
            "new_feed": rotated.new_feed,
            "retired_key": rotated.retired_key,
        },
        f"moved {rotated.old_feed}\n   to {rotated.new_feed}\n"
        f"the old key is kept as {rotated.retired_key}; start the node again to "
        "publish on the new feed",
    )
    return 0
