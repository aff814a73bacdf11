"""``tredegar demo``: a small network of sample groups, federating on this machine.

The demo directory (``./demo`` by default) holds one node's data directory per
sample group, each made as ``tredegar init`` makes one, and ``demo.json``: the
groups' feeds and organiser tokens, so a later run reuses them. Each node runs
as its own ``tredegar run`` process on a loopback port (``--base-port`` and
the ones after it) and is given only the node before it as a peer: peer
exchange has to do the rest. Once every node answers, each group's sample
activity is published through the HTTP API, then what the groups do together
(``node/services/demo_story.py``: a network, a conference, a tour, members'
RSVPs); the demo then prints every node's URL, organiser token and demo
member's login, waits until every node holds every feed at the same heads, and
keeps the network running until Ctrl-C (or ``--duration``).

The nodes ignore ``TREDEGAR_*`` variables: each is configured by its own
``tredegar.toml``. Their logs go to ``<dir>/<group>/node.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sys
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from time import monotonic
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from node.cli.output import emit
from node.config import CONFIG_FILE, ENV_PREFIX, load_settings
from node.errors import ConfigError, ConflictError, NodeError
from node.services.demo_activity import GROUPS, NodeApi, Story, publish_activity
from node.services.demo_story import MemberLogin, publish_together
from node.services.setup import FEEDS_DB, initialise
from node.storage.feeds import SqliteFeedStore
from node.storage.gazetteer import GAZETTEER_FILE
from node.storage.lock import DataDirLock
from protocol import FeedId, Heads, ProtocolError

__all__ = ["register"]

#: The file in the demo directory naming its groups, feeds and tokens.
MANIFEST = "demo.json"
LOG_FILE = "node.log"
HOST = "127.0.0.1"
MIN_NODES = 3
#: Seconds between sync rounds: shorter than a node's default, for a demo.
SYNC_INTERVAL = 2.0
#: How long a node may take to answer ``/health`` after it is started.
START_SECONDS = 30.0
#: How long the nodes may take to hold every feed at the same heads.
SYNC_SECONDS = 60.0
#: How long a node may take to exit after SIGTERM before it is killed.
STOP_SECONDS = 10.0
POLL_SECONDS = 0.1
#: Seconds after it starts before the first node builds the shared gazetteer.
GAZETTEER_DELAY = 20


class DemoError(NodeError):
    """A demo node did not start, stopped, or the nodes did not converge."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class Entry:
    """One group of the demo, as ``demo.json`` remembers it."""

    slug: str
    name: str
    feed: str
    token: str
    published: bool = False
    #: The demo member's login and password (none in an older demo).
    member_login: str = ""
    member_password: str = ""


