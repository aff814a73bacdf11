"""Pledges through the API: conditional pledges turning on and off with other
groups' totals, published totals equal to the private state, privacy of the
names, closed targets, hostile input, export and erasure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from protocol import Event, JsonObject, sign
from tests.http.conftest import ClientFactory
from tests.http.test_openapi import check_answer
from tests.http.test_rsvps_api import Node, started, wait_for
from tests.protocol.helpers import KEY_B, T0

NAMES = ("Angharad Pledge-Private", "Dafydd Pledge-Private", "Eirlys Pledge-Private")
REPORTED = "pledge.totals_reported"
DAY = 86_400_000


@pytest.fixture
async def node(tmp_path: Path, aiohttp_client: ClientFactory) -> AsyncIterator[Node]:
    async for running in started(tmp_path, aiohttp_client):
        yield running


async def set_target(node: Node, **body: Any) -> str:
    content = {"title": "Stewards for the march", "kind": "time", "target_hours": 40}
    merged = {k: v for k, v in {**content, **body}.items() if v is not None}
    request = {"type": "pledge.target_set", "body": merged}
    status, event = await node.call("POST", "/api/v1/events", request, **node.org)
    assert status == 201, event
    await node.served.projected()
    return str(event["id"])


def path(target: str, tail: str = "") -> str:
    return f"/api/v1/pledge-targets/{target}{tail}"


class Elsewhere:
    """Another group's feed, stored here as sync would store it."""

    def __init__(self) -> None:
        self.head: Event | None = None

    async def publish(self, node: Node, event_type: str, body: JsonObject) -> Event:
        seq = 1 if self.head is None else self.head.seq + 1
        if self.head is None:
            profile = sign(KEY_B, None, T0, "group.profile_set", {"name": "Ebbw Vale"})
            await node.services.writer.append_verified([profile])
            self.head, seq = profile, 2
        event = sign(KEY_B, self.head, T0 + seq, event_type, body)
        await node.services.writer.append_verified([event])
        self.head = event
        await node.served.projected()
        return event


async def own_reports(node: Node, target: str) -> list[JsonObject]:
    found = []
    for event in await node.own(REPORTED):
        if event.body is not None and event.body["target"] == target:
            found.append(event.body)
    return found


async def last_pledgers(node: Node, target: str) -> int | None:
    reports = await own_reports(node, target)
    return int(reports[-1]["pledgers"]) if reports else None  # type: ignore[arg-type]


async def test_a_conditional_pledge_turns_on_with_others_here_and_elsewhere(
    node: Node,
) -> None:
    target = await set_target(node)
    angharad, dafydd, eirlys = (node.bearer(name=name) for name in NAMES)
    four_if = {"hours": 4, "condition": {"others": 3}}
    status, mine = await node.call("PUT", path(target, "/pledge"), four_if, **angharad)
    assert status == 200, mine
    assert mine["pledge"]["counted"] is False
    assert mine["totals"] == {"pledgers": 0, "total_hours": 0}
    assert await own_reports(node, target) == []  # nothing changed: nothing said
    for who in (dafydd, eirlys):
        assert (await node.call("PUT", path(target, "/pledge"), {"hours": 1}, **who))[
            0
        ] == 200
    assert await last_pledgers(node, target) == 2  # two others only
    # One pledger in another group's published totals makes three others.
    elsewhere = Elsewhere()
    await elsewhere.publish(
        node, REPORTED, {"target": target, "pledgers": 1, "total_hours": 2}
    )

    async def turned_on() -> bool:
        return await last_pledgers(node, target) == 3

    await wait_for(turned_on)
    _, mine = await node.call("GET", path(target, "/pledge"), **angharad)
    assert mine["pledge"]["counted"] is True
    assert mine["totals"] == {"pledgers": 3, "total_hours": 6}
    _, shown = await node.call("GET", path(target))
    assert shown["progress"]["total_hours"] == 8
    assert shown["progress"]["pledgers"] == 4
    assert shown["progress"]["permille"] == 200
    # Dafydd withdraws: two others again, so Angharad's pledge is off.
    assert (await node.call("DELETE", path(target, "/pledge"), **dafydd))[0] == 204
    assert (await own_reports(node, target))[-1] == {
        "target": target,
        "pledgers": 1,
        "total_hours": 1,
    }
    _, names = await node.call("GET", path(target, "/pledges"), **node.org)
    assert [(p["name"], p["counted"]) for p in names["pledges"]] == [
        (NAMES[0], False),
        (NAMES[2], True),
    ]
    assert names["pledges"][0]["condition"] == {"others": 3}
    # The other group's totals fall to nothing: still off, and nothing new.
    await elsewhere.publish(
        node, REPORTED, {"target": target, "pledgers": 0, "total_hours": 0}
    )
    await node.services.pledges.recount()
    assert await last_pledgers(node, target) == 1


