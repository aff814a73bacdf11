"""Building eventsourcing's configuration from our settings, never from os.environ.

eventsourcing merges ``os.environ`` into every application's environment and
lets an application-prefixed variable there win. A node's storage must depend
on its settings alone, so our applications replace ``construct_env`` with one
that sees only the keys we pass, each prefixed with the application's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from eventsourcing.utils import Environment

__all__ = ["explicit_environment", "sqlite_environment"]


def explicit_environment(name: str, keys: Mapping[str, str]) -> Environment:
    """Return an eventsourcing environment holding exactly ``keys``, prefixed.

    Args:
        name: The application's name (eventsourcing upper-cases it as a prefix).
        keys: Unprefixed keys such as ``PERSISTENCE_MODULE``.

    Returns:
        The environment.
    """
    prefix = name.upper() + "_"
    return Environment(name, {prefix + key: value for key, value in keys.items()})


def sqlite_environment(path: Path, *, text_ids: bool) -> dict[str, str]:
    """Keys that put an application in its own SQLite file."""
    keys = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "30",
    }
    if text_ids:
        keys["ORIGINATOR_ID_TYPE"] = "text"
    return keys
