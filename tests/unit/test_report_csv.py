"""CSV cells of the report's downloads: formulas made inert, numbers kept as numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest

from orchestration.report.csv_export import cell, to_csv


@pytest.mark.parametrize(
    "value",
    ["=1+2", "+31 20 555", "-5", "@SUM(A1:A2)", "\tx", "\rx", '=HYPERLINK("http://x","y")'],
)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(value):
    assert cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("-0.0100"), "-0.0100"),
        (-5, "-5"),
        (-2.5, "-2.5"),
        (None, ""),
        (True, "true"),
        ("pay_001", "pay_001"),
        ("a=b", "a=b"),
        (" -leading space", " -leading space"),
        (datetime(2026, 11, 4, 7, 30), "2026-11-04 07:30:00"),
        (date(2026, 11, 4), "2026-11-04"),
    ],
)
def test_numbers_times_and_plain_text_stay_as_they_are(value, text):
    assert cell(value) == text


def test_to_csv_quotes_commas_quotes_and_newlines_and_keeps_column_order():
    rows = [{"b": 'say "hi", then\nleave', "a": Decimal("-1.5")}, {"a": None, "b": "-x"}]
    text = to_csv(["a", "b"], rows)
    assert text.endswith("\r\n")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [["a", "b"], ["-1.5", 'say "hi", then\nleave'], ["", "'-x"]]
