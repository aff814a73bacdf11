"""``tredegar migrate --to postgresql://…``: a SQLite node copied to PostgreSQL.

One SQLite node is made per module through the services (events of two
feeds, a redaction, a member with a login and a session, a token, a peer, a
block, a 1-to-1) and copied for each test. The migration runs as the
operator runs it (a subprocess); the result is then opened as a node on
PostgreSQL and compared with the SQLite files, which must be unchanged.
Refusals run the command in-process. Every test that needs a server skips,
saying why, when PostgreSQL is unreachable (``tests/pg.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from psycopg import sql

from node.cli import main
from node.config import Settings, load_settings
from node.services.migration import migrate
from node.services.runtime import NodeServices
from node.services.setup import initialise
from node.storage.feeds import SqliteFeedStore
from node.storage.private import PrivateStore
from protocol import Event, sign
from tests.network.conftest import tredegar_json
from tests.pg import scratch_url, server_url
from tests.protocol.helpers import KEY_B, T0

PASSWORD = "a long enough password"  # noqa: S105 - a test member's
#: What ``migrate --json`` counts.
COUNTED = {"events", "bodies", "redactions", "private_records", "member_keys"}
COUNTED |= {"casework_keys", "peers", "blocks", "forks", "seconds"}
#: As ``init`` writes them (migrate keeps them and adds database_url).
SETTINGS = "# Tredegar node settings.\nport = 8485\n"
NOTES = "Worried about the bus route; knows the library staff."


@dataclass(frozen=True, slots=True)
class Made:
    """The template node and what the tests look for in its copy."""

    data: Path
    token: str
    session: str
    redacted: Event
    one_to_one: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """A SQLite node with a bit of everything: copy it, don't change it."""
    data = tmp_path_factory.mktemp("template") / "data"
    data.mkdir()
    (data / "tredegar.toml").write_text(SETTINGS)
    settings = load_settings(data, {})
    made = initialise(settings, {"name": "Abertillery Tenants"})
    return asyncio.run(_fill(settings, made.token))


async def _fill(settings: Settings, token: str) -> Made:
    services = NodeServices.open(settings)
    try:
        grant = await services.authenticate(f"Bearer {token}")
        guides = [
            await services.publish(grant, {"type": "guide.published", "body": b})
            for b in (_guide("Street stalls"), _guide("Leaflet rotas"))
        ]
        _replica(services)
        await services.publish(
            grant,
            {"type": "event.redacted", "body": {"id": guides[1].id, "reason": "Asked"}},
        )
        invite = await services.accounts.create_invite(grant, {})
        await services.accounts.accept_invite(
            str(invite["code"]),
            {"display_name": "Mair", "login": "mair", "password": PASSWORD},
        )
        session = await services.accounts.log_in(
            {"login": "mair", "password": PASSWORD}, "127.0.0.1"
        )
        held = await services.casework.record_one_to_one(
            grant, {"person": "Bethan", "held_at": T0, "notes": NOTES}
        )
        federation = services.store.federation
        federation.add_peer("http://peer.example:8484", origin="operator", now=T0)
        federation.block("http://spam.example", "peer", now=T0)
    finally:
        services.close()
    return Made(settings.data_dir, token, session.token, guides[1], str(held["id"]))


def _guide(title: str) -> dict[str, Any]:
    return {"title": title, "text": f"{title}: how to organise them, step by step."}


def _replica(services: NodeServices) -> None:
    """Another group's feed, interleaved with ours in the log."""
    first = sign(KEY_B, None, T0, "group.profile_set", {"name": "Nantyglo Mutual Aid"})
    second = sign(KEY_B, first, T0 + 1, "guide.published", _guide("Food banks"))
    services.store.append([first, second])


@pytest.fixture
def data(template: Made, tmp_path: Path) -> Path:
    """A copy of the template's data directory."""
    copy = tmp_path / "data"
    shutil.copytree(template.data, copy)
    (copy / "node.lock").unlink(missing_ok=True)
    return copy


@pytest.fixture
def url() -> Iterator[str]:
    """An empty scratch schema's URL, dropped afterwards."""
    with scratch_url("mig") as value:
        yield value


