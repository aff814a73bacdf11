"""Invites, password-reset codes, passwords and sessions.

Every secret here (invite code, reset code, session token) is 32 random
bytes in base64url, kept only as its SHA-256; the aggregate id is
``uuid5(namespace, hash)``, so checking one is a hash and a load by id.
Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``
defaults) and the hash is sealed with the member's key, so erasure leaves
nothing to crack. A login that names no account still runs one argon2
verification, so the answer's timing does not tell who is a member.

The CSRF token of a session is derived from its token (a SHA-256 with a
label), so it needs no storage and says nothing about the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from contextlib import suppress
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing import persistence

from node import errors
from node.storage.private.aggregates import (
    INVITE_CREATED,
    SESSION_CREATED,
    Account,
    Invite,
    ResetCode,
    Session,
)
from node.storage.private.app import PrivateData, storage_errors
from node.storage.private.members import Members, check_role
from node.storage.private.records import (
    InviteInfo,
    IssuedCode,
    IssuedInvite,
    IssuedSession,
    MemberInfo,
    SessionInfo,
    TokenGrant,
)
from node.storage.private.vault import Vault, seal, unseal
from protocol import SchemaViolationError

__all__ = ["Credentials", "csrf_token"]

_CODE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_SESSION_RE = re.compile(r"tds_[A-Za-z0-9_-]{43}")
_INVITE_ID_RE = re.compile(r"[0-9a-f]{12}")
_HASH_PURPOSE = "password"


class Credentials:
    """Blocking access to invites, reset codes and sessions."""

    def __init__(
        self, app: PrivateData, vault: Vault, lock: threading.Lock, members: Members
    ) -> None:
        self._app, self._vault, self._lock = app, vault, lock
        self._members = members
        self._hasher = PasswordHasher()
        self._dummy: str | None = None  # a hash to verify against for no one

    # --- invites ---------------------------------------------------------

    def create_invite(
        self,
        role: str,
        max_uses: int,
        *,
        expires_at: int,
        created_by: UUID | None,
        now: int,
    ) -> IssuedInvite:
        """Make an invite for up to ``max_uses`` people to join as ``role``."""
        check_role(role)
        code = _secret()
        digest = _hash(code)
        invite = Invite(digest, role, max_uses, expires_at, created_by, now)
        with storage_errors("create an invite"):
            self._app.save(invite)
        return IssuedInvite(code, digest[:12], role, max_uses, max_uses, expires_at)

    def list_invites(self) -> list[InviteInfo]:
        """Every invite ever made, oldest first."""
        with storage_errors("list invites"):
            return [_invite_info(i) for i in self._app.loaded(Invite, INVITE_CREATED)]

    def invites_by(self, account_id: UUID) -> list[InviteInfo]:
        """The invites an account made."""
        return [i for i in self.list_invites() if i.created_by == account_id]

    def revoke_invite(self, invite_id: str, *, now: int) -> bool:
        """Withdraw an invite by its public id; False if there is none. Idempotent."""
        if not _INVITE_ID_RE.fullmatch(invite_id):
            return False
        with self._lock, storage_errors("revoke an invite"):
            found = [
                invite
                for invite in self._app.loaded(Invite, INVITE_CREATED)
                if invite.code_hash[:12] == invite_id
            ]
            for invite in (i for i in found if i.revoked_at is None):
                invite.revoke(at=now)
                self._app.save(invite)
        return bool(found)

    def accept_invite(
        self, code: str, *, login: str, display_name: str, password: str, now: int
    ) -> MemberInfo:
        """Join through an invite: a new account with its own key and password.

        Raises:
            NotFoundError: No such invite.
            ConflictError: The invite is used up, expired or withdrawn, or
                the login is taken.
        """
        with storage_errors("accept an invite"):
            self._usable_invite(code, now)  # before the costly hash
        hashed = self._hasher.hash(password)
        with self._lock, storage_errors("accept an invite"):
            invite = self._usable_invite(code, now)
            account = Account("", invite.role, now)
            key = self._vault.create(account.id, login)
            try:
                self._members.set_personal(account, key, display_name, login, now=now)
                account.set_password(_seal_password(key, account, hashed), at=now)
                invite.use(account.id, at=now)
                self._app.save(account, invite)
            except BaseException:
                self._vault.destroy(account.id)
                raise
        return MemberInfo(account.id, login, display_name, account.role, now)

    # --- password-reset codes --------------------------------------------

    def create_reset(
        self, account_id: UUID, *, expires_at: int, created_by: UUID | None, now: int
    ) -> IssuedCode:
        """Make a one-time code that sets the account's password.

        Raises:
            NotFoundError: No such account.
        """
        code = _secret()
        with storage_errors("create a reset code"):
            account = self._app.get(Account, account_id)
            if account is None or account.removed:
                raise errors.NotFoundError(f"no member {account_id}")
            reset = ResetCode(_hash(code), account_id, expires_at, created_by, now)
            self._app.save(reset)
        return IssuedCode(code, account_id, expires_at)

    def reset_password(
        self, code: str, *, password: str, login: str | None, now: int
    ) -> UUID:
        """Set a password with a reset code, ending every session of the account.

        ``login`` is required when the account has none yet, refused otherwise.

        Raises:
            NotFoundError: No such code.
            ConflictError: The code is used or expired, the account removed,
                or the login taken.
            SchemaViolationError: ``login`` given, or missing, wrongly.
        """
        with storage_errors("reset a password"):
            self._usable_reset(code, now)  # before the costly hash
        hashed = self._hasher.hash(password)
        with self._lock, storage_errors("reset a password"):
            reset, account = self._usable_reset(code, now)
            key = self._vault.key(account.id)
            personal = self._members.personal(account, key)
            _check_login_given(personal.get("login") is None, login)
            if key is None:  # an account made for a script: its key starts now
                key = self._vault.create(account.id, login)
            elif login is not None:
                self._vault.set_login(account.id, login)
            try:
                if login is not None:
                    name = personal.get("display_name") or ""
                    self._members.set_personal(account, key, name, login, now=now)
                account.set_password(_seal_password(key, account, hashed), at=now)
                account.end_sessions(at=now)
                reset.use(at=now)
                self._app.save(account, reset)
            except BaseException:
                if login is not None:
                    self._vault.set_login(account.id, None)
                raise
        return account.id

    # --- sessions --------------------------------------------------------

    def log_in(
        self, login: str, password: str, *, now: int, expires_at: int
    ) -> IssuedSession | None:
        """Start a session if the password is the login's; else None."""
        with storage_errors("log in"):
            found = self._vault.find(login)
            account = self._app.get(Account, found[0]) if found else None
            hashed = None
            if found and account and not account.removed and account.password:
                hashed = unseal(found[1], account.id, _HASH_PURPOSE, account.password)
            if not self._verify(hashed, password) or account is None:
                return None
            token = "tds_" + _secret()
            digest = _hash(token)
            session = Session(
                digest, account.id, account.sessions_epoch, now, expires_at
            )
            self._app.save(session)
        return IssuedSession(
            token, csrf_token(token), account.id, account.role, expires_at
        )

    def session(self, token: str, *, now: int) -> TokenGrant | None:
        """The grant of a live session's token; None if not one."""
        if not (isinstance(token, str) and _SESSION_RE.fullmatch(token)):
            return None
        digest = _hash(token)
        with storage_errors("check a session"):
            session = self._app.get(Session, Session.create_id(digest))
            if session is None or session.revoked_at is not None:
                return None
            if session.expires_at <= now:
                return None
            if not hmac.compare_digest(session.token_hash, digest):
                return None
            account = self._app.get(Account, session.account_id)
        if account is None or account.removed:
            return None
        if account.sessions_epoch != session.epoch:
            return None
        return TokenGrant(account.id, account.role, digest[:12])

    def end_session(self, token: str, *, now: int) -> None:
        """Log out: the session's token stops working. Idempotent."""
        if not (isinstance(token, str) and _SESSION_RE.fullmatch(token)):
            return
        with storage_errors("end a session"):
            session = self._app.get(Session, Session.create_id(_hash(token)))
            if session is None or session.revoked_at is not None:
                return
            session.revoke(at=now)
            with suppress(persistence.IntegrityError):  # ended elsewhere at once
                self._app.save(session)

    def sessions_of(self, account_id: UUID) -> list[SessionInfo]:
        """The sessions an account ever had, oldest first, without tokens."""
        with storage_errors("list sessions"):
            return [
                SessionInfo(s.created_at, s.expires_at, s.revoked_at)
                for s in self._app.loaded(Session, SESSION_CREATED)
                if s.account_id == account_id
            ]

    # --- helpers ---------------------------------------------------------

    def _usable_invite(self, code: str, now: int) -> Invite:
        invite = None
        if isinstance(code, str) and _CODE_RE.fullmatch(code):
            invite = self._app.get(Invite, Invite.create_id(_hash(code)))
        if invite is None:
            raise errors.NotFoundError("no such invite")
        if invite.revoked_at is not None:
            raise errors.ConflictError("this invite was withdrawn")
        if invite.expires_at <= now:
            raise errors.ConflictError("this invite has expired")
        if invite.uses_left <= 0:
            raise errors.ConflictError("this invite has been used up")
        return invite

    def _usable_reset(self, code: str, now: int) -> tuple[ResetCode, Account]:
        reset = None
        if isinstance(code, str) and _CODE_RE.fullmatch(code):
            reset = self._app.get(ResetCode, ResetCode.create_id(_hash(code)))
        if reset is None:
            raise errors.NotFoundError("no such password link")
        if reset.used_at is not None:
            raise errors.ConflictError("this password link has been used")
        if reset.expires_at <= now:
            raise errors.ConflictError("this password link has expired")
        account = self._app.get(Account, reset.account_id)
        if account is None or account.removed:
            raise errors.ConflictError("the account of this link was removed")
        return reset, account

    def _verify(self, hashed: bytes | None, password: str) -> bool:
        if hashed is None:  # spend the same time, for no one
            if self._dummy is None:
                self._dummy = self._hasher.hash(_secret())
            with suppress(VerificationError, InvalidHashError):
                self._hasher.verify(self._dummy, password)
            return False
        try:
            return self._hasher.verify(hashed.decode("ascii"), password)
        except (VerificationError, InvalidHashError):
            return False


def csrf_token(session_token: str) -> str:
    """The CSRF token that goes with a session token."""
    text = session_token.encode("utf-8", "surrogatepass")  # any text at all
    digest = hashlib.sha256(b"tredegar-csrf-v1\n" + text).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _check_login_given(needs_login: bool, login: str | None) -> None:
    if needs_login and login is None:
        raise SchemaViolationError(
            "choose a login: this account has none yet", field_path="login"
        )
    if not needs_login and login is not None:
        raise SchemaViolationError(
            "this account has a login already; send only a password",
            field_path="login",
        )


def _seal_password(key: bytes, account: Account, hashed: str) -> str:
    return seal(key, account.id, _HASH_PURPOSE, hashed.encode("ascii"))


def _secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _invite_info(invite: Invite) -> InviteInfo:
    return InviteInfo(
        invite.code_hash[:12],
        invite.role,
        invite.max_uses,
        invite.uses_left,
        invite.created_at,
        invite.expires_at,
        invite.created_by,
        invite.revoked_at,
    )
