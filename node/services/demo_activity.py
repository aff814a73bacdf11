"""Sample groups and their activity for ``tredegar demo``, published over HTTP.

Ten groups of the Welsh valleys, each with a profile (for ``init``) and a
small story: meetings in the coming weeks, a campaign and an update, a guide,
a question, a need and a pledge target with its totals. Once the other groups'
events have reached it, each node also answers the previous group: it endorses
that group's campaign, answers its question and offers what it needs, so the
demo shows events crossing the network and threading by id across feeds.

Everything is published through ``POST /api/v1/events`` with the group's
organiser token, exactly as a script of the group would; a refusal is a bug in
these samples or in the node, and stops the demo with the node's own answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from time import monotonic
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from node.errors import NodeError
from protocol import JsonObject

__all__ = [
    "GROUPS",
    "TIME_ZONE",
    "DemoActivityError",
    "Held",
    "Meeting",
    "NodeApi",
    "Publish",
    "Story",
    "held_event",
    "local_ms",
    "london",
    "meeting_body",
    "publish",
    "publish_activity",
    "publish_replies",
    "publish_story",
]

#: The time zone every sample meeting is kept in.
TIME_ZONE = "Europe/London"
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FRIDAY, _SUNDAY = 4, 6
#: Needs lapse, and pledging closes, this many weeks after the demo starts.
_NEED_WEEKS, _PLEDGE_WEEKS = 6, 4
_POLL_SECONDS = 0.2


class DemoActivityError(NodeError):
    """A node refused a sample event, or another group's never arrived."""

    code = "internal"


