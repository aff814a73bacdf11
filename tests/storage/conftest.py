"""The storage fixture, parametrised by backend (SQLite now; others join here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.storage.feeds import SqliteFeedStore

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def feed_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SqliteFeedStore]:
    """A fresh, empty feed store on each backend."""
    assert request.param == "sqlite"
    store = SqliteFeedStore(tmp_path / "feeds.db")
    yield store
    store.close()
