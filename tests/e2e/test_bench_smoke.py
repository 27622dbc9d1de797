"""The reconciliation benchmark runs end to end at a tiny size and writes the
results file in the agreed shape. No timing is asserted."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "bench"))

import machine_info  # noqa: E402
import reconcile  # noqa: E402

pytestmark = pytest.mark.slow

TOOLS = {
    "floor", "handwritten_duckdb", "tally", "tally_models", "tally_incremental", "reladiff",
    "datacompy_pandas", "datacompy_polars", "handwritten_postgres", "tally_postgres",
}  # fmt: skip
RESULT_KEYS = {
    "tool",
    "mode",
    "input",
    "n_per_side",
    "runs",
    "min_s",
    "median_s",
    "peak_rss_mb",
    "exact",
}


def test_quick_run_writes_exact_results(tmp_path, capsys):
    out = tmp_path / "latest.json"
    code = reconcile.main(["--quick", "--tools", "floor,handwritten_duckdb", "--out", str(out)])
    assert code == 0, capsys.readouterr().out[-2000:]
    report = json.loads(out.read_text())
    assert {"cpus", "load_average_start", "load_average_end"} <= report["machine"].keys()
    # what publishing the DuckDB file costs depends on it (clone or byte copy)
    work_filesystem = report["machine"]["work_filesystem"]
    assert work_filesystem and work_filesystem == machine_info.filesystem(
        Path(tempfile.gettempdir())
    )
    results = report["results"]
    assert {r["tool"] for r in results} == {"floor", "handwritten_duckdb"}
    # each tool from prepared tables and from the landing files; the hand-written
    # query's daily run is its run from files (it has no incremental mode)
    cases = sorted((r["tool"], r["mode"], r["input"]) for r in results)
    assert cases == [
        ("floor", "full", "files"),
        ("floor", "full", "tables"),
        ("handwritten_duckdb", "daily", "files"),
        ("handwritten_duckdb", "full", "files"),
        ("handwritten_duckdb", "full", "tables"),
    ]
    for row in results:
        assert RESULT_KEYS <= row.keys(), row
        assert row["tool"] in TOOLS
        assert row["n_per_side"] == 20_000
        assert row["runs"] == 1
        assert row["exact"] is True, row
        assert 0 < row["min_s"] <= row["median_s"]
        assert row["peak_rss_mb"] > 0
    hands = {(r["mode"], r["input"]): r for r in results if r["tool"] == "handwritten_duckdb"}
    for hand in hands.values():
        assert hand["break_counts"] == {
            "missing_in_right": 200,
            "missing_in_left": 200,
            "value_mismatch": 100,
        }
        assert hand["ratio_to_handwritten"] == 1.0
    assert hands["daily", "files"]["median_s"] == hands["full", "files"]["median_s"]
    markdown = (tmp_path / "latest.md").read_text()
    assert "| 20,000 | handwritten_duckdb | full | files | 1 |" in markdown
    assert (tmp_path / "latest.md").read_text().startswith("# Reconciliation benchmark")
