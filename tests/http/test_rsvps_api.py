"""RSVPs, attendance and agenda items through the API, on a node in-process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from node.http.app import create_app
from node.services.runtime import NodeServices
from node.storage.private import RsvpCounts
from protocol import Event, FeedId, JsonObject, sign
from tests.http.conftest import ClientFactory, Served, make_settings
from tests.protocol.helpers import KEY_B, T0
from tests.protocol.sample_bodies import SAMPLE_BODIES

PASSWORD = "a long enough password"  # noqa: S105
NAMES = ("Gwenllian Rsvp-Private", "Iolo Rsvp-Private", "Nest Rsvp-Private")
COUNTED = "meeting.attendance_counted"


class Node:
    """A node under test, spoken to as visitors, members and organisers."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.services = served.services
        self.org = served.organiser

    async def call(
        self, method: str, path: str, body: object = None, **headers: str
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes | None) else orjson.dumps(body)
        response = await self.served.client.request(
            method, path, data=data, headers=headers
        )
        text = await response.read()
        if response.status >= 400:
            assert response.content_type == "application/problem+json", text
        return response.status, orjson.loads(text) if text else None

    def bearer(self, role: str = "member", name: str = "A script") -> dict[str, str]:
        private = self.services.private
        account = private.create_account(name, role, now=1)
        token = private.issue_token(account, role, label="test", now=1).token
        return {"Authorization": f"Bearer {token}"}

    async def join(self, name: str, login: str, role: str = "member") -> dict[str, str]:
        """A member who joined by invite, logged in: cookie and CSRF headers."""
        _, invite = await self.call(
            "POST", "/api/v1/invites", {"role": role}, **self.org
        )
        body = {"display_name": name, "login": login, "password": PASSWORD}
        path = f"/api/v1/invites/{invite['code']}/accept"
        status, _ = await self.call("POST", path, body)
        assert status == 201
        login_body = orjson.dumps({"login": login, "password": PASSWORD})
        response = await self.served.client.post("/api/v1/session", data=login_body)
        assert response.status == 200
        token = response.cookies["tredegar_session"].value
        csrf = (await response.json())["csrf_token"]
        return {"Cookie": f"tredegar_session={token}", "X-CSRF-Token": csrf}

    async def schedule(self, **changes: object) -> str:
        body = {**SAMPLE_BODIES["meeting.scheduled"], **changes}
        request = {"type": "meeting.scheduled", "body": body}
        status, event = await self.call("POST", "/api/v1/events", request, **self.org)
        assert status == 201, event
        return str(event["id"])

    async def own(self, event_type: str = COUNTED) -> list[Event]:
        events = await self.services.read(self.services.store.read, self.feed, 0, 1000)
        return [e for e in events if e.type == event_type]

    async def last_counts(self) -> dict[str, Any]:
        body = (await self.own())[-1].body
        assert body is not None
        return body

    async def head(self) -> int:
        head = await self.services.read(self.services.store.head, self.feed)
        return head.seq if head else 0

    def private_state(self) -> int | None:
        return self.services.private._app.recorder.max_notification_id()

    @property
    def feed(self) -> FeedId:
        return self.services.key.feed


async def started(tmp_path: Path, factory: ClientFactory) -> AsyncIterator[Node]:
    settings, made = make_settings(tmp_path)
    services = NodeServices.open(settings)
    services.private.credentials._hasher = PasswordHasher(1, 8, 1)  # cheap argon2id
    server = TestServer(create_app(settings, services))
    # Cookies go by hand: one client speaks for many people.
    client = await factory(server, cookie_jar=DummyCookieJar())
    yield Node(Served(client, services, made, settings))
    await client.close()
    services.close()


@pytest.fixture
async def node(tmp_path: Path, aiohttp_client: ClientFactory) -> AsyncIterator[Node]:
    async for running in started(tmp_path, aiohttp_client):
        yield running