@dataclass(frozen=True, slots=True)
class NodeApi:
    """Where a demo node serves, its own feed and an organiser token for it."""

    url: str
    feed: str
    token: str


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting a sample group schedules, dated relative to the demo's start.

    Attributes:
        body: The ``meeting.scheduled`` body without its times and recurrence.
        weekday: The day it falls on, 0 (Monday) to 6 (Sunday).
        at: Its local start (hour, minute) in :data:`TIME_ZONE`.
        minutes: How long it lasts.
        week: 0 for the first such weekday after today, 1 for the one after …
        repeat: ``"weekly"``, ``"fortnightly"``, ``"monthly"`` or None.
    """

    body: JsonObject
    weekday: int
    at: tuple[int, int]
    minutes: int
    week: int = 0
    repeat: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """One sample group: its profile and what it publishes.

    The ``answer`` and ``offer`` are what *another* group publishes in reply to
    this group's question and need; ``endorsement`` is what this group says
    when it endorses another group's campaign.
    """

    slug: str
    profile: JsonObject
    meetings: tuple[Meeting, ...]
    campaign: JsonObject
    update: JsonObject
    endorsement: str
    guide: JsonObject
    question: JsonObject
    answer: JsonObject
    need: JsonObject
    offer: JsonObject
    pledge: JsonObject
    totals: JsonObject


def _place(name: str, lat: float, lon: float) -> JsonObject:
    """A place with micro-degree coordinates (event bodies hold no floats)."""
    return {"name": name, "lat_e6": round(lat * 1e6), "lon_e6": round(lon * 1e6)}


_TREDEGAR = _place("Tredegar Workmen's Institute", 51.7722, -3.2466)
_EBBW_VALE = _place("Tŷ Cymunedol, Glynebwy", 51.7775, -3.2076)
_RHYMNEY = _place("Rhymney Library", 51.7590, -3.2860)
_BLACKWOOD = _place("Blackwood Miners' Institute", 51.6676, -3.1951)
_MERTHYR = _place("Merthyr Tydfil Market Hall", 51.7487, -3.3816)
_ABERTILLERY = _place("Abertillery Metropole", 51.7300, -3.1350)
_BLAINA = _place("Blaina Community Hall", 51.7660, -3.1610)
_BRYNMAWR = _place("Brynmawr Market Hall", 51.7990, -3.1740)
_ABERDARE = _place("Aberdare Community Centre", 51.7130, -3.4450)
_PONTYPOOL = _place("Pontypool Community Hub", 51.7010, -3.0440)

GROUPS: tuple[Story, ...] = (
    Story(
        slug="tredegar",
        profile={
            "name": "Tredegar Unemployed Workers' Centre",
            "area": "Tredegar and the upper Sirhowy valley",
            "description": (
                "We run a weekly advice surgery on benefits and housing, a "
                "reading group, and campaigns for decent homes in the valley."
            ),
            "tags": ["unemployed", "housing", "advice"],
            "how_to_join": "Come to the surgery on a Tuesday morning and ask for us.",
            "place": _TREDEGAR,
        },
        meetings=(
            Meeting(
                {
                    "title": "Benefits and housing advice surgery",
                    "kind": "advice_surgery",
                    "place": _TREDEGAR,
                    "description": "Bring any letters from the council or the DWP.",
                    "capacity": 20,
                    "accessibility": "Step-free entrance at the side; hearing loop.",
                    "tags": ["advice", "benefits"],
                },
                weekday=1,
                at=(10, 0),
                minutes=120,
                repeat="weekly",
            ),
            Meeting(
                {
                    "title": "Reading group: The Ragged Trousered Philanthropists",
                    "kind": "reading_group",
                    "place": _place("Tredegar Library", 51.7730, -3.2470),
                    "online_url": "https://meet.example.org/tredegar-reading",
                    "description": "Chapters 1 to 6. Tea and Welsh cakes provided.",
                },
                weekday=3,
                at=(19, 0),
                minutes=90,
                repeat="monthly",
            ),
            Meeting(
                {
                    "title": "Save Ashvale: campaign planning",
                    "kind": "campaign_planning",
                    "place": _TREDEGAR,
                    "description": "Planning the lobby of the council's cabinet.",
                },
                weekday=0,
                at=(18, 30),
                minutes=90,
                week=1,
            ),
        ),
        campaign={
            "title": "Save the Ashvale estate",
            "target": {
                "name": "Blaenau Gwent County Borough Council",
                "kind": "council",
            },
            "demands": [
                "No demolition of the Ashvale estate.",
                "Refurbish the 120 homes to a decent standard.",
                "Tenants on the regeneration board.",
            ],
            "description": "The council plans to demolish 120 council homes.",
            "area": "Tredegar",
            "place": _place("Ashvale, Tredegar", 51.7750, -3.2400),
            "tags": ["housing", "demolition"],
        },
        update={
            "title": "The council delays its vote",
            "text": "After our lobby the cabinet put the demolition vote back.",
        },
        endorsement="The Unemployed Workers' Centre stands with you: count us in.",
        guide={
            "title": "Running an advice surgery",
            "summary": "What you need, how to book people in, where to refer them.",
            "text": (
                "Start with a room, two tables and a kettle.\n\n"
                "Keep a private log of each case on your node, never on paper."
            ),
            "tags": ["advice", "casework"],
        },
        question={
            "title": "How do we get a council to publish a stock condition survey?",
            "text": "Our council says the Ashvale survey is commercially confidential.",
            "tags": ["council", "foi"],
        },
        answer={
            "text": (
                "Ask under the Environmental Information Regulations, not FOI: "
                "the commercial confidentiality exception is much narrower there."
            ),
            "author_display_name": "Cllr Eluned Morgan",
        },
        need={
            "title": "Lift to the hospital on Thursdays",
            "category": "transport",
            "text": "Dialysis at the Grange, 8am, from Tredegar.",
            "place": _TREDEGAR,
        },
        offer={
            "title": "Driver with a car, weekday mornings",
            "category": "transport",
            "text": "One of our members can do Thursdays for the next two months.",
        },
        pledge={
            "title": "A coach to the cabinet lobby",
            "kind": "money",
            "text": "A 49-seat coach from Tredegar to the civic centre and back.",
            "target_pence": 65_000,
        },
        totals={"pledgers": 31, "total_pence": 41_250},
    ),
    Story(
        slug="ebbw-vale",
        profile={
            "name": "Ebbw Vale Tenants' Union",
            "area": "Ebbw Vale and Cwm",
            "description": (
                "Council and housing-association tenants organising for repairs, "
                "fair rents and a say in how our estates are run."
            ),
            "tags": ["tenants", "housing", "repairs"],
            "how_to_join": "Any tenant in the area can join at a Wednesday meeting.",
            "place": _EBBW_VALE,
        },
        meetings=(
            Meeting(
                {
                    "title": "Tenants' meeting",
                    "kind": "public_meeting",
                    "place": _EBBW_VALE,
                    "description": "Open to every tenant. Bring your repair stories.",
                    "capacity": 60,
                    "accessibility": "Step-free; a quiet room is available.",
                },
                weekday=2,
                at=(18, 30),
                minutes=90,
                repeat="fortnightly",
            ),
            Meeting(
                {
                    "title": "Door-knocking on Hilltop",
                    "kind": "campaign_planning",
                    "place": _place("Hilltop flats, Ebbw Vale", 51.7820, -3.2050),
                    "description": "Meet by the shops; we go out in pairs.",
                },
                weekday=5,
                at=(11, 0),
                minutes=120,
            ),
        ),
        campaign={
            "title": "Fix the damp in the Hilltop flats",
            "target": {"name": "Valleys Homes Housing Association", "kind": "landlord"},
            "demands": [
                "A damp and mould survey of every flat by the end of the month.",
                "Repairs within 28 days of a report, as the law requires.",
                "Rent reduced while a home is unfit.",
            ],
            "description": "Black mould in 40 of 64 flats, some reported years ago.",
            "area": "Ebbw Vale",
            "tags": ["damp", "repairs", "tenants"],
        },
        update={
            "title": "Survey promised",
            "text": "After 30 tenants went to the office together, a survey is booked.",
        },
        endorsement="Ebbw Vale tenants back this all the way: we'll bring a banner.",
        guide={
            "title": "Logging disrepair so the landlord can't ignore it",
            "summary": "Photos, dates and letters: building a record that wins.",
            "text": (
                "Report every repair in writing and keep a copy.\n\n"
                "Photograph damp with something for scale, and note the date."
            ),
            "tags": ["repairs", "tenants"],
        },
        question={
            "title": "What can we do when a landlord ignores damp and mould?",
            "text": "Reports go unanswered for months. Who can make them act?",
            "tags": ["damp", "tenants"],
        },
        answer={
            "text": (
                "Under the Renting Homes (Wales) Act a home must be fit to live "
                "in. Report it in writing, then ask environmental health to inspect."
            ),
            "author_display_name": "Rhian, housing caseworker",
        },
        need={
            "title": "Dehumidifiers for two flats with black mould",
            "category": "goods",
            "text": "Families with small children, until the repairs are done.",
            "place": _EBBW_VALE,
        },
        offer={
            "title": "Two spare dehumidifiers",
            "category": "goods",
            "text": "Working, with spare filters; we can drop them off.",
        },
        pledge={
            "title": "Independent damp surveys",
            "kind": "money",
            "text": "A surveyor's report for the worst five flats.",
            "target_pence": 150_000,
        },
        totals={"pledgers": 54, "total_pence": 97_500},
    ),
    Story(
        slug="rhymney",
        profile={
            "name": "Rhymney Valley Mutual Aid",
            "area": "Rhymney, Pontlottyn and Abertysswg",
            "description": (
                "Neighbours helping neighbours: a Saturday food share, lifts, "
                "shopping for people who can't get out, and a phone tree."
            ),
            "tags": ["mutual-aid", "food"],
            "how_to_join": "Drop in to the food share on a Saturday morning.",
            "place": _RHYMNEY,
        },
        meetings=(
            Meeting(
                {
                    "title": "Saturday food share",
                    "kind": "social",
                    "place": _RHYMNEY,
                    "description": "Bring what you can, take what you need.",
                    "tags": ["food"],
                },
                weekday=5,
                at=(10, 0),
                minutes=180,
                repeat="weekly",
            ),
            Meeting(
                {
                    "title": "Save our library: public meeting",
                    "kind": "public_meeting",
                    "place": _RHYMNEY,
                    "description": "What the closure would mean, and what we can do.",
                    "capacity": 80,
                },
                weekday=3,
                at=(18, 0),
                minutes=90,
                week=1,
            ),
        ),
        campaign={
            "title": "Keep Rhymney Library open",
            "target": {"name": "Caerphilly County Borough Council", "kind": "council"},
            "demands": [
                "No closure of Rhymney Library.",
                "Keep its opening hours and its free computers.",
            ],
            "description": "The library is the only free warm space in the village.",
            "area": "Rhymney",
            "place": _RHYMNEY,
            "tags": ["libraries", "council-cuts"],
        },
        update={
            "title": "1,200 signatures in a week",
            "text": "The petition goes to the council's next scrutiny committee.",
        },
        endorsement="Rhymney Mutual Aid stands with you; we'll bring a minibus.",
        guide={
            "title": "Setting up a phone tree",
            "summary": "Reaching everyone in an hour, online or not.",
            "text": (
                "Each caller rings five people, and each of them rings back.\n\n"
                "Keep the list on your node, never in a group chat."
            ),
            "tags": ["mutual-aid", "phone-tree"],
        },
        question={
            "title": "How did you win a consultation on a library closure?",
            "text": "The council's consultation closes in six weeks. Where to start?",
            "tags": ["libraries", "council"],
        },
        answer={
            "text": (
                "Get people to answer the consultation in person at the library, "
                "and count the visitors for a week: numbers moved our councillors."
            ),
            "author_display_name": "Dai Price",
        },
        need={
            "title": "Volunteers for the Saturday food share",
            "category": "time",
            "text": "Three more pairs of hands to set up and clear away.",
            "place": _RHYMNEY,
        },
        offer={
            "title": "Three members free on Saturday mornings",
            "category": "time",
            "text": "We can come every other Saturday until the spring.",
        },
        pledge={
            "title": "Hours on the food share rota",
            "kind": "time",
            "text": "Enough hours to open every Saturday this winter.",
            "target_hours": 120,
        },
        totals={"pledgers": 14, "total_hours": 86},
    ),
    Story(
        slug="sirhowy",
        profile={
            "name": "Sirhowy Valley Regional Network",
            "area": "The Sirhowy valley, from Tredegar to Blackwood",
            "description": (
                "A network of the valley's groups: we share know-how, hold "
                "assemblies and run joint campaigns."
            ),
            "tags": ["network", "regional", "valleys"],
            "how_to_join": "Any group in the valley can send two delegates.",
            "place": _BLACKWOOD,
        },
        meetings=(
            Meeting(
                {
                    "title": "Sirhowy valley winter assembly",
                    "kind": "conference",
                    "place": _BLACKWOOD,
                    "online_url": "https://meet.example.org/sirhowy-assembly",
                    "description": "A day for every group in the valley.",
                    "capacity": 200,
                    "accessibility": "Step-free; BSL interpreter; creche.",
                },
                weekday=5,
                at=(10, 0),
                minutes=360,
                week=2,
            ),
            Meeting(
                {
                    "title": "Delegates' meeting",
                    "kind": "campaign_planning",
                    "place": _BLACKWOOD,
                    "description": "Agenda and rota for the winter assembly.",
                },
                weekday=1,
                at=(19, 0),
                minutes=90,
            ),
        ),
        campaign={
            "title": "A warm hub in every village this winter",
            "target": {"name": "Caerphilly County Borough Council", "kind": "council"},
            "demands": [
                "A heated, free space open every weekday in each village.",
                "Hot drinks and a meal at every hub.",
            ],
            "description": "Too many people are sitting in the cold at home.",
            "area": "The Sirhowy valley",
            "tags": ["fuel-poverty", "warm-hubs"],
        },
        update={
            "title": "Four villages have a hub",
            "text": "Chapels and a rugby club opened their doors; six villages to go.",
        },
        endorsement="Every group in the Sirhowy network will share this campaign.",
        guide={
            "title": "Running a valleys-wide assembly",
            "summary": "So that every village is heard, not just the loudest.",
            "text": (
                "Each group sends two delegates and speaks in turn.\n\n"
                "Rotate the chair and the venue between villages."
            ),
            "tags": ["assemblies", "networks"],
        },
        question={
            "title": "How do you run a regional meeting so every village is heard?",
            "text": "Our last assembly was dominated by the two biggest groups.",
            "tags": ["assemblies"],
        },
        answer={
            "text": (
                "Give each group the same time, with a timekeeper, and start with "
                "a round from the smallest groups."
            ),
            "author_display_name": "Siân",
        },
        need={
            "title": "A hall for the winter assembly",
            "category": "other",
            "text": "Room for 200, step-free, any Saturday before Christmas.",
            "place": _BLACKWOOD,
        },
        offer={
            "title": "Our community hall, free for the day",
            "category": "other",
            "text": "Step-free, a kitchen and a hearing loop.",
        },
        pledge={
            "title": "Skills for the winter assembly",
            "kind": "skills",
            "skills": ["BSL interpreting", "running a creche", "sound desk"],
        },
        totals={
            "pledgers": 7,
            "skills": [
                {"skill": "BSL interpreting", "pledgers": 1},
                {"skill": "running a creche", "pledgers": 4},
                {"skill": "sound desk", "pledgers": 2},
            ],
        },
    ),
    Story(
        slug="merthyr",
        profile={
            "name": "Merthyr Tydfil Food Co-op",
            "area": "Merthyr Tydfil and the Gurnos",
            "description": "A members' food co-op: fresh food at cost, grown locally.",
            "tags": ["food", "co-op"],
            "how_to_join": "Become a member at the Friday market stall.",
            "place": _MERTHYR,
        },
        meetings=(
            Meeting(
                {
                    "title": "Co-op market stall",
                    "kind": "social",
                    "place": _MERTHYR,
                    "description": "Veg boxes, bread and a chat.",
                },
                weekday=4,
                at=(9, 0),
                minutes=240,
                repeat="weekly",
            ),
            Meeting(
                {
                    "title": "Growing skills: winter veg",
                    "kind": "training",
                    "place": _place("Gurnos allotments", 51.7590, -3.3730),
                    "description": "Wellies recommended.",
                },
                weekday=6,
                at=(11, 0),
                minutes=120,
                week=1,
            ),
        ),
        campaign={
            "title": "Let us grow food on the empty Gurnos plots",
            "target": {
                "name": "Merthyr Tydfil County Borough Council",
                "kind": "council",
            },
            "demands": ["A ten-year lease of the empty plots to the co-op."],
            "description": "Thirty plots lie empty while the waiting list grows.",
            "area": "Gurnos",
            "tags": ["food", "land"],
        },
        update={
            "title": "A meeting with the estates officer",
            "text": "The council has agreed to meet us about a lease.",
        },
        endorsement="The Food Co-op supports this: we'll feed the picket.",
        guide={
            "title": "Starting a community pantry",
            "summary": "Registration, storage and keeping it dignified.",
            "text": (
                "Register with the council's food team before you open.\n\n"
                "Let members choose their own food: no parcels."
            ),
            "tags": ["food", "pantry"],
        },
        question={
            "title": "Do we need a hygiene rating to run a community pantry?",
            "text": "We want to hand out surplus food from a church hall.",
            "tags": ["food", "regulations"],
        },
        answer={
            "text": (
                "Register as a food business with the council 28 days before "
                "you start; they'll visit and advise. It costs nothing."
            ),
            "author_display_name": "Gareth",
        },
        need={
            "title": "A van to collect surplus veg",
            "category": "transport",
            "text": "Wednesday mornings from the wholesaler in Cardiff.",
            "place": _MERTHYR,
        },
        offer={
            "title": "A van and a driver on Wednesdays",
            "category": "transport",
            "text": "We can do the Cardiff run every Wednesday this month.",
        },
        pledge={
            "title": "A walk-in cold store",
            "kind": "money",
            "text": "So surplus food keeps until the weekend.",
            "target_pence": 300_000,
        },
        totals={"pledgers": 88, "total_pence": 212_000},
    ),
    Story(
        slug="abertillery",
        profile={
            "name": "Abertillery Bus Users' Group",
            "area": "Abertillery and the Ebbw Fach",
            "description": "Passengers organising for buses that run when needed.",
            "tags": ["buses", "transport"],
            "place": _ABERTILLERY,
        },
        meetings=(
            Meeting(
                {
                    "title": "Bus users' meeting",
                    "kind": "public_meeting",
                    "place": _ABERTILLERY,
                    "description": "Timetable changes and the evening service.",
                },
                weekday=0,
                at=(14, 0),
                minutes=90,
                repeat="monthly",
            ),
            Meeting(
                {
                    "title": "Bus-stop survey",
                    "kind": "campaign_planning",
                    "place": _place("Abertillery bus station", 51.7290, -3.1360),
                    "description": "Asking passengers how the cuts hit them.",
                },
                weekday=3,
                at=(16, 0),
                minutes=120,
            ),
        ),
        campaign={
            "title": "Bring back the evening buses",
            "target": {"name": "Valley Buses Ltd", "kind": "company"},
            "demands": ["An hourly bus until 11pm to Ebbw Vale and back."],
            "description": "Since the last bus went at 6pm, shift workers walk home.",
            "area": "Abertillery",
            "tags": ["buses"],
        },
        update={
            "title": "Survey results",
            "text": "Two hundred passengers told us the evening bus is their lifeline.",
        },
        endorsement="Bus users in Abertillery support you, and we'll come by bus.",
        guide={
            "title": "Doing a bus-stop survey",
            "summary": "Five questions, a clipboard and a cold morning.",
            "text": (
                "Ask where people are going and what the cuts cost them.\n\n"
                "Count everyone, even those who won't stop."
            ),
            "tags": ["surveys", "buses"],
        },
        question={
            "title": "Who actually decides bus routes in Wales?",
            "text": "The company blames the council, the council blames the company.",
            "tags": ["buses", "council"],
        },
        answer={
            "text": (
                "Councils pay for routes the company won't run on its own: ask "
                "the council's transport officer which ones are subsidised."
            ),
            "author_display_name": "Cllr Huw Davies",
        },
        need={
            "title": "Help with timetable data",
            "category": "skills",
            "text": "Someone at home in spreadsheets, for our survey results.",
            "place": _ABERTILLERY,
        },
        offer={
            "title": "A member who works with data",
            "category": "skills",
            "text": "Happy to help on a couple of evenings.",
        },
        pledge={
            "title": "Leaflets for every bus stop",
            "kind": "money",
            "target_pence": 20_000,
        },
        totals={"pledgers": 12, "total_pence": 15_500},
    ),
    Story(
        slug="blaina",
        profile={
            "name": "Blaina and Nantyglo Pensioners' Forum",
            "area": "Blaina and Nantyglo",
            "description": "Older people speaking up for services in our villages.",
            "tags": ["pensioners", "services"],
            "how_to_join": "Come to the coffee morning; no one is too young.",
            "place": _BLAINA,
        },
        meetings=(
            Meeting(
                {
                    "title": "Coffee morning and forum",
                    "kind": "social",
                    "place": _BLAINA,
                    "description": "Tea, cake and what the council is up to.",
                    "accessibility": "Step-free; large-print papers.",
                },
                weekday=3,
                at=(10, 30),
                minutes=90,
                repeat="weekly",
            ),
            Meeting(
                {
                    "title": "Meeting with our MS about the post office",
                    "kind": "public_meeting",
                    "place": _BLAINA,
                },
                weekday=4,
                at=(11, 0),
                minutes=60,
                week=2,
            ),
        ),
        campaign={
            "title": "Save Blaina's post office counter",
            "target": {"name": "Post Office Ltd", "kind": "company"},
            "demands": ["Keep a full post office counter in Blaina."],
            "description": "Pensioners collect their money and pay bills there.",
            "area": "Blaina",
            "tags": ["post-office", "services"],
        },
        update={
            "title": "Our MS is on our side",
            "text": "She has written to the Post Office asking them to think again.",
        },
        endorsement="The Pensioners' Forum is with you. Good luck!",
        guide={
            "title": "A printed newsletter people read",
            "summary": "For members who are not online.",
            "text": (
                "One sheet, large print, news first.\n\n"
                "Deliver by hand: the doorstep chat is half the point."
            ),
            "tags": ["newsletters", "outreach"],
        },
        question={
            "title": "How do we keep members involved who aren't online?",
            "text": "Half our members have no smartphone or email.",
            "tags": ["outreach", "inclusion"],
        },
        answer={
            "text": (
                "A phone tree and a printed sheet every month. We pair each "
                "member who is online with one who isn't."
            ),
            "author_display_name": "Megan",
        },
        need={
            "title": "Company for housebound members",
            "category": "company",
            "text": "A visit and a cup of tea on Sunday afternoons.",
            "place": _BLAINA,
        },
        offer={
            "title": "Young members to visit on Sundays",
            "category": "company",
            "text": "Four of us would like to come along.",
        },
        pledge={
            "title": "A minibus to the council meeting",
            "kind": "money",
            "target_pence": 15_000,
        },
        totals={"pledgers": 40, "total_pence": 15_000},
    ),
    Story(
        slug="brynmawr",
        profile={
            "name": "Brynmawr Climate Action",
            "area": "Brynmawr and the heads of the valleys",
            "description": "Warm homes, clean air and green jobs for the valleys.",
            "tags": ["climate", "energy"],
            "place": _BRYNMAWR,
        },
        meetings=(
            Meeting(
                {
                    "title": "Draught-busting workshop",
                    "kind": "training",
                    "place": _BRYNMAWR,
                    "description": "Learn to fit draught strips; take some home.",
                },
                weekday=5,
                at=(14, 0),
                minutes=120,
            ),
            Meeting(
                {
                    "title": "Climate action monthly meeting",
                    "kind": "campaign_planning",
                    "place": _BRYNMAWR,
                },
                weekday=1,
                at=(19, 30),
                minutes=90,
                repeat="monthly",
            ),
        ),
        campaign={
            "title": "Insulate every council home in Brynmawr",
            "target": {
                "name": "Blaenau Gwent County Borough Council",
                "kind": "council",
            },
            "demands": [
                "A plan to insulate every council home by 2030.",
                "Local jobs and apprenticeships to do the work.",
            ],
            "area": "Brynmawr",
            "tags": ["insulation", "fuel-poverty"],
        },
        update={
            "title": "A motion to full council",
            "text": "Two councillors will propose our plan at the next meeting.",
        },
        endorsement="Brynmawr Climate Action endorses this campaign wholeheartedly.",
        guide={
            "title": "Running a draught-busting workshop",
            "summary": "Materials, a demo door and a list to take home.",
            "text": (
                "Buy strips and brushes in bulk; it halves the cost.\n\n"
                "Bring a door on trestles to practise on."
            ),
            "tags": ["energy", "workshops"],
        },
        question={
            "title": "Which grants pay for insulating council homes?",
            "text": "The council says there is no money for it.",
            "tags": ["insulation", "grants"],
        },
        answer={
            "text": (
                "Ask which Welsh Government retrofit funds the council has bid "
                "for: our council had not applied until we asked."
            ),
            "author_display_name": "Owain",
        },
        need={
            "title": "A thermal camera for a draught survey",
            "category": "goods",
            "text": "For two weeks, to show where homes lose heat.",
            "place": _BRYNMAWR,
        },
        offer={
            "title": "Loan of a thermal camera",
            "category": "goods",
            "text": "Ours is free after the end of the month.",
        },
        pledge={
            "title": "Draught-proofing kits",
            "kind": "money",
            "target_pence": 50_000,
        },
        totals={"pledgers": 23, "total_pence": 18_750},
    ),
    Story(
        slug="cynon",
        profile={
            "name": "Cynon Valley Disabled People's Network",
            "area": "Aberdare and the Cynon valley",
            "description": "Disabled people organising for access and independence.",
            "tags": ["disability", "access"],
            "how_to_join": "Get in touch through any member group of the network.",
            "place": _ABERDARE,
        },
        meetings=(
            Meeting(
                {
                    "title": "Network meeting",
                    "kind": "public_meeting",
                    "place": _ABERDARE,
                    "online_url": "https://meet.example.org/cynon-network",
                    "accessibility": "Step-free; BSL; live captions online.",
                },
                weekday=2,
                at=(13, 0),
                minutes=120,
                repeat="monthly",
            ),
            Meeting(
                {
                    "title": "Station access: public meeting",
                    "kind": "public_meeting",
                    "place": _ABERDARE,
                    "description": "With Transport for Wales invited.",
                },
                weekday=1,
                at=(18, 0),
                minutes=90,
                week=2,
            ),
        ),
        campaign={
            "title": "Step-free access at Aberdare station",
            "target": {"name": "Transport for Wales", "kind": "public_body"},
            "demands": ["A lift or ramp to every platform at Aberdare."],
            "area": "Aberdare",
            "tags": ["access", "trains"],
        },
        update={
            "title": "A site visit agreed",
            "text": "Managers will see the steps for themselves next month.",
        },
        endorsement="The Disabled People's Network supports this campaign.",
        guide={
            "title": "Checklist: an accessible meeting",
            "summary": "What to book and ask before anyone turns up.",
            "text": (
                "Step-free venue, hearing loop, BSL booked early.\n\n"
                "Ask everyone what they need when they RSVP."
            ),
            "tags": ["access", "meetings"],
        },
        question={
            "title": "How early do we need to book a BSL interpreter?",
            "text": "Our public meeting is in three weeks.",
            "tags": ["access", "bsl"],
        },
        answer={
            "text": (
                "Book now: interpreters are often booked a month ahead. For a "
                "long meeting you'll need two."
            ),
            "author_display_name": "Ceri",
        },
        need={
            "title": "A BSL interpreter for the station meeting",
            "category": "money",
            "text": "Two interpreters for two hours.",
            "place": _ABERDARE,
        },
        offer={
            "title": "A contribution towards the interpreters",
            "category": "money",
            "text": "Our members collected for it at the last meeting.",
        },
        pledge={
            "title": "Interpreters for every public meeting this year",
            "kind": "money",
            "target_pence": 240_000,
        },
        totals={"pledgers": 35, "total_pence": 120_000},
    ),
    Story(
        slug="pontypool",
        profile={
            "name": "Torfaen Young Workers",
            "area": "Pontypool and Cwmbran",
            "description": "Young workers organising in warehouses, shops and care.",
            "tags": ["workers", "young-people"],
            "place": _PONTYPOOL,
        },
        meetings=(
            Meeting(
                {
                    "title": "After-shift meeting",
                    "kind": "campaign_planning",
                    "place": _PONTYPOOL,
                    "description": "Food provided. Come straight from work.",
                },
                weekday=3,
                at=(20, 0),
                minutes=90,
                repeat="weekly",
            ),
            Meeting(
                {
                    "title": "Know your rights at work",
                    "kind": "training",
                    "place": _PONTYPOOL,
                },
                weekday=6,
                at=(15, 0),
                minutes=120,
                week=1,
            ),
        ),
        campaign={
            "title": "A living wage at the Cwmbran warehouses",
            "target": {"name": "Gwent Distribution Park employers", "kind": "employer"},
            "demands": ["The real living wage for every worker, agency staff too."],
            "area": "Cwmbran",
            "tags": ["wages", "warehouses"],
        },
        update={
            "title": "Agency workers join in",
            "text": "Forty agency workers signed the petition this week.",
        },
        endorsement="Torfaen Young Workers stand with you: solidarity!",
        guide={
            "title": "Holding your first 1-to-1",
            "summary": "Listening first: the core of organising.",
            "text": (
                "Ask about their work, their family, what makes them angry.\n\n"
                "Talk for no more than a third of the time."
            ),
            "tags": ["one-to-ones", "organising"],
        },
        question={
            "title": "How do you organise a workplace where nobody knows each other?",
            "text": "Shifts change every week and half the staff are agency.",
            "tags": ["organising", "workplaces"],
        },
        answer={
            "text": (
                "Map the shifts first, then hold 1-to-1s in the car park or the "
                "canteen. Start with the people others go to for help."
            ),
            "author_display_name": "Bethan",
        },
        need={
            "title": "Childcare during evening meetings",
            "category": "childcare",
            "text": "For four children, Thursday evenings.",
            "place": _PONTYPOOL,
        },
        offer={
            "title": "Two members to run a creche",
            "category": "childcare",
            "text": "Both with DBS checks, Thursday evenings.",
        },
        pledge={
            "title": "Hours leafleting at the warehouse gates",
            "kind": "time",
            "target_hours": 200,
        },
        totals={"pledgers": 26, "total_hours": 140},
    ),
)


def london() -> tzinfo:
    """The zone of :data:`TIME_ZONE`, or UTC where the system has no zone data."""
    try:
        return ZoneInfo(TIME_ZONE)
    except ZoneInfoNotFoundError:  # times then drift by up to an hour
        return UTC


def local_ms(day: date, hour: int, minute: int) -> int:
    """Integer milliseconds since the epoch of a local time in :data:`TIME_ZONE`."""
    moment = datetime.combine(day, time(hour, minute), tzinfo=london())
    return int(moment.timestamp()) * 1000


def _first_day(today: date, weekday: int, week: int) -> date:
    """The first ``weekday`` after ``today``, plus ``week`` weeks."""
    ahead = (weekday - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=ahead + 7 * week)


def _recurrence(repeat: str, day: date) -> JsonObject:
    """The recurrence of a meeting that first falls on ``day``."""
    weekday = _DAYS[day.weekday()]
    if repeat == "weekly":
        return {"freq": "weekly", "by_day": [weekday]}
    if repeat == "fortnightly":
        return {"freq": "weekly", "interval": 2, "by_day": [weekday]}
    nth = (day.day - 1) // 7 + 1
    return {"freq": "monthly", "by_day": [f"{nth if nth <= 4 else -1}{weekday}"]}


def meeting_body(meeting: Meeting, today: date) -> JsonObject:
    """The ``meeting.scheduled`` body of a sample meeting, dated from ``today``."""
    day = _first_day(today, meeting.weekday, meeting.week)
    starts = local_ms(day, *meeting.at)
    body: JsonObject = {
        **meeting.body,
        "starts_at": starts,
        "ends_at": starts + meeting.minutes * 60_000,
        "tz": TIME_ZONE,
    }
    if meeting.repeat is not None:
        body["recurrence"] = _recurrence(meeting.repeat, day)
    return body


#: Publishes one event (type, body) on one node and returns its id.
Publish = Callable[[str, JsonObject], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Held:
    """Ids of another group's events that a group replies to."""

    campaign: str
    question: str
    need: str


