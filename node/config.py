"""Settings: one typed value built once, from ``tredegar.toml`` and ``TREDEGAR_*``.

The data directory holds ``tredegar.toml``; every field below may be set there
(by its name) or overridden by the environment variable ``TREDEGAR_`` + its
name in capitals. Unknown keys in the file are an error naming the key;
unknown ``TREDEGAR_*`` variables are warned about, not fatal. Nothing else in
the node reads ``os.environ``: the command line builds the settings and hands
them on.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.errors import ConfigError

__all__ = ["CONFIG_FILE", "ENV_PREFIX", "Settings", "load_settings"]

logger = logging.getLogger(__name__)

CONFIG_FILE = "tredegar.toml"
ENV_PREFIX = "TREDEGAR_"
#: Variables read by the command line itself, not settings.
_COMMAND_LINE_VARIABLES = frozenset({"TREDEGAR_DATA"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node is configured by."""

    #: The data directory: key, tredegar.toml and databases.
    data_dir: Path
    #: Address ``run`` listens on.
    host: str = "127.0.0.1"
    #: Port ``run`` listens on.
    port: int = 8484
    #: URL members and peers reach this node at (behind a reverse proxy, its
    #: public address). Defaults to ``http://host:port``.
    public_url: str = ""
    #: File (relative to data_dir) holding the feed's Ed25519 seed, mode 0600.
    key_file: str = "feed.key"
    #: File (relative to data_dir) holding the AES key that encrypts private
    #: data at rest; when the file is absent, private data is not encrypted.
    encryption_key_file: str = "private.key"
    #: Largest HTTP request body accepted, in bytes.
    max_request_bytes: int = 262_144
    #: Log level: debug, info, warning or error.
    log_level: str = "info"
    #: Publish even after a restore without first catching up from a peer.
    authoritative: bool = False
    #: Seconds a projection waits for new events before polling again.
    projection_poll_seconds: float = 1.0
    #: Seconds between sync rounds with every peer (a notify starts one sooner).
    sync_interval: float = 5.0
    #: Peers pulled from at the same time.
    sync_concurrency: int = 8
    #: Most feeds replicated (own and others').
    max_feeds: int = 10_000
    #: Most bytes held per replicated feed.
    max_feed_bytes: int = 256 * 1024 * 1024
    #: Notify peers after each commit, so events spread in well under a second.
    notify_peers: bool = True
    #: Dial learned peers in private or loopback ranges even though this node's
    #: own URL is public (peers the operator adds are always dialled).
    allow_private_peers: bool = False
    #: Federation requests per second allowed from one address (burst: 4x).
    peer_rate_limit: float = 100.0
    #: Addresses of reverse proxies in front of the node, comma-separated
    #: (e.g. "127.0.0.1,::1"). A request from one of them is counted against
    #: the client its ``X-Forwarded-For`` names (login throttling, rate
    #: limits); from anyone else that header is ignored, so it cannot be forged.
    trusted_proxies: str = ""
    #: The offline gazetteer's index (relative to data_dir, or absolute: nodes
    #: on one machine may share one, as ``tredegar demo``'s do).
    gazetteer_file: str = "gazetteer.db"
    #: Seconds after start before the offline gazetteer's index is built in
    #: the background (a low-priority child process, about 10 s of one core),
    #: so the first "near a place" search finds it ready; 0 builds it only on
    #: the first lookup instead.
    gazetteer_prebuild_seconds: float = 60.0
    #: Where the feeds, private data and read models live: empty keeps them in
    #: SQLite files in the data directory (the default, right for most
    #: groups); ``postgresql://user:password@host:port/dbname`` puts them all
    #: in PostgreSQL, for a large group or several worker processes. Add
    #: ``?schema=NAME`` to keep this node's tables in their own schema, so
    #: several nodes can share one database.
    database_url: str = ""
    #: Extra fields for tests and tools; never read from files.
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The public URL of the node."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def path(self, name: str) -> Path:
        """A path inside the data directory."""
        return self.data_dir / name

    @property
    def proxies(self) -> frozenset[str]:
        """The trusted proxies' addresses."""
        return frozenset(
            p.strip() for p in self.trusted_proxies.split(",") if p.strip()
        )

    @property
    def key_path(self) -> Path:
        """Where the feed key lives."""
        return self.path(self.key_file)

    @property
    def encryption_key_path(self) -> Path:
        """Where the private-data key lives."""
        return self.path(self.encryption_key_file)


_FIELDS = {
    f.name: f
    for f in dataclasses.fields(Settings)
    if f.name not in ("data_dir", "extra")
}
# Each setting's kind, from the annotations above (one place to add a setting).
_TYPES: dict[str, type] = {
    name: kind
    for name, kind in typing.get_type_hints(Settings).items()
    if name in _FIELDS
}
_LOG_LEVELS = ("debug", "info", "warning", "error")


def load_settings(
    data_dir: Path,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings of a data directory.

    Args:
        data_dir: The data directory (it need not exist yet).
        environ: The process environment, passed in by the command line.
        overrides: Values from command-line options; they win over both.

    Returns:
        The settings.

    Raises:
        ConfigError: A bad file, an unknown key or a value of the wrong kind,
            with the offending key named.
    """
    values: dict[str, Any] = {}
    values.update(_read_file(data_dir / CONFIG_FILE))
    values.update(_read_environment(environ))
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, "the command line")
    settings = Settings(data_dir=data_dir, **values)
    _check(settings)
    return settings


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FIELDS:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        values[key] = _coerce(key, value, str(path))
    return values


def _read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, text in environ.items():
        if not variable.startswith(ENV_PREFIX) or variable in _COMMAND_LINE_VARIABLES:
            continue
        key = variable[len(ENV_PREFIX) :].lower()
        if key not in _FIELDS:
            logger.warning("ignoring unknown environment variable %s", variable)
            continue
        values[key] = _coerce(key, text, variable)
    return values


def _coerce(key: str, value: Any, source: str) -> Any:
    kind = _TYPES[key]
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        try:
            if kind is bool:
                if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                return text in ("1", "true", "yes", "on")
            return kind(text)
        except ValueError:
            raise ConfigError(
                f"{source}: setting {key!r} must be {kind.__name__}, not {value!r}"
            ) from None
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:
        raise ConfigError(
            f"{source}: setting {key!r} must be {kind.__name__}, not {value!r}"
        )
    return value


def _check(settings: Settings) -> None:
    if not 0 < settings.port < 65536:
        raise ConfigError(f"setting 'port' must be 1-65535, not {settings.port}")
    if settings.log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"setting 'log_level' must be one of {', '.join(_LOG_LEVELS)}"
        )
    if settings.max_request_bytes < 70_000:
        raise ConfigError("setting 'max_request_bytes' must be at least 70000")
    if settings.public_url and not settings.public_url.startswith(
        ("http://", "https://")
    ):
        raise ConfigError("setting 'public_url' must start with http:// or https://")
    if settings.database_url and not settings.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise ConfigError("setting 'database_url' must start with postgresql://")
    if settings.gazetteer_prebuild_seconds < 0:
        raise ConfigError("setting 'gazetteer_prebuild_seconds' must not be negative")
    for name in ("projection_poll_seconds", "sync_interval", "peer_rate_limit"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"setting {name!r} must be positive")
    for name in ("sync_concurrency", "max_feeds", "max_feed_bytes"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"setting {name!r} must be at least 1")
