"""``tredegar peers add|remove|list|block|unblock``.

These write the peer and block tables in ``feeds.db``; a running node reads
them every sync round, so a change takes effect within one round, without a
restart.
"""

from __future__ import annotations

import argparse
from typing import Any

from node.cli.output import emit, settings_for
from node.errors import NotFoundError
from node.services.clock import system_clock
from node.storage.federation import OPERATOR
from node.storage.feeds import SqliteFeedStore
from node.storage.feeds_pg import open_feed_store
from protocol import MalformedError, parse_feed_id, parse_url

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``peers`` and its subcommands."""
    peers = commands.add_parser("peers", help="the peers this node syncs with")
    actions = peers.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="sync with a peer")
    add.add_argument("url", help="the peer's public URL")
    add.set_defaults(handler=add_peer)
    remove = actions.add_parser("remove", parents=[common], help="forget a peer")
    remove.add_argument("url")
    remove.set_defaults(handler=remove_peer)
    listing = actions.add_parser(
        "list", parents=[common], help="each peer's state and last error"
    )
    listing.set_defaults(handler=list_peers)
    block = actions.add_parser(
        "block",
        parents=[common],
        help="stop replicating, serving and showing a feed or peer",
    )
    block.add_argument("target", help="a feed id (ed25519:…) or a peer URL")
    block.set_defaults(handler=block_target)
    unblock = actions.add_parser("unblock", parents=[common], help="undo a block")
    unblock.add_argument("target")
    unblock.set_defaults(handler=unblock_target)


def _store(args: argparse.Namespace) -> SqliteFeedStore:
    settings = settings_for(args)
    if not settings.key_path.exists():
        raise NotFoundError(f"no node in {settings.data_dir}")
    return open_feed_store(settings)


def add_peer(args: argparse.Namespace) -> int:
    """Remember a peer the operator trusts to dial."""
    url = parse_url(args.url)
    store = _store(args)
    try:
        is_new = store.federation.add_peer(url, origin=OPERATOR, now=system_clock())
    finally:
        store.close()
    emit(
        args,
        {"url": url, "added": is_new},
        f"{'added' if is_new else 'already a peer:'} {url}",
    )
    return 0


def remove_peer(args: argparse.Namespace) -> int:
    """Forget a peer."""
    store = _store(args)
    try:
        removed = store.federation.remove_peer(parse_url(args.url))
    finally:
        store.close()
    if not removed:
        raise NotFoundError(f"{args.url} is not a peer")
    emit(args, {"removed": True}, f"removed {args.url}")
    return 0


def list_peers(args: argparse.Namespace) -> int:
    """Each peer's state: up or backing off, last seen, last error."""
    store = _store(args)
    try:
        peers = store.federation.peers()
        blocks = store.federation.blocks()
    finally:
        store.close()
    now = system_clock()
    rows = [
        {
            "url": p.url,
            "feed": p.feed,
            "origin": p.origin,
            "state": "backing off"
            if p.next_attempt > now
            else "up"
            if p.last_seen
            else "new",
            "last_seen": p.last_seen,
            "failures": p.failures,
            "last_error": p.last_error,
        }
        for p in peers
    ]
    lines = [
        f"{r['url']}  {r['state']:<11}  {r['origin']:<8}  failures {r['failures']}"
        + (f"  last error: {r['last_error']}" if r["last_error"] else "")
        for r in rows
    ]
    lines += [f"blocked {b.kind}: {b.value}" for b in blocks]
    emit(
        args,
        {
            "peers": rows,
            "blocked": [{"kind": b.kind, "value": b.value} for b in blocks],
        },
        "\n".join(lines) or "no peers",
    )
    return 0


def _target(text: str) -> tuple[str, str]:
    if text.startswith("ed25519:"):
        return parse_feed_id(text), "feed"
    try:
        return parse_url(text), "peer"
    except MalformedError:
        raise MalformedError(f"{text!r} is neither a feed id nor a peer URL") from None


def block_target(args: argparse.Namespace) -> int:
    """Block a feed or a peer (kept across restarts)."""
    value, kind = _target(args.target)
    store = _store(args)
    try:
        store.federation.block(value, kind, now=system_clock())
    finally:
        store.close()
    emit(args, {"blocked": value, "kind": kind}, f"blocked {kind} {value}")
    return 0


def unblock_target(args: argparse.Namespace) -> int:
    """Undo a block."""
    value, _ = _target(args.target)
    store = _store(args)
    try:
        if not store.federation.unblock(value):
            raise NotFoundError(f"{value} is not blocked")
    finally:
        store.close()
    emit(args, {"unblocked": value}, f"unblocked {value}")
    return 0
