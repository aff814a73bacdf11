"""``tredegar demo`` fills every page: the site map walked on one demo node.

The demo runs as a newcomer runs it (a subprocess on free loopback ports,
stopped after a bounded time or at teardown). On its first node the walk
opens every page of the site map, as a visitor, as the demo member and as
the demo organiser (who sets a password through a reset link first, as the
first organiser of any node does): no page may show an empty state, except
the few listed in :data:`MAY_BE_EMPTY` with the reason the demo leaves them
so. Each page waits (with a deadline) for sync to fill it, then is checked
with axe-core and saved at phone and desktop widths.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from playwright.async_api import Page

from tests.network.conftest import Json, Node
from tests.web.conftest import Walk, call
from tests.web.test_member_decisions import member_logs_in
from tests.web.test_organiser import organiser_logs_in

#: ``tredegar``, run by the interpreter running the tests.
TREDEGAR = (sys.executable, "-m", "node.cli")
#: How long the demo may take to print its nodes.
UP_SECONDS = 120.0
#: How long the demo runs by itself (the walk stops it sooner).
DURATION_SECONDS = 600
#: How long one page may take to be filled by sync.
FILLED_SECONDS = 60.0
STOP_SECONDS = 15.0

#: Empty states a demo page may show, by the walk's label: what the demo does
#: not publish. Every other ``.empty`` on a page fails the walk.
MAY_BE_EMPTY: dict[str, tuple[str, ...]] = {
    # No group adds agenda items to the tour stop.
    "meeting": ("No agenda items yet.",),
    # The demo's one proposal is decided by the time the walk starts.
    "ideas": ("No proposals are open for votes right now.",),
    "proposal": ("Voting has closed.",),
    # The decision led to tasks and an action, not to a campaign of its own.
    "decision": ("not yet known",),
    # Nothing misbehaves in the demo's network.
    "organise-peers": (
        "Nothing is blocked.",
        "No forks held: no feed has signed two different events with the same number.",
    ),
}
#: Organiser pages whose first entry is opened too: the list, the entries' path.
ENTRIES = {
    "/organise/one-to-ones": "/organise/one-to-ones/",
    "/organise/cases": "/organise/cases/",
}


@dataclass(frozen=True, slots=True)
class DemoNode:
    """One node the demo printed."""

    name: str
    url: str
    feed: str
    token: str
    member: Json

    def as_node(self, root: Path) -> Node:
        """This node as the rig's :class:`Node` (for its API helpers)."""
        port = int(self.url.rsplit(":", 1)[1])
        return Node(self.name, root, self.feed, self.token, port, root)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports that are free now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + count <= 65536 and all(is_free(base + n) for n in range(count)):
            return base
    pytest.fail(f"found no {count} consecutive free ports")


def is_free(port: int) -> bool:
    """Whether nothing listens on the loopback ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def demo_processes(directory: Path) -> list[int]:
    """Node processes the demo started whose command line names ``directory``."""
    found = subprocess.run(
        ["pgrep", "-f", str(directory)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[list[DemoNode]]:
    """``tredegar demo`` with three nodes, up; stopped at teardown."""
    directory = tmp_path / "demo"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TREDEGAR_")}
    with (tmp_path / "demo.stderr").open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *TREDEGAR,
            *("demo", "--data", str(directory), "--nodes", "3", "--json"),
            *("--base-port", str(free_ports(3))),
            *("--duration", str(DURATION_SECONDS)),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=environment,
        )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), UP_SECONDS)
        said = (tmp_path / "demo.stderr").read_text()
        assert line, f"the demo printed nothing; its standard error:\n{said}"
        yield [
            DemoNode(n["name"], n["url"], n["feed"], n["token"], n["member"])
            for n in json.loads(line)["nodes"]
        ]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        for pid in demo_processes(directory):  # only if the demo failed to
            os.kill(pid, signal.SIGKILL)


# --- the site map ----------------------------------------------------------------


async def api(session: aiohttp.ClientSession, node: DemoNode, path: str) -> Json:
    """``GET /api/v1{path}`` on ``node``, waiting (with a deadline) for a 200."""
    deadline = time.monotonic() + FILLED_SECONDS
    while True:
        async with session.get(f"{node.url}/api/v1{path}") as response:
            if response.status == 200:
                answer: Json = await response.json()
                return answer
        if time.monotonic() > deadline:
            pytest.fail(f"GET /api/v1{path} never answered 200 on {node.url}")
        await asyncio.sleep(0.5)


async def first_of(
    session: aiohttp.ClientSession, node: DemoNode, path: str, key: str, **query: str
) -> Json:
    """The first item of a list answer, waiting (with a deadline) for one."""
    deadline = time.monotonic() + FILLED_SECONDS
    url = f"{path}?{urlencode(query)}" if query else path
    while True:
        items = (await api(session, node, url))[key]
        if items:
            item: Json = items[0]
            return item
        if time.monotonic() > deadline:
            pytest.fail(f"no {key} at /api/v1{url} on {node.url}")
        await asyncio.sleep(0.5)


async def visitor_pages(
    session: aiohttp.ClientSession, first: DemoNode, second: DemoNode
) -> list[tuple[str, str]]:
    """Every public page of the site map on the first node: (label, path)."""
    own = {"feed": first.feed}
    network = await first_of(session, first, "/networks", "networks")
    tour = await first_of(session, first, "/tours", "tours")
    stop = (await api(session, first, f"/tours/{tour['id']}"))["stops"][0]
    campaign = await first_of(session, first, "/campaigns", "campaigns", **own)
    idea = await first_of(session, first, "/ideas", "ideas", **own)
    proposal = await first_of(
        session, first, "/proposals", "proposals", status="decided", **own
    )
    target = await first_of(session, first, "/pledge-targets", "targets", **own)
    guide = await first_of(session, first, "/guides", "guides")
    question = await first_of(session, first, "/questions", "questions", **own)
    need = await first_of(session, first, "/needs", "needs", status="met", **own)
    offer = await first_of(
        session, first, "/offers", "offers", status="open", category="goods"
    )
    decided = await first_of(
        session, first, f"/networks/{network['id']}/decisions", "decisions"
    )
    return [
        ("home", "/"),
        ("network", "/network"),
        ("group", f"/groups/{second.feed}"),
        ("regional-network", f"/networks/{network['id']}"),
        ("meetings", "/meetings"),
        ("meeting", f"/meetings/{stop['id']}"),
        ("campaigns", "/campaigns"),
        ("campaign", f"/campaigns/{campaign['id']}"),
        ("ideas", "/ideas"),
        ("idea", f"/ideas/{idea['id']}"),
        ("proposal", f"/proposals/{proposal['id']}"),
        ("decision", f"/decisions/{proposal['decision']['id']}"),
        ("tasks", "/tasks"),
        ("pledge-target", f"/pledges/{target['id']}"),
        ("guides", "/guides"),
        ("guide", f"/guides/{guide['id']}"),
        ("questions", "/questions"),
        ("question", f"/questions/{question['id']}"),
        ("advisers", "/advisers"),
        ("mutual-aid", "/mutual-aid"),
        ("need", f"/needs/{need['id']}"),
        ("offer", f"/offers/{offer['id']}"),
        ("tours", "/tours"),
        ("tour", f"/tours/{tour['id']}"),
        ("network-decisions", f"/networks/{network['id']}/decisions"),
        ("network-decision", f"/network-decisions/{decided['id']}"),
        ("pledge-targets", "/pledges"),
    ]


# --- filled pages ----------------------------------------------------------------


async def empty_states(page: Page) -> list[str]:
    """The texts of the empty states the page's main content shows."""
    found = await page.locator("main .empty").all_inner_texts()
    return [text.strip() for text in found]


