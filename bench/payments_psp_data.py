"""Payments <-> PSP settlements landing files for the benchmarks.

N payments per side over 30 days, written as one CSV per day and table straight
from DuckDB SQL (vectorized, deterministic by row number), with injected breaks:
1% of payments without a settlement (missing_in_right), 1% settlements without a
payment (missing_in_left) and 0.5% amount mismatches (value_mismatch). The ledger
posts every payment as one balanced movement (debit psp_receivable, credit
merchant_payable, its amount, at its created_at), so the project's other
reconciliations of these payments (payments_ledger, ledger_invariants) find
nothing to report and the benchmark's history holds the payments_psp breaks
only (the settlements are in no payout batch). Every other landing table gets
an empty export. The expected counts are
returned.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from orchestration.contract import headers  # noqa: E402

START = "2026-10-01"
DAYS = 30
# as_of: three days after the last payment, past the 2-day grace: nothing pending.
AS_OF = "2026-11-03T00:00:00Z"

# Every landing table this benchmark does not fill gets a header-only export.
GENERATED_TABLES = ("payments/payments", "psp/settlements", "ledger/postings")
EMPTY_TABLES = {
    table: header for table, header in headers().items() if table not in GENERATED_TABLES
}

# What row i is, as SQL, wherever payment i appears: its number, currency (JPY has
# no minor unit), amount in minor units and creation time (a day by i % 30). The
# payments, their settlements and their ledger postings all read these, so they
# agree on every payment by construction.
ROW = {
    "number": "lpad(cast(i as varchar), 9, '0')",
    "currency": "case i % 3 when 0 then 'JPY' when 1 then 'USD' else 'EUR' end",
    "minor": "(100 + i % 9000)",
    "created": (
        f"(timestamp '{START}' + to_days(cast(i % {DAYS} as integer))"
        " + to_seconds(cast(hash(i) % 86400 as bigint)))"
    ),
}

# Payment i % 100 = 0 is never settled, i % 200 = 1 is settled with one minor
# unit more, and settlement rows n..n + n/100 have no payment.
PAYMENTS_SQL = """
select
    'pay-' || {number} as payment_id,
    'user-' || cast(i % 50000 as varchar) as user_id,
    'm' || cast(i % 40 as varchar) as merchant_id,
    'card' as channel,
    case when i % 3 = 0 then cast({minor} as varchar)
         else cast(cast({minor} / 100.0 as decimal(18, 2)) as varchar) end as amount,
    {currency} as currency,
    'captured' as status,
    strftime({created}, '%Y-%m-%dT%H:%M:%SZ') as created_at,
    strftime({created}, '%Y-%m-%dT%H:%M:%SZ') as updated_at,
    i % {days} as day
from range({n}) as t(i)
"""

SETTLEMENTS_SQL = """
select
    'psp-' || cast(i as varchar) as psp_reference,
    case when i < {n} then 'pay-' || {number}
         else 'ghost-' || cast(i as varchar) end as merchant_reference,
    cast({minor} + case when i % 200 = 1 and i < {n} then 1 else 0 end as varchar)
        as amount_minor,
    {currency} as currency,
    'SETTLED' as status,
    strftime({created} + interval 6 hour, '%Y-%m-%dT%H:%M:%SZ') as settled_at,
    -- in no batch: no payouts here (bench/group_matching.py times the batches)
    '' as batch_id,
    i % {days} as day
from range({n} + {n} // 100) as t(i)
where i >= {n} or i % 100 <> 0
"""

# Payment i's ledger movement: two postings of its amount in minor units, posted
# when the payment was created (epoch milliseconds, as the ledger exports them).
POSTINGS_SQL = """
with payments as (
    select
        i,
        {number} as number,
        cast({minor} as varchar) as amount_minor,
        {currency} as currency,
        cast(epoch_ms({created}) as varchar) as posted_at,
        i % {days} as day
    from range({n}) as t(i)
)
select
    'post-' || number || '-' || legs.leg as posting_id,
    'mov-' || number as movement_id,
    'pay-' || number as payment_id,
    legs.account,
    legs.direction,
    amount_minor,
    currency,
    posted_at,
    posted_at as produced_at,
    posted_at as consumed_at,
    posted_at as recorded_at,
    day
from payments
cross join (values (1, 'psp_receivable', 'debit'), (2, 'merchant_payable', 'credit'))
    as legs(leg, account, direction)
order by i, legs.leg
"""


def expected_counts(n: int) -> dict[str, int]:
    return {
        "missing_in_right": len(range(0, n, 100)),
        "missing_in_left": n // 100,
        "value_mismatch": len(range(1, n, 200)),
    }


def generate(landing: Path, n: int) -> tuple[dict[str, int], float]:
    """Writes the landing files; returns the expected break counts and the seconds taken."""
    started = time.monotonic()
    for table, header in EMPTY_TABLES.items():
        folder = landing / table
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "empty.csv").open("w", newline="") as handle:
            csv.writer(handle).writerow(header)
    connection = duckdb.connect()
    for table, sql in (
        ("payments/payments", PAYMENTS_SQL),
        ("psp/settlements", SETTLEMENTS_SQL),
        ("ledger/postings", POSTINGS_SQL),
    ):
        folder = landing / table
        folder.mkdir(parents=True, exist_ok=True)
        connection.execute(f"create or replace table rows as {sql.format(n=n, days=DAYS, **ROW)}")
        columns = [c for c in connection.sql("select * from rows limit 0").columns if c != "day"]
        for day in range(DAYS):
            path = folder / f"{table.split('/')[1]}_{day:02d}.csv"
            connection.execute(
                f"copy (select {', '.join(columns)} from rows where day = {day}) "
                f"to '{path}' (header, delimiter ',')"
            )
    connection.close()
    return expected_counts(n), time.monotonic() - started
