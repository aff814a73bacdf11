"""Creating a node: key, private-data key, first event and first organiser."""

from __future__ import annotations

from dataclasses import dataclass

from node.config import Settings
from node.errors import ConflictError
from node.services.accounts import password_link
from node.services.clock import Clock, system_clock
from node.services.validation import body_validator
from node.storage.backend import is_postgres, postgres_target
from node.storage.feeds_pg import open_feed_store
from node.storage.keyfile import create_key_file
from node.storage.private import PrivateStore, create_encryption_key
from protocol import Event, FeedId, JsonObject, sign

__all__ = ["Initialised", "initialise"]

FEEDS_DB = "feeds.db"
#: A file in the data directory saying the node was restored from a backup
#: and must catch up its own feed from a peer before it publishes.
RESTORED_MARKER = "restored"


@dataclass(frozen=True, slots=True)
class Initialised:
    """What ``init`` made: the feed, the profile event and an organiser token."""

    feed: FeedId
    profile: Event
    token: str
    #: The first organiser's one-time link to choose a login and password.
    password_link: str = ""


def initialise(
    settings: Settings,
    profile: JsonObject,
    *,
    organiser: str = "First organiser",
    clock: Clock = system_clock,
) -> Initialised:
    """Create a node in ``settings.data_dir`` (which must hold none).

    Args:
        settings: The new node's settings.
        profile: The body of its first event, ``group.profile_set``.
        organiser: The first organiser's display name.
        clock: The clock.

    Returns:
        The feed id, profile event, organiser's token and password link.

    Raises:
        SchemaViolationError: The profile is not a valid ``group.profile_set``.
        ConflictError: A key already exists.
    """
    body_validator().validate("group.profile_set", profile)
    _check_database_is_new(settings)
    key = create_key_file(settings.key_path)
    create_encryption_key(settings.encryption_key_path)
    event = sign(key, None, clock(), "group.profile_set", profile)
    store = open_feed_store(settings)
    try:
        store.append([event])
    finally:
        store.close()
    private = PrivateStore.open(settings)
    try:
        now = clock()
        account = private.members.create(organiser, "organiser", now=now)
        issued = private.issue_token(
            account, "organiser", label="created by init", now=now
        )
        private.record_audit("cli", "published", event.id, now=now)
        link = password_link(private, settings.url, now=now, account_id=account)
    finally:
        private.close()
    return Initialised(key.feed, event, issued.token, link)


def _check_database_is_new(settings: Settings) -> None:
    """Refuse a PostgreSQL schema that already holds a node's events."""
    if not is_postgres(settings):
        return  # a new data directory has new files
    store = open_feed_store(settings)
    try:
        held = store.max_position()
    finally:
        store.close()
    if held:
        raise ConflictError(
            f"{postgres_target(settings.database_url).describe()} already holds "
            "a node's events: give each node its own database or schema"
        )