async def unexpected_empties(page: Page, label: str) -> list[str]:
    """The page's empty states that :data:`MAY_BE_EMPTY` does not allow."""
    allowed = MAY_BE_EMPTY.get(label, ())
    return [text for text in await empty_states(page) if text not in allowed]


async def visit_filled(walk: Walk, url: str, label: str) -> None:
    """Open ``url`` until it shows no empty state (deadline), then check it."""
    deadline = time.monotonic() + FILLED_SECONDS
    while True:
        response = await walk.page.goto(url)
        assert response is not None, url
        assert response.status == 200, (url, response.status)
        empties = await unexpected_empties(walk.page, label)
        if not empties:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{label} ({url}) still shows empty states: {empties}")
        await asyncio.sleep(0.5)
    await walk.check(label)


async def links(page: Page, prefix: str) -> list[str]:
    """The paths of the main content's links starting with ``prefix``, once each."""
    hrefs = await page.locator(f'main a[href^="{prefix}"]').evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    found: list[str] = []
    for href in hrefs:
        path = str(href).split("#", 1)[0].split("?", 1)[0]
        if path not in found:
            found.append(path)
    return found


async def walk_organise(walk: Walk, base: str) -> None:
    """The organise page, every tool it links to, and the first entry of lists."""
    await visit_filled(walk, f"{base}/organise", "organise")
    tools = await links(walk.page, "/organise/")
    assert len(tools) >= 5, tools
    for path in tools:
        await visit_filled(walk, f"{base}{path}", path.strip("/").replace("/", "-"))
        prefix = ENTRIES.get(path)
        if prefix is not None:
            entries = await links(walk.page, prefix)
            assert entries, f"{path} lists nothing to open"
            label = path.strip("/").replace("/", "-")[:-1]
            await visit_filled(walk, f"{base}{entries[0]}", label)


async def test_the_demo_fills_every_page(
    demo: list[DemoNode],
    session: aiohttp.ClientSession,
    walk: Walk,
    tmp_path: Path,
) -> None:
    first, second = demo[0], demo[1]
    node = first.as_node(tmp_path)
    for label, path in await visitor_pages(session, first, second):
        await visit_filled(walk, f"{first.url}{path}", label)

    # The demo's members used up its invite links: the walk makes one more
    # (which the organise page then lists).
    invite = await call(session, node, "POST", "/api/v1/invites", {}, expect=201)
    await visit_filled(walk, f"{first.url}/invite/{invite['code']}", "invite")
    member = first.member
    await member_logs_in(walk, first.url, member["login"], member["password"])
    await visit_filled(walk, f"{first.url}/me", "me")
    await walk.page.get_by_role("button", name="Log out").click()
    await walk.page.wait_for_load_state("load")

    await organiser_logs_in(walk, session, node)
    await walk_organise(walk, first.url)
