"""``tredegar run --workers N``: several worker processes on one listening socket.

A node on PostgreSQL may serve from several processes
(``docs/operating.md#several-workers``). The parent process binds the node's
address once and starts N children, each ``tredegar run --listen-fd FD``
serving on the inherited socket; the kernel hands each new connection to one
of them. One child at a time leads (syncs and decides, see
:mod:`node.services.leadership`); the parent only supervises:

* **Restarts.** A child that exits is started again after a short backoff.
  Children that keep exiting soon after they start (:data:`MAX_EARLY_EXITS`
  within :data:`EARLY_WINDOW` seconds) point at something a restart cannot
  mend (a database that is down, a bad setting): the parent stops the rest
  and fails with an error.
* **Stopping.** SIGTERM or SIGINT to the parent is passed on to every child
  as SIGTERM, and the parent waits for them (at most :data:`STOP_SECONDS`,
  then SIGKILL). Children run in a process group of their own, so a
  terminal's Ctrl-C reaches the parent alone, which passes it on once; on
  Linux a child also gets SIGTERM if the parent dies, so none keeps serving
  on its own.

SQLite allows one writer process, so ``--workers`` above 1 is refused there.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from types import FrameType
from typing import Any

from node.config import Settings
from node.errors import ConfigError, NodeError
from node.storage.backend import is_postgres

__all__ = [
    "MAX_WORKERS",
    "Supervisor",
    "WorkersFailedError",
    "check_workers",
    "listen_options",
    "supervise",
]

logger = logging.getLogger("node.cli.workers")

#: The most worker processes (each holds a few database connections).
MAX_WORKERS = 32
#: A child that exits sooner than this after starting exited early (s).
EARLY_SECONDS = 10.0
#: How many early exits within :data:`EARLY_WINDOW` make the parent give up.
MAX_EARLY_EXITS = 5
EARLY_WINDOW = 60.0
#: Backoff before restarting a child: doubled per recent early exit (s).
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 8.0
#: How long children may take to stop before they are killed (s).
STOP_SECONDS = 20.0
#: How often the parent looks at its children (s).
POLL_SECONDS = 0.1
#: ``prctl`` option: a signal for the child when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


class WorkersFailedError(NodeError):
    """The worker processes keep exiting soon after they start."""

    code = "unavailable"


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse a number of workers the node cannot run.

    Raises:
        ConfigError: Fewer than 1, more than :data:`MAX_WORKERS`, or more than
            1 on SQLite.
    """
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}")
    if workers > 1 and not is_postgres(settings):
        raise ConfigError(
            "--workers above 1 needs PostgreSQL: SQLite allows one writer "
            "process at a time (set database_url; docs/operating.md)"
        )


def bind(settings: Settings) -> socket.socket:
    """The node's listening socket, to be shared by its workers."""
    family, kind, _, _, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def listen_options(settings: Settings, listen_fd: int | None) -> dict[str, Any]:
    """``web.run_app`` options: the inherited socket, or the settings' address."""
    if listen_fd is None:
        return {"host": settings.host, "port": settings.port}
    return {"sock": socket.socket(fileno=listen_fd)}


def child_command(args: argparse.Namespace, listen_fd: int) -> list[str]:
    """The ``tredegar run`` of one worker, serving on ``listen_fd``."""
    command = [sys.executable, "-m", "node.cli", "run", "--data", str(args.data)]
    command += ["--listen-fd", str(listen_fd)]
    if args.host:
        command += ["--host", args.host]
    if args.port:
        command += ["--port", str(args.port)]
    if args.public_url:
        command += ["--public-url", args.public_url]
    for url in args.peer:
        command += ["--peer", url]
    if args.authoritative:
        command.append("--authoritative")
    return command


def supervise(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the node from ``args.workers`` processes until stopped.

    Returns:
        0 once every worker has stopped.

    Raises:
        ConfigError: The node cannot run that many workers.
        WorkersFailedError: Workers kept exiting soon after starting.
    """
    check_workers(settings, args.workers)
    with bind(settings) as listener:
        fd = listener.fileno()
        logger.info("serving at %s from %d workers", settings.url, args.workers)
        return Supervisor(child_command(args, fd), args.workers, fd).run()


def _die_with_parent() -> None:
    # In the child, before exec: SIGTERM when the parent dies (Linux only).
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(slots=True)
class _Child:
    process: subprocess.Popen[bytes]
    started: float


class Supervisor:
    """Starts N workers, restarts those that exit, stops them all on a signal."""

    def __init__(self, command: list[str], count: int, listen_fd: int) -> None:
        """Run ``count`` copies of ``command``, passing them ``listen_fd``."""
        self.command = command
        self.count = count
        self.listen_fd = listen_fd
        self.children: dict[int, _Child] = {}
        self._due: dict[int, float] = {}
        self._early: deque[float] = deque()
        self._signals = 0

    def run(self) -> int:
        """Supervise until a signal, then stop the children.

        Returns:
            0 once every child has stopped.

        Raises:
            WorkersFailedError: Children kept exiting soon after starting.
        """
        previous = {
            number: signal.signal(number, self._on_signal)
            for number in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._due = dict.fromkeys(range(self.count), 0.0)
            while not self._signals:
                self._start_due()
                self._reap()
                time.sleep(POLL_SECONDS)
            logger.info("stopping %d workers", len(self.children))
        finally:
            self._stop_all()
            for number, handler in previous.items():
                signal.signal(number, handler)
        return 0

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:  # asked twice: stop at once
            for child in self.children.values():
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()

    def _start_due(self) -> None:
        now = time.monotonic()
        for slot, due in list(self._due.items()):
            if due <= now:
                del self._due[slot]
                process = subprocess.Popen(  # noqa: S603 (our own interpreter)
                    self.command,
                    stdin=subprocess.DEVNULL,
                    pass_fds=(self.listen_fd,),
                    process_group=0,
                    preexec_fn=_die_with_parent,  # the parent runs no threads
                )
                self.children[slot] = _Child(process, now)
                logger.info("started worker %d (pid %d)", slot + 1, process.pid)

    def _reap(self) -> None:
        now = time.monotonic()
        for slot, child in list(self.children.items()):
            code = child.process.poll()
            if code is None or self._signals:
                continue
            del self.children[slot]
            delay = self._backoff(now, is_early=now - child.started < EARLY_SECONDS)
            logger.warning(
                "worker %d (pid %d) %s; starting another in %.1f s",
                slot + 1,
                child.process.pid,
                _describe(code),
                delay,
            )
            self._due[slot] = now + delay

    def _backoff(self, now: float, *, is_early: bool) -> float:
        while self._early and self._early[0] < now - EARLY_WINDOW:
            self._early.popleft()
        if not is_early:
            return BACKOFF_FIRST
        self._early.append(now)
        if len(self._early) >= MAX_EARLY_EXITS:
            raise WorkersFailedError(
                f"workers exited {len(self._early)} times within "
                f"{EARLY_WINDOW:.0f} s of starting: giving up (see the log above)"
            )
        delay: float = BACKOFF_FIRST * 2 ** (len(self._early) - 1)
        return min(delay, BACKOFF_MAX)

    def _stop_all(self) -> None:
        """SIGTERM every child, wait, and SIGKILL those still running."""
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self.children.values():
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning(
                    "worker pid %d did not stop: killing it", child.process.pid
                )
                child.process.kill()
                child.process.wait()
        self.children.clear()


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"
