"""The benchmark's ratios compare each row with the hand-written query of its own
engine and input: DuckDB rows with the DuckDB query, PostgreSQL and Spark rows
with theirs (bench/reconcile.py)."""

from __future__ import annotations

import sys

from conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "bench"))

import reconcile  # noqa: E402


def _row(tool: str, seconds: float, source: str = "files") -> dict:
    return {"tool": tool, "mode": "full", "input": source, "n_per_side": 1000, "median_s": seconds}


def test_each_engine_is_compared_with_its_own_hand_written_query():
    rows = [
        _row("floor", 0.5),
        _row("handwritten_duckdb", 2.0),
        _row("tally", 6.0),
        _row("handwritten_postgres", 4.0, "tables"),
        _row("tally_postgres", 40.0),
        _row("handwritten_spark", 20.0),
        _row("tally_spark", 100.0),
    ]
    reconcile.add_ratios(rows)
    ratios = {
        row["tool"]: (row.get("ratio_to_handwritten"), row.get("ratio_to_floor")) for row in rows
    }
    assert ratios == {
        "floor": (0.25, 1.0),
        "handwritten_duckdb": (1.0, 4.0),
        "tally": (3.0, 12.0),
        "handwritten_postgres": (1.0, None),
        # PostgreSQL's pair is compared as it is: the script from tables, the build from files
        "tally_postgres": (10.0, None),
        "handwritten_spark": (1.0, None),
        "tally_spark": (5.0, None),
    }


def test_a_spark_row_without_its_hand_written_query_has_no_ratio():
    rows = [_row("handwritten_duckdb", 2.0), _row("tally_spark", 100.0)]
    reconcile.add_ratios(rows)
    assert "ratio_to_handwritten" not in rows[1]


def test_an_engine_that_cannot_run_is_recorded_with_its_error():
    def fails() -> list[dict]:
        raise SystemExit("The spark target needs PySpark")

    rows = reconcile._engine_rows(fails, {"handwritten_spark": "files", "tally_spark": "files"}, 10)
    assert [(row["tool"], row["input"], row["exact"], row["median_s"]) for row in rows] == [
        ("handwritten_spark", "files", False, None),
        ("tally_spark", "files", False, None),
    ]
    assert all("needs PySpark" in row["error"] for row in rows)