async def held_elsewhere(node: Node) -> Event:
    """A meeting of another group's feed, stored as sync would store it."""
    profile = sign(KEY_B, None, T0, "group.profile_set", {"name": "Ebbw Vale"})
    body = cast(JsonObject, dict(SAMPLE_BODIES["meeting.scheduled"]))
    body["title"] = "Ebbw Vale meeting"
    meeting = sign(KEY_B, profile, T0 + 1, "meeting.scheduled", body)
    await node.services.writer.append_verified([profile, meeting])
    return meeting


def rsvp_path(meeting: str, tail: str = "rsvp") -> str:
    return f"/api/v1/meetings/{meeting}/{tail}"


async def wait_for(condition: Any, deadline: float = 5.0) -> None:
    ends = time.monotonic() + deadline
    while not await condition():
        assert time.monotonic() < ends, "condition not met in time"
        await asyncio.sleep(0.02)


# --- who may do what --------------------------------------------------------

ROUTES = [
    # (method, tail, body, visitor, member, organiser)
    ("PUT", "rsvp", {"answer": "yes"}, 401, 200, 200),
    ("GET", "rsvp", None, 401, 200, 200),
    ("DELETE", "rsvp", None, 401, 204, 204),
    ("GET", "rsvps", None, 401, 403, 200),
    ("POST", "attendance", {"attended": 3}, 401, 403, 201),
    ("POST", "agenda", {"title": "Rent rises"}, 401, 201, 201),
]


@pytest.mark.parametrize(("method", "tail", "body", "visitor", "member", "org"), ROUTES)
async def test_who_may_call_each_route(
    node: Node,
    method: str,
    tail: str,
    body: object,
    visitor: int,
    member: int,
    org: int,
) -> None:
    meeting = await node.schedule()
    path = rsvp_path(meeting, tail)
    member_session = await node.join(NAMES[0], "gwenllian")
    organiser_session = await node.join(NAMES[1], "iolo", role="organiser")
    assert (await node.call(method, path, body))[0] == visitor
    assert (await node.call(method, path, body, **node.bearer()))[0] == member
    assert (await node.call(method, path, body, **member_session))[0] == member
    assert (await node.call(method, path, body, **node.org))[0] == org
    assert (await node.call(method, path, body, **organiser_session))[0] == org
    # A member's token is refused where an organiser's is needed, whatever it says.
    junk = {"Authorization": "Bearer tdg_" + "x" * 43}
    assert (await node.call(method, path, body, **junk))[0] == 401
    if method != "GET":  # a session changing things must send its CSRF token
        cookie_only = {"Cookie": member_session["Cookie"]}
        status, problem = await node.call(method, path, body, **cookie_only)
        assert (status, problem["code"]) == (403, "forbidden")


# --- answering, counts and publishing -----------------------------------------


async def test_answers_counts_and_what_is_published(node: Node) -> None:
    meeting = await node.schedule()
    gwen, iolo = node.bearer(), node.bearer()
    status, answer = await node.call(
        "PUT", rsvp_path(meeting), {"answer": "yes"}, **gwen
    )
    assert status == 200
    assert answer == {
        "meeting": meeting,
        "occurrence_starts_at": None,
        "answer": "yes",
        "counts": {"yes": 1, "maybe": 0, "no": 0},
    }
    assert await node.last_counts() == {
        "meeting": meeting,
        "yes": 1,
        "maybe": 0,
        "no": 0,
    }
    await node.call("PUT", rsvp_path(meeting), {"answer": "maybe"}, **iolo)
    _, changed = await node.call("PUT", rsvp_path(meeting), {"answer": "no"}, **gwen)
    assert changed["counts"] == {"yes": 0, "maybe": 1, "no": 1}
    assert await node.last_counts() == {
        "meeting": meeting,
        "yes": 0,
        "maybe": 1,
        "no": 1,
    }
    # The same answer again publishes nothing.
    published = len(await node.own())
    await node.call("PUT", rsvp_path(meeting), {"answer": "no"}, **gwen)
    assert len(await node.own()) == published
    # One occurrence of the weekly meeting is counted on its own.
    week = {"answer": "yes", "occurrence_starts_at": 1_796_724_000_000}
    _, weekly = await node.call("PUT", rsvp_path(meeting), week, **gwen)
    assert weekly["counts"] == {"yes": 1, "maybe": 0, "no": 0}
    assert await node.last_counts() == {
        "meeting": meeting,
        "occurrence_starts_at": 1_796_724_000_000,
        "yes": 1,
        "maybe": 0,
        "no": 0,
    }
    _, mine = await node.call("GET", rsvp_path(meeting), **gwen)
    assert mine == {
        "rsvps": [
            {"occurrence_starts_at": None, "answer": "no"},
            {"occurrence_starts_at": 1_796_724_000_000, "answer": "yes"},
        ],
        "next": None,
    }


