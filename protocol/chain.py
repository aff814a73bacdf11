"""The hash chain of a feed (``docs/protocol.md#the-chain``).

Each event names the id of the one before (``prev``) and sits one past it
(``seq``). A receiver holding a feed up to some event accepts only the event
that continues it. Two validly signed, different events for one (feed, seq)
are a fork: proof that the feed's key signed two histories.
"""

from __future__ import annotations

from collections.abc import Iterable

from protocol.errors import (
    ForkError,
    LocalProtocolError,
    PrevMismatchError,
    SeqGapError,
)
from protocol.event import Event
from protocol.types import EventId

__all__ = ["is_duplicate", "link", "verify_chain", "verify_link"]


def link(previous: Event | None) -> tuple[int, EventId | None]:
    """Return the ``seq`` and ``prev`` of the event after ``previous``.

    Args:
        previous: The head of the feed, or ``None`` when it is empty.

    Returns:
        ``(seq, prev)`` for the next event.
    """
    if previous is None:
        return 1, None
    return previous.seq + 1, previous.id


def is_duplicate(held: Event, event: Event) -> bool:
    """Tell whether ``event`` is the very event already held at its position.

    Args:
        held: An event held for the same feed and seq.
        event: The event received.

    Returns:
        True when both have the same id (the same signed header).

    Raises:
        LocalProtocolError: The two are not for the same (feed, seq).
        ForkError: Same (feed, seq), different ids.
    """
    if held.feed != event.feed or held.seq != event.seq:
        raise LocalProtocolError("is_duplicate compares events of one (feed, seq)")
    if held.id != event.id:
        raise ForkError(
            f"a second event for {event.feed} seq {event.seq}",
            field_path="seq",
            event_id=event.id,
        )
    return True


def verify_link(previous: Event | None, event: Event) -> None:
    """Check that ``event`` continues a feed whose head is ``previous``.

    When ``previous`` is at the same seq as ``event`` (the receiver already
    holds that position), the event must be the same one, else it is a fork.

    Args:
        previous: The receiver's head of the feed, or ``None`` when it holds none.
        event: The event received, already verified.

    Raises:
        LocalProtocolError: ``previous`` belongs to another feed.
        SeqGapError: ``event.seq`` is not one past the head.
        PrevMismatchError: ``event.prev`` is not the head's id.
        ForkError: A different event for a position already held.
    """
    if previous is not None and previous.feed != event.feed:
        raise LocalProtocolError("previous event belongs to another feed")
    if previous is not None and previous.seq == event.seq:
        is_duplicate(previous, event)
        return
    expected_seq, expected_prev = link(previous)
    if event.seq != expected_seq:
        raise SeqGapError(
            f"seq {event.seq} does not follow the head at {expected_seq - 1}",
            field_path="seq",
            event_id=event.id,
        )
    if event.prev != expected_prev:
        raise PrevMismatchError(
            f"prev does not name event {expected_seq - 1} of the feed",
            field_path="prev",
            event_id=event.id,
        )


def verify_chain(events: Iterable[Event], previous: Event | None = None) -> None:
    """Check that events continue one another, starting after ``previous``.

    Args:
        events: Events of one feed, in order.
        previous: The head they must continue, or ``None`` to start at seq 1.

    Raises:
        ChainError: The first break found (gap, wrong prev or fork).
    """
    head = previous
    for event in events:
        verify_link(head, event)
        head = event
