"""Members' pledges in private data: change, withdraw, names, export, erasure."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from node.config import Settings
from node.errors import NotFoundError
from node.storage.private import HeldPledge, Pledge, PrivateStore
from tests.pg import private_bytes

NOW = 1_700_000_000_000
TARGET = "sha256:" + "P" * 43
OTHER = "sha256:" + "Q" * 43
NAMES = ("Olwen Private-Pledge", "Bryn Private-Pledge", "Cerys Private-Pledge")


@pytest.fixture
def store(settings: Settings) -> Iterator[PrivateStore]:
    opened = PrivateStore.open(settings)
    yield opened
    opened.close()


def members(store: PrivateStore) -> list[UUID]:
    return [store.members.create(name, "member", now=NOW) for name in NAMES]


def hours(n: int, others: int | None = None, target: str = TARGET) -> Pledge:
    return Pledge(target, None, n, (), others, 0)


def test_one_pledge_per_member_per_target_changeable_and_withdrawable(
    store: PrivateStore,
) -> None:
    olwen, bryn, _ = members(store)
    pledges = store.pledges
    assert pledges.pledge(olwen, TARGET, hours(4, others=10), now=NOW)
    assert not pledges.pledge(olwen, TARGET, hours(4, others=10), now=NOW + 1)
    assert pledges.pledge(olwen, TARGET, hours(5), now=NOW + 2)  # changed
    assert pledges.pledge(bryn, TARGET, hours(2), now=NOW + 3)
    assert pledges.pledge(bryn, OTHER, Pledge(OTHER, 500, None, (), None, 0), now=NOW)
    assert pledges.of(olwen) == [Pledge(TARGET, None, 5, (), None, NOW + 2)]
    assert [h.pledge.hours for h in pledges.held(TARGET)] == [5, 2]
    assert all(h.display_name is None for h in pledges.held(TARGET))
    assert pledges.targets() == {TARGET, OTHER}
    assert pledges.pledge(olwen, TARGET, None, now=NOW + 4)  # withdrawn
    assert not pledges.pledge(olwen, TARGET, None, now=NOW + 5)
    assert pledges.of(olwen) == []
    assert [h.account_id for h in pledges.held(TARGET)] == [bryn]
    assert pledges.named(TARGET) == [
        HeldPledge(bryn, NAMES[1], Pledge(TARGET, None, 2, (), None, NOW + 3))
    ]


def test_nothing_of_a_pledge_is_stored_in_clear(
    store: PrivateStore, settings: Settings
) -> None:
    (olwen, *_) = members(store)
    skill = "Driving-a-minibus-private"
    store.pledges.pledge(
        olwen, TARGET, Pledge(TARGET, None, None, (skill,), 7, 0), now=NOW
    )
    raw = _raw(settings)
    for clear in (TARGET.encode(), skill.encode(), NAMES[0].encode()):
        assert clear not in raw


def test_export_holds_the_members_pledges(store: PrivateStore) -> None:
    olwen, _, _ = members(store)
    store.pledges.pledge(olwen, TARGET, hours(3, others=2), now=NOW)
    assert store.export(olwen).pledges == [Pledge(TARGET, None, 3, (), 2, NOW)]


def test_erasure_drops_pledges_and_tells_listeners(
    store: PrivateStore, settings: Settings
) -> None:
    olwen, bryn, _ = members(store)
    heard: list[list[str]] = []
    store.pledges.add_erasure_listener(heard.append)
    store.pledges.pledge(olwen, TARGET, hours(4), now=NOW)
    store.pledges.pledge(olwen, OTHER, hours(1, target=OTHER), now=NOW)
    store.pledges.pledge(bryn, TARGET, hours(2), now=NOW)
    store.members.erase(olwen, now=NOW + 5, keep_an_organiser=False)
    assert heard == [sorted([TARGET, OTHER])]
    assert [h.account_id for h in store.pledges.held(TARGET)] == [bryn]
    assert store.pledges.of(olwen) == []
    with pytest.raises(NotFoundError):
        store.pledges.pledge(olwen, TARGET, hours(1), now=NOW + 6)
    store.close()
    again = PrivateStore.open(settings)
    try:
        assert [h.account_id for h in again.pledges.held(TARGET)] == [bryn]
        assert again.pledges.of(olwen) == []
    finally:
        again.close()


def test_an_erasure_without_pledges_tells_no_one(store: PrivateStore) -> None:
    (olwen, *_) = members(store)
    heard: list[list[str]] = []
    store.pledges.add_erasure_listener(heard.append)
    store.members.erase(olwen, now=NOW, keep_an_organiser=False)
    assert heard == []


def test_a_removed_member_cannot_pledge(store: PrivateStore) -> None:
    with pytest.raises(NotFoundError):
        store.pledges.pledge(UUID(int=7), TARGET, hours(1), now=NOW)


def _raw(settings: Settings) -> bytes:
    return private_bytes(settings)
