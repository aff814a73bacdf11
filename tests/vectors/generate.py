"""Write the language-neutral test vectors in ``tests/vectors/``.

Run ``python tests/vectors/generate.py`` from the repository root after a
deliberate change to the wire format; ``tests/protocol/test_vectors.py`` fails
when the files on disk differ from what this script writes, and checks each
vector independently (RFC 8785 encoder, SHA-256, Ed25519) of this script.

Valid vectors: ``{description, secret_key_hex, event, canonical_header, id,
body_hash}``. Invalid vectors: ``{description, previous, event, error}``,
``event`` being a string where the exact text matters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from protocol import (  # noqa: E402
    Event,
    JsonObject,
    JsonValue,
    SigningKey,
    base64url,
    canonical,
    digest,
    sign,
)

OUT = Path(__file__).parent
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
OTHER_SEED = bytes.fromhex(
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
)
KEY = SigningKey.from_seed(SEED)
OTHER = SigningKey.from_seed(OTHER_SEED)
T0 = 1_796_119_200_000
REF = "sha256:" + base64url.encode(bytes(range(32)))
PLACE: JsonObject = {
    "name": "Tredegar Workmen's Institute",
    "lat_e6": 51772200,
    "lon_e6": -3246600,
}


def _chain(key: SigningKey, steps: list[tuple[str, JsonObject]]) -> list[Event]:
    events: list[Event] = []
    for index, (event_type, body) in enumerate(steps):
        previous = events[-1] if events else None
        events.append(sign(key, previous, T0 + 60_000 * index, event_type, body))
    return events


FEED = _chain(
    KEY,
    [
        ("group.profile_set", {"name": "Tredegar Unemployed Workers' Centre"}),
        (
            "meeting.scheduled",
            {
                "title": "Benefits and housing advice surgery",
                "kind": "advice_surgery",
                "starts_at": T0 + 86_400_000,
                "ends_at": T0 + 86_400_000 + 7_200_000,
                "tz": "Europe/London",
                "place": PLACE,
                "recurrence": {"freq": "weekly", "interval": 1},
                "programme": [
                    {
                        "title": "Drop-in",
                        "starts_at": T0 + 86_400_000,
                        "ends_at": T0 + 90_000_000,
                    },
                    {
                        "title": "Housing clinic",
                        "starts_at": T0 + 90_000_000,
                        "ends_at": T0 + 93_600_000,
                    },
                ],
            },
        ),
        ("campaign.updated", {"campaign": REF, "text": "Named a tenant"}),
        ("event.redacted", {"id": "", "reason": "Named a tenant by mistake."}),
    ],
)


def _valid() -> dict[str, tuple[str, SigningKey, Event]]:
    redact_target = FEED[2]
    # Re-sign the redaction naming the real target (its id is known only now).
    redaction = sign(
        KEY,
        redact_target,
        FEED[3].ts,
        "event.redacted",
        {"id": redact_target.id, "reason": "Named a tenant by mistake."},
    )
    counted = sign(
        KEY,
        redaction,
        T0 + 600_000,
        "meeting.attendance_counted",
        {"meeting": FEED[1].id, "yes": 0, "maybe": 0, "no": 0},
    )
    cymraeg = sign(
        KEY,
        None,
        T0,
        "group.profile_set",
        {
            "name": "Cymdeithas Tenantiaid Glynebwy — ŵ ŷ â",
            "area": "Glynebwy / Ebbw Vale, 😀 Blaenau Gwent",
            "description": "Ein cyfarfod: nos Fawrth. 日本語もOK.",
        },
    )
    escapes = sign(
        KEY,
        None,
        T0,
        "guide.published",
        {
            "title": 'Quotes " and \\ backslashes </script>',
            "text": "Line one\nLine two\tTabbed\r\nCR\u0001\u001f\u007f\u2028\u2029/\b\f",
        },
    )
    other = _chain(
        OTHER,
        [
            (
                "group.profile_set",
                {
                    "name": "Rhymney Mutual Aid",
                    "place": {
                        "name": "Rhymney",
                        "lat_e6": 51758000,
                        "lon_e6": -3283000,
                    },
                },
            ),
            (
                "need.posted",
                {
                    "title": "Lift to the hospital on Thursdays",
                    "category": "transport",
                    "until": 9007199254740991,
                },
            ),
            (
                "pledge.totals_reported",
                {"target": REF, "pledgers": 31, "total_pence": 41250},
            ),
            (
                "feed.moved",
                {"new_feed": KEY.feed, "reason": "The old key was on a lost laptop."},
            ),
        ],
    )
    return {
        "01-first-event": ("the first event of a feed: seq 1, prev null", KEY, FEED[0]),
        "02-later-seq": (
            "a later event with a nested body: seq 2 names the id of seq 1",
            KEY,
            FEED[1],
        ),
        "03-zero-counts": ("zero counts after a redaction, seq 5", KEY, counted),
        "04-non-ascii": (
            "non-ASCII text, written as raw UTF-8 (an emoji above U+FFFF included)",
            KEY,
            cymraeg,
        ),
        "05-escapes": (
            "escapes: quote, backslash, C0 controls (short and \\u00xx forms), DEL, U+2028 and U+2029 written raw",
            KEY,
            escapes,
        ),
        "06-redacted": (
            "a redacted event: served without its body key, still verifies",
            KEY,
            redact_target.without_body(),
        ),
        "07-redaction": ("the event.redacted naming it, seq 4", KEY, redaction),
        "08-coordinates": (
            "integer micro-degree coordinates, negative longitude",
            OTHER,
            other[0],
        ),
        "09-max-integer": (
            "the largest integer in the subset, 2^53 - 1",
            OTHER,
            other[1],
        ),
        "10-amounts": ("amounts in pence, seq 3", OTHER, other[2]),
        "11-feed-moved": (
            "key rotation: the old feed names the new one, seq 4",
            OTHER,
            other[3],
        ),
    }


def _valid_vector(description: str, key: SigningKey, event: Event) -> JsonObject:
    return {
        "description": description,
        "secret_key_hex": key.seed().hex(),
        "event": event.to_wire(),
        "canonical_header": event.header_bytes.decode("utf-8"),
        "id": event.id,
        "body_hash": event.body_hash,
    }


def _resigned(header: JsonObject, body: JsonValue, key: SigningKey = KEY) -> JsonObject:
    """A wire object whose (possibly wrong) header is properly signed."""
    wire: JsonObject = dict(header)
    wire["sig"] = base64url.encode(key.sign(canonical.encode(header)))
    wire["body"] = body
    return wire


def _invalid() -> dict[str, tuple[str, JsonValue, JsonValue, str]]:
    first, second, third = FEED[0], FEED[1], FEED[2]
    text = first.wire_bytes().decode("utf-8")
    filler = 65_537 - len(canonical.encode({"text": "", "title": "Big"}))
    big_body: JsonObject = {"title": "Big", "text": "x" * filler}
    big_bytes = canonical.encode(big_body)
    big_header = first.header()
    big_header["body_size"] = len(big_bytes)
    big_header["body_hash"] = digest(big_bytes)
    fork = sign(KEY, first, T0 + 1, "meeting.cancelled", {"meeting": REF})
    rival_first = sign(
        KEY, None, T0 + 7, "group.profile_set", {"name": "A rival first event"}
    )
    v2 = first.header()
    v2["v"] = 2
    size_lie = second.header()
    assert second.body is not None
    size_lie["body_size"] = second.body_size + 1
    wrong_sig = first.to_wire()
    wrong_sig["sig"] = second.sig
    other_body = second.to_wire()
    other_body["body"] = {"name": "Somebody else"}
    extra_key = first.to_wire()
    extra_key["author"] = "me"
    bad_type = sign(KEY, first, T0 + 2, "meeting.teleported", {"title": "Beam us up"})
    bad_schema = sign(
        KEY, first, T0 + 3, "meeting.scheduled", {"title": "No start time"}
    )
    return {
        "malformed-not-json": ("truncated JSON text", None, text[:40], "malformed"),
        "malformed-extra-key": (
            "a key outside the envelope",
            None,
            extra_key,
            "malformed",
        ),
        "malformed-missing-sig": (
            "the sig key is missing",
            None,
            {k: v for k, v in first.to_wire().items() if k != "sig"},
            "malformed",
        ),
        "malformed-padding": (
            "sig written with base64 padding",
            None,
            first.to_wire() | {"sig": first.sig + "=="},
            "malformed",
        ),
        "malformed-spare-bits": (
            "feed id whose last character has non-zero spare bits",
            None,
            first.to_wire() | {"feed": first.feed[:-1] + _flip(first.feed[-1])},
            "malformed",
        ),
        "malformed-seq-string": (
            "seq as a string",
            None,
            first.to_wire() | {"seq": "1"},
            "malformed",
        ),
        "malformed-prev-at-seq-1": (
            "prev set at seq 1",
            None,
            first.to_wire() | {"prev": REF},
            "malformed",
        ),
        "non-canonical-float": (
            "a float in the body",
            None,
            text.replace('"body":{"name":', '"body":{"lat":51.5,"name":'),
            "non-canonical",
        ),
        "non-canonical-duplicate-key": (
            "a duplicate key in the header",
            None,
            text.replace('"seq":1,', '"seq":1,"seq":1,'),
            "non-canonical",
        ),
        "non-canonical-big-integer": (
            "an integer above 2^53 - 1",
            None,
            text.replace('"seq":1,', '"seq":9007199254740992,'),
            "non-canonical",
        ),
        "non-canonical-non-ascii-key": (
            "a non-ASCII object key",
            None,
            text.replace('"body":{', '"body":{"caf\u00e9":1,'),
            "non-canonical",
        ),
        "non-canonical-lone-surrogate": (
            "a lone surrogate escape",
            None,
            text.replace("Centre", "Centre\\ud800"),
            "non-canonical",
        ),
        "too-large-body": (
            "body_size over 65536, body and hash to match",
            None,
            _resigned(big_header, big_body),
            "too-large",
        ),
        "unknown-version": (
            "envelope version 2, properly signed",
            None,
            _resigned(v2, first.body),
            "unknown-version",
        ),
        "bad-signature-swapped": (
            "the signature of another event",
            None,
            wrong_sig,
            "bad-signature",
        ),
        "bad-signature-other-key": (
            "the right header signed by another key",
            None,
            _resigned(first.header(), first.body, OTHER),
            "bad-signature",
        ),
        "bad-body-hash-changed-body": (
            "the body swapped for another",
            first.to_wire(),
            other_body,
            "bad-body-hash",
        ),
        "bad-body-hash-size": (
            "body_size one more than the body, properly signed",
            first.to_wire(),
            _resigned(size_lie, second.body),
            "bad-body-hash",
        ),
        "seq-gap": ("seq 3 after seq 1", first.to_wire(), third.to_wire(), "seq-gap"),
        "seq-gap-first": (
            "seq 2 when no event of the feed is held",
            None,
            second.to_wire(),
            "seq-gap",
        ),
        "prev-mismatch": (
            "seq 2 whose prev is not the held seq 1",
            rival_first.to_wire(),
            second.to_wire(),
            "prev-mismatch",
        ),
        "fork": (
            "a second, different valid event for a seq already held",
            second.to_wire(),
            fork.to_wire(),
            "fork",
        ),
        "schema": (
            "a meeting without a start time (publishing)",
            first.to_wire(),
            bad_schema.to_wire(),
            "schema",
        ),
        "unknown-type": (
            "a type with no schema (publishing)",
            first.to_wire(),
            bad_type.to_wire(),
            "unknown-type",
        ),
    }


def _flip(last: str) -> str:
    # For 32 bytes the final character carries 4 data bits and 2 spare bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return alphabet[alphabet.index(last) ^ 1]


def vectors() -> dict[str, JsonObject]:
    """Every vector, by relative path."""
    out: dict[str, JsonObject] = {}
    for name, (description, key, event) in _valid().items():
        out[f"valid/{name}.json"] = _valid_vector(description, key, event)
    for name, (description, previous, wire, error) in _invalid().items():
        out[f"invalid/{name}.json"] = {
            "description": description,
            "previous": previous,
            "event": wire,
            "error": error,
        }
    return out


def render(vector: JsonObject) -> str:
    """The file text of a vector."""
    return json.dumps(vector, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write every vector file."""
    for relative, vector in vectors().items():
        path = OUT / relative
        path.parent.mkdir(exist_ok=True)
        path.write_text(render(vector), "utf-8")


if __name__ == "__main__":
    main()
