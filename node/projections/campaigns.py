"""The campaigns read model: campaigns and what other events say about them.

A ``campaign.launched`` is a campaign; its event id is the campaign's id and
its feed the owner. Every other campaign event names the campaign by id and
may come from any feed, in any order: it is stored keyed by its own id and
indexed by the campaign it names (:mod:`.campaigns_sql`), and who counts is
decided when a query reads it:

- ``campaign.co_owner_added`` counts only from the owner's feed.
- ``campaign.updated``, ``campaign.action_called`` and
  ``campaign.outcome_declared`` count from the owner and its co-owners (the
  schema lets a co-owner declare the outcome too: the campaign is theirs
  together). An update from a feed that is not (yet) a co-owner stays stored
  and shows once the owner's ``co_owner_added`` is held. An update's
  ``demands`` replace the campaign's (the latest by ``ts`` wins); its
  ``title`` is the update's headline, never the campaign's.
- ``campaign.endorsed`` counts from any feed but the owner's, once per feed:
  its latest endorsement.
- The latest outcome (by ``ts``, then id) decides the status: ``live``
  without one, else its value.

A redaction deletes the row its target made: a redacted launch hides the
campaign (what refers to it stays stored, unseen), a redacted update,
endorsement or outcome no longer counts. Blocked feeds are left out of every
answer; they are passed in by the caller, never stored here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from node.projections import campaigns_sql as sql
from node.projections.fields import (
    decode_ts_cursor,
    encode_cursor,
)
from node.projections.fields import (
    integer as _integer,
)
from node.projections.fields import (
    mapping as _object,
)
from node.projections.fields import (
    text as _text,
)
from node.projections.geo import Near
from node.projections.model import Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import Event, JsonObject

__all__ = [
    "MAX_PAGE",
    "STATUSES",
    "TARGET_KINDS",
    "CampaignFilters",
    "CampaignRecord",
    "CampaignsPage",
    "apply",
    "create",
    "finish",
    "get_campaign",
    "list_campaigns",
    "reset",
]

#: The largest page of the listing.
MAX_PAGE = 200
LAUNCH_TYPE = "campaign.launched"
#: The referring event types and the kind of row each makes.
_KINDS = {
    "campaign.updated": "update",
    "campaign.action_called": "action",
    "campaign.endorsed": "endorsement",
    "campaign.co_owner_added": "co_owner",
    "campaign.outcome_declared": "outcome",
}
OUTCOMES = ("won", "partly_won", "lost", "dropped")
#: The values of the ``status`` filter.
STATUSES = ("live", "ended", *OUTCOMES)
#: The target kinds of ``campaign.launched``.
TARGET_KINDS = (
    "council",
    "landlord",
    "company",
    "employer",
    "government",
    "public_body",
    "other",
)
_START_TS = 2**62
_MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class CampaignFilters:
    """What a campaigns listing is narrowed by; None leaves a filter out.

    Attributes:
        status: ``live`` (no outcome), ``ended`` (any outcome) or an outcome.
        area: Text the area contains, in any case.
        target: Text the target's name contains, in any case.
        target_kind: The target's kind, exactly.
        tag: A tag the campaign has.
        q: Words that must all appear in the title, demands, target or story.
        feed: The owner or a co-owner.
        network: A network id: campaigns naming it, or (with the member feeds
            the caller passes) owned by one of its member groups.
    """

    status: str | None = None
    area: str | None = None
    target: str | None = None
    target_kind: str | None = None
    tag: str | None = None
    q: str | None = None
    feed: str | None = None
    network: str | None = None


def create(cursor: Cursor) -> None:
    """Create the campaigns tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid campaign event; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE_CAMPAIGN, (target, event.feed))
        cursor.execute(sql.DELETE_REF, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    if event.type == LAUNCH_TYPE:
        _insert_campaign(cursor, item.position, event, event.body)
    elif (kind := _KINDS.get(event.type)) is not None:
        body = event.body
        value = body.get("co_owner") if kind == "co_owner" else body.get("outcome")
        cursor.execute(
            sql.INSERT_REF,
            (
                event.id,
                item.position,
                body["campaign"],
                event.feed,
                kind,
                event.ts,
                value if isinstance(value, str) else None,
                orjson.dumps(body).decode(),
            ),
        )


def _insert_campaign(
    cursor: Cursor, position: int, event: Event, body: JsonObject
) -> None:
    target = _object(body, "target")
    place = _object(body, "place")
    demands = body.get("demands")
    title, target_name = _text(body, "title") or "", _text(target, "name") or ""
    description, area = _text(body, "description"), _text(body, "area")
    words = [title, target_name, description or "", area or ""]
    words += (
        [d for d in demands if isinstance(d, str)] if isinstance(demands, list) else []
    )
    cursor.execute(
        sql.INSERT_CAMPAIGN,
        {
            "id": event.id,
            "position": position,
            "feed": event.feed,
            "ts": event.ts,
            "title": title,
            "target_name": target_name,
            "target_kind": _text(target, "kind"),
            "demands": orjson.dumps(demands or []).decode(),
            "description": description,
            "area": area,
            "place_name": _text(place, "name"),
            "lat_e6": _integer(place, "lat_e6"),
            "lon_e6": _integer(place, "lon_e6"),
            "tags": orjson.dumps(body.get("tags") or []).decode(),
            "url": _text(body, "url"),
            "network": _text(body, "network"),
            "area_fold": (area or "").casefold(),
            "target_fold": target_name.casefold(),
            "match_text": "\n".join(words).casefold(),
        },
    )


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the campaigns tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


# -- queries ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A held campaign and every stored event that names it.

    Attributes:
        campaign: Its row (the columns of ``campaigns_sql.CREATE``).
        refs: The rows of the events naming it, oldest first (``ts``, then
            id), none from or naming a blocked feed: who counts is decided by
            the rules in this module's docstring
            (:mod:`node.services.campaigns` applies them).
        names: The group name of every feed involved, None when no profile is
            held.
        distance_km: From the listing's near point, when it had one.
    """

    campaign: sqlite3.Row
    refs: tuple[sqlite3.Row, ...]
    names: dict[str, str | None]
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class CampaignsPage:
    """A page of campaigns, newest launch first.

    Attributes:
        items: The campaigns.
        next: An opaque cursor for the next page; None when this is the last.
    """

    items: list[CampaignRecord]
    next: str | None


def list_campaigns(
    cursor: Cursor,
    filters: CampaignFilters,
    *,
    blocked: Iterable[str] = (),
    network_groups: Sequence[str] = (),
    near: Near | None = None,
    limit: int = 50,
    after: str | None = None,
) -> CampaignsPage:
    """List campaigns, newest launch first (``ts``, then id).

    Args:
        cursor: A read cursor.
        filters: What to narrow the listing by.
        blocked: Feeds to leave out.
        network_groups: With ``filters.network``, the network's member feeds.
        near: Only campaigns whose place lies within this radius.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_ts, after_id = _decode_cursor(after) if after else (_START_TS, "")
    skip = frozenset(blocked)
    params = _params(filters, skip, network_groups, near, size)
    found: list[CampaignRecord] = []
    while len(found) < size:
        cursor.execute(
            sql.LIST_CAMPAIGNS, {**params, "after_ts": after_ts, "after_id": after_id}
        )
        rows = cursor.fetchall()
        for row in rows:
            after_ts, after_id = row["ts"], row["id"]
            if near is None or near.holds(row["lat_e6"], row["lon_e6"]):
                found.append(_record(cursor, row, skip, near))
            if len(found) == size:
                break
        if len(rows) < size:
            break
    last = found[-1].campaign if len(found) == size else None
    return CampaignsPage(found, _encode_cursor(last) if last else None)


def _params(
    filters: CampaignFilters,
    blocked: frozenset[str],
    network_groups: Sequence[str],
    near: Near | None,
    size: int,
) -> dict[str, object]:
    words = (filters.q or "").casefold().split()[:_MAX_WORDS]
    box = near.box() if near is not None else None
    return {
        "blocked": orjson.dumps(sorted(blocked)).decode(),
        "status": filters.status,
        "area": filters.area.casefold() if filters.area else None,
        "target": filters.target.casefold() if filters.target else None,
        "target_kind": filters.target_kind,
        "tag": filters.tag,
        "words": orjson.dumps(words).decode(),
        "feed": filters.feed,
        "network": filters.network,
        "network_groups": orjson.dumps(list(network_groups)).decode(),
        "min_lat": box.min_lat_e6 if box else None,
        "max_lat": box.max_lat_e6 if box else None,
        "min_lon": box.min_lon_e6 if box else None,
        "max_lon": box.max_lon_e6 if box else None,
        "limit": size,
    }


def get_campaign(
    cursor: Cursor, campaign_id: str, *, blocked: Iterable[str] = ()
) -> CampaignRecord | None:
    """One campaign and every event that names it.

    Args:
        cursor: A read cursor.
        campaign_id: The event id of its ``campaign.launched``.
        blocked: Feeds to leave out.

    Returns:
        The campaign, or None when it is not held, redacted or its owner is
        blocked.
    """
    skip = frozenset(blocked)
    cursor.execute(
        sql.GET_CAMPAIGN,
        {"id": campaign_id, "blocked": orjson.dumps(sorted(skip)).decode()},
    )
    row = cursor.fetchone()
    return None if row is None else _record(cursor, row, skip, None)


def _record(
    cursor: Cursor, row: sqlite3.Row, blocked: frozenset[str], near: Near | None
) -> CampaignRecord:
    cursor.execute(sql.SELECT_REFS, (row["id"],))
    refs = tuple(
        ref
        for ref in cursor.fetchall()
        if ref["feed"] not in blocked and ref["value"] not in blocked
    )
    names: dict[str, str | None] = {}
    for feed in (row["feed"], *(r["feed"] for r in refs), *(r["value"] for r in refs)):
        if feed is not None and feed not in names and feed.startswith("ed25519:"):
            cursor.execute(sql.GROUP_NAME, (feed,))
            group = cursor.fetchone()
            names[feed] = None if group is None else group["name"]
    distance = None
    if near is not None:
        distance = near.distance_to(row["lat_e6"], row["lon_e6"])
    return CampaignRecord(row, refs, names, distance)


def _encode_cursor(row: sqlite3.Row) -> str:
    return encode_cursor(row["ts"], row["id"])


def _decode_cursor(text: str) -> tuple[int, str]:
    return decode_ts_cursor(text, "a campaigns cursor")
