"""Which database a node keeps its data in: SQLite files, or PostgreSQL.

A node's three eventsourcing applications (``Feeds``, ``PrivateData`` and the
``ReadModels`` tracking recorder) each get their configuration from here, so
one setting, ``database_url``, moves all of them (DESIGN §4). SQLite is the
default: one file per application in the data directory. With
``postgresql://user:password@host:port/dbname[?schema=NAME]`` every table
lives in that database: eventsourcing's own (``feeds_events``,
``privatedata_events``, ``readmodels_tracking``) and ours (bodies, read
models, peers …), in the schema named (``public`` when none), which several
worker processes of one node share (``docs/operating.md#postgresql``).

Connection details are parsed from the URL here and handed to eventsourcing
as explicit keys, never through ``os.environ``. The schema becomes each
connection's ``search_path``, so our statements name tables unqualified on
both backends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from node.config import Settings
from node.errors import ConfigError
from node.storage.eventsourcing_env import sqlite_environment

__all__ = [
    "PostgresTarget",
    "apply_search_path",
    "is_postgres",
    "postgres_environment",
    "postgres_target",
    "storage_environment",
]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Connections per application and process: a worker holds three pools
#: (feeds, private data, read models), so four workers stay well inside
#: PostgreSQL's default ``max_connections`` of 100.
POOL_SIZE = 1
POOL_OVERFLOW = 4


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """Where a PostgreSQL-backed node keeps its tables."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    schema: str

    def describe(self) -> str:
        """The target without its password, for logs and messages."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}" + (
            f"?schema={self.schema}" if self.schema != "public" else ""
        )


def is_postgres(settings: Settings) -> bool:
    """True when the settings put the node's data in PostgreSQL."""
    return bool(settings.database_url)


def postgres_target(url: str) -> PostgresTarget:
    """Parse a ``postgresql://`` URL.

    ``host`` may also come as a query parameter (``?host=/run/postgresql`` for
    a Unix socket); ``schema`` names the schema (lower-case letters, digits
    and ``_``).

    Args:
        url: The setting's value.

    Returns:
        The parsed target.

    Raises:
        ConfigError: The URL is not a usable PostgreSQL URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError as error:
        raise ConfigError(f"database_url: {error}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError("database_url must start with postgresql://")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"schema", "host"}
    if unknown:
        raise ConfigError(f"database_url: unknown parameter {sorted(unknown)[0]!r}")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ConfigError("database_url must name a database: postgresql://…/dbname")
    schema = query.get("schema", "public")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            "database_url: schema must be lower-case letters, digits and _"
        )
    return PostgresTarget(
        host=query.get("host") or parts.hostname or "localhost",
        port=port,
        dbname=dbname,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        schema=schema,
    )


def postgres_environment(target: PostgresTarget, *, text_ids: bool) -> dict[str, str]:
    """Keys that put an eventsourcing application in the target database."""
    keys = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_SCHEMA": target.schema,
        "POSTGRES_POOL_SIZE": str(POOL_SIZE),
        "POSTGRES_MAX_OVERFLOW": str(POOL_OVERFLOW),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        # A writer waits this long for eventsourcing's table lock (other
        # workers' inserts) before giving up with an error, never forever.
        "POSTGRES_LOCK_TIMEOUT": "30",
        "POSTGRES_PRE_PING": "y",
    }
    if text_ids:
        keys["ORIGINATOR_ID_TYPE"] = "text"
    return keys


def storage_environment(
    settings: Settings, sqlite_file: str, *, text_ids: bool
) -> dict[str, str]:
    """Keys for one application: its SQLite file, or the PostgreSQL database.

    Args:
        settings: The node's settings.
        sqlite_file: The application's file in the data directory on SQLite.
        text_ids: Whether originator ids are text (feeds) rather than UUIDs.

    Returns:
        Unprefixed eventsourcing keys.
    """
    if is_postgres(settings):
        return postgres_environment(
            postgres_target(settings.database_url), text_ids=text_ids
        )
    return sqlite_environment(settings.path(sqlite_file), text_ids=text_ids)


def apply_search_path(datastore: Any) -> None:
    """Make every new connection of a PostgreSQL datastore use its schema.

    eventsourcing qualifies its own tables with the schema; ours are named
    unqualified, so each connection's ``search_path`` starts with it. Must run
    before the datastore's pool opens (it opens on first use).

    Args:
        datastore: An eventsourcing ``PostgresDatastore``.
    """
    schema = datastore.schema
    datastore.pool.kwargs["options"] = f"-c search_path={schema},public"
