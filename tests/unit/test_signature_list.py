"""The signature header's list of entries, read as the specification says: whitespace-separated,
unknown versions and malformed v1 entries skipped, and a bound on the v1 entries tried."""

from __future__ import annotations

import base64
import os

import pytest
import standardwebhooks.webhooks

from shared.signatures import (
    MAX_V1_SIGNATURES,
    SignatureError,
    verify_signature,
)
from tests.support.signing import (
    new_secret,
    order_webhook_body,
    signed_headers,
    svix_signed_headers,
)

BODY = order_webhook_body()


def _bogus_v1() -> str:
    """A well-formed `v1` entry (32 bytes of base64) that no secret produced."""
    return "v1," + base64.b64encode(os.urandom(32)).decode()


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
