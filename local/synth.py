"""Synthesize one environment's stack for the local runtime (no bundling: the venv stands in for
the dependencies layer), with the path and asset metadata the runtime reads.

Run in a child process (`python -m local.synth OUTDIR [ENV]`) so the runtime itself never loads
the CDK's Node.js kernel.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local.template import StackTemplate

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("local")


def environments() -> Any:
    """The `webhook-pipeline:environments` entries of cdk.json, as the app reads them."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]["webhook-pipeline:environments"]


def load_template(env: str, cdk_out: Path | None, state_dir: Path, region: str) -> StackTemplate:
    """The env's template from `cdk_out`, or synthesized into the state dir first (in a child
    process: the runtime never loads the CDK's Node.js kernel)."""
    from infra.config import load_settings

    if cdk_out is None:
        cdk_out = state_dir / "cdk.out"
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603 - our own module, fixed argv
            [sys.executable, "-m", "local.synth", str(cdk_out), env],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"synth failed:\n{result.stderr[-3000:]}")
        log.info("synthesized %s in %.1fs", cdk_out, time.monotonic() - started)
    stack = load_settings(environments(), env).stack_name
    return StackTemplate.load(cdk_out, stack, region)


def synthesize(outdir: Path, env: str = "dev") -> str:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.path.insert(0, str(ROOT))
    import aws_cdk as cdk

    from app import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(
        context={
            **context,
            "env": env,
            "aws:cdk:bundling-stacks": [],
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
        },
        outdir=str(outdir),
    )
    stack = build_app(app)
    app.synth()
    return stack.stack_name


if __name__ == "__main__":
    print(synthesize(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "dev"))
