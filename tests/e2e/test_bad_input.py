"""Bad input never disappears: bad values go to quarantine with a reason naming
the column; broken files stop the build with the file named, and the marts of
the last good build stay readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import HEADERS, MODELS_ONLY_ENV, query, run_build, write_csv

pytestmark = pytest.mark.slow

AS_OF = "2026-11-10T00:00:00Z"


def build(landing: Path, database: Path, select: str | None = None):
    """`tally build`; with `select`, of those models only (no data tests): the
    landing load, which these tests are about, runs whatever is selected."""
    if not select:
        return run_build(landing, database, AS_OF)
    return run_build(landing, database, AS_OF, "--select", select, env=MODELS_ONLY_ENV)


SIGNUPS = "+stg_accounts__signups"


def test_bad_values_are_quarantined_with_the_column_named(landing, database):
    write_csv(
        landing / "accounts/signups/day1.csv",
        HEADERS["accounts/signups"],
        [
            {"user_id": "usr_ok", "country": "JP", "signed_up_at": "2026-11-01T09:00:00+09:00"},
            {"user_id": "   ", "country": "JP", "signed_up_at": "2026-11-01T09:00:00+09:00"},
            {"user_id": "usr_when", "country": "US", "signed_up_at": "yesterday"},
        ],
    )
    write_csv(
        landing / "promo/credits/day1.csv",
        HEADERS["promo/credits"],
        [
            {
                "credit_id": "c1",
                "user_id": "usr_ok",
                "amount": "12,50",
                "currency": "USD",
                "granted_at": "2026-11-01T00:05:00Z",
            },
        ],
    )
    write_csv(
        landing / "payments/payments/day1.csv",
        HEADERS["payments/payments"],
        [
            {
                "payment_id": "p1",
                "user_id": "u",
                "merchant_id": "m",
                "channel": "card",
                "amount": "10.00",
                "currency": "XYZ",
                "status": "captured",
                "created_at": "2026-11-01T00:00:00Z",
                "updated_at": "2026-11-01T00:00:00Z",
            },
            {
                "payment_id": "p2",
                "user_id": "u",
                "merchant_id": "m",
                "channel": "card",
                "amount": "10.00",
                "currency": "USD",
                "status": "pending",
                "created_at": "2026-11-01T00:00:00Z",
                "updated_at": "2026-11-01T00:00:00Z",
            },
        ],
    )
    result = build(landing, database)
    assert result.returncode == 0, result.stderr + result.stdout

    rows = query(
        database,
        "select service, table_name, source_file, source_row, reason, raw_record "
        "from marts.fct_quarantine order by service, table_name, source_row",
    )
    found = {(r[0], r[1], r[3]): (r[2], r[4], json.loads(r[5])) for r in rows}
    expected_column = {
        ("accounts", "signups", 2): "user_id",
        ("accounts", "signups", 3): "signed_up_at",
        ("promo", "credits", 1): "amount",
        ("payments", "payments", 1): "currency",
        ("payments", "payments", 2): "status",
    }
    assert set(found) == set(expected_column)
    for key, column in expected_column.items():
        source_file, reason, raw = found[key]
        assert reason.startswith(f"{column}: "), reason
        assert source_file.endswith("day1.csv")
        assert set(raw) == set(HEADERS[f"{key[0]}/{key[1]}"])
    # the original text is kept as it was exported
    assert found[("promo", "credits", 1)][2]["amount"] == "12,50"
    assert found[("accounts", "signups", 3)][2]["signed_up_at"] == "yesterday"

    staged = query(database, "select user_id from staging.stg_accounts__signups")
    assert staged == [("usr_ok",)]


def test_missing_column_fails_naming_file_and_column_and_keeps_last_good_marts(landing, database):
    write_csv(
        landing / "accounts/signups/day1.csv",
        HEADERS["accounts/signups"],
        [{"user_id": "usr_1", "country": "JP", "signed_up_at": "2026-11-01T00:00:00Z"}],
    )
    first = build(landing, database)
    assert first.returncode == 0, first.stderr + first.stdout
    before = query(database, "select * from marts.fct_recon_breaks order by all")
    assert before, "the signup without a wallet is a break"

    broken = write_csv(
        landing / "wallet/wallets/day2.csv",
        ["wallet_id", "user_id", "created_at"],  # no currency
        [{"wallet_id": "w1", "user_id": "usr_1", "created_at": "2026-11-01T00:01:00Z"}],
    )
    second = build(landing, database)
    assert second.returncode != 0
    assert str(broken) in second.stderr
    assert "currency" in second.stderr
    assert "unchanged" in second.stderr
    assert query(database, "select * from marts.fct_recon_breaks order by all") == before


def test_invalid_csv_fails_naming_the_file_and_line_but_not_its_text(landing, database):
    bad = landing / "psp/settlements/broken.csv"
    bad.write_text(
        ",".join(HEADERS["psp/settlements"])
        + "\ns1,p1,100,USD,SETTLED,2026-11-01T00:00:00Z,B1"
        + '\ns2,p2,100,USD,SETTLED,"2026-11-01T00:00:00Z SECRET-VALUE,B1\n',
        encoding="utf-8",
    )
    result = build(landing, database)
    assert result.returncode != 0
    assert f"{bad} is not valid CSV at line 3" in result.stderr
    assert "SECRET-VALUE" not in result.stdout + result.stderr
    assert not database.exists(), "nothing is published by a failed first build"


def test_a_link_out_of_the_landing_folder_stops_the_build_without_reading_it(
    landing, database, tmp_path
):
    secret = tmp_path / "credentials.csv"
    secret.write_text("api_key\nsk_live_SECRET\n", encoding="utf-8")
    link = landing / "psp/settlements/settlements.csv"
    link.symlink_to(secret)
    result = build(landing, database)
    assert result.returncode != 0
    assert f"{link} is a symbolic link" in result.stderr
    output = result.stdout + result.stderr
    assert "SECRET" not in output and str(secret) not in output


def test_files_still_being_written_wait_for_a_later_build(landing, database):
    row = {"user_id": "usr_1", "country": "JP", "signed_up_at": "2026-11-01T00:00:00Z"}
    write_csv(landing / "accounts/signups/day1.csv", HEADERS["accounts/signups"], [row])
    waiting = run_build(
        landing, database, AS_OF, "--select", f"{SIGNUPS} +fct_landing_files",
        env={"TALLY_SETTLE_SECONDS": "3600", **MODELS_ONLY_ENV},
    )  # fmt: skip
    assert waiting.returncode == 0, waiting.stderr + waiting.stdout
    assert "ignored: accounts/signups/day1.csv (still being written" in waiting.stdout
    listed = "select change, ignored_reason from marts.fct_landing_files where source_file = ?"
    sql = listed.replace("?", "'accounts/signups/day1.csv'")
    assert [change for change, _ in query(database, sql)] == ["ignored"]
    assert query(database, "select count(*) from staging.stg_accounts__signups") == [(0,)]

    loaded = build(landing, database, f"{SIGNUPS} +fct_landing_files")
    assert loaded.returncode == 0, loaded.stderr + loaded.stdout
    assert query(database, sql) == [("new", None)]
    assert query(database, "select count(*) from staging.stg_accounts__signups") == [(1,)]


def test_missing_table_folder_fails_naming_it(landing, database):
    for file in (landing / "gateway/attempts").iterdir():
        file.unlink()
    (landing / "gateway/attempts").rmdir()
    result = build(landing, database)
    assert result.returncode != 0
    assert "gateway/attempts" in result.stderr
    assert "missing" in result.stderr


def test_table_folder_without_files_is_zero_rows(landing, database):
    for file in (landing / "processing/reports").iterdir():
        file.unlink()
    result = build(landing, database, "+fct_landing_row_counts")
    assert result.returncode == 0, result.stderr + result.stdout
    counts = query(
        database,
        "select loaded_rows, file_count from marts.fct_landing_row_counts "
        "where service = 'processing' and table_name = 'reports'",
    )
    assert counts == [(0, 0)]


def test_a_file_written_during_the_load_waits_for_the_next_build(landing, database):
    """A file that keeps growing while the build reads it is not loaded that time
    (its rows are taken back), is listed as still being written, and loads once done."""
    import threading
    import time

    path = landing / "accounts/signups/growing.csv"
    header = ",".join(HEADERS["accounts/signups"]) + "\n"
    path.write_text(header, encoding="utf-8")
    stop = threading.Event()

    def keep_writing() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"usr_{number},JP,2026-11-01T00:00:00Z\n")
            time.sleep(0.005)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        during = build(landing, database)
    finally:
        stop.set()
        writer.join()
    assert during.returncode == 0, during.stderr + during.stdout
    assert "ignored: accounts/signups/growing.csv (still being written" in during.stdout
    loaded = "select count(*) from landing.accounts__signups where _source_file like '%growing.csv'"
    assert query(database, loaded) == [(0,)], "nothing of the growing file stays loaded"

    after = build(landing, database)
    assert after.returncode == 0, after.stderr + after.stdout
    rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
    staged = "select count(*) from staging.stg_accounts__signups"
    assert query(database, staged) == [(rows,)]
