"""``verify``, ``export``, ``import``, ``backup``, ``restore`` and ``reindex``."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from node.cli.output import emit, settings_for
from node.config import CONFIG_FILE, Settings
from node.errors import ConfigError, ConflictError, NotFoundError
from node.projections import READMODELS_FILE, ReadModels
from node.projections import reindex as rebuild_read_models
from node.services.setup import FEEDS_DB, RESTORED_MARKER
from node.services.validation import body_validator
from node.services.verification import Problem, verify_store
from node.storage.backend import is_postgres
from node.storage.feeds import SqliteFeedStore
from node.storage.feeds_pg import open_feed_store
from node.storage.lock import DataDirLock
from protocol import Event, ProtocolError, decode_event, verify

__all__ = ["register"]

PRIVATE_DB = "private.db"
#: Databases a backup copies, in this order: the read models first, so their
#: position is never ahead of the copied feeds (a node whose read models are
#: ahead of its log rebuilds them).
BACKED_UP_DATABASES = (READMODELS_FILE, FEEDS_DB, PRIVATE_DB)
IMPORT_BATCH = 1000


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the maintenance commands."""
    verify_ = commands.add_parser(
        "verify", parents=[common], help="re-verify every stored event and chain"
    )
    verify_.set_defaults(handler=verify_command)
    export = commands.add_parser(
        "export", parents=[common], help="write every feed as NDJSON"
    )
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(handler=export_command)
    import_ = commands.add_parser(
        "import", parents=[common], help="verify and store events from NDJSON"
    )
    import_.add_argument("file", help="NDJSON file of wire events ('-' for stdin)")
    import_.set_defaults(handler=import_command)
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the node consistently, even while it runs",
    )
    backup.add_argument("--to", required=True, help="a new directory for the copy")
    backup.set_defaults(handler=backup_command)
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="restore a backup into an empty data directory",
    )
    restore.add_argument("--from", dest="source", required=True, help="the backup")
    restore.set_defaults(handler=restore_command)
    reindex = commands.add_parser(
        "reindex", parents=[common], help="drop and rebuild every read model"
    )
    reindex.set_defaults(handler=reindex_command)


def _progress(total: int | None, what: str) -> tqdm[Any]:
    # A bar only on a terminal; scripts and logs get none.
    return tqdm(total=total, unit=" events", desc=what, disable=not sys.stderr.isatty())


def _store(args: argparse.Namespace) -> SqliteFeedStore:
    settings = settings_for(args)
    if not settings.key_path.exists():
        raise NotFoundError(f"no node in {settings.data_dir}")
    return open_feed_store(settings)


def verify_command(args: argparse.Namespace) -> int:
    """Exit 1 with a precise report when anything stored fails verification."""
    store = _store(args)
    problems: list[Problem] = []
    checked = 0
    try:
        with _progress(store.max_position(), "verifying") as bar:
            for item in verify_store(store):
                if isinstance(item, Problem):
                    problems.append(item)
                else:
                    bar.update(item - checked)
                    checked = item
    finally:
        store.close()
    report = [
        {"feed": p.feed, "seq": p.seq, "code": p.code, "message": p.message}
        for p in problems
    ]
    lines = [f"feed {p.feed} seq {p.seq}: {p.code}: {p.message}" for p in problems]
    summary = f"checked {checked} events: " + (
        f"{len(problems)} problems" if problems else "all verify"
    )
    emit(args, {"checked": checked, "problems": report}, "\n".join([*lines, summary]))
    return 1 if problems else 0


def export_command(args: argparse.Namespace) -> int:
    """Write every event held, in the order stored, one wire event per line."""
    if args.json and (args.out is None or args.out == "-"):
        raise ConfigError("with --json, name the export file with --out")
    store = _store(args)
    count = 0
    try:
        with (
            _open_out(args.out) as out,
            _progress(store.max_position(), "exporting") as bar,
        ):
            for logged in store.iter_all():
                out.write(logged.event.wire_bytes() + b"\n")
                count += 1
                bar.update(1)
    finally:
        store.close()
    if args.out and args.out != "-":
        emit(args, {"exported": count, "file": args.out}, f"exported {count} events")
    return 0


def _open_out(path: str | None) -> IO[bytes]:
    if path is None or path == "-":
        return open(sys.stdout.fileno(), "wb", closefd=False)
    return open(path, "xb")


def _read_events(lines: Iterable[bytes]) -> Iterator[Event | ProtocolError]:
    for raw in lines:
        line = raw.rstrip(b"\r\n")  # canonical lines then take the fast path
        if not line.strip():
            continue
        try:
            event = decode_event(line)
            verify(event)
        except ProtocolError as error:
            yield error
        else:
            yield event


