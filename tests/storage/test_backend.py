"""Choosing the backend: the ``database_url`` setting, parsed and refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from node.config import load_settings
from node.errors import ConfigError, StorageUnavailableError
from node.storage.backend import is_postgres, postgres_environment, postgres_target
from node.storage.feeds_pg import open_feed_store
from node.storage.private import PrivateStore


def test_a_full_url_is_parsed() -> None:
    target = postgres_target(
        "postgresql://organiser:s%40cret@db.example.org:6543/tenants?schema=riverside"
    )
    assert (target.host, target.port, target.dbname) == (
        "db.example.org",
        6543,
        "tenants",
    )
    assert (target.user, target.password, target.schema) == (
        "organiser",
        "s@cret",
        "riverside",
    )
    assert "s@cret" not in target.describe()
    assert target.describe() == (
        "postgresql://organiser@db.example.org:6543/tenants?schema=riverside"
    )


def test_defaults_and_a_unix_socket() -> None:
    target = postgres_target("postgres:///tredegar?host=/run/postgresql")
    assert (target.host, target.port, target.user) == (
        "/run/postgresql",
        5432,
        "postgres",
    )
    assert target.schema == "public"
    keys = postgres_environment(target, text_ids=True)
    assert keys["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert keys["POSTGRES_SCHEMA"] == "public"
    assert keys["ORIGINATOR_ID_TYPE"] == "text"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://u@h/db", "postgresql://"),
        ("postgresql://u@h", "name a database"),
        ("postgresql://u@h/db?schema=Bad-Name", "schema"),
        ("postgresql://u@h/db?schema=x;drop", "schema"),
        ("postgresql://u@h/db?sslmode=disable&x=1", "unknown parameter"),
        ("postgresql://u@h:99999/db", "database_url"),
    ],
)
def test_unusable_urls_are_refused_with_a_reason(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        postgres_target(url)


def test_the_setting_must_be_a_postgresql_url(tmp_path: Path) -> None:
    assert not is_postgres(load_settings(tmp_path, {}))
    environ = {"TREDEGAR_DATABASE_URL": "postgresql://u@h/db"}
    assert is_postgres(load_settings(tmp_path, environ))
    with pytest.raises(ConfigError, match="database_url"):
        load_settings(tmp_path, {"TREDEGAR_DATABASE_URL": "sqlite:///x.db"})


def test_an_unreachable_server_is_a_clear_refusal(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path, {}, {"database_url": "postgresql://nobody:pw@127.0.0.1:1/none"}
    )
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match=r"127\.0\.0\.1:1/none") as raised:
        open_feed_store(settings)
    assert "pw" not in str(raised.value)
    assert time.monotonic() - started < 60
    with pytest.raises(StorageUnavailableError):
        PrivateStore.open(settings)
    assert not any(tmp_path.iterdir())  # no SQLite file made instead
