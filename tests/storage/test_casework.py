"""1-to-1s and cases in private data: sealing, deleting, erasure and counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from node.config import Settings
from node.errors import NotFoundError
from node.storage.private import (
    ActivityCounts,
    PrivateStore,
    create_encryption_key,
)
from tests.pg import private_bytes

DAY = 86_400_000
NOW = 1_700_000_000_000
PERSON = "Gwenllian Casework-Secret"
PROBLEM = "Damp flat, landlord ignoring repair-requests-xyzzy"
NOTES = "Cares about the bus route to Ebbw Vale quietly-unique"


@pytest.fixture
def store(settings: Settings) -> Iterator[PrivateStore]:
    opened = PrivateStore.open(settings)
    yield opened
    opened.close()


def one_to_one(member: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "person": PERSON,
        "member": member,
        "interests": ["buses"],
        "notes": NOTES,
        "follow_ups": [{"text": "Call back", "due_at": NOW + DAY, "done_at": None}],
        **extra,
    }


def case(member: str | None = None) -> dict[str, Any]:
    return {"person": PERSON, "member": member, "problem": PROBLEM, "actions": []}


def raw_bytes(settings: Settings) -> bytes:
    return private_bytes(settings)


def test_a_record_round_trips_and_changes(store: PrivateStore) -> None:
    made = store.casework.create("one_to_one", NOW, one_to_one(), created_by="o", now=1)
    held = store.casework.get("one_to_one", made.id)
    assert held is not None
    assert held.content == one_to_one()
    assert (held.at, held.status, held.created_by) == (NOW, None, "o")
    assert store.casework.get("case", made.id) is None  # another kind
    changed = store.casework.write(
        "one_to_one", made.id, one_to_one(notes="new"), at=NOW + 1, now=2
    )
    assert changed.content["notes"] == "new"
    assert changed.at == NOW + 1
    assert changed.updated_at == 2
    assert [r.id for r in store.casework.records("one_to_one")] == [made.id]
    assert store.casework.records("case") == []


def test_a_case_closes_and_reopens(store: PrivateStore) -> None:
    made = store.casework.create("case", NOW, case(), created_by="o", now=NOW)
    assert (made.status, made.status_at) == ("open", NOW)
    closed = store.casework.write(
        "case", made.id, case(), at=NOW, status="closed", now=NOW + DAY
    )
    assert (closed.status, closed.status_at) == ("closed", NOW + DAY)
    again = store.casework.write(
        "case", made.id, case(), at=NOW, status="closed", now=NOW + 2 * DAY
    )
    assert again.status_at == NOW + DAY  # no change, no new date
    reopened = store.casework.write(
        "case", made.id, case(), at=NOW, status="open", now=NOW + 3 * DAY
    )
    assert (reopened.status, reopened.status_at) == ("open", NOW + 3 * DAY)


def test_deleting_destroys_the_record_for_good(
    store: PrivateStore, settings: Settings
) -> None:
    made = store.casework.create("case", NOW, case(), created_by="o", now=1)
    store.casework.delete("case", made.id, now=2)
    assert store.casework.get("case", made.id) is None
    assert store.casework.records("case") == []
    with pytest.raises(NotFoundError):
        store.casework.delete("case", made.id, now=3)
    with pytest.raises(NotFoundError):
        store.casework.write("case", made.id, case(), at=NOW, now=3)
    assert store.casework.counts(0, 2 * NOW).cases_opened == 0


@pytest.mark.parametrize("node_key", [False, True])
def test_no_recognisable_text_is_on_disk(settings: Settings, *, node_key: bool) -> None:
    if node_key:
        create_encryption_key(settings.encryption_key_path)
    store = PrivateStore.open(settings)
    try:
        store.casework.create("one_to_one", NOW, one_to_one(), created_by="o", now=1)
        store.casework.create("case", NOW, case(), created_by="o", now=1)
        assert store.casework.records("case")[0].content["problem"] == PROBLEM
        raw = raw_bytes(settings)
        assert raw
        for secret in (PERSON, PROBLEM, NOTES, "Call back", "buses"):
            assert secret.encode() not in raw
    finally:
        store.close()
    for secret in (PERSON, PROBLEM, NOTES):
        assert secret.encode() not in raw_bytes(settings)


def test_counts_of_a_period(store: PrivateStore) -> None:
    cw = store.casework
    start, end = NOW, NOW + 30 * DAY
    cw.create("one_to_one", start - 1, one_to_one(), created_by="o", now=1)  # before
    cw.create("one_to_one", start, one_to_one(), created_by="o", now=1)
    cw.create("one_to_one", end - 1, one_to_one(), created_by="o", now=1)
    cw.create("one_to_one", end, one_to_one(), created_by="o", now=1)  # after
    gone = cw.create("one_to_one", start + DAY, one_to_one(), created_by="o", now=1)
    cw.delete("one_to_one", gone.id, now=2)
    old = cw.create("case", start - DAY, case(), created_by="o", now=1)
    cw.write("case", old.id, case(), at=old.at, status="closed", now=start + DAY)
    fresh = cw.create("case", start + DAY, case(), created_by="o", now=1)
    cw.create("case", start + 2 * DAY, case(), created_by="o", now=1)
    cw.write(
        "case", fresh.id, case(), at=fresh.at, status="closed", now=start + 3 * DAY
    )
    cw.write("case", fresh.id, case(), at=fresh.at, status="open", now=end + DAY)
    cw.create("case", end + DAY, case(), created_by="o", now=1)  # opened after
    store.members.create("Member One", "member", now=start - DAY)
    store.members.create("Member Later", "member", now=end + DAY)
    store.create_account("a script", "organiser", now=1)  # not a person
    removed = store.members.create("Member Gone", "member", now=start - DAY)
    store.members.erase(removed, now=start, keep_an_organiser=False)
    counts = cw.counts(start, end)
    assert counts == ActivityCounts(
        one_to_ones_held=2, cases_opened=2, cases_closed=2, cases_open=1, members=1
    )
    # Reopened after the period: open at the end of a later one.
    assert cw.counts(end, end + 2 * DAY).cases_open == 3


def test_erasing_a_member_erases_their_records(store: PrivateStore) -> None:
    member = store.members.create("Linked Member", "member", now=NOW)
    other = store.members.create("Other Member", "member", now=NOW)
    cw = store.casework
    linked = cw.create(
        "one_to_one", NOW, one_to_one(str(member)), created_by="o", now=NOW
    )
    linked_case = cw.create("case", NOW, case(str(member)), created_by="o", now=NOW)
    kept = cw.create("one_to_one", NOW, one_to_one(str(other)), created_by="o", now=NOW)
    unlinked = cw.create("case", NOW, case(), created_by="o", now=NOW)
    before = cw.counts(NOW, NOW + DAY)
    store.members.erase(member, now=NOW + 1, keep_an_organiser=False)
    assert cw.get("one_to_one", linked.id) is None
    assert cw.get("case", linked_case.id) is None
    assert [r.id for r in cw.records("one_to_one")] == [kept.id]
    assert [r.id for r in cw.records("case")] == [unlinked.id]
    with pytest.raises(NotFoundError):
        cw.write("case", linked_case.id, case(), at=NOW, now=NOW + 2)
    after = cw.counts(NOW, NOW + DAY)
    # What was held still happened: only the member count drops.
    assert after.one_to_ones_held == before.one_to_ones_held == 2
    assert after.cases_opened == before.cases_opened == 2
    assert after.members == before.members - 1


def test_records_survive_reopening_with_the_key(settings: Settings) -> None:
    create_encryption_key(settings.encryption_key_path)
    store = PrivateStore.open(settings)
    made = store.casework.create("case", NOW, case(), created_by="o", now=1)
    store.close()
    store = PrivateStore.open(settings)
    try:
        held = store.casework.get("case", made.id)
        assert held is not None
        assert held.content["problem"] == PROBLEM
    finally:
        store.close()
