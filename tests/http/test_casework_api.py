"""1-to-1s, cases and activity reports through the API: private, counted, erased."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from node.storage.private import DB_FILE, PrivateStore
from tests.http.conftest import ClientFactory, Served, make_settings, serve
from tests.http.test_openapi import check_answer
from tests.pg import private_bytes as stored_private_bytes

DAY = 86_400_000
NOW = 1_700_000_000_000
PERSON = "Morfudd Oneto-Onesecret"
NEIGHBOUR = "Iestyn Casework-Secret"
PROBLEM = "Universal credit sanction appeal zephyr-quux"
NOTES = "Worried about the library closing plover-notes"
SECRETS = (PERSON, NEIGHBOUR, PROBLEM, NOTES)
ONE = "/api/v1/one-to-ones"
CASES = "/api/v1/cases"


def casework_record(collection: str, body: object = None) -> Any:
    """A permissions ``prepare``: a fresh record of ``collection`` as ``{id}``."""
    from tests.http.test_permissions import Call, World

    made_body = (
        {"person": "Someone", "held_at": NOW}
        if collection == "one-to-ones"
        else {"person": "Someone", "problem": "Rent arrears"}
    )

    async def prepare(world: World, caller: str, headers: dict[str, str]) -> Call:
        made = await world.organiser_call("POST", f"/api/v1/{collection}", made_body)
        return Call({"id": made["id"], "feed": world.feed}, body=body)

    return prepare


async def send(
    served: Served,
    method: str,
    url: str,
    body: object = None,
    *,
    status: int,
    path: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Call as the organiser; check the status, the spec and no-store."""
    data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    response = await served.client.request(
        method, url, data=data, headers=headers or served.organiser
    )
    answer = await check_answer(response, path or url.split("?")[0], method)
    assert response.status == status, answer
    private = url.startswith((ONE, CASES, "/api/v1/activity"))
    if status < 400 and private:
        assert response.headers["Cache-Control"] == "no-store"
    return answer


async def test_a_one_to_one_is_recorded_found_changed_and_deleted(node: Served) -> None:
    one = {
        "person": PERSON,
        "held_at": NOW,
        "interests": ["libraries", "buses"],
        "notes": NOTES,
        "follow_ups": [{"text": "Invite to the reading group", "due_at": NOW + DAY}],
    }
    made = await send(node, "POST", ONE, one, status=201)
    assert made["person"] == PERSON
    assert made["open_follow_ups"] == 1
    assert made["follow_ups"][0] == {
        "number": 1,
        "text": "Invite to the reading group",
        "due_at": NOW + DAY,
        "done": False,
        "done_at": None,
    }
    other = await send(
        node, "POST", ONE, {"person": "Bryn", "held_at": NOW + 5 * DAY}, status=201
    )
    url, path = f"{ONE}/{made['id']}", ONE + "/{id}"
    assert await send(node, "GET", url, status=200, path=path) == made
    listed = await send(node, "GET", ONE, status=200)
    assert [o["id"] for o in listed["one_to_ones"]] == [other["id"], made["id"]]
    for query, expected in [
        (f"?from={NOW + DAY}", [other["id"]]),
        (f"?to={NOW + DAY}", [made["id"]]),
        ("?q=LIBRARY%20closing", [made["id"]]),
        ("?q=nowhere", []),
        ("?open_follow_ups=true", [made["id"]]),
    ]:
        page = await send(node, "GET", ONE + query, status=200, path=ONE)
        assert [o["id"] for o in page["one_to_ones"]] == expected, query
    change = {
        "notes": None,
        "follow_ups_done": [1],
        "add_follow_ups": [{"text": "Ask about the tenants' meeting"}],
    }
    changed = await send(node, "PATCH", url, change, status=200, path=path)
    assert changed["notes"] is None
    assert [f["done"] for f in changed["follow_ups"]] == [True, False]
    assert changed["open_follow_ups"] == 1
    await send(node, "DELETE", url, status=204, path=path)
    await send(node, "GET", url, status=404, path=path)
    await send(node, "DELETE", url, status=404, path=path)
    await send(node, "GET", f"{ONE}/not-an-id", status=404, path=path)