async def test_withdrawing_publishes_the_lower_counts(node: Node) -> None:
    meeting = await node.schedule()
    gwen = node.bearer()
    week = 1_796_724_000_000
    body = {"answer": "yes", "occurrence_starts_at": week}
    await node.call("PUT", rsvp_path(meeting), body, **gwen)
    path = rsvp_path(meeting) + f"?occurrence_starts_at={week}"
    assert (await node.call("DELETE", path, **gwen))[0] == 204
    assert (await node.last_counts())["yes"] == 0
    assert (await node.call("GET", rsvp_path(meeting), **gwen))[1]["rsvps"] == []
    published = len(await node.own())
    assert (await node.call("DELETE", path, **gwen))[0] == 204  # nothing held
    assert len(await node.own()) == published


async def test_rsvp_to_another_groups_meeting(node: Node) -> None:
    meeting = await held_elsewhere(node)
    status, answer = await node.call(
        "PUT", rsvp_path(meeting.id), {"answer": "maybe"}, **node.bearer()
    )
    assert (status, answer["counts"]["maybe"]) == (200, 1)
    [counted] = await node.own()
    assert counted.feed == node.feed != meeting.feed
    assert counted.body == {"meeting": meeting.id, "yes": 0, "maybe": 1, "no": 0}


async def test_a_burst_of_answers_publishes_counts_in_order(node: Node) -> None:
    meeting = await node.schedule()
    answers = [("yes", "maybe", "no")[i % 3] for i in range(20)]
    people = [node.bearer() for _ in answers]
    results = await asyncio.gather(
        *(
            node.call("PUT", rsvp_path(meeting), {"answer": answer}, **person)
            for answer, person in zip(answers, people, strict=True)
        )
    )
    assert {status for status, _ in results} == {200}
    published: list[Any] = [e.body for e in await node.own()]
    totals = [b["yes"] + b["maybe"] + b["no"] for b in published]
    assert totals == list(range(1, 21))  # each answer published once, in order
    wanted = Counter(answers)
    stored = node.services.private.rsvps.counts((meeting, None))
    assert stored == RsvpCounts(wanted["yes"], wanted["maybe"], wanted["no"])
    assert await node.last_counts() == {"meeting": meeting, **vars_of(stored)}


def vars_of(counts: RsvpCounts) -> dict[str, int]:
    return {"yes": counts.yes, "maybe": counts.maybe, "no": counts.no}


async def test_attendance_is_kept_when_counts_change(node: Node) -> None:
    meeting = await node.schedule()
    await node.call("PUT", rsvp_path(meeting), {"answer": "yes"}, **node.bearer())
    status, event = await node.call(
        "POST", rsvp_path(meeting, "attendance"), {"attended": 14}, **node.org
    )
    assert status == 201
    assert event["type"] == COUNTED
    assert event["id"].startswith("sha256:")
    assert event["body"] == {
        "meeting": meeting, "yes": 1, "maybe": 0, "no": 0, "attended": 14
    }  # fmt: skip
    await node.call("PUT", rsvp_path(meeting), {"answer": "no"}, **node.bearer())
    assert await node.last_counts() == {
        "meeting": meeting, "yes": 1, "maybe": 0, "no": 1, "attended": 14
    }  # fmt: skip


