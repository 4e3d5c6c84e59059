"""The `ops breaker` commands: status, open PEER --reason, close PEER."""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops_cli.breaker import OPERATOR_PREFIX, BreakerError
from ops_cli.render import table
from ops_cli.target import Target, TargetError
from shared.breaker.settings import Peer
from shared.breaker.store import MAX_REASON_LENGTH as STORED_REASON_LENGTH
from shared.breaker.store import Hold

# What a breaker's item keeps of an operator's reason: longer, the store would cut it.
MAX_REASON_LENGTH = STORED_REASON_LENGTH - len(OPERATOR_PREFIX)


def breaker_status(target: Target, _: argparse.Namespace) -> tuple[Any, str]:
    breakers = _call(lambda: target.breakers().status())
    rows = [
        [
            b["peer"],
            b["state"] + (" (manual)" if b["manual"] else ""),
            b["failures_in_window"],
            b["opened_at"],
            ", ".join(sorted(set(b["mappings"].values()))),
            b["reason"],
        ]
        for b in breakers
    ]
    headers = ["peer", "breaker", "failures", "opened", "mappings", "reason"]
    return breakers, f"{target.label}: circuit breakers\n\n" + table(headers, rows)


def breaker_open(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    peer = Peer(args.peer)
    result = _call(lambda: target.breakers().open(peer, args.reason))
    was = {
        Hold.OPENED: "opened",
        Hold.TAKEN_OVER: "was open (opened on its own); now held by you",
        Hold.ALREADY_HELD: "was already held open by an operator; reason updated",
    }[result["hold"]]
    return result, (
        f"breaker on {peer} {was}; mappings paused: {len(result['paused'])} "
        "(the probe leaves it open until `ops breaker close`)"
    )


def breaker_close(target: Target, args: argparse.Namespace) -> tuple[Any, str]:
    peer = Peer(args.peer)
    result = _call(lambda: target.breakers().close(peer))
    was = "closed" if result["closed"] else "was not open"
    return result, f"breaker on {peer} {was}; mappings resumed: {len(result['resumed'])}"


def operator_reason(value: str) -> str:
    """An operator's reason is what the next operator (and the status table) reads: one that is
    blank says nothing, one that the store would cut says less than was typed."""
    reason = value.strip()
    if not reason:
        raise argparse.ArgumentTypeError("say why, for the next operator (it is blank)")
    if len(reason) > MAX_REASON_LENGTH:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_REASON_LENGTH} characters ({len(reason)} given)"
        )
    return reason


def _call(action: Any) -> Any:
    try:
        return action()
    except (BreakerError, BotoCoreError, ClientError) as exc:
        raise TargetError(f"circuit breaker: {exc}") from exc


def add_breaker_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    breaker = commands.add_parser("breaker", help="the circuit breakers on the downstream peers")
    breaker_commands = breaker.add_subparsers(dest="breaker_command", required=True)
    breaker_commands.add_parser(
        "status", help="each peer's breaker and its stage's mappings"
    ).set_defaults(run=breaker_status)
    peers = [peer.value for peer in Peer]
    opening = breaker_commands.add_parser(
        "open", help="open a breaker by hand: pause its stage (the probe will not close it)"
    )
    opening.add_argument("peer", choices=peers)
    opening.add_argument(
        "--reason", required=True, type=operator_reason, help="why, for the next operator"
    )
    opening.set_defaults(run=breaker_open)
    closing = breaker_commands.add_parser("close", help="resume the stage and close its breaker")
    closing.add_argument("peer", choices=peers)
    closing.set_defaults(run=breaker_close)