async def publish_story(publish: Publish, story: Story, today: date) -> None:
    """Publish a group's own story: nothing in it names another group's events.

    Args:
        publish: Publishes on the group's node.
        story: The group.
        today: The day its meetings and deadlines are dated from.
    """
    for meeting in story.meetings:
        await publish("meeting.scheduled", meeting_body(meeting, today))
    campaign = await publish("campaign.launched", story.campaign)
    await publish("campaign.updated", {"campaign": campaign, **story.update})
    await publish("guide.published", story.guide)
    await publish("question.asked", story.question)
    lapses = local_ms(_first_day(today, _FRIDAY, _NEED_WEEKS), 23, 59)
    await publish("need.posted", {**story.need, "until": lapses})
    closes = local_ms(_first_day(today, _SUNDAY, _PLEDGE_WEEKS), 23, 59)
    pledge: JsonObject = {**story.pledge, "subject": campaign, "closes_at": closes}
    target = await publish("pledge.target_set", pledge)
    await publish("pledge.totals_reported", {"target": target, **story.totals})


async def publish_replies(
    publish: Publish, story: Story, other: Story, held: Held
) -> None:
    """Reply to another group: endorse its campaign, answer it, offer help.

    Args:
        publish: Publishes on the replying group's node.
        story: The replying group.
        other: The group replied to, whose answer and offer texts are used.
        held: The ids of the other group's campaign, question and need.
    """
    endorsement: JsonObject = {
        "campaign": held.campaign,
        "statement": story.endorsement,
    }
    await publish("campaign.endorsed", endorsement)
    await publish("answer.posted", {"question": held.question, **other.answer})
    offer: JsonObject = {**other.offer, "need": held.need}
    if "place" in story.profile:
        offer["place"] = story.profile["place"]
    await publish("offer.posted", offer)


