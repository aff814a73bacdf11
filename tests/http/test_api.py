"""Every route of the members' API, in-process, including every refusal."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from node.services.setup import RESTORED_MARKER
from tests.http.conftest import ClientFactory, Served, make_settings, serve

GUIDE = {
    "type": "guide.published",
    "body": {
        "title": "Running a street stall",
        "text": "Bring leaflets about the rent strike.",
    },
}


async def _publish(node: Served, request: object, **headers: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = await node.client.post(
        "/api/v1/events",
        data=orjson.dumps(request),
        headers=headers or node.organiser,
    )
    return response.status, await response.json(content_type=None)


async def _head(node: Served) -> int:
    response = await node.client.get("/health")
    body = await response.json()
    return int(body["seq"])


async def test_health(node: Served) -> None:
    response = await node.client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "feed": node.made.feed, "seq": 1}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_publish_answers_the_signed_event_with_its_id(node: Served) -> None:
    status, event = await _publish(node, GUIDE)
    assert status == 201
    assert set(event) == {
        "v",
        "feed",
        "seq",
        "prev",
        "ts",
        "type",
        "body_hash",
        "body_size",
        "sig",
        "body",
        "id",
    }
    assert event["seq"] == 2
    assert event["prev"] == node.made.profile.id
    assert event["body"] == GUIDE["body"]
    fetched = await node.client.get(f"/api/v1/events/{event['id']}")
    assert await fetched.json() == event
    assert await _head(node) == 2


async def test_published_events_reach_listing_and_search(node: Served) -> None:
    _, event = await _publish(node, GUIDE)
    await node.projected()
    listing = await (await node.client.get("/api/v1/events")).json()
    assert [e["seq"] for e in listing["events"]] == [1, 2]
    assert listing["events"][1]["id"] == event["id"]
    assert listing["next"] == listing["events"][1]["position"]
    after = await node.client.get(f"/api/v1/events?after={listing['next']}")
    assert (await after.json()) == {"events": [], "next": None}
    hits = await (await node.client.get("/api/v1/search?q=rent strike")).json()
    assert hits["results"] == [
        {
            "type": "guide.published",
            "feed": node.made.feed,
            "seq": 2,
            "id": event["id"],
            "title": "Running a street stall",
            "snippet": "Bring leaflets about the [rent] [strike].",
        }
    ]
    groups = await (await node.client.get("/api/v1/groups?q=blaenavon")).json()
    assert [g["name"] for g in groups["groups"]] == ["Blaenavon Tenants"]


async def test_listing_filters(node: Served) -> None:
    await _publish(node, GUIDE)
    await node.projected()
    by_type = await node.client.get("/api/v1/events?type=group.profile_set")
    assert [e["type"] for e in (await by_type.json())["events"]] == [
        "group.profile_set"
    ]
    by_feed = await node.client.get(f"/api/v1/events?feed={node.made.feed}&limit=1")
    assert len((await by_feed.json())["events"]) == 1
    clamped = await node.client.get("/api/v1/events?limit=100000")
    assert clamped.status == 200


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=abc",
        "after=-1",
        "after=1e3",
        "feed=not-a-feed",
        "type=" + "x" * 200,
    ],
)
async def test_bad_listing_parameters_are_malformed(node: Served, query: str) -> None:
    response = await node.client.get(f"/api/v1/events?{query}")
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "malformed"


@pytest.mark.parametrize(
    "query", ['"', "*", "AND OR NOT", ")(", "NEAR(", "ŵ" * 400, "", "tŷ'; DROP TABLE"]
)
async def test_hostile_search_queries_are_answered(node: Served, query: str) -> None:
    response = await node.client.get("/api/v1/search", params={"q": query})
    assert response.status == 200
    assert "results" in await response.json()


async def test_search_query_over_the_limit(node: Served) -> None:
    response = await node.client.get("/api/v1/search", params={"q": "x" * 501})
    assert (await response.json())["code"] == "malformed"


async def test_missing_bad_and_revoked_credentials(node: Served) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer tdg_" + "A" * 43},
        {"Authorization": "Bearer " + "é" * 10},
    ):
        response = await node.client.post(
            "/api/v1/events", data=orjson.dumps(GUIDE), headers=headers
        )
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.json())["code"] == "unauthorised"
    assert await _head(node) == 1


async def test_members_cannot_publish(node: Served) -> None:
    member = node.token("member")
    status, problem = await _publish(node, GUIDE, Authorization=f"Bearer {member}")
    assert (status, problem["code"]) == (403, "forbidden")
    assert await _head(node) == 1


async def test_a_revoked_token_is_refused_at_once(node: Served) -> None:
    organiser = node.token("organiser")
    status, _ = await _publish(node, GUIDE, Authorization=f"Bearer {organiser}")
    assert status == 201
    assert node.services.private.revoke_token(organiser, now=2)
    status, problem = await _publish(node, GUIDE, Authorization=f"Bearer {organiser}")
    assert (status, problem["code"]) == (401, "unauthorised")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"{", 400, "malformed"),
        (b"", 400, "malformed"),
        (b"[]", 400, "malformed"),
        (b'{"type": "guide.published"}', 400, "malformed"),
        (b'{"type": 7, "body": {}}', 400, "malformed"),
        (b'{"type": "guide.published", "body": []}', 400, "malformed"),
        (b'{"type": "guide.published", "body": {"title": 1.5}}', 400, "non-canonical"),
        (
            b'{"type": "guide.published", "type": "x.y", "body": {}}',
            400,
            "non-canonical",
        ),
        (b'{"type": "guide.teleported", "body": {"title": "x"}}', 422, "unknown-type"),
        (b'{"type": "guide.published", "body": {"title": "no text"}}', 422, "schema"),
        (
            b'{"type": "guide.published", '
            b'"body": {"title": "t", "text": "x", "extra": 1}}',
            422,
            "schema",
        ),
        (b'{"type": "event.redacted", "body": {"id": "sha256:short"}}', 422, "schema"),
    ],
)
async def test_bad_publish_requests_are_refused_and_store_nothing(
    node: Served, data: bytes, status: int, code: str
) -> None:
    response = await node.client.post(
        "/api/v1/events", data=data, headers=node.organiser
    )
    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert await _head(node) == 1


async def test_a_request_over_the_size_limit(node: Served) -> None:
    huge = b'{"type": "guide.published", "body": {"title": "' + b"x" * 300_000 + b'"}}'
    response = await node.client.post(
        "/api/v1/events", data=huge, headers=node.organiser
    )
    assert response.status == 413
    assert (await response.json())["code"] == "too-large"
    assert await _head(node) == 1


async def test_unknown_routes_and_methods(node: Served) -> None:
    missing = await node.client.get("/api/v1/nothing")
    assert (missing.status, (await missing.json())["code"]) == (404, "not-found")
    wrong = await node.client.delete("/api/v1/events")
    assert wrong.status == 405
    assert "GET" in wrong.headers["Allow"]
    unknown = await node.client.get("/api/v1/events/sha256:" + "A" * 43)
    assert unknown.status == 404


async def test_redaction_through_the_api(node: Served) -> None:
    _, event = await _publish(node, GUIDE)
    status, _ = await _publish(
        node, {"type": "event.redacted", "body": {"id": event["id"]}}
    )
    assert status == 201
    await node.projected()
    fetched = await (await node.client.get(f"/api/v1/events/{event['id']}")).json()
    assert "body" not in fetched
    assert fetched["body_hash"] == event["body_hash"]
    hits = await (await node.client.get("/api/v1/search?q=leaflets")).json()
    assert hits["results"] == []
    listing = await (await node.client.get("/api/v1/events")).text()
    assert "leaflets" not in listing


async def test_private_data_never_appears_in_public_answers(node: Served) -> None:
    await _publish(node, GUIDE)
    await node.projected()
    for path in (
        "/api/v1/events",
        "/api/v1/search?q=First",
        "/api/v1/groups",
        "/metrics",
    ):
        text = await (await node.client.get(path)).text()
        assert "First organiser" not in text
        assert node.made.token not in text


async def test_metrics(node: Served) -> None:
    await _publish(node, GUIDE)
    text = await (await node.client.get("/metrics")).text()
    assert "tredegar_events_published_total 1.0" in text
    assert (
        'tredegar_http_requests_total{method="POST",route="/api/v1/events",status="201"}'
        in text
    )
    assert "tredegar_own_feed_seq 2.0" in text


async def test_a_restored_node_must_catch_up_before_publishing(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    settings, made = make_settings(tmp_path)
    (settings.data_dir / RESTORED_MARKER).write_text("restored\n")
    served = await serve(settings, made, aiohttp_client)
    try:
        status, problem = await _publish(served, GUIDE)
        assert (status, problem["code"]) == (503, "catching-up")
        assert await _head(served) == 1
    finally:
        await served.client.close()
        served.services.close()


async def test_authoritative_publishes_at_once_after_a_restore(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    settings, made = make_settings(tmp_path, authoritative=True)
    (settings.data_dir / RESTORED_MARKER).write_text("restored\n")
    served = await serve(settings, made, aiohttp_client)
    try:
        status, _ = await _publish(served, GUIDE)
        assert status == 201
        assert not (settings.data_dir / RESTORED_MARKER).exists()
    finally:
        await served.client.close()
        served.services.close()
