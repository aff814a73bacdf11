"""Who may call what: each route, each kind of caller, and the status answered.

The callers are a visitor (no credentials), a member of this node's group, an
organiser of it, and a member of another group: an organiser token issued by
another node, which this node must not know (``unauthorised``). Each caller
gets fresh credentials for each route, so a call that erases or changes an
account never spoils the next one; the organiser calls last.

The table must name every route the node serves (a new route fails
``test_every_route_has_a_row`` until it is given one). A row whose route is
not served yet is skipped, naming the route, and runs by itself as soon as
the route is registered. Each row also agrees with ``schemas/openapi.yaml``:
a route refusing visitors declares credentials there, a public one does not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from node.http.problems import STATUS
from tests.http.conftest import Served, make_settings
from tests.http.test_casework_api import casework_record
from tests.http.test_delegates_api import closed_decision
from tests.http.test_openapi import (
    app_operations,
    built_app,
    populate,
    quick_places,
    spec,
)

CALLERS = ("visitor", "member", "other", "organiser")
PASSWORD = "a long enough password"  # noqa: S105


def public(status: int = 200) -> dict[str, int]:
    """Anyone, whatever credentials they bring."""
    return dict.fromkeys(CALLERS, status)


def members(status: int) -> dict[str, int]:
    """Members and organisers of this group."""
    return {"visitor": 401, "member": status, "other": 401, "organiser": status}


def organisers(status: int) -> dict[str, int]:
    """Organisers of this group only."""
    return {"visitor": 401, "member": 403, "other": 401, "organiser": status}


@dataclass
class Call:
    """What one caller sends: path parameters, query and body."""

    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: object = None


class World:
    """A served node with the things the routes act on, made when first needed."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.counter = 0
        self._ids: dict[str, str] | None = None
        self._login: tuple[str, str] | None = None

    @property
    def feed(self) -> str:
        return self.served.services.key.feed

    async def ids(self) -> dict[str, str]:
        """Ids of a sample meeting, tour, campaign, network and need."""
        if self._ids is None:
            self._ids = await populate(self.served)
            events = await self.served.client.get(
                "/api/v1/events", params={"feed": self.feed, "limit": "1"}
            )
            self._ids["group.profile_set"] = (await events.json())["events"][0]["id"]
        return self._ids

    async def organiser_call(self, method: str, path: str, body: object = None) -> Any:
        """A call of the node's first organiser that must succeed."""
        response = await self.served.client.request(
            method,
            path,
            data=None if body is None else orjson.dumps(body),
            headers=self.served.organiser,
        )
        assert response.status < 300, await response.text()
        return await response.json()

    async def invite_code(self) -> str:
        invite = await self.organiser_call("POST", "/api/v1/invites", {})
        return str(invite["code"])

    async def new_account(self) -> tuple[str, str]:
        """A member who joined through an invite: their account id and login."""
        self.counter += 1
        login = f"joiner{self.counter}"
        body = {"display_name": "Joiner", "login": login, "password": PASSWORD}
        response = await self.served.client.post(
            f"/api/v1/invites/{await self.invite_code()}/accept",
            data=orjson.dumps(body),
        )
        assert response.status == 201, await response.text()
        return str((await response.json())["id"]), login

    async def login(self) -> str:
        """One account with a password, for logging in."""
        if self._login is None:
            self._login = await self.new_account()
        return self._login[1]


Prepare = Callable[[World, str, dict[str, str]], Awaitable[Call]]


async def nothing(world: World, caller: str, headers: dict[str, str]) -> Call:
    return Call()


def with_id(kind: str, body: object = None, **query: str) -> Prepare:
    """The id of a sample thing as ``{id}``; feed as ``{feed}``."""

    async def prepare(world: World, caller: str, headers: dict[str, str]) -> Call:
        ids = await world.ids()
        return Call({"id": ids[kind], "feed": world.feed}, dict(query), body)

    return prepare


def with_query(**query: str) -> Prepare:
    async def prepare(world: World, caller: str, headers: dict[str, str]) -> Call:
        await world.ids()
        return Call({"feed": world.feed}, dict(query))

    return prepare


def body(value: object) -> Prepare:
    async def prepare(world: World, caller: str, headers: dict[str, str]) -> Call:
        return Call(body=value)

    return prepare


async def fresh_invite(world: World, caller: str, headers: dict[str, str]) -> Call:
    invite = await world.organiser_call("POST", "/api/v1/invites", {})
    return Call({"id": invite["id"]})


async def accept(world: World, caller: str, headers: dict[str, str]) -> Call:
    world.counter += 1
    joiner = {
        "display_name": "New member",
        "login": f"{caller}{world.counter}",
        "password": PASSWORD,
    }
    return Call({"code": await world.invite_code()}, body=joiner)


