"""Ed25519 keys and the feed ids made from them (``docs/protocol.md#feeds``).

A feed id is ``ed25519:`` + unpadded base64url of the 32-byte public key. A
private key is serialised as its 32-byte seed; where it is kept is the node's
business, not the protocol's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from protocol import base64url
from protocol.errors import MalformedError
from protocol.types import FeedId

__all__ = [
    "FEED_PREFIX",
    "SigningKey",
    "is_valid_signature",
    "parse_feed_id",
]

FEED_PREFIX = "ed25519:"
_FEED_PATTERN = re.compile(r"ed25519:[A-Za-z0-9_-]{43}")
SEED_SIZE = 32
SIGNATURE_SIZE = 64


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A feed's private key, with the feed id it signs for."""

    private_key: Ed25519PrivateKey
    feed: FeedId

    @classmethod
    def generate(cls) -> SigningKey:
        """Make a new key from the crypto library's randomness.

        Returns:
            A fresh key.
        """
        return cls._from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Rebuild a key from its 32-byte seed.

        Args:
            seed: The bytes :meth:`seed` returned.

        Returns:
            The key.

        Raises:
            MalformedError: The seed is not 32 bytes.
        """
        if len(seed) != SEED_SIZE:
            raise MalformedError(
                f"an Ed25519 seed is {SEED_SIZE} bytes, not {len(seed)}"
            )
        return cls._from_private(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def _from_private(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(private_key, FeedId(FEED_PREFIX + base64url.encode(public)))

    def seed(self) -> bytes:
        """Serialise the key as its 32-byte seed.

        Returns:
            The seed; keep it secret.
        """
        return self.private_key.private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )

    def sign(self, message: bytes) -> bytes:
        """Sign bytes.

        Args:
            message: The exact bytes to sign.

        Returns:
            The 64-byte signature.
        """
        return self.private_key.sign(message)

    def __repr__(self) -> str:
        # Never print the secret.
        return f"SigningKey(feed={self.feed!r})"


def parse_feed_id(text: object, *, field: str = "feed") -> FeedId:
    """Check that a value is a well-formed feed id.

    Args:
        text: The value to check.
        field: Where it came from, for the error.

    Returns:
        The feed id.

    Raises:
        MalformedError: Not ``ed25519:`` + strict base64url of 32 bytes.
    """
    if not isinstance(text, str) or _FEED_PATTERN.fullmatch(text) is None:
        raise MalformedError(f"{field} is not an ed25519 feed id", field_path=field)
    base64url.decode(text[len(FEED_PREFIX) :], length=32, field=field)
    return FeedId(text)


@lru_cache(maxsize=4096)
def _public_key(feed: FeedId) -> Ed25519PublicKey:
    raw = base64url.decode(feed[len(FEED_PREFIX) :], length=32, field="feed")
    return Ed25519PublicKey.from_public_bytes(raw)


def is_valid_signature(feed: FeedId, signature: bytes, message: bytes) -> bool:
    """Tell whether ``signature`` is the feed key's signature of ``message``.

    Args:
        feed: A feed id already checked with :func:`parse_feed_id`.
        signature: The 64 signature bytes.
        message: The signed bytes.

    Returns:
        True when the signature verifies.
    """
    try:
        _public_key(feed).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
