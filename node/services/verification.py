"""Re-verifying everything stored: signatures, body hashes, chains, redactions.

``tredegar verify`` reads every stored row as it is on disk and checks it as a
peer would check it on the wire, so a byte changed by hand anywhere in a
header or body is reported with its feed and seq.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from node.storage.feeds import SqliteFeedStore, StoredRow
from protocol import (
    Event,
    ProtocolError,
    decode_event,
    verify,
    verify_body,
    verify_link,
)

__all__ = ["Problem", "verify_store"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a stored event."""

    feed: str
    seq: int
    code: str
    message: str


def verify_store(store: SqliteFeedStore) -> Iterator[Problem | int]:
    """Check every stored event; yield each problem, and a count per 1,000 rows.

    Args:
        store: The feed store to check.

    Yields:
        :class:`Problem` for every fault found, and the running number of
        rows checked every 1,000 rows (for a progress bar).
    """
    redacted = store.redacted_ids()
    previous: Event | None = None
    count = 0
    for row in store.iter_stored():
        if previous is not None and previous.feed != row.feed:
            previous = None
        event, problem = _check_row(row, previous, redacted)
        if problem is not None:
            yield problem
        previous = event
        count += 1
        if count % 1000 == 0:
            yield count
    yield count


def _check_row(
    row: StoredRow, previous: Event | None, redacted: set[str]
) -> tuple[Event | None, Problem | None]:
    def problem(code: str, message: str) -> tuple[Event | None, Problem]:
        return event, Problem(row.feed, row.seq, code, message)

    event: Event | None = None
    try:
        event = decode_event(row.header)
        if event.signed_header_bytes() != row.header:
            return problem("non-canonical", "the stored header is not canonical text")
        if (event.feed, event.seq) != (row.feed, row.seq):
            return problem("malformed", "the header names another (feed, seq)")
        verify(event)
        if row.body is not None:
            verify_body(event, row.body)
        elif event.id not in redacted:
            return problem(
                "bad-body-hash", "the body is missing but was never redacted"
            )
        verify_link(previous, event)
    except ProtocolError as error:
        return problem(error.code, error.message)
    return event, None
