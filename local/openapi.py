"""The OpenAPI 3.1 document of the whole API, generated from the API functions' routes.

`python -m local.openapi` prints it; `make openapi` writes `docs/openapi.json`, which a test
keeps in step with the code, the local runtime serves at `/openapi.json` and `make fuzz` feeds to
schemathesis. Each function's Powertools resolver describes its routes (typed path and query
parameters, documented answers); the documents are merged into one. Three routes parse their
body themselves, for a reason, and their body's model is added here: the two webhook routes read
it only after the sender's signature or key is verified, the enrichment request lists every
offending product at once.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
API_MODULES = ("ingest.handler", "erp_ingest.handler", "catalog_api.handler", "ops_api.handler")
TITLE = "Webhook Pipeline API"
VERSION = "1"


def _body_models() -> dict[tuple[str, str], Any]:
    from catalog.requests import EnrichmentRequest
    from erp.entities import ErpWebhook
    from orders.webhook import OrderWebhook

    return {
        ("/webhooks/qualia", "post"): OrderWebhook,
        ("/webhooks/zoho/{entity}", "post"): ErpWebhook,
        ("/catalogs/{catalog_id}/enrichments", "post"): EnrichmentRequest,
    }


SECURITY_SCHEMES = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS SigV4 for execute-api (IAM authorization; not enforced locally)",
    },
    "webhookSignature": {
        "type": "apiKey",
        "name": "webhook-signature",
        "in": "header",
        "description": "Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature "
        "(or svix-id, svix-timestamp, svix-signature): v1,<base64 HMAC-SHA256 of "
        "id.timestamp.body>",
    },
    "erpWebhookKey": {
        "type": "apiKey",
        "name": "X-Webhook-Key",
        "in": "header",
        "description": "One of the keys in the env's erp_webhook_keys secret",
    },
}


def _security_schemes() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return {
        name: APIKey(
            name=scheme["name"], description=scheme["description"], **{"in": APIKeyIn.header}
        )
        for name, scheme in SECURITY_SCHEMES.items()
    }


def build() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "lambdas"))
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Every answer is one JSON envelope (SuccessEnvelope or "
            "ErrorEnvelope) and echoes X-Request-ID. Paths are relative to the stage "
            "(https://<api>.execute-api.<region>.amazonaws.com/<env>).",
        },
        "servers": [{"url": "/dev", "description": "the local runtime (make local)"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": SECURITY_SCHEMES},
    }
    for name in API_MODULES:
        app = importlib.import_module(name).app
        part = json.loads(
            app.get_openapi_json_schema(
                title=TITLE, version=VERSION, security_schemes=_security_schemes()
            )
        )
        for path, operations in part.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        _merge_schemas(document, part.get("components", {}).get("schemas", {}))
    for (path, method), model in _body_models().items():
        operation = document["paths"][path][method]
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        _merge_schemas(document, schema.pop("$defs", {}))
        _merge_schemas(document, {model.__name__: schema})
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    _drop_powertools_422(document)
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def _drop_powertools_422(document: dict[str, Any]) -> None:
    """Powertools documents its validation failures as 422; the resolver answers them as 400
    VALIDATION_ERROR in the envelope (`shared.api`), which every operation already lists."""
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        document["components"]["schemas"].pop(unused, None)


def _merge_schemas(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    known = document["components"]["schemas"]
    for name, schema in schemas.items():
        if name in known and known[name] != schema:
            raise ValueError(f"two different schemas are named {name}")
        known[name] = schema


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
