"""Fixtures and builders for node tests: a real feed store and read models.

Nothing here is a mock: events are signed with the fixed test keys, stored in
a real :class:`SqliteFeedStore` and projected into real read models, all in
``tmp_path``.
"""

from __future__ import annotations

import copy
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

import schemas
from node.projections import Projected, Projector, ReadModels
from node.storage.feeds import SqliteFeedStore
from protocol import (
    BodyValidator,
    Event,
    JsonObject,
    JsonValue,
    SchemaViolationError,
    SigningKey,
    UnknownEventTypeError,
    sign,
)
from tests.protocol.helpers import KEY_A, KEY_B, T0
from tests.protocol.sample_bodies import SAMPLE_BODIES

KEY_C = SigningKey.from_seed(bytes(range(64, 96)))

Snapshot = dict[str, list[tuple[object, ...]]]


def body(event_type: str, **changes: JsonValue) -> JsonObject:
    """A sample body of the type, with fields changed (a fresh copy)."""
    return cast(JsonObject, {**copy.deepcopy(SAMPLE_BODIES[event_type]), **changes})


class Author:
    """Signs the next events of one feed and stores them."""

    def __init__(self, key: SigningKey, store: SqliteFeedStore) -> None:
        self.key = key
        self.store = store
        self.head: Event | None = None

    def publish(self, event_type: str, content: JsonObject) -> Event:
        seq = 1 if self.head is None else self.head.seq + 1
        event = sign(self.key, self.head, T0 + seq * 1000, event_type, content)
        assert self.store.append([event])
        self.head = event
        return event

    def profile(self, **changes: JsonValue) -> Event:
        return self.publish("group.profile_set", body("group.profile_set", **changes))

    def redact(self, target: Event) -> Event:
        return self.publish("event.redacted", {"id": target.id, "reason": "Asked to."})


def publish_story(store: SqliteFeedStore) -> tuple[Author, Author]:
    """Two feeds: every sample type, an unknown type and a schema failure."""
    a, b = Author(KEY_A, store), Author(KEY_B, store)
    a.profile()
    b.profile(name="Ebbw Vale Tenants", tags=["housing"])
    for event_type in SAMPLE_BODIES:
        if event_type not in ("group.profile_set", "event.redacted"):
            a.publish(event_type, body(event_type))
    b.publish("widget.invented", {"title": "Unknown to this node"})
    b.publish("meeting.scheduled", {"title": "Fails its schema"})
    return a, b


def drain(projector: Projector) -> int:
    """Run batches until the projector is caught up; return how many events."""
    total = 0
    while count := projector.run_once():
        total += count
    return total


def judged(store: SqliteFeedStore, validator: BodyValidator) -> list[Projected]:
    """The log as the projector would hand it to the read models."""
    items = []
    for logged in store.log(0, 1000):
        event = logged.event
        try:
            assert event.body is not None
            validator.validate(event.type, event.body)
        except (AssertionError, UnknownEventTypeError, SchemaViolationError):
            items.append(Projected(logged.position, event, is_valid=False))
        else:
            items.append(Projected(logged.position, event, is_valid=True))
    return items


def snapshot(path: Path) -> Snapshot:
    """Every row of every read-model table, and the tracking row."""
    queries = {
        "events": "SELECT * FROM events ORDER BY position",
        "groups": "SELECT * FROM groups ORDER BY feed",
        "search": "SELECT rowid, * FROM search ORDER BY rowid",
        "tracking": "SELECT * FROM tracking WHERE application_name = 'ReadModels'",
    }
    connection = sqlite3.connect(path)
    try:
        return {
            name: [tuple(row) for row in connection.execute(query)]
            for name, query in queries.items()
        }
    finally:
        connection.close()


def raw_bytes(path: Path) -> bytes:
    """A database file's bytes followed by its WAL's."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


class FailingValidator(BodyValidator):
    """A real validator that breaks, as a bug would, for its first calls."""

    def __init__(self, failures: int, at_type: str) -> None:
        super().__init__(schemas.load_event_schemas())
        self.failures = failures
        self.at_type = at_type
        self.lock = threading.Lock()

    def validate(self, event_type: str, body: JsonObject) -> None:
        with self.lock:
            if event_type == self.at_type and self.failures > 0:
                self.failures -= 1
                raise RuntimeError("a bug in a projection")
        super().validate(event_type, body)


@pytest.fixture(scope="session")
def validator() -> BodyValidator:
    return BodyValidator(schemas.load_event_schemas())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteFeedStore]:
    feeds = SqliteFeedStore(tmp_path / "feeds.db")
    yield feeds
    feeds.close()


@pytest.fixture
def readmodels(tmp_path: Path) -> Iterator[ReadModels]:
    models = ReadModels(tmp_path / "readmodels.db")
    yield models
    models.close()


@pytest.fixture
def projector(
    store: SqliteFeedStore, readmodels: ReadModels, validator: BodyValidator
) -> Iterator[Projector]:
    runner = Projector(store, readmodels, validator, poll_seconds=0.05)
    yield runner
    runner.stop()


@dataclass
class Node:
    """The node under test: its feed store, read models and projector."""

    store: SqliteFeedStore
    readmodels: ReadModels
    projector: Projector
    path: Path

    def author(self, key: SigningKey) -> Author:
        return Author(key, self.store)

    def drain(self) -> int:
        return drain(self.projector)


@pytest.fixture
def node(
    store: SqliteFeedStore, readmodels: ReadModels, projector: Projector, tmp_path: Path
) -> Node:
    return Node(store, readmodels, projector, tmp_path / "readmodels.db")
