"""Sample event bodies: one realistic valid body per event type, and invalid ones.

The valid bodies follow a small story in the Sirhowy and Ebbw valleys: a rural
network, a campaign against an estate's demolition, a speaking tour, a weekly
advice surgery, mutual aid between villages. They are test data for the schemas
in ``schemas/events/`` and may be reused as examples elsewhere (documentation,
the demo). Each invalid body breaks exactly one rule of its type's schema.
"""

import base64
import hashlib
from datetime import UTC, datetime
from typing import TypeAlias

# A JSON value as the stdlib decoder returns it. ``float`` is included only so
# that invalid samples can carry one: event bodies never contain floats.
JsonValue: TypeAlias = (
    bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
)
Body: TypeAlias = dict[str, JsonValue]


def _digest(label: str) -> str:
    digest = hashlib.sha256(label.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _event_id(label: str) -> str:
    """A well-formed, made-up event id, stable for a label."""
    return "sha256:" + _digest("event:" + label)


def _feed_id(label: str) -> str:
    """A well-formed, made-up feed id (a public key), stable for a label."""
    return "ed25519:" + _digest("feed:" + label)


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Integer milliseconds since the epoch for a UTC date and time."""
    moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
    return int(moment.timestamp()) * 1000


TREDEGAR = _feed_id("tredegar-unemployed-workers")
EBBW_VALE = _feed_id("ebbw-vale-tenants")
RHYMNEY = _feed_id("rhymney-mutual-aid")
OLD_TREDEGAR = _feed_id("tredegar-old-key")

NETWORK = _event_id("network.formed")
DECISION = _event_id("network.decision_opened")
VOTE_EBBW = _event_id("network.delegate_vote_cast/ebbw")
VOTE_RHYMNEY = _event_id("network.delegate_vote_cast/rhymney")
SURGERY = _event_id("meeting.scheduled/advice-surgery")
CONFERENCE = _event_id("meeting.scheduled/conference")
TOUR = _event_id("tour.announced")
CAMPAIGN = _event_id("campaign.launched")
IDEA = _event_id("idea.proposed")
PROPOSAL = _event_id("proposal.opened")
PROPOSAL_DECIDED = _event_id("proposal.decided")
TASK = _event_id("task.created")
GUIDE_V1 = _event_id("guide.published/v1")
ADVISER = _event_id("adviser.listed")
QUESTION = _event_id("question.asked")
ANSWER = _event_id("answer.posted")
NEED = _event_id("need.posted")
OFFER = _event_id("offer.posted")
PLEDGE_TARGET = _event_id("pledge.target_set")
REDACTED_UPDATE = _event_id("campaign.updated/typo")

TREDEGAR_PLACE: Body = {
    "name": "Tredegar Workmen's Institute",
    "lat_e6": 51_772_200,
    "lon_e6": -3_246_600,
}
EBBW_VALE_PLACE: Body = {
    "name": "Tŷ Cymunedol, Glynebwy",
    "lat_e6": 51_777_500,
    "lon_e6": -3_207_600,
}

CONSENT_OPTIONS: list[JsonValue] = [
    {"id": "yes", "label": "Yes"},
    {"id": "no", "label": "No"},
    {"id": "abstain", "label": "Abstain"},
    {"id": "block", "label": "Block"},
]

SAMPLE_BODIES: dict[str, Body] = {
    # group
    "group.profile_set": {
        "name": "Tredegar Unemployed Workers' Centre",
        "area": "Tredegar and the upper Sirhowy valley",
        "description": (
            "We run a weekly advice surgery on benefits and housing, a reading "
            "group, and campaigns for decent homes in the valley."
        ),
        "tags": ["unemployed", "housing", "advice"],
        "how_to_join": "Come to the surgery on a Tuesday morning and ask for us.",
        "place": TREDEGAR_PLACE,
        "moved_from": OLD_TREDEGAR,
        "url": "https://tredegar.example.org/",
    },
    "group.activity_reported": {
        "starts_at": _ms(2026, 11, 1),
        "ends_at": _ms(2026, 12, 1),
        "one_to_ones_held": 14,
        "cases_opened": 9,
        "cases_closed": 6,
        "cases_open": 21,
        "members": 83,
    },
    # networks
    "network.formed": {
        "name": "Gwent Valleys Network",
        "kind": "regional",
        "description": "Groups of the Gwent valleys organising together.",
        "area": "Blaenau Gwent and Caerphilly",
        "place": {"name": "Blaenau Gwent", "lat_e6": 51_780_000, "lon_e6": -3_200_000},
        "tags": ["rural", "valleys"],
        "url": "https://gwent-valleys.example.net/",
    },
    "network.joined": {
        "network": NETWORK,
        "note": "Glad to be part of it.",
    },
    "network.left": {
        "network": NETWORK,
        "reason": "Merged into the county tenants' union.",
    },
    "network.decision_opened": {
        "network": NETWORK,
        "title": "Where should the spring conference be held?",
        "text": "Three groups have offered a hall. Each group casts one vote.",
        "kind": "choose_one",
        "options": [
            {"id": "tredegar", "label": "Tredegar Workmen's Institute"},
            {"id": "ebbw-vale", "label": "Tŷ Cymunedol, Glynebwy"},
            {"id": "rhymney", "label": "Rhymney Library"},
        ],
        "closes_at": _ms(2027, 1, 31, 23, 59),
        "tz": "Europe/London",
    },
    "network.delegate_vote_cast": {
        "decision": DECISION,
        "choice": "ebbw-vale",
        "reason": "Step-free, and on the bus route from every village.",
    },
    "network.decision_made": {
        "decision": DECISION,
        "result": "ebbw-vale",
        "counts": [
            {"option": "tredegar", "votes": 1},
            {"option": "ebbw-vale", "votes": 2},
            {"option": "rhymney", "votes": 0},
        ],
        "votes": [VOTE_EBBW, VOTE_RHYMNEY, _event_id("vote/tredegar")],
        "text": "The spring conference will be in Ebbw Vale.",
    },
    # meetings
    "meeting.scheduled": {
        "title": "Benefits and housing advice surgery",
        "kind": "advice_surgery",
        "starts_at": _ms(2026, 12, 1, 10),
        "ends_at": _ms(2026, 12, 1, 12),
        "tz": "Europe/London",
        "place": TREDEGAR_PLACE,
        "description": "Bring any letters from the council or the DWP.",
        "recurrence": {"freq": "weekly", "interval": 1, "by_day": ["TU"]},
        "capacity": 20,
        "accessibility": "Step-free entrance at the side; hearing loop.",
        "tags": ["advice", "benefits"],
    },
    "meeting.updated": {
        "meeting": CONFERENCE,
        "title": "Gwent Valleys spring conference",
        "kind": "conference",
        "starts_at": _ms(2027, 3, 20, 10),
        "ends_at": _ms(2027, 3, 20, 16),
        "tz": "Europe/London",
        "place": EBBW_VALE_PLACE,
        "online_url": "https://meet.example.org/gwent-spring",
        "description": "A day for every group of the network — bring your banners.",
        "cohosts": [EBBW_VALE, RHYMNEY],
        "network": NETWORK,
        "programme": [
            {
                "title": "Opening: what we won this year",
                "starts_at": _ms(2027, 3, 20, 10),
                "ends_at": _ms(2027, 3, 20, 11),
            },
            {
                "title": "Workshop: running an advice surgery",
                "starts_at": _ms(2027, 3, 20, 11, 15),
                "ends_at": _ms(2027, 3, 20, 12, 30),
                "place": {"name": "Small hall"},
                "description": "With organisers from Tredegar.",
            },
        ],
        "note": "Moved to the larger hall.",
    },
    "meeting.cancelled": {
        "meeting": CONFERENCE,
        "reason": "The hall has flooded.",
    },
    "meeting.occurrence_changed": {
        "meeting": SURGERY,
        "occurrence_starts_at": _ms(2026, 12, 29, 10),
        "change": "cancelled",
        "note": "No surgery between Christmas and New Year.",
    },
    "meeting.agenda_item_added": {
        "meeting": CONFERENCE,
        "title": "Report from the estate campaign",
        "text": "Where we are with the council after the December lobby.",
        "duration_minutes": 20,
    },
    "meeting.attendance_counted": {
        "meeting": SURGERY,
        "occurrence_starts_at": _ms(2026, 12, 8, 10),
        "yes": 12,
        "maybe": 3,
        "no": 1,
        "attended": 14,
    },
    "meeting.minutes_recorded": {
        "meeting": SURGERY,
        "occurrence_starts_at": _ms(2026, 12, 8, 10),
        "text": (
            "Present: 14.\n\n1. Eleven people seen about Universal Credit.\n\n"
            "2. Agreed to ask the council for the damp survey of Ashvale."
        ),
    },
    "tour.announced": {
        "title": "Homes not demolition: a speaking tour of the valleys",
        "description": "Tenants from Glasgow and Liverpool speak about what they won.",
        "starts_at": _ms(2027, 2, 1),
        "ends_at": _ms(2027, 2, 14),
        "tz": "Europe/London",
        "hosts": [EBBW_VALE, RHYMNEY],
        "campaign": CAMPAIGN,
        "network": NETWORK,
        "tags": ["housing", "tour"],
    },
    # campaigns
    "campaign.launched": {
        "title": "Save the Ashvale estate",
        "target": {"name": "Blaenau Gwent County Borough Council", "kind": "council"},
        "demands": [
            "No demolition of the Ashvale estate.",
            "Refurbish the 120 homes to a decent standard.",
            "Tenants on the regeneration board.",
        ],
        "description": "The council plans to demolish 120 council homes.",
        "area": "Tredegar",
        "place": {
            "name": "Ashvale, Tredegar",
            "lat_e6": 51_775_000,
            "lon_e6": -3_240_000,
        },
        "tags": ["housing", "demolition"],
        "decision": PROPOSAL_DECIDED,
    },
    "campaign.updated": {
        "campaign": CAMPAIGN,
        "title": "The council delays its vote",
        "text": "After our lobby the cabinet put the demolition vote back to March.",
        "url": "https://news.example.com/ashvale-vote-delayed",
    },
    "campaign.action_called": {
        "campaign": CAMPAIGN,
        "title": "Lobby the cabinet meeting",
        "text": "Meet outside the civic centre at 9:30 with placards.",
        "starts_at": _ms(2027, 1, 12, 9, 30),
        "ends_at": _ms(2027, 1, 12, 12),
        "tz": "Europe/London",
        "place": {"name": "Civic Centre, Ebbw Vale"},
    },
    "campaign.endorsed": {
        "campaign": CAMPAIGN,
        "statement": "Rhymney Mutual Aid stands with Ashvale; we'll bring a minibus.",
    },
    "campaign.co_owner_added": {
        "campaign": CAMPAIGN,
        "co_owner": EBBW_VALE,
        "note": "Ebbw Vale Tenants run the campaign with us.",
    },
    "campaign.outcome_declared": {
        "campaign": CAMPAIGN,
        "outcome": "won",
        "story": "In March the council dropped the demolition and agreed a refit.",
    },
    # decisions
    "idea.proposed": {
        "title": "A street stall on market day",
        "text": "Tell shoppers about the estate campaign every Saturday.",
        "tags": ["outreach"],
        "proposer_display_name": "Siân",
    },
    "idea.support_counted": {"idea": IDEA, "supporters": 17},
    "proposal.opened": {
        "title": "Run a street stall every Saturday until March",
        "text": "Two members per stall, leaflets paid from the fund.",
        "kind": "consent",
        "options": CONSENT_OPTIONS,
        "closes_at": _ms(2026, 12, 10, 20),
        "tz": "Europe/London",
        "idea": IDEA,
    },
    "proposal.decided": {
        "proposal": PROPOSAL,
        "result": "yes",
        "counts": [
            {"option": "yes", "votes": 23},
            {"option": "no", "votes": 2},
            {"option": "abstain", "votes": 4},
            {"option": "block", "votes": 0},
        ],
        "voters": 29,
        "eligible": 83,
        "text": "Agreed: the first stall is on 12 December.",
    },
    "task.created": {
        "title": "Print 500 leaflets",
        "due_at": _ms(2026, 12, 11, 17),
        "owner_display_name": "Dai",
        "decision": PROPOSAL_DECIDED,
        "campaign": CAMPAIGN,
    },
    "task.completed": {"task": TASK, "note": "Printed at the co-op, £38."},
    # know-how
    "guide.published": {
        "title": "Running an advice surgery",
        "summary": "What you need, how to book people in, and where to refer them.",
        "text": (
            "Start with a room, two tables and a kettle.\n\n"
            "Keep a private log of each case on your node, never on paper."
        ),
        "tags": ["advice", "casework"],
        "replaces": GUIDE_V1,
    },
    "adviser.listed": {
        "display_name": "Cllr Eluned Morgan",
        "role": "county councillor",
        "topics": ["council", "housing", "planning"],
        "about": "Twelve years on the planning committee.",
        "area": "Gwent",
    },
    "question.asked": {
        "title": "How do we get a council to publish a stock condition survey?",
        "text": "Our council says the Ashvale survey is commercially confidential.",
        "tags": ["council", "foi"],
        "network": NETWORK,
    },
    "answer.posted": {
        "question": QUESTION,
        "text": "Ask under the Environmental Information Regulations, not FOI.",
        "author_display_name": "Cllr Eluned Morgan",
        "adviser": ADVISER,
    },
    "answer.marked_helpful": {
        "answer": ANSWER,
        "question": QUESTION,
        "note": "It worked for us in Rhymney.",
    },
    # mutual aid
    "need.posted": {
        "title": "Lift to the hospital on Thursdays",
        "category": "transport",
        "text": "Dialysis at the Grange, 8am, from Tredegar.",
        "place": TREDEGAR_PLACE,
        "until": _ms(2027, 2, 28),
    },
    "offer.posted": {
        "title": "Driver with a car, weekday mornings",
        "category": "transport",
        "text": "Can do Thursdays from Rhymney.",
        "place": {"name": "Rhymney", "lat_e6": 51_759_000, "lon_e6": -3_286_000},
        "need": NEED,
    },
    "need.met": {"need": NEED, "offer": OFFER, "note": "Diolch o galon!"},
    "offer.withdrawn": {"offer": OFFER, "reason": "The car has gone."},
    # resourcing
    "pledge.target_set": {
        "title": "A coach to the spring conference",
        "kind": "money",
        "subject": CONFERENCE,
        "text": "A 49-seat coach from Tredegar and back.",
        "target_pence": 65_000,
        "closes_at": _ms(2027, 3, 1),
    },
    "pledge.totals_reported": {
        "target": PLEDGE_TARGET,
        "pledgers": 31,
        "total_pence": 41_250,
    },
    # feed
    "event.redacted": {"id": REDACTED_UPDATE, "reason": "Named a tenant by mistake."},
    "feed.moved": {"new_feed": TREDEGAR, "reason": "The old key was on a lost laptop."},
}


def _with(event_type: str, **changes: JsonValue) -> Body:
    """The valid sample of ``event_type`` with some fields set or added."""
    return {**SAMPLE_BODIES[event_type], **changes}


def _without(event_type: str, *keys: str) -> Body:
    """The valid sample of ``event_type`` without the given fields."""
    sample = SAMPLE_BODIES[event_type]
    return {key: value for key, value in sample.items() if key not in keys}


# Floats carry a fraction here: draft-07 counts 17.0 as an integer, so a
# schema cannot refuse it; the canonical encoding refuses every float first.
LONG_TITLE = "x" * 201
LONG_TEXT = "é" * 10001
BAD_EVENT_ID = "sha256:" + "A" * 42
BAD_FEED_ID = "ed25519:" + "A" * 43 + "="

INVALID_BODIES: dict[str, list[Body]] = {
    "group.profile_set": [
        _without("group.profile_set", "name"),
        _with("group.profile_set", name=""),
        _with("group.profile_set", email="organiser@example.org"),
        _with("group.profile_set", tags=["Housing"]),
        _with("group.profile_set", tags=["housing", "housing"]),
        _with("group.profile_set", place={"name": "Tredegar", "lat_e6": 51_772_200}),
        _with("group.profile_set", place={"name": "Tredegar", "lat": 51.7722}),
        _with("group.profile_set", moved_from=BAD_FEED_ID),
        _with("group.profile_set", url="javascript:alert(1)"),
    ],
    "group.activity_reported": [
        _without("group.activity_reported", "ends_at"),
        {"starts_at": _ms(2026, 11, 1), "ends_at": _ms(2026, 12, 1)},
        _with("group.activity_reported", members=-1),
        _with("group.activity_reported", cases=[{"name": "Mrs Jones"}]),
    ],
    "network.formed": [
        _without("network.formed", "kind"),
        _with("network.formed", kind="county"),
        _with("network.formed", name=LONG_TITLE),
    ],
    "network.joined": [
        _without("network.joined", "network"),
        _with("network.joined", network=BAD_EVENT_ID),
    ],
    "network.left": [_with("network.left", reason="x" * 501)],
    "network.decision_opened": [
        _without("network.decision_opened", "closes_at"),
        _with("network.decision_opened", kind="consent"),
        _with("network.decision_opened", options=[{"id": "only", "label": "Only"}]),
        _with("network.decision_opened", kind="pick_time"),
        _with("network.decision_opened", closes_at=1.8e12 + 0.5),
    ],
    "network.delegate_vote_cast": [
        _without("network.delegate_vote_cast", "choice"),
        _with("network.delegate_vote_cast", ranking=["ebbw-vale", "tredegar"]),
        _with("network.delegate_vote_cast", choice="Ebbw Vale"),
    ],
    "network.decision_made": [
        _without("network.decision_made", "votes"),
        _with("network.decision_made", votes=[VOTE_EBBW, VOTE_EBBW]),
        _with("network.decision_made", counts=[{"option": "tredegar", "votes": 0.5}]),
    ],
    "meeting.scheduled": [
        _without("meeting.scheduled", "tz"),
        _without("meeting.scheduled", "place"),
        _with("meeting.scheduled", tz="London time"),
        _with("meeting.scheduled", kind="party"),
        _with("meeting.scheduled", starts_at=-1),
        _with("meeting.scheduled", recurrence={"freq": "yearly"}),
        _with(
            "meeting.scheduled",
            recurrence={"freq": "weekly", "count": 10, "until": _ms(2027, 6, 1)},
        ),
        _with("meeting.scheduled", recurrence={"freq": "monthly", "by_day": ["5TU"]}),
        _with("meeting.scheduled", rsvps=[{"name": "Gareth", "answer": "yes"}]),
        _with("meeting.scheduled", description=LONG_TEXT),
    ],
    "meeting.updated": [
        _without("meeting.updated", "meeting"),
        _with("meeting.updated", programme=[{"title": "Opening"}]),
        _with("meeting.updated", cohosts=[EBBW_VALE, EBBW_VALE]),
    ],
    "meeting.cancelled": [{"reason": "No meeting id."}],
    "meeting.occurrence_changed": [
        _without("meeting.occurrence_changed", "occurrence_starts_at"),
        _with("meeting.occurrence_changed", change="moved"),
        _with("meeting.occurrence_changed", starts_at=_ms(2026, 12, 30, 10)),
        _with(
            "meeting.occurrence_changed",
            change="moved",
            starts_at=_ms(2026, 12, 30, 10),
        ),
        _with("meeting.occurrence_changed", change="postponed"),
    ],
    "meeting.agenda_item_added": [
        _without("meeting.agenda_item_added", "title"),
        _with("meeting.agenda_item_added", duration_minutes=0),
    ],
    "meeting.attendance_counted": [
        _without("meeting.attendance_counted", "maybe"),
        _with("meeting.attendance_counted", names=["Gareth", "Siân"]),
        _with("meeting.attendance_counted", yes="12"),
    ],
    "meeting.minutes_recorded": [
        _without("meeting.minutes_recorded", "text"),
        _with("meeting.minutes_recorded", text="x" * 60001),
    ],
    "tour.announced": [
        _without("tour.announced", "starts_at"),
        _with("tour.announced", hosts=["Ebbw Vale Tenants"]),
    ],
    "campaign.launched": [
        _without("campaign.launched", "target"),
        _with("campaign.launched", demands=[]),
        _with("campaign.launched", target={"name": "Council", "kind": "parish"}),
        _with("campaign.launched", target="The council"),
    ],
    "campaign.updated": [
        _without("campaign.updated", "text"),
        _with("campaign.updated", url="ftp://news.example.com/"),
    ],
    "campaign.action_called": [
        _without("campaign.action_called", "starts_at"),
        _with("campaign.action_called", title=LONG_TITLE),
    ],
    "campaign.endorsed": [
        _with("campaign.endorsed", campaign=TREDEGAR),
        _with("campaign.endorsed", statement="x" * 2001),
    ],
    "campaign.co_owner_added": [
        _without("campaign.co_owner_added", "co_owner"),
        _with("campaign.co_owner_added", co_owner=CAMPAIGN),
    ],
    "campaign.outcome_declared": [
        _with("campaign.outcome_declared", outcome="partly won"),
        _without("campaign.outcome_declared", "outcome"),
    ],
    "idea.proposed": [
        _without("idea.proposed", "title"),
        _with("idea.proposed", proposer_email="sian@example.org"),
    ],
    "idea.support_counted": [
        _with("idea.support_counted", supporters=17.5),
        _with("idea.support_counted", supporters=["Siân", "Dai"]),
    ],
    "proposal.opened": [
        _without("proposal.opened", "options"),
        _with("proposal.opened", kind="vote"),
        _with("proposal.opened", options=CONSENT_OPTIONS[:3]),
        _with(
            "proposal.opened",
            options=[
                {"id": "yes", "label": "Yes"},
                {"id": "yes", "label": "Yes, really"},
                {"id": "no", "label": "No"},
                {"id": "block", "label": "Block"},
            ],
        ),
        _with(
            "proposal.opened",
            kind="pick_time",
            options=[
                {"id": "sat", "label": "Saturday", "starts_at": _ms(2026, 12, 12, 10)},
                {"id": "sun", "label": "Sunday"},
            ],
        ),
        {
            **_without("proposal.opened", "tz"),
            "kind": "pick_time",
            "options": [
                {"id": "sat", "label": "Saturday", "starts_at": _ms(2026, 12, 12, 10)},
                {"id": "sun", "label": "Sunday", "starts_at": _ms(2026, 12, 13, 10)},
            ],
        },
    ],
    "proposal.decided": [
        _without("proposal.decided", "counts"),
        _with("proposal.decided", votes=[{"member": "Dai", "option": "no"}]),
        _with("proposal.decided", voters=10**9),
    ],
    "task.created": [
        _without("task.created", "title"),
        _with("task.created", owner_phone="07700 900123"),
        _with("task.created", due_at="2026-12-11"),
    ],
    "task.completed": [_without("task.completed", "task")],
    "guide.published": [
        _without("guide.published", "text"),
        _with("guide.published", text="x" * 60001),
        _with("guide.published", tags=[f"tag-{n}" for n in range(21)]),
    ],
    "adviser.listed": [
        _without("adviser.listed", "display_name"),
        _with("adviser.listed", topics=[]),
        _with("adviser.listed", email="eluned@example.org"),
    ],
    "question.asked": [
        _without("question.asked", "title"),
        _with("question.asked", tags=["a" * 33]),
    ],
    "answer.posted": [
        _without("answer.posted", "question"),
        _with("answer.posted", text=""),
    ],
    "answer.marked_helpful": [
        _without("answer.marked_helpful", "answer"),
        _with("answer.marked_helpful", helpful=True),
    ],
    "need.posted": [
        _without("need.posted", "category"),
        _with("need.posted", category="medical"),
        _with("need.posted", contact="07700 900123"),
    ],
    "offer.posted": [
        _without("offer.posted", "title"),
        _with(
            "offer.posted", place={"name": "Rhymney", "lat_e6": 91_000_000, "lon_e6": 0}
        ),
    ],
    "need.met": [
        _without("need.met", "need"),
        _with("need.met", offer=BAD_EVENT_ID),
    ],
    "offer.withdrawn": [_without("offer.withdrawn", "offer")],
    "pledge.target_set": [
        _without("pledge.target_set", "target_pence"),
        _with("pledge.target_set", kind="food"),
        _with("pledge.target_set", target_pence=650.5),
        _with("pledge.target_set", kind="skills"),
    ],
    "pledge.totals_reported": [
        _without("pledge.totals_reported", "total_pence"),
        _with("pledge.totals_reported", pledgers_names=["Dai", "Siân"]),
        _with("pledge.totals_reported", total_pence=-5),
    ],
    "event.redacted": [
        _without("event.redacted", "id"),
        _with("event.redacted", feed=TREDEGAR),
    ],
    "feed.moved": [
        _without("feed.moved", "new_feed"),
        _with("feed.moved", new_feed=TREDEGAR + "x"),
    ],
}

# Further valid bodies, for the variants a single sample cannot show: other
# decision kinds, a moved occurrence, an online-only monthly meeting, other
# pledge kinds.
MORE_SAMPLE_BODIES: dict[str, list[Body]] = {
    "meeting.scheduled": [
        {
            "title": "Reading group: The Ragged Trousered Philanthropists",
            "kind": "reading_group",
            "starts_at": _ms(2027, 1, 5, 19),
            "ends_at": _ms(2027, 1, 5, 20, 30),
            "tz": "Europe/London",
            "online_url": "https://meet.example.org/reading",
            "recurrence": {
                "freq": "monthly",
                "by_day": ["1TU"],
                "until": _ms(2027, 12, 31),
            },
            "tour": TOUR,
        },
    ],
    "meeting.occurrence_changed": [
        {
            "meeting": SURGERY,
            "occurrence_starts_at": _ms(2027, 1, 5, 10),
            "change": "moved",
            "starts_at": _ms(2027, 1, 6, 10),
            "ends_at": _ms(2027, 1, 6, 12),
            "place": {"name": "Tredegar Library"},
        },
    ],
    "proposal.opened": [
        {
            "title": "When shall we hold the open meeting?",
            "kind": "pick_time",
            "options": [
                {
                    "id": "sat",
                    "label": "Saturday morning",
                    "starts_at": _ms(2026, 12, 12, 10),
                    "ends_at": _ms(2026, 12, 12, 12),
                },
                {
                    "id": "wed",
                    "label": "Wednesday evening",
                    "starts_at": _ms(2026, 12, 16, 19),
                },
            ],
            "closes_at": _ms(2026, 12, 5, 20),
            "tz": "Europe/London",
        },
    ],
    "network.decision_opened": [
        {
            "network": NETWORK,
            "title": "Rank our priorities for next year",
            "kind": "rank",
            "options": [
                {"id": "housing", "label": "Housing"},
                {"id": "buses", "label": "Bus routes"},
                {"id": "food", "label": "Food banks into food co-ops"},
            ],
            "closes_at": _ms(2027, 2, 1),
        },
    ],
    "network.delegate_vote_cast": [
        {"decision": DECISION, "ranking": ["housing", "food", "buses"]},
    ],
    "pledge.target_set": [
        {"title": "Hours on the street stall", "kind": "time", "target_hours": 120},
        {
            "title": "Skills for the tour",
            "kind": "skills",
            "subject": TOUR,
            "skills": ["driving a minibus", "Welsh interpreting"],
        },
    ],
    "pledge.totals_reported": [
        {
            "target": PLEDGE_TARGET,
            "pledgers": 3,
            "skills": [{"skill": "driving a minibus", "pledgers": 2}],
        },
    ],
}
