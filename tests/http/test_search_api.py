"""``GET /api/v1/search``: type filters, "near", paging, redaction, hostile text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from protocol import Event, JsonObject
from tests.http.conftest import Served
from tests.http.test_places_api import base, use_small_gazetteer
from tests.node.conftest import Author
from tests.protocol.helpers import KEY_A, KEY_B

HIT_KEYS = {"type", "feed", "seq", "id", "title", "snippet"}
TREDEGAR = base("Tredegar Workmen's Institute", 51_772_200, -3_246_600)
CARDIFF = base("Cardiff Central Library", 51_478_000, -3_176_000)


def meeting(title: str, place: JsonObject) -> JsonObject:
    return {
        "title": title,
        "kind": "advice_surgery",
        "starts_at": 1_796_119_200_000,
        "ends_at": 1_796_126_400_000,
        "tz": "Europe/London",
        "place": place,
    }


class Story:
    """Two other groups' housing events, in Tredegar and in Cardiff."""

    def __init__(self, node: Served) -> None:
        self.a = Author(KEY_A, node.services.store)
        self.b = Author(KEY_B, node.services.store)
        a, b = self.a, self.b
        # The node's own profile (tagged housing) has no place.
        self.own = node.made.profile
        self.sirhowy = a.publish(
            "group.profile_set", {"name": "Sirhowy Housing Group", "place": TREDEGAR}
        )
        self.surgery = a.publish(
            "meeting.scheduled", meeting("Housing advice surgery", TREDEGAR)
        )
        self.campaign = a.publish(
            "campaign.launched",
            {
                "title": "Save the housing estate",
                "target": {"name": "The council", "kind": "council"},
                "demands": ["No demolition."],
                "place": base("Ashvale, Tredegar", 51_775_000, -3_240_000),
            },
        )
        self.cardiff = b.publish(
            "group.profile_set", {"name": "Cardiff Housing Network", "place": CARDIFF}
        )
        self.library = b.publish(
            "meeting.scheduled", meeting("Housing meeting in the library", CARDIFF)
        )
        self.guide = b.publish(
            "guide.published", {"title": "A housing guide", "text": "Start small."}
        )


@pytest.fixture
async def story(node: Served, tmp_path: Path) -> Story:
    use_small_gazetteer(node, tmp_path)
    told = Story(node)
    await settled(node)
    return told


async def settled(node: Served) -> None:
    node.services.projector.wake()
    await node.projected()


async def search(node: Served, *pairs: tuple[str, str]) -> tuple[int, Any]:
    response = await node.client.get("/api/v1/search", params=list(pairs))
    return response.status, await response.json()


async def ids(node: Served, *pairs: tuple[str, str]) -> set[str]:
    status, answer = await search(node, ("q", "housing"), *pairs)
    assert status == 200, answer
    return {hit["id"] for hit in answer["results"]}


def id_set(*events: Event) -> set[str]:
    return {event.id for event in events}


async def test_hits_keep_their_shape(node: Served, story: Story) -> None:
    status, answer = await search(node, ("q", "advice surgery"))
    assert status == 200
    assert set(answer) == {"results", "next"}
    assert answer["next"] is None
    [hit] = answer["results"]
    assert set(hit) == HIT_KEYS
    assert (hit["type"], hit["feed"], hit["seq"], hit["id"], hit["title"]) == (
        "meeting.scheduled", KEY_A.feed, 2, story.surgery.id, "Housing advice surgery"
    )  # fmt: skip


async def test_the_directory_is_searchable(node: Served, story: Story) -> None:
    found = await ids(node, ("type", "group.profile_set"))
    assert found == id_set(story.own, story.sirhowy, story.cardiff)


async def test_type_filters(node: Served, story: Story) -> None:
    assert await ids(node, ("type", "meeting.scheduled")) == id_set(
        story.surgery, story.library
    )
    assert await ids(node, ("type", "meeting")) == id_set(story.surgery, story.library)
    assert await ids(
        node, ("type", "meeting.scheduled"), ("type", "campaign.launched")
    ) == id_set(story.surgery, story.library, story.campaign)
    assert await ids(node, ("type", "guide"), ("type", "group")) == id_set(
        story.guide, story.own, story.sirhowy, story.cardiff
    )
    for unknown in ("widget.invented", "meet", "meeting.scheduled.later"):
        assert await ids(node, ("type", unknown)) == set()
    assert len(await ids(node, ("type", ""))) == 7


@pytest.mark.parametrize(
    "bad",
    ["Meeting", "meeting.", ".meeting", "meeting..scheduled", "a.b.c.d.e", "x" * 40,
     "meeting scheduled", "meeting.*", "%", "1meeting"],
)  # fmt: skip
async def test_bad_type_filters_are_malformed(
    node: Served, story: Story, bad: str
) -> None:
    status, problem = await search(node, ("q", "housing"), ("type", bad))
    assert (status, problem["code"], problem.get("field")) == (400, "malformed", "type")


async def test_too_many_type_filters(node: Served) -> None:
    many = [("type", f"kind{n}") for n in range(21)]
    status, problem = await search(node, ("q", "housing"), *many)
    assert (status, problem["code"]) == (400, "malformed")


