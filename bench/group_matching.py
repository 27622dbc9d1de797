"""Group matching benchmark: the two money-trail reconciliations against a
hand-written DuckDB query doing the same grouping, key extraction and fallback.

For each size N (settlements), staged tables are generated straight in DuckDB
SQL (vectorized, deterministic) in a fresh DuckDB file: N settlement lines in
N / 100 batches (reversals negative), one payout per batch, and the bank lines
the payouts arrive as, the payout id inside a free-text reference. Injected:
batches without payout, grosses off their batch, payouts of unknown batches,
payouts without bank line, payouts split over two lines, lines without
reference (paired by the fallback pass), pairs of same-amount payouts with one
reference-less line (ambiguous), amounts off by more than 0.01, value dates
outside the window. Then, in the same run:

  tally_models        `dbt build --select recon_payouts_settlements recon_payouts_bank
                      --full-refresh` on that file; the time is the two models' own
                      execution time (run_results.json)
  handwritten_duckdb  one hand-written DuckDB script computing the same outcomes
                      (both reconciliations, written to tables)

Both must give the same outcome rows (key, outcome, status, columns, how matched,
candidates, and a settlement batch's member keys: both keep them). Usage:

    .venv/bin/python bench/group_matching.py [--sizes 1000000] [--runs 3]

Writes bench/results/group_matching.json and prints a table (see bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import duckdb
import machine_info
from channel_health import Dbt, summary, timed

PROJECT_DIR = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_DIR / "bench" / "results" / "group_matching.json"
AS_OF = "2026-11-10T00:00:00Z"
MODELS = ("recon_payouts_settlements", "recon_payouts_bank")
PER_BATCH = 100

# Settlement i is in batch i % batches; batch b settles on day b % 30 of October
# in currency b % 3 (0: JPY, no minor unit), and its payout po_<b> is paid the
# next morning. Injected by batch number: b % 100 = 1 never paid out, b % 200 = 3
# gross off by 1.00, b % 200 = 5 also pays an unknown batch; and in the bank:
# b % 100 = 7 no line, 11 two lines, 13 no reference, b % 200 = 17 amount off by
# 0.05, b % 500 = 19 value date 5 days late, b % 500 = 23 and 26 (same currency,
# 3 days apart) one net amount and one reference-less line between them.
GENERATE_SQL = """
create or replace table staging.stg_psp__settlements as
select
    'psp_' || lpad(cast(i as varchar), 9, '0') as psp_reference,
    'pay_' || lpad(cast(i as varchar), 9, '0') as merchant_reference,
    'b' || lpad(cast(i % {batches} as varchar), 6, '0') as batch_id,
    cast(case when (i % {batches}) % 3 = 0 then 100 + (i * 7919) % 50000
        else (100 + (i * 7919) % 50000) / 100.0 end as decimal(18, 4)) as amount,
    case (i % {batches}) % 3 when 0 then 'JPY' when 1 then 'USD' else 'EUR' end as currency,
    case when i % 13 = 0 then 'reversed' else 'settled' end as status,
    timestamp '2026-10-01' + to_days(cast((i % {batches}) % 30 as integer))
        + to_seconds(cast(i % 80000 as bigint)) as settled_at,
    cast(1 as bigint) as _consumed_load_id
from range({n}) as numbers(i);

create or replace table bench.batches as
select
    batch_id,
    cast(substr(batch_id, 2) as integer) as b,
    min(currency) as currency,
    sum(case when status = 'reversed' then -amount else amount end) as gross,
    min(settled_at) as first_settled_at
from staging.stg_psp__settlements
group by batch_id;

create or replace table staging.stg_psp__payouts as
with paid as (
    select
        'po_' || lpad(cast(b as varchar), 6, '0') as payout_id,
        batch_id,
        currency,
        gross + case when b % 200 = 3 then 1 else 0 end as gross_amount,
        cast(date_trunc('day', first_settled_at) as timestamp) + interval 27 hour as paid_out_at,
        b
    from bench.batches
    where b % 100 <> 1
    union all
    select
        'po_x' || lpad(cast(b as varchar), 6, '0'), 'adj' || cast(b as varchar), currency, gross,
        cast(date_trunc('day', first_settled_at) as timestamp) + interval 28 hour, b
    from bench.batches
    where b % 200 = 5
),
fees as (
    select
        *,
        case when currency = 'JPY' then round(abs(gross_amount) * 0.006, 0)
            else round(abs(gross_amount) * 0.006, 2) end as fee
    from paid
)
select
    payout_id,
    batch_id,
    currency,
    gross_amount,
    fee as fee_amount,
    gross_amount - fee as net_amount,
    paid_out_at,
    cast(1 as bigint) as _consumed_load_id
