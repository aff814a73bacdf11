"""Private data: accounts, API tokens and the audit log, event-sourced.

Owns what the node keeps about people (DESIGN §4, §6), in the eventsourcing
application ``PrivateData`` and its own file ``<data_dir>/private.db``. None
of it ever enters a feed, a federation response or a peer's hands.

- Configured from Settings alone (eventsourcing would let a ``PRIVATEDATA_*``
  variable in ``os.environ`` move or decrypt it). No aggregate cache: every
  call reads SQLite, so a revocation by the command line counts at once.
- Encrypted at rest (AES-256-GCM) when the settings' key file exists. Ids,
  versions and topics stay in clear and must carry no personal data.
- API tokens are ``tdg_`` + 32 random bytes, kept only as SHA-256, with the
  aggregate id ``uuid5(TOKEN_NAMESPACE, hash)``: one fast hash and one load
  per request. A fast hash is safe for a 256-bit random secret; a slow one
  (argon2, for passwords) per request is not affordable.
- Topics are explicit (``tredegar.private:…``), so the module can move
  without migrating stored events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from uuid import UUID, uuid5

from eventsourcing import persistence
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import Environment, EnvType

from node import errors
from node.config import Settings
from node.storage.eventsourcing_env import explicit_environment, sqlite_environment

DB_FILE = "private.db"
ROLES = ("organiser", "member")
#: Fixed forever: changing it would orphan every stored token.
TOKEN_NAMESPACE = UUID("d64126e4-5e54-4cdd-9bd1-71064e5138f7")

_KEY_BYTES = 32
_TOKEN_RE = re.compile(r"tdg_[A-Za-z0-9_-]{43}")
_TOKEN_ID_RE = re.compile(r"[0-9a-f]{12}")
_PAGE = 500  # notifications per read, and the log's section size
_T = "tredegar.private:"
_ACCOUNT_CREATED = _T + "Account.Created"
_TOKEN_CREATED = _T + "ApiToken.Created"
_AUDIT_CREATED = _T + "AuditEntry.Created"
_A = TypeVar("_A", bound=Aggregate)


class Account(Aggregate):
    """A person who can sign in: an organiser or a member."""

    TOPIC = _T + "Account"

    @event("Created", topic=_ACCOUNT_CREATED)
    def __init__(self, display_name: str, role: str, created_at: int) -> None:
        self.display_name, self.role, self.created_at = display_name, role, created_at
        self.removed = False

    @event("Removed", topic=_T + "Account.Removed")
    def remove(self, removed_at: int) -> None:
        """Mark the account removed (its tokens must be revoked too)."""
        self.removed = True


class ApiToken(Aggregate):
    """A bearer token for scripts; only the SHA-256 of its text is kept."""

    TOPIC = _T + "ApiToken"

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        """The aggregate id of the token whose hex SHA-256 is ``token_hash``."""
        return uuid5(TOKEN_NAMESPACE, token_hash)

    @event("Created", topic=_TOKEN_CREATED)
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

    @event("Created", topic=_AUDIT_CREATED)
    def __init__(self, actor: str, action: str, target: str, at: int) -> None:
        self.actor, self.action, self.target, self.at = actor, action, target, at


class PrivateData(Application[UUID]):
    """The private-data application, configured only by the keys it is given."""

    log_section_size = _PAGE

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Exactly ``env``, prefixed: never ``os.environ`` or class defaults."""
        return explicit_environment(name, env or {})


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token; ``token`` is the secret, shown once and never stored."""

    token: str
    token_id: str
    role: str
    account_id: UUID


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a valid token lets its bearer act as."""

    account_id: UUID
    role: str
    token_id: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed to operators: never its secret or its hash."""

    token_id: str
    role: str
    label: str
    account_id: UUID
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit log entry."""

    actor: str
    action: str
    target: str
    at: int


