"""An initialised node served in-process: ``aiohttp_client(create_app(settings))``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from node.config import Settings, load_settings
from node.http.app import create_app
from node.services.runtime import NodeServices
from node.services.setup import Initialised, initialise
from node.storage.private import PrivateStore
from tests.pg import BACKENDS, scratch_url

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]

PROFILE = {"name": "Blaenavon Tenants", "area": "Blaenavon", "tags": ["housing"]}


@dataclass
class Served:
    """A node under test: its client, services and the organiser's token."""

    client: TestClient  # type: ignore[type-arg]
    services: NodeServices
    made: Initialised
    settings: Settings

    @property
    def organiser(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.made.token}"}

    def token(self, role: str) -> str:
        private = PrivateStore.open(self.settings)
        try:
            account = private.create_account(f"A {role}", role, now=1)
            return private.issue_token(account, role, label="test", now=1).token
        finally:
            private.close()

    async def projected(self) -> None:
        """Wait until the read models hold everything stored."""
        position = self.services.store.max_position()
        assert await self.services.projector.caught_up(position, 5.0)


def make_settings(tmp_path: Path, **overrides: object) -> tuple[Settings, Initialised]:
    settings = load_settings(tmp_path / "node", {}, overrides)
    settings.data_dir.mkdir()
    return settings, initialise(settings, dict(PROFILE))  # type: ignore[arg-type]


async def serve(
    settings: Settings, made: Initialised, factory: ClientFactory
) -> Served:
    services = NodeServices.open(settings)
    client = await factory(create_app(settings, services))
    return Served(client, services, made, settings)


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The ``database_url`` of the backend under test: "" is SQLite files."""
    if request.param == "sqlite":
        yield ""
        return
    with scratch_url("http") as url:
        yield url


@pytest.fixture
async def node(
    tmp_path: Path, aiohttp_client: ClientFactory, backend_url: str
) -> AsyncIterator[Served]:
    """A served node, once on each backend."""
    settings, made = make_settings(tmp_path, database_url=backend_url or None)
    served = await serve(settings, made, aiohttp_client)
    yield served
    await served.client.close()
    served.services.close()


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """On PostgreSQL, run each HTTP test once, not once per hostile input.

    A test parametrised over many inputs (bad parameters, hostile queries …)
    checks what the HTTP layer refuses before storage is reached; every test
    function still runs on both backends, the PostgreSQL half with its first
    set of parameters, which keeps ``make test`` within its time.
    """
    seen: set[str] = set()
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        is_postgres = (
            callspec is not None and callspec.params.get("backend_url") == "postgresql"
        )
        if is_postgres and "tests/http/" in item.nodeid:
            function = item.nodeid.split("[", 1)[0]
            if function in seen:
                dropped.append(item)
                continue
            seen.add(function)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