from fees;

-- the second of each ambiguous pair nets what the first does
update staging.stg_psp__payouts as second
set net_amount = first.net_amount
from staging.stg_psp__payouts as first
where first.payout_id not like 'po_x%'
    and cast(substr(first.payout_id, 4) as integer) % 500 = 23
    and second.payout_id
        = 'po_' || lpad(cast(cast(substr(first.payout_id, 4) as integer) + 3 as varchar), 6, '0');

create or replace table staging.stg_bank__statement_lines as
with payouts as (
    select *, cast(substr(replace(payout_id, 'po_x', 'po_'), 4) as integer) as b
    from staging.stg_psp__payouts
),
lines as (
    select
        payout_id, b, currency,
        case when b % 100 = 11 then 2 else 1 end as parts,
        net_amount
            + case when b % 200 = 17 and payout_id not like 'po_x%' then 0.05 else 0 end as amount,
        cast(paid_out_at as date) + case
            when b % 500 = 19 then 5 when b % 500 = 23 then 3 else b % 2 end as value_date
    from payouts
    where b % 100 <> 7 and not (b % 500 = 26 and payout_id not like 'po_x%')
)
select
    'bl_' || payout_id || '_' || cast(part as varchar) as line_id,
    'DE89370400440532013000' as account,
    case
        when parts = 1 then amount
        when part = 1 then round(amount / 3, 0)
        else amount - round(amount / 3, 0)
    end as amount,
    currency,
    value_date,
    cast(value_date as timestamp) + interval 9 hour as booked_at,
    case
        when b % 100 = 13 or (b % 500 = 23 and payout_id not like 'po_x%') then null
        else 'PSP PAYOUT ' || upper(payout_id) || ' SETTLEMENT ' || cast(b as varchar)
    end as reference,
    cast(1 as bigint) as _consumed_load_id
from lines, range(1, parts + 1) as part_numbers(part);
"""

# The same outcomes written by hand: the batches summed, payouts matched by batch;
# the payout id found among each reference's tokens, lines grouped by it, payouts
# matched by it within 0.01 and 0 to 3 days, then the fallback pass.
HANDWRITTEN_SQL = """
create or replace table bench.hw_payouts_settlements as
with batches as (
    select
        batch_id,
        sum(case when status = 'reversed' then -amount else amount end) as amount,
        min(settled_at) as settled_at,
        case when count(currency) = count(*) and min(currency) = max(currency)
            then min(currency) end as currency,
        string_agg(psp_reference, '|' order by psp_reference) as right_member_keys
    from staging.stg_psp__settlements
    where batch_id is not null
    group by batch_id
),
payouts as (
    select batch_id, count(*) as n, min(gross_amount) as gross, min(currency) as currency,
        min(paid_out_at) as paid_out_at
    from staging.stg_psp__payouts
    group by batch_id
)
select
    coalesce(payouts.batch_id, batches.batch_id) as record_key,
    case
        when payouts.n > 1 then 'duplicate_key'
        when batches.batch_id is null then 'missing_in_right'
        when payouts.batch_id is null then 'missing_in_left'
        when batches.amount <> payouts.gross or batches.currency is distinct from payouts.currency
            then 'value_mismatch'
        else 'matched'
    end as outcome,
    coalesce(payouts.paid_out_at, batches.settled_at) as record_at,
    batches.right_member_keys,
    nullif(concat_ws(',',
        case when batches.amount <> payouts.gross then 'amount' end,
        case when batches.currency is distinct from payouts.currency then 'currency' end
    ), '') as mismatched_columns
from payouts
full outer join batches
    on payouts.batch_id = batches.batch_id;