async def test_organisers_see_names_and_counts_with_paging(node: Node) -> None:
    meeting = await node.schedule()
    for name, login, answer in zip(
        NAMES, ("gwenllian", "iolo", "nest"), ("yes", "no", "yes"), strict=True
    ):
        session = await node.join(name, login)
        await node.call("PUT", rsvp_path(meeting), {"answer": answer}, **session)
    status, named = await node.call("GET", rsvp_path(meeting, "rsvps"), **node.org)
    assert status == 200
    assert named["rsvps"] == [
        {"name": NAMES[0], "answer": "yes", "occurrence_starts_at": None},
        {"name": NAMES[1], "answer": "no", "occurrence_starts_at": None},
        {"name": NAMES[2], "answer": "yes", "occurrence_starts_at": None},
    ]
    assert named["counts"] == [
        {"occurrence_starts_at": None, "yes": 2, "maybe": 0, "no": 1}
    ]
    assert named["next"] is None
    _, first = await node.call(
        "GET", rsvp_path(meeting, "rsvps") + "?limit=2", **node.org
    )
    assert [r["name"] for r in first["rsvps"]] == list(NAMES[:2])
    _, rest = await node.call(
        "GET", rsvp_path(meeting, "rsvps") + f"?after={first['next']}", **node.org
    )
    assert [r["name"] for r in rest["rsvps"]] == [NAMES[2]]
    assert rest["next"] is None


async def test_an_agenda_item_is_published_and_audited(node: Node) -> None:
    meeting = await node.schedule()
    member = node.bearer()
    item = {"title": "Rent rises", "text": "What we ask", "duration_minutes": 20}
    status, event = await node.call(
        "POST", rsvp_path(meeting, "agenda"), item, **member
    )
    assert status == 201
    assert event["type"] == "meeting.agenda_item_added"
    assert event["body"] == {"meeting": meeting, **item}
    assert event["feed"] == node.feed
    audit = node.services.private.audit_log(5)
    assert audit[0].target == event["id"]
    assert audit[0].actor != "node"
    accounts = {str(t.account_id) for t in node.services.private.list_tokens()}
    assert audit[0].actor in accounts


# --- erasure and privacy ------------------------------------------------------


async def test_erasure_drops_the_members_answer_and_publishes_again(
    node: Node,
) -> None:
    meeting = await node.schedule()
    gwen = await node.join(NAMES[0], "gwenllian")
    await node.call("PUT", rsvp_path(meeting), {"answer": "yes"}, **gwen)
    await node.call("PUT", rsvp_path(meeting), {"answer": "maybe"}, **node.bearer())
    _, exported = await node.call("GET", "/api/v1/me/export", **gwen)
    assert exported["rsvps"] == [
        {"meeting": meeting, "occurrence_starts_at": None, "answer": "yes",
         "at": exported["rsvps"][0]["at"]}
    ]  # fmt: skip
    assert (await node.call("DELETE", "/api/v1/me", **gwen))[0] == 204

    async def recounted() -> bool:
        return bool((await node.last_counts())["yes"] == 0)

    await wait_for(recounted)
    assert await node.last_counts() == {
        "meeting": meeting,
        "yes": 0,
        "maybe": 1,
        "no": 0,
    }
    assert node.services.private.rsvps.named(meeting)[0].display_name == "A script"


