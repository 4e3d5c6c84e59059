"""The bench's write-up: the markdown tables, the README block between its markers, and the
runner's choice of where a run is written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import run
from bench.model import Row, Section
from bench.report import (
    BEGIN,
    END,
    README_MAX_LINES,
    Machine,
    Results,
    headline,
    number,
    readme_block,
    replace_block,
    results_markdown,
)

ROOT = Path(__file__).resolve().parents[2]


def _results(*sections: Section, quick: bool = False) -> Results:
    machine = Machine(
        cpu_count=2, python="3.11.7", platform="Linux", date=datetime(2026, 12, 2, 19, tzinfo=UTC)
    )
    return Results(machine=machine, quick=quick, sections=list(sections))


COLD = Section(
    key="cold_start",
    title="Cold start",
    method="Fresh interpreters, median of 5.",
    rows=[
        Row(name="ingest", value=540.0, unit="ms", floor=400.0, floor_name="deployed floor",
            ratio=1.35, target="≤ 1.5x floor and ≤ 600 ms", meets_target=True),
        Row(name="download | worker", value=700.0, unit="ms", floor=400.0,
            floor_name="deployed floor", ratio=1.75, target="≤ 1.5x floor and ≤ 600 ms",
            meets_target=False),
    ],
    notes=["Bytecode compiled for 3.14."],
)  # fmt: skip
COST = Section(
    key="cost_orders",
    title="Cost: order webhooks",
    method="Calls x prices.",
    rows=[Row(name="total", value=8.4, unit="$ per 1M order webhooks")],
)


def test_numbers_keep_three_significant_figures() -> None:
    # Given figures of every size, then each reads with three significant figures
    assert [number(v) for v in (0.0013712, 2.349, 41.26, 412.4, 12345.6, 0.0)] == [
        "0.00137", "2.35", "41.3", "412", "12,346", "0",
    ]  # fmt: skip


def test_a_section_is_a_table_with_floor_ratio_target_and_verdict() -> None:
    # When the results are rendered
    markdown = results_markdown(_results(COLD, COST))
    # Then each section is a heading, its method, a table and its notes
    assert "## Cold start\n\nFresh interpreters, median of 5." in markdown
    assert (
        "| ingest | 540 ms | 400 ms (deployed floor) | 1.35x | ≤ 1.5x floor and ≤ 600 ms | ✓ |"
        in markdown
    )
    # And a pipe in a name does not split its cell, a miss is marked
    assert "| download \\| worker | 700 ms |" in markdown
    assert markdown.count("| ✗ |") == 1
    # And a row without floor or target leaves those cells empty
    assert "| total | 8.40 $ per 1M order webhooks |  |  |  |  |" in markdown
    assert "- Bytecode compiled for 3.14." in markdown
    assert "2 CPUs, Python 3.11.7" in markdown  # fmt: skip


def test_a_quick_run_says_it_is_not_a_figure_to_quote() -> None:
    assert "quick smoke" in results_markdown(_results(COST, quick=True))
    assert "quick smoke" not in results_markdown(_results(COST))


def test_the_headline_of_a_section_is_its_worst_row_against_target() -> None:
    # Given a section with a met and a missed target, then the miss is the headline
    assert headline(COLD) == COLD.rows[1]
    # And a section without targets is headed by its first row
    assert headline(COST) == COST.rows[0]


def test_the_readme_block_is_short_and_links_the_full_table() -> None:
    # Given many sections
    many = [COLD.model_copy(update={"key": f"s{n}", "title": f"S{n}"}) for n in range(20)]
    block = readme_block(_results(*many))
    lines = block.splitlines()
    # Then the block stays within its line budget, between its markers
    assert len(lines) <= README_MAX_LINES
    assert lines[0] == BEGIN
    assert lines[-1] == END
    assert "[bench/results.md](bench/results.md)" in lines[-2]
    # And a headline carries the figure, its ratio, its target and the count of rows met
    assert "700 ms = 1.75x deployed floor; target ≤ 1.5x floor and ≤ 600 ms ✗ (1/2" in block


def test_the_block_between_the_markers_is_replaced_and_nothing_else() -> None:
    text = f"# Title\n\nBefore.\n{BEGIN}\nold figures\n{END}\nAfter.\n"
    assert replace_block(text, f"{BEGIN}\nnew\n{END}") == (
        f"# Title\n\nBefore.\n{BEGIN}\nnew\n{END}\nAfter.\n"
    )


@pytest.mark.parametrize(
    "text", ["no markers", f"{END}\n{BEGIN}", f"{BEGIN}\n{BEGIN}\n{END}", f"{BEGIN} only"]
)
def test_a_readme_without_one_well_formed_block_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bench:begin"):
        replace_block(text, f"{BEGIN}\n{END}")


def test_the_readme_has_one_bench_block_and_stays_short_once_regenerated() -> None:
    # Given the README, when its block is regenerated with many sections
    readme = (ROOT / "README.md").read_text()
    many = [COLD.model_copy(update={"key": f"s{n}"}) for n in range(20)]
    regenerated = replace_block(readme, readme_block(_results(*many)))
    # Then it stays within the README's 150 lines
    assert len(regenerated.splitlines()) <= 150


def test_only_a_full_run_of_every_module_writes_the_quoted_figures(tmp_path: Path) -> None:
    # A full run writes bench/ and the README; a quick or partial run bench/smoke/ only
    assert run.outputs(run._parse([])) == run.Outputs(run.BENCH_DIR, run.README)
    assert run.outputs(run._parse(["--quick"])) == run.Outputs(run.SMOKE_DIR, None)
    assert run.outputs(run._parse(["--only", "cost"])) == run.Outputs(run.SMOKE_DIR, None)
    assert run.outputs(run._parse(["--out", str(tmp_path)])) == run.Outputs(tmp_path, None)


def test_a_missing_module_is_skipped_and_a_broken_one_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a module that does not exist, then it is reported missing
    assert run.load("no_such_benchmark") is None

    # Given a module that fails to import something else, then its error stands
    def broken(name: str) -> None:
        raise ModuleNotFoundError("No module named 'absent'", name="absent")

    monkeypatch.setattr("importlib.import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="absent"):
        run.load("cost")


def test_a_run_writes_json_and_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bench module that reports one section
    monkeypatch.setattr(run, "load", lambda key: (lambda _quick: [COST]) if key == "cost" else None)
    # When the runner writes to a directory of its own
    assert run.main(["--only", "cost", "--out", str(tmp_path)]) == 0
    # Then the JSON holds the machine and the section, the markdown its table
    written = Results.model_validate_json((tmp_path / "results.json").read_text())
    assert written.sections == [COST]
    assert written.machine.cpu_count >= 1
    assert "| total | 8.40 $ per 1M order webhooks |" in (tmp_path / "results.md").read_text()
