"""``tredegar demo``: its sample bodies, its options, and a real run of it.

The sample activity is checked against the schemas without any node (every
group, not only the three a run starts). The run test starts the demo as a
newcomer does, as a subprocess on free loopback ports, reads its one JSON
object, watches the three nodes converge over ``/fed/v1``, searches one node
for another group's campaign, then stops it with SIGINT and checks that no
node process is left behind.
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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from node.cli import build_parser
from node.services.demo_activity import (
    GROUPS,
    Held,
    Story,
    meeting_body,
    publish_replies,
    publish_story,
)
from node.services.validation import body_validator
from protocol import JsonObject

#: ``tredegar``, run by the interpreter running the tests.
TREDEGAR = (sys.executable, "-m", "node.cli")
#: How long the demo may take to print its nodes (start, publish, replies).
UP_SECONDS = 120.0
#: How long the nodes may take to converge once the demo has printed them.
SYNC_SECONDS = 30.0
#: How long the demo may take to exit after SIGINT.
STOP_SECONDS = 15.0
POLL_SECONDS = 0.1
Json = dict[str, Any]


# --- the sample activity -----------------------------------------------------


class _Validating:
    """A stand-in for a node: checks each body against its schema."""

    def __init__(self) -> None:
        self.published: list[tuple[str, JsonObject]] = []

    async def __call__(self, event_type: str, body: JsonObject) -> str:
        body_validator().validate(event_type, body)
        self.published.append((event_type, body))
        return f"sha256:{len(self.published):043d}"


@pytest.mark.parametrize("story", GROUPS, ids=[story.slug for story in GROUPS])
async def test_every_sample_body_passes_its_schema(story: Story) -> None:
    body_validator().validate("group.profile_set", story.profile)
    node = _Validating()
    await publish_story(node, story, date(2026, 11, 23))
    held = Held(*(f"sha256:{letter * 43}" for letter in "cqn"))
    await publish_replies(node, story, GROUPS[0], held)
    types = [event_type for event_type, _ in node.published]
    assert types.count("meeting.scheduled") >= 2
    assert {
        "campaign.launched",
        "campaign.updated",
        "campaign.endorsed",
        "guide.published",
        "question.asked",
        "answer.posted",
        "need.posted",
        "offer.posted",
        "pledge.target_set",
        "pledge.totals_reported",
    } <= set(types)


def test_the_groups_are_distinct() -> None:
    assert len({story.slug for story in GROUPS}) == len(GROUPS) == 10
    assert len({story.profile["name"] for story in GROUPS}) == len(GROUPS)


def test_meetings_keep_london_time_across_the_clock_change() -> None:
    # British Summer Time starts on Sunday 29 March 2026: the Tuesday surgery
    # after it is at 10:00 BST, which is 09:00 UTC.
    surgery = GROUPS[0].meetings[0]
    body = meeting_body(surgery, date(2026, 3, 27))
    starts = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    assert body["starts_at"] == int(starts.timestamp()) * 1000
    assert body["ends_at"] == body["starts_at"] + surgery.minutes * 60_000
    assert body["tz"] == "Europe/London"
    assert body["recurrence"] == {"freq": "weekly", "by_day": ["TU"]}


def test_a_monthly_meeting_repeats_on_the_same_weekday_of_the_month() -> None:
    reading_group = GROUPS[0].meetings[1]  # a Thursday, monthly
    body = meeting_body(reading_group, date(2026, 11, 23))  # a Monday
    assert body["recurrence"] == {"freq": "monthly", "by_day": ["4TH"]}  # 26 Nov


# --- options and the demo directory -------------------------------------------


@pytest.mark.parametrize("nodes", ["2", "11", "three"])
def test_the_number_of_nodes_is_three_to_ten(nodes: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["demo", "--nodes", nodes])
    assert exit_.value.code == 2


def test_the_demo_directory_defaults_to_demo() -> None:
    args = build_parser().parse_args(["demo"])
    assert (args.data, args.nodes, args.base_port, args.duration) == (
        "demo",
        3,
        8601,
        None,
    )


def test_a_directory_holding_something_else_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "notes"
    data.mkdir()
    (data / "minutes.txt").write_text("minutes of the steering group\n")
    done = subprocess.run(
        [*TREDEGAR, "demo", "--data", str(data), "--json"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "conflict"
    assert sorted(path.name for path in data.iterdir()) == ["minutes.txt"]


# --- a real run ---------------------------------------------------------------


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TREDEGAR_")}


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports that are free now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + count <= 65536 and all(_is_free(base + i) for i in range(count)):
            return base
    pytest.fail(f"found no {count} consecutive free ports")


def _node_processes(directory: Path) -> list[int]:
    """Processes whose command line names ``directory``."""
    found = subprocess.run(
        ["pgrep", "-f", str(directory)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
async def demo(
    tmp_path: Path,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """``tredegar demo`` running on three free ports; stopped at teardown."""
    directory = tmp_path / "demo"
    with (tmp_path / "demo.stderr").open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *TREDEGAR,
            *("demo", "--data", str(directory), "--nodes", "3", "--json"),
            *("--base-port", str(_free_ports(3)), "--duration", "20"),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=_environment(),
        )
    try:
        yield process, directory
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        for pid in _node_processes(directory):  # only if the demo failed to
            os.kill(pid, signal.SIGKILL)


async def _json(session: aiohttp.ClientSession, url: str) -> Json:
    async with session.get(url) as response:
        assert response.status == 200, url
        answer: Json = await response.json()
        return answer


async def _converged(session: aiohttp.ClientSession, nodes: list[Json]) -> bool:
    heads = [(await _json(session, f"{n['url']}/fed/v1/heads"))["heads"] for n in nodes]
    feeds = {node["feed"] for node in nodes}
    return all(set(h) == feeds for h in heads) and all(
        h == heads[0] and min(h.values()) > 1 for h in heads
    )


async def test_the_demo_federates_and_stops_on_sigint(
    demo: tuple[asyncio.subprocess.Process, Path], tmp_path: Path
) -> None:
    process, directory = demo
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), UP_SECONDS)
    stderr = (tmp_path / "demo.stderr").read_text()
    assert line, f"the demo printed nothing; its standard error:\n{stderr}"
    nodes = json.loads(line)["nodes"]
    assert [set(node) for node in nodes] == [{"name", "url", "feed", "token"}] * 3
    assert [node["name"] for node in nodes] == [
        str(story.profile["name"]) for story in GROUPS[:3]
    ]
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + SYNC_SECONDS
        while not await _converged(session, nodes):
            assert time.monotonic() < deadline, "the three nodes did not converge"
            await asyncio.sleep(POLL_SECONDS)
        await _check_search_and_replies(session, nodes)
    assert process.returncode is None, "the demo stopped before it was asked to"
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), STOP_SECONDS) == 0
    assert _node_processes(directory) == []
    assert await process.stdout.read() == b""  # still exactly one JSON object


async def _check_search_and_replies(
    session: aiohttp.ClientSession, nodes: list[Json]
) -> None:
    first, second, third = nodes
    title = str(GROUPS[0].campaign["title"])
    query = urlencode({"q": title})
    hits = (await _json(session, f"{third['url']}/api/v1/search?{query}"))["results"]
    campaigns = [
        hit
        for hit in hits
        if hit["type"] == "campaign.launched" and hit["feed"] == first["feed"]
    ]
    assert [hit["title"] for hit in campaigns] == [title]
    # The second group endorsed the first group's campaign, by its event id.
    url = f"{third['url']}/api/v1/events?feed={second['feed']}&type=campaign.endorsed"
    (endorsement,) = (await _json(session, url))["events"]
    assert endorsement["body"]["campaign"] == campaigns[0]["id"]
