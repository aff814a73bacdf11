"""``PrivateStore``: the blocking, thread-safe front of private data.

It owns accounts made for scripts, API tokens and the audit log itself, and
hands members' accounts, invites, passwords and sessions to ``members`` and
``credentials``, which share its application.
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

from eventsourcing import persistence

from node import errors
from node.config import Settings
from node.storage.private.aggregates import (
    ACCOUNT_CREATED,
    AUDIT_CREATED,
    Account,
    ApiToken,
    AuditEntry,
)
from node.storage.private.app import (
    PAGE,
    PrivateData,
    open_application,
    storage_errors,
)
from node.storage.private.casework import CaseworkStore
from node.storage.private.credentials import Credentials
from node.storage.private.ideas import IdeaStore
from node.storage.private.members import Members, check_role
from node.storage.private.pledges import PledgeStore
from node.storage.private.records import (
    AuditRecord,
    Export,
    IssuedToken,
    TokenGrant,
    TokenInfo,
)
from node.storage.private.rsvps import RsvpStore
from node.storage.private.vault import Vault

__all__ = ["PrivateStore"]

_TOKEN_RE = re.compile(r"tdg_[A-Za-z0-9_-]{43}")
_TOKEN_ID_RE = re.compile(r"[0-9a-f]{12}")


class PrivateStore:
    """Blocking, thread-safe access to private data; each call goes to SQLite.

    ``now`` is in ms since the epoch. Any call may raise StorageUnavailableError.
    """

    def __init__(self, app: PrivateData, node_key: bytes | None = None) -> None:
        self._app = app
        lock = threading.Lock()  # one member-changing transaction at a time
        vault = Vault(app, node_key)
        #: Members' accounts: personal data, roles, erasure, export.
        self.members = Members(app, vault, lock)
        #: Invites, reset codes, passwords and sessions.
        self.credentials = Credentials(app, vault, lock, self.members)
        #: Members' named RSVPs, and the counts of them.
        self.rsvps = RsvpStore(app, vault, lock, self.members)
        #: Members' supports of ideas and votes on proposals, sealed.
        self.ideas = IdeaStore(app, vault, lock, self.members)
        #: Organisers' 1-to-1 notes and cases, each sealed with its own key.
        self.casework = CaseworkStore(app, node_key, lock, self.members)
        #: Members' pledges, and what counts of them.
        self.pledges = PledgeStore(app, vault, lock, self.members)

    @classmethod
    def open(cls, settings: Settings) -> PrivateStore:
        """Open the data directory's private database, creating it if absent.

        Raises:
            ConfigError: The key file is not a base64 AES-256 key, or the
                database cannot be decoded with the key (or lack of one).
            StorageUnavailableError: The database could not be opened.
        """
        app, node_key = open_application(settings)
        try:
            with storage_errors("create the key table"):
                return cls(app, node_key)
        except errors.NodeError:
            app.close()
            raise

    def close(self) -> None:
        """Close the database connections."""
        self._app.close()

    def create_account(self, display_name: str, role: str, *, now: int) -> UUID:
        """Create an account for a script; return its id.

        Its display name is stored as given (a label, not personal data):
        members' accounts are made by ``members.create`` and ``credentials``.

        Raises:
            ConfigError: ``role`` is not "organiser" or "member".
        """
        check_role(role)
        account = Account(display_name, role, now)
        with storage_errors("create an account"):
            self._app.save(account)
        return account.id

    def has_accounts(self) -> bool:
        """Whether any account was ever created."""
        with storage_errors("read accounts"):
            log = self._app.notification_log
            return bool(log.select(1, 1, topics=(ACCOUNT_CREATED,)))

    def issue_token(
        self, account_id: UUID, role: str, *, label: str, now: int
    ) -> IssuedToken:
        """Issue a token, labelled e.g. "backup script", its secret shown only now.

        Raises:
            ConfigError: ``role`` is not a known role.
            NotFoundError: No such account, or it was removed.
            ForbiddenError: A member account asked for an organiser token.
        """
        check_role(role)
        with storage_errors("issue a token"):
            account = self._app.get(Account, account_id)
            if account is None or account.removed:
                raise errors.NotFoundError(f"no account {account_id}")
            if role == "organiser" and account.role != "organiser":
                raise errors.ForbiddenError("members cannot hold organiser tokens")
            raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=")
            token = "tdg_" + raw.decode("ascii")
            digest = _hash(token)
            api_token = ApiToken(account_id, role, label, digest, now)
            self._app.save(api_token)
        return IssuedToken(token, digest[:12], role, account_id)

    def authenticate(self, token: str) -> TokenGrant | None:
        """Return a bearer token's grant; None if unknown, malformed or revoked."""
        if not _is_token(token):
            return None
        digest = _hash(token)
        with storage_errors("authenticate"):
            api_token = self._app.get(ApiToken, ApiToken.create_id(digest))
        if api_token is None or api_token.revoked_at is not None:
            return None
        if not hmac.compare_digest(api_token.token_hash, digest):
            return None
        return TokenGrant(api_token.account_id, api_token.role, digest[:12])

    def revoke_token(self, token_id_or_token: str, *, now: int) -> bool:
        """Revoke a token named by its text or public id; False if unknown.

        Idempotent. A public id (12 hex digits) is found by scanning the
        tokens, which are few (revoking is rare: no index to keep in step);
        should two ever share an id (odds ~n**2 / 2**49), both are revoked.
        """
        with storage_errors("revoke a token"):
            found = self._find_tokens(token_id_or_token)
            for api_token in (t for t in found if t.revoked_at is None):
                api_token.revoke(revoked_at=now)
                # A clash: another process revoked it first (a token's only event).
                with suppress(persistence.IntegrityError):
                    self._app.save(api_token)
        return bool(found)

    def list_tokens(self) -> list[TokenInfo]:
        """Return every token ever issued, oldest first, without its secret or hash."""
        with storage_errors("list tokens"):
            return [_token_info(t) for t in self._app.tokens()]

    def tokens_of(self, account_id: UUID) -> list[TokenInfo]:
        """Return the tokens ever issued to one account, oldest first."""
        return [t for t in self.list_tokens() if t.account_id == account_id]

    def record_audit(self, actor: str, action: str, target: str, *, now: int) -> None:
        """Log that ``actor`` (account id or "cli") did ``action`` to ``target``."""
        entry = AuditEntry(actor, action, target, now)
        with storage_errors("record an audit entry"):
            self._app.save(entry)

    def audit_log(self, limit: int = 100) -> list[AuditRecord]:
        """Return the latest ``limit`` audit entries, newest first.

        Reads the notification log backwards in windows of ids, filtered by
        topic, decoding each event without loading its aggregate.
        """
        records: list[AuditRecord] = []
        with storage_errors("read the audit log"):
            stop = self._app.recorder.max_notification_id() or 0  # None if empty
            while stop > 0 and len(records) < limit:
                start = max(1, stop - PAGE + 1)
                page = self._app.notification_log.select(
                    start, PAGE, stop, topics=(AUDIT_CREATED,)
                )
                for notification in reversed(page):
                    e = vars(self._app.mapper.to_domain_event(notification))
                    records.append(
                        AuditRecord(e["actor"], e["action"], e["target"], e["at"])
                    )
                stop = start - 1
        return records[: max(limit, 0)]

    def audit_of(self, actor: str) -> list[AuditRecord]:
        """Return every audit entry whose actor is ``actor``, oldest first."""
        with storage_errors("read the audit log"):
            return [
                AuditRecord(e["actor"], e["action"], e["target"], e["at"])
                for _, e in self._app.created(AUDIT_CREATED)
                if e["actor"] == actor
            ]

    def export(self, account_id: UUID) -> Export:
        """Everything held about one account (never a secret or a hash).

        Raises:
            NotFoundError: No such account, or it was removed.
        """
        member = self.members.info(account_id)
        if member is None:
            raise errors.NotFoundError(f"no member {account_id}")
        with storage_errors("export an account"):
            account = self._app.get(Account, account_id)
        return Export(
            member=member,
            password_set=account is not None and account.password is not None,
            sessions=self.credentials.sessions_of(account_id),
            invites_created=self.credentials.invites_by(account_id),
            tokens=self.tokens_of(account_id),
            audit=self.audit_of(str(account_id)),
            rsvps=self.rsvps.of(account_id),
            supports=self.ideas.supports_of(account_id),
            votes=self.ideas.votes_of(account_id),
            pledges=self.pledges.of(account_id),
        )

    def _find_tokens(self, text: str) -> list[ApiToken]:
        if _is_token(text):
            api_token = self._app.get(ApiToken, ApiToken.create_id(_hash(text)))
            return [api_token] if api_token else []
        token_id = text.lower() if isinstance(text, str) else ""
        if not _TOKEN_ID_RE.fullmatch(token_id):
            return []
        return [t for t in self._app.tokens() if t.token_hash[:12] == token_id]


def _is_token(text: object) -> bool:
    # Length first, so huge input costs nothing; the pattern admits ASCII only.
    return isinstance(text, str) and len(text) == 47 and bool(_TOKEN_RE.fullmatch(text))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _token_info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        t.token_hash[:12], t.role, t.label, t.account_id, t.created_at, t.revoked_at
    )
