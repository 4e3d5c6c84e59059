"""Standard Webhooks (and Svix) verification with rotation."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks.webhooks
from standardwebhooks.webhooks import EmptyWebhookSecretError
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from shared.signatures import (
    MAX_V1_SIGNATURES,
    SignatureError,
    VerifiedDelivery,
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


# --- Svix header names and the returned message id ---------------------------------------------


def _bogus_v1() -> str:
    """A well-formed `v1` entry (32 bytes of base64) that no secret produced."""
    return "v1," + base64.b64encode(os.urandom(32)).decode()


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


# --- The signature list, read as the specification says -----------------------------------------


@pytest.mark.parametrize(
    "separator", ["  ", "\t", " \n ", "   \t  "], ids=["two-spaces", "tab", "newline", "mixed"]
)
def test_any_run_of_whitespace_separates_signatures(separator: str) -> None:
    # Given our signature second, after a run of whitespace (an empty entry, to a naive split)
    ours = new_secret()
    headers = signed_headers(BODY, ours)
    headers["webhook-signature"] = separator.join([_bogus_v1(), headers["webhook-signature"]])

    # Then it is still found
    verify_signature(BODY, headers, [ours])


def test_leading_and_trailing_whitespace_is_ignored() -> None:
    secret = new_secret()
    headers = svix_signed_headers(BODY, secret)
    headers["svix-signature"] = f"  {headers['svix-signature']}  "
    verify_signature(BODY, headers, [secret])


@pytest.mark.parametrize("unknown", ["v2,xxx", "v1a,abc,def", "v0", "v9=abc", "V1,abc", "v1a"])
def test_an_entry_of_an_unknown_version_before_a_valid_v1_is_ignored(unknown: str) -> None:
    # Given an entry of a version we do not know, whatever its shape, before a valid v1 entry
    secret = new_secret()
    headers = svix_signed_headers(BODY, secret)
    headers["svix-signature"] = f"{unknown} {headers['svix-signature']}"

    # Then the v1 entry decides
    verify_signature(BODY, headers, [secret])


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param("v1,not-base64!!", id="bad-base64"),
        pytest.param("v1,QUJD", id="not-a-digest-length"),
        pytest.param("v1,abc", id="bad-padding"),
        pytest.param("v1,abc,def", id="two-commas"),
        pytest.param("v1", id="no-comma"),
        pytest.param("v1,", id="empty"),
        pytest.param("v1,\u00e9t\u00e9", id="non-ascii"),
    ],
)
def test_a_malformed_v1_entry_before_a_valid_one_is_skipped(malformed: str) -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    headers["webhook-signature"] = f"{malformed} {headers['webhook-signature']}"
    verify_signature(BODY, headers, [secret])


def test_only_unknown_versions_is_no_matching_signature() -> None:
    secret = new_secret()
    valid = signed_headers(BODY, secret)["webhook-signature"].split(",", 1)[1]
    # Even a correct digest does not count when it is not labelled v1.
    headers = {**signed_headers(BODY, secret), "webhook-signature": f"v2,{valid} v1a,{valid} v0"}
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY, headers, [secret])


@pytest.mark.parametrize("signature", ["   ", "\t", "v1 v1, v1,!!"])
def test_a_signature_header_without_a_usable_v1_entry_fails_cleanly(signature: str) -> None:
    secret = new_secret()
    headers = {**signed_headers(BODY, secret), "webhook-signature": signature}
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY, headers, [secret])


def test_a_thousand_bogus_v1_entries_fail_with_bounded_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a header of 1000 well-formed v1 entries no secret produced, then a valid one
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    bogus = " ".join(_bogus_v1() for _ in range(1000))
    headers["webhook-signature"] = f"{bogus} {headers['webhook-signature']}"
    hmacs: list[bytes] = []
    real_hmac = standardwebhooks.webhooks.hmac_data

    def counting_hmac(key: bytes, data: bytes) -> bytes:
        hmacs.append(data)
        return real_hmac(key, data)

    monkeypatch.setattr(standardwebhooks.webhooks, "hmac_data", counting_hmac)

    # When it is verified against two active secrets
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY, headers, [new_secret(), secret])

    # Then the valid entry beyond the bound is not looked at, and few HMACs were computed
    assert 0 < len(hmacs) <= 2 * MAX_V1_SIGNATURES


def test_a_valid_signature_within_the_bound_still_passes() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    bogus = " ".join(_bogus_v1() for _ in range(MAX_V1_SIGNATURES - 1))
    headers["webhook-signature"] = f"{bogus} {headers['webhook-signature']}"
    verify_signature(BODY, headers, [secret])


def test_a_valid_signature_just_beyond_the_bound_is_not_considered() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    bogus = " ".join(_bogus_v1() for _ in range(MAX_V1_SIGNATURES))
    headers["webhook-signature"] = f"{bogus} {headers['webhook-signature']}"
    with pytest.raises(SignatureError, match="No matching signature"):
        verify_signature(BODY, headers, [secret])


def test_unknown_versions_do_not_use_up_the_bound() -> None:
    secret = new_secret()
    headers = signed_headers(BODY, secret)
    unknown = " ".join(f"v2,{n}" for n in range(1000))
    headers["webhook-signature"] = f"{unknown} {headers['webhook-signature']}"
    verify_signature(BODY, headers, [secret])


# --- Odd inputs and configuration ---------------------------------------------------------------


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


# --- Interoperability with the svix library, both ways -----------------------------------------


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