async def test_totals_published_equal_the_private_state_after_a_burst(
    node: Node,
) -> None:
    target = await set_target(
        node, kind="money", target_hours=None, target_pence=100_000
    )
    people = [node.bearer(name=f"Burst member {n}") for n in range(12)]

    async def pledge(n: int, who: dict[str, str]) -> int:
        body = {"pence": 100 * (n + 1)}
        if n % 3 == 0:
            body = {**body, "condition": {"others": 5}}  # type: ignore[dict-item]
        status, _ = await node.call("PUT", path(target, "/pledge"), body, **who)
        return status

    assert set(await asyncio.gather(*map(pledge, range(12), people))) == {200}
    withdrawals = [
        node.call("DELETE", path(target, "/pledge"), **people[n]) for n in (1, 2)
    ]
    await asyncio.gather(*withdrawals)
    held = await node.services.read(node.services.private.pledges.held, target)
    assert len(held) == 10
    expected = sum(h.pledge.pence or 0 for h in held)
    assert (await own_reports(node, target))[-1] == {
        "target": target,
        "pledgers": 10,
        "total_pence": expected,
    }
    await node.served.projected()
    _, shown = await node.call("GET", path(target))
    assert shown["progress"]["total_pence"] == expected


async def test_pledge_to_another_groups_target(node: Node) -> None:
    elsewhere = Elsewhere()
    theirs = await elsewhere.publish(
        node,
        "pledge.target_set",
        {"title": "Drivers", "kind": "skills", "skills": ["driving", "first aid"]},
    )
    member = node.bearer(name=NAMES[0])
    body = {"skills": ["first aid"]}
    status, mine = await node.call("PUT", path(theirs.id, "/pledge"), body, **member)
    assert status == 200, mine
    assert (await own_reports(node, theirs.id))[-1]["skills"] == [
        {"skill": "driving", "pledgers": 0},
        {"skill": "first aid", "pledgers": 1},
    ]
    await node.served.projected()
    _, shown = await node.call("GET", path(theirs.id))
    assert shown["progress"]["permille"] == 500
    assert {t["group"]["feed"] for t in shown["totals"]} == {node.feed}


async def test_closed_and_replaced_targets_take_no_pledges(node: Node) -> None:
    now = node.services.clock()
    closed = await set_target(node, closes_at=now - 1)
    member = node.bearer()
    one = {"hours": 1}
    assert (await node.call("PUT", path(closed, "/pledge"), one, **member))[0] == 409
    assert (await node.call("DELETE", path(closed, "/pledge"), **member))[0] == 409
    first = await set_target(node, closes_at=now + DAY)
    await set_target(node, replaces=first)
    status, problem = await node.call("PUT", path(first, "/pledge"), one, **member)
    assert (status, problem["code"]) == (409, "conflict")
    _, listed = await node.call("GET", "/api/v1/pledge-targets?status=closed")
    assert {t["id"] for t in listed["targets"]} == {closed, first}


