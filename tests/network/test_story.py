"""A season of organising across three live nodes, and the same picture on each.

Three groups of the upper valleys run their own nodes (real ``tredegar run``
processes on loopback, ``conftest.py``). The first forms a rural network and
the others join it; it launches a campaign against the demolition of the
Ashvale estate, the other two endorse it and the third runs it with it,
posting an update from its own feed; a speaking tour stops in all three
groups' feeds; members of two groups say they are coming to the first group's
stop, so each group publishes its count; the second group's weekly advice
surgery has one week cancelled; the campaign is won. Once every node holds
every event, every node must show the same public picture (search, calendar,
campaign, network, tour, meetings), the host's stop the total of both groups'
members, and no member's name, login or address may appear in anything a peer
or a visitor can read, while each group's organiser still sees its own
members' names.

A second story has the references arrive out of order: a node hears the
endorsement, the co-owner's update and a tour stop before the campaign and
the tour they refer to, and ends up showing the same as the others.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest

from tests.network.cluster import (
    cli,
    converged,
    get_json,
    has_event,
    init_nodes,
    start_nodes,
    wait_for,
)
from tests.network.conftest import Json, Node, NodeFactory, list_all

LONDON = ZoneInfo("Europe/London")
PASSWORD = "ashvale will not be knocked down"  # noqa: S105
#: How long the nodes may take to agree on everything once it is published.
SETTLE_SECONDS = 45.0
#: Words searched for on every node.
QUERIES = ("Ashvale", "surgery", "tour", "Uplands", "council", "Aberbeeg")
#: A word only in an update its group redacted: gone from every answer.
REDACTED_WORD = "aberbeeg"


@dataclass(frozen=True, slots=True)
class Person:
    """A member of one group: private, never to be seen off their own node."""

    display_name: str
    login: str

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never leave the member's node (besides the password)."""
        email = self.display_name.split("<")[1].rstrip(">")
        return (self.display_name, self.display_name.split(" <")[0], email, self.login)


MEMBERS = {
    "a": (
        Person("Mair Ogwen-Prydderch <mair.prydderch@ashvale.example>", "mairprydd"),
    ),
    "b": (
        Person("Idris Tudur-Bevan <idris.tbevan@sirhowy.example>", "idristbev"),
        Person("Ceinwen Ap-Rhydderch <ceinwen.apr@sirhowy.example>", "ceinwenapr"),
    ),
    "c": (Person("Gethin Llwyd-Morgannwg <gethin.lm@rhymney.example>", "gethinllm"),),
}


# --- talking to the nodes -----------------------------------------------------


