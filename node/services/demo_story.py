"""What the demo's groups do together, published after each group's own story.

The first group (the convenor) forms a regional network that every other
group joins; it announces a speaking tour with a stop in each of the first
three groups' feeds, hosts a conference co-hosted by the next two groups with
a programme of sessions, adds the second group as co-owner of its campaign
(which then posts an update from its own feed) and calls an action. The
second group runs a weekly advice surgery with one week cancelled and one
moved; the third endorses the convenor's campaign and declares its own
campaign won, with its story.

Every node also gets a demo member (``node/services/demo_members.py``: login
``member`` and a random password, joining through an invite link as a real
member does), who RSVPs to the convenor's tour stop and conference, so every
group publishes its counts (``meeting.attendance_counted``) and the host sees
the total. On a new demo the first three groups then decide, share know-how,
meet needs and pledge (``node/services/demo_decisions.py``).

Bodies are built by pure functions and published through a
:data:`~node.services.demo_activity.Publish` callable, so the schemas can be
checked without a node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import monotonic

import aiohttp

from node.services.demo_activity import (
    TIME_ZONE,
    NodeApi,
    Publish,
    held_event,
    local_ms,
    london,
    publish,
)
from node.services.demo_decisions import publish_decisions
from node.services.demo_members import (
    MEMBER_LOGIN,
    MemberLogin,
    answer_meetings,
    make_member,
)
from protocol import JsonObject, JsonValue

__all__ = [
    "MEMBER_LOGIN",
    "MemberLogin",
    "Together",
    "conference_body",
    "publish_convenor",
    "publish_partner",
    "publish_together",
    "surgery_changes",
]

_HOUR = 3_600_000
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_THURSDAY, _SATURDAY = 3, 5

_NETWORK: JsonObject = {
    "name": "Heads of the Valleys Network",
    "kind": "regional",
    "description": (
        "Unemployed workers' centres, tenants' unions and village groups of the "
        "Heads of the Valleys, sharing campaigns, speakers and a yearly conference."
    ),
    "area": "The Heads of the Valleys, from Hirwaun to Brynmawr",
    "place": {"name": "Ebbw Vale", "lat_e6": 51777500, "lon_e6": -3207600},
    "tags": ["regional", "housing", "unemployed"],
}
_STOP_PLACES: tuple[JsonObject, ...] = (
    {"name": "Tredegar Workmen's Institute", "lat_e6": 51772200, "lon_e6": -3246600},
    {"name": "Tŷ Cymunedol, Glynebwy", "lat_e6": 51777500, "lon_e6": -3207600},
    {"name": "Rhymney Library", "lat_e6": 51759000, "lon_e6": -3286000},
)
_HALL: JsonObject = {
    "name": "Ebbw Vale Institute",
    "lat_e6": 51776400,
    "lon_e6": -3206900,
}


@dataclass(frozen=True, slots=True)
class Together:
    """Ids of the convenor's events the other groups refer to."""

    network: str
    tour: str
    stop: str
    conference: str
    campaign: str


def _day(today: date, weekday: int, weeks: int) -> date:
    """The first ``weekday`` after ``today``, plus ``weeks`` weeks."""
    ahead = (weekday - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=ahead + 7 * weeks)


def tour_body(
    today: date, hosts: Sequence[str], campaign: str, network: str | None = None
) -> JsonObject:
    """The speaking tour: three evenings, one in each host's town."""
    first = _day(today, 0, 1)  # the Monday after next
    body: JsonObject = {
        "title": "Homes not demolition: a speaking tour of the valleys",
        "description": (
            "Tenants from Ashvale, Hilltop and Rhymney on fighting demolition, "
            "damp and closures, and winning."
        ),
        "starts_at": local_ms(first, 19, 0),
        "ends_at": local_ms(first + timedelta(days=len(hosts) - 1), 21, 0),
        "tz": TIME_ZONE,
        "hosts": list(hosts),
        "campaign": campaign,
        "tags": ["housing", "tour"],
    }
    if network is not None:
        body["network"] = network
    return body


def stop_body(today: date, index: int, tour: str, campaign: str) -> JsonObject:
    """The tour stop of the ``index``-th group (0, 1 or 2): one evening each."""
    place = _STOP_PLACES[index]
    starts = local_ms(_day(today, 0, 1) + timedelta(days=index), 19, 0)
    return {
        "title": f"Homes not demolition tour: {place['name']}",
        "kind": "tour_stop",
        "starts_at": starts,
        "ends_at": starts + 2 * _HOUR,
        "tz": TIME_ZONE,
        "place": place,
        "capacity": 60,
        "tour": tour,
        "campaign": campaign,
        "tags": ["housing", "tour"],
    }


def _session(title: str, day: date, hour: int, minutes: int) -> JsonObject:
    """One session of the conference's programme."""
    starts = local_ms(day, hour, 0)
    return {"title": title, "starts_at": starts, "ends_at": starts + minutes * 60_000}