async def publish(
    session: aiohttp.ClientSession, node: NodeApi, event_type: str, body: JsonObject
) -> str:
    """Publish one event on ``node`` with its organiser token; return its id.

    Raises:
        DemoActivityError: The node refused it (with its problem code and detail).
    """
    async with session.post(
        f"{node.url}/api/v1/events",
        json={"type": event_type, "body": body},
        headers={"Authorization": f"Bearer {node.token}"},
    ) as response:
        answer = await response.json(content_type=None)
    event_id = answer.get("id") if isinstance(answer, dict) else None
    if response.status != 201 or not isinstance(event_id, str):
        problem = answer if isinstance(answer, dict) else {}
        raise DemoActivityError(
            f"{node.url} refused the sample {event_type} "
            f"({response.status} {problem.get('code')}: {problem.get('detail')})"
        )
    return event_id


async def held_event(
    session: aiohttp.ClientSession,
    node: NodeApi,
    feed: str,
    event_type: str,
    deadline: float,
) -> str:
    """Wait until ``node`` holds an event of ``feed`` and type; return its id.

    Raises:
        DemoActivityError: None has arrived by ``deadline`` (``time.monotonic``).
    """
    params = {"feed": feed, "type": event_type, "limit": "1"}
    while True:
        async with session.get(f"{node.url}/api/v1/events", params=params) as response:
            answer = await response.json(content_type=None)
        events = answer.get("events") if isinstance(answer, dict) else None
        if response.status == 200 and isinstance(events, list) and events:
            event_id = events[0].get("id") if isinstance(events[0], dict) else None
            if isinstance(event_id, str):
                return event_id
        if monotonic() > deadline:
            raise DemoActivityError(
                f"{node.url} never received the {event_type} of {feed}: "
                "is federation between the demo's nodes working?"
            )
        await asyncio.sleep(_POLL_SECONDS)