async def test_no_member_names_in_any_public_answer(node: Node) -> None:
    meeting = await node.schedule()
    for name, login in zip(NAMES, ("gwenllian", "iolo", "nest"), strict=True):
        session = await node.join(name, login)
        await node.call("PUT", rsvp_path(meeting), {"answer": "yes"}, **session)
        item = {"title": "Rent rises"}
        await node.call("POST", rsvp_path(meeting, "agenda"), item, **session)
    await node.served.projected()
    for path in (
        "/api/v1/events",
        f"/fed/v1/feeds/{node.feed}",
        "/api/v1/search?q=Rsvp",
        "/api/v1/groups",
        f"/api/v1/meetings/{meeting}/rsvp",  # a visitor
    ):
        response = await node.served.client.get(path)
        text = await response.text()
        for name in NAMES:
            assert name not in text
            assert name.split()[0] not in text
    for event in await node.own(COUNTED) + await node.own("meeting.agenda_item_added"):
        assert not any(
            name.split()[0] in orjson.dumps(event.body).decode() for name in NAMES
        )


# --- refusals ----------------------------------------------------------------

HUGE = b'{"answer": "yes", "pad": "' + b"x" * 17_000 + b'"}'
HOSTILE = [
    ("PUT", "rsvp", b'{"answer": "yes", "extra": 1}', 400, "malformed"),
    ("PUT", "rsvp", b'{"answer": 1}', 400, "malformed"),
    ("PUT", "rsvp", b'{"answer": true}', 400, "malformed"),
    ("PUT", "rsvp", b'["yes"]', 400, "malformed"),
    ("PUT", "rsvp", b"not json", 400, "malformed"),
    ("PUT", "rsvp", b"", 400, "malformed"),
    ("PUT", "rsvp", b'{"answer": "yes", "answer": "no"}', 400, "non-canonical"),
    ("PUT", "rsvp", b'{"answer": "yes", "occurrence_starts_at": 1.5}', 400,
     "non-canonical"),
    ("PUT", "rsvp", b'{"answer": "yes", "occurrence_starts_at": "1"}', 400,
     "malformed"),
    ("PUT", "rsvp", b'{"answer": "perhaps"}', 422, "schema"),
    ("PUT", "rsvp", b'{"answer": "yes", "occurrence_starts_at": -1}', 422, "schema"),
    ("PUT", "rsvp", HUGE, 413, "too-large"),
    ("POST", "attendance", b'{"attended": -1}', 422, "schema"),
    ("POST", "attendance", b'{"attended": "3"}', 400, "malformed"),
    ("POST", "attendance", b'{}', 400, "malformed"),
    ("POST", "agenda", b'{"title": ""}', 422, "schema"),
    ("POST", "agenda", ('{"title": "' + "x" * 201 + '"}').encode(), 422, "schema"),
    ("POST", "agenda", b'{"title": "A", "duration_minutes": 0}', 422, "schema"),
    ("POST", "agenda", b'{"title": "A", "by": "Gwenllian"}', 400, "malformed"),
    ("POST", "agenda", b'{"title": "A", "occurrence_starts_at": -5}', 422, "schema"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "tail", "body", "status", "code"), HOSTILE)
async def test_hostile_bodies_are_refused_and_store_nothing(
    node: Node, method: str, tail: str, body: bytes, status: int, code: str
) -> None:
    meeting = await node.schedule()
    head, private = await node.head(), node.private_state()
    answer = await node.call(method, rsvp_path(meeting, tail), body, **node.org)
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert (await node.head(), node.private_state()) == (head, private)
    assert node.services.private.rsvps.counts((meeting, None)) == RsvpCounts()


async def test_bad_query_and_unknown_meetings(node: Node) -> None:
    meeting = await node.schedule()
    member = node.bearer()
    for query in ("?occurrence_starts_at=-1", "?occurrence_starts_at=soon"):
        status, problem = await node.call(
            "DELETE", rsvp_path(meeting) + query, **member
        )
        assert (status, problem["code"]) == (400, "malformed")
    for query in ("?limit=0", "?after=-1", "?limit=x"):
        path = rsvp_path(meeting, "rsvps") + query
        assert (await node.call("GET", path, **node.org))[0] == 400
    unknown = "sha256:" + "A" * 43
    [profile] = await node.own("group.profile_set")
    for target in (unknown, "nonsense", profile.id):
        for method, tail, body in (
            ("PUT", "rsvp", {"answer": "yes"}),
            ("POST", "agenda", {"title": "A"}),
            ("POST", "attendance", {"attended": 1}),
        ):
            headers = node.org
            status, problem = await node.call(
                method, rsvp_path(target, tail), body, **headers
            )
            assert (status, problem["code"]) == (404, "not-found")


