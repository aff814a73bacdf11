"""One real node process on loopback: concurrency, kill -9, tampering, refusals.

Each test starts ``tredegar run`` as a subprocess (see ``conftest.py``) and
talks to it over HTTP with aiohttp, or runs the real ``tredegar`` command on
its data directory, as an operator would. What is shown: DESIGN §4 (one
writer, durable acknowledgements, read models equal to a rebuild, one process
per data directory), §6 (the fixed routes, tokens), §8 (refusals as
problem+json that change nothing) and ``tredegar verify`` finding a byte
changed on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.network.conftest import (
    Json,
    Node,
    NodeFactory,
    eventually,
    free_port,
    guide,
    health,
    list_all,
    publish,
    search,
    tredegar,
    tredegar_json,
)

PUBLISHERS = 20
PUBLISHES_EACH = 10
#: Acknowledged publishes before the node is killed.
KILL_AFTER = 90


def assert_verifies(node: Node, events: int) -> None:
    """``tredegar verify --json`` (node stopped) exits 0 having checked ``events``."""
    result = tredegar_json("verify", "--data", node.data)
    assert result.value == {"checked": events, "problems": []}


async def test_health_names_the_feed_made_by_init(node: Node) -> None:
    async with aiohttp.ClientSession() as session:
        assert await health(session, node) == {
            "status": "ok",
            "feed": node.feed,
            "seq": 1,
        }


async def test_concurrent_publishes_make_one_gapless_chain(node: Node) -> None:
    async def client(k: int) -> list[Json]:
        async with aiohttp.ClientSession() as session:
            return [
                await publish(session, node, k * PUBLISHES_EACH + i)
                for i in range(PUBLISHES_EACH)
            ]

    answers = [
        a
        for batch in await asyncio.gather(*map(client, range(PUBLISHERS)))
        for a in batch
    ]

    total = PUBLISHERS * PUBLISHES_EACH
    assert sorted(a["seq"] for a in answers) == list(range(2, total + 2))
    assert len({a["id"] for a in answers}) == total
    by_seq = {a["seq"]: a for a in answers}
    for seq in range(3, total + 2):  # one chain: each names the one before
        assert by_seq[seq]["prev"] == by_seq[seq - 1]["id"]
    async with aiohttp.ClientSession() as session:
        assert (await health(session, node))["seq"] == total + 1

        async def listed() -> list[Json]:
            return await list_all(session, node, feed=node.feed)

        async def all_listed() -> bool:
            return len(await listed()) >= total + 1

        await eventually(all_listed, what="the listing to show every event")
        events = await listed()
    assert [e["seq"] for e in events] == list(range(1, total + 2))
    assert [e["id"] for e in events[1:]] == [
        by_seq[s]["id"] for s in range(2, total + 2)
    ]
    assert node.stop() == 0
    assert_verifies(node, total + 1)
    exported = tredegar("export", "--data", node.data)
    assert exported.returncode == 0, exported.stderr
    stored = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(e["feed"], e["seq"]) for e in stored] == [
        (node.feed, seq) for seq in range(1, total + 2)
    ]


async def test_kill_9_while_publishing_loses_nothing_acknowledged(
    nodes: NodeFactory,
) -> None:
    node = nodes.init("crashing")
    acknowledged: list[tuple[int, str]] = []  # (guide number, event id)

    async def publish_until_killed(session: aiohttp.ClientSession) -> int:
        n = 0
        # Never more than 98 guides, however late the kill lands on a loaded
        # machine, so the search below (at most 100 hits) returns every one.
        while n < 98:
            n += 1
            try:
                answer = await publish(session, node, n)
            except aiohttp.ClientError:
                return n  # the node died under this request: not acknowledged
            acknowledged.append((n, answer["id"]))
        return n

    async with aiohttp.ClientSession() as session:
        publisher = asyncio.create_task(publish_until_killed(session))

        async def some_acknowledged() -> bool:
            if publisher.done():  # all 98 acknowledged before the check came round
                publisher.result()
                return True
            return len(acknowledged) >= KILL_AFTER

        # About half a second of publishing, and fewer than 100 guides, so the
        # search below (at most 100 hits) returns every one.
        await eventually(some_acknowledged, what="acknowledged publishes")
        node.kill()
        await asyncio.wait_for(publisher, timeout=15)

    node.start()
    async with aiohttp.ClientSession() as session:
        head: int = (await health(session, node))["seq"]
        # Everything acknowledged is held; at most the one request in flight more.
        assert len(acknowledged) + 1 <= head <= len(acknowledged) + 2
        for n, event_id in acknowledged:
            async with session.get(f"{node.url}/api/v1/events/{event_id}") as response:
                assert response.status == 200, (n, event_id)
                held = await response.json()
                assert held["body"] == guide(n)["body"]

        async def caught_up() -> bool:
            return len(await list_all(session, node)) == head

        await eventually(caught_up, what="the read models to catch up after restart")
        before = await list_all(session, node)
        found_before = await search(session, node, "Guide")
    assert [e["seq"] for e in before] == list(range(1, head + 1))
    guides = [e for e in before if e["type"] == "guide.published"]
    assert len(guides) == head - 1 < 100  # so the search below returns every hit
    assert {h["id"] for h in found_before} == {e["id"] for e in guides}

    assert node.stop() == 0
    assert_verifies(node, head)
    assert tredegar_json("reindex", "--data", node.data).value == {"reindexed": head}
    node.start()
    async with aiohttp.ClientSession() as session:
        assert await list_all(session, node) == before
        found_after = await search(session, node, "Guide")
    assert sorted(found_after, key=lambda h: h["seq"]) == sorted(
        found_before, key=lambda h: h["seq"]
    )


# --- tampering with the database by hand -------------------------------------


def _replace_once(text: bytes, old: bytes, new: bytes) -> bytes:
    index = text.index(old)
    return text[:index] + new + text[index + len(old) :]


def _tamper_body(data: Path, feed: str, seq: int) -> bytes:
    """Change one letter of the stored body's title; return the original bytes."""
    with sqlite3.connect(data / "feeds.db") as db:
        (body,) = db.execute(
            "SELECT body FROM bodies WHERE feed = ? AND seq = ?", (feed, seq)
        ).fetchone()
        changed = _replace_once(body, b"Guide", b"Guido")
        json.loads(changed)  # still valid JSON: only the hash can tell
        db.execute(
            "UPDATE bodies SET body = ? WHERE feed = ? AND seq = ?",
            (changed, feed, seq),
        )
    db.close()
    return bytes(body)


