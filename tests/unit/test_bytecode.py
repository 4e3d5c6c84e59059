"""The bytecode build step: pyodide's Python 3.14 compiles a folder into unchecked-hash pycs
that name their deployed path, the same way twice, and fails loudly on what it cannot compile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import bytecode, pyc_compile


def _tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "mod.py").write_text(
        "KINDS = frozenset({'a', 'b', 'c', 'd'})\n\ndef fail():\n    raise ValueError('here')\n"
    )
    return root


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytecode.CompileReport]:
    # Given a small package, When the build compiles it for Lambda (pyodide: one Node process)
    root = _tree(tmp_path_factory.mktemp("code"))
    return root, bytecode.compile_for_lambda(root, "/var/task")


def test_every_source_gets_a_314_unchecked_hash_pyc(
    compiled: tuple[Path, bytecode.CompileReport],
) -> None:
    root, report = compiled
    assert report.python.startswith("3.14.")
    assert (report.magic, report.cache_tag, report.compiled) == (3627, "cpython-314", 3)
    pyc = root / "pkg" / "sub" / "__pycache__" / "mod.cpython-314.pyc"
    header = pyc.read_bytes()[:16]
    # PEP 552: the magic, then flags bit 0 (hash-based) set and bit 1 (check source) clear
    assert header[:4] == (3627).to_bytes(2, "little") + b"\r\n"
    assert int.from_bytes(header[4:8], "little") == 0b01
    assert pyc_compile.missing_bytecode(root, "cpython-314", 3627) == []


def test_the_pycs_name_the_deployed_path_and_are_reproducible(
    compiled: tuple[Path, bytecode.CompileReport], tmp_path: Path
) -> None:
    root, _ = compiled
    pyc = root / "pkg" / "sub" / "__pycache__" / "mod.cpython-314.pyc"
    assert b"/var/task/pkg/sub/mod.py" in pyc.read_bytes()
    # A second build of the same sources is byte for byte the same (fixed hash seed: the
    # frozenset constant's order would otherwise change from one build to the next)
    again = _tree(tmp_path)
    bytecode.compile_for_lambda(again, "/var/task")
    assert (again / pyc.relative_to(root)).read_bytes() == pyc.read_bytes()


def test_a_source_that_does_not_compile_fails_the_build(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "pkg" / "broken.py").write_text("def broken(:\n")
    with pytest.raises(bytecode.BytecodeError, match=r"pkg/broken\.py"):
        bytecode.compile_for_lambda(root, "/var/task")


def test_missing_or_checked_pycs_are_reported(tmp_path: Path) -> None:
    # Given a tree compiled on this machine in checked-hash mode, and one source left out
    root = _tree(tmp_path)
    subprocess.run(  # noqa: S603 - this interpreter, fixed args
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "checked-hash",
            str(root),
        ],
        check=True,
    )
    (root / "pkg" / "extra.py").write_text("X = 1\n")
    tag, magic = sys.implementation.cache_tag, pyc_compile.magic_number()

    # Then every source counts as missing its unchecked-hash pyc
    assert pyc_compile.missing_bytecode(root, tag, magic) == [
        "pkg/__init__.py",
        "pkg/extra.py",
        "pkg/sub/__init__.py",
        "pkg/sub/mod.py",
    ]


def test_an_unchecked_pyc_is_used_without_looking_at_its_source(tmp_path: Path) -> None:
    # Given the same step run by this machine's Python, then the source changed afterwards
    root = _tree(tmp_path)
    (root / "pkg" / "value.py").write_text("VALUE = 'compiled'\n")
    report = pyc_compile.compile_tree(root, "/var/task")
    assert report["failures"] == {}
    (root / "pkg" / "value.py").write_text("VALUE = 'edited after the build'\n")

    # When imported, Then the pyc runs as built: no stat of the source, no recompile
    code = "import sys; sys.path.insert(0, sys.argv[1]); from pkg import value; print(value.VALUE)"
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed args
        [sys.executable, "-B", "-c", code, str(root)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "compiled"


def test_the_compile_fingerprint_covers_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    before = bytecode.compile_fingerprint()
    assert bytecode.compile_fingerprint() == before
    monkeypatch.setattr(bytecode, "COMPILE_OPTIONS", (*bytecode.COMPILE_OPTIONS, "optimize=1"))
    assert bytecode.compile_fingerprint() != before