async def test_a_case_is_opened_worked_closed_and_reopened(node: Served) -> None:
    body = {"person": NEIGHBOUR, "problem": PROBLEM, "category": "Benefits"}
    case = await send(node, "POST", CASES, body, status=201)
    assert (case["status"], case["outcome"], case["actions"]) == ("open", None, [])
    url, path = f"{CASES}/{case['id']}", CASES + "/{id}"
    action = {"text": "Wrote to the jobcentre", "at": NOW}
    worked = await send(
        node, "POST", url + "/actions", action, status=201, path=path + "/actions"
    )
    assert worked["actions"] == [action]
    step = {"next_step": "Tribunal hearing", "next_step_at": NOW + 9 * DAY}
    assert (await send(node, "PATCH", url, step, status=200, path=path))[
        "next_step"
    ] == "Tribunal hearing"
    await send(node, "PATCH", url, {"status": "closed"}, status=422, path=path)
    await send(node, "PATCH", url, {"outcome": "Won"}, status=409, path=path)
    closed = await send(
        node,
        "PATCH",
        url,
        {"status": "closed", "outcome": "Sanction overturned"},
        status=200,
        path=path,
    )
    assert (closed["status"], closed["outcome"]) == ("closed", "Sanction overturned")
    assert closed["closed_at"] is not None
    second = await send(
        node, "POST", CASES, {"person": "Nia", "problem": "Mould"}, status=201
    )
    for query, expected in [
        ("?status=closed", [case["id"]]),
        ("?status=open", [second["id"]]),
        ("?category=benefits", [case["id"]]),
        ("?q=tribunal", [case["id"]]),
    ]:
        page = await send(node, "GET", CASES + query, status=200, path=CASES)
        assert [c["id"] for c in page["cases"]] == expected, query
    first = await send(node, "GET", CASES + "?limit=1", status=200, path=CASES)
    assert len(first["cases"]) == 1
    rest = await send(
        node, "GET", f"{CASES}?limit=1&after={first['next']}", status=200, path=CASES
    )
    assert rest["next"] is None
    assert {first["cases"][0]["id"], rest["cases"][0]["id"]} == {
        case["id"],
        second["id"],
    }
    await send(node, "GET", CASES + "?after=nonsense", status=400, path=CASES)
    reopened = await send(node, "PATCH", url, {"status": "open"}, status=200, path=path)
    assert (reopened["status"], reopened["outcome"], reopened["closed_at"]) == (
        "open",
        None,
        None,
    )
    await send(node, "DELETE", url, status=204, path=path)
    await send(
        node, "POST", url + "/actions", action, status=404, path=path + "/actions"
    )


HOSTILE = [
    (b"not json", 400),
    (b"[1, 2]", 400),
    (b'{"person": "X", "held_at": 1.5}', 400),
    (orjson.dumps({"person": "X", "held_at": NOW, "extra": 1}), 400),
    (orjson.dumps({"person": 7, "held_at": NOW}), 400),
    (orjson.dumps({"person": "X", "held_at": "today"}), 400),
    (orjson.dumps({"person": "X", "held_at": True}), 400),
    (orjson.dumps({"person": "X"}), 400),
    (orjson.dumps({"person": "X", "held_at": NOW, "interests": "buses"}), 400),
    (orjson.dumps({"person": "X", "held_at": NOW, "follow_ups": [{"due_at": 1}]}), 400),
    (orjson.dumps({"person": "", "held_at": NOW}), 422),
    (orjson.dumps({"person": "X" * 201, "held_at": NOW}), 422),
    (orjson.dumps({"person": "X", "held_at": -1}), 422),
    (orjson.dumps({"person": "X", "held_at": NOW, "interests": ["a"] * 21}), 422),
    (orjson.dumps({"person": "X", "held_at": NOW, "member": "nobody"}), 422),
    (
        orjson.dumps(
            {
                "person": "X",
                "held_at": NOW,
                "member": "00000000-0000-0000-0000-000000000000",
            }
        ),
        422,
    ),
    (orjson.dumps({"person": "X", "held_at": NOW, "notes": "n" * 20_000}), 413),
]


