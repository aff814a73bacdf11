"""Real node processes on loopback: ``tredegar init``, ``run``, ``/health``, stop.

Nothing here is mocked or run in-process: every node is the ``tredegar``
console script of this virtualenv, started as a subprocess on a free loopback
port, its standard error (the JSON-lines log) written to a file in the test's
``tmp_path`` so a failure shows what the node said. Waiting is always on a
condition with a deadline (polling every 50 ms), never a fixed sleep.

The command-line tests (``tests/cli``) import :class:`NodeFactory`,
:func:`tredegar` and the HTTP helpers from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.pg import scratch_url

#: The console script next to the interpreter running the tests.
TREDEGAR = Path(sys.executable).with_name("tredegar")
#: How long a node may take to answer ``/health`` after ``run`` (ten nodes
#: starting at once beside another test worker, on two cores, take a while).
START_SECONDS = 45.0
#: How long a node may take to exit after SIGTERM before it is killed.
STOP_SECONDS = 15.0
#: How long any other awaited condition may take.
CONDITION_SECONDS = 15.0
#: Poll interval for every condition.
POLL_SECONDS = 0.05
#: How long a command-line call (not ``run``) may take.
COMMAND_SECONDS = 60.0

Json = dict[str, Any]


# --- the command line --------------------------------------------------------


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any ``TREDEGAR_*`` variable."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TREDEGAR_")
    }
    # Test nodes live for seconds: none builds the gazetteer in the background.
    environment["TREDEGAR_GAZETTEER_PREBUILD_SECONDS"] = "0"
    environment.update(extra or {})
    return environment


def tredegar(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run one ``tredegar`` command to completion (its exit status is not checked)."""
    return subprocess.run(
        [str(TREDEGAR), *(str(arg) for arg in args)],
        capture_output=True,
        text=True,
        env=clean_environment(env),
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True, slots=True)
class JsonResult:
    """A ``--json`` command's exit status, its one JSON object and its stderr."""

    code: int
    value: Json
    stderr: str


def tredegar_json(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    expect_success: bool = True,
) -> JsonResult:
    """Run a command with ``--json``; its stdout must be exactly one JSON object."""
    done = tredegar(*args, "--json", env=env)
    context = f"tredegar {' '.join(map(str, args))} --json\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"not one line of JSON: {done.stdout!r}\n{context}"
    value = json.loads(lines[0])
    assert isinstance(value, dict), f"not a JSON object: {lines[0]!r}"
    if expect_success:
        assert done.returncode == 0, f"exit {done.returncode}: {context}"
    return JsonResult(done.returncode, value, done.stderr)


def free_port() -> int:
    """A loopback port nobody listened on a moment ago (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float) -> None:
    """Poll ``condition`` every 50 ms until it holds; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def running(task: asyncio.Task[Any]) -> bool:
    """True while ``task`` runs; its exception, if it failed, is raised."""
    if task.done():
        task.result()
        pytest.fail(f"{task.get_name()} stopped early")
    return True


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    *,
    what: str,
    within: float = CONDITION_SECONDS,
) -> None:
    """Await ``condition`` every 50 ms until it holds; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


# --- one node ----------------------------------------------------------------


class _AddressInUseError(Exception):
    """The node could not bind its port: someone took it since it was chosen."""


@dataclass
class Node:
    """A node's data directory, made by ``tredegar init``, and its process if any."""

    name: str
    data: Path
    feed: str
    token: str
    port: int
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    runs: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where the node serves while it runs."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        """The ``Authorization`` header of the organiser token from ``init``."""
        return {"Authorization": f"Bearer {self.token}"}

    def log(self) -> str:
        """What the node wrote to standard error in its current (or last) run."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text("utf-8", errors="replace")

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        """``tredegar run`` in the background; return once ``/health`` answers.

        The port is the one given to ``init`` while it is free; when another
        process has taken it in the meantime, a new free port is tried.
        """
        assert self.process is None, f"node {self.name} is already running"
        for attempt in range(5):
            if attempt:
                self.port = free_port()
            try:
                self._start_once(args, env)
            except _AddressInUseError:
                continue
            return
        pytest.fail(f"node {self.name}: no free port after 5 attempts\n{self.log()}")

    def _start_once(self, args: tuple[str, ...], env: Mapping[str, str] | None) -> None:
        self.runs += 1
        self.log_path = self.logs / f"{self.name}-run{self.runs}.log"
        command = [str(TREDEGAR), "run", "--data", str(self.data)]
        command += ["--port", str(self.port), *args]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=clean_environment({**self.env, **(env or {})}),
            )
        deadline = time.monotonic() + START_SECONDS
        while not self._is_healthy():
            code = self.process.poll()
            if code is not None:
                self.process = None
                if "address already in use" in self.log().lower():
                    raise _AddressInUseError
                pytest.fail(
                    f"node {self.name} exited with {code} before answering "
                    f"/health; its log:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(
                    f"node {self.name} did not answer /health within "
                    f"{START_SECONDS} s; its log:\n{self.log()}"
                )
            time.sleep(POLL_SECONDS)

    def _is_healthy(self) -> bool:
        # Our own feed must answer: another test's node may hold the port.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/health")
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
        if response.status != 200:
            return False
        try:
            answer = json.loads(body)
        except ValueError:
            return False
        return isinstance(answer, dict) and answer.get("feed") == self.feed

    def stop(self) -> int | None:
        """SIGTERM, wait for the exit (SIGKILL as a last resort); the exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait(timeout=STOP_SECONDS)

    def kill(self) -> None:
        """SIGKILL the process (``kill -9``) and reap it."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