@dataclass(frozen=True, slots=True)
class DemoNode:
    """One group's node in this run: where it lives and where it serves."""

    entry: Entry
    directory: Path
    port: int

    @property
    def url(self) -> str:
        """Where it serves."""
        return f"http://{HOST}:{self.port}"

    @property
    def summary(self) -> dict[str, Any]:
        """What ``--json`` prints of it."""
        summary: dict[str, Any] = {
            "name": self.entry.name,
            "url": self.url,
            "feed": self.entry.feed,
            "token": self.entry.token,
        }
        if self.entry.member_login:
            summary["member"] = {
                "login": self.entry.member_login,
                "password": self.entry.member_password,
            }
        return summary

    @property
    def api(self) -> NodeApi:
        """What publishing on it takes."""
        return NodeApi(self.url, self.entry.feed, self.entry.token)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``demo``.

    It takes its own ``--data`` (the demo directory, default ``./demo``), not
    the one of ``common``, which names a single node's data directory.
    """
    del common
    demo = commands.add_parser(
        "demo",
        help="run a local network of sample groups until Ctrl-C",
        description="Start a small network of sample groups on this machine, "
        "publish their activity, and keep it running until Ctrl-C.",
    )
    demo.add_argument(
        "--data",
        default="demo",
        help="the demo directory, one node in each subdirectory (default: ./demo)",
    )
    demo.add_argument(
        "--json", action="store_true", help="print exactly one JSON object"
    )
    _add_network_arguments(demo)
    demo.set_defaults(handler=run_demo)


def _add_network_arguments(demo: argparse.ArgumentParser) -> None:
    """Add ``--nodes``, ``--base-port`` and ``--duration``."""
    demo.add_argument(
        "--nodes",
        type=int,
        default=MIN_NODES,
        choices=range(MIN_NODES, len(GROUPS) + 1),
        metavar="N",
        help=f"how many groups, {MIN_NODES} to {len(GROUPS)} (default {MIN_NODES})",
    )
    demo.add_argument(
        "--base-port",
        type=int,
        default=8601,
        metavar="PORT",
        help="the first node's port; the others use the ports after it (default 8601)",
    )
    demo.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop by itself this many seconds after the network is up "
        "(default: run until Ctrl-C)",
    )


def run_demo(args: argparse.Namespace) -> int:
    """Set up the demo directory, run the network, stop it on Ctrl-C."""
    if not 0 < args.base_port <= 65536 - args.nodes:
        raise ConfigError(f"--base-port must leave room for {args.nodes} ports")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be a positive number of seconds")
    root = Path(args.data)
    entries = prepare(root, args.nodes)
    nodes = [
        DemoNode(entry, root / entry.slug, args.base_port + index)
        for index, entry in enumerate(entries)
    ]
    configure(nodes)
    demo = Demo(args, root, nodes)
    try:
        return asyncio.run(demo.run())
    except NodeError as error:
        if not demo.printed:
            raise
        # Standard output already holds the one JSON object: report here only.
        sys.stderr.write(f"tredegar: {error.message}\n")
        return 1


# --- the demo directory ------------------------------------------------------


def prepare(root: Path, count: int) -> list[Entry]:
    """Reuse the groups of an earlier demo in ``root`` and make the missing ones.

    Raises:
        ConflictError: ``root`` holds something else, or a larger demo.
    """
    entries = _read_manifest(root)
    if len(entries) > count:
        raise ConflictError(
            f"{root} holds a demo of {len(entries)} groups: run it with "
            f"--nodes {len(entries)} or more, or choose another --data"
        )
    root.mkdir(parents=True, exist_ok=True)
    _write_manifest(root, entries)  # claim the directory before making nodes
    for story in GROUPS[len(entries) : count]:
        entries.append(_create_node(root / story.slug, story))
        _write_manifest(root, entries)
    return entries


def _read_manifest(root: Path) -> list[Entry]:
    """The groups of ``demo.json``; none for a new or empty directory."""
    path = root / MANIFEST
    if not path.exists():
        if root.exists() and any(root.iterdir()):
            raise ConflictError(
                f"{root} is not empty and holds no Tredegar demo: choose another --data"
            )
        return []
    try:
        value = orjson.loads(path.read_bytes())
        return [Entry(**item) for item in value["nodes"]]
    except (orjson.JSONDecodeError, TypeError, KeyError) as error:
        raise ConfigError(f"{path} is not a demo's list of groups: {error}") from None


def _write_manifest(root: Path, entries: list[Entry]) -> None:
    """Write ``demo.json`` (it holds tokens: mode 0600) in one atomic step."""
    text = orjson.dumps(
        {"nodes": [asdict(entry) for entry in entries]}, option=orjson.OPT_INDENT_2
    )
    part = root / f"{MANIFEST}.part"
    part.unlink(missing_ok=True)
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(text)
    part.replace(root / MANIFEST)


def _create_node(directory: Path, story: Story) -> Entry:
    """Make one group's node as ``tredegar init`` does."""
    if directory.exists():
        # Left by a demo interrupted while making it: it is not in demo.json,
        # so its organiser token is lost. It held nothing but the profile.
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700)
    with DataDirLock(directory):
        made = initialise(
            load_settings(directory, {}), story.profile, organiser="Demo organiser"
        )
    return Entry(story.slug, str(story.profile["name"]), made.feed, made.token)


