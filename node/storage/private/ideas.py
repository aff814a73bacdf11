"""Members' supports of ideas and votes on proposals, sealed with their own key.

Who supports which idea and who voted how are private (DESIGN §3, §4): they
never enter a feed; only counts leave the node (``idea.support_counted``,
``proposal.decided``). Each account has one ``IdeaBook`` (id
``uuid5(namespace, account id)``), each of its events one change
``{kind, target, value, at}`` sealed with the member's key from the vault:
``kind`` "support" (``value`` true, or null: withdrawn) or "vote" (``value``
``{choice?, ranking?, reason?}``, or null: withdrawn). One support and one
vote per member per idea or proposal: a later change replaces an earlier.

Counts read every book whose account is current and whose key is held.
Erasure destroys the key, so an erased member's supports and votes drop out
of every count and can never be read again; the listeners learn which ideas'
counts changed, read just before the key goes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid5

import orjson
from eventsourcing.domain import Aggregate, event

from node import errors
from node.storage.private.aggregates import ACCOUNT_CREATED, Account
from node.storage.private.app import PrivateData, storage_errors
from node.storage.private.members import Members
from node.storage.private.records import IdeaSupport, Vote
from node.storage.private.vault import Vault, seal, unseal

__all__ = ["IDEA_BOOK_CREATED", "IdeaBook", "IdeaStore"]

logger = logging.getLogger(__name__)

#: Fixed forever: changing it would orphan every stored book.
IDEA_NAMESPACE = UUID("0c7d3a52-6f1b-4f55-a8f4-2b9e61d0c3a7")
_T = "tredegar.private:"
IDEA_BOOK_CREATED = _T + "IdeaBook.Created"
_PURPOSE = "ideas"
SUPPORT, VOTE = "support", "vote"

#: (kind, target id) → (value, at).
Held = dict[tuple[str, str], tuple[Any, int]]
ErasureListener = Callable[[list[str]], None]


class IdeaBook(Aggregate):
    """One account's supports and votes: sealed changes, replayed in order."""

    TOPIC = _T + "IdeaBook"

    @staticmethod
    def create_id(account_id: UUID) -> UUID:
        """The id of the account's book."""
        return uuid5(IDEA_NAMESPACE, account_id.hex)

    @event("Created", topic=IDEA_BOOK_CREATED)
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.changes: list[str] = []

    @event("Changed", topic=_T + "IdeaBook.Changed")
    def change(self, sealed: str) -> None:
        """Add one sealed support, vote or withdrawal."""
        self.changes.append(sealed)