create or replace table bench.hw_payouts_bank as
with known as (
    select distinct payout_id from staging.stg_psp__payouts
),
texts as (
    select distinct lower(reference) as text from staging.stg_bank__statement_lines
    where reference is not null
),
found as (
    select text, min(payout_id) as payout_id
    from (
        select text, unnest(regexp_extract_all(text, '[a-z0-9_-]+')) as token from texts
    ) as tokens
    inner join known on tokens.token = known.payout_id
    group by text
    having count(distinct payout_id) = 1
),
lines as (
    select
        coalesce(found.payout_id, line.line_id) as record_key,
        found.payout_id is not null as keyed,
        line.*
    from staging.stg_bank__statement_lines as line
    left join found on lower(line.reference) = found.text
),
line_groups as (
    select
        record_key, keyed,
        sum(amount) as amount,
        min(value_date) as first_value_date,
        max(value_date) as last_value_date,
        case when count(currency) = count(*) and min(currency) = max(currency)
            then min(currency) end as currency,
        string_agg(line_id, '|' order by line_id) as line_ids
    from lines
    group by record_key, keyed
),
payouts as (
    select payout_id, count(*) as n, min(net_amount) as net, min(currency) as currency,
        min(paid_out_at) as paid_out_at, cast(min(paid_out_at) as date) as paid_date
    from staging.stg_psp__payouts
    group by payout_id
),
joined as (
    select
        coalesce(payouts.payout_id, line_groups.record_key) as record_key,
        payouts.n, payouts.net, payouts.currency as left_currency, payouts.paid_out_at,
        payouts.paid_date, line_groups.amount, line_groups.currency as right_currency,
        line_groups.first_value_date, line_groups.last_value_date, line_groups.line_ids,
        payouts.payout_id is not null as has_left, line_groups.record_key is not null as has_right,
        nullif(concat_ws(',',
            case when abs(line_groups.amount - payouts.net) > 0.01 then 'amount' end,
            case when line_groups.currency is distinct from payouts.currency then 'currency' end,
            case when line_groups.first_value_date - payouts.paid_date < 0
                or line_groups.last_value_date - payouts.paid_date > 3 then 'value_date' end
        ), '') as mismatched_columns
    from payouts
    full outer join (select * from line_groups where keyed) as line_groups
        on payouts.payout_id = line_groups.record_key
    union all
    select record_key, null, null, null, null, null, amount, currency, first_value_date,
        last_value_date, line_ids, false, true, null
    from line_groups
    where not keyed
),
classified as (
    select *,
        case
            when n > 1 then 'duplicate_key'
            when has_left and has_right and mismatched_columns is null then 'matched'
            when has_left and has_right then 'value_mismatch'
            when has_left then 'missing_in_right'
            else 'missing_in_left'
        end as outcome
    from joined
),
candidates as (
    select payout.record_key as payout_id, line.record_key as line_key
    from (select * from classified where outcome = 'missing_in_right') as payout
    inner join (select * from classified where outcome = 'missing_in_left') as line
        on payout.left_currency is not distinct from line.right_currency
    where abs(line.amount - payout.net) <= 0.01
        and line.first_value_date - payout.paid_date >= 0
        and line.last_value_date - payout.paid_date <= 3
),
per_payout as (
    select payout_id, count(*) as n, string_agg(line_key, '|' order by line_key) as keys
    from candidates group by payout_id
),
per_line as (
    select line_key, count(*) as n, string_agg(payout_id, '|' order by payout_id) as keys
    from candidates group by line_key
),
pairs as (
    select candidates.*
    from candidates
    inner join per_payout using (payout_id)
    inner join per_line using (line_key)
    where per_payout.n = 1 and per_line.n = 1
)
select
    classified.record_key,
    case
        when pairs.payout_id is not null then 'matched'
        when coalesce(per_payout.n, per_line.n) > 1 then 'ambiguous_match'
        else classified.outcome
    end as outcome,
    coalesce(classified.paid_out_at, cast(classified.first_value_date as timestamp)) as record_at,
    case when pairs.payout_id is null then classified.mismatched_columns end as mismatched_columns,
    case
        when pairs.payout_id is not null then 'fallback'
        when classified.outcome = 'matched' then 'key'
    end as matched_by,
    case
        when pairs.payout_id is not null then pairs.line_key
        when coalesce(per_payout.n, per_line.n) > 1 then coalesce(per_payout.keys, per_line.keys)
    end as candidate_keys
from classified
left join pairs
    on classified.outcome = 'missing_in_right' and classified.record_key = pairs.payout_id
left join per_payout
    on classified.outcome = 'missing_in_right' and classified.record_key = per_payout.payout_id
left join per_line
    on classified.outcome = 'missing_in_left' and classified.record_key = per_line.line_key
where not (classified.outcome = 'missing_in_left'
    and classified.record_key in (select line_key from pairs));
"""

# Outcome rows compared between the two: the same keys with the same outcome,
# window, mismatched columns, how matched and candidates.
COMPARED = """
select record_key, outcome, date_trunc('day', record_at) as window_start,
    case when outcome = 'value_mismatch' then mismatched_columns end as mismatched_columns{extra}