def _restore_body(data: Path, feed: str, seq: int, body: bytes) -> None:
    with sqlite3.connect(data / "feeds.db") as db:
        db.execute(
            "UPDATE bodies SET body = ? WHERE feed = ? AND seq = ?", (body, feed, seq)
        )
    db.close()


def _tamper_signature(data: Path, feed: str, seq: int) -> None:
    """Change one character in the middle of the stored header's ``sig``."""
    with sqlite3.connect(data / "feeds.db") as db:
        (header,) = db.execute(
            "SELECT state FROM stored_events "
            "WHERE originator_id = ? AND originator_version = ?",
            (feed, seq),
        ).fetchone()
        at = header.index(b'"sig":"') + len(b'"sig":"') + 20
        replacement = b"A" if header[at : at + 1] != b"A" else b"B"
        changed = header[:at] + replacement + header[at + 1 :]
        assert json.loads(changed)["sig"] != json.loads(header)["sig"]
        db.execute(
            "UPDATE stored_events SET state = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            (changed, feed, seq),
        )
    db.close()


def _problems(node: Node) -> list[tuple[str, int, str]]:
    result = tredegar_json("verify", "--data", node.data, expect_success=False)
    assert result.code != 0, result
    return [(p["feed"], p["seq"], p["code"]) for p in result.value["problems"]]


async def test_verify_reports_a_tampered_byte_with_feed_and_seq(node: Node) -> None:
    async with aiohttp.ClientSession() as session:
        for n in range(2, 6):
            await publish(session, node, n)
    assert node.stop() == 0
    assert_verifies(node, 5)

    original = _tamper_body(node.data, node.feed, 3)
    assert _problems(node) == [(node.feed, 3, "bad-body-hash")]
    human = tredegar("verify", "--data", node.data)
    assert human.returncode != 0
    assert f"feed {node.feed} seq 3: bad-body-hash" in human.stdout

    _restore_body(node.data, node.feed, 3, original)
    assert_verifies(node, 5)
    _tamper_signature(node.data, node.feed, 4)
    assert _problems(node) == [(node.feed, 4, "bad-signature")]


# --- hostile requests --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hostile:
    """A request the node must refuse, and how."""

    name: str
    token: str | None  # "organiser", "member", a literal token, or None
    body: bytes
    status: int
    code: str


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


_GOOD = _json(guide(1))
_HOSTILE = [
    Hostile("no token", None, _GOOD, 401, "unauthorised"),
    Hostile("bad token", "tdg_" + "x" * 43, _GOOD, 401, "unauthorised"),
    Hostile("not a bearer token", "Basic dXNlcjpwYXNz", _GOOD, 401, "unauthorised"),
    Hostile("member token", "member", _GOOD, 403, "forbidden"),
    Hostile("malformed JSON", "organiser", b'{"type": "guide.', 400, "malformed"),
    Hostile(
        "float",
        "organiser",
        b'{"type": "guide.published", "body": '
        b'{"title": "Guide", "text": "x", "n": 1.5}}',
        400,
        "non-canonical",
    ),
    Hostile(
        "unknown type",
        "organiser",
        _json({"type": "guide.exploded", "body": {"title": "x"}}),
        422,
        "unknown-type",
    ),
    Hostile(
        "schema",
        "organiser",
        _json({"type": "guide.published", "body": {"title": "", "text": "x"}}),
        422,
        "schema",
    ),
    Hostile(
        "too large",
        "organiser",
        _json(
            {"type": "guide.published", "body": {"title": "x", "text": "y" * 300_000}}
        ),
        413,
        "too-large",
    ),
    Hostile(
        "duplicate keys",
        "organiser",
        b'{"type": "guide.published", "body": '
        b'{"title": "Guide", "title": "Other", "text": "x"}}',
        400,
        "non-canonical",
    ),
]