async def test_hostile_input_is_refused_and_nothing_stored(node: Node) -> None:
    target = await set_target(node)
    member = node.bearer()
    unheld = "sha256:" + "A" * 43
    refusals: list[tuple[str, object, int]] = [
        (path(target, "/pledge"), {"pence": 5}, 422),  # wrong kind
        (path(target, "/pledge"), {}, 422),  # no amount
        (path(target, "/pledge"), {"hours": 1, "pence": 2}, 422),
        (path(target, "/pledge"), {"hours": 0}, 422),
        (path(target, "/pledge"), {"hours": 1, "condition": {"others": 0}}, 422),
        (path(target, "/pledge"), {"hours": 1, "condition": {"n": 2}}, 400),
        (path(target, "/pledge"), {"hours": 1, "condition": 3}, 400),
        (path(target, "/pledge"), {"hours": "1"}, 400),
        (path(target, "/pledge"), {"hours": 1, "name": "Me"}, 400),
        (path(target, "/pledge"), [1], 400),
        (path(target, "/pledge"), b"{not json", 400),
        (path(target, "/pledge"), b'{"hours": 1.5}', 400),
        (path(target, "/pledge"), b" " * 20_000, 413),
        (path(unheld, "/pledge"), {"hours": 1}, 404),
        ("/api/v1/pledge-targets/nope/pledge", {"hours": 1}, 400),
    ]
    before = node.private_state()
    for url, body, expected in refusals:
        status, problem = await node.call("PUT", url, body, **member)
        assert status == expected, (url, body, problem)
    assert node.private_state() == before
    assert (await node.call("GET", "/api/v1/pledge-targets?after=zzz"))[0] == 400
    assert (await node.call("GET", "/api/v1/pledge-targets?kind=food"))[0] == 400
    assert (await node.call("GET", "/api/v1/pledge-targets?subject=x"))[0] == 400
    assert (await node.call("GET", path(unheld)))[0] == 404
    skills = await set_target(
        node, kind="skills", target_hours=None, skills=["driving"]
    )
    wrong: list[dict[str, list[str]]] = [
        {"skills": ["juggling"]},
        {"skills": []},
        {"skills": ["driving"] * 2},
    ]
    for bad in wrong:
        assert (await node.call("PUT", path(skills, "/pledge"), bad, **member))[
            0
        ] == 422
    assert (await node.call("PUT", path(skills, "/pledge"), {"skills": [1]}, **member))[
        0
    ] == 400


async def test_names_stay_private_and_leave_with_erasure(node: Node) -> None:
    target = await set_target(node)
    people = [await node.join(name, f"pledger{n}") for n, name in enumerate(NAMES)]
    for who in people:
        status, _ = await node.call("PUT", path(target, "/pledge"), {"hours": 2}, **who)
        assert status == 200
    await node.served.projected()
    public = [
        "/api/v1/pledge-targets",
        path(target),
        "/api/v1/events?limit=500",
        f"/fed/v1/feeds/{node.feed}",
        "/api/v1/search?q=Pledge-Private",
    ]
    for url in public:
        response = await node.served.client.get(url)
        text = await response.text()
        assert response.status == 200
        assert not any(name in text for name in NAMES), url
    response = await node.served.client.get(path(target, "/pledges"), headers=node.org)
    named = await check_answer(
        response, "/api/v1/pledge-targets/{id}/pledges", status=200
    )
    assert {p["name"] for p in named["pledges"]} == set(NAMES)
    assert response.headers["Cache-Control"] == "no-store"
    # Export, then erasure: the totals are published again without them.
    status, export = await node.call("GET", "/api/v1/me/export", **people[0])
    assert status == 200
    assert [(p["target"], p["hours"]) for p in export["pledges"]] == [(target, 2)]
    assert (await node.call("DELETE", "/api/v1/me", **people[0]))[0] == 204

    async def recounted() -> bool:
        return await last_pledgers(node, target) == 2

    await wait_for(recounted)


async def test_answers_match_the_openapi_document(node: Node) -> None:
    target = await set_target(node, closes_at=node.services.clock() + DAY)
    member = node.bearer()
    calls = [
        ("PUT", "/pledge", {"hours": 3, "condition": {"others": 1}}, member, 200),
        ("GET", "/pledge", None, member, 200),
        ("GET", "/pledges", None, node.org, 200),
        ("GET", "", None, {}, 200),
        ("DELETE", "/pledge", None, member, 204),
    ]
    for method, tail, body, headers, status in calls:
        response = await node.served.client.request(
            method,
            path(target, tail),
            data=None if body is None else orjson.dumps(body),
            headers=headers,
        )
        documented = "/api/v1/pledge-targets/{id}" + tail
        await check_answer(response, documented, method, status=status)
    response = await node.served.client.get("/api/v1/pledge-targets?kind=time")
    page = await check_answer(response, "/api/v1/pledge-targets", status=200)
    assert [t["id"] for t in page["targets"]] == [target]