@pytest.mark.parametrize(("data", "status"), HOSTILE)
async def test_hostile_bodies_store_nothing(
    node: Served, data: bytes, status: int
) -> None:
    await send(node, "POST", ONE, data, status=status)
    case = data.replace(b'"held_at"', b'"opened_at"').replace(
        b'"X"', b'"X", "problem": "p"'
    )
    if b'"held_at"' in data:
        response = await node.client.post(CASES, data=case, headers=node.organiser)
        assert response.status in (400, 413, 422), await response.text()
    assert (await send(node, "GET", ONE, status=200))["one_to_ones"] == []
    assert (await send(node, "GET", CASES, status=200))["cases"] == []


async def test_hostile_changes_change_nothing(node: Served) -> None:
    made = await send(node, "POST", ONE, {"person": PERSON, "held_at": NOW}, status=201)
    url, path = f"{ONE}/{made['id']}", ONE + "/{id}"
    for body, status in [
        ({"follow_ups_done": [1]}, 422),  # no such follow-up
        ({"notes": "x", "held_at": "soon"}, 400),
        ({"person": None}, 400),
        ({"id": "other"}, 400),
    ]:
        await send(node, "PATCH", url, body, status=status, path=path)
    assert await send(node, "GET", url, status=200, path=path) == made
    await send(node, "GET", ONE + "?open_follow_ups=maybe", status=400, path=ONE)
    await send(
        node, "GET", "/api/v1/activity?from=5&to=5", status=400, path="/api/v1/activity"
    )


def scan(text: str | bytes) -> list[str]:
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return [secret for secret in SECRETS if secret.casefold() in raw.casefold()]


async def test_the_activity_report_publishes_counts_and_nothing_else(
    node: Served,
) -> None:
    now = node.services.clock()
    start, end = now - 10 * DAY, now + DAY
    await send(
        node,
        "POST",
        ONE,
        {"person": PERSON, "held_at": now - DAY, "notes": NOTES},
        status=201,
    )
    await send(
        node, "POST", ONE, {"person": NEIGHBOUR, "held_at": now - 20 * DAY}, status=201
    )
    closing = await send(
        node, "POST", CASES, {"person": NEIGHBOUR, "problem": PROBLEM}, status=201
    )
    await send(
        node,
        "POST",
        CASES,
        {"person": PERSON, "problem": "Rent", "opened_at": start - DAY},
        status=201,
    )
    done = {"status": "closed", "outcome": "Resolved"}
    await send(
        node,
        "PATCH",
        f"{CASES}/{closing['id']}",
        done,
        status=200,
        path=CASES + "/{id}",
    )
    counts = await send(
        node,
        "GET",
        f"/api/v1/activity?from={start}&to={end}",
        status=200,
        path="/api/v1/activity",
    )
    expected = {
        "one_to_ones_held": 1,
        "cases_opened": 1,
        "cases_closed": 1,
        "cases_open": 1,
        "members": 1,  # the first organiser; script accounts are not people
    }
    assert counts == {"starts_at": start, "ends_at": end, **expected}
    period = {"starts_at": start, "ends_at": end}
    event = await send(node, "POST", "/api/v1/activity/report", period, status=201)
    assert event["type"] == "group.activity_reported"
    assert event["body"] == {**period, **expected}
    feed = node.services.key.feed
    served_feed = await node.client.get(f"/fed/v1/feeds/{feed}")
    events = await node.client.get("/api/v1/events")
    assert scan(await served_feed.read()) == []
    assert scan(await events.read()) == []
    for words in ("Morfudd", "zephyr", "plover"):
        hits = await node.client.get("/api/v1/search", params={"q": words})
        assert (await hits.json())["results"] == []
    await node.projected()
    reports = await send(
        node,
        "GET",
        f"/api/v1/groups/{feed}/activity",
        status=200,
        path="/api/v1/groups/{feed}/activity",
    )
    assert [r["id"] for r in reports["reports"]] == [event["id"]]
    assert {k: reports["reports"][0][k] for k in expected} == expected


