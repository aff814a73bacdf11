"""Supports and votes in private data: one per member, sealed, erased for good."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node import errors
from node.config import Settings
from node.storage.private import PrivateStore

IDEA = "sha256:" + "I" * 43
PROPOSAL = "sha256:" + "P" * 43
REASON = "Quixotic-reason-for-voting"


@pytest.fixture
def private(settings: Settings) -> Iterator[PrivateStore]:
    store = PrivateStore.open(settings)
    yield store
    store.close()


def test_one_support_per_member(private: PrivateStore) -> None:
    a = private.members.create("Alys", "member", now=1)
    b = private.members.create("Bedwyr", "member", now=1)
    assert private.ideas.support(a, IDEA, True, now=2)
    assert not private.ideas.support(a, IDEA, True, now=3)  # no change
    assert private.ideas.support(b, IDEA, True, now=3)
    assert private.ideas.supporters(IDEA) == 2
    assert private.ideas.support(b, IDEA, False, now=4)
    assert private.ideas.supporters(IDEA) == 1
    assert [s.idea for s in private.ideas.supports_of(a)] == [IDEA]
    assert private.ideas.supports_of(b) == []


def test_one_vote_per_member_changeable_and_withdrawn(private: PrivateStore) -> None:
    a = private.members.create("Alys", "member", now=1)
    b = private.members.create("Bedwyr", "member", now=1)
    private.ideas.vote(a, PROPOSAL, {"choice": "yes", "reason": REASON}, now=2)
    private.ideas.vote(a, PROPOSAL, {"choice": "no"}, now=3)
    private.ideas.vote(b, PROPOSAL, {"choice": "yes"}, now=3)
    assert sorted(v["choice"] for v in private.ideas.votes(PROPOSAL)) == ["no", "yes"]
    [mine] = private.ideas.votes_of(a)
    assert (mine.choice, mine.reason) == ("no", None)
    private.ideas.vote(b, PROPOSAL, None, now=4)
    assert private.ideas.votes(PROPOSAL) == [{"choice": "no"}]
    assert private.ideas.eligible() == 2


def test_votes_are_sealed_and_erasure_removes_them(
    private: PrivateStore, tmp_path: Path
) -> None:
    a = private.members.create("Alys", "member", now=1)
    private.ideas.vote(a, PROPOSAL, {"choice": "yes", "reason": REASON}, now=2)
    private.ideas.support(a, IDEA, True, now=2)
    erased: list[list[str]] = []
    private.ideas.add_erasure_listener(erased.append)
    raw = b"".join(p.read_bytes() for p in (tmp_path / "node").glob("private.db*"))
    assert REASON.encode() not in raw
    assert PROPOSAL.encode() not in raw
    private.members.erase(a, now=3, keep_an_organiser=False)
    assert erased == [[IDEA]]
    assert private.ideas.votes(PROPOSAL) == []
    assert private.ideas.supporters(IDEA) == 0
    assert private.ideas.eligible() == 0
    with pytest.raises(errors.NotFoundError):
        private.ideas.vote(a, PROPOSAL, {"choice": "no"}, now=4)