def conference_body(
    today: date, cohosts: Sequence[str], network: str | None
) -> JsonObject:
    """The network's housing conference, on a Saturday three weeks on."""
    day = _day(today, _SATURDAY, 2)
    programme: list[JsonValue] = [
        _session("Welcome and the year's wins", day, 10, 45),
        _session("Workshop: organising an estate against demolition", day, 11, 75),
        {
            **_session("Workshop: damp, mould and the Renting Homes Act", day, 11, 75),
            "place": {"name": "Ebbw Vale Institute, small hall"},
        },
        _session("Lunch, provided by the food co-op", day, 12, 60),
        _session("Plenary: one campaign for the whole valleys", day, 14, 90),
    ]
    body: JsonObject = {
        "title": "Heads of the Valleys housing conference",
        "kind": "conference",
        "starts_at": local_ms(day, 10, 0),
        "ends_at": local_ms(day, 16, 0),
        "tz": TIME_ZONE,
        "place": _HALL,
        "description": "Tenants and groups from across the valleys; free, with lunch.",
        "capacity": 150,
        "accessibility": "Step-free throughout; creche; Welsh interpretation.",
        "programme": programme,
        "tags": ["housing", "conference"],
    }
    if cohosts:
        body["cohosts"] = list(cohosts)
    if network is not None:
        body["network"] = network
    return body


def surgery_body(today: date) -> JsonObject:
    """The second group's weekly tenants' advice surgery, Thursday afternoons."""
    first = _day(today, _THURSDAY, 0)
    starts = local_ms(first, 13, 0)
    return {
        "title": "Tenants' advice surgery",
        "kind": "advice_surgery",
        "starts_at": starts,
        "ends_at": starts + 2 * _HOUR,
        "tz": TIME_ZONE,
        "place": _STOP_PLACES[1],
        "description": "Repairs, damp, rent arrears and notices: bring your letters.",
        "recurrence": {"freq": "weekly", "by_day": [_DAYS[_THURSDAY]]},
        "tags": ["advice", "tenants"],
    }


def surgery_changes(today: date, surgery: str) -> tuple[JsonObject, JsonObject]:
    """The surgery's third week cancelled and its fourth moved to the evening."""
    cancelled = _day(today, _THURSDAY, 2)
    moved = _day(today, _THURSDAY, 3)
    return (
        {
            "meeting": surgery,
            "occurrence_starts_at": local_ms(cancelled, 13, 0),
            "change": "cancelled",
            "note": "The hall is a polling station that day.",
        },
        {
            "meeting": surgery,
            "occurrence_starts_at": local_ms(moved, 13, 0),
            "change": "moved",
            "starts_at": local_ms(moved, 17, 30),
            "ends_at": local_ms(moved, 19, 30),
            "note": "In the evening this week, for people at work in the day.",
        },
    )


def _action_body(today: date, campaign: str) -> JsonObject:
    """The convenor's call to lobby the council's cabinet."""
    day = _day(today, 2, 1)  # the Wednesday after next
    return {
        "campaign": campaign,
        "title": "Lobby the cabinet before the Ashvale vote",
        "text": "Civic centre steps at 9:30 with banners; the vote is at 10.",
        "starts_at": local_ms(day, 9, 30),
        "ends_at": local_ms(day, 11, 0),
        "tz": TIME_ZONE,
        "place": {"name": "Civic Centre, Ebbw Vale"},
    }


async def publish_convenor(
    publish: Publish, feeds: Sequence[str], today: date, campaign: str
) -> Together:
    """The first group's part: network, tour, its stop, conference, co-owner, action.

    Args:
        publish: Publishes on the first group's node.
        feeds: Every demo group's feed, the first group's first.
        today: The day the meetings are dated from.
        campaign: The id of the first group's ``campaign.launched``.

    Returns:
        The ids the other groups refer to.
    """
    network = await publish("network.formed", _NETWORK)
    hosts = feeds[:3]
    tour = await publish("tour.announced", tour_body(today, hosts, campaign, network))
    stop = await publish("meeting.scheduled", stop_body(today, 0, tour, campaign))
    body = conference_body(today, feeds[1:3], network)
    conference = await publish("meeting.scheduled", body)
    if len(feeds) > 1:
        note = "Ebbw Vale tenants run this campaign with us now."
        added: JsonObject = {"campaign": campaign, "co_owner": feeds[1], "note": note}
        await publish("campaign.co_owner_added", added)
    await publish("campaign.action_called", _action_body(today, campaign))
    return Together(network, tour, stop, conference, campaign)


async def publish_partner(
    publish: Publish,
    index: int,
    today: date,
    together: Together,
    own_campaign: str | None = None,
) -> None:
    """Another group's part: it joins the network, and more for the second and third.

    Args:
        publish: Publishes on the group's node.
        index: The group's place in the demo (1 for the second group …).
        today: The day the meetings are dated from.
        together: The convenor's ids.
        own_campaign: The group's own ``campaign.launched`` (the third group
            declares it won).
    """
    note = "Glad to be part of it."
    await publish("network.joined", {"network": together.network, "note": note})
    if index in (1, 2):
        body = stop_body(today, index, together.tour, together.campaign)
        await publish("meeting.scheduled", body)
    if index == 1:
        await _co_run_and_hold_surgeries(publish, today, together)
    if index == 2:
        await _endorse_and_win(publish, together, own_campaign)