async def post(
    session: aiohttp.ClientSession, node: Node, event_type: str, body: Json
) -> str:
    """Publish with the organiser token; the new event's id."""
    async with session.post(
        f"{node.url}/api/v1/events",
        json={"type": event_type, "body": body},
        headers=node.auth,
    ) as response:
        answer = await response.json(content_type=None)
        assert response.status == 201, (event_type, response.status, answer)
    event_id: str = answer["id"]
    return event_id


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: object = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """Any request with a JSON body; the status and the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    async with session.request(method, url, data=data, headers=headers) as response:
        text = await response.read()
        return response.status, json.loads(text) if text else None


async def join(session: aiohttp.ClientSession, node: Node, person: Person) -> Json:
    """Invite ``person`` to ``node``, accept, log in: session cookie + CSRF."""
    status, invite = await call(
        session, "POST", f"{node.url}/api/v1/invites", {}, node.auth
    )
    assert status == 201, invite
    accepting = {
        "display_name": person.display_name,
        "login": person.login,
        "password": PASSWORD,
    }
    accept = f"{node.url}/api/v1/invites/{invite['code']}/accept"
    status, member = await call(session, "POST", accept, accepting)
    assert status == 201, member
    async with session.post(
        f"{node.url}/api/v1/session",
        data=json.dumps({"login": person.login, "password": PASSWORD}).encode(),
    ) as response:
        answer = await response.json(content_type=None)
        assert response.status == 200, answer
        token = response.cookies["tredegar_session"].value
    return {"Cookie": f"tredegar_session={token}", "X-CSRF-Token": answer["csrf_token"]}


async def rsvp(
    session: aiohttp.ClientSession,
    node: Node,
    member: Json,
    meeting: str,
    answer: str,
) -> Json:
    """A member's RSVP on their own node; the answer (with their group's counts)."""
    url = f"{node.url}/api/v1/meetings/{meeting}/rsvp"
    status, reply = await call(session, "PUT", url, {"answer": answer}, member)
    assert status == 200, reply
    assert isinstance(reply, dict)
    return reply


async def held_everywhere(
    session: aiohttp.ClientSession, group: Sequence[Node], *event_ids: str
) -> None:
    """Wait until every node of ``group`` holds every one of ``event_ids``."""

    async def holds() -> bool:
        return all([await has_event(session, n, e) for n in group for e in event_ids])

    await wait_for(holds, what=f"{len(event_ids)} events on every node", within=30)


# --- times --------------------------------------------------------------------


def local_ms(day: date, hour: int, minute: int = 0) -> int:
    """Milliseconds since the epoch of a local time in London."""
    moment = datetime.combine(day, time(hour, minute), tzinfo=LONDON)
    return int(moment.timestamp()) * 1000


def today() -> date:
    """Today in London."""
    return datetime.now(LONDON).date()


# --- what the groups publish ---------------------------------------------------


def campaign_body(network: str | None = None) -> Json:
    """A's campaign against the estate's demolition."""
    body: Json = {
        "title": "Save the Ashvale estate",
        "target": {"name": "Blaenau Gwent County Council", "kind": "council"},
        "demands": ["No demolition of Ashvale.", "Refurbish all 120 homes."],
        "area": "Tredegar",
        "place": {"name": "Ashvale", "lat_e6": 51772200, "lon_e6": -3246600},
        "tags": ["housing", "estates"],
    }
    return body if network is None else {**body, "network": network}


def tour_body(first: date, days: int, hosts: Sequence[Node]) -> Json:
    """The speaking tour: ``days`` evenings from ``first``."""
    return {
        "title": "Homes not demolition: a speaking tour of the uplands",
        "starts_at": local_ms(first, 19),
        "ends_at": local_ms(first + timedelta(days=days - 1), 21),
        "tz": "Europe/London",
        "hosts": [node.feed for node in hosts],
    }


def stop_body(place: str, day: date, tour: str) -> Json:
    """A tour stop in ``place``, 19:00 to 21:00 London time on ``day``."""
    return {
        "title": f"Homes not demolition tour: {place}",
        "kind": "tour_stop",
        "starts_at": local_ms(day, 19),
        "ends_at": local_ms(day, 21),
        "tz": "Europe/London",
        "place": {"name": place},
        "tour": tour,
    }


# --- the public picture -------------------------------------------------------


def _ical(value: Any) -> str:
    """A property's iCalendar text."""
    text = value.to_ical()
    return text.decode() if isinstance(text, bytes) else str(text)


def vevents(ics: bytes) -> list[tuple[str, ...]]:
    """Each VEVENT's UID, DTSTART, RRULE, EXDATE and RECURRENCE-ID, sorted."""
    rows = []
    for event in icalendar.Calendar.from_ical(ics).walk("VEVENT"):
        exdates = event.get("EXDATE")
        listed = exdates if isinstance(exdates, list) else [exdates]
        rows.append(
            (
                str(event.get("UID")),
                _ical(event["DTSTART"]),
                _ical(event["RRULE"]) if "RRULE" in event else "",
                "|".join(sorted(_ical(e) for e in listed if e is not None)),
                _ical(event["RECURRENCE-ID"]) if "RECURRENCE-ID" in event else "",
            )
        )
    return sorted(rows)


async def calendar(session: aiohttp.ClientSession, node: Node) -> bytes:
    """``GET /calendar.ics`` (which must be an iCalendar)."""
    async with session.get(f"{node.url}/calendar.ics") as response:
        body = await response.read()
        assert response.status == 200, body[:300]
        assert response.content_type == "text/calendar"
        return body


async def searched(
    session: aiohttp.ClientSession, node: Node, query: str
) -> list[Json]:
    """Every hit for ``query``, in a stable order (ties may rank either way)."""
    answer = await get_json(
        session, f"{node.url}/api/v1/search", {"q": query, "limit": "100"}
    )
    hits: list[Json] = answer["results"]
    return sorted(hits, key=lambda hit: str(hit["id"]))


@dataclass(frozen=True, slots=True)
class Ids:
    """The public things of the story, by event id."""

    network: str
    campaign: str
    tour: str
    stops: tuple[str, ...]
    surgery: str


