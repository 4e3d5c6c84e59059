"""The repository's env configs (cdk.json), and prod as a team completes it for a first deploy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.config import ENVIRONMENTS_CONTEXT_KEY

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
ACCOUNT, REGION = "123456789012", "eu-west-1"  # moto's account


def environments() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text())["context"][ENVIRONMENTS_CONTEXT_KEY])


def complete_prod() -> dict[str, Any]:
    """prod as a platform team fills it in before its first deploy: pinned, real hosts, an
    on-call address."""
    prod = environments()["prod"]
    return {
        **prod,
        "account": ACCOUNT,
        "region": REGION,
        "marketplace_api_base_url": "https://api.qualia.com",
        "internal_api_base_url": "https://orders.internal.acme-corp.net",
        "alarm_email": "oncall@acme-corp.net",
        "enrichment": {**prod["enrichment"], "provider_api_base_url": "https://api.keepa.com"},
    }
