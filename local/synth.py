"""Synthesize one environment's stack for the local runtime (no bundling: the venv stands in for
the dependencies layer), with the path and asset metadata the runtime reads.

Run in a child process (`python -m local.synth OUTDIR [ENV]`) so the runtime itself never loads
the CDK's Node.js kernel.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
