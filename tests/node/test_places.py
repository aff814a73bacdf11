"""Resolving "near" filters: points, groups' bases, the directory, the gazetteer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.errors import NotFoundError
from node.services.places import NearQuery
from node.services.runtime import NodeServices
from node.storage.gazetteer import GAZETTEER_FILE, Gazetteer, Source
from protocol import Event, JsonObject, SigningKey, sign
from tests.http.conftest import make_settings
from tests.protocol.helpers import KEY_A, KEY_B, T0

PLACES = {
    "1": {
        "name": "Tredegar",
        "latitude": 51.77251,
        "longitude": -3.24679,
        "countrycode": "GB",
        "population": 14855,
        "admin1code": "WLS",
        "alternatenames": [],
    },
    "2": {
        "name": "Tredegar",
        "latitude": 37.5,
        "longitude": -77.4,
        "countrycode": "US",
        "population": 1200,
        "admin1code": "VA",
        "alternatenames": [],
    },
    "3": {
        "name": "Ebbw Vale",
        "latitude": 51.77714,
        "longitude": -3.20792,
        "countrycode": "GB",
        "population": 33068,
        "admin1code": "WLS",
        "alternatenames": ["Glyn Ebwy"],
    },
}


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[NodeServices]:
    settings, _ = make_settings(tmp_path)
    node = NodeServices.open(settings)
    source = tmp_path / "places.json"
    source.write_text(json.dumps(PLACES), encoding="utf-8")
    node.places.gazetteer = Gazetteer(
        settings.path(GAZETTEER_FILE), Source(source, "test")
    )
    node.start()
    yield node
    node.close()


async def held(node: NodeServices, *events: Event) -> None:
    if events:
        node.store.append(list(events))
    node.projector.wake()
    assert await node.projector.caught_up(node.store.max_position(), 5.0)


def profile(key: SigningKey, body: JsonObject) -> Event:
    return sign(key, None, T0, "group.profile_set", body)


def query(**given: object) -> NearQuery:
    values: dict[str, object] = {
        "lat_e6": None, "lon_e6": None, "place": None, "group": None, "km": 10
    }  # fmt: skip
    values.update(given)
    return NearQuery(**values)  # type: ignore[arg-type]


async def test_a_point_is_itself(services: NodeServices) -> None:
    near = await services.places.resolve(query(lat_e6=1, lon_e6=2, km=5))
    assert near is not None
    assert (near.lat_e6, near.lon_e6, near.km) == (1, 2, 5.0)
    assert await services.places.resolve(None) is None
    assert services.places.gazetteer.builds == 0


async def test_a_place_name_resolves_from_the_gazetteer(
    services: NodeServices,
) -> None:
    near = await services.places.resolve(query(place="TREDEGAR"))
    assert near is not None
    # The larger Tredegar wins: the node's own group gives no coordinates.
    assert (near.lat_e6, near.lon_e6, near.label) == (
        51_772_510,
        -3_246_790,
        "Tredegar",
    )
    glyn = await services.places.resolve(query(place="glyn ebwy"))
    assert glyn is not None
    assert glyn.label == "Ebbw Vale"
    with pytest.raises(NotFoundError):
        await services.places.resolve(query(place="Atlantis"))


async def test_the_own_country_comes_first(services: NodeServices) -> None:
    await services.writer.publish(
        "group.profile_set",
        {
            "name": "Richmond Tenants",
            "place": {"name": "Richmond", "lat_e6": 37_540_000, "lon_e6": -77_430_000},
        },
    )
    await held(services)
    found = await services.places.find("Tredegar")
    assert [(p.country, p.source) for p in found] == [
        ("US", "gazetteer"),
        ("GB", "gazetteer"),
    ]


async def test_a_groups_place_name_resolves_from_the_directory(
    services: NodeServices,
) -> None:
    await held(
        services,
        profile(
            KEY_A,
            {
                "name": "Sirhowy Valley Group",
                "area": "Upper Sirhowy",
                "place": {
                    "name": "Tredegar",
                    "lat_e6": 51_780_000,
                    "lon_e6": -3_240_000,
                },
            },
        ),
        profile(KEY_B, {"name": "No Base", "area": "Nowhere"}),
    )
    found = await services.places.find("tredegar", limit=3)
    assert [(p.source, p.lat_e6) for p in found] == [
        ("group", 51_780_000),
        ("gazetteer", 51_772_510),
        ("gazetteer", 37_500_000),
    ]
    assert (found[0].country, found[0].population) == (None, None)
    by_area = await services.places.resolve(query(place="upper sirhowy"))
    assert by_area is not None
    assert by_area.lat_e6 == 51_780_000
    with pytest.raises(NotFoundError):
        await services.places.resolve(query(place="Nowhere"))
    services.store.federation.block(KEY_A.feed, "feed", now=1)
    found = await services.places.find("Upper Sirhowy")
    assert found == []


async def test_a_group_resolves_to_its_base(services: NodeServices) -> None:
    await held(
        services,
        profile(
            KEY_A,
            {
                "name": "Ebbw Fach Group",
                "place": {"name": "Blaina", "lat_e6": 51_770_000, "lon_e6": -3_160_000},
            },
        ),
        profile(KEY_B, {"name": "No Base"}),
    )
    near = await services.places.resolve(query(group=KEY_A.feed, km=3))
    assert near is not None
    assert (near.lat_e6, near.lon_e6, near.km, near.label) == (
        51_770_000, -3_160_000, 3.0, "Ebbw Fach Group"
    )  # fmt: skip
    for feed in (KEY_B.feed, "ed25519:unknown"):
        with pytest.raises(NotFoundError):
            await services.places.resolve(query(group=feed))
    services.store.federation.block(KEY_A.feed, "feed", now=1)
    with pytest.raises(NotFoundError):
        await services.places.resolve(query(group=KEY_A.feed))


async def test_concurrent_first_lookups_build_the_index_once(
    services: NodeServices,
) -> None:
    first, second = await asyncio.gather(
        services.places.resolve(query(place="Tredegar")),
        services.places.resolve(query(place="Ebbw Vale")),
    )
    assert first is not None
    assert second is not None
    assert services.places.gazetteer.builds == 1
    await services.places.find("Ebbw Vale")
    assert services.places.gazetteer.builds == 1


async def test_the_index_is_built_in_the_background_after_start(
    services: NodeServices,
) -> None:
    services.places.prebuild(0.01)
    services.places.prebuild(0.01)  # once is enough
    for _ in range(500):
        if services.places.gazetteer.builds:
            break
        await asyncio.sleep(0.02)
    assert services.places.gazetteer.builds == 1
    await services.places.find("Tredegar")
    assert services.places.gazetteer.builds == 1
    await services.places.stop()


async def test_no_background_build_when_it_is_turned_off(
    services: NodeServices,
) -> None:
    services.places.prebuild(0)
    await asyncio.sleep(0.05)
    await services.places.stop()
    assert services.places.gazetteer.builds == 0
