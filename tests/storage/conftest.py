"""The storage fixtures, parametrised by backend: SQLite and PostgreSQL.

Every test here that asks for ``settings`` (or a store opened from them) runs
once per backend; the PostgreSQL case gets a scratch schema of its own and
skips, saying why, when no server is reachable (``tests/pg.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import Settings, load_settings
from node.storage.feeds import SqliteFeedStore
from node.storage.feeds_pg import open_feed_store
from tests.pg import BACKENDS, scratch_url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """A data directory's settings on the backend under test."""
    if backend == "sqlite":
        yield load_settings(tmp_path, {})
        return
    with scratch_url("storage") as url:
        yield load_settings(tmp_path, {}, {"database_url": url})


@pytest.fixture
def feed_store(settings: Settings) -> Iterator[SqliteFeedStore]:
    """A fresh, empty feed store on each backend."""
    store = open_feed_store(settings)
    yield store
    store.close()
