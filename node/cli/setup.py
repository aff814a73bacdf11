"""``tredegar init`` and ``tredegar run``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from node.cli.accounts import reset_instructions
from node.cli.logs import configure_logging
from node.cli.output import emit, settings_for
from node.cli.workers import check_workers, listen_options, supervise
from node.config import CONFIG_FILE
from node.errors import ConfigError, ConflictError
from node.http.app import AccessLogger, create_app
from node.services.setup import FEEDS_DB, initialise
from node.services.validation import body_validator
from node.storage.backend import is_postgres
from node.storage.lock import DataDirLock
from protocol import JsonObject, parse_url

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``init`` and ``run``."""
    init = commands.add_parser(
        "init", parents=[common], help="create a new node in an empty data directory"
    )
    init.add_argument("--name", required=True, help="the group's name")
    init.add_argument("--area", help="where the group is, in words")
    init.add_argument("--lat", type=float, help="latitude in degrees")
    init.add_argument("--lon", type=float, help="longitude in degrees")
    init.add_argument(
        "--organiser",
        default="First organiser",
        help="the first organiser's display name",
    )
    init.add_argument("--host", help="address run will listen on (default 127.0.0.1)")
    init.add_argument("--port", type=int, help="port run will listen on (default 8484)")
    init.add_argument("--public-url", help="the URL members and peers will use")
    init.add_argument(
        "--database-url",
        help="keep everything in PostgreSQL (postgresql://user:password@host/db"
        "[?schema=NAME]) instead of SQLite files; written to tredegar.toml",
    )
    init.set_defaults(handler=init_node)

    run = commands.add_parser(
        "run", parents=[common], help="serve the node until stopped"
    )
    run.add_argument("--host", help="address to listen on")
    run.add_argument("--port", type=int, help="port to listen on")
    run.add_argument("--public-url", help="the URL members and peers use")
    run.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="URL",
        help="a peer to sync with (repeatable; remembered for later runs)",
    )
    run.add_argument(
        "--authoritative",
        action="store_true",
        default=None,
        help="publish at once after a restore, without catching up from a peer",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes (PostgreSQL only; default 1)",
    )
    run.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    run.set_defaults(handler=run_node)


def _profile(args: argparse.Namespace) -> JsonObject:
    body: JsonObject = {"name": args.name}
    if args.area:
        body["area"] = args.area
    if (args.lat is None) != (args.lon is None):
        raise ConfigError("give both --lat and --lon, or neither")
    if args.lat is not None:
        if not (-90 <= args.lat <= 90 and -180 <= args.lon <= 180):
            raise ConfigError("--lat must be within ±90 and --lon within ±180")
        body["place"] = {
            "name": args.area or args.name,
            "lat_e6": round(args.lat * 1_000_000),
            "lon_e6": round(args.lon * 1_000_000),
        }
    body_validator().validate("group.profile_set", body)
    return body


def _write_config(path: Path, args: argparse.Namespace) -> None:
    lines = ["# Tredegar node settings; TREDEGAR_<NAME> variables override them."]
    if args.host:
        lines.append(f'host = "{args.host}"')
    if args.port:
        lines.append(f"port = {args.port}")
    if args.public_url:
        lines.append(f'public_url = "{args.public_url}"')
    if getattr(args, "database_url", None):
        lines.append(f"database_url = {json.dumps(args.database_url)}")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    if getattr(args, "database_url", None):
        path.chmod(0o600)  # the URL may hold the database's password


def init_node(args: argparse.Namespace) -> int:
    """Create the key, settings and databases, publish the profile, issue a token."""
    data = Path(args.data)
    if any((data / name).exists() for name in ("feed.key", FEEDS_DB, CONFIG_FILE)):
        raise ConflictError(f"{data} already holds a node; its key is left untouched")
    profile = _profile(args)
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_config(data / CONFIG_FILE, args)
    settings = settings_for(args)
    with DataDirLock(data):
        try:
            made = initialise(settings, profile, organiser=args.organiser)
        except ConflictError:
            if not settings.key_path.exists():  # refused before anything was made
                (data / CONFIG_FILE).unlink(missing_ok=True)
            raise
    token = made.token
    emit(
        args,
        {"feed": made.feed, "token": token, "url": settings.url},
        f"Created the node of {args.name!r} in {data}\n"
        f"  feed:  {made.feed}\n"
        f"  url:   {settings.url} (after 'tredegar run --data {data}')\n"
        f"  organiser token (shown once, keep it safe): {token}\n"
        f"  organiser's login: choose a login name and password (one use, 24 h):\n"
        f"    {reset_instructions(made.password_link)}\n"
        f"  (a new link any time: 'tredegar organiser-link --data {data}')",
    )
    return 0


def run_node(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    configure_logging("info")  # until the settings say otherwise
    settings = settings_for(
        args,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        authoritative=args.authoritative,
    )
    configure_logging(settings.log_level)
    check_workers(settings, args.workers)
    if not settings.key_path.exists():
        raise ConfigError(f"no node in {settings.data_dir}: run 'tredegar init' first")
    # Several workers of a PostgreSQL node share the data directory.
    with DataDirLock(settings.data_dir, shared=is_postgres(settings)):
        if args.workers > 1:
            return supervise(settings, args)
        web.run_app(
            create_app(settings, seed_peers=[parse_url(url) for url in args.peer]),
            **listen_options(settings, args.listen_fd),
            access_log_class=AccessLogger,
            access_log=logging.getLogger("node.access"),
            print=None,
            shutdown_timeout=10,
        )
    return 0