def _write_config(directory: Path, *, port: int, is_first: bool) -> None:
    """Write the node's ``tredegar.toml`` for this run.

    The nodes share one gazetteer index beside them, built by the first node
    only, soon after it starts (the others find it built).
    """
    gazetteer = (directory.parent / GAZETTEER_FILE).resolve()
    (directory / CONFIG_FILE).write_text(
        "# Written by 'tredegar demo' each time it starts this node.\n"
        f'host = "{HOST}"\nport = {port}\nsync_interval = {SYNC_INTERVAL}\n'
        f"gazetteer_file = {orjson.dumps(str(gazetteer)).decode()}\n"
        f"gazetteer_prebuild_seconds = {GAZETTEER_DELAY if is_first else 0}\n",
        "utf-8",
    )


def configure(nodes: list[DemoNode]) -> None:
    """Give each node its port for this run; forget peers of earlier runs.

    Raises:
        ConflictError: A node is still running, or a port is taken.
    """
    urls = {node.url for node in nodes}
    for node in nodes:
        lock = DataDirLock(node.directory)
        try:
            lock.acquire()
        except ConflictError:
            raise ConflictError(
                f"{node.directory} is in use: is this demo running already?"
            ) from None
        try:
            _write_config(node.directory, port=node.port, is_first=node is nodes[0])
            _forget_peers_but(node.directory, urls)
        finally:
            lock.release()
    for node in nodes:
        _check_port_free(node.port)


def _forget_peers_but(directory: Path, urls: set[str]) -> None:
    """Forget peers of runs on other ports: nothing answers there now."""
    store = SqliteFeedStore(directory / FEEDS_DB)
    try:
        for peer in store.federation.peers():
            if peer.url not in urls:
                store.federation.remove_peer(peer.url)
    finally:
        store.close()


