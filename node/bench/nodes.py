"""Real nodes for the benchmarks: made in a scratch directory, run as processes.

Every node is made as ``tredegar init`` makes one and run as its own
``tredegar run`` process on a free loopback port. A :class:`Cluster` stops
every process it started when it is closed, also after Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from node.config import CONFIG_FILE, load_settings
from node.errors import NodeError
from node.services.setup import FEEDS_DB, initialise
from node.storage.lock import DataDirLock

__all__ = ["BenchError", "BenchNode", "Cluster", "free_port", "metric", "peak_rss"]

HOST = "127.0.0.1"
STOP_SECONDS = 10.0
POLL_SECONDS = 0.02


class BenchError(NodeError):
    """A benchmark's node did not start, or a scenario ran out of time."""

    code = "unavailable"


def free_port() -> int:
    """A loopback port nobody listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def peak_rss(pid: int) -> int:
    """The process's peak resident set (``VmHWM``), in bytes; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def metric(text: str, name: str) -> float:
    """The sum of every sample of ``name`` in a Prometheus text answer."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


@dataclass
class BenchNode:
    """One node's data directory and, while it runs, its process."""

    name: str
    data: Path
    feed: str
    token: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    peers: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where it serves."""
        return f"http://{HOST}:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        """The organiser's ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def feeds_db(self) -> Path:
        """The feed store's file."""
        return self.data / FEEDS_DB

    def launch(self) -> None:
        """Start ``tredegar run`` (without waiting for it to answer)."""
        command = [sys.executable, "-m", "node.cli", "run", "--data", str(self.data)]
        for peer in self.peers:
            command += ["--peer", peer]
        log = (self.data / "node.log").open("ab")
        with log:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter)
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_environment(),
                start_new_session=True,  # Ctrl-C reaches the bench; it stops us
            )

    async def healthy(self, session: aiohttp.ClientSession, within: float) -> None:
        """Wait until ``/health`` names this node's feed."""
        deadline = time.monotonic() + within
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(f"node {self.name} exited; see {self.data}/node.log")
            try:
                async with session.get(f"{self.url}/health") as response:
                    if response.status == 200:
                        answer = orjson.loads(await response.read())
                        if answer.get("feed") == self.feed:
                            return
            except (aiohttp.ClientError, OSError):
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"node {self.name} did not answer within {within} s")
            await asyncio.sleep(POLL_SECONDS)

    async def metrics(self, session: aiohttp.ClientSession) -> str:
        """The ``/metrics`` text."""
        async with session.get(f"{self.url}/metrics", headers=self.auth) as response:
            return await response.text()

    async def heads(self, session: aiohttp.ClientSession) -> dict[str, int]:
        """Every feed the node holds and its head seq."""
        async with session.get(f"{self.url}/fed/v1/heads") as response:
            answer: dict[str, Any] = orjson.loads(await response.read())
            heads: dict[str, int] = answer["heads"]
            return heads

    def stop(self) -> None:
        """SIGTERM, wait (SIGKILL as a last resort)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


def _environment() -> dict[str, str]:
    """This environment without ``TREDEGAR_*``: each node reads its own file."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TREDEGAR_")}


class Cluster:
    """Nodes made under one directory; :meth:`close` stops them all."""

    def __init__(self, root: Path, *, sync_interval: float = 1.0) -> None:
        """Make nodes under ``root``; they sync every ``sync_interval`` s."""
        self.root = root
        self.sync_interval = sync_interval
        self.nodes: list[BenchNode] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def make(self, name: str) -> BenchNode:
        """Make a node's data directory (as ``init`` does) and its settings."""
        data = self.root / name
        data.mkdir(mode=0o700, parents=True)
        port = free_port()
        (data / CONFIG_FILE).write_text(
            f'host = "{HOST}"\nport = {port}\nsync_interval = {self.sync_interval}\n'
            "gazetteer_prebuild_seconds = 0\npeer_rate_limit = 100000.0\n"
            'log_level = "warning"\n',
            "utf-8",
        )
        with DataDirLock(data):
            made = initialise(load_settings(data, {}), {"name": f"Bench {name}"})
        node = BenchNode(name, data, made.feed, made.token, port)
        self.nodes.append(node)
        return node

    async def start(
        self, session: aiohttp.ClientSession, *nodes: BenchNode, within: float = 60
    ) -> None:
        """Start the nodes together; return once all answer."""
        for node in nodes:
            node.launch()
        await asyncio.gather(*(node.healthy(session, within) for node in nodes))

    def close(self) -> None:
        """Stop every process started here."""
        for node in self.nodes:
            node.stop()
        for process in self.others:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=STOP_SECONDS)