async def test_near_filters(node: Served, story: Story) -> None:
    tredegar = id_set(story.sirhowy, story.surgery, story.campaign)
    point = (("lat", "51.7722"), ("lon", "-3.2466"), ("within_km", "5"))
    assert await ids(node, *point) == tredegar
    assert await ids(node, ("near", "tredegar"), ("within_km", "5")) == tredegar
    assert await ids(node, ("near_group", KEY_B.feed), ("within_km", "5")) == id_set(
        story.cardiff, story.library
    )
    assert await ids(node, ("near", "Tredegar"), ("within_km", "50")) == id_set(
        story.sirhowy, story.surgery, story.campaign, story.cardiff, story.library
    )  # the guide has no place: never near anything
    assert await ids(node, *point, ("type", "meeting")) == id_set(story.surgery)
    status, problem = await search(node, ("q", "housing"), ("near", "Atlantis"))
    assert (status, problem["code"]) == (404, "not-found")
    status, problem = await search(node, ("q", "housing"), ("within_km", "5"))
    assert (status, problem["code"]) == (400, "malformed")


async def walk(node: Served, *pairs: tuple[str, str]) -> list[str]:
    seen: list[str] = []
    after: list[tuple[str, str]] = []
    for _ in range(20):
        status, answer = await search(node, ("q", "housing"), *pairs, *after)
        assert status == 200
        assert len(answer["results"]) <= 2
        seen += [hit["id"] for hit in answer["results"]]
        if answer["next"] is None:
            return seen
        after = [("after", answer["next"])]
    raise AssertionError("the pages never end")


async def test_paging_walks_the_ranked_order_once(node: Served, story: Story) -> None:
    _, whole = await search(node, ("q", "housing"))
    ranked = [hit["id"] for hit in whole["results"]]
    assert len(ranked) == 7
    assert await walk(node, ("limit", "2")) == ranked
    near = ("near", "Tredegar"), ("within_km", "50")
    _, near_whole = await search(node, ("q", "housing"), *near)
    assert len(near_whole["results"]) == 5
    assert await walk(node, ("limit", "2"), *near) == [
        hit["id"] for hit in near_whole["results"]
    ]
    for bad in ("!!", "WyJ4Il0", "WzEsMl0", "bm90IGpzb24", "Wy0xXQ"):
        status, problem = await search(node, ("q", "housing"), ("after", bad))
        assert (status, problem["code"]) == (400, "malformed"), bad


async def test_blocked_feeds_are_left_out(node: Served, story: Story) -> None:
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    assert await ids(node) == id_set(
        story.own, story.sirhowy, story.surgery, story.campaign
    )
    assert await ids(node, ("near", "Cardiff"), ("within_km", "5")) == set()


async def test_redaction_removes_words_and_coordinates(
    node: Served, story: Story
) -> None:
    point = (("lat", "51.7722"), ("lon", "-3.2466"), ("within_km", "5"))
    story.a.redact(story.surgery)
    await settled(node)
    assert await ids(node, *point) == id_set(story.sirhowy, story.campaign)
    _, answer = await search(node, ("q", "surgery"))
    assert answer["results"] == []
    # The search model's own tables, on either backend (FTS5 keys its rows
    # by rowid; PostgreSQL's table by a position column).
    search_key = "position" if node.settings.database_url else "rowid"
    with node.services.readmodels._reading() as cursor:
        cursor.execute("SELECT position FROM events WHERE id = ?", (story.surgery.id,))
        [position] = cursor.fetchone()
        for table in ("search_places", "search"):
            column = "position" if table == "search_places" else search_key
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = ?",  # noqa: S608
                (position,),
            )
            assert tuple(cursor.fetchone()) == (0,)
        cursor.execute("SELECT count(*) FROM search_places")
        # two profiles, the campaign, the library meeting
        assert tuple(cursor.fetchone()) == (4,)


@pytest.mark.parametrize(
    "query",
    ['"', "*", "AND OR NOT", ")(", "NEAR(housing", "housing*", "\x00", "\x00housing",
     "' OR 1=1 --", "housing\"; DROP TABLE search; --", "ŵ" * 400, "-housing",
     "^housing", "housing:", "{title}: housing", "\ud7ff"],
)  # fmt: skip
async def test_hostile_queries_never_fail(
    node: Served, story: Story, query: str
) -> None:
    for pairs in ([("q", query)], [("q", query), ("type", "meeting")],
                  [("q", query), ("near", "Tredegar")]):  # fmt: skip
        response = await node.client.get("/api/v1/search", params=pairs)
        assert response.status == 200
        assert set(await response.json()) == {"results", "next"}


@pytest.mark.parametrize("size", [501, 4000, 10_000])
async def test_overlong_queries_are_malformed(node: Served, size: int) -> None:
    status, problem = await search(node, ("q", "h" * size))
    assert (status, problem["code"], problem.get("field")) == (400, "malformed", "q")


async def test_a_query_of_ten_thousand_characters_is_refused(node: Served) -> None:
    # Encoded, 60,000 characters: longer than the request line the HTTP server
    # reads (32 KiB), so refused before routing, still with a 400.
    response = await node.client.get("/api/v1/search", params={"q": "ŵ" * 10_000})
    assert response.status == 400
