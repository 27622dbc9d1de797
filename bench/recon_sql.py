"""SQL shared by the reconciliation benchmark (bench/reconcile.py) and its runner.

No imports beyond the standard library: the peers' runner loads this file too,
from a venv of its own.
"""

from __future__ import annotations

# The landing tables Tally's staging reads, as `tally build` loads them.
PAYMENTS = "landing.payments__payments"
SETTLEMENTS = "landing.psp__settlements"

# The floor: one scan of both tables, a count and a sum of the parsed amount.
FLOOR_SQL = f"""
select
    (select count(*) from {PAYMENTS}) as payment_rows,
    (select sum(cast(amount as decimal(18, 4))) from {PAYMENTS}) as payment_amount,
    (select count(*) from {SETTLEMENTS}) as settlement_rows,
    (select sum(cast(amount_minor as decimal(18, 4))) from {SETTLEMENTS}) as settlement_amount
"""

# Both sides typed and comparable, as a person would write them for this pair:
# data rows only (the version markers have no row number), the first row per key,
# captured/refunded payments, settlement minor units scaled by the currency
# exponent and the PSP status mapped to the payment's.
SIDES_SQL = f"""
payments as (
    select
        lower(trim(payment_id)) as record_key,
        cast(trim(amount) as decimal(18, 4)) as amount,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status,
        cast(created_at as timestamp) as record_at
    from {PAYMENTS}
    where _source_row is not null and lower(trim(status)) in ('captured', 'refunded')
    qualify row_number() over (
        partition by lower(trim(payment_id)) order by _source_file, _source_row
    ) = 1
),
settlements as (
    select
        lower(trim(merchant_reference)) as record_key,
        cast(amount_minor as decimal(18, 4))
            / case upper(trim(currency)) when 'JPY' then 1 else 100 end as amount,
        upper(trim(currency)) as currency,
        case upper(trim(status)) when 'SETTLED' then 'captured' else 'refunded' end as status,
        cast(settled_at as timestamp) as record_at
    from {SETTLEMENTS}
    where _source_row is not null
    qualify row_number() over (
        partition by lower(trim(merchant_reference)) order by _source_file, _source_row
    ) = 1
)
"""

# The hand-written reconciliation's body, the same on DuckDB and PostgreSQL once
# each engine's `payments` and `settlements` CTEs are in front of it: one FULL
# OUTER JOIN into the break rows, then the per-day summary of those rows.
BREAKS_SELECT = """
select
    date_trunc('day', coalesce(p.record_at, s.record_at)) as window_start,
    coalesce(p.record_key, s.record_key) as record_key,
    case
        when s.record_key is null then 'missing_in_right'
        when p.record_key is null then 'missing_in_left'
        else 'value_mismatch'
    end as break_type,
    p.amount as left_amount,
    s.amount as right_amount,
    coalesce(s.amount, 0) - coalesce(p.amount, 0) as amount_diff
from payments as p
full outer join settlements as s on p.record_key = s.record_key
where p.record_key is null or s.record_key is null
    or p.amount <> s.amount or p.currency <> s.currency or p.status <> s.status
""".strip()

WINDOW_SUMMARY_SELECT = """
select
    window_start,
    count(*) filter (where break_type = 'missing_in_right') as missing_in_right_count,
    count(*) filter (where break_type = 'missing_in_left') as missing_in_left_count,
    count(*) filter (where break_type = 'value_mismatch') as mismatch_count,
    sum(abs(amount_diff)) as amount_at_risk
from handwritten.breaks
group by window_start
""".strip()

# The hand-written reconciliation on DuckDB: the break rows and the per-day
# summary written to tables.
HANDWRITTEN_SQL = f"""
create or replace table handwritten.breaks as
with {SIDES_SQL}
{BREAKS_SELECT};
create or replace table handwritten.window_summary as
{WINDOW_SUMMARY_SELECT};
"""

HANDWRITTEN_COUNTS_SQL = "select break_type, count(*) from handwritten.breaks group by 1"

# Open payments_psp breaks in Tally's marts.
TALLY_COUNTS_SQL = (
    "select break_type, count(*) from marts.fct_recon_breaks "
    "where recon_name = 'payments_psp' and status = 'open' group by 1"
)
# the project's other reconciliations must find nothing in the benchmark's data
# (its ledger posts every payment): breaks there would be extra work in every
# timed build's history
OTHER_BREAKS_SQL = (
    "select recon_name, count(*) from marts.fct_recon_breaks "
    "where recon_name <> 'payments_psp' group by 1 order by 1"
)
TALLY_WINDOWS_SQL = (
    "select count(*) from marts.fct_recon_window_summary where recon_name = 'payments_psp'"
)

# The peers' input: the same typed sides, in a DuckDB file of their own. The day
# columns are named apart so that no peer compares them (payment and settlement
# times differ by design); the comparison is on amount, currency and status.
PEERS_TABLES_SQL = f"""
create table payments as
with {SIDES_SQL}
select record_key, amount, currency, status, cast(record_at as date) as left_day
from payments order by record_key;
create table settlements as
with {SIDES_SQL}
select record_key, amount, currency, status, cast(record_at as date) as right_day
from settlements order by record_key;
"""


def _file_list(files: list[str]) -> str:
    """A DuckDB list literal of file paths (each a literal string, never a pattern)."""
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in files) + "]"


def read_files_sql(files: list[str]) -> str:
    """The landing CSVs of one table as text columns, in file order, with the file
    each row came from (a tool starting from files reads them this way)."""
    return (
        f"read_csv({_file_list(files)}, header = true, all_varchar = true, "
        "filename = '_source_file')"
    )


def landing_from_files_sql(files: dict[str, list[str]]) -> str:
    """The two landing tables built from their CSV files, as the hand-written query
    and reladiff start from them: every value text, `_source_row` the row's place
    in the table (a table keeps the order its rows were inserted in, file by file)."""
    statements = ["create schema if not exists landing;"]
    for table in (PAYMENTS, SETTLEMENTS):
        statements.append(
            f"create table {table}_text as select * from {read_files_sql(files[table])};\n"
            f"create view {table} as select *, rowid + 1 as _source_row from {table}_text;"
        )
    return "\n".join(statements)


def floor_files_sql(files: dict[str, list[str]]) -> str:
    """The floor from files: one read of each table's CSVs, a count and a sum."""
    return f"""
select
    (select count(*) from {read_files_sql(files[PAYMENTS])}) as payment_rows,
    (select sum(cast(amount as decimal(18, 4))) from {read_files_sql(files[PAYMENTS])}),
    (select count(*) from {read_files_sql(files[SETTLEMENTS])}) as settlement_rows,
    (select sum(cast(amount_minor as decimal(18, 4))) from {read_files_sql(files[SETTLEMENTS])})
"""
