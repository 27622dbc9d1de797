"""`tally report` on the demo, opened in headless Chromium.

The page must render without a console error, draw a window-status strip and an
aging chart per reconciliation that agree with the marts, offer each
reconciliation's breaks as a CSV download holding exactly the rows of
`fct_recon_breaks`, speak plain words on its first screen, and show hostile
values as text. A screenshot is kept under target/ for humans.
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, run_tally

from orchestration.report import load, render
from orchestration.report.data import BREAK_COLUMNS
from orchestration.settings import Settings

pytestmark = pytest.mark.slow

SCREENSHOT = PROJECT_DIR / "target" / "report_screenshot.png"
INTERNAL_NAME = re.compile(r"\b(fct|dim|stg|int|base|raw|hist|recon)_[a-z_]+")


@pytest.fixture(scope="module")
def built(demo_build):
    return demo_build(7, "duckdb")


@pytest.fixture(scope="module")
def report(built, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run_tally(
        "report", "--out", str(out), "--duckdb-path", str(built.warehouse.duckdb_path)
    )
    assert result.returncode == 0, result.stderr
    assert f"Report: {out}" in result.stdout
    return out


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    opened.problems = problems
    yield opened
    context.close()


def test_report_renders_strips_and_aging_charts_without_console_errors(built, report, page):
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    query = built.warehouse.query
    recons = [name for (name,) in query("select recon_name from marts.dim_reconciliations")]
    assert len(recons) == 8
    for name in recons:
        windows = query(
            "select window_status from marts.fct_recon_window_summary "
            f"where recon_name = '{name}' order by window_start"
        )
        strip = page.locator(f'svg.window-strip[data-recon="{name}"]')
        assert strip.count() == 1
        box = strip.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 10, name
        cells = strip.locator("rect.window")
        assert cells.count() == len(windows), name
        # Cells are drawn in window order, each coloured by its status.
        classes = cells.evaluate_all("cells => cells.map(c => c.getAttribute('class'))")
        assert classes == [f"window window-{status}" for (status,) in windows], name

        (open_breaks,) = query(
            f"select count(*) from marts.fct_recon_breaks "
            f"where recon_name = '{name}' and status = 'open'"
        )[0]
        chart = page.locator(f'svg.aging-chart[data-recon="{name}"]')
        assert chart.bounding_box()["width"] > 100, name
        bars = chart.locator("rect.age-bar")
        assert bars.count() == 4
        titles = bars.evaluate_all("bars => bars.map(b => b.textContent)")
        assert sum(int(title.rsplit(": ", 1)[1]) for title in titles) == open_breaks, name
        # The overview names the same count for the reconciliation.
        pill = page.locator(f"section#{name} h2 .pill")
        expected = f"{open_breaks} open break" if open_breaks else None
        if expected:
            assert expected in pill.inner_text()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert page.problems == []


@pytest.mark.parametrize("recon", ["payments_psp", "signup_wallet", "processing_consistency"])
def test_csv_download_holds_the_rows_of_fct_recon_breaks(built, report, page, recon, tmp_path):
    page.goto(report.as_uri())
    with page.expect_download() as download_info:
        page.locator(f"section#{recon} button.download").click()
    download = download_info.value
    assert download.suggested_filename == f"{recon}_breaks.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        downloaded = list(reader)
    assert header == list(BREAK_COLUMNS)

    columns = ", ".join(BREAK_COLUMNS)
    expected = built.warehouse.query(
        f"select {columns} from marts.fct_recon_breaks where recon_name = '{recon}'"
    )
    assert len(expected) > 0
    assert len(downloaded) == len(expected)
    assert sorted(map(_key, downloaded)) == sorted(
        _key([_as_text(value) for value in row]) for row in expected
    )
    # Each cell parses back to the mart's value (numbers, times, empty for null).
    by_key = {_key(row): row for row in downloaded}
    for row in expected:
        cells = by_key[_key([_as_text(value) for value in row])]
        for value, text in zip(row, cells, strict=True):
            if value is None:
                assert text == ""
            elif isinstance(value, Decimal):
                assert Decimal(text) == value
            elif isinstance(value, datetime):
                assert datetime.fromisoformat(text) == value
            else:
                assert text == str(value)
    assert page.problems == []


def test_first_screen_speaks_plain_words(report, page):
    page.goto(report.as_uri())
    visible = page.evaluate(
        """() => {
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const out = [];
            while (walker.nextNode()) {
                const range = document.createRange();
                range.selectNodeContents(walker.currentNode);
                const box = range.getBoundingClientRect();
                const shown = walker.currentNode.parentElement.checkVisibility();
                if (shown && box.width > 0 && box.top < window.innerHeight) {
                    out.push(walker.currentNode.textContent);
                }
            }
            return out.join(' ');
        }"""
    )
    assert "At a glance" in visible
    assert "Payments ↔ PSP settlements" in visible
    assert [m.group(0) for m in INTERNAL_NAME.finditer(visible)] == []


HOSTILE = "</script><img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://example.invalid","open me")'


def test_hostile_values_show_as_text_and_downloads_are_inert(built, page, tmp_path):
    settings = Settings.from_env(duckdb_path=built.warehouse.duckdb_path)
    data = load(settings, datetime(2026, 11, 23))
    recon = next(r for r in data.reconciliations if r.name == "payments_psp")
    recon.breaks = [
        replace_key(row, f"{HOSTILE}{index}" if index % 2 else f"{FORMULA}{index}")
        for index, row in enumerate(recon.breaks)
    ]
    data = replace(data, quarantine=[dict(row, raw_record=HOSTILE) for row in data.quarantine])
    out = tmp_path / "hostile.html"
    out.write_text(render(data), encoding="utf-8")

    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    assert page.locator("img").count() == 0
    table = page.locator("section#payments_psp table.top-breaks")
    assert HOSTILE in table.inner_text()
    assert FORMULA in table.inner_text()
    with page.expect_download() as download_info:
        page.locator("section#payments_psp button.download").click()
    saved = tmp_path / "breaks.csv"
    download_info.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8-sig") as handle:
        keys = [row["record_key"] for row in csv.DictReader(handle)]
    assert len(keys) == len(recon.breaks)
    assert all(key.startswith("'=HYPERLINK(") for key in keys[0::2])
    assert all(key.startswith(HOSTILE) for key in keys[1::2])
    # Nothing ran: no dialog, no script error, no blocked inline handler.
    assert page.problems == []


def replace_key(row: dict, key: str) -> dict:
    return dict(row, record_key=key)


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _key(cells) -> tuple:
    # recon, window, key, break type, side, first seen: one row of fct_recon_breaks
    return (cells[0], cells[2], cells[3], cells[4], cells[10])


@pytest.mark.postgres
def test_report_from_postgres_shows_the_same_breaks_as_from_duckdb(demo_build, tmp_path):
    on_duckdb = demo_build(7, "duckdb").warehouse
    on_postgres = demo_build(7, "postgres").warehouse
    out = tmp_path / "report.html"
    result = run_tally("report", "--target", "postgres", "--out", str(out), env=on_postgres.env)
    assert result.returncode == 0, result.stderr
    assert "postgresql://" in result.stdout
    assert 'section id="payments_psp"' in out.read_text()

    duckdb_data = load(Settings.from_env(duckdb_path=on_duckdb.duckdb_path), datetime(2026, 1, 1))
    postgres_data = load(
        Settings.from_env(env={**on_postgres.env, "TALLY_TARGET": "postgres"}),
        datetime(2026, 1, 1),
    )

    def breaks(data) -> dict:
        return {
            recon.name: sorted(
                (str(row["window_start"]), row["record_key"], row["break_type"], row["status"])
                for row in recon.breaks
            )
            for recon in data.reconciliations
        }

    assert breaks(postgres_data) == breaks(duckdb_data)
    assert len(postgres_data.quarantine) == len(duckdb_data.quarantine) > 0
