"""Standard Webhooks signature verification, with several active secrets for rotation."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class SignatureError(Exception):
    """Missing, malformed, stale or non-matching signature headers."""


def parse_secrets(value: str) -> list[str]:
    """A secret value holds one or more whitespace-separated `whsec_...` secrets (newest first)."""
    secrets = value.split()
    if not secrets:
        raise ValueError("the signing secret is empty")
    return secrets


def verify_signature(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Pass if any of `secrets` signed `webhook-id.webhook-timestamp.body` within 5 minutes.

    The library checks the timestamp tolerance and every space-separated `v1,` signature of the
    `webhook-signature` header; we try each of our active secrets in turn.
    """
    plain_headers = {key.lower(): value for key, value in headers.items()}
    verifiers = [Webhook(secret) for secret in secrets]  # a bad secret is a config error: raise
    last_error = "no signing secret configured"
    for verifier in verifiers:
        try:
            verifier.verify(body, plain_headers, json_parse=False)
            return
        except WebhookVerificationError as exc:
            last_error = str(exc)
            if "timestamp" in last_error.lower() or "missing" in last_error.lower():
                break  # the same for every secret: no point trying the others
        except (ValueError, TypeError) as exc:
            # A malformed signature entry (no comma, bad base64) or a non-UTF-8 body.
            last_error = f"malformed signature: {type(exc).__name__}"
            break
    raise SignatureError(last_error)


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
