"""Named RSVPs: each member's answers to meetings, sealed with their own key.

Who said they will come to which meeting is private (DESIGN §4): it never
enters a feed; only counts leave the node, as ``meeting.attendance_counted``.
Each account has one ``RsvpBook`` (id ``uuid5(namespace, account id)``, so
it is found without an index), and each of its events carries one change,
``{meeting, occurrence_starts_at, answer, at}`` (``answer`` null: withdrawn),
sealed with the member's key from the vault: the meeting is sealed too, since
which meetings a member goes to is theirs. An account made for a script has no
key until its first answer (as with its first password).

Counts read every book whose account is current (not removed) and whose key
is held. Erasure destroys the key, so an erased member's answers drop out of
every count and can never be read again; ``Members.erasure_hooks`` tells the
listeners here which meetings' counts that changed, read just before the key
goes.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid5

import orjson
from eventsourcing.domain import Aggregate, event

from node import errors
from node.storage.private.aggregates import Account
from node.storage.private.app import PrivateData, storage_errors
from node.storage.private.members import Members
from node.storage.private.records import NamedRsvp, Rsvp, RsvpCounts
from node.storage.private.vault import Vault, seal, unseal

__all__ = ["ANSWERS", "RSVP_BOOK_CREATED", "Occasion", "RsvpBook", "RsvpStore"]

logger = logging.getLogger(__name__)

ANSWERS = ("yes", "maybe", "no")
#: Fixed forever: changing it would orphan every stored book.
RSVP_NAMESPACE = UUID("5a0f3f5c-8f0e-4c1e-9a57-3f4f2b1c9d6e")
_T = "tredegar.private:"
RSVP_BOOK_CREATED = _T + "RsvpBook.Created"
_PURPOSE = "rsvp"

#: A meeting's id and the occurrence (its original start, or None).
Occasion = tuple[str, int | None]
ErasureListener = Callable[[list[Occasion]], None]


class RsvpBook(Aggregate):
    """One account's RSVPs: a list of sealed changes, replayed in order."""

    TOPIC = _T + "RsvpBook"

    @staticmethod
    def create_id(account_id: UUID) -> UUID:
        """The id of the account's book."""
        return uuid5(RSVP_NAMESPACE, account_id.hex)

    @event("Created", topic=RSVP_BOOK_CREATED)
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.changes: list[str] = []

    @event("Changed", topic=_T + "RsvpBook.Changed")
    def change(self, sealed: str) -> None:
        """Add one sealed answer or withdrawal."""
        self.changes.append(sealed)


