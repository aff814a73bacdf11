"""Federation between real node processes on loopback (DESIGN §5, issue 4).

Every node is ``tredegar run`` in a subprocess (``conftest.py``), configured
through its ``tredegar.toml`` with a sync round a second; hostile peers are
small aiohttp servers in this process (``hostile.py``). What is shown: ten
nodes seeded one by one find each other and converge; an in-sync round costs
one small answer with 1,000 feeds held; events cross a line of nodes by
notify and by the timer; a killed node catches up with nothing lost or
doubled; a hostile peer's forged, broken, replayed, oversized, malformed,
stalling or forking answers and forged fork proofs are refused with the right
code and counted against it, while the honest node keeps the good events
before the bad one and nothing else changes; a fork proof spreads; no
federation answer holds private data; a restored node catches up its own feed
before publishing; blocks hide and stop a feed until undone; peers follow a
group to its rotated key.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from protocol import Event, SigningKey, decode_event, sign
from tests.network.cluster import (
    FAST,
    cli,
    configure,
    converged,
    feed_ids,
    feed_lines,
    forks,
    get_json,
    has_event,
    heads,
    init_nodes,
    metric,
    peer_urls,
    peers_list,
    refusals,
    requests_served,
    start,
    start_nodes,
    stop_nodes,
    wait_for,
)
from tests.network.conftest import (
    POLL_SECONDS,
    Json,
    Node,
    NodeFactory,
    list_all,
    publish,
    search,
    tredegar_json,
)
from tests.network.hostile import (
    Author,
    HostilePeer,
    Line,
    Stall,
    changed_body,
    forged_in_feed,
    forged_signature,
    lines_of,
    malformed,
    non_canonical,
    oversized,
    peers,
    wrong_prev,
)
from tests.pg import BACKENDS, require_postgres

#: Tests of how the protocol scales with nodes and feeds, not of storage: they
#: run on SQLite only, to keep ``make test`` within its time.
SCALE_TESTS = (
    "test_ten_nodes_seeded_one_by_one_find_each_other_and_converge",
    "test_an_in_sync_round_costs_one_small_answer_with_1000_feeds",
)


@pytest.fixture(params=BACKENDS)
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeFactory]:
    """Real nodes, every one on the backend under test (the federation suite runs
    once on SQLite files and once with each node in its own PostgreSQL schema)."""
    if request.param == "postgresql":
        if request.node.originalname in SCALE_TESTS:
            pytest.skip("a scale test of the protocol: run on SQLite only")
        require_postgres()
    factory = NodeFactory(tmp_path, backend=str(request.param))
    yield factory
    factory.close()


async def post_event(
    session: aiohttp.ClientSession, node: Node, request: Json
) -> tuple[int, Json]:
    """``POST /api/v1/events`` with the organiser token; status and answer."""
    async with session.post(
        f"{node.url}/api/v1/events", json=request, headers=node.auth
    ) as response:
        answer = await response.json(content_type=None)
        assert isinstance(answer, dict)
        return response.status, answer


def guide_about(word: str, n: int) -> Json:
    """A ``guide.published`` request whose title holds ``word``."""
    return {
        "type": "guide.published",
        "body": {"title": f"{word} {n}", "text": f"Notes on {word}, part {n}."},
    }


async def head_of(session: aiohttp.ClientSession, node: Node, feed: str) -> int:
    """The seq a node holds of a feed (0 when none), from ``/fed/v1/heads``."""
    return (await heads(session, node)).get(feed, 0)


def assert_verifies(node: Node, events: int) -> None:
    """``tredegar verify --json`` on a stopped node: exit 0, ``events`` checked."""
    result = tredegar_json("verify", "--data", node.data)
    assert result.value == {"checked": events, "problems": []}


# The two heaviest tests are first and third: ``pytest -n 2`` hands each worker
# two tests to begin with, so each worker starts with one of them.


# --- ten nodes, one seed each ---------------------------------------------------------


async def test_ten_nodes_seeded_one_by_one_find_each_other_and_converge(
    nodes: NodeFactory,
) -> None:
    started = time.monotonic()
    ring = await init_nodes(nodes, [f"n{i}" for i in range(10)])
    await start_nodes(
        [(ring[0], [])] + [(ring[i], ["--peer", ring[i - 1].url]) for i in range(1, 10)]
    )
    urls = {node.url for node in ring}
    async with aiohttp.ClientSession() as session:
        first = await publish(session, ring[0], 1)
        last = await publish(session, ring[9], 2)
        expected = {node.feed: 1 for node in ring}
        expected.update({ring[0].feed: 2, ring[9].feed: 2})

        async def all_know_each_other() -> bool:
            return all([await peer_urls(session, n) == urls - {n.url} for n in ring])

        learnt = await wait_for(
            all_know_each_other,
            what="every node to know the nine others",
            within=30,
            poll=0.25,
        )
        await wait_for(
            lambda: converged(session, ring, expected),
            what="identical heads of ten feeds on ten nodes",
            within=30,
            poll=0.25,
        )
        for node in ring:
            assert await has_event(session, node, first["id"])
            assert await has_event(session, node, last["id"])
    print(f"\nten nodes knew each other after {learnt:.1f} s of running")
    assert await stop_nodes(ring) == [0] * 10
    print(f"ten nodes: {time.monotonic() - started:.1f} s from init to stopped")


# --- finding a seed that was down -----------------------------------------------------


async def test_a_node_announces_itself_to_a_seed_that_was_down(
    nodes: NodeFactory,
) -> None:
    a, b = await init_nodes(nodes, ["a", "b"], {"notify_peers": False})
    await start(b, "--peer", a.url)  # A is not running yet
    await start(a)
    async with aiohttp.ClientSession() as session:
        await wait_for(lambda: _holds(session, b, a.feed, 1), what="B to pull from A")

        async def heard_of() -> bool:
            return await peer_urls(session, a) == {b.url}

        await wait_for(heard_of, what="A to hear of B", within=6)


# --- the cost of a round in sync ------------------------------------------------------


async def test_an_in_sync_round_costs_one_small_answer_with_1000_feeds(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    x, y = await init_nodes(nodes, ["x", "y"])
    ndjson, most = tmp_path / "feeds.ndjson", tmp_path / "most-feeds.ndjson"
    lines = [
        sign(
            SigningKey.generate(),
            None,
            1_796_119_200_000 + i,
            "group.profile_set",
            {"name": f"Generated group {i}"},
        ).wire_bytes()
        + b"\n"
        for i in range(1000)
    ]
    ndjson.write_bytes(b"".join(lines))
    # Y is given 900 of them too and pulls the last 100 from X: pulling a new
    # feed costs Y a durable commit (~15 ms), so all 1,000 would take 15-45 s
    # of this file's time, and the round measured below is the same.
    most.write_bytes(b"".join(lines[:900]))
    imported = await asyncio.gather(
        cli("import", ndjson, "--data", x.data), cli("import", most, "--data", y.data)
    )
    assert [i["stored"] for i in imported] == [1000, 900]
    await start(x)
    await start(y, "--peer", x.url)
    async with aiohttp.ClientSession() as session:

        async def in_sync() -> bool:
            return len(await heads(session, x)) == 1002 and await converged(
                session, [x, y]
            )

        took = await wait_for(in_sync, what="1,002 feeds on both", within=30, poll=0.5)
        print(f"\nX and Y in sync with 1,002 feeds {took:.1f} s after Y started")
        # The node's own rounds, now: heads since its cursor, and no feed page.
        pages = await requests_served(session, x, "/fed/v1/feeds/{feed}")
        await _rounds_of(session, x, 3)
        assert await requests_served(session, x, "/fed/v1/feeds/{feed}") == pages
        # One no-change round, asked as the node asks it.
        headers = {"User-Agent": "tredegar", "Accept": "application/json"}
        for node in (x, y):
            async with session.get(f"{node.url}/fed/v1/heads", headers=headers) as r:
                full = await r.read()
            cursor = json.loads(full)["cursor"]
            async with session.get(
                f"{node.url}/fed/v1/heads", params={"since": cursor}, headers=headers
            ) as response:
                assert response.status == 200
                body = await response.read()
                header_bytes = sum(
                    len(k) + len(v) + 4 for k, v in response.raw_headers
                ) + len(b"HTTP/1.1 200 OK\r\n\r\n")
            answer = json.loads(body)
            assert answer["heads"] == {}
            assert set(answer) == {"heads", "cursor"}
            assert len(body) <= 1024
            print(
                f"{node.name}: all heads {len(full)} bytes; no-change round "
                f"{len(body)} bytes of body + {header_bytes} bytes of headers: {body!r}"
            )
    assert await stop_nodes([x, y]) == [0, 0]


# --- three nodes in a line ------------------------------------------------------------


async def test_an_event_crosses_a_line_of_three_nodes_by_notify_and_by_timer(
    nodes: NodeFactory,
) -> None:
    a, b, c = line = await init_nodes(nodes, ["a", "b", "c"])
    # A strict line: A and C would learn each other through B's peers list.
    await asyncio.gather(
        cli("peers", "block", c.url, "--data", a.data),
        cli("peers", "block", a.url, "--data", c.data),
    )
    await start(a)
    await start_nodes([(b, ["--peer", a.url]), (c, ["--peer", b.url])])
    neighbours = [(a, {b.url}), (b, {a.url, c.url}), (c, {b.url})]
    async with aiohttp.ClientSession() as session:

        async def each_knows_its_neighbours() -> bool:
            return all([await peer_urls(session, n) == want for n, want in neighbours])

        await wait_for(each_knows_its_neighbours, what="a line A-B-C")
        await wait_for(
            lambda: converged(session, line, {a.feed: 1, b.feed: 1, c.feed: 1}),
            what="the three profiles everywhere",
        )
        for notify in (True, False):
            if not notify:  # the same line again, without any notify after commits
                assert await stop_nodes(line) == [0, 0, 0]
                quiet = {"TREDEGAR_NOTIFY_PEERS": "false"}
                await start_nodes([(n, []) for n in line], env=quiet)
            event = await publish(session, a, 1 if notify else 2)
            took = await wait_for(
                functools.partial(has_event, session, c, event["id"]),
                what="A's event on C",
                within=2.0 if notify else 10.0,
                poll=POLL_SECONDS,
            )
            print(f"\nA to C via B ({'notify' if notify else 'timer'}): {took:.3f} s")
            assert await has_event(session, b, event["id"])
        # Still a line: the events went through B.
        for n, want in neighbours:
            assert await peer_urls(session, n) == want
    assert await stop_nodes(line) == [0, 0, 0]


# --- partition and heal ---------------------------------------------------------------


async def test_a_killed_node_catches_up_with_nothing_lost_or_duplicated(
    nodes: NodeFactory,
) -> None:
    a, b, c = await init_nodes(nodes, ["a", "b", "c"])
    await start(a)
    await start_nodes([(b, ["--peer", a.url]), (c, ["--peer", b.url])])
    trio = [a, b, c]
    async with aiohttp.ClientSession() as session:
        before = [await publish(session, c, n) for n in range(2)]
        await wait_for(
            lambda: converged(session, trio, {a.feed: 1, b.feed: 1, c.feed: 3}),
            what="three synced nodes",
        )
        c.kill()

        async def publish_on(node: Node, first: int) -> list[Json]:
            return [await publish(session, node, n) for n in range(first, first + 10)]

        during = [
            e
            for batch in await asyncio.gather(publish_on(a, 100), publish_on(b, 200))
            for e in batch
        ]
        expected = {a.feed: 11, b.feed: 11, c.feed: 3}
        await wait_for(
            lambda: converged(session, [a, b], expected), what="A and B in sync"
        )
        await start(c)
        took = await wait_for(
            lambda: converged(session, trio, expected), what="C to catch up"
        )
        print(f"\nC caught up {took:.2f} s after it answered again")
        total = sum(expected.values())
        published = {e["id"] for e in [*before, *during]}

        async def listed(node: Node) -> list[str]:
            return [e["id"] for e in await list_all(session, node)]

        async def all_listed() -> bool:
            return all([len(await listed(n)) >= total for n in trio])

        await wait_for(all_listed, what="every listing to hold every event")
        listings = [await listed(n) for n in trio]
    for ids in listings:
        assert len(ids) == total
        assert len(set(ids)) == total, "an event is listed twice"
        assert set(ids) == set(listings[0])
        assert published <= set(ids)
    assert await stop_nodes(trio) == [0, 0, 0]
    await asyncio.gather(*(asyncio.to_thread(assert_verifies, n, total) for n in trio))


# --- a hostile peer -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    """What a hostile peer serves of a feed, and what the node must end up with."""

    lines: list[Line]
    head: int
    good: list[str]


@dataclass(frozen=True, slots=True)
class Plan:
    """An attack on one feed: served phase by phase, each once the last settled."""

    feed: str
    phases: list[Phase]


@dataclass(frozen=True, slots=True)
class Attack:
    """A way of lying, and the code the honest node must refuse it with."""

    name: str
    code: str
    plan: Callable[[Author, Event], Plan]


def _ids(events: Sequence[Event]) -> list[str]:
    return [e.id for e in events]


def _three(author: Author) -> list[Event]:
    """The good events of an attacked feed: its profile and two guides."""
    author.guide("Door knocking")
    author.guide("Phone trees")
    return list(author.events)


def _bad_fourth(tamper: Callable[[Event], bytes]) -> Callable[[Author, Event], Plan]:
    """Three good events, then a tampered fourth and a valid fifth after it."""

    def plan(author: Author, own: Event) -> Plan:
        good = _three(author)
        fourth = author.guide("Tampered")
        fifth = author.guide("After the tampered one")
        lines = [*lines_of(good), Line(4, tamper(fourth)), *lines_of([fifth])]
        return Plan(author.feed, [Phase(lines, 5, _ids(good))])

    return plan


def _broken_prev(author: Author, own: Event) -> Plan:
    good = _three(author)
    misplaced = wrong_prev(author, good[-1], linked_to=good[-2])
    lines = [*lines_of(good), Line(4, misplaced.wire_bytes())]
    return Plan(author.feed, [Phase(lines, 4, _ids(good))])


def _gap(author: Author, own: Event) -> Plan:
    good = _three(author)
    author.guide("Never served")
    fifth = author.guide("After the gap")
    return Plan(
        author.feed, [Phase([*lines_of(good), *lines_of([fifth])], 5, _ids(good))]
    )


def _replay(author: Author, own: Event) -> Plan:
    good = _three(author)
    fourth = author.guide("Fourth")
    fifth = author.guide("Fifth")
    # Once the node holds three, a page after 4 starts with an old event again.
    later = [
        *lines_of([*good, fourth]),
        Line(5, good[1].wire_bytes()),
        Line(6, fifth.wire_bytes()),
    ]
    return Plan(
        author.feed,
        [
            Phase(lines_of(good), 3, _ids(good)),
            Phase(later, 5, _ids([*good, fourth])),
        ],
    )


def _own_feed(author: Author, own: Event) -> Plan:
    """Events of the honest node's own feed, signed with the hostile key."""
    forged = forged_in_feed(
        author.key, own.feed, own, {"title": "Forged", "text": "Not ours."}
    )
    return Plan(own.feed, [Phase([Line(2, forged)], 2, [own.id])])


