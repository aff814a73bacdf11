"""``tredegar demo``: its sample bodies, its options, and a real run of it.

The sample activity is checked against the schemas without any node (every
group, not only the three a run starts). The run test starts the demo as a
newcomer does, as a subprocess on free loopback ports, reads its one JSON
object, watches the three nodes converge over ``/fed/v1``, searches one node
for another group's campaign, checks that every node shows what the groups
did together (the network and its groups, the tour and its stops with every
group's RSVPs, the co-run and the won campaign) and that a demo member can
log in, then stops it with SIGINT and checks that no node process is left
behind.
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
from zoneinfo import ZoneInfo

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
from node.services.demo_decisions import (
    action_body,
    delegate_decision_body,
    proposal_body,
    task_bodies,
)
from node.services.demo_story import (
    MEMBER_LOGIN,
    publish_convenor,
    publish_partner,
    surgery_changes,
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


async def test_what_the_groups_do_together_passes_the_schemas() -> None:
    feeds = [f"ed25519:{letter * 43}" for letter in "ABCD"]
    convenor = _Validating()
    campaign = f"sha256:{'c' * 43}"
    together = await publish_convenor(convenor, feeds, date(2026, 11, 23), campaign)
    types = [event_type for event_type, _ in convenor.published]
    assert types == [
        "network.formed",
        "tour.announced",
        "meeting.scheduled",
        "meeting.scheduled",
        "campaign.co_owner_added",
        "campaign.action_called",
    ]
    tour, conference = convenor.published[1][1], convenor.published[3][1]
    assert tour["hosts"] == feeds[:3]
    assert conference["cohosts"] == feeds[1:3]
    assert conference["kind"] == "conference"
    assert isinstance(conference["programme"], list)
    assert len(conference["programme"]) >= 3
    partners = []
    for index in (1, 2, 3):
        partner = _Validating()
        own = f"sha256:{str(index) * 43}"
        await publish_partner(partner, index, date(2026, 11, 23), together, own)
        partners.append([event_type for event_type, _ in partner.published])
    assert all(types[0] == "network.joined" for types in partners)
    assert partners[0].count("meeting.occurrence_changed") == 2
    assert "campaign.updated" in partners[0]
    assert {"campaign.endorsed", "campaign.outcome_declared"} <= set(partners[1])
    assert partners[2] == ["network.joined"]


def test_what_the_groups_decide_passes_the_schemas() -> None:
    idea, decision, campaign = (f"sha256:{letter * 43}" for letter in "idc")
    validate = body_validator().validate
    validate("proposal.opened", proposal_body(idea, 1_800_000_000_000))
    network = f"sha256:{'n' * 43}"
    validate("network.decision_opened", delegate_decision_body(network, 1))
    tasks = task_bodies(decision, 1_800_000_000_000)
    for task in tasks:
        validate("task.created", task)
    assert {task["decision"] for task in tasks} == {decision}
    action = action_body(campaign, decision, 1_800_000_000_000)
    validate("campaign.action_called", action)


def test_the_surgery_loses_one_week_and_moves_another() -> None:
    # 23 November 2026 is a Monday: the surgery is on Thursdays from the 26th.
    cancelled, moved = surgery_changes(date(2026, 11, 23), f"sha256:{'s' * 43}")
    london = ZoneInfo("Europe/London")
    assert cancelled["change"] == "cancelled"
    assert "starts_at" not in cancelled
    day = datetime.fromtimestamp(
        int(str(cancelled["occurrence_starts_at"])) / 1000, london
    )
    assert day.strftime("%a %d %H:%M") == "Thu 10 13:00"
    assert moved["change"] == "moved"
    start = datetime.fromtimestamp(int(str(moved["starts_at"])) / 1000, london)
    assert start.strftime("%a %d %H:%M") == "Thu 17 17:30"


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
            *("--base-port", str(_free_ports(3)), "--duration", "90"),
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
    keys = {"name", "url", "feed", "token", "member"}
    assert [set(node) for node in nodes] == [keys] * 3
    assert {node["member"]["login"] for node in nodes} == {MEMBER_LOGIN}
    assert [node["name"] for node in nodes] == [
        str(story.profile["name"]) for story in GROUPS[:3]
    ]
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + SYNC_SECONDS
        while not await _converged(session, nodes):
            assert time.monotonic() < deadline, "the three nodes did not converge"
            await asyncio.sleep(POLL_SECONDS)
        await _check_search_and_replies(session, nodes)
        await _check_together(session, nodes)
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


async def _try_json(session: aiohttp.ClientSession, url: str) -> Json | None:
    async with session.get(url) as response:
        if response.status != 200:
            return None
        answer: Json = await response.json()
        return answer


async def _together_on(
    session: aiohttp.ClientSession, node: Json, nodes: list[Json]
) -> list[str]:
    """What is not (yet) right on one node of what the groups did together."""
    first, second, third = nodes
    api, wrong = f"{node['url']}/api/v1", []
    network = ((await _try_json(session, f"{api}/networks")) or {}).get("networks")
    if not network:
        return ["no network"]
    detail = await _try_json(session, f"{api}/networks/{network[0]['id']}")
    feeds = {g["feed"] for g in (detail or {}).get("groups", [])}
    if feeds != {n["feed"] for n in nodes}:
        wrong.append(f"the network's groups are {feeds}")
    tours = ((await _try_json(session, f"{api}/tours")) or {}).get("tours")
    tour = tours and await _try_json(session, f"{api}/tours/{tours[0]['id']}")
    stops = (tour or {}).get("stops", [])
    if [stop["host"]["feed"] for stop in stops] != [n["feed"] for n in nodes]:
        wrong.append(f"the tour has {len(stops)} stops")
    elif sum(stop["counts"]["yes"] for stop in stops[:1]) != 3:
        wrong.append(f"the first stop's counts are {stops[0]['counts']}")
    wrong += await _campaigns_on(session, api, first, second, third)
    wrong += await _decided_on(session, api, network[0]["id"], first)
    return wrong


async def _helped_on(
    session: aiohttp.ClientSession, api: str, first: Json
) -> list[str]:
    """The first group's question: answered by the second, helpful to the third."""
    asked = await _try_json(session, f"{api}/questions?feed={first['feed']}")
    questions = (asked or {}).get("questions", [])
    question = questions and await _try_json(
        session, f"{api}/questions/{questions[0]['id']}"
    )
    if not [a for a in (question or {}).get("answers", []) if a["helpful"] == 1]:
        return ["no answer to the first group's question is marked helpful"]
    advisers = await _try_json(session, f"{api}/advisers")
    return [] if (advisers or {}).get("advisers") else ["no adviser is listed"]


