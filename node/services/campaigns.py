"""The campaigns service: the campaigns listing and a campaign's page.

Queries run in the node's read pool against the campaigns read model
(:mod:`node.projections.campaigns`), with the feeds the operator blocked left
out and a "near" filter resolved to a point first. A listing narrowed to a
network takes the network's member groups from :class:`~.networks.Networks`.

The read model hands back a campaign with every event that names it; this
module applies the rules of who counts (the model's docstring states them):
co-owners are those the owner added; updates, actions and outcomes count
from the owner and co-owners; an endorsement counts once per feed, its
latest, never the owner's own. The model's ``status`` filter applies the
same rules in SQL.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, cast

import orjson

from node.errors import NotFoundError
from node.projections import campaigns
from node.projections.campaigns import CampaignFilters, CampaignRecord
from node.services.places import NearQuery
from protocol import JsonObject, JsonValue

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["CampaignFilters", "Campaigns", "campaign_detail", "campaign_item"]


class Campaigns:
    """The campaigns queries of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def list_campaigns(
        self,
        filters: CampaignFilters,
        *,
        near: NearQuery | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """List campaigns held, newest launch first (``GET /api/v1/campaigns``).

        Args:
            filters: What to narrow the listing by. With ``network``, the
                campaigns naming that network and those its member groups own.
            near: Only campaigns whose place lies within this radius.
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"campaigns": [...], "next": cursor or None}``, each campaign as
            :func:`campaign_item` shapes it.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
            NotFoundError: The near filter names a place or group not known.
        """
        node = self.node
        point = await node.places.resolve(near)
        groups: tuple[str, ...] = ()
        if filters.network is not None:
            groups = await node.networks.member_feeds(filters.network)
        blocked = await node.read(node.store.federation.blocked)
        page = await node.read(
            lambda: node.readmodels.query(
                campaigns.list_campaigns,
                filters,
                blocked=blocked,
                network_groups=groups,
                near=point,
                limit=limit,
                after=after,
            )
        )
        items: list[JsonValue] = [campaign_item(record) for record in page.items]
        return {"campaigns": items, "next": page.next}

    async def get_campaign(self, campaign_id: str) -> JsonObject:
        """One campaign with its updates, actions, endorsements and outcome.

        Args:
            campaign_id: The event id of its ``campaign.launched``.

        Returns:
            The campaign as :func:`campaign_detail` shapes it.

        Raises:
            NotFoundError: Not held, redacted, or launched by a blocked feed.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        found = await node.read(
            lambda: node.readmodels.query(
                campaigns.get_campaign, campaign_id, blocked=blocked
            )
        )
        if found is None:
            raise NotFoundError(f"no campaign {campaign_id} is held here")
        return campaign_detail(found)


def campaign_item(record: CampaignRecord) -> JsonObject:
    """A campaign as listings show it.

    Args:
        record: The campaign and the events naming it.

    Returns:
        ``{id, feed, owner, title, target, demands, description, area, place,
        tags, url, network, status, outcome, launched_at, updated_at,
        endorsements, co_owners}`` (``outcome`` as ``{outcome, story, ts}``,
        or None while live), and ``distance_km`` after a near filter.
    """
    return _Resolved(record).item()


def campaign_detail(record: CampaignRecord) -> JsonObject:
    """A campaign as its own page shows it.

    Args:
        record: The campaign and the events naming it.

    Returns:
        :func:`campaign_item` with ``updates`` (newest first), ``actions``
        (soonest first) and ``endorsed_by`` (newest first).
    """
    return _Resolved(record).detail()


class _Resolved:
    """A campaign with the events that count, by the rules above."""

    def __init__(self, record: CampaignRecord) -> None:
        self.record = record
        self.row = record.campaign
        owner = self.row["feed"]
        self.co_owners: list[str] = []
        for ref in self.of("co_owner"):
            feed = ref["value"]
            if ref["feed"] == owner and feed != owner and feed not in self.co_owners:
                self.co_owners.append(feed)
        self.authors = {owner, *self.co_owners}

    def of(self, kind: str, *, authors_only: bool = False) -> list[sqlite3.Row]:
        return [
            ref
            for ref in self.record.refs
            if ref["kind"] == kind and (not authors_only or ref["feed"] in self.authors)
        ]

    def group(self, feed: str) -> JsonObject:
        return {"feed": feed, "name": self.record.names.get(feed)}

    def endorsements(self) -> list[sqlite3.Row]:
        owner = self.row["feed"]
        latest = {r["feed"]: r for r in self.of("endorsement") if r["feed"] != owner}
        return sorted(latest.values(), key=lambda r: (r["ts"], r["id"]), reverse=True)

    def item(self) -> JsonObject:
        row = self.row
        outcome = self.of("outcome", authors_only=True)
        posted = [
            *self.of("update", authors_only=True),
            *self.of("action", authors_only=True),
            *outcome,
        ]
        demands = orjson.loads(row["demands"])
        for update in self.of("update", authors_only=True):
            demands = orjson.loads(update["body"]).get("demands", demands)
        item: JsonObject = {
            "id": row["id"],
            "feed": row["feed"],
            "owner": self.group(row["feed"]),
            "title": row["title"],
            "target": {"name": row["target_name"], "kind": row["target_kind"]},
            "demands": demands,
            "description": row["description"],
            "area": row["area"],
            "place": _place(row),
            "tags": orjson.loads(row["tags"]),
            "url": row["url"],
            "network": row["network"],
            "status": outcome[-1]["value"] if outcome else "live",
            "outcome": _outcome(outcome[-1]) if outcome else None,
            "launched_at": row["ts"],
            "updated_at": max([row["ts"], *(r["ts"] for r in posted)]),
            "endorsements": len(self.endorsements()),
            "co_owners": [self.group(feed) for feed in self.co_owners],
        }
        if self.record.distance_km is not None:
            # Answers are JSON, not event bodies: a float is fine here.
            item["distance_km"] = cast(JsonValue, round(self.record.distance_km, 1))
        return item

    def detail(self) -> JsonObject:
        answer = self.item()
        updates = self.of("update", authors_only=True)
        actions = self.of("action", authors_only=True)
        answer["updates"] = [_update(r) for r in reversed(updates)]
        answer["actions"] = [
            _action(r) for r in sorted(actions, key=lambda r: (_starts(r), r["id"]))
        ]
        answer["endorsed_by"] = [
            {
                **self.group(r["feed"]),
                "statement": orjson.loads(r["body"]).get("statement"),
                "ts": r["ts"],
            }
            for r in self.endorsements()
        ]
        return answer


def _outcome(ref: sqlite3.Row) -> JsonObject:
    body = orjson.loads(ref["body"])
    return {"outcome": ref["value"], "story": body.get("story"), "ts": ref["ts"]}


def _update(ref: sqlite3.Row) -> JsonObject:
    body = orjson.loads(ref["body"])
    return {
        "id": ref["id"],
        "feed": ref["feed"],
        "title": body.get("title"),
        "text": body.get("text"),
        "url": body.get("url"),
        "demands": body.get("demands"),
        "ts": ref["ts"],
    }


def _action(ref: sqlite3.Row) -> JsonObject:
    body = orjson.loads(ref["body"])
    keys = ("title", "text", "starts_at", "ends_at", "tz", "place", "online_url")
    return {
        "id": ref["id"],
        "feed": ref["feed"],
        **{key: body.get(key) for key in keys},
        "url": body.get("url"),
        "ts": ref["ts"],
    }


def _starts(ref: sqlite3.Row) -> int:
    starts = orjson.loads(ref["body"]).get("starts_at")
    return starts if type(starts) is int else 0


def _place(row: sqlite3.Row) -> JsonObject | None:
    if row["place_name"] is None:
        return None
    return {"name": row["place_name"], "lat_e6": row["lat_e6"], "lon_e6": row["lon_e6"]}