from {relation}
"""


def generate(database: Path, n: int) -> float:
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists staging; create schema if not exists bench")
        return timed(connection, GENERATE_SQL.format(n=n, batches=max(n // PER_BATCH, 1)))


def differences(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Outcome rows found by one side only, per reconciliation."""
    found = {}
    for recon, extra in (
        ("payouts_settlements", ", right_member_keys"),
        ("payouts_bank", ", matched_by, candidate_keys"),
    ):
        tally = COMPARED.format(extra=extra, relation=f"reconciliation.recon_{recon}")
        tally = tally.replace("record_at", "coalesce(left_record_at, right_record_at)")
        hand = COMPARED.format(extra=extra, relation=f"bench.hw_{recon}")
        one_side_only = f"({tally} except all {hand}) union all ({hand} except all {tally})"
        found[recon] = connection.execute(f"select count(*) from ({one_side_only})").fetchone()[0]
    return found


def bench_size(n: int, runs: int, work: Path) -> dict:
    database = work / f"group_matching_{n}.duckdb"
    database.unlink(missing_ok=True)
    generate_s = generate(database, n)
    print(f"  generated {n:,} settlements in {generate_s:.2f}s", flush=True)

    dbt = Dbt(database, work)
    os.environ["TALLY_AS_OF"] = AS_OF  # this data's as_of, not the channel benchmark's
    dbt.invoke("seed", "--select", "currencies", "status_vocabulary")
    model_runs, per_model = [], []
    for _ in range(runs):
        times = dbt.invoke(
            "build", "--select", *MODELS, "--full-refresh",
            "--exclude-resource-type", "test", "unit_test",
        )  # fmt: skip
        model_runs.append(sum(times[name] for name in MODELS))
        per_model.append(times)
    print(f"  dbt models: {', '.join(f'{t:.2f}s' for t in model_runs)}", flush=True)

    with duckdb.connect(str(database)) as connection:
        hand_runs = [timed(connection, HANDWRITTEN_SQL) for _ in range(runs)]
        print(f"  hand-written: {', '.join(f'{t:.2f}s' for t in hand_runs)}", flush=True)
        different = differences(connection)
        counts = dict(
            connection.execute(
                "select recon_name || ' ' || outcome || coalesce(' by ' || matched_by, ''), "
                "count(*) from (select recon_name, outcome, matched_by from "
                "reconciliation.recon_payouts_settlements union all select recon_name, outcome, "
                "matched_by from reconciliation.recon_payouts_bank) group by all order by 1"
            ).fetchall()
        )
        sizes = connection.execute(
            "select (select count(*) from staging.stg_psp__payouts), "
            "(select count(*) from staging.stg_bank__statement_lines), "
            "(select count(distinct batch_id) from staging.stg_psp__settlements)"
        ).fetchone()
    models, hand = summary(model_runs), summary(hand_runs)
    return {
        "n_settlements": n,
        "batches": sizes[2],
        "payouts": sizes[0],
        "bank_lines": sizes[1],
        "generate_s": round(generate_s, 4),
        "tally_models": {
            **models,
            "per_model_median_s": {
                name: round(statistics.median(run[name] for run in per_model), 4) for name in MODELS
            },
        },
        "handwritten_duckdb": hand,
        "ratio_median": models["median_s"] / hand["median_s"],
        "ratio_min": models["min_s"] / hand["min_s"],
        "outcomes": counts,
        "rows_found_by_one_side_only": different,
        "exact": not any(different.values()),
    }


def print_table(results: list[dict]) -> None:
    header = (
        f"{'settlements':>12} {'batches':>8} {'models min':>10} {'models med':>10} "
        f"{'hand min':>9} {'hand med':>9} {'ratio':>6} {'exact':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        models, hand = r["tally_models"], r["handwritten_duckdb"]
        print(
            f"{r['n_settlements']:>12,} {r['batches']:>8,} {models['min_s']:>10.2f} "
            f"{models['median_s']:>10.2f} {hand['min_s']:>9.2f} {hand['median_s']:>9.2f} "
            f"{r['ratio_median']:>6.2f} {'yes' if r['exact'] else 'NO':>6}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (at least 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    work = Path(tempfile.mkdtemp(prefix="tally-bench-group-matching-"))
    results = []
    try:
        for n in args.sizes:
            print(f"{n:,} settlements (work folder {work})", flush=True)
            results.append(bench_size(n, args.runs, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    machine_info.write_results(RESULTS, "group_matching", results)
    print()
    print_table(results)
    print(f"\nwrote {RESULTS.relative_to(PROJECT_DIR)}")
    return 0 if all(r["exact"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