async def log_in(world: World, caller: str, headers: dict[str, str]) -> Call:
    return Call(body={"login": await world.login(), "password": PASSWORD})


async def fresh_account(world: World, caller: str, headers: dict[str, str]) -> Call:
    return Call({"id": (await world.new_account())[0]}, body={"role": "member"})


async def reset_code(world: World, caller: str, headers: dict[str, str]) -> Call:
    account, _ = await world.new_account()
    link = await world.organiser_call("POST", f"/api/v1/members/{account}/reset")
    return Call({"code": link["code"]}, body={"password": PASSWORD + "!"})


async def answered(world: World, caller: str, headers: dict[str, str]) -> Call:
    """A meeting the caller has answered (when the caller may answer)."""
    meeting = (await world.ids())["meeting.scheduled"]
    await world.served.client.put(
        f"/api/v1/meetings/{meeting}/rsvp",
        data=orjson.dumps({"answer": "yes"}),
        headers=headers,
    )
    return Call({"id": meeting})


async def open_proposal(world: World, caller: str, headers: dict[str, str]) -> Call:
    """A fresh, open proposal of this group, and a vote for it."""
    await world.ids()
    options = [{"id": "tea", "label": "Tea"}, {"id": "coffee", "label": "Coffee"}]
    body = {"title": "Drinks", "kind": "choose_one", "options": options,
            "closes_at": 2**50}  # fmt: skip
    request = {"type": "proposal.opened", "body": body}
    event = await world.organiser_call("POST", "/api/v1/events", request)
    return Call({"id": event["id"]}, body={"choice": "tea"})


async def decide_body(world: World, caller: str, headers: dict[str, str]) -> Call:
    """A fresh, open proposal of this group, and what its decision says."""
    call = await open_proposal(world, caller, headers)
    return Call(call.params, body={"text": "Tea it is."})


NEED = {"type": "need.posted", "body": {"title": "Chairs", "category": "goods"}}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, int]
    prepare: Prepare = nothing

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


