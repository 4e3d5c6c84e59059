"""ops: look events up, list them, redrive dead letters, replay events, see what is firing,
open and close circuit breakers, smoke-test an env, and check that a deploy can succeed.

Talk to a deployed environment with --env NAME (names from the stack's outputs, requests signed
with your AWS credentials) or to the local runtime with --local.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.config import ENVIRONMENTS_CONTEXT_KEY, ConfigError, EnvironmentSettings, load_settings
from ops_cli import preflight as checks
from ops_cli import smoke as smoke_test
from ops_cli.account import Boto3AccountReader
from ops_cli.breaker_commands import add_breaker_commands
from ops_cli.render import as_json, pairs, table
from ops_cli.target import (
    DEFAULT_STATE_FILE,
    ApiAnswer,
    DeployedTarget,
    LocalTarget,
    Target,
    TargetError,
)

Command = Callable[[Target, argparse.Namespace], tuple[Any, str]]


CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


class CommandError(Exception):
    pass


class RefusedError(Exception):
    """The command ran and its answer is no: the report is printed and `ops` exits 1."""

    def __init__(self, data: Any, text: str) -> None:
        super().__init__(text)
        self.data, self.text = data, text


def env_settings(env: str, cdk_json: Path = CDK_JSON) -> EnvironmentSettings:
    try:
        environments = json.loads(cdk_json.read_text())["context"][ENVIRONMENTS_CONTEXT_KEY]
        return load_settings(environments, env)
    except (OSError, KeyError, ValueError, ConfigError) as exc:
        raise CommandError(f"cannot read the {env} settings from {cdk_json}: {exc}") from exc


def _data(answer: ApiAnswer) -> Any:
    if not answer.ok:
        error = answer.body.get("error") or {}
        raise CommandError(f"HTTP {answer.status} {error.get('code')}: {error.get('message')}")
    return answer.body.get("data")


def status(target: Target, _: argparse.Namespace) -> tuple[Any, str]:
    health = _data(target.request("GET", "health"))
    stats = _data(target.request("GET", "stats"))
    checks = table(
        ["check", "ok", "ms", "detail"],
        [
            [n, c["ok"], c["ms"], c.get("error") or c.get("depth", "")]
            for n, c in health["checks"].items()
        ],
    )
    events = table(
        ["status", "pipeline", "events"],
        [[s, p, n] for s, by in stats["events_by_status"].items() for p, n in by.items()],
    )
    breakdowns = [
        table(
            [key.removeprefix("events_by_"), "status", "events"],
            [[v, s, n] for v, by in stats[key].items() for s, n in by.items()],
        )
        for key in sorted(stats)
        if key.startswith("events_by_") and key != "events_by_status" and stats[key]
    ]
    queues = table(
        ["queue", "visible", "in flight", "DLQ visible"],
        [
            [q, d["queue"]["visible"], d["queue"]["in_flight"], d["dlq"]["visible"]]
            for q, d in stats["queues"].items()
        ],
    )
    oldest = stats["oldest_in_flight_event"]
    text = (
        f"{target.label}: {health['status'].upper()}\n\n{checks}\n\n{events}\n\n"
        + "".join(f"{b}\n\n" for b in breakdowns)
        + f"{queues}\n\n"
        f"oldest in-flight event: {oldest['received_at'] or '-'} ({oldest['age_seconds'] or 0}s)"
    )
    return {"health": health, "stats": stats}, text


def events_show(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    event = _data(target.request("GET", f"events/{args.event_id}"))
    fields = ("event_id", "pipeline", "status", "order_id", "entity_type", "entity_id",
              "event_type", "lane", "outcome", "correlation_id", "received_at",
              "updated_at", "attempts", "next_retry_at", "last_error")  # fmt: skip
    summary = {k: event.get(k) for k in fields if k in event}
    history = table(
        ["at", "status", "stage", "detail"],
        [[h["at"], h["status"], h.get("stage", ""), h.get("detail", "")]
         for h in event.get("status_history", [])],
    )  # fmt: skip
    text = f"{pairs(summary)}\n\n{history}"
    if event.get("dead_letter"):
        text += "\n\ndead letter:\n" + pairs(event["dead_letter"])
    return event, text


def events_list(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    params = {"limit": str(args.limit)}
    for key in ("status", "pipeline", "cursor"):
        if getattr(args, key):
            params[key] = getattr(args, key)
    page = _data(target.request("GET", "events", params))
    rows = [[e["event_id"], e.get("pipeline"), e.get("order_id"), e["status"], e.get("received_at")]
            for e in page["events"]]  # fmt: skip
    text = table(["event", "pipeline", "order", "status", "received"], rows)
    if page.get("next_cursor"):
        text += f"\n\nmore: --cursor {page['next_cursor']}"
    return page, text


def events_replay(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    params = {"force": "true"} if args.force else None
    result = _data(target.request("POST", f"events/{args.event_id}/replay", params))
    return (
        result,
        f"replayed {result['event_id']} at stage {result['stage']} (was {result['status']})",
    )


def dlq_redrive(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    params = {"rate": str(args.rate)} if args.rate else None
    task = _data(target.request("POST", f"dlq/{args.queue}/redrive", params))
    progress = _data(target.request("GET", f"dlq/{args.queue}/redrive"))
    rows = [
        [t["status"], t["moved"], t["to_move"], t["task_handle"][:16] + "..."]
        for t in progress["tasks"]
    ]
    text = f"redrive of {args.queue} DLQ started\n\n" + table(
        ["status", "moved", "to move", "task"], rows
    )
    return {"task": task, "progress": progress}, text


def dlq_status(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    progress = _data(target.request("GET", f"dlq/{args.queue}/redrive"))
    rows = [[t["status"], t["moved"], t["to_move"], t["started_at"]] for t in progress["tasks"]]
    text = f"{args.queue} DLQ depth: {progress['dlq_depth']}\n\n" + table(
        ["status", "moved", "to move", "started"], rows
    )
    return progress, text


def smoke(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    report = smoke_test.Smoke(
        target, target.smoke_credentials(), timeout_seconds=args.timeout
    ).run()
    data, text = smoke_test.as_json(report), smoke_test.render(target, report)
    if not report.ok:
        raise RefusedError(data, text)
    return data, text


def preflight(args: argparse.Namespace) -> tuple[Any, str]:
    """Needs no stack (a first deploy has none): the config and the account, nothing else."""
    if args.local:
        raise CommandError("preflight checks a deploy to AWS: use --env NAME")
    settings = env_settings(args.env, args.cdk_json)
    assembly = args.assembly or Path("cdk.out") / settings.name
    problems, notes = checks.preflight(settings, Boto3AccountReader(), assembly)
    data, text = checks.as_json(problems, notes), checks.render(settings, problems, notes)
    if problems:
        raise RefusedError(data, text)
    return data, text


def alarms(target: Target, _: argparse.Namespace) -> tuple[Any, str]:
    firing = target.firing_alarms()
    if firing is None:
        return [], f"{target.label}: alarms are not emulated by the local runtime"
    return firing, table(
        ["alarm", "since", "reason"], [[a["name"], a["since"], a["reason"]] for a in firing]
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--env", help="a deployed environment: dev, staging, prod")
    where.add_argument("--local", action="store_true", help="the local runtime (make local)")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=DEFAULT_STATE_FILE,
        help="the local runtime's runtime.json",
    )
    parser.add_argument("--json", action="store_true", help="JSON output")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "status", help="health, events by status, queue and DLQ depths"
    ).set_defaults(run=status)
    commands.add_parser("alarms", help="alarms that are firing").set_defaults(run=alarms)
    smoking = commands.add_parser(
        "smoke", help="health, then a signed ping through every pipeline; names where it stopped"
    )
    smoking.add_argument("--timeout", type=float, default=90, help="seconds to wait for the pings")
    smoking.set_defaults(run=smoke)
    checking = commands.add_parser(
        "preflight",
        help="refuse a deploy that cannot succeed (config, account, secrets, bootstrap)",
    )
    checking.add_argument(
        "--assembly", type=Path, help="the synthesized cloud assembly (default cdk.out/ENV)"
    )
    checking.add_argument("--cdk-json", type=Path, default=CDK_JSON, help=argparse.SUPPRESS)
    checking.set_defaults(local_command=preflight)

    _add_event_commands(commands)
    _add_dlq_commands(commands)
    add_breaker_commands(commands)
    return parser


def _add_event_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = commands.add_parser("events", help="look events up, list them, replay them")
    event_commands = events.add_subparsers(dest="events_command", required=True)
    show = event_commands.add_parser("show", help="one event, its status and history")
    show.add_argument("event_id")
    show.set_defaults(run=events_show)
    listing = event_commands.add_parser(
        "list", help="events newest first, by status and/or pipeline"
    )
    listing.add_argument("--status", help="RECEIVED, QUEUED, DOWNLOADED, PROCESSED, DEAD_LETTERED")
    listing.add_argument("--pipeline", help="e.g. marketplace_orders")
    listing.add_argument("--limit", type=int, default=25, help="page size, 1 to 100")
    listing.add_argument("--cursor", help="the next page, from the previous answer")
    listing.set_defaults(run=events_list)
    replay = event_commands.add_parser(
        "replay", help="queue an event again at the stage where it stopped"
    )
    replay.add_argument("event_id")
    replay.add_argument("--force", action="store_true", help="even if it is not DEAD_LETTERED")
    replay.set_defaults(run=events_replay)


def _add_dlq_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = commands.add_parser("dlq", help="dead-letter queues")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    redrive = dlq_commands.add_parser("redrive", help="move a stage's DLQ back to its queue")
    redrive.add_argument("queue", help="the stage: download, processing, ...")
    redrive.add_argument("--rate", type=int, help="messages per second (SQS default when omitted)")
    redrive.set_defaults(run=dlq_redrive)
    progress = dlq_commands.add_parser("status", help="a DLQ's depth and its redrive tasks")
    progress.add_argument("queue")
    progress.set_defaults(run=dlq_status)


def _target(args: argparse.Namespace) -> Target:
    if args.local:
        return LocalTarget(args.state_file)
    if args.run is smoke:  # it signs pings with the env's secrets, named in its config
        return DeployedTarget(args.env, secret_names=env_settings(args.env).secret_names)
    return DeployedTarget(args.env)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    code = 0
    try:
        if getattr(args, "local_command", None):
            data, text = args.local_command(args)
        else:
            data, text = args.run(_target(args), args)
    except RefusedError as refused:
        data, text, code = refused.data, refused.text, 1
    except (TargetError, CommandError) as exc:
        print(f"ops: {exc}", file=sys.stderr)
        return 1
    print(as_json(data) if args.json else text)
    return code


if __name__ == "__main__":
    sys.exit(main())
