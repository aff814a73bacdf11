"""One process owns a data directory at a time: an exclusive lock on a file.

``fcntl.flock`` locks are released by the kernel when the process dies, even
by ``kill -9``, so a crashed node never leaves a stale lock behind. A node on
PostgreSQL may run as several worker processes sharing the directory: they
take the lock *shared*, which still keeps out every command that needs the
directory to itself.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from node.errors import ConflictError

__all__ = ["DataDirLock"]

LOCK_FILE = "node.lock"


class DataDirLock:
    """Hold the data directory's lock for the life of a ``with`` block."""

    def __init__(self, data_dir: Path, *, shared: bool = False) -> None:
        """Prepare to lock ``data_dir`` (alone, or ``shared`` with others)."""
        self.path = data_dir / LOCK_FILE
        self.shared = shared
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or fail at once.

        Raises:
            ConflictError: Another process holds it.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConflictError(
                f"another process is using {self.path.parent} (a node running?)"
            ) from None
        if not self.shared:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
