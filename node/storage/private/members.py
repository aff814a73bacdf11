"""Members' accounts: sealed personal data, roles, the directory and erasure.

An account's personal data is one JSON object (``display_name``, ``login``;
contact fields join it later) sealed with the member's key from the vault.
Erasure destroys that key first, then records the removal, ends the sessions
and revokes the tokens in one transaction: if that save fails the account is
already unreadable, and erasing again finishes the job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import orjson

from node import errors
from node.storage.private.aggregates import ACCOUNT_CREATED, ROLES, Account, ApiToken
from node.storage.private.app import PrivateData, storage_errors
from node.storage.private.records import MemberInfo
from node.storage.private.vault import Vault, seal, unseal

__all__ = ["Members"]

_PERSONAL = "personal"


class Members:
    """Blocking access to members' accounts (see :class:`PrivateStore`)."""

    def __init__(self, app: PrivateData, vault: Vault, lock: threading.Lock) -> None:
        self._app, self._vault, self._lock = app, vault, lock
        #: Called with an account's id during its erasure, while its personal
        #: data can still be read (the lock held, the key not yet destroyed);
        #: each returns what to run once the erasure is saved.
        self.erasure_hooks: list[Callable[[UUID], Callable[[], None]]] = []

    def create(
        self, display_name: str, role: str, *, now: int, login: str | None = None
    ) -> UUID:
        """Create an account whose personal data is sealed with its own key.

        Raises:
            ConfigError: ``role`` is not a known role.
            ConflictError: The login is taken.
        """
        check_role(role)
        account = Account("", role, now)
        with self._lock, storage_errors("create an account"):
            key = self._vault.create(account.id, login)
            try:
                self.set_personal(account, key, display_name, login, now=now)
                self._app.save(account)
            except BaseException:
                self._vault.destroy(account.id)
                raise
        return account.id

    def info(self, account_id: UUID) -> MemberInfo | None:
        """The account, or None if there is none (or it was removed)."""
        with storage_errors("read an account"):
            account = self._app.get(Account, account_id)
            if account is None or account.removed:
                return None
            return self._info(account, self._vault.key(account_id))

    def page(self, *, after: int, limit: int) -> tuple[list[MemberInfo], int | None]:
        """Accounts in the order they were made, from the cursor ``after``.

        Returns:
            Up to ``limit`` accounts, and the cursor of the next page (None
            when this page is the last).
        """
        found: list[MemberInfo] = []
        with storage_errors("list members"):
            keys = self._vault.keys()
            for position, account in self._accounts(after):
                if not account.removed:
                    found.append(self._info(account, keys.get(account.id)))
                    if len(found) == limit:
                        return found, position
        return found, None

    def first_organiser(self) -> UUID | None:
        """The organiser made first of those not removed, or None."""
        with storage_errors("find the first organiser"):
            for _, account in self._accounts(0):
                if not account.removed and account.role == "organiser":
                    return account.id
        return None

    def change_role(self, account_id: UUID, role: str, *, now: int) -> MemberInfo:
        """Make the account an organiser or a member.

        A member loses the organiser tokens it held.

        Raises:
            NotFoundError: No such account.
            ConflictError: It is the last organiser.
        """
        check_role(role)
        with self._lock, storage_errors("change a role"):
            account = self._live(account_id)
            if account.role != role:
                self._keep_an_organiser(account)
                account.change_role(role, at=now)
                demoted = role != "organiser"
                tokens = self._revoked(account_id, now, only_organiser=demoted)
                self._app.save(account, *tokens)
            return self._info(account, self._vault.key(account_id))

    def erase(self, account_id: UUID, *, now: int, keep_an_organiser: bool) -> None:
        """Erase the account: destroy its key, end its sessions and tokens.

        Raises:
            NotFoundError: No such account (or already erased).
            ConflictError: ``keep_an_organiser`` and it is the last organiser.
        """
        with self._lock, storage_errors("erase an account"):
            account = self._live(account_id)
            if keep_an_organiser:
                self._keep_an_organiser(account)
            afterwards = [hook(account_id) for hook in self.erasure_hooks]
            self._vault.destroy(account_id)
            account.remove(removed_at=now)
            account.end_sessions(at=now)
            self._app.save(account, *self._revoked(account_id, now))
        for after in afterwards:
            after()

    # --- shared with credentials ----------------------------------------

    def personal(self, account: Account, key: bytes | None) -> dict[str, Any]:
        """The account's personal data: ``{}`` once its key is destroyed."""
        if account.personal is None:  # made for a script: a label, in clear
            return {"display_name": account.display_name, "login": None}
        if key is None:
            return {}
        value = orjson.loads(unseal(key, account.id, _PERSONAL, account.personal))
        return value if isinstance(value, dict) else {}

    def set_personal(
        self,
        account: Account,
        key: bytes,
        display_name: str,
        login: str | None,
        *,
        now: int,
    ) -> None:
        """Seal new personal data into the (unsaved) account."""
        personal = {"display_name": display_name, "login": login}
        account.set_personal(
            seal(key, account.id, _PERSONAL, orjson.dumps(personal)), at=now
        )

    def _live(self, account_id: UUID) -> Account:
        account = self._app.get(Account, account_id)
        if account is None or account.removed:
            raise errors.NotFoundError(f"no member {account_id}")
        return account

    def _info(self, account: Account, key: bytes | None) -> MemberInfo:
        personal = self.personal(account, key)
        return MemberInfo(
            account.id,
            personal.get("login"),
            personal.get("display_name"),
            account.role,
            account.created_at,
        )

    def _accounts(self, after: int) -> Iterator[tuple[int, Account]]:
        for position, created in self._app.created(ACCOUNT_CREATED, after):
            account = self._app.get(Account, created["originator_id"])
            if account is not None:
                yield position, account

    def _keep_an_organiser(self, account: Account) -> None:
        if account.role != "organiser":
            return
        organisers = sum(
            1
            for _, other in self._accounts(0)
            if not other.removed and other.role == "organiser"
        )
        if organisers <= 1:
            raise errors.ConflictError("the group would be left without an organiser")

    def _revoked(
        self, account_id: UUID, now: int, *, only_organiser: bool = False
    ) -> list[ApiToken]:
        tokens = [
            t
            for t in self._app.tokens()
            if t.account_id == account_id
            and t.revoked_at is None
            and (t.role == "organiser" or not only_organiser)
        ]
        for token in tokens:
            token.revoke(revoked_at=now)
        return tokens


def check_role(role: str) -> None:
    """Refuse a role other than "organiser" or "member".

    Raises:
        ConfigError: An unknown role.
    """
    if role not in ROLES:
        raise errors.ConfigError(f"role must be organiser or member, not {role!r}")