ATTACKS = [
    Attack("forged-signature", "bad-signature", _bad_fourth(forged_signature)),
    Attack("broken-prev", "prev-mismatch", _broken_prev),
    Attack("gap", "seq-gap", _gap),
    Attack("replay", "seq-gap", _replay),
    Attack("changed-body", "bad-body-hash", _bad_fourth(changed_body)),
    Attack("oversized-line", "too-large", _bad_fourth(oversized)),
    Attack("malformed-json", "malformed", _bad_fourth(malformed)),
    Attack("float", "non-canonical", _bad_fourth(non_canonical)),
    Attack("forged-own-feed", "bad-signature", _own_feed),
]


@dataclass(slots=True)
class Arena:
    """One honest node pulling from a hostile peer per attack, at once."""

    node: Node
    peers: dict[str, HostilePeer]
    plans: dict[str, Plan]
    companions: dict[str, list[Event]]
    own: list[bytes]
    forger: HostilePeer
    ceilings: dict[str, int] = field(default_factory=dict)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        body: bytes = response.read()
        return body


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    """An honest node started with ``--peer`` for every hostile peer."""
    factory = NodeFactory(tmp_path_factory.mktemp("arena"))
    with peers(*(attack.name for attack in ATTACKS), "forged-fork") as started:
        try:
            node = factory.init("honest", start=False)
            configure(node, FAST)
            node.start(*(arg for peer in started for arg in ("--peer", peer.url)))
            own = [
                line
                for line in _get(f"{node.url}/fed/v1/feeds/{node.feed}").split(b"\n")
                if line
            ]
            *attackers, forger = started
            arena = Arena(node, {}, {}, {}, own, forger)
            # A "proof" that the honest node's own key signed two first events.
            first = decode_event(own[0])
            rival = forged_in_feed(
                SigningKey.generate(), node.feed, None, {"name": "Not them"}
            )
            forger.serve_forks(
                {
                    "forks": [
                        {
                            "feed": node.feed,
                            "seq": 1,
                            "events": [first.to_wire(), json.loads(rival)],
                        }
                    ]
                }
            )
            for attack, peer in zip(ATTACKS, attackers, strict=True):
                plan = attack.plan(
                    Author(f"Hostile {attack.name}"), decode_event(own[0])
                )
                peer.serve(plan.feed, plan.phases[0].lines, head=plan.phases[0].head)
                companion = Author(f"Companion of {attack.name}")
                companion.guide("Street stalls")
                peer.serve_events(companion.events)
                arena.peers[attack.name] = peer
                arena.plans[attack.name] = plan
                arena.companions[attack.name] = companion.events
                arena.ceilings[companion.feed] = len(companion.events)
                arena.ceilings[plan.feed] = max(len(p.good) for p in plan.phases)
            yield arena
        finally:
            factory.close()


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(
            attack,
            id=attack.name,
        )
        for attack in ATTACKS
    ],
)
async def test_a_hostile_peer_is_refused_counted_and_changes_nothing(
    arena: Arena, attack: Attack
) -> None:
    node, peer, plan = arena.node, arena.peers[attack.name], arena.plans[attack.name]
    async with aiohttp.ClientSession() as session:
        for phase, following in zip(plan.phases, plan.phases[1:], strict=False):

            async def settled(phase: Phase = phase) -> bool:
                return await feed_ids(session, node, plan.feed) == phase.good

            await wait_for(settled, what=f"{attack.name}: the good events")
            peer.serve(plan.feed, following.lines, head=following.head)
        last = plan.phases[-1]

        async def came_back_for_more() -> bool:
            # Asked twice for what follows the good events: the first answer,
            # with the bad event, has been dealt with.
            return (
                peer.page_requests(plan.feed, after=len(last.good)) >= 2
                and await feed_ids(session, node, plan.feed) == last.good
            )

        await wait_for(came_back_for_more, what=f"{attack.name}: the node to retry")
        # The good events before the bad one are kept, and nothing else changed.
        assert await feed_ids(session, node, plan.feed) == last.good
        assert await feed_lines(session, node, node.feed) == arena.own
        companion = arena.companions[attack.name]
        assert await feed_ids(session, node, companion[0].feed) == _ids(companion)
        held = await heads(session, node)
        for feed, seq in held.items():
            ceiling = len(arena.own) if feed == node.feed else arena.ceilings[feed]
            assert seq <= ceiling, (feed, seq, ceiling)

        async def listed() -> bool:
            events = await list_all(session, node, feed=plan.feed)
            return [e["id"] for e in events] == last.good

        await wait_for(listed, what=f"{attack.name}: the listing of the good events")
        # Refused with the right code, counted against that peer.
        counted = {
            reason: n
            for (url, reason), n in (await refusals(session, node)).items()
            if url == peer.url and n > 0
        }
    assert set(counted) == {attack.code}, counted