async def _reply(
    session: aiohttp.ClientSession,
    node: NodeApi,
    story: Story,
    other: tuple[NodeApi, Story],
    deadline: float,
) -> None:
    """Once ``other``'s events reach ``node``, reply to them from ``node``."""
    other_node, other_story = other
    campaign, question, need = await asyncio.gather(
        *(
            held_event(session, node, other_node.feed, event_type, deadline)
            for event_type in ("campaign.launched", "question.asked", "need.posted")
        )
    )
    held = Held(campaign=campaign, question=question, need=need)
    await publish_replies(_publisher(session, node), story, other_story, held)


def _publisher(session: aiohttp.ClientSession, node: NodeApi) -> Publish:
    """:func:`publish` on one node."""

    async def publish_on_node(event_type: str, body: JsonObject) -> str:
        return await publish(session, node, event_type, body)

    return publish_on_node


async def publish_activity(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    *,
    only: Collection[int] | None = None,
    today: date | None = None,
    within: float = 60.0,
) -> None:
    """Publish the sample activity of ``GROUPS[i]`` on ``nodes[i]``.

    Each node first publishes its own story, then replies to the previous
    node's group (the first node to the last one's) once those events reach it.

    Args:
        session: The HTTP client.
        nodes: The running demo nodes, in the order of :data:`GROUPS`.
        only: Indexes of the nodes to publish on (default: all of them).
        today: The day meetings are dated from (default: today in London).
        within: Seconds to wait for other groups' events to arrive.

    Raises:
        DemoActivityError: A node refused an event, or one never arrived.
        ValueError: More nodes than sample groups.
    """
    if len(nodes) > len(GROUPS):
        raise ValueError(f"the demo has at most {len(GROUPS)} groups")
    chosen = sorted(range(len(nodes)) if only is None else only)
    day = today or datetime.now(london()).date()
    await asyncio.gather(
        *(publish_story(_publisher(session, nodes[i]), GROUPS[i], day) for i in chosen)
    )
    deadline = monotonic() + within
    await asyncio.gather(
        *(
            _reply(
                session, nodes[i], GROUPS[i], (nodes[i - 1], GROUPS[i - 1]), deadline
            )
            for i in chosen
        )
    )
