"""Run every language-neutral test vector in ``tests/vectors/``.

Valid vectors are checked twice: independently of our code (the rfc8785
package, hashlib, the Ed25519 primitive) and through the protocol package.
Invalid vectors must be refused with exactly their stable code.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import schemas
from protocol import (
    BodyValidator,
    Event,
    JsonObject,
    ProtocolError,
    SigningKey,
    base64url,
    decode_event,
    verify,
    verify_link,
)

VECTORS = Path(__file__).parents[2] / "tests" / "vectors"
VALID = sorted((VECTORS / "valid").glob("*.json"))
INVALID = sorted((VECTORS / "invalid").glob("*.json"))
CODES = {
    "malformed",
    "non-canonical",
    "too-large",
    "unknown-version",
    "bad-signature",
    "bad-body-hash",
    "seq-gap",
    "prev-mismatch",
    "fork",
    "schema",
    "unknown-type",
}
VALIDATOR = BodyValidator(schemas.load_event_schemas())


def _load(path: Path) -> JsonObject:
    value: JsonObject = json.loads(path.read_text("utf-8"))
    return value


def _b64(text: str) -> bytes:
    return base64url.decode(text.split(":")[-1])


def test_there_are_enough_vectors() -> None:
    assert len(VALID) >= 10
    codes = {_load(path)["error"] for path in INVALID}
    assert codes == CODES


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_vector_independently(path: Path) -> None:
    vector = _load(path)
    assert set(vector) == {
        "description",
        "secret_key_hex",
        "event",
        "canonical_header",
        "id",
        "body_hash",
    }
    event = vector["event"]
    assert isinstance(event, dict)
    header = {k: v for k, v in event.items() if k not in ("sig", "body")}
    canonical_header = rfc8785.dumps(header)
    assert canonical_header == str(vector["canonical_header"]).encode("utf-8")
    digest = hashlib.sha256(canonical_header).digest()
    assert _b64(str(vector["id"])) == digest
    assert vector["body_hash"] == event["body_hash"]
    if "body" in event:
        body_bytes = rfc8785.dumps(event["body"])
        assert len(body_bytes) == event["body_size"]
        assert _b64(str(event["body_hash"])) == hashlib.sha256(body_bytes).digest()
    public = Ed25519PublicKey.from_public_bytes(_b64(str(event["feed"])))
    public.verify(_b64(str(event["sig"])), canonical_header)
    key = SigningKey.from_seed(bytes.fromhex(str(vector["secret_key_hex"])))
    assert key.feed == event["feed"]
    assert base64url.encode(key.sign(canonical_header)) == event["sig"]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_vector_through_the_protocol(path: Path) -> None:
    vector = _load(path)
    text = json.dumps(vector["event"], ensure_ascii=False).encode("utf-8")
    event = decode_event(text)
    verify(event)
    assert event.header_bytes.decode("utf-8") == vector["canonical_header"]
    assert event.id == vector["id"]
    assert event.to_wire() == vector["event"]
    VALIDATOR.validate_event(event)


def _check(previous: Event | None, text: bytes) -> None:
    event = decode_event(text)
    verify(event)
    verify_link(previous, event)
    VALIDATOR.validate_event(event)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_vector_is_refused_with_its_code(path: Path) -> None:
    vector = _load(path)
    assert set(vector) == {"description", "previous", "event", "error"}
    previous = None
    if vector["previous"] is not None:
        previous = decode_event(json.dumps(vector["previous"]))
        verify(previous)
    raw = vector["event"]
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    with pytest.raises(ProtocolError) as caught:
        _check(previous, text.encode("utf-8"))
    assert caught.value.code == vector["error"], caught.value.message


def test_vectors_on_disk_are_what_the_generator_writes() -> None:
    sys.path.insert(0, str(VECTORS))
    try:
        import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(VECTORS))
    expected = {name: generate.render(v) for name, v in generate.vectors().items()}
    on_disk = {
        path.relative_to(VECTORS).as_posix(): path.read_text("utf-8")
        for path in VALID + INVALID
    }
    assert on_disk == expected