ROWS = [
    # --- node -------------------------------------------------------------
    Row("GET", "/health", public()),
    Row("GET", "/metrics", public()),
    Row("GET", "/api/v1/openapi.yaml", public()),
    # --- events and search --------------------------------------------------
    Row("GET", "/api/v1/events", public()),
    Row("POST", "/api/v1/events", organisers(201), body(NEED)),
    Row("GET", "/api/v1/events/{id}", public(), with_id("group.profile_set")),
    Row("GET", "/api/v1/search", public(), with_query(q="surgery")),
    # --- groups and places ------------------------------------------------
    Row("GET", "/api/v1/groups", public()),
    Row("GET", "/api/v1/groups/{feed}", public(), with_query()),
    Row("GET", "/api/v1/places", public(), with_query(q="Tredegar")),
    # --- meetings ---------------------------------------------------------
    Row("GET", "/api/v1/meetings", public()),
    Row("GET", "/api/v1/meetings/{id}", public(), with_id("meeting.scheduled")),
    Row("GET", "/api/v1/tours", public()),
    Row("GET", "/api/v1/tours/{id}", public(), with_id("tour.announced")),
    Row("GET", "/calendar.ics", public()),
    Row("GET", "/groups/{feed}/calendar.ics", public(), with_query()),
    # --- what members do on meetings --------------------------------------
    Row(
        "PUT",
        "/api/v1/meetings/{id}/rsvp",
        members(200),
        with_id("meeting.scheduled", {"answer": "yes"}),
    ),
    Row("GET", "/api/v1/meetings/{id}/rsvp", members(200), answered),
    Row("DELETE", "/api/v1/meetings/{id}/rsvp", members(204), answered),
    Row("GET", "/api/v1/meetings/{id}/rsvps", organisers(200), answered),
    Row(
        "POST",
        "/api/v1/meetings/{id}/attendance",
        organisers(201),
        with_id("meeting.scheduled", {"attended": 5}),
    ),
    Row(
        "POST",
        "/api/v1/meetings/{id}/agenda",
        members(201),
        with_id("meeting.scheduled", {"title": "Next steps"}),
    ),
    # --- campaigns and networks -------------------------------------------
    Row("GET", "/api/v1/campaigns", public()),
    Row("GET", "/api/v1/campaigns/{id}", public(), with_id("campaign.launched")),
    Row("GET", "/api/v1/networks", public()),
    Row("GET", "/api/v1/networks/{id}", public(), with_id("network.formed")),
    # --- ideas ---
    Row("GET", "/api/v1/ideas", public()),
    Row("POST", "/api/v1/ideas", members(201), body({"title": "A bake sale"})),
    Row("GET", "/api/v1/ideas/{id}", public(), with_id("idea.proposed")),
    Row("PUT", "/api/v1/ideas/{id}/support", members(200), with_id("idea.proposed")),
    Row("DELETE", "/api/v1/ideas/{id}/support", members(204), with_id("idea.proposed")),
    Row("GET", "/api/v1/proposals", public()),
    Row("GET", "/api/v1/proposals/{id}", public(), with_id("proposal.opened")),
    Row("PUT", "/api/v1/proposals/{id}/vote", members(200), open_proposal),
    Row("GET", "/api/v1/proposals/{id}/vote", members(200), open_proposal),
    Row("DELETE", "/api/v1/proposals/{id}/vote", members(204), open_proposal),
    Row("GET", "/api/v1/proposals/{id}/votes", organisers(200), open_proposal),
    Row("POST", "/api/v1/proposals/{id}/decide", organisers(201), decide_body),
    Row("GET", "/api/v1/decisions/{id}", public(), with_id("proposal.decided")),
    Row("GET", "/api/v1/tasks", public()),
    Row("POST", "/api/v1/tasks", organisers(201), body({"title": "Book the hall"})),
    # --- delegates ---
    Row(
        "GET",
        "/api/v1/networks/{id}/decisions",
        public(),
        with_id("network.formed"),
    ),
    Row(
        "GET",
        "/api/v1/network-decisions/{id}",
        public(),
        with_id("network.decision_opened"),
    ),
    Row(
        "PUT",
        "/api/v1/network-decisions/{id}/vote",
        organisers(201),
        with_id("network.decision_opened", {"choice": "hall"}),
    ),
    Row(
        "POST",
        "/api/v1/network-decisions/{id}/decide",
        organisers(201),
        closed_decision,
    ),
    # --- knowhow ---
    Row("GET", "/api/v1/guides", public()),
    Row("GET", "/api/v1/guides/{id}", public(), with_id("guide.published")),
    Row("GET", "/api/v1/advisers", public()),
    Row("GET", "/api/v1/questions", public()),
    Row("GET", "/api/v1/questions/{id}", public(), with_id("question.asked")),
    # --- mutualaid ---
    Row("GET", "/api/v1/needs", public()),
    Row("GET", "/api/v1/offers", public()),
    Row("GET", "/api/v1/needs/{id}", public(), with_id("need.posted")),
    Row("GET", "/api/v1/offers/{id}", public(), with_id("offer.posted")),
    Row("GET", "/api/v1/needs/{id}/matches", public(), with_id("need.posted")),
    Row("GET", "/api/v1/offers/{id}/matches", public(), with_id("offer.posted")),
    # --- pledges ---
    Row("GET", "/api/v1/pledge-targets", public()),
    Row("GET", "/api/v1/pledge-targets/{id}", public(), with_id("pledge.target_set")),
    Row(
        "PUT",
        "/api/v1/pledge-targets/{id}/pledge",
        members(200),
        with_id("pledge.target_set", {"pence": 500}),
    ),
    Row(
        "GET",
        "/api/v1/pledge-targets/{id}/pledge",
        members(200),
        with_id("pledge.target_set"),
    ),
    Row(
        "DELETE",
        "/api/v1/pledge-targets/{id}/pledge",
        members(204),
        with_id("pledge.target_set"),
    ),
    Row(
        "GET",
        "/api/v1/pledge-targets/{id}/pledges",
        organisers(200),
        with_id("pledge.target_set"),
    ),
    # --- casework ---
    Row(
        "POST",
        "/api/v1/one-to-ones",
        organisers(201),
        body({"person": "A", "held_at": 1}),
    ),
    Row("GET", "/api/v1/one-to-ones", organisers(200)),
    Row(
        "GET",
        "/api/v1/one-to-ones/{id}",
        organisers(200),
        casework_record("one-to-ones"),
    ),
    Row(
        "PATCH",
        "/api/v1/one-to-ones/{id}",
        organisers(200),
        casework_record("one-to-ones", {"notes": "Keen on the allotments"}),
    ),
    Row(
        "DELETE",
        "/api/v1/one-to-ones/{id}",
        organisers(204),
        casework_record("one-to-ones"),
    ),
    Row(
        "POST",
        "/api/v1/cases",
        organisers(201),
        body({"person": "A", "problem": "Damp"}),
    ),
    Row("GET", "/api/v1/cases", organisers(200)),
    Row("GET", "/api/v1/cases/{id}", organisers(200), casework_record("cases")),
    Row(
        "PATCH",
        "/api/v1/cases/{id}",
        organisers(200),
        casework_record("cases", {"next_step": "Ring the council"}),
    ),
    Row("DELETE", "/api/v1/cases/{id}", organisers(204), casework_record("cases")),
    Row(
        "POST",
        "/api/v1/cases/{id}/actions",
        organisers(201),
        casework_record("cases", {"text": "Wrote a letter"}),
    ),
    Row("GET", "/api/v1/activity", organisers(200)),
    Row(
        "POST",
        "/api/v1/activity/report",
        organisers(201),
        body({"starts_at": 0, "ends_at": 1}),
    ),
    Row("GET", "/api/v1/groups/{feed}/activity", public(), with_query()),
    # --- accounts ---------------------------------------------------------
    Row("POST", "/api/v1/session", public(200), log_in),
    Row("DELETE", "/api/v1/session", public(204)),
    Row("POST", "/api/v1/invites", organisers(201), body({})),
    Row("GET", "/api/v1/invites", organisers(200)),
    Row("DELETE", "/api/v1/invites/{id}", organisers(204), fresh_invite),
    Row("POST", "/api/v1/invites/{code}/accept", public(201), accept),
    Row("POST", "/api/v1/members/{id}/reset", organisers(201), fresh_account),
    Row("POST", "/api/v1/reset/{code}", public(204), reset_code),
    Row("GET", "/api/v1/members", organisers(200)),
    Row("PATCH", "/api/v1/members/{id}", organisers(200), fresh_account),
    Row("DELETE", "/api/v1/members/{id}", organisers(204), fresh_account),
    Row("GET", "/api/v1/me", members(200)),
    Row("GET", "/api/v1/me/export", members(200)),
    Row("DELETE", "/api/v1/me", members(204)),
    # --- federation: open to every node; credentials play no part ---------
    Row("GET", "/fed/v1/info", public(), with_query(challenge="A" * 22)),
    Row("GET", "/fed/v1/heads", public()),
    Row("GET", "/fed/v1/feeds/{feed}", public(), with_query()),
    Row("GET", "/fed/v1/peers", public()),
    Row("GET", "/fed/v1/forks", public()),
    # A notify makes the node dial the sender, so only its refusal is driven
    # here; it is the same for every caller.
    Row("POST", "/fed/v1/notify", public(400), body({"feed": "x"})),
]


