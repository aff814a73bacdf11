"""``GET /api/v1/places``, the directory near a point, and one group by feed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from node.storage.gazetteer import GAZETTEER_FILE, Gazetteer, Source
from protocol import JsonObject
from tests.http.conftest import Served
from tests.node.conftest import KEY_C, Author
from tests.protocol.helpers import KEY_A, KEY_B

PLACE_KEYS = {"name", "country", "admin1", "lat_e6", "lon_e6", "population", "source"}


def _place(name: str, lat: float, lon: float, country: str, population: int) -> object:
    return {
        "name": name,
        "latitude": lat,
        "longitude": lon,
        "countrycode": country,
        "population": population,
        "admin1code": "WLS" if country == "GB" else "VA",
        "alternatenames": [],
    }


GAZETTEER_PLACES = {
    "1": _place("Tredegar", 51.77251, -3.24679, "GB", 14855),
    "2": _place("Tredegar", 37.5, -77.4, "US", 1200),
    "3": _place("Merthyr Tydfil", 51.74794, -3.37779, "GB", 43820),
    "4": _place("Cardiff", 51.48, -3.18, "GB", 447287),
}


def use_small_gazetteer(node: Served, tmp_path: Path) -> Gazetteer:
    """Give the node a gazetteer of four places (quick to build)."""
    source = tmp_path / "places.json"
    source.write_text(json.dumps(GAZETTEER_PLACES), encoding="utf-8")
    gazetteer = Gazetteer(node.settings.path(GAZETTEER_FILE), Source(source, "t"))
    node.services.places.gazetteer = gazetteer
    return gazetteer


def base(name: str, lat_e6: int, lon_e6: int) -> JsonObject:
    return {"name": name, "lat_e6": lat_e6, "lon_e6": lon_e6}


async def hold(node: Served, *profiles: tuple[Author, JsonObject]) -> None:
    for author, content in profiles:
        author.publish("group.profile_set", content)
    node.services.projector.wake()
    await node.projected()


@pytest.fixture
async def groups(node: Served, tmp_path: Path) -> dict[str, Author]:
    use_small_gazetteer(node, tmp_path)
    store = node.services.store
    a, b, c = Author(KEY_A, store), Author(KEY_B, store), Author(KEY_C, store)
    await hold(
        node,
        (a, {"name": "Sirhowy Tenants", "area": "Tredegar",
             "place": base("Sirhowy", 51_780_000, -3_250_000)}),
        (b, {"name": "Ebbw Vale Tenants", "place": base("Ebbw Vale", 51_777_140,
                                                         -3_207_920)}),
        (c, {"name": "Cardiff Renters", "place": base("Cardiff", 51_480_000,
                                                      -3_180_000)}),
    )  # fmt: skip
    return {"a": a, "b": b, "c": c}


async def get(node: Served, path: str, **params: str) -> tuple[int, Any]:
    response = await node.client.get(path, params=params)
    return response.status, await response.json()


async def test_places_by_name(node: Served, tmp_path: Path) -> None:
    use_small_gazetteer(node, tmp_path)
    status, answer = await get(node, "/api/v1/places", q="tredegar")
    assert status == 200
    assert answer == {
        "places": [
            {
                "name": "Tredegar",
                "country": "GB",
                "admin1": "WLS",
                "lat_e6": 51_772_510,
                "lon_e6": -3_246_790,
                "population": 14855,
                "source": "gazetteer",
            },
            {
                "name": "Tredegar",
                "country": "US",
                "admin1": "VA",
                "lat_e6": 37_500_000,
                "lon_e6": -77_400_000,
                "population": 1200,
                "source": "gazetteer",
            },
        ]
    }
    _, one = await get(node, "/api/v1/places", q="TREDEGAR", limit="1")
    assert len(one["places"]) == 1
    assert await get(node, "/api/v1/places", q="Atlantis") == (200, {"places": []})


async def test_a_groups_base_comes_first(
    node: Served, groups: dict[str, Author]
) -> None:
    _, answer = await get(node, "/api/v1/places", q="Tredegar")
    places = answer["places"]
    assert isinstance(places, list)
    assert [(p["source"], p["lat_e6"]) for p in places] == [
        ("group", 51_780_000),
        ("gazetteer", 51_772_510),
        ("gazetteer", 37_500_000),
    ]
    assert all(set(p) == PLACE_KEYS for p in places)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 400),
        ({"q": ""}, 400),
        ({"q": "x" * 201}, 400),
        ({"q": "Tredegar", "limit": "0"}, 400),
        ({"q": "Tredegar", "limit": "many"}, 400),
        ({"q": "\x00"}, 200),
        ({"q": "*"}, 200),
        ({"q": '" OR 1=1 --'}, 200),
        ({"q": "Tredegar", "limit": "100000"}, 200),
    ],
)
async def test_bad_place_queries(
    node: Served, tmp_path: Path, query: dict[str, str], status: int
) -> None:
    use_small_gazetteer(node, tmp_path)
    response = await node.client.get("/api/v1/places", params=query)
    assert response.status == status
    if status == 400:
        assert response.content_type == "application/problem+json"
        assert (await response.json())["code"] == "malformed"


def names_and_distances(answer: Any) -> list[tuple[str, float]]:
    return [(g["name"], g["distance_km"]) for g in answer["groups"]]


async def test_groups_near_a_point_nearest_first(
    node: Served, groups: dict[str, Author]
) -> None:
    status, answer = await get(
        node, "/api/v1/groups", lat="51.7725", lon="-3.2468", within_km="10"
    )
    assert status == 200
    near = names_and_distances(answer)
    assert [name for name, _ in near] == ["Sirhowy Tenants", "Ebbw Vale Tenants"]
    assert 0 < near[0][1] < 1 < near[1][1] < 5
    assert answer["next"] is None
    _, wide = await get(node, "/api/v1/groups", near="Tredegar", within_km="50")
    assert [name for name, _ in names_and_distances(wide)] == [
        "Sirhowy Tenants",
        "Ebbw Vale Tenants",
        "Cardiff Renters",
    ]
    _, by_group = await get(node, "/api/v1/groups", near_group=KEY_C.feed)
    assert names_and_distances(by_group) == [("Cardiff Renters", 0.0)]
    _, tagged = await get(node, "/api/v1/groups", near="Tredegar", q="ebbw")
    assert [name for name, _ in names_and_distances(tagged)] == ["Ebbw Vale Tenants"]
    _, plain = await get(node, "/api/v1/groups")
    assert all("distance_km" not in g for g in plain["groups"])


async def test_groups_near_a_point_page_by_cursor(
    node: Served, groups: dict[str, Author]
) -> None:
    seen: list[str] = []
    params = {"near": "Tredegar", "within_km": "50", "limit": "1"}
    while True:
        _, answer = await get(node, "/api/v1/groups", **params)
        seen += [name for name, _ in names_and_distances(answer)]
        if answer["next"] is None:
            break
        params["after"] = str(answer["next"])
    assert seen == ["Sirhowy Tenants", "Ebbw Vale Tenants", "Cardiff Renters"]
    _, named = await get(node, "/api/v1/groups", limit="1")
    status, problem = await get(
        node, "/api/v1/groups", near="Tredegar", after=str(named["next"])
    )
    assert (status, problem["code"]) == (400, "malformed")


async def test_blocked_and_redacted_groups_leave_the_near_listing(
    node: Served, groups: dict[str, Author]
) -> None:
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    a = groups["a"]
    assert a.head is not None
    a.redact(a.head)
    node.services.projector.wake()
    await node.projected()
    _, answer = await get(node, "/api/v1/groups", near="Tredegar", within_km="50")
    assert [name for name, _ in names_and_distances(answer)] == ["Cardiff Renters"]
    assert "Sirhowy" not in json.dumps(answer)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"near": "Atlantis"}, 404, "not-found"),
        ({"near_group": "ed25519:nobody"}, 404, "not-found"),
        ({"within_km": "5"}, 400, "malformed"),
        ({"lat": "51.7"}, 400, "malformed"),
        ({"lat": "91", "lon": "0"}, 400, "malformed"),
        ({"near": "Tredegar", "lat": "1", "lon": "1"}, 400, "malformed"),
        ({"near": "Tredegar", "within_km": "0"}, 400, "malformed"),
        ({"near": "Tredegar", "after": "!!"}, 400, "malformed"),
    ],
)
async def test_bad_near_filters(
    node: Served,
    groups: dict[str, Author],
    query: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = await node.client.get("/api/v1/groups", params=query)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == code


async def test_one_group_by_feed(node: Served, groups: dict[str, Author]) -> None:
    status, group = await get(node, f"/api/v1/groups/{KEY_C.feed}")
    assert status == 200
    assert (group["feed"], group["name"], group["lat_e6"]) == (
        KEY_C.feed, "Cardiff Renters", 51_480_000
    )  # fmt: skip
    _, listed = await get(node, "/api/v1/groups", q="cardiff")
    assert listed["groups"] == [group]
    own = await get(node, f"/api/v1/groups/{node.made.feed}")
    assert own[1]["name"] == "Blaenavon Tenants"
    node.services.store.federation.block(KEY_C.feed, "feed", now=1)
    for feed, status, code in (
        (KEY_C.feed, 404, "not-found"),
        ("ed25519:" + "A" * 43, 404, "not-found"),
        ("not-a-feed", 400, "malformed"),
    ):
        response = await node.client.get(f"/api/v1/groups/{feed}")
        assert response.status == status
        assert (await response.json())["code"] == code
