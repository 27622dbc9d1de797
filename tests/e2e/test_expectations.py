"""The Great Expectations checkpoint on the demo: it fails exactly the
reconciliations that have open breaks (the generator's ground truth, and
marts.fct_recon_breaks) and passes the others; pending windows do not fail it;
an input table with a null key or a window beyond its tolerance does; Data Docs
are written, replacing only their own files; on PostgreSQL too, without the
password in them.

The demo builds (conftest `demo_build`) run the checkpoint as part of `tally
build`; these tests read what they printed and run it again in process for
its structured result."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from conftest import read_csv, run_tally

from orchestration.expectations import ValidationError, run_checkpoint
from orchestration.expectations.checkpoint import DOCS_MARKER
from orchestration.settings import Settings

pytestmark = pytest.mark.slow

SEED = 7


def ground_truth(landing: Path) -> set[str]:
    """The reconciliations with an injected break that is open at the demo's as_of."""
    return {row["recon_name"] for row in read_csv(landing / "_expected/breaks.csv")}


def settings_of(warehouse) -> Settings:
    if warehouse.target == "duckdb":
        return Settings.from_env({}, duckdb_path=warehouse.duckdb_path)
    return Settings.from_env(warehouse.env, target="postgres")


def open_break_recons(warehouse) -> set[str]:
    rows = warehouse.query(
        "select distinct recon_name from marts.fct_recon_breaks where status = 'open'"
    )
    return {name for (name,) in rows}


def registry(warehouse) -> set[str]:
    return {name for (name,) in warehouse.query("select recon_name from marts.dim_reconciliations")}


def assert_fails_exactly_the_broken(demo, outcome) -> None:
    truth = ground_truth(demo.landing)
    names = registry(demo.warehouse)
    assert truth and truth <= names
    assert open_break_recons(demo.warehouse) == truth
    assert set(outcome.reconciliations) == names
    assert outcome.failed_reconciliations == truth
    assert {name for name, passed in outcome.reconciliations.items() if passed} == names - truth
    assert outcome.errors == []  # every expectation was evaluated
    for name in truth:
        window = outcome.suite(f"{name}.window_summary")
        failed = {failure.column for failure in window.failures}
        assert "window_status" in failed, name
    # the tables the reconciliations read are clean in the demo
    inputs = [suite for suite in outcome.suites if suite.kind == "inputs"]
    assert len(inputs) >= 8 and all(suite.success for suite in inputs), [
        (suite.name, suite.failures) for suite in inputs if not suite.success
    ]


def test_checkpoint_fails_exactly_the_reconciliations_with_open_breaks(demo_build, tmp_path):
    demo = demo_build(SEED, "duckdb")
    outcome = run_checkpoint(settings_of(demo.warehouse), docs_dir=tmp_path / "docs")
    assert_fails_exactly_the_broken(demo, outcome)

    # `tally build` ran it and said so in plain words; breaks do not fail the build
    printed = demo.stdout
    for name in registry(demo.warehouse):
        verdict = "FAILED" if name in outcome.failed_reconciliations else "passed"
        assert f"  {name}: {verdict}" in printed, name
    site = demo.warehouse.duckdb_path.parent / "data_docs" / "index.html"
    assert f"Data Docs: {site}" in printed


def test_data_docs_replace_only_their_own_files(demo_build, tmp_path):
    """Data Docs replace the files the previous run listed and keep every other
    file in the folder; a file in the way that they did not write stops them."""
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
    assert outcome.data_docs == docs.resolve()
    html = (docs / "index.html").read_text(encoding="utf-8")
    for suite in outcome.suites:
        assert suite.name in html, suite.name
    assert not (docs / "validations" / "stale").exists()
    for name, text in foreign.items():
        assert (docs / name).read_text() == text, name
    written = json.loads(listing.read_text())["files"]
    assert "index.html" in written and not set(foreign) & set(written)
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


def test_pending_windows_pass_and_input_or_tolerance_failures_fail(demo_build, tmp_path):
    """On a copy of the demo marts: the windows with breaks of three reconciliations
    removed, they pass (pending windows included); then a null key in a table one
    of them reads and an amount beyond tolerance fail the two concerned."""
    demo = demo_build(SEED, "duckdb")
    copy = tmp_path / "tally.duckdb"
    shutil.copyfile(demo.warehouse.duckdb_path, copy)
    cleared = {"payments_psp", "signup_wallet", "wallet_credit"}
    names = ", ".join(f"'{name}'" for name in sorted(cleared))
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "delete from marts.fct_recon_window_summary "
            f"where window_status = 'breaks' and recon_name in ({names})"
        )
        [(pending,)] = connection.execute(
            "select count(*) from marts.fct_recon_window_summary "
            "where window_status = 'pending' and recon_name = 'payments_psp'"
        ).fetchall()
    assert pending > 0  # what passes below has pending windows

    settings = Settings.from_env({}, duckdb_path=copy)
    outcome = run_checkpoint(settings, docs_dir=tmp_path / "docs")
    assert outcome.failed_reconciliations == ground_truth(demo.landing) - cleared
    assert all(outcome.reconciliations[name] for name in cleared)

    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update staging.stg_accounts__signups set user_id = null "
            "where user_id = (select min(user_id) from staging.stg_accounts__signups)"
        )
        connection.execute(
            "update marts.fct_recon_window_summary set amount_diff = amount_diff + 0.5 "
            "where recon_name = 'payments_psp' and window_start = ("
            "select min(window_start) from marts.fct_recon_window_summary "
            "where recon_name = 'payments_psp' and window_status = 'balanced')"
        )
    outcome = run_checkpoint(settings, docs_dir=tmp_path / "docs")
    assert outcome.failed_reconciliations == ground_truth(demo.landing) - {"wallet_credit"}
    signups = outcome.suite("stg_accounts__signups.inputs")
    assert [(f.column, f.unexpected_count) for f in signups.failures] == [("user_id", 1)]
    psp = outcome.suite("payments_psp.window_summary")
    assert [f.column for f in psp.failures] == ["balanced_amount_diff_per_match"]
    summary = outcome.describe()
    assert "signup_wallet: FAILED" in summary and "user_id" in summary
    assert "wallet_credit: passed" in summary


def test_validate_names_what_is_missing(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    done = run_tally("validate", "--duckdb-path", str(empty))
    assert done.returncode == 1
    assert "dim_reconciliations" in done.stderr and "tally validate:" in done.stderr


@pytest.mark.postgres
def test_checkpoint_on_postgres_fails_exactly_the_reconciliations_with_open_breaks(
    demo_build, tmp_path
):
    demo = demo_build(SEED, "postgres")
    settings = settings_of(demo.warehouse)
    # trust authentication ignores it; it must not be written anywhere
    secret = "gx-password-never-shown-7"
    settings = replace(settings, postgres=replace(settings.postgres, password=secret))
    docs = tmp_path / "docs"
    outcome = run_checkpoint(settings, docs_dir=docs)
    assert_fails_exactly_the_broken(demo, outcome)
    for path in docs.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), path
    assert secret not in outcome.describe()
    for name in outcome.failed_reconciliations:
        assert f"  {name}: FAILED" in demo.stdout, name