async def picture(session: aiohttp.ClientSession, node: Node, ids: Ids) -> Json:
    """Everything a visitor to ``node`` sees of the story."""
    api = f"{node.url}/api/v1"
    window = {
        "from": str(local_ms(today(), 0)),
        "to": str(local_ms(today() + timedelta(days=60), 0)),
        "limit": "200",
    }
    shown: Json = {
        "search": {q: await searched(session, node, q) for q in QUERIES},
        "calendar": vevents(await calendar(session, node)),
        "campaign": await get_json(session, f"{api}/campaigns/{ids.campaign}"),
        "campaigns": await get_json(session, f"{api}/campaigns"),
        "network": await get_json(session, f"{api}/networks/{ids.network}"),
        "tour": await get_json(session, f"{api}/tours/{ids.tour}"),
        "meetings": await get_json(session, f"{api}/meetings", window),
        "surgery": await get_json(session, f"{api}/meetings/{ids.surgery}"),
    }
    for stop in ids.stops:
        shown[stop] = await get_json(session, f"{api}/meetings/{stop}")
    return shown


async def pictures(
    session: aiohttp.ClientSession, group: Sequence[Node], ids: Ids
) -> list[Json]:
    """Each node's picture."""
    return [await picture(session, node, ids) for node in group]


async def settle(
    condition: Callable[[], Awaitable[bool]], within: float = SETTLE_SECONDS
) -> None:
    """Wait for ``condition`` up to ``within`` s; the assertions after say why.

    Read models follow the log a moment after events are stored, so a node
    may still answer 404 or an older picture: that is "not yet", not a failure.
    """

    async def holds() -> bool:
        try:
            return await condition()
        except (AssertionError, KeyError, IndexError, TypeError):
            return False

    try:
        await wait_for(holds, what="the same picture", within=within, poll=0.5)
    except pytest.fail.Exception:
        return  # the assertions that follow show what differs


def totals(meeting: Json) -> tuple[int, int, int, set[str]]:
    """A meeting's yes, maybe and no over every group, and the groups counted."""
    counts = meeting["counts"]
    return (
        sum(c["yes"] for c in counts),
        sum(c["maybe"] for c in counts),
        sum(c["no"] for c in counts),
        {g["feed"] for c in counts for g in c["by_group"]},
    )


# --- the story ----------------------------------------------------------------


@dataclass
class Story:
    """The three nodes and what they published."""

    a: Node
    b: Node
    c: Node
    ids: Ids | None = None
    misprint: str = ""

    @property
    def trio(self) -> tuple[Node, Node, Node]:
        """The three nodes."""
        return (self.a, self.b, self.c)


async def form_network(session: aiohttp.ClientSession, story: Story) -> str:
    """A forms the rural network; B and C join it."""
    network = await post(
        session,
        story.a,
        "network.formed",
        {
            "name": "Gwent Uplands Rural Network",
            "kind": "regional",
            "area": "The heads of the Sirhowy, Ebbw and Rhymney valleys",
            "description": "Village and estate groups of the uplands, together.",
            "tags": ["rural", "housing"],
        },
    )
    for node in (story.b, story.c):
        await post(session, node, "network.joined", {"network": network})
    return network


async def run_campaign(
    session: aiohttp.ClientSession, story: Story, network: str
) -> str:
    """A launches the campaign; B and C endorse; C co-runs it and posts."""
    a, b, c = story.trio
    campaign = await post(session, a, "campaign.launched", campaign_body(network))
    statement = "Sirhowy tenants stand with Ashvale."
    endorsed = {"campaign": campaign, "statement": statement}
    await post(session, b, "campaign.endorsed", endorsed)
    await post(session, c, "campaign.endorsed", {"campaign": campaign})
    added = {"campaign": campaign, "co_owner": c.feed, "note": "Running it together."}
    await post(session, a, "campaign.co_owner_added", added)
    update = {
        "campaign": campaign,
        "title": "Rhymney buses for the lobby",
        "text": "We have booked two buses to the council's cabinet meeting.",
    }
    await post(session, c, "campaign.updated", update)
    wrong = {"campaign": campaign, "text": "The lobby is at Aberbeeg on Tuesday."}
    misprint = await post(session, a, "campaign.updated", wrong)
    await post(session, a, "event.redacted", {"id": misprint})
    story.misprint = misprint
    return campaign