class RsvpStore:
    """Blocking access to named RSVPs (see :class:`PrivateStore`)."""

    def __init__(
        self, app: PrivateData, vault: Vault, lock: threading.Lock, members: Members
    ) -> None:
        self._app, self._vault, self._lock = app, vault, lock
        self._members = members
        self._listeners: list[ErasureListener] = []
        members.erasure_hooks.append(self._erasing)

    def add_erasure_listener(self, listener: ErasureListener) -> None:
        """Call ``listener`` with the occasions whose counts an erasure changed.

        It runs on the thread that erased, after the erasure is saved.
        """
        self._listeners.append(listener)

    def answer(
        self,
        account_id: UUID,
        occasion: Occasion,
        answer: str | None,
        *,
        now: int,
    ) -> bool:
        """Set the account's answer for an occasion (None withdraws it).

        Returns:
            Whether anything changed.

        Raises:
            NotFoundError: No such account, or it was removed or erased.
            ConfigError: ``answer`` is not yes, maybe, no or None.
        """
        if answer is not None and answer not in ANSWERS:
            raise errors.ConfigError(f"an answer is yes, maybe or no, not {answer!r}")
        with self._lock, storage_errors("record an RSVP"):
            account = self._app.get(Account, account_id)
            if account is None or account.removed:
                raise errors.NotFoundError(f"no member {account_id}")
            key, book = self._vault.key(account_id), self._book(account_id)
            if key is None and account.personal is not None:
                raise errors.NotFoundError(f"member {account_id} was erased")
            held = _answers(book, key) if book and key else {}
            if held.get(occasion, (None,))[0] == answer:
                return False
            made_key = key is None
            key = key or self._vault.create(account_id)
            try:
                book = book or RsvpBook(account_id)
                book.change(_seal_change(key, account_id, occasion, answer, now))
                self._app.save(book)
            except BaseException:
                if made_key:
                    self._vault.destroy(account_id)
                raise
        return True

    def of(self, account_id: UUID, meeting: str | None = None) -> list[Rsvp]:
        """The account's current answers (to one meeting, or all), in order."""
        with storage_errors("read RSVPs"):
            book, key = self._book(account_id), self._vault.key(account_id)
            held = _answers(book, key) if book and key else {}
        return [
            Rsvp(m, occurrence, answer, at)
            for (m, occurrence), (answer, at) in sorted(held.items(), key=_order)
            if meeting is None or m == meeting
        ]

    def counts(self, occasion: Occasion) -> RsvpCounts:
        """How many current members answered yes, maybe and no."""
        tally: Counter[str] = Counter()
        with storage_errors("count RSVPs"):
            for _, _, held in self._current():
                if occasion in held:
                    tally[held[occasion][0]] += 1
        return RsvpCounts(tally["yes"], tally["maybe"], tally["no"])

    def named(self, meeting: str) -> list[NamedRsvp]:
        """Every current member's answers to a meeting, with their names.

        In order of occurrence (None first), then name.
        """
        found: list[NamedRsvp] = []
        with storage_errors("read RSVPs"):
            for account, key, held in self._current():
                name = self._members.personal(account, key).get("display_name")
                found += [
                    NamedRsvp(account.id, name, occurrence, answer)
                    for (m, occurrence), (answer, _) in held.items()
                    if m == meeting
                ]
        return sorted(
            found,
            key=lambda r: (
                r.occurrence_starts_at is not None,
                r.occurrence_starts_at or 0,
                (r.display_name or "").casefold(),
                r.account_id,
            ),
        )

    def _book(self, account_id: UUID) -> RsvpBook | None:
        return self._app.get(RsvpBook, RsvpBook.create_id(account_id))

    def _current(self) -> Iterator[tuple[Account, bytes, dict[Occasion, Any]]]:
        keys = self._vault.keys()
        for _, created in self._app.created(RSVP_BOOK_CREATED):
            account_id = created["account_id"]
            key = keys.get(account_id)
            if key is None:  # erased: nothing can be read
                continue
            account = self._app.get(Account, account_id)
            book = self._app.get(RsvpBook, created["originator_id"])
            if account is not None and not account.removed and book is not None:
                yield account, key, _answers(book, key)

    def _erasing(self, account_id: UUID) -> Callable[[], None]:
        # Runs inside the erasure, before the key goes: the last chance to read
        # which meetings' counts the erasure will change.
        try:
            book, key = self._book(account_id), self._vault.key(account_id)
            held = _answers(book, key) if book and key else {}
        except Exception:  # never let RSVPs stand in the way of an erasure
            logger.exception("could not read the RSVPs of an account being erased")
            held = {}
        occasions = sorted(held, key=_none_first)

        def erased() -> None:
            if not occasions:
                return
            for listener in self._listeners:
                try:
                    listener(list(occasions))
                except Exception:  # the erasure is done: never undo it
                    logger.exception("an RSVP erasure listener failed")

        return erased


def _seal_change(
    key: bytes, account_id: UUID, occasion: Occasion, answer: str | None, now: int
) -> str:
    change = {
        "meeting": occasion[0],
        "occurrence_starts_at": occasion[1],
        "answer": answer,
        "at": now,
    }
    return seal(key, account_id, _PURPOSE, orjson.dumps(change))


def _answers(book: RsvpBook, key: bytes) -> dict[Occasion, tuple[str, int]]:
    held: dict[Occasion, tuple[str, int]] = {}
    for sealed in book.changes:
        change = orjson.loads(unseal(key, book.account_id, _PURPOSE, sealed))
        occasion = (change["meeting"], change["occurrence_starts_at"])
        if change["answer"] is None:
            held.pop(occasion, None)
        else:
            held[occasion] = (change["answer"], change["at"])
    return held


def _none_first(occasion: Occasion) -> tuple[str, bool, int]:
    return occasion[0], occasion[1] is not None, occasion[1] or 0


def _order(item: tuple[Occasion, tuple[str, int]]) -> tuple[str, bool, int]:
    return _none_first(item[0])