async def test_a_forged_fork_proof_is_refused_and_freezes_nothing(
    arena: Arena,
) -> None:
    node, forger = arena.node, arena.forger
    async with aiohttp.ClientSession() as session:

        async def asked_twice() -> bool:
            return forger.asked("/fed/v1/forks") >= 2

        await wait_for(asked_twice, what="the node to ask for fork proofs again")
        assert await forks(session, node) == []
        assert await feed_lines(session, node, node.feed) == arena.own
        counted = {
            reason
            for (url, reason), n in (await refusals(session, node)).items()
            if url == forger.url and n > 0
        }
    assert counted == {"bad-signature"}


# --- a peer that never finishes its page ----------------------------------------------


@pytest.mark.parametrize(
    "stall",
    [
        pytest.param("endless"),
        pytest.param("slow"),
    ],
)
async def test_a_stalling_peer_holds_up_nobody_and_is_backed_off(
    nodes: NodeFactory, stall: Stall
) -> None:
    with peers("staller", "honest") as (staller, honest):
        stalled = Author("Staller")
        good = _three(stalled)
        # Endless: every page runs on after its lines (cut at the size limit).
        # Slow: the three events come at once; the page after them trickles.
        staller.serve(
            stalled.feed,
            lines_of(good),
            head=4,
            stall=stall,
            stall_after=3 if stall == "slow" else 0,
        )
        other = Author("Honest peer")
        other.guide("Tenants' meeting")
        honest.serve_events(other.events)
        (node,) = await init_nodes(nodes, ["honest-node"])
        await start(node, "--peer", staller.url, "--peer", honest.url)
        async with aiohttp.ClientSession() as session:
            own = await feed_lines(session, node, node.feed)

            async def stalling_while_others_sync() -> bool:
                return staller.stalling.is_set() and (
                    await head_of(session, node, other.feed) == 2
                )

            await wait_for(stalling_while_others_sync, what="the stall to begin")
            # While the staller stalls, the honest peer has news and says so.
            other.guide("Rent strike")
            honest.serve_events(other.events)
            assert (
                await asyncio.to_thread(honest.notify, node.url, other.feed, 3) == 202
            )
            took = await wait_for(
                lambda: has_event(session, node, other.events[-1].id),
                what="the honest peer's event while the other stalls",
                within=3.0,
                poll=POLL_SECONDS,
            )
            print(f"\nhonest peer's event arrived {took:.2f} s into the {stall} stall")
            await wait_for(
                lambda: _ids_are(session, node, stalled.feed, _ids(good)),
                what="the events served before the stall",
                within=15,
            )

            async def given_up() -> bool:
                # The staller's round has ended in failure (or in a refusal).
                down = await metric(session, node, "tredegar_peers_down")
                return bool(down) and down[0][1] >= 1

            await wait_for(
                given_up, what="the node to give up on the staller", within=30
            )
            rows = await asyncio.to_thread(peers_list, node)
            (row,) = [r for r in rows if r["url"] == staller.url]
            counted = {
                reason
                for (url, reason), n in (await refusals(session, node)).items()
                if url == staller.url and n > 0
            }
            print(f"staller: {row}, refusals {counted}")
            # Backed off: a failure is recorded, with what went wrong.
            assert row["failures"] >= 1, row
            assert row["last_error"], row
            assert await feed_lines(session, node, node.feed) == own


