"""Many signed events in many feeds, signed straight into a data directory.

Signing into the feed store directly (as the tests do) makes 100,000 events
in seconds, where publishing them over HTTP would take minutes. Each feed
alternates guides (searchable text) and meetings (with a place near one of a
few towns, in the coming weeks), so every query scenario finds something.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from node.storage.feeds import SqliteFeedStore
from protocol import Event, JsonObject, SigningKey, sign

__all__ = ["TOWNS", "fill"]

BATCH = 1000
DAY_MS = 86_400_000
#: (latitude, longitude) of a few towns, in micro-degrees.
TOWNS = ((51_772_000, -3_248_000), (53_480_000, -2_242_000), (55_953_000, -3_188_000))
WORDS = [
    "rent",
    "strike",
    "tenants",
    "union",
    "leaflets",
    "rota",
    "canvass",
    "meeting",
    "housing",
    "repairs",
    "councillor",
    "petition",
    "food",
    "bank",
    "bus",
    "route",
    "library",
    "campaign",
    "stall",
    "banner",
]


def body_of(kind: int, n: int, now: int, rng: random.Random) -> tuple[str, JsonObject]:
    """The type and body of the ``n``-th event: a guide or a meeting."""
    text = " ".join(rng.choice(WORDS) for _ in range(12))
    if kind % 2 == 0:
        return "guide.published", {"title": f"Guide {n}", "text": f"guide {text}"}
    lat, lon = rng.choice(TOWNS)
    starts = now + rng.randrange(1, 28) * DAY_MS
    return "meeting.scheduled", {
        "title": f"Meeting {n}: {text[:60]}",
        "kind": "public_meeting",
        "starts_at": starts,
        "ends_at": starts + 7_200_000,
        "tz": "Europe/London",
        "place": {
            "name": f"Hall {n}",
            "lat_e6": lat + rng.randrange(-20_000, 20_000),
            "lon_e6": lon + rng.randrange(-20_000, 20_000),
        },
    }


def fill(feeds_db: Path, *, feeds: int, events: int, seed: int = 8) -> list[Event]:
    """Sign ``events`` events spread over ``feeds`` new feeds into ``feeds_db``.

    Returns:
        Up to 20,000 of the events, in signing order (for baselines).
    """
    rng = random.Random(seed)  # noqa: S311 (sample data, not secrets)
    keys = [SigningKey.generate() for _ in range(feeds)]
    heads: list[Event | None] = [None] * feeds
    now = int(time.time() * 1000)
    store = SqliteFeedStore(feeds_db)
    kept: list[Event] = []
    batch: list[Event] = []
    try:
        for n in range(events):
            index = n % feeds
            event_type, body = body_of(n // feeds, n, now, rng)
            event = sign(keys[index], heads[index], now, event_type, body)
            heads[index] = event
            batch.append(event)
            if len(kept) < 20_000:
                kept.append(event)
            if len(batch) >= BATCH:
                store.append(batch)
                batch = []
        if batch:
            store.append(batch)
    finally:
        store.close()
    return kept