async def _co_run_and_hold_surgeries(
    publish: Publish, today: date, together: Together
) -> None:
    """The second group: an update as co-owner; its surgery, two weeks changed."""
    update: JsonObject = {
        "campaign": together.campaign,
        "title": "Ebbw Vale joins the campaign",
        "text": "Hilltop tenants will run the door-knocking on the Ashvale estate.",
    }
    await publish("campaign.updated", update)
    surgery = await publish("meeting.scheduled", surgery_body(today))
    for change in surgery_changes(today, surgery):
        await publish("meeting.occurrence_changed", change)


async def _endorse_and_win(
    publish: Publish, together: Together, own_campaign: str | None
) -> None:
    """The third group: endorses the convenor's campaign; its own is won."""
    statement = "Rhymney stands with Ashvale: we'll host the tour and bring a bus."
    endorsed: JsonObject = {"campaign": together.campaign, "statement": statement}
    await publish("campaign.endorsed", endorsed)
    if own_campaign is None:
        return
    won: JsonObject = {
        "campaign": own_campaign,
        "outcome": "won",
        "story": (
            "Four hundred people signed, sixty packed the council chamber, "
            "and the cabinet withdrew the closure: the library stays open "
            "with its hours and its free computers."
        ),
    }
    await publish("campaign.outcome_declared", won)


# --- on the running nodes -------------------------------------------------------


def _publisher(session: aiohttp.ClientSession, node: NodeApi) -> Publish:
    """:func:`~node.services.demo_activity.publish` on one node."""

    async def publish_on_node(event_type: str, body: JsonObject) -> str:
        return await publish(session, node, event_type, body)

    return publish_on_node


async def _member_rsvps(
    session: aiohttp.ClientSession,
    node: NodeApi,
    together: Together | None,
    deadline: float,
) -> MemberLogin:
    """Make the node's demo member; they RSVP to the tour stop and conference."""
    member = await make_member(session, node)
    if together is not None:
        answers = ((together.stop, "yes"), (together.conference, "maybe"))
        await answer_meetings(session, node, member, answers, deadline)
    return member


async def publish_together(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    *,
    only: Collection[int] | None = None,
    today: date | None = None,
    within: float = 60.0,
) -> dict[int, MemberLogin]:
    """Publish what the groups do together; make each node's demo member.

    Run after :func:`~node.services.demo_activity.publish_activity`: each
    group's campaign is then held on its own node. When the first group is
    not among ``only`` (groups added to an earlier demo), the new groups join
    the network it formed once it reaches them.

    Args:
        session: The HTTP client.
        nodes: The running demo nodes, in the order of the demo's groups.
        only: Indexes of the nodes to publish on (default: all of them).
        today: The day meetings are dated from (default: today in London).
        within: Seconds to wait for another node's events to arrive.

    Returns:
        The demo member made on each node published on, by index.

    Raises:
        DemoActivityError: A node refused something, or an event never arrived.
    """
    chosen = sorted(range(len(nodes)) if only is None else only)
    day = today or datetime.now(london()).date()
    deadline = monotonic() + within
    together = None
    if 0 in chosen:
        together = await _convenor(session, nodes, day, deadline)
    await asyncio.gather(
        *(_partner(session, nodes, i, day, together, deadline) for i in chosen if i > 0)
    )
    made = await asyncio.gather(
        *(_member_rsvps(session, nodes[i], together, deadline) for i in chosen)
    )
    members = dict(zip(chosen, made, strict=True))
    if together is not None and {0, 1, 2} <= members.keys():
        logins = [(members[i].login, members[i].password) for i in (0, 1, 2)]
        ids = (together.network, together.campaign)
        await publish_decisions(session, nodes, logins, ids, within=within)
    return members


async def _convenor(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    day: date,
    deadline: float,
) -> Together:
    """The first group's part, once its own campaign is found on its node."""
    convenor = nodes[0]
    campaign = await held_event(
        session, convenor, convenor.feed, "campaign.launched", deadline
    )
    feeds = [node.feed for node in nodes]
    return await publish_convenor(_publisher(session, convenor), feeds, day, campaign)


async def _partner(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    index: int,
    day: date,
    together: Together | None,
    deadline: float,
) -> None:
    """One other group's part, looking up on its node what it needs."""
    node, convenor = nodes[index], nodes[0]
    if together is None:
        network = await held_event(
            session, node, convenor.feed, "network.formed", deadline
        )
        body: JsonObject = {"network": network}
        await publish(session, node, "network.joined", body)
        return
    own = None
    if index == 2:
        own = await held_event(session, node, node.feed, "campaign.launched", deadline)
    await publish_partner(_publisher(session, node), index, day, together, own)
