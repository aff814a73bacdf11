"""The envelope: signing, decoding and verifying, and every way it is refused."""

from __future__ import annotations

import dataclasses

import pytest

from protocol import (
    MAX_BODY_BYTES,
    BadBodyHashError,
    Event,
    ForkError,
    InvalidSignatureError,
    JsonValue,
    LocalProtocolError,
    MalformedError,
    NonCanonicalError,
    PrevMismatchError,
    ProtocolError,
    SeqGapError,
    TooLargeError,
    UnknownVersionError,
    base64url,
    canonical,
    decode_event,
    digest,
    receive,
    sign,
    verify,
    verify_chain,
)
from protocol.event import MAX_EVENT_TEXT_BYTES
from tests.protocol.helpers import DROP, KEY_A, KEY_B, T0, feed_of, tampered


def test_a_signed_feed_round_trips_and_verifies() -> None:
    events = feed_of(KEY_A, 5)
    previous: Event | None = None
    for event in events:
        received = receive(event.wire_bytes(), previous)
        assert received == event
        previous = received
    verify_chain(events)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[1].prev == events[0].id


def test_id_and_body_hash_are_sha256_of_canonical_bytes() -> None:
    event = feed_of(KEY_A, 1)[0]
    assert event.id == digest(event.header_bytes)
    assert event.body is not None
    assert event.body_hash == digest(canonical.encode(event.body))
    assert b'"sig"' not in event.header_bytes
    assert event.header_bytes.startswith(b'{"body_hash":"sha256:')


def test_a_redacted_event_still_verifies_and_links() -> None:
    first, second, third = feed_of(KEY_A, 3)
    redacted = second.without_body()
    assert b'"body"' not in redacted.wire_bytes()
    held = receive(redacted.wire_bytes(), first)
    assert held.is_redacted
    assert held.id == second.id
    receive(third.wire_bytes(), held)


def test_non_canonical_text_is_accepted_and_recanonicalised() -> None:
    event = feed_of(KEY_A, 1)[0]
    import json

    loose = json.dumps(event.to_wire(), indent=1, ensure_ascii=True)
    assert decode_event(loose) == event


def test_signing_refuses_misuse() -> None:
    other = feed_of(KEY_B, 1)[0]
    with pytest.raises(LocalProtocolError):
        sign(KEY_A, other, T0, "campaign.updated", {})
    with pytest.raises(LocalProtocolError):
        sign(KEY_A, None, -1, "group.profile_set", {})
    with pytest.raises(MalformedError):
        sign(KEY_A, None, T0, "Not A Type", {})
    with pytest.raises(NonCanonicalError):
        sign(KEY_A, None, T0, "group.profile_set", {"lat": 51.5})  # type: ignore[dict-item]
    with pytest.raises(TooLargeError):
        sign(KEY_A, None, T0, "guide.published", {"text": "x" * MAX_BODY_BYTES})


def _refused(text: bytes | str, previous: Event | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        receive(text, previous)
    return caught.value


# --- malformed -------------------------------------------------------------

GOOD = feed_of(KEY_A, 2)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"extra": 1}, None),
        ({"sig": DROP}, None),
        ({"prev": DROP}, None),
        ({"seq": "1"}, "seq"),
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"ts": -1}, "ts"),
        ({"type": "Meeting Scheduled"}, "type"),
        ({"type": 7}, "type"),
        ({"feed": "ed25519:abc"}, "feed"),
        ({"feed": "rsa:" + "A" * 43}, "feed"),
        ({"body_hash": "sha256:" + "A" * 42 + "B"}, "body_hash"),
        ({"prev": "sha256:" + "A" * 43}, "prev"),
        ({"body": [1, 2]}, "body"),
        ({"body_size": -1}, "body_size"),
        ({"v": "1"}, "v"),
        ({"v": DROP}, "v"),
    ],
)
def test_wrong_keys_and_types_are_malformed(
    changes: dict[str, JsonValue], path: str | None
) -> None:
    error = _refused(tampered(GOOD[0], **changes))
    assert error.code == "malformed"
    if path is not None:
        assert error.field_path == path


def test_base64url_must_be_strict() -> None:
    sig = GOOD[0].sig
    for bad in (sig + "==", sig[:-1] + "=", sig[:-1] + "+", sig[:-1] + "R", sig[:-2]):
        assert _refused(tampered(GOOD[0], sig=bad)).code == "malformed"
    feed = GOOD[0].feed
    # The last character of 32 bytes in base64url carries 2 spare bits.
    spare = feed[:-1] + ("B" if feed[-1] == "A" else "A")
    if spare[-1] == "B":
        assert _refused(tampered(GOOD[0], feed=spare)).code == "malformed"
    with pytest.raises(MalformedError):
        base64url.decode("QQ==")
    with pytest.raises(MalformedError):
        base64url.decode("QR")
    with pytest.raises(MalformedError):
        base64url.decode("Q")
    assert base64url.decode("QQ") == b"A"


