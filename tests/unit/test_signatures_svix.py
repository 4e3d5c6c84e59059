"""Svix-named headers: verified like the webhook-* set, which is preferred when complete, and the
message id returned; interoperability with the svix library both ways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from shared.signatures import (
    SignatureError,
    VerifiedDelivery,
    verify_signature,
)
from tests.support.signing import (
    new_secret,
    order_webhook_body,
    signed_headers,
    svix_signed_headers,
)

BODY = order_webhook_body()


def test_svix_headers_signed_by_the_svix_library_pass_and_return_the_svix_id() -> None:
    # Given a delivery signed by the svix library, with Svix's own header names
    secret = new_secret()
    headers = svix_signed_headers(BODY, secret, msg_id="msg_svix_1")
    assert not any(name.startswith("webhook-") for name in headers)

    # When it is verified
    verified = verify_signature(BODY, headers, [secret])

    # Then it passes and the id it vouches for is the svix-id
    assert verified == VerifiedDelivery(
        message_id="msg_svix_1", timestamp=headers["svix-timestamp"]
    )


def test_webhook_headers_return_the_webhook_id() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret, webhook_id="msg_std_1")
    verified = verify_signature(BODY, headers, [secret])
    assert verified.message_id == "msg_std_1"
    assert verified.timestamp == headers["webhook-timestamp"]


@pytest.mark.parametrize("rename", [str.upper, str.title, lambda n: n.replace("svix", "SvIx")])
def test_svix_header_names_are_case_insensitive(rename: Callable[[str], str]) -> None:
    secret = new_secret()
    headers = {rename(k): v for k, v in svix_signed_headers(BODY, secret, msg_id="m1").items()}
    assert "svix-id" not in headers
    assert verify_signature(BODY, headers, [secret]).message_id == "m1"


def test_a_svix_delivery_of_a_tampered_body_fails() -> None:
    secret = new_secret()
    headers = svix_signed_headers(BODY, secret)
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY.replace(b"QO-", b"QO-1"), headers, [secret])


@pytest.mark.parametrize(("minutes", "message"), [(-6, "too old"), (6, "too new")])
def test_a_svix_timestamp_outside_five_minutes_fails(minutes: int, message: str) -> None:
    secret = new_secret()
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    with pytest.raises(SignatureError, match=message):
        verify_signature(BODY, svix_signed_headers(BODY, secret, at=at), [secret])


def test_a_svix_delivery_signed_with_the_previous_secret_passes_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    headers = svix_signed_headers(BODY, old, msg_id="m-rot")
    assert verify_signature(BODY, headers, [new, old]).message_id == "m-rot"


def test_the_complete_webhook_set_is_preferred_over_the_svix_set() -> None:
    # Given both complete sets, each validly signed, with different ids
    secret = new_secret()
    headers = {
        **svix_signed_headers(BODY, secret, msg_id="from-svix"),
        **signed_headers(BODY, secret, webhook_id="from-webhook"),
    }

    # Then the webhook-* set is the one verified and its id returned
    assert verify_signature(BODY, headers, [secret]).message_id == "from-webhook"


def test_a_complete_webhook_set_is_not_rescued_by_a_valid_svix_set() -> None:
    # Given a complete but wrongly signed webhook-* set next to a valid svix-* set
    secret = new_secret()
    headers = {
        **svix_signed_headers(BODY, secret),
        **signed_headers(BODY, new_secret()),
    }

    # Then the webhook-* set decides, and it does not match
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY, headers, [secret])


def test_an_incomplete_webhook_set_falls_back_to_a_complete_svix_set() -> None:
    secret = new_secret()
    headers = {**svix_signed_headers(BODY, secret, msg_id="svix-wins"), "webhook-id": "stray"}
    assert verify_signature(BODY, headers, [secret]).message_id == "svix-wins"


@pytest.mark.parametrize(
    "names",
    [
        pytest.param({"svix-id", "webhook-timestamp", "webhook-signature"}, id="svix-id+webhook"),
        pytest.param({"webhook-id", "svix-timestamp", "svix-signature"}, id="webhook-id+svix"),
        pytest.param({"svix-id", "svix-timestamp", "webhook-signature"}, id="svix-sig-missing"),
        pytest.param({"webhook-id", "svix-id", "webhook-timestamp"}, id="no-signature"),
        pytest.param(set(), id="none"),
    ],
)
def test_a_mix_of_incomplete_header_sets_is_missing_headers(names: set[str]) -> None:
    # Given the values of a valid delivery, spread over the two sets so neither is complete
    secret = new_secret()
    signed = signed_headers(BODY, secret)
    value_of = {
        "id": signed["webhook-id"],
        "timestamp": signed["webhook-timestamp"],
        "signature": signed["webhook-signature"],
    }
    headers = {name: value_of[name.split("-", 1)[1]] for name in names}

    # Then it is refused as missing headers, not verified against the mixture
    with pytest.raises(SignatureError, match="Missing required headers"):
        verify_signature(BODY, headers, [secret])


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_signature_header_counts_as_missing(value: str | None) -> None:
    secret = new_secret()
    headers = {**signed_headers(BODY, secret), "webhook-signature": value}
    with pytest.raises(SignatureError, match="Missing required headers"):
        verify_signature(BODY, headers, [secret])  # type: ignore[arg-type]


def test_the_svix_library_verifies_what_our_test_signer_produces() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    SvixWebhook(secret).verify(BODY, headers)
    svix_named = {
        "svix-id": headers["webhook-id"],
        "svix-timestamp": headers["webhook-timestamp"],
        "svix-signature": headers["webhook-signature"],
    }
    SvixWebhook(secret).verify(BODY, svix_named)
    with pytest.raises(SvixVerificationError):
        SvixWebhook(new_secret()).verify(BODY, svix_named)


def test_our_test_signer_and_the_svix_library_produce_the_same_signature() -> None:
    secret = new_secret()
    at = datetime.now(UTC)
    ours = signed_headers(BODY, secret, webhook_id="msg_same", at=at)
    theirs = svix_signed_headers(BODY, secret, msg_id="msg_same", at=at)
    assert ours["webhook-timestamp"] == theirs["svix-timestamp"]
    assert ours["webhook-signature"] == theirs["svix-signature"]


def test_the_svix_library_verifies_its_own_svix_headers() -> None:
    # The helper's headers are what a Svix receiver accepts, so the tests above test the real thing.
    secret = new_secret()
    SvixWebhook(secret).verify(BODY, svix_signed_headers(BODY, secret))
