"""Key rotation: the group moves to a new feed when its key leaked or is lost.

The old key signs ``feed.moved`` naming the new feed; the new feed starts with
the group's profile naming the old one (``moved_from``). Peers replicate both
and show the group once, at its new feed. The old key is kept beside the new
one as ``feed.key.retired-<n>`` (it may be needed to prove what it signed),
never deleted by the node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from node.config import Settings
from node.errors import CatchingUpError, ConflictError
from node.services.clock import Clock, system_clock
from node.services.setup import RESTORED_MARKER
from node.services.validation import body_validator
from node.storage.feeds import SqliteFeedStore
from node.storage.feeds_pg import open_feed_store
from node.storage.keyfile import load_key_file, write_key_file
from protocol import Event, FeedId, JsonObject, SigningKey, sign

__all__ = ["Rotated", "rotate_key"]


@dataclass(frozen=True, slots=True)
class Rotated:
    """The feeds before and after a rotation, and where the old key went."""

    old_feed: FeedId
    new_feed: FeedId
    retired_key: str


def rotate_key(
    settings: Settings, reason: str | None, *, clock: Clock = system_clock
) -> Rotated:
    """Move the node's group to a new key and feed (the node must be stopped).

    Raises:
        CatchingUpError: The node was restored and has not caught up its feed.
        ConflictError: The own feed is empty or already moved.
    """
    if settings.path(RESTORED_MARKER).exists():
        raise CatchingUpError(
            "catch up the own feed from a peer before rotating the key"
        )
    old = load_key_file(settings.key_path)
    new = SigningKey.generate()
    store = open_feed_store(settings)
    try:
        head, profile = _own_feed(store, old)
        moved: JsonObject = {"new_feed": new.feed}
        if reason:
            moved["reason"] = reason
        body_validator().validate("feed.moved", moved)
        profile = {**profile, "moved_from": old.feed}
        body_validator().validate("group.profile_set", profile)
        now = clock()
        store.append(
            [
                sign(old, head, now, "feed.moved", moved),
                sign(new, None, now, "group.profile_set", profile),
            ]
        )
    finally:
        store.close()
    retired = _retire(settings, old, new)
    return Rotated(old.feed, new.feed, retired)


def _own_feed(store: SqliteFeedStore, key: SigningKey) -> tuple[Event, JsonObject]:
    events = store.read(key.feed, 0, 1_000_000)
    if not events:
        raise ConflictError("the own feed is empty: nothing to move")
    if any(e.type == "feed.moved" for e in events):
        raise ConflictError("this feed has already moved")
    profiles = [e for e in events if e.type == "group.profile_set" and e.body]
    if not profiles or profiles[-1].body is None:
        raise ConflictError("the own feed has no profile to carry over")
    return events[-1], dict(profiles[-1].body)


def _retire(settings: Settings, old: SigningKey, new: SigningKey) -> str:
    index = 1
    while settings.path(f"{settings.key_file}.retired-{index}").exists():
        index += 1
    retired = settings.path(f"{settings.key_file}.retired-{index}")
    write_key_file(retired, old)
    fresh = settings.path(f"{settings.key_file}.new")
    write_key_file(fresh, new)
    os.replace(fresh, settings.key_path)  # atomic: the node sees one key or the other
    return retired.name