async def _ids_are(
    session: aiohttp.ClientSession, node: Node, feed: str, ids: list[str]
) -> bool:
    return await feed_ids(session, node, feed) == ids


# --- a fork ---------------------------------------------------------------------------


async def test_a_fork_is_kept_as_proof_freezes_the_feed_and_spreads(
    nodes: NodeFactory,
) -> None:
    with peers("forker") as (forker,):
        author = Author("Forker")
        good = _three(author)
        first = author.guide("The first version")
        forker.serve_events([*good, first])
        honest, third = await init_nodes(nodes, ["honest", "third"])
        # The third node peers only with the honest one.
        await cli("peers", "block", forker.url, "--data", third.data)
        await start(honest, "--peer", forker.url)
        async with aiohttp.ClientSession() as session:
            own = await feed_lines(session, honest, honest.feed)
            await wait_for(
                lambda: _ids_are(session, honest, author.feed, _ids([*good, first])),
                what="the first version of the feed",
            )
            # Now the same key has signed another history from seq 4.
            second = author.sign_after(
                good[-1], "guide.published", {"title": "Rewritten", "text": "Other."}
            )
            after_second = author.sign_after(
                second, "guide.published", {"title": "Onwards", "text": "More."}
            )
            forker.serve(author.feed, lines_of([*good, second, after_second]), head=5)

            async def proof_kept() -> bool:
                return len(await forks(session, honest)) == 1

            await wait_for(proof_kept, what="the fork proof")
            (proof,) = await forks(session, honest)
            assert proof["feed"] == author.feed
            assert proof["seq"] == 4
            assert sorted(json.dumps(e, sort_keys=True) for e in proof["events"]) == (
                sorted(json.dumps(e.to_wire(), sort_keys=True) for e in (first, second))
            )
            # The feed is frozen: even a valid continuation of what is held stops.
            onwards = author.sign_after(
                first, "guide.published", {"title": "Continued", "text": "Same key."}
            )
            forker.serve(author.feed, lines_of([*good, first, onwards]), head=5)
            asked = forker.page_requests(author.feed, after=4)

            async def tried() -> bool:
                return forker.page_requests(author.feed, after=4) >= asked + 2

            await wait_for(tried, what="the node to try the continuation")
            assert await feed_ids(session, honest, author.feed) == _ids([*good, first])
            counted = await refusals(session, honest)
            assert counted.get((forker.url, "prev-mismatch"), 0) >= 1
            assert counted.get((forker.url, "fork"), 0) >= 1
            assert await feed_lines(session, honest, honest.feed) == own
            # A third node that only knows the honest one learns the proof.
            await start(third, "--peer", honest.url)

            async def relayed() -> bool:
                return await forks(session, third) == await forks(session, honest)

            took = await wait_for(relayed, what="the proof on the third node")
            print(f"\nfork proof reached the third node {took:.2f} s after it started")
            assert await head_of(session, third, author.feed) <= 4
            assert forker.url not in await peer_urls(session, third)
    assert await stop_nodes([honest, third]) == [0, 0]


