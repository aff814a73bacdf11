"""``tredegar organiser-link``: a fresh one-time password link for the organiser.

For the first organiser (the earliest made of those not removed) to choose a
login and password, or a new password, on the web. It works while the node
runs: the link is one transaction on the private database, valid for 24 hours
and for one use.
"""

from __future__ import annotations

import argparse
from typing import Any

from node.cli.output import emit, settings_for
from node.errors import ConfigError
from node.services.accounts import password_link
from node.services.clock import system_clock
from node.storage.private import PrivateStore

__all__ = ["register", "reset_instructions"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``organiser-link``."""
    link = commands.add_parser(
        "organiser-link",
        parents=[common],
        help="print a one-time link for the first organiser to set a password",
    )
    link.set_defaults(handler=organiser_link)


def organiser_link(args: argparse.Namespace) -> int:
    """Print the link (``{"url": …}`` with ``--json``)."""
    settings = settings_for(args)
    if not settings.key_path.exists():
        raise ConfigError(f"no node in {settings.data_dir}: run 'tredegar init' first")
    private = PrivateStore.open(settings)
    try:
        url = password_link(private, settings.url, now=system_clock())
    finally:
        private.close()
    emit(
        args,
        {"url": url},
        "The first organiser can choose a login and password, once, within 24 "
        f"hours:\n{reset_instructions(url)}",
    )
    return 0


def reset_instructions(link: str) -> str:
    """How to use a password link: open it in a browser, or from a terminal."""
    base, _, code = link.rpartition("/reset/")
    return (
        f"open {link} in a browser while the node runs, or from a terminal:\n"
        f"    curl -X POST {base}/api/v1/reset/{code} "
        "-H 'Content-Type: application/json' "
        """-d '{"login": "your-name", "password": "at least ten characters"}'"""
    )
