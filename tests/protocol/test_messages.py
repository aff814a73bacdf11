"""Federation message shapes: parse, serialise, and refuse what is wrong."""

from __future__ import annotations

import pytest

from protocol import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    Event,
    ForkProof,
    Forks,
    Heads,
    InvalidSignatureError,
    JsonValue,
    MalformedError,
    NodeInfo,
    Notify,
    PeerEntry,
    Peers,
    ProtocolError,
    TooLargeError,
    canonical,
    clamp_limit,
    decode_feed_page,
    encode_feed_page,
    parse_challenge,
    parse_url,
    sign,
)
from protocol.messages import INFO_CONTEXT, MAX_HEADS, MAX_PEERS
from tests.protocol.helpers import KEY_A, KEY_B, T0, feed_of

CHALLENGE = "c2lnbi1tZS1wbGVhc2UtMTIz"


def _round_trip(message: Heads | Notify | Peers | Forks | NodeInfo) -> JsonValue:
    return canonical.decode(canonical.encode(message.to_json()))


def test_info_signs_only_the_domain_separated_challenge() -> None:
    info = NodeInfo.signed(
        KEY_A,
        CHALLENGE,
        name="Penrhys Mutual Aid",
        url="https://penrhys.example.org",
        software="tredegar",
        version="0.1.0",
        time=T0,
    )
    parsed = NodeInfo.from_json(_round_trip(info))
    parsed.verify(CHALLENGE)
    assert NodeInfo.signing_bytes(CHALLENGE) == INFO_CONTEXT + CHALLENGE.encode()
    with pytest.raises(InvalidSignatureError):
        parsed.verify("another-challenge-0000")
    # Another key cannot answer for this feed.
    forged = NodeInfo.signed(
        KEY_B,
        CHALLENGE,
        name="x",
        url="http://a.example",
        software="t",
        version="1",
        time=0,
    )
    with pytest.raises(InvalidSignatureError):
        NodeInfo(KEY_A.feed, *_tail(forged)).verify(CHALLENGE)


def _tail(info: NodeInfo) -> tuple[str, str, str, str, int, str]:
    return (info.name, info.url, info.software, info.version, info.time, info.sig)


@pytest.mark.parametrize(
    "challenge",
    ["", "short", "x" * 65, "has space in it here", "pädding-pädding-pä", 7],
)
def test_bad_challenges(challenge: object) -> None:
    with pytest.raises(MalformedError):
        parse_challenge(challenge)


def test_an_event_signature_can_never_double_as_info() -> None:
    event = feed_of(KEY_A, 1)[0]
    assert not event.header_bytes.startswith(INFO_CONTEXT)


def test_heads_round_trip_and_limits() -> None:
    heads = Heads({KEY_A.feed: 3, KEY_B.feed: 1}, "c:42")
    assert Heads.from_json(_round_trip(heads)) == heads
    with pytest.raises(MalformedError):
        Heads.from_json({"heads": {KEY_A.feed: 0}, "cursor": "x"})
    with pytest.raises(MalformedError):
        Heads.from_json({"heads": {"not-a-feed": 1}, "cursor": "x"})
    with pytest.raises(MalformedError):
        Heads.from_json({"heads": {}, "cursor": "x" * 300})
    with pytest.raises(MalformedError):
        Heads.from_json({"heads": {}})
    many: dict[str, JsonValue] = {f"k{i}": 1 for i in range(MAX_HEADS + 1)}
    with pytest.raises(TooLargeError):
        Heads.from_json({"heads": many, "cursor": ""})


def test_notify_round_trip_and_refusals() -> None:
    notify = Notify(KEY_A.feed, 7, "http://127.0.0.1:8080")
    assert Notify.from_json(_round_trip(notify)) == notify
    for bad in (
        {"feed": KEY_A.feed, "seq": 7},
        {"feed": KEY_A.feed, "seq": -1, "url": "http://a.example"},
        {"feed": KEY_A.feed, "seq": 1, "url": "ftp://a.example"},
        {"feed": KEY_A.feed, "seq": 1, "url": "http://user:pw@a.example"},
        {"feed": KEY_A.feed, "seq": 1, "url": "http://a.example/#x"},
        {"feed": KEY_A.feed, "seq": 1, "url": "http://a.example:99999"},
        {"feed": KEY_A.feed, "seq": 1, "url": "/relative"},
        {"feed": KEY_A.feed, "seq": 1, "url": "HTTP://a.example"},
        {"feed": KEY_A.feed, "seq": 1, "url": "http://a.example/?"},
    ):
        with pytest.raises(MalformedError):
            Notify.from_json(bad)  # type: ignore[arg-type]


def test_urls_lose_a_trailing_slash() -> None:
    assert parse_url("https://a.example/node/") == "https://a.example/node"


def test_peers_round_trip_and_limit() -> None:
    peers = Peers(
        (
            PeerEntry("https://a.example", KEY_A.feed, T0),
            PeerEntry("http://[::1]:8081", None, None),
        )
    )
    assert Peers.from_json(_round_trip(peers)) == peers
    entry: JsonValue = {"url": "http://a.example", "feed": None, "last_seen": None}
    with pytest.raises(TooLargeError):
        Peers.from_json({"peers": [entry] * (MAX_PEERS + 1)})
    with pytest.raises(MalformedError):
        Peers.from_json({"peers": [{"url": "http://a.example", "extra": 1}]})


def test_fork_proofs() -> None:
    first, second = feed_of(KEY_A, 2)
    rival = sign(KEY_A, first, T0 + 9, "campaign.updated", {"title": "Other"})
    proof = ForkProof.of(second, rival)
    forks = Forks((proof,))
    assert Forks.from_json(_round_trip(forks)) == forks
    # A redacted event still proves a fork.
    ForkProof.of(second.without_body(), rival)
    with pytest.raises(MalformedError):
        ForkProof.of(second, second)
    three = proof.to_json()
    three["events"] = [second.to_wire(), rival.to_wire(), rival.to_wire()]
    with pytest.raises(MalformedError):
        ForkProof.from_json(three)
    forged = sign(KEY_B, None, T0, "group.profile_set", {"name": "x"})
    bad = proof.to_json()
    wire = forged.to_wire()
    wire["feed"], wire["seq"], wire["prev"] = KEY_A.feed, 2, first.id
    bad["events"] = [second.to_wire(), wire]
    with pytest.raises(InvalidSignatureError):
        ForkProof.from_json(bad)


def test_feed_pages_keep_the_good_events_before_a_bad_one() -> None:
    events = feed_of(KEY_A, 4)
    page = encode_feed_page(events)
    assert page.count(b"\n") == 4
    assert list(decode_feed_page(page)) == events
    lines = page.split(b"\n")
    lines[2] = b'{"v":1'
    got: list[Event] = []
    with pytest.raises(ProtocolError) as caught:
        got.extend(decode_feed_page(b"\n".join(lines)))
    assert caught.value.code == "malformed"
    assert got == events[:2]
    with pytest.raises(TooLargeError):
        list(decode_feed_page(page, limit=3))


def test_page_limits_are_clamped() -> None:
    assert clamp_limit(None) == DEFAULT_PAGE_LIMIT == 500
    assert clamp_limit(5000) == MAX_PAGE_LIMIT == 1000
    assert clamp_limit(0) == 1
    assert clamp_limit(-3) == 1
    assert clamp_limit(20) == 20