def import_command(args: argparse.Namespace) -> int:
    """Verify every event before storing it; events already held are skipped."""
    settings = settings_for(args)
    with DataDirLock(settings.data_dir):
        store = _store(args)
        try:
            stored, errors = _import(store, _lines(args.file))
        finally:
            store.close()
    messages = [f"{e.code}: {e.message}" for e in errors]
    emit(
        args,
        {"stored": stored, "refused": len(errors), "errors": messages[:100]},
        "\n".join(
            [*messages[:100], f"stored {stored} new events, refused {len(errors)}"]
        ),
    )
    return 1 if errors else 0


def _lines(name: str) -> Iterator[bytes]:
    if name == "-":
        yield from sys.stdin.buffer
        return
    try:
        handle = open(name, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise NotFoundError(f"cannot read {name}: {error.strerror}") from None
    with handle:
        yield from handle


def _import(
    store: SqliteFeedStore, lines: Iterable[bytes]
) -> tuple[int, list[ProtocolError]]:
    stored, errors, batch = 0, [], []
    with _progress(None, "importing") as bar:
        for item in _read_events(lines):
            if isinstance(item, ProtocolError):
                errors.append(item)
                continue
            batch.append(item)
            if len(batch) >= IMPORT_BATCH:
                stored += _store_batch(store, batch, errors)
                bar.update(len(batch))
                batch = []
        stored += _store_batch(store, batch, errors)
        bar.update(len(batch))
    return stored, errors


def _store_batch(
    store: SqliteFeedStore, batch: list[Event], errors: list[ProtocolError]
) -> int:
    try:
        return len(store.append(batch))
    except ProtocolError:
        pass
    # Something in the batch does not fit: store what does, one by one.
    stored = 0
    for event in batch:
        try:
            stored += len(store.append([event]))
        except ProtocolError as error:
            errors.append(error)
    return stored


def backup_command(args: argparse.Namespace) -> int:
    """Copy the databases (SQLite's online backup), the keys and the settings."""
    settings = settings_for(args)
    _refuse_postgres(settings, "backup")
    target = Path(args.to)
    if target.exists() and any(target.iterdir()):
        raise ConflictError(f"{target} is not empty")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in BACKED_UP_DATABASES:
        _backup_database(settings.path(name), target / name)
    for name in (settings.key_file, settings.encryption_key_file, CONFIG_FILE):
        source = settings.path(name)
        if source.exists():
            shutil.copy2(source, target / name)
    emit(args, {"backup": str(target)}, f"backed up {settings.data_dir} to {target}")
    return 0


def _refuse_postgres(settings: Settings, command: str) -> None:
    if is_postgres(settings):
        raise ConflictError(
            f"{command} copies SQLite files, but this node's data is in PostgreSQL: "
            f"use pg_dump and pg_restore, and keep {settings.key_file}, "
            f"{settings.encryption_key_file} and {CONFIG_FILE} with the dump "
            "(docs/operating.md#moving-to-postgresql)"
        )


def _backup_database(source: Path, target: Path) -> None:
    if not source.exists():
        return
    # The copy is as private as the original: created 0600 before SQLite opens it.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()


def restore_command(args: argparse.Namespace) -> int:
    """Restore into an empty data directory; it catches up before publishing."""
    settings = settings_for(args)
    _refuse_postgres(settings, "restore")
    source = Path(args.source)
    if not (source / FEEDS_DB).exists():
        raise NotFoundError(f"{source} is not a backup (no {FEEDS_DB})")
    data = settings.data_dir
    if data.exists() and any(data.iterdir()):
        raise ConflictError(
            f"{data} is not empty: restore only into an empty directory"
        )
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    with DataDirLock(data):
        for item in source.iterdir():
            shutil.copy2(item, data / item.name)
        store = SqliteFeedStore(data / FEEDS_DB)
        try:
            store.federation.renew_epoch()
        finally:
            store.close()
        (data / RESTORED_MARKER).write_text(
            "restored from a backup: catch up the own feed before publishing\n", "utf-8"
        )
    emit(args, {"restored": str(data)}, f"restored {source} into {data}")
    return 0


def reindex_command(args: argparse.Namespace) -> int:
    """Drop every read model and rebuild it from the stored events."""
    settings = settings_for(args)
    with DataDirLock(settings.data_dir):
        store = _store(args)
        readmodels = ReadModels.open(settings)
        try:
            validator = body_validator()
            count = rebuild_read_models(store, readmodels, validator)
        finally:
            readmodels.close()
            store.close()
    emit(args, {"reindexed": count}, f"rebuilt read models from {count} events")
    return 0