class IdeaStore:
    """Blocking access to supports and votes (see :class:`PrivateStore`)."""

    def __init__(
        self, app: PrivateData, vault: Vault, lock: threading.Lock, members: Members
    ) -> None:
        self._app, self._vault, self._lock = app, vault, lock
        self._listeners: list[ErasureListener] = []
        members.erasure_hooks.append(self._erasing)

    def add_erasure_listener(self, listener: ErasureListener) -> None:
        """Call ``listener`` with the ideas whose support an erasure changed.

        It runs on the thread that erased, after the erasure is saved.
        """
        self._listeners.append(listener)

    def support(
        self, account_id: UUID, idea: str, supported: bool, *, now: int
    ) -> bool:
        """Support an idea, or withdraw the support; whether anything changed.

        Raises:
            NotFoundError: No such account, or it was removed or erased.
        """
        return self._change(account_id, SUPPORT, idea, True if supported else None, now)

    def vote(
        self, account_id: UUID, proposal: str, vote: dict[str, Any] | None, *, now: int
    ) -> bool:
        """Cast or change a vote (``{choice?, ranking?, reason?}``); None withdraws.

        Raises:
            NotFoundError: No such account, or it was removed or erased.
        """
        return self._change(account_id, VOTE, proposal, vote, now)

    def supporters(self, idea: str) -> int:
        """How many current members support the idea."""
        with storage_errors("count supporters"):
            return sum(1 for held in self._current() if (SUPPORT, idea) in held)

    def votes(self, proposal: str) -> list[dict[str, Any]]:
        """Every current member's vote on a proposal, without who cast it."""
        with storage_errors("count votes"):
            found = [held.get((VOTE, proposal)) for held in self._current()]
        return [value for value, _ in filter(None, found)]

    def eligible(self) -> int:
        """How many members (accounts not removed) could vote."""
        with storage_errors("count members"):
            return sum(
                1
                for _, created in self._app.created(ACCOUNT_CREATED)
                if (account := self._app.get(Account, created["originator_id"]))
                and not account.removed
            )

    def supports_of(self, account_id: UUID) -> list[IdeaSupport]:
        """The ideas the account supports, in the order supported."""
        held = self._held(account_id)
        return [
            IdeaSupport(target, at)
            for (kind, target), (_, at) in sorted(held.items(), key=_by_time)
            if kind == SUPPORT
        ]

    def votes_of(self, account_id: UUID, proposal: str | None = None) -> list[Vote]:
        """The account's current votes (on one proposal, or all), in order cast."""
        held = self._held(account_id)
        return [
            Vote(
                target,
                value.get("choice"),
                value.get("ranking"),
                value.get("reason"),
                at,
            )
            for (kind, target), (value, at) in sorted(held.items(), key=_by_time)
            if kind == VOTE and proposal in (None, target)
        ]

    def _change(
        self, account_id: UUID, kind: str, target: str, value: Any, now: int
    ) -> bool:
        with self._lock, storage_errors(f"record a {kind}"):
            account = self._app.get(Account, account_id)
            if account is None or account.removed:
                raise errors.NotFoundError(f"no member {account_id}")
            key, book = self._vault.key(account_id), self._book(account_id)
            if key is None and account.personal is not None:
                raise errors.NotFoundError(f"member {account_id} was erased")
            held = _replay(book, key) if book and key else {}
            if held.get((kind, target), (None,))[0] == value:
                return False
            made_key = key is None
            key = key or self._vault.create(account_id)
            change = {"kind": kind, "target": target, "value": value, "at": now}
            try:
                book = book or IdeaBook(account_id)
                book.change(seal(key, account_id, _PURPOSE, orjson.dumps(change)))
                self._app.save(book)
            except BaseException:
                if made_key:
                    self._vault.destroy(account_id)
                raise
        return True

    def _held(self, account_id: UUID) -> Held:
        with storage_errors("read supports and votes"):
            book, key = self._book(account_id), self._vault.key(account_id)
            return _replay(book, key) if book and key else {}

    def _book(self, account_id: UUID) -> IdeaBook | None:
        return self._app.get(IdeaBook, IdeaBook.create_id(account_id))

    def _current(self) -> Iterator[Held]:
        keys = self._vault.keys()
        for _, created in self._app.created(IDEA_BOOK_CREATED):
            key = keys.get(created["account_id"])
            if key is None:  # erased: nothing can be read
                continue
            account = self._app.get(Account, created["account_id"])
            book = self._app.get(IdeaBook, created["originator_id"])
            if account is not None and not account.removed and book is not None:
                yield _replay(book, key)

    def _erasing(self, account_id: UUID) -> Callable[[], None]:
        # Inside the erasure, before the key goes: read which ideas' counts
        # will change, and tell the listeners once the erasure is saved.
        try:
            held = self._held(account_id)
        except Exception:  # never let supports stand in the way of an erasure
            logger.exception("could not read the supports of an account being erased")
            held = {}
        ideas = sorted(target for kind, target in held if kind == SUPPORT)

        def erased() -> None:
            for listener in self._listeners if ideas else ():
                try:
                    listener(list(ideas))
                except Exception:  # the erasure is done: never undo it
                    logger.exception("a support erasure listener failed")

        return erased


def _replay(book: IdeaBook, key: bytes) -> Held:
    held: Held = {}
    for sealed in book.changes:
        change = orjson.loads(unseal(key, book.account_id, _PURPOSE, sealed))
        slot = (change["kind"], change["target"])
        if change["value"] is None:
            held.pop(slot, None)
        else:
            held[slot] = (change["value"], change["at"])
    return held


def _by_time(item: tuple[tuple[str, str], tuple[Any, int]]) -> tuple[int, str]:
    return item[1][1], item[0][1]