async def announce_tour(
    session: aiohttp.ClientSession, story: Story, campaign: str
) -> tuple[str, tuple[str, ...]]:
    """A announces a speaking tour; each group schedules its stop in its feed."""
    first = today() + timedelta(days=7)
    announced = {**tour_body(first, 3, story.trio), "campaign": campaign}
    tour = await post(session, story.a, "tour.announced", announced)
    places = ("Tredegar Workmen's Hall", "Sirhowy Chapel", "Rhymney Library")
    stops = []
    for day, (node, place) in enumerate(zip(story.trio, places, strict=True)):
        body = stop_body(place, first + timedelta(days=day), tour)
        body.update(campaign=campaign, capacity=80)
        stops.append(await post(session, node, "meeting.scheduled", body))
    return tour, tuple(stops)


async def schedule_surgery(
    session: aiohttp.ClientSession, story: Story
) -> tuple[str, int]:
    """B's weekly advice surgery; the second week is cancelled. Its id, the date."""
    first = today() + timedelta(days=3)
    weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[first.weekday()]
    starts = local_ms(first, 10)
    surgery = await post(
        session,
        story.b,
        "meeting.scheduled",
        {
            "title": "Sirhowy housing advice surgery",
            "kind": "advice_surgery",
            "starts_at": starts,
            "ends_at": starts + 2 * 3_600_000,
            "tz": "Europe/London",
            "place": {"name": "Sirhowy Chapel vestry"},
            "recurrence": {"freq": "weekly", "by_day": [weekday]},
        },
    )
    cancelled = local_ms(first + timedelta(days=7), 10)
    await post(
        session,
        story.b,
        "meeting.occurrence_changed",
        {
            "meeting": surgery,
            "occurrence_starts_at": cancelled,
            "change": "cancelled",
            "note": "The chapel is closed for repairs that week.",
        },
    )
    return surgery, cancelled


async def members_rsvp(
    session: aiohttp.ClientSession, story: Story, stops: tuple[str, ...]
) -> None:
    """A's member and both of B's RSVP to A's stop; C's member to C's stop."""
    a, b, c = story.trio
    logged_in = {
        node.name: [await join(session, node, p) for p in MEMBERS[node.name]]
        for node in story.trio
    }
    await rsvp(session, a, logged_in["a"][0], stops[0], "yes")
    await held_everywhere(session, [b], stops[0])  # B's members see A's stop
    first, second = logged_in["b"]
    await rsvp(session, b, first, stops[0], "yes")
    answer = await rsvp(session, b, second, stops[0], "maybe")
    assert answer["counts"] == {"yes": 1, "maybe": 1, "no": 0}  # B's own members
    await rsvp(session, c, logged_in["c"][0], stops[2], "no")


async def tell_the_story(session: aiohttp.ClientSession, story: Story) -> Ids:
    """Everything the three groups publish, in the order they do it."""
    network = await form_network(session, story)
    campaign = await run_campaign(session, story, network)
    tour, stops = await announce_tour(session, story, campaign)
    await members_rsvp(session, story, stops)
    surgery, _ = await schedule_surgery(session, story)
    await post(
        session,
        story.a,
        "campaign.outcome_declared",
        {
            "campaign": campaign,
            "outcome": "won",
            "story": "The cabinet dropped the demolition; all 120 homes stay.",
        },
    )
    story.ids = Ids(network, campaign, tour, stops, surgery)
    return story.ids


async def start_three(nodes: NodeFactory) -> Story:
    """A, B, C running, B and C seeded with A (peer exchange does the rest)."""
    a, b, c = await init_nodes(nodes, ["a", "b", "c"])
    await start_nodes([(a, []), (b, ["--peer", a.url]), (c, ["--peer", b.url])])
    return Story(a, b, c)


def is_complete(shown: Json, story: Story) -> bool:
    """Whether a picture already holds the end of the story."""
    assert story.ids is not None
    campaign, tour = shown["campaign"], shown["tour"]
    return (
        campaign["status"] == "won"
        and campaign["endorsements"] == 2
        and len(campaign["updates"]) == 1
        and len(tour["stops"]) == 3
        and len(shown["network"]["groups"]) == 3
        and totals(shown[story.ids.stops[0]])[:2] == (2, 1)
        and totals(shown[story.ids.stops[2]])[2] == 1
        and len(shown["calendar"]) == 4
    )


async def test_three_groups_see_the_same_story(nodes: NodeFactory) -> None:
    story = await start_three(nodes)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        ids = await tell_the_story(session, story)
        await wait_for(
            lambda: converged(session, story.trio),
            what="every node to hold every event",
            within=30,
        )

        async def agreed() -> bool:
            shown = await pictures(session, story.trio, ids)
            return all(p == shown[0] for p in shown) and is_complete(shown[0], story)

        await settle(agreed)
        shown = await pictures(session, story.trio, ids)
        assert shown[1] == shown[0]
        assert shown[2] == shown[0]
        check_picture(shown[0], story)
        await check_privacy(session, story)


