"""The feed key on disk: its 32-byte seed as base64url text, file mode 0600.

The file is created with mode 0600 from the start (never chmod-ed after the
secret is written) and never overwritten: losing a group's key loses its feed.
"""

from __future__ import annotations

import os
from pathlib import Path

from node.errors import ConfigError, ConflictError
from protocol import MalformedError, SigningKey, base64url

__all__ = ["create_key_file", "load_key_file", "write_key_file"]


def write_key_file(path: Path, key: SigningKey) -> None:
    """Write ``key`` to a new file at ``path`` (mode 0600).

    Raises:
        ConflictError: The file already exists.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConflictError(
            f"{path} already exists; refusing to overwrite a key"
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64url.encode(key.seed()) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def create_key_file(path: Path) -> SigningKey:
    """Generate a key and write it to a new file at ``path``."""
    key = SigningKey.generate()
    write_key_file(path, key)
    return key


def load_key_file(path: Path) -> SigningKey:
    """Read the key at ``path``.

    Raises:
        ConfigError: The file is missing or does not hold a key.
    """
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        raise ConfigError(f"no feed key at {path}: run 'tredegar init' first") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the feed key at {path}: {error}") from None
    try:
        return SigningKey.from_seed(base64url.decode(text, length=32))
    except MalformedError:
        raise ConfigError(f"{path} does not hold a feed key") from None
