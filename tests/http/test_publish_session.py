"""``POST /api/v1/events`` with a web session: organisers only, CSRF-checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.http.conftest import ClientFactory
from tests.http.test_rsvps_api import Node, started
from tests.protocol.sample_bodies import SAMPLE_BODIES

EVENTS = "/api/v1/events"
UPDATE = {"type": "campaign.updated", "body": SAMPLE_BODIES["campaign.updated"]}


@pytest.fixture
async def node(tmp_path: Path, aiohttp_client: ClientFactory) -> AsyncIterator[Node]:
    async for running in started(tmp_path, aiohttp_client):
        yield running


async def test_an_organisers_session_publishes(node: Node) -> None:
    organiser = await node.join("Dilys Publisher", "dilys", role="organiser")
    head = await node.head()
    status, event = await node.call("POST", EVENTS, UPDATE, **organiser)
    assert status == 201
    assert (event["seq"], event["body"]) == (head + 1, UPDATE["body"])
    audit = node.services.private.audit_log(1)[0]
    assert (audit.action, audit.target) == ("published", event["id"])


async def test_a_bearer_token_still_publishes(node: Node) -> None:
    assert (await node.call("POST", EVENTS, UPDATE, **node.org))[0] == 201


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("member session", 403, "forbidden"),
        ("member token", 403, "forbidden"),
        ("organiser session without CSRF", 403, "forbidden"),
        ("organiser session with a wrong CSRF", 403, "forbidden"),
        ("ended session", 401, "unauthorised"),
        ("nobody", 401, "unauthorised"),
    ],
)
async def test_others_are_refused_and_nothing_is_stored(
    node: Node, who: str, status: int, code: str
) -> None:
    organiser = await node.join("Dilys Publisher", "dilys", role="organiser")
    member = await node.join("Emrys Member", "emrys")
    headers = {
        "member session": member,
        "member token": node.bearer(),
        "organiser session without CSRF": {"Cookie": organiser["Cookie"]},
        "organiser session with a wrong CSRF": {
            "Cookie": organiser["Cookie"],
            "X-CSRF-Token": member["X-CSRF-Token"],
        },
        "ended session": {"Cookie": "tredegar_session=tds_" + "A" * 43},
        "nobody": {},
    }[who]
    head, private = await node.head(), node.private_state()
    answer = await node.call("POST", EVENTS, UPDATE, **headers)
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert (await node.head(), node.private_state()) == (head, private)