def _check_port_free(port: int) -> None:
    """Fail now, naming the port, rather than in a node's log later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise ConflictError(
                f"port {port} is in use on {HOST}: choose another --base-port"
            ) from None


# --- the running network -----------------------------------------------------


class Demo:
    """The demo's nodes as processes, and what is said about them."""

    def __init__(
        self, args: argparse.Namespace, root: Path, nodes: list[DemoNode]
    ) -> None:
        self.args = args
        self.root = root
        self.nodes = nodes
        self.processes: list[asyncio.subprocess.Process] = []
        #: Whether the nodes have been printed (standard output is then done).
        self.printed = False

    def say(self, text: str) -> None:
        """Progress: standard output, or standard error with ``--json``."""
        stream = sys.stderr if self.args.json else sys.stdout
        stream.write(text + "\n")
        stream.flush()

    async def run(self) -> int:
        """Bring the network up and keep it up until a signal or ``--duration``."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                if await _until_stopped(self._bring_up(session), stop):
                    await _until_stopped(
                        self._watch(), stop, seconds=self.args.duration
                    )
        finally:
            await self._stop_all()
        return 0

    async def _bring_up(self, session: aiohttp.ClientSession) -> None:
        """Start the nodes, publish, show them, wait until they converge."""
        self.say(f"Tredegar demo: {len(self.nodes)} groups, data in {self.root}/")
        previous: DemoNode | None = None
        for node in self.nodes:
            self.say(f"  starting {node.entry.name} at {node.url}")
            await self._start(session, node, previous)
            previous = node
        try:
            await self._publish(session)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DemoError(
                f"lost a node while publishing ({error}); "
                f"see the {LOG_FILE} files in {self.root}"
            ) from error
        self._show()
        self.say("Waiting until every node holds every group's feed …")
        feeds = await _converged(session, self.nodes)
        self.say(f"all {len(self.nodes)} nodes hold the same {feeds} feeds")
        self.say(
            f"The demo stops by itself in {self.args.duration:g} s (or press Ctrl-C)."
            if self.args.duration
            else "Press Ctrl-C to stop the demo."
        )

    async def _start(
        self,
        session: aiohttp.ClientSession,
        node: DemoNode,
        peer: DemoNode | None,
    ) -> None:
        """Start ``tredegar run`` for ``node``; return once it answers."""
        data = str(node.directory)
        command = [sys.executable, "-m", "node.cli", "run", "--data", data]
        if peer is not None:
            command += ["--peer", peer.url]
        log = os.open(
            node.directory / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_node_environment(),
                start_new_session=True,  # Ctrl-C reaches the demo; it stops them
            )
        finally:
            os.close(log)
        self.processes.append(process)
        await _healthy(session, node, process)

    async def _publish(self, session: aiohttp.ClientSession) -> None:
        """Publish the activity of the groups that have not published it yet."""
        pending = [i for i, node in enumerate(self.nodes) if not node.entry.published]
        if not pending:
            self.say("The sample activity was published in an earlier run.")
            return
        self.say("Publishing meetings, campaigns, guides, questions, needs, pledges …")
        apis = [node.api for node in self.nodes]
        await publish_activity(session, apis, only=pending, within=SYNC_SECONDS)
        self.say("… a network, a conference, a tour, members' RSVPs, a campaign won")
        self.say("… an idea decided, a delegate vote, aid matched, hours pledged")
        members = await publish_together(
            session, apis, only=pending, within=SYNC_SECONDS
        )
        self.nodes = [
            replace(node, entry=_published(node.entry, members.get(index)))
            for index, node in enumerate(self.nodes)
        ]
        _write_manifest(self.root, [node.entry for node in self.nodes])

    def _show(self) -> None:
        """Print the nodes: the one JSON object, or text for a newcomer."""
        rows = [node.summary for node in self.nodes]
        text = "\n".join(_instructions(self.nodes, self.root))
        emit(self.args, {"nodes": rows}, text)
        self.printed = True

    async def _watch(self) -> None:
        """Return never; raise when a node stops by itself."""
        waits = {
            asyncio.ensure_future(process.wait()): node
            for process, node in zip(self.processes, self.nodes, strict=True)
        }
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        node = waits[done.pop()]
        raise DemoError(
            f"{node.entry.name} stopped by itself; see {node.directory / LOG_FILE}"
        )

    async def _stop_all(self) -> None:
        """Stop every node still running."""
        running = [p for p in self.processes if p.returncode is None]
        if running:
            self.say(f"Stopping {len(running)} nodes …")
        await asyncio.gather(*(_stop(process) for process in running))
        if running:
            self.say("Stopped.")


def _published(entry: Entry, member: MemberLogin | None) -> Entry:
    """The entry of a node whose activity is published, with its demo member."""
    if member is None:
        return replace(entry, published=True)
    return replace(
        entry,
        published=True,
        member_login=member.login,
        member_password=member.password,
    )


def _instructions(nodes: list[DemoNode], root: Path) -> list[str]:
    """What a newcomer is shown: each node, and what to try with them."""
    lines = [""]
    for node in nodes:
        lines += [
            f"  {node.entry.name}  {node.url}",
            f"    organiser token: {node.entry.token}",
            f"    feed (its public key): {node.entry.feed}",
        ]
        if node.entry.member_login:
            lines.append(
                f"    member login: {node.entry.member_login}  "
                f"password: {node.entry.member_password}"
            )
    first, last = nodes[0], nodes[-1]
    search = urlencode({"q": GROUPS[0].campaign["title"]})
    need = '{"type": "need.posted", "body": {"title": "Lifts to the food bank", '
    need += '"category": "transport"}}'
    return [
        *lines,
        "",
        "Each node is one group's own server; its token publishes as that group.",
        "Try:",
        f"  curl '{last.url}/api/v1/search?{search}'",
        "      the first group's campaign, found on the last group's node",
        f"  curl -H 'Authorization: Bearer {first.entry.token}' \\",
        f"       -d '{need}' {first.url}/api/v1/events",
        "      publishes as the first group; a moment later every node has it:",
        f"  curl '{last.url}/api/v1/search?q=food+bank'",
        f"  curl '{last.url}/api/v1/networks'  and  {last.url}/api/v1/tours",
        "      the regional network and the speaking tour, seen from any node",
        f"  curl '{last.url}/api/v1/proposals?status=decided'",
        "      the first group's decision; its id under /api/v1/decisions/ shows",
        "      the tasks and actions that followed from it",
        f"  curl '{last.url}/api/v1/needs'  and  {last.url}/api/v1/pledge-targets",
        "      needs matched to offers across groups, and pledges against targets",
        f"  {last.url}/calendar.ics  every group's meetings, for a calendar app",
        f"Logs: {root / '<group>' / LOG_FILE}",
        "",
    ]


async def _until_stopped(
    work: Coroutine[Any, Any, None],
    stop: asyncio.Event,
    *,
    seconds: float | None = None,
) -> bool:
    """Run ``work`` until it ends (True), ``stop`` is set or time is up (False).

    Raises:
        Exception: Whatever ``work`` raised.
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait(
        {task, stopped}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
    )
    task.cancel()
    stopped.cancel()
    await asyncio.gather(task, stopped, return_exceptions=True)
    if task in done:
        task.result()
        return True
    return False


