"""The offline gazetteer index: built once, atomically, and matched by key."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from node.errors import StorageUnavailableError
from node.storage.gazetteer import Gazetteer, Source, geonames_source, name_key

TREDEGAR = (51_772_510, -3_246_790)


def place(
    name: str, lat: float, lon: float, country: str, population: int, *alternates: str
) -> dict[str, object]:
    return {
        "name": name,
        "latitude": lat,
        "longitude": lon,
        "countrycode": country,
        "population": population,
        "admin1code": "WLS" if country == "GB" else "VA",
        "alternatenames": list(alternates),
    }


PLACES = {
    "1": place("Tredegar", 51.77251, -3.24679, "GB", 14855, "Tredegyr"),
    "2": place("Tredegar", 37.5, -77.4, "US", 1200),
    "3": place("Merthyr Tydfil", 51.74794, -3.37779, "GB", 43820, "Merthyr Tudful"),
    "4": place("Zürich", 47.36667, 8.55, "CH", 341730, "Zurich"),
    "5": {"name": "No coordinates"},
}


def write_source(tmp_path: Path, places: object = PLACES, version: str = "1") -> Source:
    path = tmp_path / f"places-{version}.json"
    path.write_text(json.dumps(places, ensure_ascii=False), encoding="utf-8")
    return Source(path, version)


def test_name_keys_ignore_case_accents_and_punctuation() -> None:
    assert (
        name_key("Merthyr-Tydfil")
        == name_key("  MERTHYR tydfil ")
        == ("merthyr tydfil")
    )
    assert name_key("Zürich") == name_key("ZURICH") == "zurich"
    assert name_key("Tŷ Coch") == "ty coch"
    assert name_key("'*\x00\"") == ""


def test_lookup_ranks_by_country_then_population(tmp_path: Path) -> None:
    gazetteer = Gazetteer(tmp_path / "gazetteer.db", write_source(tmp_path))
    found = gazetteer.lookup("tredegar", limit=5)
    assert [(p.country, p.population) for p in found] == [("GB", 14855), ("US", 1200)]
    assert (found[0].lat_e6, found[0].lon_e6, found[0].admin1) == (*TREDEGAR, "WLS")
    in_us = gazetteer.lookup("Tredegar", limit=5, country="US")
    assert [p.country for p in in_us] == ["US", "GB"]
    assert [p.name for p in gazetteer.lookup("zurich", limit=5)] == ["Zürich"]
    assert [p.name for p in gazetteer.lookup("MERTHYR TUDFUL", limit=5)] == [
        "Merthyr Tydfil"
    ]
    assert gazetteer.lookup("Tredegyr", limit=1)[0].country == "GB"
    assert gazetteer.lookup("Atlantis", limit=5) == []
    assert gazetteer.lookup("No coordinates", limit=5) == []
    assert gazetteer.lookup("*", limit=5) == []


def test_nearest_place_gives_the_country(tmp_path: Path) -> None:
    gazetteer = Gazetteer(tmp_path / "gazetteer.db", write_source(tmp_path))
    nearest = gazetteer.nearest(51_700_000, -3_300_000)
    assert nearest is not None
    assert nearest.country == "GB"
    assert gazetteer.nearest(-60_000_000, 0) is None


def test_built_once_and_reused(tmp_path: Path) -> None:
    source = write_source(tmp_path)
    path = tmp_path / "gazetteer.db"
    first = Gazetteer(path, source)
    first.lookup("Tredegar", limit=1)
    first.lookup("Zurich", limit=1)
    assert first.builds == 1
    built = path.stat().st_mtime_ns
    again = Gazetteer(path, source)
    assert again.lookup("Tredegar", limit=1)
    assert again.builds == 0
    assert path.stat().st_mtime_ns == built
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gazetteer.db",
        "places-1.json",
    ]


def test_a_new_version_rebuilds(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.db"
    Gazetteer(path, write_source(tmp_path)).ensure()
    newer = {"9": place("Abertillery", 51.73, -3.13, "GB", 11000)}
    gazetteer = Gazetteer(path, write_source(tmp_path, newer, version="2"))
    assert [p.name for p in gazetteer.lookup("abertillery", limit=1)] == ["Abertillery"]
    assert gazetteer.builds == 1
    assert gazetteer.lookup("Tredegar", limit=1) == []


def test_concurrent_first_lookups_build_once(tmp_path: Path) -> None:
    gazetteer = Gazetteer(tmp_path / "gazetteer.db", write_source(tmp_path))
    start = threading.Barrier(4)
    answers: list[int] = []

    def look() -> None:
        start.wait()
        answers.append(len(gazetteer.lookup("Tredegar", limit=5)))

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [2, 2, 2, 2]
    assert gazetteer.builds == 1


def test_a_broken_index_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.db"
    path.write_bytes(b"half a file")
    gazetteer = Gazetteer(path, write_source(tmp_path))
    assert gazetteer.lookup("Tredegar", limit=1)
    assert gazetteer.builds == 1


def test_a_failed_build_leaves_no_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"1": {"name": "Tredegar", ', encoding="utf-8")
    gazetteer = Gazetteer(tmp_path / "gazetteer.db", Source(broken, "1"))
    with pytest.raises(StorageUnavailableError):
        gazetteer.ensure()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json"]


@pytest.fixture(scope="module")
def geonames(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    gazetteer = Gazetteer(tmp_path_factory.mktemp("geonames") / "gazetteer.db")
    gazetteer.ensure()
    return gazetteer


def test_the_shipped_places_answer(geonames: Gazetteer) -> None:
    assert geonames_source().path.name == "cities1000.json"
    [tredegar] = geonames.lookup("Tredegar", limit=1)
    assert (tredegar.country, tredegar.admin1) == ("GB", "WLS")
    assert abs(tredegar.lat_e6 - 51_770_000) < 20_000
    assert abs(tredegar.lon_e6 + 3_250_000) < 20_000
    for variant, name in (
        ("merthyr tydfil", "Merthyr Tydfil"),
        ("EBBW VALE", "Ebbw Vale"),
        ("Ebbw-Vale", "Ebbw Vale"),
        ("Glyn Ebwy", "Ebbw Vale"),
        ("zurich", "Zürich"),
    ):
        assert geonames.lookup(variant, limit=1)[0].name == name
    newports = geonames.lookup("Newport", limit=3, country="GB")
    populations = [p.population for p in newports]
    assert populations == sorted(populations, reverse=True)
    assert geonames.lookup("Qwxzyville", limit=3) == []
    nearest = geonames.nearest(*TREDEGAR)
    assert nearest is not None
    assert nearest.name == "Tredegar"
