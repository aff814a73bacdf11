"""1-to-1s and casework: the organisers' private records, each sealed on its own.

A 1-to-1 (a relational meeting an organiser held with a member or neighbour)
and a case (a person's problem brought to an advice surgery) are each one
``CaseworkRecord`` aggregate of ``private.db``. What the organiser wrote
(the person, the member linked, interests, notes, follow-ups, the problem,
actions, next step, outcome) is one JSON object *sealed* with a key of the
record's own (``casework_keys.py``); every change seals the whole object
again with that key. Only what counting needs stays beside it: the kind,
when it was held or opened, when a case was closed or reopened, and whether
the record was deleted. None of that names anyone.

Deleting a record marks it deleted and destroys its key, so every version
of it ever stored becomes noise. When a member linked to records is erased,
those records' keys are destroyed too (``Members.erasure_hooks``): what an
organiser wrote about a person is that person's data, and goes with them.
Erased records still count in activity figures (a 1-to-1 was held, a case
was opened), so counts already published stay true; deleted ones do not.

Writes are serialised by the members' lock and the key is written first and
destroyed again if the save fails, so a failure leaves at most an unused key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate, event

from node import errors
from node.storage.private.aggregates import ACCOUNT_CREATED, Account
from node.storage.private.app import PrivateData, storage_errors
from node.storage.private.casework_keys import RecordKeys
from node.storage.private.members import Members
from node.storage.private.vault import seal, unseal

__all__ = [
    "KINDS",
    "RECORD_CREATED",
    "ActivityCounts",
    "CaseworkRecord",
    "CaseworkStore",
    "StoredRecord",
]

#: A 1-to-1 meeting, and a case.
KINDS = ("one_to_one", "case")
OPEN, CLOSED = "open", "closed"
_T = "tredegar.private:"
RECORD_CREATED = _T + "CaseworkRecord.Created"


class CaseworkRecord(Aggregate):
    """A 1-to-1 or a case: its sealed content and the dates that are counted."""

    TOPIC = _T + "CaseworkRecord"

    @event("Created", topic=RECORD_CREATED)
    def __init__(
        self, kind: str, at: int, sealed: str, created_by: str, created_at: int
    ) -> None:
        self.kind, self.at, self.sealed = kind, at, sealed
        self.created_by, self.created_at = created_by, created_at
        self.updated_at = created_at
        #: A case's status changes, oldest first: ``[at, "open" | "closed"]``.
        self.history: list[list[Any]] = [[at, OPEN]] if kind == "case" else []
        self.deleted = False

    @event("Written", topic=_T + "CaseworkRecord.Written")
    def write(self, at: int, sealed: str, now: int) -> None:
        """Replace the sealed content (and when it was held or opened)."""
        self.at, self.sealed, self.updated_at = at, sealed, now
        if self.history:
            self.history[0] = [at, OPEN]

    @event("StatusChanged", topic=_T + "CaseworkRecord.StatusChanged")
    def change_status(self, status: str, now: int) -> None:
        """Close or reopen a case."""
        self.history.append([now, status])
        self.updated_at = now

    @event("Deleted", topic=_T + "CaseworkRecord.Deleted")
    def delete(self, now: int) -> None:
        """Mark the record deleted (its key is destroyed beside this)."""
        self.deleted, self.sealed, self.updated_at = True, "", now

    def status_at(self, moment: int) -> str | None:
        """A case's status just before ``moment`` (None: not opened yet)."""
        before = [change for change in self.history if change[0] < moment]
        if not before:
            return None
        return str(max(before, key=lambda change: change[0])[1])


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as its organisers read it.

    Attributes:
        id: The record's id.
        kind: "one_to_one" or "case".
        at: When the 1-to-1 was held, or the case opened (ms).
        status: A case's "open" or "closed"; None for a 1-to-1.
        status_at: When a case's status last changed (ms); None for a 1-to-1.
        content: What the organiser wrote, unsealed.
        created_by: The account that made it.
        created_at: When it was made (ms).
        updated_at: When it last changed (ms).
    """

    id: UUID
    kind: str
    at: int
    status: str | None
    status_at: int | None
    content: dict[str, Any]
    created_by: str
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class ActivityCounts:
    """The counts of a period ``[starts_at, ends_at)``: numbers only."""

    one_to_ones_held: int
    cases_opened: int
    cases_closed: int
    cases_open: int
    members: int


class CaseworkStore:
    """Blocking access to 1-to-1s and cases (see :class:`PrivateStore`)."""

    def __init__(
        self,
        app: PrivateData,
        node_key: bytes | None,
        lock: threading.Lock,
        members: Members,
    ) -> None:
        self._app, self._lock = app, lock
        self._keys = RecordKeys(app, node_key)
        members.erasure_hooks.append(self._erasing)

    def create(
        self, kind: str, at: int, content: dict[str, Any], *, created_by: str, now: int
    ) -> StoredRecord:
        """Seal and store a new record of ``kind`` held or opened ``at``."""
        _check_kind(kind)
        with self._lock, storage_errors("record casework"):
            record = CaseworkRecord(kind, at, "", created_by, now)
            key = self._keys.create(record.id)
            try:
                record.write(at, _seal(key, record, content), now)
                self._app.save(record)
            except BaseException:
                self._keys.destroy(record.id)
                raise
        return _stored(record, content)

    def get(self, kind: str, record_id: UUID) -> StoredRecord | None:
        """The record, or None (none of that kind, deleted or erased)."""
        with storage_errors("read casework"):
            record = self._app.get(CaseworkRecord, record_id)
            if record is None or record.kind != kind or record.deleted:
                return None
            key = self._keys.key(record_id)
            return None if key is None else _stored(record, _unseal(key, record))

    def records(self, kind: str) -> list[StoredRecord]:
        """Every readable record of ``kind``, in the order they were made."""
        with storage_errors("read casework"):
            keys = self._keys.keys()
            return [
                _stored(record, _unseal(keys[record.id], record))
                for record in self._all()
                if record.kind == kind and record.id in keys and not record.deleted
            ]

    def write(
        self,
        kind: str,
        record_id: UUID,
        content: dict[str, Any],
        *,
        at: int,
        status: str | None = None,
        now: int,
    ) -> StoredRecord:
        """Replace a record's content, and close or reopen a case.

        Raises:
            NotFoundError: No such record (deleted or erased).
        """
        if status not in (None, OPEN, CLOSED):
            raise errors.ConfigError(f"a case is open or closed, not {status!r}")
        with self._lock, storage_errors("change casework"):
            record, key = self._live(kind, record_id)
            record.write(at, _seal(key, record, content), now)
            if kind == "case" and status and status != record.history[-1][1]:
                record.change_status(status, now)
            self._app.save(record)
        return _stored(record, content)

    def delete(self, kind: str, record_id: UUID, *, now: int) -> None:
        """Delete a record for good: its key goes, its history becomes noise.

        Raises:
            NotFoundError: No such record (deleted or erased).
        """
        with self._lock, storage_errors("delete casework"):
            record, _ = self._live(kind, record_id)
            self._keys.destroy(record_id)
            record.delete(now)
            self._app.save(record)

    def counts(self, starts_at: int, ends_at: int) -> ActivityCounts:
        """Count the period ``[starts_at, ends_at)`` (deleted records left out)."""
        held = opened = closed = still_open = 0
        with storage_errors("count casework"):
            for record in self._all():
                if record.deleted:
                    continue
                during = starts_at <= record.at < ends_at
                if record.kind == "one_to_one":
                    held += during
                    continue
                opened += during
                closed += any(
                    status == CLOSED and starts_at <= at < ends_at
                    for at, status in record.history
                )
                still_open += record.status_at(ends_at) == OPEN
            members = self._members(ends_at)
        return ActivityCounts(held, opened, closed, still_open, members)

    def _members(self, before: int) -> int:
        # People only: accounts made for scripts keep no sealed personal data.
        count = 0
        for _, created in self._app.created(ACCOUNT_CREATED):
            if created["created_at"] >= before:
                continue
            account = self._app.get(Account, created["originator_id"])
            if account and not account.removed and account.personal is not None:
                count += 1
        return count

    def _all(self) -> Iterator[CaseworkRecord]:
        for _, created in self._app.created(RECORD_CREATED):
            record = self._app.get(CaseworkRecord, created["originator_id"])
            if record is not None:
                yield record

    def _live(self, kind: str, record_id: UUID) -> tuple[CaseworkRecord, bytes]:
        record = self._app.get(CaseworkRecord, record_id)
        key = self._keys.key(record_id) if record is not None else None
        if record is None or record.kind != kind or record.deleted or key is None:
            raise errors.NotFoundError(f"no {kind.replace('_', '-')} {record_id}")
        return record, key

    def _erasing(self, account_id: UUID) -> Callable[[], None]:
        # Runs inside the erasure (the lock held), before the member's key
        # goes: the records linked to them go first, so an erasure is never
        # left half done with their notes still readable.
        linked = [
            record_id
            for record_id, key in self._keys.keys().items()
            if (record := self._app.get(CaseworkRecord, record_id)) is not None
            and _unseal(key, record).get("member") == str(account_id)
        ]
        self._keys.destroy(*linked)
        return _nothing


def _nothing() -> None:
    return None


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise errors.ConfigError(f"casework is a one_to_one or a case, not {kind!r}")


def _seal(key: bytes, record: CaseworkRecord, content: dict[str, Any]) -> str:
    return seal(key, record.id, record.kind, orjson.dumps(content))


def _unseal(key: bytes, record: CaseworkRecord) -> dict[str, Any]:
    value = orjson.loads(unseal(key, record.id, record.kind, record.sealed))
    return value if isinstance(value, dict) else {}


def _stored(record: CaseworkRecord, content: dict[str, Any]) -> StoredRecord:
    is_case = record.kind == "case"
    return StoredRecord(
        id=record.id,
        kind=record.kind,
        at=record.at,
        status=str(record.history[-1][1]) if is_case else None,
        status_at=int(record.history[-1][0]) if is_case else None,
        content=content,
        created_by=record.created_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