async def test_a_member_erased_takes_their_records_with_them(node: Served) -> None:
    invite = await send(node, "POST", "/api/v1/invites", {}, status=201)
    joiner = {"display_name": "Linked Member", "login": "linked", "password": "x" * 12}
    accepted = await node.client.post(
        f"/api/v1/invites/{invite['code']}/accept", data=orjson.dumps(joiner)
    )
    member = (await accepted.json())["id"]
    linked = await send(
        node,
        "POST",
        ONE,
        {"person": PERSON, "held_at": NOW, "member": member},
        status=201,
    )
    case = await send(
        node,
        "POST",
        CASES,
        {"person": PERSON, "problem": PROBLEM, "member": member},
        status=201,
    )
    kept = await send(node, "POST", ONE, {"person": "Bryn", "held_at": NOW}, status=201)
    before = await send(
        node,
        "GET",
        f"/api/v1/activity?from={NOW}&to={NOW + 1}",
        status=200,
        path="/api/v1/activity",
    )
    response = await node.client.delete(
        f"/api/v1/members/{member}", headers=node.organiser
    )
    assert response.status == 204, await response.text()
    await send(node, "GET", f"{ONE}/{linked['id']}", status=404, path=ONE + "/{id}")
    await send(node, "GET", f"{CASES}/{case['id']}", status=404, path=CASES + "/{id}")
    listed = await send(node, "GET", ONE, status=200)
    assert [o["id"] for o in listed["one_to_ones"]] == [kept["id"]]
    after = await send(
        node,
        "GET",
        f"/api/v1/activity?from={NOW}&to={NOW + 1}",
        status=200,
        path="/api/v1/activity",
    )
    assert after["one_to_ones_held"] == before["one_to_ones_held"] == 2


def private_bytes(served: Served) -> bytes:
    return stored_private_bytes(served.settings)


async def test_with_a_node_key_the_files_hold_no_recognisable_text(
    node: Served,
) -> None:
    assert node.settings.encryption_key_path.exists()
    await send(
        node,
        "POST",
        ONE,
        {"person": PERSON, "held_at": NOW, "notes": NOTES, "interests": ["allotments"]},
        status=201,
    )
    await send(
        node,
        "POST",
        CASES,
        {"person": NEIGHBOUR, "problem": PROBLEM, "category": "Benefits"},
        status=201,
    )
    raw = private_bytes(node)
    for secret in (*SECRETS, "allotments", "Benefits"):
        assert secret.encode() not in raw, secret


async def test_without_a_node_key_the_routes_still_work(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    settings, made = make_settings(tmp_path)
    settings.encryption_key_path.unlink()
    for path in settings.data_dir.iterdir():
        if path.name.startswith(DB_FILE):
            path.unlink()
    private = PrivateStore.open(settings)
    try:
        account = private.create_account("Organiser", "organiser", now=1)
        token = private.issue_token(account, "organiser", label="t", now=1).token
    finally:
        private.close()
    served = await serve(settings, made, aiohttp_client)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        case = await send(
            served,
            "POST",
            CASES,
            {"person": NEIGHBOUR, "problem": PROBLEM},
            status=201,
            headers=headers,
        )
        got = await send(
            served,
            "GET",
            f"{CASES}/{case['id']}",
            status=200,
            path=CASES + "/{id}",
            headers=headers,
        )
        assert got["problem"] == PROBLEM
        assert PROBLEM.encode() not in private_bytes(served)  # sealed all the same
    finally:
        await served.client.close()
        served.services.close()


async def test_a_later_report_replaces_and_a_redacted_one_gives_way(
    node: Served,
) -> None:
    feed, path = node.services.key.feed, "/api/v1/groups/{feed}/activity"
    period = {"starts_at": NOW, "ends_at": NOW + 30 * DAY}
    first = await send(node, "POST", "/api/v1/activity/report", period, status=201)
    held = {"person": PERSON, "held_at": NOW + DAY}
    await send(node, "POST", ONE, held, status=201)
    second = await send(node, "POST", "/api/v1/activity/report", period, status=201)
    assert first["body"]["one_to_ones_held"] == 0
    assert second["body"]["one_to_ones_held"] == 1
    await node.projected()
    url = f"/api/v1/groups/{feed}/activity"
    shown = await send(node, "GET", url, status=200, path=path)
    assert [r["id"] for r in shown["reports"]] == [second["id"]]
    redaction = {"type": "event.redacted", "body": {"id": second["id"]}}
    await send(node, "POST", "/api/v1/events", redaction, status=201)
    await node.projected()
    shown = await send(node, "GET", url, status=200, path=path)
    assert [r["id"] for r in shown["reports"]] == [first["id"]]
    unknown = "/api/v1/groups/ed25519:" + "A" * 43 + "/activity"
    await send(node, "GET", unknown, status=404, path=path)
    await send(node, "GET", "/api/v1/groups/nope/activity", status=400, path=path)