def _schema(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def _pg_rows(url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    """Run a query with ``{}`` standing for the scratch schema."""
    statement = sql.SQL(query).format(sql.Identifier(_schema(url)))
    with psycopg.connect(server_url()) as connection:
        return connection.execute(statement, params).fetchall()


def _digests(data: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((data / name).read_bytes()).hexdigest()
        for name in ("feeds.db", "private.db")
    }


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, Any]:
    """The command in-process with ``--json``: its status and its JSON."""
    status = main([str(arg) for arg in args] + ["--json"])
    return status, json.loads(capsys.readouterr().out)


# --- a whole node --------------------------------------------------------------


async def test_a_migrated_node_serves_the_same_events_and_members(
    template: Made, data: Path, url: str
) -> None:
    before = _digests(data)
    copied = tredegar_json("migrate", "--data", data, "--to", url).value
    assert set(copied) == COUNTED
    expected = {"events": 6, "bodies": 5, "redactions": 1, "member_keys": 2}
    expected |= {"casework_keys": 1, "peers": 1, "blocks": 1, "forks": 0}
    assert {key: copied[key] for key in expected} == expected
    assert copied["private_records"] > 0
    config = (data / "tredegar.toml").read_text()
    assert config.startswith(SETTINGS)
    assert config.endswith(f'database_url = "{url}"\n')
    assert _digests(data) == before  # the way back is untouched

    verified = tredegar_json("verify", "--data", data).value
    assert verified == {"checked": 6, "problems": []}

    _same_private_events(data, url)  # before the checks below log in again
    settings = load_settings(data, {})
    assert (settings.database_url, settings.port) == (url, 8485)
    sqlite_store = SqliteFeedStore(data / "feeds.db")
    services = NodeServices.open(settings)
    try:
        _same_log(sqlite_store, services)
        _redacted_body_gone(url, template.redacted, services)
        await _members_still_work(template, services)
    finally:
        services.close()
        sqlite_store.close()


def _same_log(sqlite_store: SqliteFeedStore, services: NodeServices) -> None:
    store = services.store
    assert type(store).__name__ == "PostgresFeedStore"
    assert store.heads() == sqlite_store.heads()
    for feed in sqlite_store.heads():
        assert store.read_lines(feed) == sqlite_store.read_lines(feed)
    old = [(item.position, item.event.wire_bytes()) for item in sqlite_store.iter_all()]
    new = [(item.position, item.event.wire_bytes()) for item in store.iter_all()]
    assert new == old  # same order, same positions: peers' cursors stay valid
    assert store.federation.epoch() == sqlite_store.federation.epoch()
    assert [p.url for p in store.federation.peers()] == ["http://peer.example:8484"]
    assert store.federation.blocked() == {"http://spam.example"}


def _redacted_body_gone(url: str, redacted: Event, services: NodeServices) -> None:
    held = services.store.get(redacted.id)
    assert held is not None
    assert held.body is None
    assert (
        _pg_rows(
            url,
            "SELECT 1 FROM {}.bodies WHERE feed = %s AND seq = %s",
            held.feed,
            held.seq,
        )
        == []
    )
    assert _pg_rows(url, "SELECT COUNT(*) FROM {}.bodies") == [(5,)]


async def _members_still_work(template: Made, services: NodeServices) -> None:
    grant = await services.authenticate(f"Bearer {template.token}")
    assert grant.role == "organiser"
    now = services.clock()
    session = services.private.credentials.session(template.session, now=now)
    assert session is not None
    assert session.role == "member"
    again = services.private.credentials.log_in(
        "mair", PASSWORD, now=now, expires_at=now + 60_000
    )
    assert again is not None
    one = await services.casework.get_one_to_one(grant, template.one_to_one)
    assert one["notes"] == NOTES
    hits = cast(list[dict[str, Any]], (await services.search("stalls", 10))["results"])
    assert [hit["title"] for hit in hits] == ["Street stalls"]
    assert (await services.search("rotas", 10))["results"] == []  # redacted


def _same_private_events(data: Path, url: str) -> None:
    connection = sqlite3.connect(data / "private.db")
    try:
        old = connection.execute(
            "SELECT originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid"
        ).fetchall()
    finally:
        connection.close()
    new = _pg_rows(
        url,
        "SELECT originator_id::text, originator_version, topic, state "
        "FROM {}.privatedata_events ORDER BY notification_id",
    )
    assert [(o.replace("-", ""), v, t, bytes(s)) for o, v, t, s in new] == [
        (o.replace("-", ""), v, t, bytes(s)) for o, v, t, s in old
    ]


# --- refusals ------------------------------------------------------------------


def test_a_target_holding_a_node_and_a_node_on_postgresql_are_refused(
    template: Made,
    data: Path,
    url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "migrate", "--data", data, "--to", url)[0] == 0
    again = _run(capsys, "migrate", "--data", data, "--to", url)
    assert again[0] == 1
    assert "on PostgreSQL already" in again[1]["error"]["message"]
    backup = _run(capsys, "backup", "--data", data, "--to", tmp_path / "backup")
    assert backup[0] == 1
    assert "use pg_dump" in backup[1]["error"]["message"]
    assert not (tmp_path / "backup").exists()

    other = tmp_path / "other"
    shutil.copytree(template.data, other)
    config = (other / "tredegar.toml").read_bytes()
    status, answer = _run(capsys, "migrate", "--data", other, "--to", url)
    assert status == 1
    assert answer["error"]["code"] == "conflict"
    assert "already holds a node's data" in answer["error"]["message"]
    assert (other / "tredegar.toml").read_bytes() == config
    assert _pg_rows(url, "SELECT COUNT(*) FROM {}.feeds_events") == [(6,)]


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("mysql://root@127.0.0.1/tredegar", "must start with postgresql://"),
        ("postgresql://postgres@127.0.0.1/postgres?schema=Big-Group", "schema"),
        ("postgresql://postgres@127.0.0.1:5432/", "must name a database"),
    ],
)
def test_a_bad_url_is_refused_and_nothing_is_done(
    data: Path, bad: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {path.name: path.read_bytes() for path in data.iterdir()}
    status, answer = _run(capsys, "migrate", "--data", data, "--to", bad)
    assert status == 1
    assert answer["error"]["code"] == "malformed"
    assert said in answer["error"]["message"]
    assert {path.name: path.read_bytes() for path in data.iterdir()} == before


def test_a_tampered_event_stops_the_migration_and_a_retry_succeeds(
    template: Made, data: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    redaction_seq = template.redacted.seq + 1  # any event will do: this one
    feed = template.redacted.feed
    original = _flip_signature_byte(data, feed, redaction_seq)
    config = (data / "tredegar.toml").read_bytes()

    status, answer = _run(capsys, "migrate", "--data", data, "--to", url)
    assert status == 1
    message = answer["error"]["message"]
    assert f"feed {feed} seq {redaction_seq}: bad-signature" in message
    assert (data / "tredegar.toml").read_bytes() == config
    for table in ("feeds_events", "bodies", "privatedata_events", "member_keys"):
        count = f"SELECT COUNT(*) FROM {{}}.{table}"  # noqa: S608 - our tables
        assert _pg_rows(url, count) == [(0,)], table

    _restore(data, feed, redaction_seq, original)
    status, answer = _run(capsys, "migrate", "--data", data, "--to", url)
    assert status == 0, answer
    assert answer["events"] == 6


def _flip_signature_byte(data: Path, feed: str, seq: int) -> bytes:
    """Change one character in the middle of a stored signature; return the row."""
    connection = sqlite3.connect(data / "feeds.db")
    try:
        (state,) = connection.execute(
            "SELECT state FROM stored_events WHERE originator_id = ? "
            "AND originator_version = ?",
            (feed, seq),
        ).fetchone()
        header = json.loads(state)
        sig = header["sig"]
        middle = len(sig) // 2
        header["sig"] = (
            sig[:middle] + ("B" if sig[middle] == "A" else "A") + sig[middle + 1 :]
        )
        tampered = state.replace(sig.encode(), header["sig"].encode())
        assert tampered != state
        _write_state(connection, feed, seq, tampered)
    finally:
        connection.close()
    return bytes(state)


def _restore(data: Path, feed: str, seq: int, state: bytes) -> None:
    connection = sqlite3.connect(data / "feeds.db")
    try:
        _write_state(connection, feed, seq, state)
    finally:
        connection.close()


def _write_state(
    connection: sqlite3.Connection, feed: str, seq: int, state: bytes
) -> None:
    with connection:
        connection.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? "
            "AND originator_version = ?",
            (state, feed, seq),
        )


def test_no_config_leaves_the_settings_and_the_key_opens_the_copy(
    data: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = (data / "tredegar.toml").read_bytes()
    assert _run(capsys, "migrate", "--data", data, "--to", url, "--no-config")[0] == 0
    assert (data / "tredegar.toml").read_bytes() == config
    settings = load_settings(data, {}, {"database_url": url})
    private = PrivateStore.open(settings)
    try:
        assert private.has_accounts()
    finally:
        private.close()


class _Interrupted(Exception):
    pass


class _InterruptAt:
    """Progress that stops the copy when a stage begins (like Ctrl-C there)."""

    def __init__(self, stage: str) -> None:
        self.at = stage

    def stage(self, name: str, total: int | None) -> None:
        if name == self.at:
            raise _Interrupted(name)

    def advance(self, count: int) -> None:
        pass


def test_a_copy_stopped_half_way_leaves_an_empty_target(data: Path, url: str) -> None:
    settings = load_settings(data, {})
    with pytest.raises(_Interrupted):
        migrate(settings, url, _InterruptAt("rebuilding read models"))
    for table in ("feeds_events", "event_ids", "peers", "meta", "privatedata_events"):
        count = f"SELECT COUNT(*) FROM {{}}.{table}"  # noqa: S608 - our tables
        assert _pg_rows(url, count) == [(0,)], table
    assert migrate(settings, url).events == 6
    positions = "SELECT MIN(notification_id), MAX(notification_id) FROM {}.feeds_events"
    assert _pg_rows(url, positions) == [(1, 6)]  # as in the SQLite log