async def test_redacted_or_blocked_meetings_are_not_held(node: Node) -> None:
    meeting = await node.schedule()
    redaction = {"type": "event.redacted", "body": {"id": meeting}}
    assert (await node.call("POST", "/api/v1/events", redaction, **node.org))[0] == 201
    answer = {"answer": "yes"}
    assert (await node.call("PUT", rsvp_path(meeting), answer, **node.org))[0] == 404
    elsewhere = await held_elsewhere(node)
    node.services.store.federation.block(elsewhere.feed, "feed", now=1)
    status, _ = await node.call("PUT", rsvp_path(elsewhere.id), answer, **node.org)
    assert status == 404
    assert await node.own() == []


async def test_a_node_catching_up_stores_no_answer(node: Node) -> None:
    meeting = await node.schedule()
    head, private = await node.head(), node.private_state()
    node.services.catching_up = True
    for method, tail, body in (
        ("PUT", "rsvp", {"answer": "yes"}),
        ("DELETE", "rsvp", None),
        ("POST", "agenda", {"title": "A"}),
        ("POST", "attendance", {"attended": 1}),
    ):
        status, problem = await node.call(
            method, rsvp_path(meeting, tail), body, **node.org
        )
        assert (status, problem["code"]) == (503, "catching-up")
    assert (await node.head(), node.private_state()) == (head, private)


async def test_an_erasure_before_the_loop_is_known_is_counted_later(
    node: Node,
) -> None:
    meeting = await node.schedule()
    gwen = await node.join(NAMES[0], "gwenllian")
    await node.call("PUT", rsvp_path(meeting), {"answer": "yes"}, **gwen)
    node.services.rsvps._loop = None  # as when opened off the event loop
    assert (await node.call("DELETE", "/api/v1/me", **gwen))[0] == 204
    await asyncio.sleep(0.1)
    assert (await node.last_counts())["yes"] == 1  # nothing could count it yet
    await node.call("GET", rsvp_path(meeting), **node.bearer())

    async def recounted() -> bool:
        return bool((await node.last_counts())["yes"] == 0)

    await wait_for(recounted)


async def test_a_cancelled_meeting_or_occurrence_takes_no_answers(node: Node) -> None:
    meeting = await node.schedule()
    first = SAMPLE_BODIES["meeting.scheduled"]["starts_at"]
    week = 7 * 86_400_000
    assert isinstance(first, int)
    change = {
        "type": "meeting.occurrence_changed",
        "body": {
            "meeting": meeting,
            "occurrence_starts_at": first + week,
            "change": "cancelled",
        },
    }
    assert (await node.call("POST", "/api/v1/events", change, **node.org))[0] == 201
    await node.served.projected()
    answer = {"answer": "yes", "occurrence_starts_at": first + week}
    status, problem = await node.call("PUT", rsvp_path(meeting), answer, **node.org)
    assert (status, problem["code"]) == (409, "conflict")
    answer["occurrence_starts_at"] = first + 2 * week
    assert (await node.call("PUT", rsvp_path(meeting), answer, **node.org))[0] == 200
    cancel = {"type": "meeting.cancelled", "body": {"meeting": meeting}}
    assert (await node.call("POST", "/api/v1/events", cancel, **node.org))[0] == 201
    await node.served.projected()
    status, problem = await node.call("PUT", rsvp_path(meeting), answer, **node.org)
    assert (status, problem["code"]) == (409, "conflict")
    # Withdrawing is still allowed, and lowers the published counts.
    query = f"?occurrence_starts_at={first + 2 * week}"
    status, _ = await node.call("DELETE", rsvp_path(meeting) + query, **node.org)
    assert status == 204
    assert (await node.last_counts())["yes"] == 0
