"""What `runtime.json` says about a running local runtime: every URL, credential, function
pool, queue, table and bucket scripts and tests need to find."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.runtime import LocalRuntime


def runtime_state(runtime: LocalRuntime) -> dict[str, Any]:
    template, provisioned = runtime.template, runtime.provisioned
    return {
        "ready": True,
        "stack": template.stack_name,
        "region": runtime.region,
        "api_url": runtime.api_url,
        "moto_endpoint": runtime.moto_endpoint,
        "signing_secrets": runtime.signing_secrets,
        "erp_webhook_keys": runtime.erp_webhook_keys,
        "marketplace_url": runtime.marketplace.url if runtime.marketplace else "",
        "internal_api_url": runtime.internal_api.url if runtime.internal_api else "",
        "provider_url": runtime.provider.url if runtime.provider else "",
        "functions": {
            worker.spec.name: {
                "path": template.path_of(logical_id),
                "pid": worker.pid,  # the first execution environment's
                "pids": worker.pids,  # every one started so far, in the order they started
                "pool_size": worker.size,
                "restarts": worker.restarts,
                "log": str(worker.spec.log_file),
            }
            for logical_id, worker in runtime.parts.functions.items()
        },
        "queues": {template.path_of(i): url for i, url in provisioned.queues.items()},
        "dead_letter_queues": {
            template.path_of(i): url for i, url in provisioned.dead_letter_queues.items()
        },
        "tables": {template.path_of(i): n for i, n in provisioned.tables.items()},
        "buckets": {template.path_of(i): n for i, n in provisioned.buckets.items()},
        "not_emulated": template.not_emulated(),
    }
