"""The aggregates of private data and their fixed topics.

Topics are explicit (``tredegar.private:…``), so the classes can move between
modules without migrating stored events. Ids, versions and topics are stored
in clear even when the node encrypts private data, so none may carry personal
data: secrets are found by ``uuid5(namespace, sha256 of the secret)``.

A member's personal data (display name, login, contact fields) and password
hash are *sealed* with the member's own key (``vault.py``) before they enter
an event; an account made by ``create_account`` (scripts, tests) still keeps
its display name in ``Account.Created``, as it always did.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

__all__ = [
    "ACCOUNT_CREATED",
    "AUDIT_CREATED",
    "INVITE_CREATED",
    "ROLES",
    "SESSION_CREATED",
    "TOKEN_CREATED",
    "TOKEN_NAMESPACE",
    "Account",
    "ApiToken",
    "AuditEntry",
    "Invite",
    "ResetCode",
    "Session",
]

ROLES = ("organiser", "member")
#: Fixed forever: changing one would orphan every stored secret of its kind.
TOKEN_NAMESPACE = UUID("d64126e4-5e54-4cdd-9bd1-71064e5138f7")
INVITE_NAMESPACE = UUID("e796f09d-cd7a-4e3e-8643-99ef47fc5ce0")
SESSION_NAMESPACE = UUID("b5fb20ad-9583-4223-be72-532384c31db9")
RESET_NAMESPACE = UUID("bdaf2e57-5a18-44f2-89a7-6b5c438acebd")

_T = "tredegar.private:"
ACCOUNT_CREATED = _T + "Account.Created"
TOKEN_CREATED = _T + "ApiToken.Created"
AUDIT_CREATED = _T + "AuditEntry.Created"
INVITE_CREATED = _T + "Invite.Created"
SESSION_CREATED = _T + "Session.Created"


class Account(Aggregate):
    """A person (or script) who can act on the node: an organiser or a member.

    ``personal`` and ``password`` are sealed with the account's own key; once
    that key is destroyed (erasure) neither can be read again, from the
    aggregate or from the stored history.
    """

    TOPIC = _T + "Account"

    @event("Created", topic=ACCOUNT_CREATED)
    def __init__(self, display_name: str, role: str, created_at: int) -> None:
        self.display_name, self.role, self.created_at = display_name, role, created_at
        self.removed = False
        self.personal: str | None = None
        self.password: str | None = None
        self.sessions_epoch = 0

    @event("Removed", topic=_T + "Account.Removed")
    def remove(self, removed_at: int) -> None:
        """Mark the account removed (its tokens must be revoked too)."""
        self.removed = True

    @event("PersonalDataSet", topic=_T + "Account.PersonalDataSet")
    def set_personal(self, sealed: str, at: int) -> None:
        """Replace the sealed personal data (display name, login …)."""
        self.personal = sealed

    @event("PasswordSet", topic=_T + "Account.PasswordSet")
    def set_password(self, sealed: str, at: int) -> None:
        """Replace the sealed argon2id hash of the password."""
        self.password = sealed

    @event("RoleChanged", topic=_T + "Account.RoleChanged")
    def change_role(self, role: str, at: int) -> None:
        """Make the account an organiser or a member."""
        self.role = role

    @event("SessionsEnded", topic=_T + "Account.SessionsEnded")
    def end_sessions(self, at: int) -> None:
        """End every session started before now (sessions carry the epoch)."""
        self.sessions_epoch += 1


class ApiToken(Aggregate):
    """A bearer token for scripts; only the SHA-256 of its text is kept."""

    TOPIC = _T + "ApiToken"

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        """The aggregate id of the token whose hex SHA-256 is ``token_hash``."""
        return uuid5(TOKEN_NAMESPACE, token_hash)

    @event("Created", topic=TOKEN_CREATED)
    def __init__(
        self, account_id: UUID, role: str, label: str, token_hash: str, created_at: int
    ) -> None:
        self.account_id, self.role, self.label = account_id, role, label
        self.token_hash, self.created_at = token_hash, created_at
        self.revoked_at: int | None = None

    @event("Revoked", topic=_T + "ApiToken.Revoked")
    def revoke(self, revoked_at: int) -> None:
        """Stop the token from authenticating."""
        self.revoked_at = revoked_at


class AuditEntry(Aggregate):
    """One line of the audit log: who did what to which event or token."""

    TOPIC = _T + "AuditEntry"

    @event("Created", topic=AUDIT_CREATED)
    def __init__(self, actor: str, action: str, target: str, at: int) -> None:
        self.actor, self.action, self.target, self.at = actor, action, target, at


class Invite(Aggregate):
    """An invite link made by an organiser; only the SHA-256 of its code is kept."""

    TOPIC = _T + "Invite"

    @staticmethod
    def create_id(code_hash: str) -> UUID:
        """The aggregate id of the invite whose code hashes to ``code_hash``."""
        return uuid5(INVITE_NAMESPACE, code_hash)

    @event("Created", topic=INVITE_CREATED)
    def __init__(
        self,
        code_hash: str,
        role: str,
        max_uses: int,
        expires_at: int,
        created_by: UUID | None,
        created_at: int,
    ) -> None:
        self.code_hash, self.role, self.max_uses = code_hash, role, max_uses
        self.expires_at, self.created_by = expires_at, created_by
        self.created_at = created_at
        self.uses = 0
        self.revoked_at: int | None = None

    @event("Used", topic=_T + "Invite.Used")
    def use(self, account_id: UUID, at: int) -> None:
        """Count one member who joined through the invite."""
        self.uses += 1

    @event("Revoked", topic=_T + "Invite.Revoked")
    def revoke(self, at: int) -> None:
        """Withdraw the invite."""
        self.revoked_at = at

    @property
    def uses_left(self) -> int:
        """How many more people may join through it."""
        return max(self.max_uses - self.uses, 0)


class ResetCode(Aggregate):
    """A one-time password-setting link for one account."""

    TOPIC = _T + "ResetCode"

    @staticmethod
    def create_id(code_hash: str) -> UUID:
        """The aggregate id of the reset code whose hash is ``code_hash``."""
        return uuid5(RESET_NAMESPACE, code_hash)

    @event("Created", topic=_T + "ResetCode.Created")
    def __init__(
        self,
        code_hash: str,
        account_id: UUID,
        expires_at: int,
        created_by: UUID | None,
        created_at: int,
    ) -> None:
        self.code_hash, self.account_id = code_hash, account_id
        self.expires_at, self.created_by = expires_at, created_by
        self.created_at = created_at
        self.used_at: int | None = None

    @event("Used", topic=_T + "ResetCode.Used")
    def use(self, at: int) -> None:
        """Spend the code."""
        self.used_at = at


class Session(Aggregate):
    """A signed-in browser: only the SHA-256 of its cookie's token is kept.

    Valid while not revoked, not expired, and ``epoch`` equals the account's
    ``sessions_epoch`` (one ``SessionsEnded`` event ends them all).
    """

    TOPIC = _T + "Session"

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        """The aggregate id of the session whose token hashes to ``token_hash``."""
        return uuid5(SESSION_NAMESPACE, token_hash)

    @event("Created", topic=SESSION_CREATED)
    def __init__(
        self,
        token_hash: str,
        account_id: UUID,
        epoch: int,
        created_at: int,
        expires_at: int,
    ) -> None:
        self.token_hash, self.account_id, self.epoch = token_hash, account_id, epoch
        self.created_at, self.expires_at = created_at, expires_at
        self.revoked_at: int | None = None

    @event("Revoked", topic=_T + "Session.Revoked")
    def revoke(self, at: int) -> None:
        """Log out."""
        self.revoked_at = at
