"""Private data: tokens, audit log, encryption at rest and configuration."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.application import Application

from node.config import Settings, load_settings
from node.errors import (
    ConfigError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    StorageUnavailableError,
)
from node.storage.private import (
    DB_FILE,
    IssuedToken,
    PrivateStore,
    TokenGrant,
    create_encryption_key,
)
from tests.pg import private_bytes

NOW = 1_700_000_000_000
NAME = "Zebediah Quux"
LABEL = "Marmalade laptop"
TARGET = "evt-Aardvark-Target"


@pytest.fixture
def store(settings: Settings) -> Iterator[PrivateStore]:
    opened = PrivateStore.open(settings)
    yield opened
    opened.close()


def organiser_token(store: PrivateStore, label: str = LABEL) -> IssuedToken:
    account = store.create_account(NAME, "organiser", now=NOW)
    return store.issue_token(account, "organiser", label=label, now=NOW)


def raw_bytes(settings: Settings) -> bytes:
    """The database file and its write-ahead log, as they lie on disk."""
    return private_bytes(settings)


# Tokens


def test_issued_token_authenticates(store: PrivateStore) -> None:
    issued = organiser_token(store)
    assert issued.token.startswith("tdg_")
    assert len(issued.token) == 47
    assert "=" not in issued.token
    assert len(issued.token_id) == 12
    assert int(issued.token_id, 16) >= 0
    grant = store.authenticate(issued.token)
    assert grant == TokenGrant(issued.account_id, "organiser", issued.token_id)


def test_tokens_are_distinct(store: PrivateStore) -> None:
    first, second = organiser_token(store), organiser_token(store)
    assert first.token != second.token
    assert first.token_id != second.token_id


@pytest.mark.parametrize("by", ["token_id", "token"])
def test_revoke(store: PrivateStore, by: str) -> None:
    issued, other = organiser_token(store), organiser_token(store)
    key = issued.token_id if by == "token_id" else issued.token
    assert store.revoke_token(key, now=NOW + 5)
    assert store.authenticate(issued.token) is None
    assert store.authenticate(other.token) is not None
    assert store.revoke_token(key, now=NOW + 9)  # idempotent
    [info] = [t for t in store.list_tokens() if t.token_id == issued.token_id]
    assert info.revoked_at == NOW + 5


def test_revoke_accepts_upper_case_token_id(store: PrivateStore) -> None:
    issued = organiser_token(store)
    assert store.revoke_token(issued.token_id.upper(), now=NOW)
    assert store.authenticate(issued.token) is None


@pytest.mark.parametrize(
    "key", ["", "0123456789ab", "tdg_" + "A" * 43, "nonsense", "é" * 12, "x" * 10**6]
)
def test_revoke_unknown_is_false(store: PrivateStore, key: str) -> None:
    organiser_token(store)
    assert store.revoke_token(key, now=NOW) is False


def test_revocation_is_seen_by_another_store_at_once(settings: Settings) -> None:
    node, cli = PrivateStore.open(settings), PrivateStore.open(settings)
    try:
        issued = organiser_token(node)
        assert node.authenticate(issued.token) is not None  # loaded once before
        assert cli.authenticate(issued.token) is not None
        assert cli.revoke_token(issued.token_id, now=NOW)
        assert node.authenticate(issued.token) is None
    finally:
        node.close()
        cli.close()


def test_revoking_again_keeps_the_first_time(settings: Settings) -> None:
    first, second = PrivateStore.open(settings), PrivateStore.open(settings)
    try:
        issued = organiser_token(first)
        assert first.revoke_token(issued.token, now=NOW + 1)
        assert second.revoke_token(issued.token, now=NOW + 2)
        [info] = second.list_tokens()
        assert info.revoked_at == NOW + 1
    finally:
        first.close()
        second.close()


def test_racing_revocations_all_succeed(settings: Settings) -> None:
    stores = [PrivateStore.open(settings) for _ in range(6)]
    try:
        issued = organiser_token(stores[0])
        barrier = threading.Barrier(len(stores))

        def revoke(index: int) -> bool:
            barrier.wait()
            return stores[index].revoke_token(issued.token_id, now=NOW + index)

        with ThreadPoolExecutor(len(stores)) as pool:
            results = list(pool.map(revoke, range(len(stores))))
        assert results == [True] * len(stores)
        [info] = stores[0].list_tokens()
        assert info.revoked_at is not None
        assert stores[-1].authenticate(issued.token) is None
    finally:
        for store in stores:
            store.close()


JUNK = [
    "",
    "tdg_",
    "tdg_" + "A" * 43,  # well-formed, never issued
    "tdg_" + "é" * 43,
    "tdg_" + "\x00" * 43,
    "tdg_" + "=" * 43,
    "Bearer tdg_" + "A" * 43,
    "x" * 10**6,
    "\ud800" * 47,
    "0123456789ab",
]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_tokens_are_refused_quietly(store: PrivateStore, junk: str) -> None:
    organiser_token(store)
    assert store.authenticate(junk) is None


def test_token_with_whitespace_or_other_case_is_refused(store: PrivateStore) -> None:
    issued = organiser_token(store)
    assert store.authenticate(issued.token + " ") is None
    assert store.authenticate(" " + issued.token) is None
    assert store.authenticate(issued.token.swapcase()) is None
    assert store.authenticate(issued.token_id) is None


def test_list_never_exposes_secrets_or_hashes(store: PrivateStore) -> None:
    issued = organiser_token(store)
    member = store.create_account("Mo", "member", now=NOW + 1)
    store.issue_token(member, "member", label="phone", now=NOW + 2)
    infos = store.list_tokens()
    assert [(t.role, t.label) for t in infos] == [
        ("organiser", LABEL),
        ("member", "phone"),
    ]
    assert infos[0].token_id == issued.token_id
    assert infos[0].created_at == NOW
    assert infos[0].revoked_at is None
    text = repr(infos)
    assert issued.token not in text
    assert issued.token[4:20] not in text
    digest = hashlib.sha256(issued.token.encode()).hexdigest()
    assert digest not in text
    assert digest[12:] not in text


def test_issue_refuses_bad_requests(store: PrivateStore) -> None:
    member = store.create_account("Mo", "member", now=NOW)
    with pytest.raises(ForbiddenError):
        store.issue_token(member, "organiser", label="x", now=NOW)
    with pytest.raises(ConfigError, match="role"):
        store.issue_token(member, "admin", label="x", now=NOW)
    with pytest.raises(ConfigError, match="role"):
        store.create_account("Mo", "admin", now=NOW)
    with pytest.raises(NotFoundError):
        store.issue_token(UUID(int=1), "member", label="x", now=NOW)
    assert [t.role for t in store.list_tokens()] == []


def test_has_accounts(store: PrivateStore) -> None:
    assert not store.has_accounts()
    store.record_audit("cli", "published", TARGET, now=NOW)
    assert not store.has_accounts()
    store.create_account(NAME, "member", now=NOW)
    assert store.has_accounts()


# Audit log


def test_audit_log_is_newest_first(store: PrivateStore) -> None:
    assert store.audit_log() == []
    store.record_audit("cli", "published", "e1", now=NOW + 1)
    organiser_token(store)  # other private events in between
    store.record_audit("cli", "redacted", "e1", now=NOW + 2)
    store.record_audit("acct", "token_revoked", "abc", now=NOW + 3)
    log = store.audit_log()
    assert [(r.actor, r.action, r.target, r.at) for r in log] == [
        ("acct", "token_revoked", "abc", NOW + 3),
        ("cli", "redacted", "e1", NOW + 2),
        ("cli", "published", "e1", NOW + 1),
    ]
    assert store.audit_log(limit=2) == log[:2]
    assert store.audit_log(limit=0) == []


def test_audit_log_pages_back_through_a_long_log(store: PrivateStore) -> None:
    for i in range(1_100):
        store.record_audit("cli", "published", f"e{i}", now=NOW + i)
    log = store.audit_log(limit=1_050)
    assert [r.target for r in log] == [f"e{i}" for i in range(1_099, 49, -1)]
    assert len(store.audit_log(limit=5_000)) == 1_100


# Encryption at rest


def write_private_things(store: PrivateStore) -> None:
    organiser_token(store)
    store.record_audit("cli", "published", TARGET, now=NOW)


def secrets_in(raw: bytes) -> list[bytes]:
    return [s.encode() for s in (NAME, LABEL, TARGET) if s.encode() in raw]


def test_without_a_key_private_data_is_readable_on_disk(settings: Settings) -> None:
    store = PrivateStore.open(settings)
    write_private_things(store)
    assert len(secrets_in(raw_bytes(settings))) == 3  # the test can fail
    store.close()
    assert len(secrets_in(raw_bytes(settings))) == 3


def test_with_a_key_private_data_is_encrypted_on_disk(settings: Settings) -> None:
    create_encryption_key(settings.encryption_key_path)
    store = PrivateStore.open(settings)
    write_private_things(store)
    issued = organiser_token(store, label="second")
    assert raw_bytes(settings)
    assert secrets_in(raw_bytes(settings)) == []
    assert store.authenticate(issued.token) is not None
    assert store.audit_log()[0].target == TARGET
    store.close()
    assert secrets_in(raw_bytes(settings)) == []


def test_database_files_are_owner_only(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})  # files: SQLite only
    store = PrivateStore.open(settings)
    write_private_things(store)
    for name in (DB_FILE, DB_FILE + "-wal"):
        assert stat.S_IMODE(settings.path(name).stat().st_mode) == 0o600
    store.close()


def test_wrong_or_missing_key_is_refused_at_open(settings: Settings) -> None:
    create_encryption_key(settings.encryption_key_path)
    store = PrivateStore.open(settings)
    write_private_things(store)
    store.close()
    settings.encryption_key_path.unlink()
    with pytest.raises(ConfigError, match="no encryption key"):
        PrivateStore.open(settings)
    create_encryption_key(settings.encryption_key_path)  # a different key
    with pytest.raises(ConfigError, match="configured key"):
        PrivateStore.open(settings)


@pytest.mark.parametrize(
    "content",
    [b"", b"not base64!", base64.b64encode(b"k" * 16), b"\xff\xfe" * 30],
)
def test_bad_key_file_is_a_config_error(settings: Settings, content: bytes) -> None:
    settings.encryption_key_path.write_bytes(content)
    with pytest.raises(ConfigError, match=settings.encryption_key_file):
        PrivateStore.open(settings)


def test_key_file_is_owner_only_even_with_open_umask(tmp_path: Path) -> None:
    path = tmp_path / "private.key"
    previous = os.umask(0)
    try:
        create_encryption_key(path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_bytes(), validate=False)) == 32


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "private.key"
    create_encryption_key(path)
    before = path.read_bytes()
    with pytest.raises(ConflictError):
        create_encryption_key(path)
    assert path.read_bytes() == before


def test_unwritable_location_is_storage_unavailable(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "missing", {})
    with pytest.raises(StorageUnavailableError):
        PrivateStore.open(settings)


# Configuration comes from settings alone


def test_os_environ_is_never_consulted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(tmp_path, {})  # the SQLite keys a leak would move
    elsewhere = tmp_path / "elsewhere.db"
    leaked = {
        "PRIVATEDATA_SQLITE_DBNAME": str(elsewhere),
        "PRIVATEDATA_CIPHER_KEY": base64.b64encode(b"k" * 32).decode(),
        "PRIVATEDATA_PERSISTENCE_MODULE": "eventsourcing.popo",
        "PRIVATEDATA_AGGREGATE_CACHE_MAXSIZE": "100",
    }
    for name, value in leaked.items():
        monkeypatch.setenv(name, value)
    store = PrivateStore.open(settings)
    # Control: eventsourcing's own construct_env would have obeyed them.
    default = Application.construct_env(store._app, store._app.name, {})
    assert default.get("SQLITE_DBNAME") == str(elsewhere)
    assert store._app.env.get("SQLITE_DBNAME") == str(settings.path(DB_FILE))
    assert store._app.env.get("CIPHER_KEY") is None
    assert store._app.repository.cache is None
    write_private_things(store)
    store.close()
    assert not elsewhere.exists()
    assert len(secrets_in(raw_bytes(settings))) == 3  # not encrypted by that key
    monkeypatch.delenv("PRIVATEDATA_CIPHER_KEY")
    reopened = PrivateStore.open(settings)
    assert reopened.has_accounts()
    reopened.close()


# Durability


def test_reopening_keeps_everything(settings: Settings) -> None:
    create_encryption_key(settings.encryption_key_path)
    store = PrivateStore.open(settings)
    issued = organiser_token(store)
    revoked = organiser_token(store, label="old")
    store.revoke_token(revoked.token_id, now=NOW + 1)
    store.record_audit("cli", "token_created", issued.token_id, now=NOW + 2)
    tokens, log = store.list_tokens(), store.audit_log()
    store.close()
    with pytest.raises(StorageUnavailableError):
        store.authenticate(issued.token)
    reopened = PrivateStore.open(settings)
    try:
        assert reopened.has_accounts()
        assert reopened.authenticate(issued.token) is not None
        assert reopened.authenticate(revoked.token) is None
        assert reopened.list_tokens() == tokens
        assert reopened.audit_log() == log
    finally:
        reopened.close()
