"""Compiles every `.py` file of a folder into unchecked-hash bytecode, and reads pyc headers back.

Standard library only, on purpose: the very same file runs inside pyodide (CPython 3.14 as WASM,
driven by `infra/compile_bytecode.mjs`) to build what Lambda's Python 3.14 loads, and on the host
Python, which the cold-start benchmark uses to build the same tree for itself.

Why unchecked-hash: CDK zips every entry with a 1980 timestamp, so a timestamp pyc would never
match its source on Lambda and would be recompiled (and not written back: the code is read-only)
at every cold start. An unchecked-hash pyc is loaded without looking at the source at all, which
is right for code that cannot change after it is built. `deployed_as` replaces the build folder
in each code object's file name so that tracebacks name `/opt/python/...` or `/var/task/...`.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys
from pathlib import Path

# Bits 0 and 1 of a pyc's flags word (PEP 552): hash-based, and whether to check the source.
HASH_BASED = 0b01
CHECK_SOURCE = 0b10
UNCHECKED_HASH_FLAGS = HASH_BASED


def magic_number() -> int:
    """This interpreter's bytecode magic (3627 for every CPython 3.14.x)."""
    return int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little")


def sources(root: Path) -> list[Path]:
    """Every `.py` file under `root`, in a fixed order (a reproducible build)."""
    return sorted(path for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def compile_tree(root: Path, deployed_as: str) -> dict[str, object]:
    """Write `__pycache__/<name>.<cache tag>.pyc` beside every source; what failed, by path.

    Nothing is skipped on failure: the caller decides that a single failure fails the build."""
    failures: dict[str, str] = {}
    compiled = 0
    for source in sources(root):
        relative = source.relative_to(root).as_posix()
        try:
            py_compile.compile(
                str(source),
                dfile=f"{deployed_as.rstrip('/')}/{relative}",
                doraise=True,
                optimize=0,  # Lambda runs without -O: it looks for the plain `.pyc`
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            compiled += 1
        except py_compile.PyCompileError as error:
            failures[relative] = error.msg.strip().splitlines()[-1]
    return {
        "python": sys.version.split()[0],
        "magic": magic_number(),
        "cache_tag": sys.implementation.cache_tag,
        "hash_randomization": sys.flags.hash_randomization,
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        "compiled": compiled,
        "failures": failures,
    }


def pyc_header(pyc: Path) -> tuple[int, int]:
    """(magic, flags) of a pyc file."""
    header = pyc.read_bytes()[:8]
    return int.from_bytes(header[:2], "little"), int.from_bytes(header[4:8], "little")


def missing_bytecode(root: Path, cache_tag: str, magic: int) -> list[str]:
    """The sources under `root` without an unchecked-hash pyc of `magic` for `cache_tag`."""
    missing = []
    for source in sources(root):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc"
        if not pyc.is_file() or pyc_header(pyc) != (magic, UNCHECKED_HASH_FLAGS):
            missing.append(source.relative_to(root).as_posix())
    return missing
