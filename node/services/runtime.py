"""The running node: its stores, writer, read models and the services on them.

:class:`NodeServices` is the composition root that the HTTP app and the
command line share. It opens everything from :class:`~node.config.Settings`,
starts the projector, and offers the commands and queries handlers call.
Blocking work never runs on the event loop: writes go through the
:class:`~node.storage.writer.Writer` thread, reads through ``self.reads``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import orjson

from node import __version__
from node.config import Settings
from node.errors import (
    CatchingUpError,
    ForbiddenError,
    NotFoundError,
    UnauthorisedError,
)
from node.federation.sync import Federation, SyncOptions
from node.projections import Group, ReadModels
from node.projections.groups import NearGroupsPage, list_groups_near
from node.projections.runner import Projector
from node.projections.search import SearchPage, TypeFilter
from node.services.accounts import Accounts
from node.services.campaigns import Campaigns
from node.services.casework import Casework
from node.services.clock import Clock, system_clock
from node.services.delegates import Delegates
from node.services.ideas import Ideas
from node.services.knowhow import KnowHow
from node.services.leadership import Leadership
from node.services.meetings import Meetings
from node.services.metrics import Metrics
from node.services.mutualaid import MutualAid
from node.services.network import NetworkQueries
from node.services.networks import Networks
from node.services.places import NearQuery, Places
from node.services.pledges import Pledges
from node.services.rsvps import Rsvps
from node.services.setup import FEEDS_DB, RESTORED_MARKER
from node.services.validation import body_validator
from node.storage.feeds import Logged
from node.storage.feeds_pg import open_feed_store
from node.storage.keyfile import load_key_file
from node.storage.leader import open_leader_lock
from node.storage.private import PrivateStore, TokenGrant
from node.storage.writer import Writer
from protocol import (
    Event,
    FeedId,
    Forks,
    Heads,
    JsonObject,
    JsonValue,
    MalformedError,
    NodeInfo,
    Notify,
    Peers,
    SigningKey,
    canonical,
)

__all__ = ["FEEDS_DB", "READMODELS_DB", "RESTORED_MARKER", "NodeServices"]

logger = logging.getLogger(__name__)

READMODELS_DB = "readmodels.db"

P = ParamSpec("P")
R = TypeVar("R")


class NodeServices:
    """Everything a running node holds, and what may be asked of it."""

    def __init__(
        self,
        settings: Settings,
        key: SigningKey,
        *,
        clock: Clock = system_clock,
    ) -> None:
        """Open the stores of ``settings.data_dir`` (blocking)."""
        self.settings = settings
        self.key = key
        self.clock = clock
        self.validator = body_validator()
        self.metrics = Metrics()
        self.store = open_feed_store(settings)
        self.private = PrivateStore.open(settings)
        self.readmodels = ReadModels.open(settings)
        self.projector = Projector(
            self.store,
            self.readmodels,
            self.validator,
            poll_seconds=settings.projection_poll_seconds,
        )
        self.writer = Writer(self.store, key, clock)
        self.writer.add_listener(self._stored)
        self.network = NetworkQueries(self.store)
        self.federation = Federation(
            store=self.store,
            writer=self.writer,
            own_feed=key.feed,
            options=SyncOptions(
                own_url=settings.url,
                interval=settings.sync_interval,
                concurrency=settings.sync_concurrency,
                max_feeds=settings.max_feeds,
                max_feed_bytes=settings.max_feed_bytes,
                notify=settings.notify_peers,
                allow_private=settings.allow_private_peers,
            ),
            metrics=self.metrics,
            clock=clock,
            offload=self.read,
            on_caught_up=self._caught_up,
            is_catching_up=lambda: self.catching_up,
        )
        self.reads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="read")
        self.accounts = Accounts(
            self.private,
            clock=clock,
            offload=self.read,
            url=settings.url,
            bearer=self.authenticate,
        )
        # The domain services, each given this node (docs/architecture.md).
        self.meetings = Meetings(self)
        self.campaigns = Campaigns(self)
        self.networks = Networks(self)
        self.places = Places(self)
        self.ideas = Ideas(self)
        self.delegates = Delegates(self)
        self.knowhow = KnowHow(self)
        self.mutualaid = MutualAid(self)
        self.pledges = Pledges(self)
        self.casework = Casework(self)
        self.rsvps = Rsvps(self)
        self.leadership = Leadership(self, open_leader_lock(settings))
        self.writer.add_listener(self.leadership.stored)
        self.catching_up = self.must_catch_up()
        head = self.store.head(key.feed)
        self.metrics.own_seq.set(head.seq if head else 0)
        self.metrics.projected_position.set_function(lambda: self.projector.position)
        self.metrics.log_position.set(self.store.max_position())

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = system_clock) -> NodeServices:
        """Open the node of a data directory that ``init`` made."""
        return cls(settings, load_key_file(settings.key_path), clock=clock)

    def must_catch_up(self) -> bool:
        """Whether the own feed must be caught up from a peer before publishing."""
        marker = self.settings.path(RESTORED_MARKER)
        if self.settings.authoritative:
            marker.unlink(missing_ok=True)
            return False
        # After a restore, or when the key is older than the database (the own
        # feed is missing), peers may hold later events of ours: publishing now
        # could fork the feed (docs/architecture.md#catching-up).
        return marker.exists() or self.store.head(self.key.feed) is None

    def _stored(self, stored: list[Logged]) -> None:
        self.projector.wake()
        self.metrics.stored.inc(len(stored))
        self.metrics.log_position.set(stored[-1].position)
        own = [item.event.seq for item in stored if item.event.feed == self.key.feed]
        if own:
            self.metrics.own_seq.set(max(own))

    def start(self) -> None:
        """Start background work (the projector thread)."""
        self.projector.start()

    async def start_network(self, seed_peers: Sequence[str] = ()) -> None:
        """Start this worker's background work; lead (and sync) if it may.

        Syncing with the operator's seed peers and the automatic decisions
        run in the leading worker only (:mod:`node.services.leadership`).
        """
        await self.rsvps.begin()
        await self.pledges.begin()
        self.ideas.begin()
        await self.leadership.start(seed_peers)

    async def stop_network(self) -> None:
        """Stop syncing and leading (before :meth:`close`)."""
        await self.leadership.stop()
        await self.ideas.stop()

    def _caught_up(self) -> None:
        self.catching_up = False
        self.settings.path(RESTORED_MARKER).unlink(missing_ok=True)

    def close(self) -> None:
        """Finish pending writes and projections, then close every store."""
        self.writer.close()
        self.projector.stop()
        self.reads.shutdown(wait=True)
        self.store.close()
        self.private.close()
        self.readmodels.close()

    async def settled(self, timeout: float = 3.0) -> bool:  # noqa: ASYNC109
        """Wait at most ``timeout`` seconds for the read models to hold all.

        A command acting on a thing it looks up in a read model settles first
        when the lookup misses, so an event stored a moment ago (by sync or a
        publish) is not refused as unknown; a page settles after a change, so
        the page it leads to shows it.

        Returns:
            Whether the read models caught up in time.
        """
        position = await self.read(self.store.max_position)
        self.projector.wake()  # another worker may have stored it: look now
        return await self.projector.caught_up(position, timeout)

    async def read(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking read in the read pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.reads, lambda: fn(*args, **kwargs))

    # --- queries ---------------------------------------------------------

    async def health(self) -> JsonObject:
        """``/health``: the node answers, with its own feed and head seq."""
        head = await self.read(self.store.head, self.key.feed)
        return {"status": "ok", "feed": self.key.feed, "seq": head.seq if head else 0}

    async def list_events(
        self, *, feed: str | None, event_type: str | None, after: int, limit: int
    ) -> JsonObject:
        """``GET /api/v1/events``: public events in the order this node stored them."""
        page = await self.read(
            self.readmodels.list_events, feed, event_type, after, limit
        )
        blocked = await self.read(self.store.federation.blocked)
        items: list[JsonValue] = []
        for item in page.items:
            if item.feed in blocked:
                continue
            wire = orjson.loads(item.wire)
            wire["id"] = item.id
            wire["position"] = item.position
            items.append(wire)
        return {"events": items, "next": page.next}

    async def get_event(self, event_id: str) -> Event:
        """One event held, by id.

        Raises:
            NotFoundError: No such event is held.
        """
        event = await self.read(self.store.get, event_id)
        if event is None or event.feed in await self.read(
            self.store.federation.blocked
        ):
            raise NotFoundError(f"no event {event_id} is held here")
        return event

    async def search(
        self,
        query: str,
        limit: int,
        *,
        types: Sequence[str] = (),
        near: NearQuery | None = None,
        after: str | None = None,
    ) -> JsonObject:
        """``GET /api/v1/search``: ``{"results": [...], "next": cursor}``.

        Args:
            query: The member's words (never search syntax).
            limit: The page size, 1..100.
            types: ``type`` filters: type names or families (``meeting``).
            near: Only events whose place lies near this, when given.
            after: The previous page's ``next``.

        Returns:
            Hits ``{type, feed, seq, id, title, snippet}``, best first.

        Raises:
            MalformedError: A bad type filter or cursor.
            NotFoundError: The near place or group is not known here.
        """
        type_filter = TypeFilter.parse(types)
        point = await self.places.resolve(near)
        blocked = await self.read(self.store.federation.blocked)
        page: SearchPage = await self.read(
            self.readmodels.search_page,
            query,
            types=type_filter,
            near=point,
            blocked=blocked,
            limit=limit,
            after=after,
        )
        hits: list[JsonValue] = [dataclasses.asdict(hit) for hit in page.results]
        return {"results": hits, "next": page.next}

    async def list_groups(
        self,
        *,
        query: str | None,
        tag: str | None,
        limit: int,
        after: str | None = None,
        near: NearQuery | None = None,
    ) -> dict[str, object]:
        """The directory of groups, by name, or nearest first near a point.

        Near a point, each group also has ``distance_km`` (a number).

        Raises:
            MalformedError: A cursor this node did not hand out.
            NotFoundError: The near place or group is not known here.
        """
        point = await self.places.resolve(near)
        blocked = await self.read(self.store.federation.blocked)
        if point is None:
            page = await self.read(
                self.readmodels.list_groups, query, tag, limit, after
            )
            groups: list[object] = [
                _group(group) for group in page.items if group.feed not in blocked
            ]
            return {"groups": groups, "next": page.next}
        nearby: NearGroupsPage = await self.read(
            self.readmodels.query, list_groups_near, point, query, tag, limit, after
        )
        groups = [
            {**_group(item.group), "distance_km": round(item.distance_km, 3)}
            for item in nearby.items
            if item.group.feed not in blocked
        ]
        return {"groups": groups, "next": nearby.next}

    async def get_group(self, feed: str) -> JsonObject:
        """``GET /api/v1/groups/{feed}``: one group of the directory.

        Raises:
            NotFoundError: No profile of that feed is held, or it is blocked.
        """
        group = await self.read(self.readmodels.get_group, feed)
        if group is None or feed in await self.read(self.store.federation.blocked):
            raise NotFoundError(f"no group {feed} is held here")
        return _group(group)

    # --- federation ------------------------------------------------------

    async def info(self, challenge: str) -> NodeInfo:
        """``/fed/v1/info``: who this node is, signing the caller's challenge."""
        group = await self.read(self.readmodels.get_group, self.key.feed)
        return NodeInfo.signed(
            self.key,
            challenge,
            name=group.name if group else "",
            url=self.settings.url,
            software="tredegar",
            version=__version__,
            time=self.clock(),
        )

    async def heads(self, since: str | None) -> Heads:
        """``/fed/v1/heads``."""
        heads: Heads = await self.read(self.network.heads, since)
        return heads

    async def feed_lines(self, feed: FeedId, after: int, limit: int) -> list[bytes]:
        """``/fed/v1/feeds/{feed}``: canonical wire lines."""
        lines: list[bytes] = await self.read(
            self.network.feed_lines, feed, after, limit
        )
        return lines

    async def notified(self, message: Notify) -> None:
        """``/fed/v1/notify``: only a hint to pull from the sender soon."""
        await self.leadership.hint(message.url)

    async def known_peers(self) -> Peers:
        """``/fed/v1/peers``."""
        peers: Peers = await self.read(self.network.peers)
        return peers

    async def forks(self) -> Forks:
        """``/fed/v1/forks``."""
        forks: Forks = await self.read(self.network.forks)
        return forks

    # --- commands --------------------------------------------------------

    async def authenticate(self, authorization: str | None) -> TokenGrant:
        """Check an ``Authorization: Bearer …`` header.

        Raises:
            UnauthorisedError: Missing, malformed, unknown or revoked token.
        """
        if not authorization:
            raise UnauthorisedError("send an API token: Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorisedError(
                "use the Bearer scheme: Authorization: Bearer <token>"
            )
        grant = await self.read(self.private.authenticate, token.strip())
        if grant is None:
            raise UnauthorisedError("the token is not valid or was revoked")
        return grant

    async def publish(self, grant: TokenGrant, request: JsonValue) -> Event:
        """Sign and store an event of the own feed for an organiser.

        Args:
            grant: Who asks.
            request: The decoded request body, ``{"type": …, "body": {…}}``.

        Returns:
            The stored event, once durable.

        Raises:
            ForbiddenError: Not an organiser.
            CatchingUpError: The own feed must first be caught up from a peer.
            MalformedError, UnknownEventTypeError, SchemaViolationError,
            TooLargeError, NonCanonicalError: The request is refused.
        """
        if grant.role != "organiser":
            raise ForbiddenError("only organisers publish to the group's feed")
        event_type, body = _publish_request(request)
        return await self.publish_on_behalf(grant, event_type, body)

    async def publish_on_behalf(
        self, grant: TokenGrant | None, event_type: str, body: JsonObject
    ) -> Event:
        """Sign and store an event of the own feed that a service decided on.

        What :meth:`publish` does, without its organiser-only check: services
        publish for members (an agenda item, RSVP counts) after their own
        checks. The audit log names who asked.

        Args:
            grant: Who asked, or None for the node itself (e.g. counts
                changed by an erasure).
            event_type: The event type.
            body: The body, checked here against the type's schema.

        Returns:
            The stored event, once durable.

        Raises:
            CatchingUpError: The own feed must first be caught up from a peer.
            UnknownEventTypeError, SchemaViolationError, NonCanonicalError:
                The body is refused.
        """
        canonical.check(body, depth=1)
        self.validator.validate(event_type, body)
        if self.catching_up:
            raise CatchingUpError(
                "this node was restored or lost its feed: it must sync its own feed "
                "from a peer first (or run with --authoritative)"
            )
        event = await self.writer.publish(event_type, body)
        self.metrics.published.inc()
        action = "redacted" if event_type == "event.redacted" else "published"
        try:
            await self.read(
                self.private.record_audit,
                "node" if grant is None else str(grant.account_id),
                action,
                event.id,
                now=self.clock(),
            )
        except Exception:  # the event is stored and signed: answer all the same
            logger.exception(
                "could not record %s of %s in the audit log", action, event.id
            )
        return event

    @property
    def version(self) -> str:
        """The software version."""
        return __version__


def _group(group: Group) -> JsonObject:
    value: JsonObject = dataclasses.asdict(group)
    value["tags"] = list(group.tags)
    return value


def _publish_request(request: JsonValue) -> tuple[str, JsonObject]:
    if not isinstance(request, dict) or set(request) != {"type", "body"}:
        raise MalformedError('send a JSON object {"type": …, "body": {…}}')
    event_type, body = request["type"], request["body"]
    if not isinstance(event_type, str):
        raise MalformedError("type must be text", field_path="type")
    if not isinstance(body, dict):
        raise MalformedError("body must be a JSON object", field_path="body")
    return event_type, body