@pytest.fixture(scope="module")
def other_group_token(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An organiser token issued by another node, never seen by the one tested."""
    _, made = make_settings(tmp_path_factory.mktemp("other"))
    return made.token


def credentials(served: Served, caller: str, other: str) -> dict[str, str]:
    """Fresh credentials for one call of one kind of caller."""
    if caller == "visitor":
        return {}
    token = other if caller == "other" else served.token(caller)
    return {"Authorization": f"Bearer {token}"}


def fill(path: str, params: dict[str, str]) -> str:
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_who_may_call_the_route(
    node: Served, other_group_token: str, row: Row
) -> None:
    if (row.method, row.path) not in app_operations(node.client.app):
        pytest.skip(f"{row.name} is not served yet")
    quick_places(node)
    world = World(node)
    wrong = []
    for caller in CALLERS:
        headers = credentials(node, caller, other_group_token)
        call = await row.prepare(world, caller, headers)
        response = await node.client.request(
            row.method,
            fill(row.path, call.params),
            params=call.query,
            data=None if call.body is None else orjson.dumps(call.body),
            headers=headers,
        )
        text = await response.text()
        if response.status != row.expect[caller]:
            wrong.append(
                f"{caller}: {response.status} (expected {row.expect[caller]}) {text}"
            )
        if response.status >= 400:
            assert response.content_type == "application/problem+json"
            assert STATUS[orjson.loads(text)["code"]] == response.status
    assert not wrong, f"{row.name}\n" + "\n".join(wrong)


def test_every_route_has_a_row(tmp_path: Path) -> None:
    routes = app_operations(built_app(tmp_path))
    rows = {(row.method, row.path) for row in ROWS}
    assert len(rows) == len(ROWS), "a route has two rows"
    missing = sorted(f"{method} {path}" for method, path in routes - rows)
    assert not missing, "routes without a permissions row:\n" + "\n".join(missing)


def declared_security(method: str, path: str) -> Iterator[dict[str, Any]]:
    operation = spec()["paths"][path][method.lower()]
    yield from operation.get("security", spec().get("security", []))


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_the_spec_declares_the_same_credentials(row: Row) -> None:
    assert row.path in spec()["paths"], f"{row.name} is not in the spec"
    requirements = list(declared_security(row.method, row.path))
    needs_credentials = bool(requirements) and {} not in requirements
    assert needs_credentials == (row.expect["visitor"] == 401), row.name
    if needs_credentials:
        assert {"bearerAuth": []} in requirements, row.name
