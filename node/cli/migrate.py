"""``tredegar migrate --to postgresql://…``: move a SQLite node to PostgreSQL.

The copy itself is :mod:`node.services.migration`. Here: the data directory's
lock for the whole run (no node may store events meanwhile), a progress bar
per stage on a terminal's standard error (none with ``--json``), and, unless
``--no-config``, ``database_url`` recorded in ``tredegar.toml`` before the
lock is released, so every later command uses PostgreSQL. The SQLite files
are left as they were: they are the way back.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm import tqdm

from node.cli.output import emit, settings_for
from node.config import CONFIG_FILE
from node.errors import ConfigError
from node.services.migration import MigrationCounts, check_source, migrate
from node.storage.backend import postgres_target
from node.storage.lock import DataDirLock

__all__ = ["record_database_url", "register"]

_DATABASE_URL_LINE = re.compile(r"\s*database_url\s*=")
#: The SQLite files a migrated node no longer uses (kept as the way back).
SQLITE_FILES = "feeds.db, private.db, readmodels.db"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``migrate``."""
    command = commands.add_parser(
        "migrate",
        parents=[common],
        help="copy this SQLite node to PostgreSQL, verifying every event",
    )
    command.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user:password@host:port/dbname[?schema=NAME], "
        "an empty database or schema",
    )
    command.add_argument(
        "--no-config",
        action="store_true",
        help="leave tredegar.toml as it is (set database_url yourself)",
    )
    command.set_defaults(handler=migrate_command)


def migrate_command(args: argparse.Namespace) -> int:
    """Copy the node, then point its settings at the copy."""
    settings = settings_for(args)
    check_source(settings)
    where = postgres_target(args.to).describe()  # a bad URL: nothing done
    show = not args.json and sys.stderr.isatty()
    with DataDirLock(settings.data_dir), _Bars(enabled=show) as bars:
        counts = migrate(settings, args.to, bars)
        if not args.no_config:
            record_database_url(settings.path(CONFIG_FILE), args.to)
    emit(args, _as_json(counts), _summary(counts, where, args))
    return 0


def record_database_url(path: Path, url: str) -> None:
    """Set ``database_url`` in ``tredegar.toml``, keeping every other line.

    The file is replaced atomically and made 0600: the URL may hold the
    database's password.

    Raises:
        ConfigError: The file would not read back with the URL.
    """
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if not _DATABASE_URL_LINE.match(line)]
    kept.append("# Set by 'tredegar migrate'; the SQLite files are the way back.")
    kept.append("database_url = " + json.dumps(url))  # a valid TOML basic string
    text = "\n".join(kept) + "\n"
    try:
        is_written = tomllib.loads(text).get("database_url") == url
    except tomllib.TOMLDecodeError:
        is_written = False
    if not is_written:
        raise ConfigError(f"{path}: cannot add database_url; set it by hand")
    new = path.with_name(path.name + ".new")
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(new, path)


def _as_json(counts: MigrationCounts) -> dict[str, Any]:
    return {
        "events": counts.events,
        "bodies": counts.bodies,
        "redactions": counts.redactions,
        "private_records": counts.private_records,
        "member_keys": counts.member_keys,
        "casework_keys": counts.casework_keys,
        "peers": counts.peers,
        "blocks": counts.blocks,
        "forks": counts.forks,
        "seconds": counts.seconds,
    }


def _summary(counts: MigrationCounts, where: str, args: argparse.Namespace) -> str:
    lines = [
        f"copied {counts.events} events ({counts.bodies} bodies, "
        f"{counts.redactions} redactions), {counts.private_records} private "
        f"records ({counts.member_keys} member keys, {counts.casework_keys} "
        f"casework keys), {counts.peers} peers, {counts.blocks} blocks and "
        f"{counts.forks} fork proofs to {where} in {counts.seconds:.1f} s",
    ]
    if args.no_config:
        lines.append(
            "tredegar.toml is unchanged: set database_url there (or "
            "TREDEGAR_DATABASE_URL) to use the copy"
        )
    else:
        lines.append(
            "tredegar.toml now sets database_url: run, verify and every other "
            "command use PostgreSQL from now on"
        )
    lines.append(
        f"the SQLite files ({SQLITE_FILES}) in {args.data} are left as they were: "
        "they are the way back (remove database_url), without what is stored "
        "on PostgreSQL from now on"
    )
    return "\n".join(lines)


class _Bars:
    """One tqdm bar per stage of the copy, on standard error."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: tqdm[Any] | None = None

    def stage(self, name: str, total: int | None) -> None:
        """Close the last stage's bar and open one for ``name``."""
        self.close()
        self._bar = tqdm(
            total=total, desc=name, unit=" items", disable=not self._enabled
        )

    def advance(self, count: int) -> None:
        """Move the current bar on."""
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        """Close the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> _Bars:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
