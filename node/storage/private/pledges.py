"""Members' pledges: money, hours or skills towards a target, sealed with their key.

Who pledged what is private (DESIGN §4): it never enters a feed; only the
group's counted totals leave the node, as ``pledge.totals_reported``. Each
account has one ``PledgeBook`` (id ``uuid5(namespace, account id)``), and each
of its events carries one change, ``{target, pence, hours, skills, others,
at}`` (every amount null: withdrawn), sealed with the member's key from the
vault: which targets a member pledges to is theirs too. One pledge per member
per target; a new one replaces the old.

Totals read every book whose account is current (not removed) and whose key
is held. Erasure destroys the key, so an erased member's pledges drop out of
every total and can never be read again; ``Members.erasure_hooks`` tells the
listeners here which targets' totals that changed, read just before the key
goes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from uuid import UUID, uuid5

import orjson
from eventsourcing.domain import Aggregate, event

from node import errors
from node.storage.private.aggregates import Account
from node.storage.private.app import PrivateData, storage_errors
from node.storage.private.members import Members
from node.storage.private.records import HeldPledge, Pledge
from node.storage.private.vault import Vault, seal, unseal

__all__ = ["PLEDGE_BOOK_CREATED", "PledgeBook", "PledgeStore"]

logger = logging.getLogger(__name__)

#: Fixed forever: changing it would orphan every stored book.
PLEDGE_NAMESPACE = UUID("0b8e2f4a-6d1c-4f3e-8a2b-9c7d5e1f3a60")
_T = "tredegar.private:"
PLEDGE_BOOK_CREATED = _T + "PledgeBook.Created"
_PURPOSE = "pledge"

ErasureListener = Callable[[list[str]], None]


class PledgeBook(Aggregate):
    """One account's pledges: a list of sealed changes, replayed in order."""

    TOPIC = _T + "PledgeBook"

    @staticmethod
    def create_id(account_id: UUID) -> UUID:
        """The id of the account's book."""
        return uuid5(PLEDGE_NAMESPACE, account_id.hex)

    @event("Created", topic=PLEDGE_BOOK_CREATED)
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.changes: list[str] = []

    @event("Changed", topic=_T + "PledgeBook.Changed")
    def change(self, sealed: str) -> None:
        """Add one sealed pledge or withdrawal."""
        self.changes.append(sealed)