@pytest.mark.parametrize("history", ["first", "second"])
async def test_an_honest_peer_past_a_fork_is_not_treated_as_failing(
    nodes: NodeFactory, history: str
) -> None:
    """A relay that took either history first, and has more of it, is honest.

    Its events past the fork point are refused (and counted) by a node that
    holds the proof, but it is not backed off: its other feeds carry on.
    """
    with peers("forker") as (forker,):
        author = Author("Forker")
        good = _three(author)
        first = author.guide("The first version")
        forker.serve_events([*good, first])
        honest, relay = await init_nodes(nodes, ["honest", "relay"])
        await start(honest, "--peer", forker.url)
        async with aiohttp.ClientSession() as session:
            await wait_for(
                lambda: _holds(session, honest, author.feed, 4), what="four events"
            )
            second = author.sign_after(
                good[-1], "guide.published", {"title": "Rewritten", "text": "Other."}
            )
            after_second = author.sign_after(
                second, "guide.published", {"title": "Onwards", "text": "More."}
            )
            forker.serve(author.feed, lines_of([*good, second, after_second]), head=5)

            async def proof_kept() -> bool:
                return len(await forks(session, honest)) == 1

            await wait_for(proof_kept, what="the fork proof")
            # A relay that never heard of the fork takes one history, one
            # event further than the proof: the second, as served now, or the
            # first, going on.
            if history == "first":
                onwards = author.sign_after(
                    first, "guide.published", {"title": "Further", "text": "Same."}
                )
                forker.serve_events([*good, first, onwards])
            code = "fork" if history == "first" else "prev-mismatch"
            await start(relay, "--peer", forker.url)
            await wait_for(
                lambda: _holds(session, relay, author.feed, 5), what="the relay's 5"
            )
            await cli("peers", "add", honest.url, "--data", relay.data)

            async def refused_twice() -> bool:
                counted = await refusals(session, honest)
                return counted.get((relay.url, code), 0) >= 2

            await wait_for(refused_twice, what="the relay's events to be refused")
            assert await _holds(session, honest, author.feed, 4)
            rows = await asyncio.to_thread(peers_list, honest)
            (row,) = [r for r in rows if r["url"] == relay.url]
            assert (row["failures"], row["last_error"]) == (0, None), row
    assert await stop_nodes([honest, relay]) == [0, 0]