@dataclass(frozen=True, slots=True)
class Target:
    """The node the hostile requests are sent to, with a member token."""

    node: Node
    member_token: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One running node for every hostile request (none of them stores anything)."""
    factory = NodeFactory(tmp_path_factory.mktemp("hostile"))
    try:
        node = factory.init("target")
        member = tredegar_json(
            "token", "create", "--data", node.data, "--role", "member"
        ).value
        yield Target(node, member["token"])
    finally:
        factory.close()


def _authorization(case: Hostile, target: Target) -> dict[str, str]:
    if case.token is None:
        return {}
    if case.token.startswith("Basic "):
        return {"Authorization": case.token}
    token = {"organiser": target.node.token, "member": target.member_token}.get(
        case.token, case.token
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("case", _HOSTILE, ids=[case.name for case in _HOSTILE])
async def test_hostile_publish_is_refused_and_stores_nothing(
    target: Target, case: Hostile
) -> None:
    node = target.node
    async with aiohttp.ClientSession() as session:
        head = (await health(session, node))["seq"]
        headers = {"Content-Type": "application/json", **_authorization(case, target)}
        async with session.post(
            f"{node.url}/api/v1/events", data=case.body, headers=headers
        ) as response:
            assert response.status == case.status
            assert response.content_type == "application/problem+json"
            problem = await response.json(content_type=None)
            if case.status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert problem["code"] == case.code
        assert problem["status"] == case.status
        assert problem["type"].endswith(case.code)
        assert (await health(session, node))["seq"] == head
        assert len(await list_all(session, node, feed=node.feed)) == head


async def test_a_revoked_token_is_refused_on_the_next_request(node: Node) -> None:
    made = tredegar_json(
        "token",
        "create",
        "--data",
        node.data,
        "--role",
        "organiser",
        "--name",
        "revocable script",
    ).value
    token = made["token"]
    async with aiohttp.ClientSession() as session:
        await publish(session, node, 1, token=token)  # it works, and is looked up
        listed = tredegar_json("token", "list", "--data", node.data).value["tokens"]
        (row,) = [t for t in listed if t["label"] == "revocable script"]
        tredegar_json("token", "revoke", "--data", node.data, row["token_id"])
        async with session.post(
            f"{node.url}/api/v1/events",
            json=guide(2),
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 401
            assert (await response.json(content_type=None))["code"] == "unauthorised"
        await publish(session, node, 3)  # the init token is untouched
        assert (await health(session, node))["seq"] == 3


async def test_logs_one_line_per_request_and_no_secrets(node: Node) -> None:
    searched_word = "Zephyrinequux"
    bad_token = "tdg_" + "q" * 43
    sent: list[tuple[str, str, int]] = []
    async with aiohttp.ClientSession() as session:
        for n in range(2):
            await publish(session, node, n)
            sent.append(("POST", "/api/v1/events", 201))
        assert await search(session, node, searched_word) == []
        sent.append(("GET", "/api/v1/search", 200))
        async with session.get(f"{node.url}/api/v1/events") as response:
            assert response.status == 200
        sent.append(("GET", "/api/v1/events", 200))
        async with session.post(
            f"{node.url}/api/v1/events",
            json=guide(9),
            headers={"Authorization": f"Bearer {bad_token}"},
        ) as response:
            assert response.status == 401
        sent.append(("POST", "/api/v1/events", 401))
    assert node.stop() == 0

    log = node.log()
    lines = [json.loads(line) for line in log.splitlines()]
    requests = [
        (line["method"], line["path"], line["status"])
        for line in lines
        if line.get("logger") == "node.access" and line["path"] != "/health"
    ]
    assert sorted(requests) == sorted(sent)
    for secret in (node.token, bad_token, searched_word, searched_word.lower()):
        assert secret not in log
    assert "Bearer" not in log
    digest = hashlib.sha256(node.token.encode()).hexdigest()
    assert digest not in log


def test_a_second_run_on_the_same_data_fails_at_once(node: Node) -> None:
    # Were the lock not taken, this run would serve until the timeout (an error).
    second = tredegar(
        "run", "--data", node.data, "--port", str(free_port()), timeout=20
    )
    assert second.returncode != 0
    assert "another process" in second.stderr
    assert str(node.data) in second.stderr
    # The first node is unharmed.
    assert node.process is not None
    assert node.process.poll() is None
