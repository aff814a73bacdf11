"""Members' accounts in private data: invites, passwords, sessions, erasure."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node.config import Settings
from node.errors import ConfigError, ConflictError, NotFoundError
from node.storage.private import (
    IssuedInvite,
    MemberInfo,
    PrivateStore,
    create_encryption_key,
    csrf_token,
)
from protocol import SchemaViolationError
from tests.pg import private_bytes

NOW = 1_700_000_000_000
DAY = 86_400_000
NAME = "Zebediah Quux-Erasable"
LOGIN = "zquux"
PASSWORD = "correct horse battery staple"  # noqa: S105
NEW_PASSWORD = "a new password!"  # noqa: S105
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def opened(settings: Settings) -> PrivateStore:
    store = PrivateStore.open(settings)
    store.credentials._hasher = CHEAP  # argon2id, with test-sized costs
    return store


@pytest.fixture
def store(settings: Settings) -> Iterator[PrivateStore]:
    opened_store = opened(settings)
    yield opened_store
    opened_store.close()


def invite(store: PrivateStore, role: str = "member", uses: int = 1) -> IssuedInvite:
    return store.credentials.create_invite(
        role, uses, expires_at=NOW + DAY, created_by=None, now=NOW
    )


def join(
    store: PrivateStore, login: str = LOGIN, name: str = NAME, role: str = "member"
) -> MemberInfo:
    code = invite(store, role).code
    return store.credentials.accept_invite(
        code, login=login, display_name=name, password=PASSWORD, now=NOW + 1
    )


def raw_bytes(settings: Settings) -> bytes:
    return private_bytes(settings)


def opened_by_any_key_in(raw: bytes, account_id: UUID) -> list[bytes]:
    """Personal data that any 32 bytes of the files decrypt (a brute force)."""
    texts = re.findall(rb"s1\.([A-Za-z0-9_-]{30,})", raw)
    blobs = {base64.urlsafe_b64decode(t + b"=" * (-len(t) % 4)) for t in texts}
    aad = b"personal\n" + account_id.bytes
    found = []
    for i in range(len(raw) - 31):
        aes = AESGCM(raw[i : i + 32])
        for blob in blobs:
            try:
                found.append(aes.decrypt(blob[:12], blob[12:], aad))
            except InvalidTag:
                continue
    return found


# Invites and joining


def test_joining_makes_a_member_who_can_log_in(store: PrivateStore) -> None:
    member = join(store)
    assert (member.login, member.display_name, member.role) == (LOGIN, NAME, "member")
    assert store.members.info(member.account_id) == member
    session = store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + DAY)
    assert session is not None
    assert session.csrf_token == csrf_token(session.token) != session.token
    grant = store.credentials.session(session.token, now=NOW + 5)
    assert grant is not None
    assert (grant.account_id, grant.role) == (member.account_id, "member")


@pytest.mark.parametrize(
    ("login", "password"),
    [(LOGIN, PASSWORD + "!"), (LOGIN, ""), ("nobody", PASSWORD), (LOGIN.upper(), "x")],
)
def test_wrong_logins_start_no_session(
    store: PrivateStore, login: str, password: str
) -> None:
    join(store)
    assert store.credentials.log_in(login, password, now=NOW, expires_at=NOW) is None


def test_passwords_are_argon2id_with_the_library_defaults(settings: Settings) -> None:
    store = PrivateStore.open(settings)
    try:
        hashed = store.credentials._hasher.hash("x" * 10)
        assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    finally:
        store.close()


def test_an_invite_is_single_use_by_default(store: PrivateStore) -> None:
    issued = invite(store)
    assert len(issued.code) == 43
    join_with = store.credentials.accept_invite
    join_with(issued.code, login="one", display_name="A", password=PASSWORD, now=NOW)
    with pytest.raises(ConflictError, match="used up"):
        join_with(
            issued.code, login="two", display_name="B", password=PASSWORD, now=NOW
        )
    [info] = store.credentials.list_invites()
    assert (info.invite_id, info.uses_left, info.max_uses) == (issued.invite_id, 0, 1)


def test_a_multi_use_invite_counts_down(store: PrivateStore) -> None:
    issued = invite(store, "organiser", uses=3)
    for login in ("aaa", "bbb", "ccc"):
        store.credentials.accept_invite(
            issued.code, login=login, display_name=login, password=PASSWORD, now=NOW
        )
    with pytest.raises(ConflictError):
        store.credentials.accept_invite(
            issued.code, login="ddd", display_name="d", password=PASSWORD, now=NOW
        )
    members, _ = store.members.page(after=0, limit=10)
    assert [(m.login, m.role) for m in members] == [
        ("aaa", "organiser"),
        ("bbb", "organiser"),
        ("ccc", "organiser"),
    ]


def test_expired_revoked_and_unknown_invites(store: PrivateStore) -> None:
    issued = invite(store)
    accept = store.credentials.accept_invite
    with pytest.raises(ConflictError, match="expired"):
        accept(
            issued.code, login="abc", display_name="A", password=PASSWORD, now=NOW + DAY
        )
    assert store.credentials.revoke_invite(issued.invite_id, now=NOW)
    assert store.credentials.revoke_invite(issued.invite_id, now=NOW + 1)  # again
    assert not store.credentials.revoke_invite("0" * 12, now=NOW)
    assert not store.credentials.revoke_invite("not an id", now=NOW)
    with pytest.raises(ConflictError, match="withdrawn"):
        accept(issued.code, login="abc", display_name="A", password=PASSWORD, now=NOW)
    for code in ("A" * 43, "", "x" * 10_000, issued.invite_id):
        with pytest.raises(NotFoundError):
            accept(code, login="abc", display_name="A", password=PASSWORD, now=NOW)
    assert store.members.page(after=0, limit=10) == ([], None)


def test_a_taken_login_stores_nothing(store: PrivateStore) -> None:
    join(store)
    issued = invite(store)
    before = store._app.recorder.max_notification_id()
    with pytest.raises(ConflictError, match="taken"):
        store.credentials.accept_invite(
            issued.code, login=LOGIN, display_name="Other", password=PASSWORD, now=NOW
        )
    assert store._app.recorder.max_notification_id() == before
    assert len(store.members._vault.keys()) == 1


# Sessions


def test_sessions_end_by_logout_expiry_reset_and_removal(store: PrivateStore) -> None:
    member = join(store)

    def session() -> str:
        issued = store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + 9)
        assert issued is not None
        return issued.token

    out, expiring, reset = session(), session(), session()
    store.credentials.end_session(out, now=NOW + 1)
    store.credentials.end_session(out, now=NOW + 2)  # idempotent
    assert store.credentials.session(out, now=NOW + 1) is None
    assert store.credentials.session(expiring, now=NOW + 9) is None
    assert store.credentials.session(reset, now=NOW + 1) is not None
    code = store.credentials.create_reset(
        member.account_id, expires_at=NOW + DAY, created_by=None, now=NOW
    ).code
    store.credentials.reset_password(code, password=NEW_PASSWORD, login=None, now=NOW)
    assert store.credentials.session(reset, now=NOW + 1) is None
    assert store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW) is None
    assert store.credentials.log_in(LOGIN, NEW_PASSWORD, now=NOW, expires_at=NOW)


@pytest.mark.parametrize("junk", ["", "tds_", "tds_" + "A" * 43, "x" * 10**5, "\ud800"])
def test_junk_session_tokens_are_refused(store: PrivateStore, junk: str) -> None:
    assert store.credentials.session(junk, now=NOW) is None
    store.credentials.end_session(junk, now=NOW)


def test_a_session_follows_role_changes_at_once(store: PrivateStore) -> None:
    organiser = join(store, "boss", "Boss", "organiser")
    member = join(store)
    issued = store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + DAY)
    assert issued is not None
    store.members.change_role(member.account_id, "organiser", now=NOW)
    grant = store.credentials.session(issued.token, now=NOW)
    assert grant is not None
    assert grant.role == "organiser"
    store.members.change_role(organiser.account_id, "member", now=NOW)
    assert store.members.info(organiser.account_id).role == "member"  # type: ignore[union-attr]


# Password links


def test_a_password_link_lets_an_account_without_login_choose_one(
    store: PrivateStore,
) -> None:
    account = store.members.create("First organiser", "organiser", now=NOW)
    assert store.members.first_organiser() == account
    link = store.credentials.create_reset(
        account, expires_at=NOW + DAY, created_by=None, now=NOW
    )
    reset = store.credentials.reset_password
    with pytest.raises(SchemaViolationError):
        reset(link.code, password=PASSWORD, login=None, now=NOW)
    reset(link.code, password=PASSWORD, login="first", now=NOW)
    with pytest.raises(ConflictError, match="used"):
        reset(link.code, password=PASSWORD, login="first", now=NOW)
    assert store.credentials.log_in("first", PASSWORD, now=NOW, expires_at=NOW + 1)
    info = store.members.info(account)
    assert info is not None
    assert (info.login, info.display_name) == ("first", "First organiser")
    again = store.credentials.create_reset(
        account, expires_at=NOW + DAY, created_by=None, now=NOW
    )
    with pytest.raises(SchemaViolationError):
        reset(again.code, password=PASSWORD, login="second", now=NOW)
    with pytest.raises(ConflictError, match="expired"):
        reset(again.code, password=PASSWORD, login=None, now=NOW + DAY)


def test_a_script_account_gets_a_key_with_its_first_password(
    store: PrivateStore,
) -> None:
    account = store.create_account("backup script", "member", now=NOW)
    code = store.credentials.create_reset(
        account, expires_at=NOW + DAY, created_by=None, now=NOW
    ).code
    store.credentials.reset_password(code, password=PASSWORD, login="bkp", now=NOW)
    info = store.members.info(account)
    assert info is not None
    assert (info.login, info.display_name) == ("bkp", "backup script")
    with pytest.raises(NotFoundError):
        store.credentials.create_reset(
            UUID(int=7), expires_at=NOW + DAY, created_by=None, now=NOW
        )


# Roles, removal and erasure


def test_the_last_organiser_is_kept(store: PrivateStore) -> None:
    boss = join(store, "boss", "Boss", "organiser")
    with pytest.raises(ConflictError, match="without an organiser"):
        store.members.change_role(boss.account_id, "member", now=NOW)
    with pytest.raises(ConflictError):
        store.members.erase(boss.account_id, now=NOW, keep_an_organiser=True)
    store.members.erase(boss.account_id, now=NOW, keep_an_organiser=False)
    assert store.members.first_organiser() is None
    with pytest.raises(NotFoundError):
        store.members.change_role(boss.account_id, "member", now=NOW)
    with pytest.raises(ConfigError):
        store.members.change_role(boss.account_id, "admin", now=NOW)


def test_demotion_revokes_organiser_tokens_and_erasure_all(store: PrivateStore) -> None:
    join(store, "boss", "Boss", "organiser")
    member = join(store, role="organiser")
    organiser_token = store.issue_token(
        member.account_id, "organiser", label="x", now=NOW
    )
    member_token = store.issue_token(member.account_id, "member", label="y", now=NOW)
    store.members.change_role(member.account_id, "member", now=NOW)
    assert store.authenticate(organiser_token.token) is None
    assert store.authenticate(member_token.token) is not None
    store.members.erase(member.account_id, now=NOW, keep_an_organiser=True)
    assert store.authenticate(member_token.token) is None
    assert store.members.info(member.account_id) is None
    with pytest.raises(NotFoundError):
        store.members.erase(member.account_id, now=NOW, keep_an_organiser=True)
    join(store)  # the login is free again
    assert store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + 1)


def test_erased_personal_data_is_nowhere_readable(settings: Settings) -> None:
    # No node key (private.key): only the member's own key protects the data.
    assert not settings.encryption_key_path.exists()
    store = opened(settings)
    member = join(store)
    issued = store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + DAY)
    assert issued is not None
    raw = raw_bytes(settings)
    for clear in (NAME, LOGIN, PASSWORD, "argon2id"):
        assert clear.encode() not in raw  # sealed, never in clear
    # The test can fail: before erasure the files hold a key that opens it.
    assert any(
        NAME.encode() in text for text in opened_by_any_key_in(raw, member.account_id)
    )
    store.members.erase(member.account_id, now=NOW, keep_an_organiser=False)
    raw = raw_bytes(settings)
    assert b"s1." in raw  # the sealed history is still there …
    assert opened_by_any_key_in(raw, member.account_id) == []  # … as noise
    assert store.credentials.session(issued.token, now=NOW) is None
    store.close()
    assert opened_by_any_key_in(raw_bytes(settings), member.account_id) == []


def test_with_a_node_key_member_keys_are_wrapped(settings: Settings) -> None:
    create_encryption_key(settings.encryption_key_path)
    store = opened(settings)
    member = join(store)
    key = store.members._vault.key(member.account_id)
    assert key is not None
    raw = raw_bytes(settings)
    assert key not in raw
    assert NAME.encode() not in raw
    store.close()
    reopened = opened(settings)
    try:
        assert reopened.members.info(member.account_id) == member
        assert reopened.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + 1)
    finally:
        reopened.close()


# Listing and export


def test_members_are_listed_in_pages(store: PrivateStore) -> None:
    for i in range(5):
        join(store, f"member{i}", f"Member {i}")
    first, cursor = store.members.page(after=0, limit=2)
    assert [m.login for m in first] == ["member0", "member1"]
    assert cursor is not None
    second, cursor = store.members.page(after=cursor, limit=2)
    assert [m.login for m in second] == ["member2", "member3"]
    assert cursor is not None
    assert [m.login for m in store.members.page(after=cursor, limit=2)[0]] == [
        "member4"
    ]


def test_export_holds_everything_but_secrets(store: PrivateStore) -> None:
    member = join(store, role="organiser")
    issued = store.credentials.log_in(LOGIN, PASSWORD, now=NOW, expires_at=NOW + DAY)
    assert issued is not None
    token = store.issue_token(member.account_id, "member", label="phone", now=NOW)
    made = store.credentials.create_invite(
        "member", 2, expires_at=NOW + DAY, created_by=member.account_id, now=NOW
    )
    store.record_audit(str(member.account_id), "published", "evt", now=NOW)
    held = store.export(member.account_id)
    assert held.member == member
    assert held.password_set
    assert [(s.created_at, s.revoked_at) for s in held.sessions] == [(NOW, None)]
    assert [i.invite_id for i in held.invites_created] == [made.invite_id]
    assert [t.label for t in held.tokens] == ["phone"]
    assert [(a.action, a.target) for a in held.audit] == [("published", "evt")]
    text = repr(held)
    for secret in (issued.token, token.token, made.code, PASSWORD, "argon2"):
        assert secret not in text
    with pytest.raises(NotFoundError):
        store.export(UUID(int=3))