# --- no private data in federation answers --------------------------------------------


async def test_no_federation_answer_holds_private_data(nodes: NodeFactory) -> None:
    a, b = await init_nodes(nodes, ["a", "b"])
    await start(a)
    await start(b, "--peer", a.url)
    member_name = "Member Quillfeather"
    member = await cli(
        "token", "create", "--data", a.data, "--role", "member", "--name", member_name
    )
    async with aiohttp.ClientSession() as session:
        cursors = {
            n.name: (await get_json(session, f"{n.url}/fed/v1/heads"))["cursor"]
            for n in (a, b)
        }
        for n in range(3):
            await publish(session, a, n)
            await publish(session, b, 10 + n)
        expected = {a.feed: 4, b.feed: 4}
        await wait_for(lambda: converged(session, [a, b], expected), what="sync")
        tokens = (await cli("token", "list", "--data", a.data))["tokens"]
        assert len(tokens) == 2
        secrets = {"First organiser", member_name, *(t["token_id"] for t in tokens)}
        for token in (a.token, member["token"], b.token):
            secrets.update({token, hashlib.sha256(token.encode()).hexdigest()})
        answers: dict[str, bytes] = {}
        for node in (a, b):
            base = f"{node.url}/fed/v1"
            routes = {
                "info": (f"{base}/info", {"challenge": "c2lnbi1tZS1wbGVhc2UtMTIz"}),
                "heads": (f"{base}/heads", {}),
                "heads since": (f"{base}/heads", {"since": cursors[node.name]}),
                "peers": (f"{base}/peers", {}),
                "forks": (f"{base}/forks", {}),
            }
            routes.update(
                {
                    f"feed {feed}": (f"{base}/feeds/{feed}", {"after": "0"})
                    for feed in expected
                }
            )
            for route, (url, params) in routes.items():
                async with session.get(url, params=params) as response:
                    assert response.status == 200, (node.name, route)
                    answers[f"{node.name} {route}"] = await response.read()
    assert json.loads(answers["a heads since"])["heads"] == expected
    # Each learnt which group the other is, from its signed info.
    assert {(p["url"], p["feed"]) for p in json.loads(answers["a peers"])["peers"]} == {
        (b.url, b.feed)
    }
    assert {(p["url"], p["feed"]) for p in json.loads(answers["b peers"])["peers"]} == {
        (a.url, a.feed)
    }
    for route, body in answers.items():
        for secret in secrets:
            assert secret.encode() not in body, (route, secret)
    assert await stop_nodes([a, b]) == [0, 0]