class PledgeStore:
    """Blocking access to members' pledges (see :class:`PrivateStore`)."""

    def __init__(
        self, app: PrivateData, vault: Vault, lock: threading.Lock, members: Members
    ) -> None:
        self._app, self._vault, self._lock = app, vault, lock
        self._members = members
        self._listeners: list[ErasureListener] = []
        members.erasure_hooks.append(self._erasing)

    def add_erasure_listener(self, listener: ErasureListener) -> None:
        """Call ``listener`` with the targets whose totals an erasure changed.

        It runs on the thread that erased, after the erasure is saved.
        """
        self._listeners.append(listener)

    def pledge(
        self, account_id: UUID, target: str, pledge: Pledge | None, *, now: int
    ) -> bool:
        """Set the account's pledge to a target (None withdraws it).

        Args:
            account_id: The member.
            target: The id of the ``pledge.target_set``.
            pledge: The pledge (its ``target`` and ``at`` are replaced by
                ``target`` and ``now``), or None.
            now: When, in ms.

        Returns:
            Whether anything changed.

        Raises:
            NotFoundError: No such account, or it was removed or erased.
        """
        with self._lock, storage_errors("record a pledge"):
            account = self._app.get(Account, account_id)
            if account is None or account.removed:
                raise errors.NotFoundError(f"no member {account_id}")
            key, book = self._vault.key(account_id), self._book(account_id)
            if key is None and account.personal is not None:
                raise errors.NotFoundError(f"member {account_id} was erased")
            held = _pledges(book, key) if book and key else {}
            if _same(held.get(target), pledge):
                return False
            made_key = key is None
            key = key or self._vault.create(account_id)
            try:
                book = book or PledgeBook(account_id)
                book.change(_seal_change(key, account_id, target, pledge, now))
                self._app.save(book)
            except BaseException:
                if made_key:
                    self._vault.destroy(account_id)
                raise
        return True

    def of(self, account_id: UUID, target: str | None = None) -> list[Pledge]:
        """The account's current pledges (to one target, or all), by target."""
        with storage_errors("read pledges"):
            book, key = self._book(account_id), self._vault.key(account_id)
            held = _pledges(book, key) if book and key else {}
        return [
            pledge
            for name, pledge in sorted(held.items())
            if target is None or name == target
        ]

    def held(self, target: str) -> list[HeldPledge]:
        """Every current member's pledge to a target, oldest pledge first."""
        found: list[HeldPledge] = []
        with storage_errors("read pledges"):
            for account, _, held in self._current():
                if target in held:
                    found.append(HeldPledge(account.id, None, held[target]))
        return sorted(found, key=lambda h: (h.pledge.at, h.account_id))

    def named(self, target: str) -> list[HeldPledge]:
        """:meth:`held` with each member's display name (for organisers)."""
        found: list[HeldPledge] = []
        with storage_errors("read pledges"):
            for account, key, held in self._current():
                if target in held:
                    name = self._members.personal(account, key).get("display_name")
                    found.append(HeldPledge(account.id, name, held[target]))
        return sorted(found, key=lambda h: (h.pledge.at, h.account_id))

    def targets(self) -> set[str]:
        """Every target some current member has pledged to."""
        with storage_errors("read pledges"):
            return {t for _, _, held in self._current() for t in held}

    def _book(self, account_id: UUID) -> PledgeBook | None:
        return self._app.get(PledgeBook, PledgeBook.create_id(account_id))

    def _current(self) -> Iterator[tuple[Account, bytes, dict[str, Pledge]]]:
        keys = self._vault.keys()
        for _, created in self._app.created(PLEDGE_BOOK_CREATED):
            account_id = created["account_id"]
            key = keys.get(account_id)
            if key is None:  # erased: nothing can be read
                continue
            account = self._app.get(Account, account_id)
            book = self._app.get(PledgeBook, created["originator_id"])
            if account is not None and not account.removed and book is not None:
                yield account, key, _pledges(book, key)

    def _erasing(self, account_id: UUID) -> Callable[[], None]:
        # Runs inside the erasure, before the key goes: the last chance to read
        # which targets' totals the erasure will change.
        try:
            book, key = self._book(account_id), self._vault.key(account_id)
            held = _pledges(book, key) if book and key else {}
        except Exception:  # never let pledges stand in the way of an erasure
            logger.exception("could not read the pledges of an account being erased")
            held = {}
        targets = sorted(held)

        def erased() -> None:
            if not targets:
                return
            for listener in self._listeners:
                try:
                    listener(list(targets))
                except Exception:  # the erasure is done: never undo it
                    logger.exception("a pledge erasure listener failed")

        return erased


def _same(held: Pledge | None, pledge: Pledge | None) -> bool:
    if held is None or pledge is None:
        return held is pledge
    return (held.pence, held.hours, held.skills, held.others) == (
        pledge.pence,
        pledge.hours,
        pledge.skills,
        pledge.others,
    )


def _seal_change(
    key: bytes, account_id: UUID, target: str, pledge: Pledge | None, now: int
) -> str:
    change = {
        "target": target,
        "pence": pledge.pence if pledge else None,
        "hours": pledge.hours if pledge else None,
        "skills": list(pledge.skills) if pledge else None,
        "others": pledge.others if pledge else None,
        "withdrawn": pledge is None,
        "at": now,
    }
    return seal(key, account_id, _PURPOSE, orjson.dumps(change))


def _pledges(book: PledgeBook, key: bytes) -> dict[str, Pledge]:
    held: dict[str, Pledge] = {}
    for sealed in book.changes:
        change = orjson.loads(unseal(key, book.account_id, _PURPOSE, sealed))
        target = change["target"]
        if change["withdrawn"]:
            held.pop(target, None)
        else:
            held[target] = Pledge(
                target,
                change["pence"],
                change["hours"],
                tuple(change["skills"] or ()),
                change["others"],
                change["at"],
            )
    return held
