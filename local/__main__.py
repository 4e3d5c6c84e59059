"""`python -m local run | demo | send FILE`: the local runtime's command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from local.runtime import DEFAULT_MAX_CONCURRENCY, STATE_DIR, LocalRuntime, RuntimeOptions


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _options(args: argparse.Namespace) -> RuntimeOptions:
    return RuntimeOptions(
        cdk_out=args.cdk_out,
        retry_delay_seconds=args.retry_delay,
        schedule_every_seconds=args.schedule_every,
        state_dir=args.state_dir,
        max_concurrency=args.max_concurrency,
    )


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    options = _options(args)
    with LocalRuntime(options) as runtime:
        state = runtime.state()
        pools = ", ".join(
            f"{runtime.function_label(logical_id)} {size}"
            for logical_id, size in runtime.pool_sizes().items()
        )
        print(
            f"""
Webhook Pipeline (local, {state["stack"]}) is up. Ctrl-C stops everything.
  API                {state["api_url"]}
    POST {state["api_url"]}webhooks/qualia      (Standard Webhooks signature)
    POST {state["api_url"]}webhooks/zoho/{{entity}}  (X-Webhook-Key: {state["erp_webhook_keys"][0]})
    GET  {state["api_url"]}events/{{event_id}}  (IAM is not enforced locally: loopback only)
    GET  {state["api_url"].rsplit("/", 2)[0]}/openapi.json  (docs/openapi.json, once generated)
  signing secret     {state["signing_secrets"][0]}
  moto (AWS)         {state["moto_endpoint"]}
  marketplace API    {state["marketplace_url"]}   (POST /_faults to inject failures)
  internal API       {state["internal_api_url"]}   (GET /_received lists deliveries)
  function pools     {pools}
                     (at most; started on demand; --max-concurrency {args.max_concurrency})
  state              {runtime.state_file}
  function logs      {args.state_dir / "logs"}/
Try: make send FILE=docs/examples/order-webhook.json
""",
            flush=True,
        )
        while not stop.wait(1):
            runtime.heal()
    print("stopped", flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from local.demo import run_demo

    return run_demo(_options(args))


def _send(args: argparse.Namespace) -> int:
    from local.send import send_file

    delivery = send_file(
        args.file,
        url=args.url,
        secret=args.secret,
        state_file=STATE_DIR / "runtime.json",
        webhook_id=args.webhook_id,
    )
    print(f"webhook-id {delivery.webhook_id}\nHTTP {delivery.status}\n{delivery.body}")
    return 0 if 200 <= delivery.status < 300 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("run", _run, "start the whole dev stack locally and stay up (make local)"),
        ("demo", _demo, "start it, send a scripted mix of webhooks, report, stop (make demo)"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--cdk-out", type=Path, help="use this synthesized cdk.out")
        command.add_argument(
            "--retry-delay", type=int, default=1, help="seconds before a failed record reappears"
        )
        command.add_argument(
            "--schedule-every",
            type=float,
            help="seconds between ticks of every schedule rule (default: each rule's rate)",
        )
        command.add_argument(
            "--state-dir", type=Path, default=STATE_DIR, help="runtime.json, logs, cdk.out"
        )
        command.add_argument(
            "--max-concurrency",
            type=_positive,
            default=DEFAULT_MAX_CONCURRENCY,
            metavar="N",
            help="execution environments (processes) per function at most; each function's "
            "pool is what Lambda would scale it to (its SQS sources' MaximumConcurrency, its "
            f"reserved concurrency), capped by N (default {DEFAULT_MAX_CONCURRENCY})",
        )
        command.set_defaults(handler=handler)
    send = commands.add_parser(
        "send", help="sign a JSON file (Standard Webhooks) and POST it (make send FILE=...)"
    )
    send.add_argument("file", type=Path)
    send.add_argument("--url", help="endpoint; default: the local runtime's webhooks/qualia")
    send.add_argument("--secret", help="whsec_...; default: $WEBHOOK_SECRET, then the runtime's")
    send.add_argument("--webhook-id", help="reuse an id to test de-duplication")
    send.set_defaults(handler=_send)
    args: Any = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