def create_encryption_key(path: Path) -> None:
    """Write a fresh base64 AES-256 key to ``path``, mode 0600 from the start.

    Raises:
        ConflictError: The file exists; it is never overwritten.
        StorageUnavailableError: The file could not be written.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise errors.ConflictError(f"{path}: refusing to overwrite a key") from None
    except OSError as e:
        raise errors.StorageUnavailableError(f"{path}: cannot create key: {e}") from e
    with os.fdopen(fd, "wb") as file:
        file.write(base64.b64encode(secrets.token_bytes(_KEY_BYTES)) + b"\n")
        file.flush()
        os.fsync(file.fileno())


class PrivateStore:
    """Blocking, thread-safe access to private data; each call goes to SQLite.

    ``now`` is in ms since the epoch. Any call may raise StorageUnavailableError.
    """

    def __init__(self, app: PrivateData) -> None:
        self._app = app

    @classmethod
    def open(cls, settings: Settings) -> PrivateStore:
        """Open the data directory's private database, creating it if absent.

        Raises:
            ConfigError: The key file is not a base64 AES-256 key, or the
                database cannot be decoded with the key (or lack of one).
            StorageUnavailableError: The database could not be opened.
        """
        path = settings.path(DB_FILE)
        keys = sqlite_environment(path, text_ids=False)
        keys.update(_cipher_keys(settings.encryption_key_path))
        try:  # SQLite gives -wal and -shm files the database's mode: make it 0600
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as e:
            raise errors.StorageUnavailableError(f"{path}: cannot create: {e}") from e
        with _storage("open the database"):
            app = PrivateData(keys)
        key = "the configured key" if "CIPHER_KEY" in keys else "no encryption key"
        try:  # a wrong or missing key shows on the first event: fail now
            with _storage(f"decode {path} with {key}"):
                for notification in app.notification_log.select(1, 1):
                    app.mapper.to_domain_event(notification)
        except errors.NodeError:
            app.close()
            raise
        return cls(app)

    def close(self) -> None:
        """Close the database connections."""
        self._app.close()

    def create_account(self, display_name: str, role: str, *, now: int) -> UUID:
        """Create an account with ``role`` "organiser" or "member"; return its id.

        Raises:
            ConfigError: ``role`` is not a known role.
        """
        _check_role(role)
        account = Account(display_name, role, now)
        with _storage("create an account"):
            self._app.save(account)
        return account.id

    def has_accounts(self) -> bool:
        """Whether any account was ever created."""
        with _storage("read accounts"):
            log = self._app.notification_log
            return bool(log.select(1, 1, topics=(_ACCOUNT_CREATED,)))

    def issue_token(
        self, account_id: UUID, role: str, *, label: str, now: int
    ) -> IssuedToken:
        """Issue a token, labelled e.g. "backup script", its secret shown only now.

        Raises:
            ConfigError: ``role`` is not a known role.
            NotFoundError: No such account, or it was removed.
            ForbiddenError: A member account asked for an organiser token.
        """
        _check_role(role)
        with _storage("issue a token"):
            account = self._get(Account, account_id)
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
        with _storage("authenticate"):
            api_token = self._get(ApiToken, ApiToken.create_id(digest))
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
        with _storage("revoke a token"):
            found = self._find_tokens(token_id_or_token)
            for api_token in (t for t in found if t.revoked_at is None):
                api_token.revoke(revoked_at=now)
                # A clash: another process revoked it first (a token's only event).
                with suppress(persistence.IntegrityError):
                    self._app.save(api_token)
        return bool(found)

    def list_tokens(self) -> list[TokenInfo]:
        """Return every token ever issued, oldest first, without its secret or hash."""
        with _storage("list tokens"):
            return [_token_info(t) for t in self._tokens()]

    def record_audit(self, actor: str, action: str, target: str, *, now: int) -> None:
        """Log that ``actor`` (account id or "cli") did ``action`` to ``target``."""
        entry = AuditEntry(actor, action, target, now)
        with _storage("record an audit entry"):
            self._app.save(entry)

    def audit_log(self, limit: int = 100) -> list[AuditRecord]:
        """Return the latest ``limit`` audit entries, newest first.

        Reads the notification log backwards in windows of ids, filtered by
        topic, decoding each event without loading its aggregate.
        """
        records: list[AuditRecord] = []
        with _storage("read the audit log"):
            stop = self._app.recorder.max_notification_id() or 0  # None if empty
            while stop > 0 and len(records) < limit:
                start = max(1, stop - _PAGE + 1)
                page = self._app.notification_log.select(
                    start, _PAGE, stop, topics=(_AUDIT_CREATED,)
                )
                for notification in reversed(page):
                    e = vars(self._app.mapper.to_domain_event(notification))
                    records.append(
                        AuditRecord(e["actor"], e["action"], e["target"], e["at"])
                    )
                stop = start - 1
        return records[: max(limit, 0)]

    def _get(self, kind: type[_A], aggregate_id: UUID) -> _A | None:
        try:
            aggregate: Aggregate = self._app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _find_tokens(self, text: str) -> list[ApiToken]:
        if _is_token(text):
            api_token = self._get(ApiToken, ApiToken.create_id(_hash(text)))
            return [api_token] if api_token else []
        token_id = text.lower() if isinstance(text, str) else ""
        if not _TOKEN_ID_RE.fullmatch(token_id):
            return []
        return [t for t in self._tokens() if t.token_hash[:12] == token_id]

    def _tokens(self) -> Iterator[ApiToken]:
        last = 0
        while page := self._app.notification_log.select(
            last, _PAGE, topics=(_TOKEN_CREATED,), inclusive_of_start=False
        ):
            for notification in page:
                api_token = self._get(ApiToken, UUID(str(notification.originator_id)))
                if api_token:
                    yield api_token
            last = page[-1].id


@contextmanager
def _storage(action: str) -> Iterator[None]:
    message = f"private data: cannot {action}"
    try:
        yield
    except persistence.IntegrityError as e:  # callers catch the conflicts they expect
        raise errors.ConflictError(f"{message}: {e}") from e
    except persistence.MapperDeserialisationError as e:
        raise errors.ConfigError(message) from e
    except (persistence.PersistenceError, persistence.ConnectionPoolClosedError) as e:
        raise errors.StorageUnavailableError(f"{message}: {e}") from e


def _cipher_keys(key_path: Path) -> Mapping[str, str]:
    try:
        key = base64.b64decode(key_path.read_bytes().strip(), validate=True)
    except FileNotFoundError:
        return {}
    except (OSError, binascii.Error) as e:
        raise errors.ConfigError(f"{key_path}: unreadable key: {e}") from e
    if len(key) != _KEY_BYTES:
        raise errors.ConfigError(f"{key_path}: not a base64 {_KEY_BYTES}-byte AES key")
    return {
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
        "CIPHER_KEY": base64.b64encode(key).decode("ascii"),
    }


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise errors.ConfigError(f"role must be organiser or member, not {role!r}")


def _is_token(text: object) -> bool:
    # Length first, so huge input costs nothing; the pattern admits ASCII only.
    return isinstance(text, str) and len(text) == 47 and bool(_TOKEN_RE.fullmatch(text))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _token_info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        t.token_hash[:12], t.role, t.label, t.account_id, t.created_at, t.revoked_at
    )
