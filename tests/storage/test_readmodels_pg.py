"""The read models on PostgreSQL: version upgrades and two projectors at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from node.projections import ReadModels
from node.projections.model import SCHEMA_VERSION
from node.projections.runner import Projector
from node.services.validation import body_validator
from node.storage import dialect
from node.storage.backend import postgres_target
from node.storage.feeds import SqliteFeedStore
from protocol import BodyValidator
from tests.node.conftest import drain, judged, publish_story
from tests.pg import scratch_url, server_url


@pytest.fixture
def url() -> Iterator[str]:
    with scratch_url("models") as made:
        yield made


@pytest.fixture
def validator() -> BodyValidator:
    return body_validator()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteFeedStore]:
    opened = SqliteFeedStore(tmp_path / "feeds.db")
    yield opened
    opened.close()


def _stamp(url: str, version: int, *, drop: str | None = None) -> None:
    schema = postgres_target(url).schema
    with psycopg.connect(server_url(), autocommit=True) as connection:
        connection.execute(
            sql.SQL("UPDATE {}.tredegar_meta SET value = %s").format(
                sql.Identifier(schema)
            ),
            (version,),
        )
        if drop:
            connection.execute(
                sql.SQL("DROP TABLE {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(drop)
                )
            )


def test_models_of_another_version_are_rebuilt_on_opening(
    url: str, store: SqliteFeedStore, validator: BodyValidator
) -> None:
    publish_story(store)
    models = ReadModels(postgres_target(url))
    try:
        assert drain(Projector(store, models, validator)) == store.max_position()
        found = len(models.search("tenants"))
        assert found
    finally:
        models.close()
    _stamp(url, SCHEMA_VERSION - 1, drop="groups")  # as an older release left it

    reopened = ReadModels(postgres_target(url))
    try:
        projector = Projector(store, reopened, validator)
        assert projector.position == 0
        assert drain(projector) == store.max_position()
        assert len(reopened.search("tenants")) == found
        assert reopened.list_groups().items
    finally:
        reopened.close()
    again = ReadModels(postgres_target(url))  # the same version: nothing to redo
    try:
        assert again.position() == store.max_position()
    finally:
        again.close()


def test_two_projectors_never_apply_a_batch_twice(
    url: str, store: SqliteFeedStore, validator: BodyValidator
) -> None:
    publish_story(store)
    items = judged(store, validator)
    first = ReadModels(postgres_target(url))
    second = ReadModels(postgres_target(url))
    applied: list[int] = []
    barrier = threading.Barrier(2)

    def apply(models: ReadModels) -> None:
        barrier.wait()
        applied.append(models.apply(items))

    try:
        workers = [
            threading.Thread(target=apply, args=(models,)) for models in (first, second)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert sorted(applied) == [0, len(items)]
        assert first.position() == second.position() == items[-1].position
        page = first.list_events(limit=500)
        assert len(page.items) == len(items)
    finally:
        first.close()
        second.close()


def test_a_new_process_writes_tables_an_earlier_one_created(
    url: str, store: SqliteFeedStore, validator: BodyValidator
) -> None:
    publish_story(store)
    items = judged(store, validator)
    made = ReadModels(postgres_target(url))
    made.close()
    # As in a restarted node or a second worker: the tables exist, so they are
    # not created again, and this process never translated their CREATE TABLE.
    dialect._SHAPES.clear()
    dialect.translate.cache_clear()
    reopened = ReadModels(postgres_target(url))
    try:
        assert reopened.apply(items) == len(items)  # upserts (guides …) included
        with reopened._reading() as cursor:
            cursor.execute("SELECT count(*) FROM guides")
            assert cursor.fetchone()[0] == 1
    finally:
        reopened.close()