def check_picture(shown: Json, story: Story) -> None:
    """What every node shows, checked once (they are equal)."""
    ids = story.ids
    assert ids is not None
    a, b, c = story.trio
    campaign = shown["campaign"]
    assert (campaign["status"], campaign["endorsements"]) == ("won", 2)
    assert campaign["outcome"]["outcome"] == "won"
    assert [owner["feed"] for owner in campaign["co_owners"]] == [c.feed]
    assert {e["feed"] for e in campaign["endorsed_by"]} == {b.feed, c.feed}
    assert [(u["feed"], u["title"]) for u in campaign["updates"]] == [
        (c.feed, "Rhymney buses for the lobby")
    ]
    assert story.misprint not in json.dumps(shown)
    answers = [v for k, v in shown.items() if k != "search"]
    answers += list(shown["search"].values())
    assert REDACTED_WORD not in json.dumps(answers).casefold()
    assert shown["search"]["Aberbeeg"] == []
    groups = shown["network"]["groups"]
    assert groups[0]["feed"] == a.feed
    assert {g["feed"] for g in groups} == {a.feed, b.feed, c.feed}
    assert [s["id"] for s in shown["tour"]["stops"]] == list(ids.stops)
    assert [s["host"]["feed"] for s in shown["tour"]["stops"]] == [
        a.feed,
        b.feed,
        c.feed,
    ]
    host_stop = shown[ids.stops[0]]
    assert totals(host_stop) == (2, 1, 0, {a.feed, b.feed})
    assert host_stop["capacity"] == 80
    check_search_and_calendar(shown, story)


def check_search_and_calendar(shown: Json, story: Story) -> None:
    """The search hits and calendar entries every node shows."""
    ids = story.ids
    assert ids is not None
    hits = shown["search"]["Ashvale"]
    assert ids.campaign in {h["id"] for h in hits}
    assert all(
        set(h) == {"type", "feed", "seq", "id", "title", "snippet"} for h in hits
    )
    assert ids.network in {h["id"] for h in shown["search"]["Uplands"]}
    assert ids.surgery in {h["id"] for h in shown["search"]["surgery"]}
    rows = {row[0]: row for row in shown["calendar"]}
    assert set(rows) == {f"{i}@tredegar" for i in (*ids.stops, ids.surgery)}
    surgery = rows[f"{ids.surgery}@tredegar"]
    assert surgery[2].startswith("FREQ=WEEKLY")
    assert surgery[3], "the cancelled week is an EXDATE"
    occurrences = [m for m in shown["meetings"]["meetings"] if m["id"] == ids.surgery]
    cancelled = shown["surgery"]["exceptions"][0]["occurrence_starts_at"]
    assert cancelled not in {m["occurrence_starts_at"] for m in occurrences}
    assert len(occurrences) >= 7


# --- privacy -------------------------------------------------------------------


def secrets_of(*names: str) -> list[str]:
    """Every member's name, address and login of the given nodes, and password
    material: the password itself and the prefix of its argon2id hash."""
    named = [s for name in names for p in MEMBERS[name] for s in p.secrets]
    return [*named, PASSWORD, "$argon2id$"]


async def raw(session: aiohttp.ClientSession, url: str, **params: str) -> bytes:
    """Any answer's bytes, whatever its status."""
    async with session.get(url, params=params or None) as response:
        return await response.read()


async def public_answers(
    session: aiohttp.ClientSession, node: Node, story: Story
) -> list[bytes]:
    """Everything a peer or a visitor can read on ``node``."""
    ids = story.ids
    assert ids is not None
    fed = f"{node.url}/fed/v1"
    answers = [await raw(session, f"{fed}/feeds/{other.feed}") for other in story.trio]
    answers += [await raw(session, f"{fed}/{p}") for p in ("heads", "peers", "forks")]
    answers.append(json.dumps(await list_all(session, node)).encode())
    api = f"{node.url}/api/v1"
    for path in ("meetings", "campaigns", "networks", "tours", "groups"):
        answers.append(await raw(session, f"{api}/{path}"))
    for meeting in (*ids.stops, ids.surgery):
        answers.append(await raw(session, f"{api}/meetings/{meeting}"))
        answers.append(await raw(session, f"{api}/meetings/{meeting}/rsvps"))
    answers.append(await raw(session, f"{node.url}/calendar.ics"))
    for secret in secrets_of("a", "b", "c"):
        answers.append(await raw(session, f"{api}/search", q=secret.split()[0]))
    return answers


