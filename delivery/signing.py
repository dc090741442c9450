"""Standard Webhooks signatures (https://www.standardwebhooks.com, version 1).

Invariants owned here:
- A secret is `whsec_` + base64 of 24 random bytes (192 bits); only the bytes after the prefix
  key the HMAC.
- The signed content is `webhook-id.webhook-timestamp.body` with the body's exact bytes; the
  signature header is `v1,` + base64 of HMAC-SHA256 over it (space-separated when several).
- `verify` compares in constant time and refuses a timestamp more than `TOLERANCE` seconds
  away from now, so a captured request cannot be replayed later.

Tested against the specification's published example (tests/delivery/test_signing.py) and
cross-checked with the reference `standardwebhooks` library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from ledger.text import digits

__all__ = [
    "PREFIX",
    "TOLERANCE",
    "InvalidSignature",
    "headers_for",
    "new_secret",
    "sign",
    "verify",
]

PREFIX = "whsec_"
#: Seconds a receiver accepts between the timestamp and its clock (the specification's 5 min).
TOLERANCE = 300


class InvalidSignature(Exception):
    """Raised when a webhook's headers are missing, stale, or sign something else."""


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 24 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    body = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("a webhook secret is whsec_ followed by base64") from err
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of `body` sent as `msg_id` at Unix time `timestamp`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers_for(secret: str, msg_id: str, body: bytes, *, now: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (the timestamp is the attempt's)."""
    stamp = int(time.time()) if now is None else now
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: int | None = None) -> None:
    """Check a received webhook, as a receiver does.

    Raises:
        InvalidSignature: a header is missing, the timestamp is not an integer or is more than
            `TOLERANCE` seconds away, or no `v1` signature matches.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (
        lower.get("webhook-id"),
        lower.get("webhook-timestamp"),
        lower.get("webhook-signature"),
    )
    if not (msg_id and stamp and signatures):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    if not digits(stamp):
        raise InvalidSignature("webhook-timestamp is not a Unix time")
    clock = int(time.time()) if now is None else now
    if abs(clock - int(stamp)) > TOLERANCE:
        raise InvalidSignature("webhook-timestamp is too far from now")
    expected = sign(secret, msg_id, int(stamp), body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in signatures.split(" ")):
        raise InvalidSignature("no signature matches")