# --- no self-fork after a restore -----------------------------------------------------


async def test_a_restored_node_catches_up_its_own_feed_before_publishing(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    if nodes.backend == "postgresql":
        pytest.skip("backup and restore are SQLite's; PostgreSQL uses pg_dump")
    a, b = await init_nodes(nodes, ["a", "b"])
    await start(b)
    await start(a, "--peer", b.url)
    backup, restored_dir = tmp_path / "backup", tmp_path / "restored"
    async with aiohttp.ClientSession() as session:
        for n in range(3):
            await publish(session, a, n)
        await cli("backup", "--data", a.data, "--to", backup)  # while A runs
        later = [await publish(session, a, n) for n in range(3, 6)]
        await wait_for(lambda: _holds(session, b, a.feed, 7), what="B to hold 7")
        assert await stop_nodes([a, b]) == [0, 0]
        await cli("restore", "--data", restored_dir, "--from", backup)
        restored = nodes.adopt("restored", restored_dir, feed=a.feed, token=a.token)
        # No peer answers yet: the restored node must not publish.
        await start(restored, "--peer", b.url)
        assert (await heads(session, restored))[a.feed] == 4
        status, problem = await post_event(session, restored, guide_about("Early", 1))
        assert (status, problem["code"]) == (503, "catching-up"), problem
        await start(b)
        # Try B again at once, rather than after the backoff of its downtime.
        await cli("peers", "add", b.url, "--data", restored.data)
        published: list[Json] = []

        async def publishes() -> bool:
            status, answer = await post_event(session, restored, guide_about("Now", 2))
            if status == 201:
                published.append(answer)
                return True
            assert (status, answer["code"]) == (503, "catching-up"), answer
            return False

        took = await wait_for(publishes, what="the restored node to publish again")
        print(f"\nrestored node caught up and published after {took:.2f} s")
        (event,) = published
        assert event["seq"] == 8
        assert event["prev"] == later[-1]["id"]
        await wait_for(
            lambda: converged(session, [restored, b], {a.feed: 8, b.feed: 1}),
            what="B to hold the restored node's new event",
        )
        assert await forks(session, restored) == []
        assert await forks(session, b) == []
    assert await stop_nodes([restored, b]) == [0, 0]


async def _holds(
    session: aiohttp.ClientSession, node: Node, feed: str, seq: int
) -> bool:
    return await head_of(session, node, feed) == seq


# --- blocking a feed ------------------------------------------------------------------


async def _rounds_of(session: aiohttp.ClientSession, source: Node, rounds: int) -> None:
    """Wait until ``source`` has answered ``rounds`` more heads (its peer's rounds)."""
    route = "/fed/v1/heads"
    asked = await requests_served(session, source, route)

    async def answered() -> bool:
        return await requests_served(session, source, route) >= asked + rounds

    await wait_for(answered, what=f"{rounds} more rounds")


async def _stored(session: aiohttp.ClientSession, node: Node) -> float:
    return sum(
        v for _, v in await metric(session, node, "tredegar_events_stored_total")
    )


async def test_a_blocked_feed_is_hidden_not_pulled_and_stays_blocked(
    nodes: NodeFactory,
) -> None:
    a, b = await init_nodes(nodes, ["a", "b"])
    await start(a)
    await start(b, "--peer", a.url)
    async with aiohttp.ClientSession() as session:
        status, shown = await post_event(session, a, guide_about("Stallholders", 1))
        assert status == 201
        shown_id = shown["id"]
        await wait_for(
            lambda: converged(session, [a, b], {a.feed: 2, b.feed: 1}), what="sync"
        )

        async def visible() -> bool:
            hits = await search(session, b, "Stallholders")
            listed = await list_all(session, b, feed=a.feed)
            return len(hits) == 1 and len(listed) == 2

        await wait_for(visible, what="A's guide in B's listings and search")
        await cli("peers", "block", a.feed, "--data", b.data)  # B is running

        async def hidden() -> bool:
            return (
                a.feed not in await heads(session, b)
                and await list_all(session, b, feed=a.feed) == []
                and all(e["feed"] != a.feed for e in await list_all(session, b))
                and await search(session, b, "Stallholders") == []
                and not await has_event(session, b, shown_id)
            )

        assert await hidden()
        for round_ in range(2):
            stored = await _stored(session, b)
            status, _ = await post_event(
                session, a, guide_about("Stallholders", 2 + round_)
            )
            assert status == 201
            await _rounds_of(session, a, 2)
            assert await _stored(session, b) == stored, "a blocked feed was pulled"
            assert await hidden()
            if round_ == 0:  # the block survives a restart
                assert await stop_nodes([b]) == [0]
                await start(b)
        await cli("peers", "unblock", a.feed, "--data", b.data)

        async def shown_again() -> bool:
            return (
                a.feed in await heads(session, b)
                and len(await search(session, b, "Stallholders")) >= 1
                and await has_event(session, b, shown_id)
            )

        await wait_for(shown_again, what="the feed to be shown again")
        # A new event of the feed is pulled again, with what it missed.
        status, _ = await post_event(session, a, guide_about("Stallholders", 4))
        assert status == 201
        await wait_for(
            lambda: converged(session, [a, b], {a.feed: 5, b.feed: 1}),
            what="the unblocked feed to be pulled again",
        )
    assert await stop_nodes([a, b]) == [0, 0]


async def test_unblocking_pulls_what_was_published_during_the_block(
    nodes: NodeFactory,
) -> None:
    a, b = await init_nodes(nodes, ["a", "b"])
    await start(a)
    await start(b, "--peer", a.url)
    async with aiohttp.ClientSession() as session:
        await wait_for(
            lambda: converged(session, [a, b], {a.feed: 1, b.feed: 1}), what="sync"
        )
        await cli("peers", "block", a.feed, "--data", b.data)
        await _rounds_of(session, a, 1)
        stored = await _stored(session, b)
        missed = await publish(session, a, 1)
        await _rounds_of(session, a, 2)
        assert await _stored(session, b) == stored, "a blocked feed was pulled"
        await cli("peers", "unblock", a.feed, "--data", b.data)
        await wait_for(
            lambda: has_event(session, b, missed["id"]),
            what="the event published during the block",
            within=4,
        )


# --- key rotation ---------------------------------------------------------------------


async def test_peers_follow_a_group_to_its_rotated_key(nodes: NodeFactory) -> None:
    a, b = await init_nodes(nodes, ["a", "b"])
    await start(b)
    await start(a, "--peer", b.url)
    old = a.feed
    async with aiohttp.ClientSession() as session:
        await publish(session, a, 1)
        await wait_for(
            lambda: converged(session, [a, b], {old: 2, b.feed: 1}), what="sync"
        )
        assert await stop_nodes([a]) == [0]
        rotated = await cli("key", "rotate", "--data", a.data, "--reason", "key leaked")
        assert rotated["old_feed"] == old
        a.feed = rotated["new_feed"]
        await start(a)
        moved = await publish(session, a, 2)
        assert moved["feed"] == a.feed
        assert moved["seq"] == 2
        await wait_for(
            lambda: converged(session, [a, b], {old: 3, a.feed: 2, b.feed: 1}),
            what="B to hold both feeds",
        )

        async def listed_once_at_the_new_feed() -> bool:
            groups = (await get_json(session, f"{b.url}/api/v1/groups"))["groups"]
            named = [g for g in groups if g["name"] == "Group a"]
            return [g["feed"] for g in named] == [a.feed]

        await wait_for(
            listed_once_at_the_new_feed, what="A's group once, at its new feed"
        )
        groups = (await get_json(session, f"{b.url}/api/v1/groups"))["groups"]
        (group,) = [g for g in groups if g["name"] == "Group a"]
        assert group["moved_from"] == old
    assert await stop_nodes([a, b]) == [0, 0]
