"""Standard Webhooks signature verification, with several active secrets for rotation.

A sender may use the Standard Webhooks header names (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) or Svix's (`svix-id`, `svix-timestamp`, `svix-signature`): the signed content
and the signature format are the same, only the names differ. The signature header is read the way
the specification asks (a whitespace-separated list of `version,signature` entries where unknown
versions are ignored), which the `standardwebhooks` library's own parser is too strict for; the
library still does the cryptography: the timestamp tolerance, the expected HMAC and the
constant-time comparison.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The id, timestamp and signature header names, in order of preference.
HEADER_SETS: tuple[tuple[str, str, str], ...] = (
    ("webhook-id", "webhook-timestamp", "webhook-signature"),
    ("svix-id", "svix-timestamp", "svix-signature"),
)
# A sender lists one signature per secret it signs with (two during a rotation); beyond this many
# `v1` entries a header is not a sender's but someone's attempt to make us work.
MAX_V1_SIGNATURES = 20
_DIGEST_BYTES = 32  # HMAC-SHA256: any other length can never match, so it is not worth comparing
_ENTRY = re.compile(r"\S+", re.ASCII)


class SignatureError(Exception):
    """Missing, malformed, stale or non-matching signature headers."""


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """What a verified signature vouches for, whichever header set carried it: `message_id` is
    the sender's id for the message (the same on every retry of it) and `timestamp` the signed
    `*-timestamp` header."""

    message_id: str
    timestamp: str


def parse_secrets(value: str) -> list[str]:
    """A secret value holds one or more whitespace-separated `whsec_...` secrets (newest first)."""
    secrets = value.split()
    if not secrets:
        raise ValueError("the signing secret is empty")
    return secrets


def verify_signature(
    body: bytes, headers: Mapping[str, str], secrets: Sequence[str]
) -> VerifiedDelivery:
    """Pass if any of `secrets` signed `<id>.<timestamp>.<body>` within 5 minutes; return the id.

    The complete `webhook-*` header set is used if present, else the complete `svix-*` set (names
    in any case). Of the signature header, only the first `MAX_V1_SIGNATURES` `v1` entries are
    considered; other versions and undecodable `v1` entries are skipped, and the delivery passes if
    any remaining entry matches any secret. With no usable `v1` entry at all it fails as
    non-matching before the timestamp is looked at.
    """
    verifiers = [Webhook(secret) for secret in secrets]  # a bad secret is a config error: raise
    if not verifiers:
        raise SignatureError("no signing secret configured")
    message_id, timestamp, signature_header = _chosen_headers(headers)
    candidates = list(_v1_signatures(signature_header))
    if not candidates:
        raise SignatureError("No matching signature found: no well-formed v1 signature")
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        # The library signs text, as the senders' libraries do: such a body cannot be theirs.
        raise SignatureError("the body is not UTF-8 text") from exc
    # Rebuilt from the entries we accept, so the library's strict parser only sees clean ones.
    canonical = {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(candidates),
    }
    error = "No matching signature found"
    for verifier in verifiers:
        try:
            verifier.verify(text, canonical, json_parse=False)
        except WebhookVerificationError as exc:
            error = str(exc)
        except ValueError as exc:
            # An id that cannot be encoded (a lone surrogate from the event's JSON, say).
            raise SignatureError(f"malformed signature headers: {type(exc).__name__}") from exc
        else:
            return VerifiedDelivery(message_id=message_id, timestamp=timestamp)
    raise SignatureError(error)


def _chosen_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The id, timestamp and signature of the first complete header set."""
    plain = {key.lower(): value for key, value in headers.items()}
    for names in HEADER_SETS:
        message_id, timestamp, signature = (plain.get(name) for name in names)
        if message_id and timestamp and signature:
            return message_id, timestamp, signature
    # Half of one set and half of the other is not a delivery either sender would make.
    wanted = " or ".join(", ".join(names) for names in HEADER_SETS)
    raise SignatureError(f"Missing required headers: {wanted}")


def _v1_signatures(header: str) -> Iterator[str]:
    """The usable `v1` entries among the first `MAX_V1_SIGNATURES`, in canonical base64."""
    seen = 0
    for match in _ENTRY.finditer(header):
        version, _, signature = match.group().partition(",")
        if version != "v1":
            continue  # the specification: entries of other versions are ignored, whatever shape
        seen += 1
        if seen > MAX_V1_SIGNATURES:
            return
        try:
            digest = base64.b64decode(signature, validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            continue
        if len(digest) == _DIGEST_BYTES:
            yield f"v1,{base64.b64encode(digest).decode()}"


def verify_api_key(given: str | None, active_keys: Sequence[str]) -> None:
    """Pass if `given` equals one of the active keys (two during a rotation). Every key is
    compared in constant time, so timing does not tell how much of a guess was right."""
    if not given:
        raise SignatureError("missing API key")
    if not active_keys:
        raise SignatureError("no API key configured")
    matched = False
    for key in active_keys:
        matched |= hmac.compare_digest(given.encode(), key.encode())
    if not matched:
        raise SignatureError("API key not recognised")