async def _decided_on(
    session: aiohttp.ClientSession, api: str, network: str, first: Json
) -> list[str]:
    """What is not (yet) right on one node of what the groups decided."""
    wrong = []
    feed = {"feed": first["feed"]}
    decided = await _try_json(
        session, f"{api}/proposals?{urlencode({**feed, 'status': 'decided'})}"
    )
    if len((decided or {}).get("proposals", [])) != 1:
        wrong.append("the first group's proposal is not decided")
    votes = await _try_json(session, f"{api}/networks/{network}/decisions")
    if [d["status"] for d in (votes or {}).get("decisions", [])] != ["decided"]:
        wrong.append("the network's delegate decision is not decided")
    met = await _try_json(
        session, f"{api}/needs?{urlencode({**feed, 'status': 'met'})}"
    )
    if len((met or {}).get("needs", [])) != 1:
        wrong.append("the first group's need is not met")
    wrong += await _helped_on(session, api, first)
    activity = await _try_json(session, f"{api}/groups/{first['feed']}/activity")
    if not (activity or {}).get("reports"):
        wrong.append("the first group's activity report is missing")
    hits = await _try_json(session, f"{api}/search?q=Ashvale+Road")
    if hits is None or "Ashvale Road" in json.dumps(hits):
        wrong.append("the search shows the private 1-to-1")
    return wrong


async def _campaigns_on(
    session: aiohttp.ClientSession, api: str, first: Json, second: Json, third: Json
) -> list[str]:
    """What is not (yet) right on one node of the co-run and the won campaign."""
    wrong = []
    owned = await _try_json(session, f"{api}/campaigns?feed={first['feed']}")
    ashvale = [
        c for c in (owned or {}).get("campaigns", []) if c["feed"] == first["feed"]
    ]
    if not ashvale or [o["feed"] for o in ashvale[0]["co_owners"]] != [second["feed"]]:
        wrong.append("the first group's campaign has not the second as co-owner")
    won = await _try_json(session, f"{api}/campaigns?status=won")
    if [c["feed"] for c in (won or {}).get("campaigns", [])] != [third["feed"]]:
        wrong.append("the third group's campaign is not won")
    return wrong


async def _check_together(session: aiohttp.ClientSession, nodes: list[Json]) -> None:
    """Every node shows the network, the tour, the RSVPs and the campaigns."""
    deadline = time.monotonic() + SYNC_SECONDS
    while True:
        wrong = {n["name"]: await _together_on(session, n, nodes) for n in nodes}
        if not any(wrong.values()):
            break
        assert time.monotonic() < deadline, wrong
        await asyncio.sleep(POLL_SECONDS * 5)
    member = nodes[1]["member"]
    async with session.post(f"{nodes[1]['url']}/api/v1/session", json=member) as login:
        assert login.status == 200, await login.text()
