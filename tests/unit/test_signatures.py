"""Standard Webhooks verification with rotation, API keys with rotation, and what odd inputs and
configured secrets fail as."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import EmptyWebhookSecretError

from shared.signatures import (
    SignatureError,
    parse_secrets,
    verify_api_key,
    verify_signature,
)
from tests.support.signing import (
    new_secret,
    order_webhook_body,
    signed_headers,
    svix_signed_headers,
)

BODY = order_webhook_body()


def test_a_valid_signature_passes() -> None:
    secret = new_secret()
    verify_signature(BODY, signed_headers(BODY, secret), [secret])


def test_header_names_are_case_insensitive() -> None:
    secret = new_secret()
    headers = {k.upper(): v for k, v in signed_headers(BODY, secret).items()}
    verify_signature(BODY, headers, [secret])


def test_a_body_signed_with_the_previous_secret_passes_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    verify_signature(BODY, signed_headers(BODY, old), parse_secrets(f"{new} {old}"))


def test_several_signatures_in_the_header_pass_if_one_matches() -> None:
    ours, theirs = new_secret(), new_secret()
    headers = signed_headers(BODY, theirs, extra_secrets=(ours,))
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify_signature(BODY, headers, [ours])


def test_a_tampered_body_fails() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY.replace(b"QO-", b"QO-1"), headers, [secret])


def test_another_secret_fails() -> None:
    with pytest.raises(SignatureError):
        verify_signature(BODY, signed_headers(BODY, new_secret()), [new_secret()])


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_outside_five_minutes_fails(minutes: int) -> None:
    secret = new_secret()
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    with pytest.raises(SignatureError, match=r"too (old|new)"):
        verify_signature(BODY, signed_headers(BODY, secret, at=at), [secret])


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_fails(missing: str) -> None:
    secret = new_secret()
    headers = {k: v for k, v in signed_headers(BODY, secret).items() if k != missing}
    with pytest.raises(SignatureError, match="Missing required headers"):
        verify_signature(BODY, headers, [secret])


@pytest.mark.parametrize("signature", ["v1", "v1,not-base64!!", "nonsense"])
def test_a_malformed_signature_fails_cleanly(signature: str) -> None:
    secret = new_secret()
    headers = {**signed_headers(BODY, secret), "webhook-signature": signature}
    with pytest.raises(SignatureError):
        verify_signature(BODY, headers, [secret])


def test_an_empty_secret_value_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_secrets("   ")


def test_an_api_key_matches_either_active_key_during_rotation() -> None:
    verify_api_key("new-key", ["new-key", "old-key"])
    verify_api_key("old-key", ["new-key", "old-key"])


@pytest.mark.parametrize(
    ("given", "keys", "message"),
    [
        (None, ["k"], "missing API key"),
        ("", ["k"], "missing API key"),
        ("guess", ["k1", "k2"], "not recognised"),
        ("k1-with-suffix", ["k1"], "not recognised"),
        ("k", [], "no API key configured"),
    ],
)
def test_a_wrong_or_missing_api_key_fails(given: str | None, keys: list[str], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify_api_key(given, keys)


def test_a_body_that_is_not_utf8_fails_as_a_signature_error() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    with pytest.raises(SignatureError, match="UTF-8"):
        verify_signature(b"\xff\xfe" + BODY, headers, [secret])


def test_an_id_that_cannot_be_encoded_fails_as_a_signature_error() -> None:
    secret = new_secret()
    headers = {**svix_signed_headers(BODY, secret), "svix-id": "msg_\ud800"}
    with pytest.raises(SignatureError, match="malformed signature headers"):
        verify_signature(BODY, headers, [secret])


def test_an_unparseable_timestamp_fails_as_a_signature_error() -> None:
    secret = new_secret()
    headers = {**svix_signed_headers(BODY, secret), "svix-timestamp": "soon"}
    with pytest.raises(SignatureError, match="Invalid Signature Headers"):
        verify_signature(BODY, headers, [secret])


@pytest.mark.parametrize(
    ("secret", "error"),
    [("whsec_", EmptyWebhookSecretError), ("whsec_a", ValueError)],
    ids=["empty", "bad-base64"],
)
def test_a_bad_configured_secret_raises_a_configuration_error(
    secret: str, error: type[Exception]
) -> None:
    # Given a well-signed delivery but a broken secret among the configured ones
    good = new_secret()
    headers = signed_headers(BODY, good)

    # Then it is not answered as a bad signature (a 401) but raised as what it is
    with pytest.raises(error) as raised:
        verify_signature(BODY, headers, [good, secret])
    assert not isinstance(raised.value, SignatureError)


def test_no_configured_secret_fails() -> None:
    with pytest.raises(SignatureError, match="no signing secret"):
        verify_signature(BODY, signed_headers(BODY, new_secret()), [])
