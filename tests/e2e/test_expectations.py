"""The Great Expectations checkpoint on the demo's staged inputs: it passes on
the demo (odd files included) and finds the problems that staging lets through
when they are injected (an amount beyond the policy, a record after as_of, a
country that is not two letters, too many quarantined rows); `tally validate`
reports them per landing table with exit 0, or 3 with --fail-on-findings; Data
Docs are written, replacing only their own files, and open from disk without
network; on PostgreSQL too, without the password in them.

The demo builds (conftest `demo_build`) run the checkpoint as part of `tally
build`; these tests read what they printed, and run it again on copies."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import duckdb
import pytest
from conftest import run_tally

from orchestration.expectations import ValidationError, run_checkpoint
from orchestration.expectations.checkpoint import DOCS_MARKER
from orchestration.settings import Settings

pytestmark = pytest.mark.slow

SEED = 7
LANDING_TABLES = {
    "accounts/signups",
    "gateway/attempts",
    "ledger/postings",
    "payments/payments",
    "processing/processings",
    "processing/reports",
    "promo/credits",
    "psp/settlements",
    "wallet/wallets",
}


def settings_of(warehouse) -> Settings:
    if warehouse.target == "duckdb":
        return Settings.from_env({}, duckdb_path=warehouse.duckdb_path)
    return Settings.from_env(warehouse.env, target="postgres")


def landing_tables(warehouse) -> set[str]:
    rows = warehouse.query("select service, table_name from marts.fct_source_freshness")
    return {f"{service}/{table}" for service, table in rows}


def assert_passed_on_the_demo(demo) -> None:
    """`tally build` ran the checkpoint and passed every landing table."""
    tables = landing_tables(demo.warehouse)
    assert LANDING_TABLES <= tables
    for table in tables:
        assert f"  {table}: passed (" in demo.stdout, table
    assert "FAILED" not in demo.stdout


def test_checkpoint_passes_on_the_demo_staged_inputs(demo_build):
    demo = demo_build(SEED, "duckdb")
    assert_passed_on_the_demo(demo)
    site = demo.warehouse.duckdb_path.parent / "data_docs" / "index.html"
    assert f"Data Docs: {site}" in demo.stdout


def test_injected_input_problems_are_found_per_landing_table(demo_build, tmp_path):
    """On a copy of the demo warehouse, one problem per landing table that
    staging cannot catch; `tally validate` names each table and what failed,
    exits 0 (findings, like breaks), and 3 with --fail-on-findings."""
    demo = demo_build(SEED, "duckdb")
    copy = tmp_path / "tally.duckdb"
    shutil.copyfile(demo.warehouse.duckdb_path, copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update staging.stg_promo__credits set amount = 2000000000 "
            "where credit_id = (select min(credit_id) from staging.stg_promo__credits)"
        )
        connection.execute(
            "update staging.stg_psp__settlements set settled_at = "
            "(select max(as_of) from marts.fct_source_freshness) + interval 1 day "
            "where psp_reference = (select min(psp_reference) from staging.stg_psp__settlements)"
        )
        connection.execute(
            "update staging.stg_accounts__signups set country = 'DEU' "
            "where user_id = (select min(user_id) from staging.stg_accounts__signups)"
        )
        [(quarantined,)] = connection.execute(
            "update staging.base_wallet__wallets set quarantine_reason = 'currency: injected' "
            "where _source_row % 20 = 0"
        ).fetchall()
    assert quarantined > 100  # about 5% of the wallets' rows

    docs = tmp_path / "docs"
    found = run_tally("validate", "--duckdb-path", str(copy), "--docs-dir", str(docs))
    assert found.returncode == 0, found.stdout + found.stderr
    failed = {
        line.strip().split(":")[0]
        for line in found.stdout.splitlines()
        if line.startswith("  ") and ": FAILED (" in line
    }
    assert failed == {"promo/credits", "psp/settlements", "accounts/signups", "wallet/wallets"}
    for table in LANDING_TABLES - failed:
        assert f"  {table}: passed (" in found.stdout, table
    for problem in (
        "amount is between 0 and 1000000000 major units",
        "settled_at is between 2000-01-01 and the build's as_of",
        "country is an ISO 3166 alpha-2 country code",
        "At most 1% of the rows in the current files of wallet/wallets are quarantined",
    ):
        assert problem in found.stdout, problem
    assert "psp/settlements: FAILED (error, owner payments-oncall)" in found.stdout
    assert f"Data Docs: {docs.resolve() / 'index.html'}" in found.stdout

    strict = run_tally(
        "validate", "--duckdb-path", str(copy), "--docs-dir", str(docs), "--fail-on-findings"
    )
    assert strict.returncode == 3, strict.stdout + strict.stderr


def test_data_docs_replace_only_their_own_files(demo_build, tmp_path):
    """Data Docs replace the files the previous run listed, vendored assets
    included, and keep every other file in the folder; a file in the way that
    they did not write stops them."""
    demo = demo_build(SEED, "duckdb")
    docs = tmp_path / "docs"
    foreign = {"notes.txt": "keep me", "validations/mine.html": "my own page"}
    earlier = {"validations/stale/old.html": "an earlier run's page"}
    for name, text in {**foreign, **earlier}.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    listing = docs / DOCS_MARKER
    listing.write_text(json.dumps({"written_by": "tally validate", "files": list(earlier)}))

    outcome = run_checkpoint(settings_of(demo.warehouse), docs_dir=docs)
    assert outcome.success and outcome.errors == []
    assert set(outcome.tables) == landing_tables(demo.warehouse)
    assert outcome.data_docs == docs.resolve()
    html = (docs / "index.html").read_text(encoding="utf-8")
    for suite in outcome.suites:
        assert suite.name in html, suite.name
    assert not (docs / "validations" / "stale").exists()
    for name, text in foreign.items():
        assert (docs / name).read_text() == text, name
    written = json.loads(listing.read_text())["files"]
    assert "index.html" in written and not set(foreign) & set(written)
    assert "static/vendor/jquery-3.7.1/jquery.min.js" in written
    assert "static/vendor/bootstrap-4.3.1/LICENSE" in written
    assert all((docs / name).is_file() for name in written)
    assert list((docs / "validations").rglob("*.html"))
    assert list((docs / "expectations").rglob("*.html"))

    site = tmp_path / "someone-elses-site"
    site.mkdir()
    (site / "index.html").write_text("someone else's site")
    with pytest.raises(ValidationError, match="index.html"):
        run_checkpoint(settings_of(demo.warehouse), docs_dir=site)
    assert [path.name for path in site.iterdir()] == ["index.html"]
    assert (site / "index.html").read_text() == "someone else's site"


def test_data_docs_open_from_disk_without_network(demo_build, offline_page):
    """The Data Docs `tally build` wrote render in a browser that may read
    files only: the tables drawn by the vendored scripts appear, nothing else
    is fetched or tried, and no script fails."""
    demo = demo_build(SEED, "duckdb")
    docs = demo.warehouse.duckdb_path.parent / "data_docs"
    page = offline_page.page
    offline_page.open(docs / "index.html")
    rows = page.locator("table tbody tr")  # drawn by bootstrap-table from the page's data
    rows.first.wait_for(state="visible")
    assert rows.count() >= 2 * len(LANDING_TABLES)
    # the suite column links each validation to its suite, named after its model
    suites = page.locator("table tbody tr td:last-child a")
    assert suites.first.is_visible()
    # (innerText keeps the cell's whitespace while the table is still being laid out)
    names = {name.strip() for name in suites.all_inner_texts()}
    assert names and all(name.startswith(("stg_", "base_")) for name in names), names
    assert page.locator(".fa-check-circle, .fas").first.is_visible()  # Font Awesome icons

    [validation] = list((docs / "validations" / "stg_psp__settlements").rglob("*.html"))
    offline_page.open(validation)
    assert page.get_by_text("settled_at is between 2000-01-01").first.is_visible()
    assert offline_page.attempted == []
    assert offline_page.failed == []
    assert offline_page.errors == []


def test_validate_names_what_is_missing(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    done = run_tally("validate", "--duckdb-path", str(empty))
    assert done.returncode == 1
    assert "tally validate:" in done.stderr
    assert "staging.base_accounts__signups" in done.stderr and "tally build" in done.stderr


@pytest.mark.postgres
def test_checkpoint_on_postgres_passes_the_demo_and_finds_a_future_record(demo_build, tmp_path):
    """GX's SQL datasource on the PostgreSQL demo: `tally build` passed every
    landing table; a settlement moved after as_of fails psp/settlements only
    (the row is put back afterwards); the password is nowhere in Data Docs."""
    demo = demo_build(SEED, "postgres")
    assert_passed_on_the_demo(demo)
    settings = settings_of(demo.warehouse)
    # trust authentication ignores it; it must not be written anywhere
    secret = "gx-password-never-shown-7"
    settings = replace(settings, postgres=replace(settings.postgres, password=secret))
    move = (
        "update staging.stg_psp__settlements set settled_at = settled_at {} interval '30 days' "
        "where psp_reference = (select min(psp_reference) from staging.stg_psp__settlements)"
    )
    docs = tmp_path / "docs"
    demo.warehouse.execute(move.format("+"))
    try:
        outcome = run_checkpoint(settings, docs_dir=docs)
    finally:
        demo.warehouse.execute(move.format("-"))
    assert outcome.errors == []
    assert outcome.failed_tables == {"psp/settlements"}
    [failure] = [f for suite in outcome.table_suites("psp/settlements") for f in suite.failures]
    assert (failure.column, failure.unexpected_count) == ("settled_at", 1)
    for path in docs.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), path
    assert secret not in outcome.describe()