def _node_environment() -> dict[str, str]:
    """This process's environment without ``TREDEGAR_*``: tredegar.toml rules."""
    return {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}


async def _healthy(
    session: aiohttp.ClientSession,
    node: DemoNode,
    process: asyncio.subprocess.Process,
) -> None:
    """Wait until ``node`` answers ``/health`` with its own feed.

    Raises:
        DemoError: It stopped, or did not answer within :data:`START_SECONDS`.
    """
    deadline = monotonic() + START_SECONDS
    log = node.directory / LOG_FILE
    while not await _answers(session, node):
        if process.returncode is not None:
            raise DemoError(
                f"{node.entry.name} stopped (exit status {process.returncode}) "
                f"before it answered; the end of {log}:\n{_tail(log)}"
            )
        if monotonic() > deadline:
            raise DemoError(
                f"{node.entry.name} did not answer {node.url}/health within "
                f"{START_SECONDS:g} s; see {log}"
            )
        await asyncio.sleep(POLL_SECONDS)


async def _answers(session: aiohttp.ClientSession, node: DemoNode) -> bool:
    """Whether ``node`` answers ``/health`` with its own feed."""
    try:
        async with session.get(f"{node.url}/health") as response:
            answer = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False
    return isinstance(answer, dict) and answer.get("feed") == node.entry.feed


def _tail(path: Path, lines: int = 10) -> str:
    """The last lines of a log."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


async def _converged(session: aiohttp.ClientSession, nodes: list[DemoNode]) -> int:
    """Wait until every node holds every feed at the same heads; count the feeds.

    Raises:
        DemoError: They did not within :data:`SYNC_SECONDS`.
    """
    feeds = {node.entry.feed for node in nodes}
    deadline = monotonic() + SYNC_SECONDS
    while True:
        heads = await asyncio.gather(*(_heads(session, node) for node in nodes))
        first = heads[0]
        if (
            first is not None
            and feeds <= first.keys()
            and heads.count(first) == len(heads)
        ):
            return len(first)
        if monotonic() > deadline:
            raise DemoError(
                f"the nodes did not converge within {SYNC_SECONDS:g} s; see the "
                f"{LOG_FILE} files in {nodes[0].directory.parent}"
            )
        await asyncio.sleep(POLL_SECONDS)


async def _heads(
    session: aiohttp.ClientSession, node: DemoNode
) -> dict[FeedId, int] | None:
    """A node's heads, or None when it does not answer them."""
    try:
        async with session.get(f"{node.url}/fed/v1/heads") as response:
            response.raise_for_status()
            answer = await response.json(content_type=None)
        return dict(Heads.from_json(answer).heads)
    except (aiohttp.ClientError, TimeoutError, ValueError, ProtocolError):
        return None


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if the node has not exited in time."""
    try:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
    except ProcessLookupError:  # it had already exited
        await process.wait()