async def check_privacy(session: aiohttp.ClientSession, story: Story) -> None:
    """No member's name leaves their node; their organiser still sees it.

    Nor does the redacted update's text stay in any answer, the served feeds
    included.
    """
    secrets = [s.casefold() for s in secrets_of("a", "b", "c")]
    for node in story.trio:
        for answer in await public_answers(session, node, story):
            text = answer.decode("utf-8", errors="replace").casefold()
            assert not [s for s in secrets if s in text], answer[:300]
            assert REDACTED_WORD not in text, answer[:300]
    ids = story.ids
    assert ids is not None
    host_stop = ids.stops[0]
    for node, own in ((story.a, "a"), (story.b, "b")):
        url = f"{node.url}/api/v1/meetings/{host_stop}/rsvps"
        status, answer = await call(session, "GET", url, headers=node.auth)
        assert status == 200, answer
        names = {(r["name"], r["answer"]) for r in answer["rsvps"]}
        expected = {"a": {"yes"}, "b": {"yes", "maybe"}}[own]
        assert {n for n, _ in names} == {p.display_name for p in MEMBERS[own]}
        assert {given for _, given in names} == expected


# --- references arriving out of order ------------------------------------------


async def test_references_that_arrive_before_what_they_name(
    nodes: NodeFactory,
) -> None:
    # A is on its own at first; D hears only C, so C's endorsement, update and
    # tour stop reach D before A's campaign and tour do.
    a, c, d = await init_nodes(nodes, ["a", "c", "d"])
    await start_nodes([(a, []), (c, []), (d, ["--peer", c.url])])
    async with aiohttp.ClientSession() as session:
        campaign, tour, stop, update = await out_of_order_story(session, a, c)
        await held_everywhere(session, [d], update, stop)
        assert not await has_event(session, d, campaign)
        status, _ = await call(session, "GET", f"{d.url}/api/v1/campaigns/{campaign}")
        assert status == 404
        await cli("peers", "add", a.url, "--data", d.data)
        await wait_for(
            lambda: converged(session, [a, c, d]),
            what="A, C and D to hold every feed",
            within=30,
        )

        async def look() -> list[Json]:
            return [await late_picture(session, n, campaign, tour) for n in (a, c, d)]

        async def agreed() -> bool:
            seen = await look()
            return all(s == seen[0] for s in seen) and (
                len(seen[0]["tour"]["stops"]) == 1
                and len(seen[0]["campaign"]["updates"]) == 1
            )

        await settle(agreed)
        seen = await look()
        assert seen[1] == seen[0]
        assert seen[2] == seen[0]
        shown = seen[0]
        assert shown["campaign"]["endorsements"] == 1
        assert [o["feed"] for o in shown["campaign"]["co_owners"]] == [c.feed]
        assert [u["id"] for u in shown["campaign"]["updates"]] == [update]
        assert [s["id"] for s in shown["tour"]["stops"]] == [stop]
        assert campaign in {h["id"] for h in shown["search"]}


async def out_of_order_story(
    session: aiohttp.ClientSession, a: Node, c: Node
) -> tuple[str, str, str, str]:
    """A's campaign and tour; C's endorsement, update and stop naming them."""
    campaign = await post(session, a, "campaign.launched", campaign_body())
    added = {"campaign": campaign, "co_owner": c.feed}
    await post(session, a, "campaign.co_owner_added", added)
    day = today() + timedelta(days=10)
    tour = await post(session, a, "tour.announced", tour_body(day, 1, [a, c]))
    await post(session, c, "campaign.endorsed", {"campaign": campaign})
    text = "Rhymney has booked two buses for the lobby."
    updated = {"campaign": campaign, "text": text}
    update = await post(session, c, "campaign.updated", updated)
    body = stop_body("Rhymney Library", day, tour)
    stop = await post(session, c, "meeting.scheduled", body)
    return campaign, tour, stop, update


async def late_picture(
    session: aiohttp.ClientSession, node: Node, campaign: str, tour: str
) -> Json:
    """The campaign, the tour, the search and the calendar on ``node``."""
    api = f"{node.url}/api/v1"
    return {
        "campaign": await get_json(session, f"{api}/campaigns/{campaign}"),
        "tour": await get_json(session, f"{api}/tours/{tour}"),
        "search": await searched(session, node, "Ashvale"),
        "calendar": vevents(await calendar(session, node)),
    }
