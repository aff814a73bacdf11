"""Named RSVPs in private data: answers, counts, names, export and erasure."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from node.config import Settings
from node.errors import ConfigError, NotFoundError
from node.storage.private import (
    NamedRsvp,
    Occasion,
    PrivateStore,
    Rsvp,
    RsvpCounts,
)
from tests.pg import private_bytes

NOW = 1_700_000_000_000
MEETING = "sha256:" + "M" * 43
OTHER = "sha256:" + "N" * 43
WEEK_2 = 1_700_600_000_000
NAMES = ("Olwen Private-Rsvp", "Bryn Private-Rsvp", "Cerys Private-Rsvp")


@pytest.fixture
def store(settings: Settings) -> Iterator[PrivateStore]:
    opened = PrivateStore.open(settings)
    yield opened
    opened.close()


def members(store: PrivateStore) -> list[UUID]:
    return [store.members.create(name, "member", now=NOW) for name in NAMES]


def test_answers_change_withdraw_and_count_per_occasion(store: PrivateStore) -> None:
    olwen, bryn, cerys = members(store)
    rsvps = store.rsvps
    whole: Occasion = (MEETING, None)
    assert rsvps.answer(olwen, whole, "yes", now=NOW)
    assert not rsvps.answer(olwen, whole, "yes", now=NOW + 1)  # no change
    assert rsvps.answer(bryn, whole, "maybe", now=NOW)
    assert rsvps.answer(cerys, (MEETING, WEEK_2), "no", now=NOW)
    assert rsvps.answer(cerys, (OTHER, None), "yes", now=NOW)
    assert rsvps.counts(whole) == RsvpCounts(yes=1, maybe=1, no=0)
    assert rsvps.counts((MEETING, WEEK_2)) == RsvpCounts(0, 0, 1)
    assert rsvps.answer(bryn, whole, "no", now=NOW + 2)  # changed
    assert rsvps.counts(whole) == RsvpCounts(yes=1, maybe=0, no=1)
    assert rsvps.answer(olwen, whole, None, now=NOW + 3)  # withdrawn
    assert not rsvps.answer(olwen, whole, None, now=NOW + 4)
    assert rsvps.counts(whole) == RsvpCounts(0, 0, 1)
    assert rsvps.of(olwen) == []
    assert rsvps.of(cerys) == [
        Rsvp(MEETING, WEEK_2, "no", NOW),
        Rsvp(OTHER, None, "yes", NOW),
    ]
    assert rsvps.of(cerys, MEETING) == [Rsvp(MEETING, WEEK_2, "no", NOW)]
    assert rsvps.counts(("sha256:" + "Z" * 43, None)) == RsvpCounts()


def test_names_are_for_one_meeting_in_order(store: PrivateStore) -> None:
    olwen, bryn, cerys = members(store)
    store.rsvps.answer(olwen, (MEETING, WEEK_2), "yes", now=NOW)
    store.rsvps.answer(bryn, (MEETING, None), "maybe", now=NOW)
    store.rsvps.answer(cerys, (MEETING, None), "yes", now=NOW)
    store.rsvps.answer(cerys, (OTHER, None), "no", now=NOW)
    assert store.rsvps.named(MEETING) == [
        NamedRsvp(bryn, NAMES[1], None, "maybe"),
        NamedRsvp(cerys, NAMES[2], None, "yes"),
        NamedRsvp(olwen, NAMES[0], WEEK_2, "yes"),
    ]


def test_nothing_of_an_rsvp_is_stored_in_clear(
    store: PrivateStore, settings: Settings
) -> None:
    (olwen, *_) = members(store)
    store.rsvps.answer(olwen, (MEETING, WEEK_2), "maybe", now=NOW)
    raw = _raw(settings)
    for clear in (MEETING.encode(), b"maybe", str(WEEK_2).encode()):
        assert clear not in raw


def test_erasure_drops_answers_from_counts_and_tells_listeners(
    store: PrivateStore, settings: Settings
) -> None:
    olwen, bryn, _ = members(store)
    heard: list[list[Occasion]] = []
    store.rsvps.add_erasure_listener(heard.append)
    store.rsvps.answer(olwen, (MEETING, None), "yes", now=NOW)
    store.rsvps.answer(olwen, (MEETING, WEEK_2), "no", now=NOW)
    store.rsvps.answer(bryn, (MEETING, None), "yes", now=NOW)
    store.members.erase(olwen, now=NOW + 5, keep_an_organiser=False)
    assert heard == [[(MEETING, None), (MEETING, WEEK_2)]]
    assert store.rsvps.counts((MEETING, None)) == RsvpCounts(yes=1)
    assert store.rsvps.counts((MEETING, WEEK_2)) == RsvpCounts()
    assert store.rsvps.of(olwen) == []
    assert [r.account_id for r in store.rsvps.named(MEETING)] == [bryn]
    with pytest.raises(NotFoundError):
        store.rsvps.answer(olwen, (MEETING, None), "yes", now=NOW + 6)
    # Reopened, with nothing cached: still nothing of Olwen's can be read.
    store.close()
    again = PrivateStore.open(settings)
    try:
        assert again.rsvps.counts((MEETING, None)) == RsvpCounts(yes=1)
        assert again.rsvps.of(olwen) == []
    finally:
        again.close()


def test_an_erasure_without_answers_tells_no_one(store: PrivateStore) -> None:
    olwen, *_ = members(store)
    heard: list[list[Occasion]] = []
    store.rsvps.add_erasure_listener(heard.append)
    store.members.erase(olwen, now=NOW, keep_an_organiser=False)
    assert heard == []


def test_a_failing_listener_never_undoes_an_erasure(store: PrivateStore) -> None:
    olwen, *_ = members(store)

    def broken(occasions: list[Occasion]) -> None:
        raise RuntimeError("listener broke")

    store.rsvps.add_erasure_listener(broken)
    store.rsvps.answer(olwen, (MEETING, None), "yes", now=NOW)
    store.members.erase(olwen, now=NOW, keep_an_organiser=False)
    assert store.members.info(olwen) is None
    assert store.rsvps.counts((MEETING, None)) == RsvpCounts()


def test_script_accounts_get_a_key_with_their_first_answer(
    store: PrivateStore,
) -> None:
    script = store.create_account("A script", "member", now=NOW)
    assert not store.rsvps.answer(script, (MEETING, None), None, now=NOW)
    assert store.rsvps.answer(script, (MEETING, None), "yes", now=NOW)
    assert store.rsvps.counts((MEETING, None)) == RsvpCounts(yes=1)
    info = store.members.info(script)
    assert info is not None
    assert info.display_name == "A script"
    assert store.rsvps.named(MEETING)[0].display_name == "A script"


def test_export_holds_the_members_answers(store: PrivateStore) -> None:
    olwen, *_ = members(store)
    store.rsvps.answer(olwen, (MEETING, None), "maybe", now=NOW)
    assert store.export(olwen).rsvps == [Rsvp(MEETING, None, "maybe", NOW)]


def test_refusals_store_nothing(store: PrivateStore) -> None:
    olwen, *_ = members(store)
    before = store._app.recorder.max_notification_id()
    with pytest.raises(ConfigError):
        store.rsvps.answer(olwen, (MEETING, None), "perhaps", now=NOW)
    with pytest.raises(NotFoundError):
        store.rsvps.answer(UUID(int=7), (MEETING, None), "yes", now=NOW)
    assert store._app.recorder.max_notification_id() == before


def _raw(settings: Settings) -> bytes:
    return private_bytes(settings)