class NodeFactory:
    """Makes nodes under one directory and stops every one still running."""

    def __init__(self, root: Path, backend: str = "sqlite") -> None:
        """Put data directories and logs under ``root``; databases on ``backend``.

        On ``postgresql`` every node made by :meth:`init` keeps its data in a
        scratch schema of its own (``tests/pg.py``), dropped at :meth:`close`.
        """
        self.root = root
        self.backend = backend
        self.nodes: list[Node] = []
        self._schemas = contextlib.ExitStack()

    def init(
        self,
        name: str = "node",
        *,
        group: str = "Tredegar Test Group",
        start: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Node:
        """``tredegar init --json`` a new data directory, and by default ``run`` it.

        ``env`` is added to the environment of every run of the node.
        """
        data = self.root / name
        port = free_port()
        database: list[str] = []
        if self.backend == "postgresql":
            url = self._schemas.enter_context(scratch_url("net"))
            database = ["--database-url", url]
        made = tredegar_json(
            "init", "--data", data, "--name", group, "--port", str(port), *database
        ).value
        assert set(made) == {"feed", "token", "url"}, made
        assert made["url"] == f"http://127.0.0.1:{port}", made
        node = Node(
            name,
            data,
            made["feed"],
            made["token"],
            port,
            self.root,
            env=dict(env or {}),
        )
        self.nodes.append(node)
        if start:
            node.start()
        return node

    def adopt(self, name: str, data: Path, *, feed: str, token: str) -> Node:
        """A node for a data directory made otherwise (e.g. by ``restore``)."""
        node = Node(name, data, feed, token, free_port(), self.root)
        self.nodes.append(node)
        return node

    def close(self) -> None:
        """Stop every node still running, then print the end of each node's logs.

        pytest shows what a teardown prints only when the test failed, so a
        failure comes with what the nodes said.
        """
        for node in self.nodes:
            node.stop()
        self._schemas.close()
        for node in self.nodes:
            for run in range(1, node.runs + 1):
                path = self.root / f"{node.name}-run{run}.log"
                if path.exists():
                    tail = path.read_text("utf-8", errors="replace").splitlines()
                    print(f"--- {path} (last 40 lines) ---", *tail[-40:], sep="\n")


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[NodeFactory]:
    """A factory of real nodes in ``tmp_path``; all are stopped at teardown."""
    factory = NodeFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def node(nodes: NodeFactory) -> Node:
    """One freshly initialised node, running."""
    return nodes.init()


# --- talking to a node -------------------------------------------------------


def guide(n: int) -> Json:
    """The request body publishing guide number ``n``."""
    return {
        "type": "guide.published",
        "body": {
            "title": f"Guide {n}",
            "text": f"How to run a street stall, part {n}: tables, leaflets, rota.",
        },
    }


async def publish(
    session: aiohttp.ClientSession,
    node: Node,
    n: int,
    *,
    token: str | None = None,
) -> Json:
    """Publish guide ``n`` with the organiser token; the 201 answer."""
    async with session.post(
        f"{node.url}/api/v1/events",
        json=guide(n),
        headers={"Authorization": f"Bearer {token or node.token}"},
    ) as response:
        answer = await response.json(content_type=None)
        assert response.status == 201, (response.status, answer)
        assert isinstance(answer, dict)
        return answer


async def health(session: aiohttp.ClientSession, node: Node) -> Json:
    """``GET /health``'s answer (which must be 200)."""
    async with session.get(f"{node.url}/health") as response:
        assert response.status == 200
        answer = await response.json()
        assert isinstance(answer, dict)
        return answer


async def list_all(
    session: aiohttp.ClientSession,
    node: Node,
    *,
    feed: str | None = None,
    page_size: int = 100,
) -> list[Json]:
    """Every page of ``GET /api/v1/events`` (optionally of one feed), joined."""
    events: list[Json] = []
    after = 0
    while True:
        params = {"after": str(after), "limit": str(page_size)}
        if feed is not None:
            params["feed"] = feed
        async with session.get(f"{node.url}/api/v1/events", params=params) as response:
            assert response.status == 200
            page = await response.json()
        assert len(page["events"]) <= page_size
        events.extend(page["events"])
        if page["next"] is None:
            return events
        assert page["next"] > after, page["next"]
        after = page["next"]


async def search(
    session: aiohttp.ClientSession, node: Node, query: str, *, limit: int = 100
) -> list[Json]:
    """The hits of ``GET /api/v1/search``."""
    params = {"q": query, "limit": str(limit)}
    async with session.get(f"{node.url}/api/v1/search", params=params) as response:
        assert response.status == 200
        answer = await response.json()
        hits: list[Json] = answer["results"]
        return hits