def test_prev_must_match_seq_one() -> None:
    assert _refused(tampered(GOOD[0], prev=GOOD[1].id)).code == "malformed"
    assert _refused(tampered(GOOD[1], prev=None), GOOD[0]).code == "malformed"


def test_not_an_object() -> None:
    for text in (b"[]", b"null", b'"event"', b"{", b"\x80"):
        assert _refused(text).code == "malformed"


# --- non-canonical, too-large, unknown-version ------------------------------


def test_non_canonical_values_in_an_event() -> None:
    text = GOOD[0].wire_bytes()
    assert _refused(text.replace(b'"seq":1', b'"seq":1.0')).code == "non-canonical"
    assert _refused(text.replace(b'"v":1', b'"v":1,"v":1')).code == "non-canonical"
    body = text.replace(b'"name":', b'"\xc3\xa9":1,"name":')
    assert _refused(body).code == "non-canonical"


def test_too_large_is_refused_before_parsing() -> None:
    huge = b'{"pad":"' + b"x" * MAX_EVENT_TEXT_BYTES + b'"}'
    assert _refused(huge).code == "too-large"


def test_declared_body_size_over_the_limit() -> None:
    error = _refused(tampered(GOOD[0], body_size=MAX_BODY_BYTES + 1))
    assert error.code == "too-large"


def test_unknown_version() -> None:
    error = _refused(tampered(GOOD[0], v=2))
    assert error.code == "unknown-version"
    assert isinstance(error, UnknownVersionError)
    # A future envelope may have other keys: the version is checked first.
    assert _refused(tampered(GOOD[0], v=2, extra="x")).code == "unknown-version"


# --- signatures and body hashes ---------------------------------------------


def test_signature_from_another_key() -> None:
    forged = sign(KEY_B, None, T0, "group.profile_set", {"name": "Ystalyfera Tenants"})
    error = _refused(tampered(forged, feed=KEY_A.feed))
    assert isinstance(error, InvalidSignatureError)


@pytest.mark.parametrize("field", ["ts", "seq", "type", "body_size"])
def test_any_header_change_breaks_the_signature(field: str) -> None:
    event = GOOD[1]
    changed: dict[str, JsonValue] = {
        "ts": event.ts + 1,
        "seq": 3,
        "type": "campaign.launched",
        "body_size": event.body_size + 1,
    }
    value = changed[field]
    error = _refused(tampered(event, **{field: value}))
    assert error.code == "bad-signature"


def test_body_swapped_for_another() -> None:
    error = _refused(tampered(GOOD[0], body={"name": "Somebody Else"}))
    assert isinstance(error, BadBodyHashError)


def test_body_size_lies_but_hash_matches() -> None:
    # Re-sign a header whose size disagrees with the body.
    event = GOOD[0]
    header = event.header()
    header["body_size"] = event.body_size + 1
    header_bytes = canonical.encode(header)
    wire = dict(header)
    wire["sig"] = base64url.encode(KEY_A.sign(header_bytes))
    wire["body"] = event.body
    error = _refused(canonical.encode(wire))
    assert error.code == "bad-body-hash"
    assert error.field_path == "body_size"


# --- the chain ---------------------------------------------------------------


def test_seq_gap() -> None:
    events = feed_of(KEY_A, 3)
    assert isinstance(_refused(events[2].wire_bytes(), events[0]), SeqGapError)
    assert _refused(events[1].wire_bytes(), None).code == "seq-gap"


def test_prev_mismatch() -> None:
    events = feed_of(KEY_A, 2)
    other_first = sign(KEY_A, None, T0 + 99, "group.profile_set", {"name": "Other"})
    error = _refused(events[1].wire_bytes(), other_first)
    assert isinstance(error, PrevMismatchError)


def test_fork_and_duplicate() -> None:
    first, second = feed_of(KEY_A, 2)
    rival = sign(KEY_A, first, T0 + 5, "campaign.updated", {"title": "Rival history"})
    assert isinstance(_refused(rival.wire_bytes(), second), ForkError)
    # The very same event again is not a fork.
    assert receive(second.wire_bytes(), second) == second


def test_verify_catches_a_tampered_event_object() -> None:
    event = GOOD[1]
    assert event.body is not None
    forged = dataclasses.replace(event, body={**event.body, "title": "changed"})
    with pytest.raises(BadBodyHashError):
        verify(forged)


def test_signing_refuses_a_body_the_wire_event_could_not_hold() -> None:
    body: JsonValue = "deep"
    # The event is level 0, the body 1, "x" 2 … the deepest list level 31.
    for _ in range(30):
        body = [body]
    event = sign(KEY_A, None, T0, "guide.published", {"x": body})
    assert receive(event.wire_bytes(), None) == event
    with pytest.raises(NonCanonicalError):
        sign(KEY_A, None, T0, "guide.published", {"x": [body]})


def test_the_text_limit_counts_bytes_not_characters() -> None:
    text = '{"pad":"' + "é" * (MAX_EVENT_TEXT_BYTES // 2 + 10) + '"}'
    assert len(text) < MAX_EVENT_TEXT_BYTES
    assert _refused(text).code == "too-large"
