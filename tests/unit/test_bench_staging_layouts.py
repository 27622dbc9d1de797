"""bench/staging_layouts.py: every staging layout it times gives the stg_ rows
of the model as it is, and it leaves the warehouse's own tables as they were."""

from __future__ import annotations

import re
import sys

import duckdb
import pytest
from conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "bench"))

import staging_layouts  # noqa: E402

BASE = '"w"."staging"."base_payments__payments"'
BASE_SQL = """
with source as (
    select * from "w"."landing"."payments__payments"
)
select
    _source_file,
    _source_row,
    _load_id,
    lower(nullif(trim(payment_id), '')) as payment_id,
    case when _source_row is not null and nullif(trim(payment_id), '') is null
        then 'payment_id: empty key' end as quarantine_reason,
    cast(null as varchar) as raw_record,
    'checksum' as _source_checksum
from source
"""
STG_SQL = f"""
with new_rows as not materialized (
    select * from {BASE}
),

clean as (
    select * from new_rows
    where _source_row is not null and quarantine_reason is null
        and _load_id = (select max(_load_id) from {BASE})
)

select payment_id, _source_file, _source_row, _load_id from clean
"""


def _warehouse(tmp_path):
    target = tmp_path / "target"
    models = target / "compiled" / "tally" / "models" / "staging" / "payments"
    (models / "base").mkdir(parents=True)
    (models / "base" / "base_payments__payments.sql").write_text(BASE_SQL)
    (models / "stg_payments__payments.sql").write_text(STG_SQL)
    warehouse = tmp_path / "w.duckdb"
    connection = duckdb.connect(str(warehouse))
    connection.execute("create schema landing")
    connection.execute("create schema staging")
    connection.execute(
        "create table landing.payments__payments as select * from (values "
        "('a.csv', 1, 1, ' P1 '), ('a.csv', 2, 1, ''), ('a.csv', null, 1, null), "
        "('b.csv', 1, 1, 'p2'), ('b.csv', 2, 1, 'P3')) "
        "as t(_source_file, _source_row, _load_id, payment_id)"
    )
    connection.execute(f"create table staging.base_payments__payments as {BASE_SQL}")
    connection.close()
    return warehouse, target


def test_every_layout_gives_the_stg_rows_and_the_warehouse_is_left_alone(
    tmp_path, monkeypatch, capsys
):
    warehouse, target = _warehouse(tmp_path)
    monkeypatch.setattr(
        sys, "argv", ["staging_layouts.py", str(warehouse), str(target), "--rounds", "1"]
    )
    staging_layouts.main()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round")]
    # "round 1  <label>  <seconds>s  <rows> rows": fields are two or more spaces apart
    fields = [re.split(r"\s{2,}", line.strip()) for line in lines]
    rows = {label: int(count.split()[0].replace(",", "")) for _, label, _, count in fields}
    assert len(rows) == len(staging_layouts.statements(BASE_SQL, STG_SQL, BASE))
    assert rows["parse, keep rejects + markers"] == 2  # the empty key and the marker
    assert rows["base_ model as it is"] == 5
    assert rows["stg_ model as it is, from base_"] == 3
    assert rows["write the clean rows only"] == 3
    assert rows["stg_ from landing, parse once"] == 3
    assert rows["stg_ from landing, parse inlined"] == 3
    connection = duckdb.connect(str(warehouse), read_only=True)
    schemas = {
        row[0] for row in connection.execute("select schema_name from duckdb_schemas()").fetchall()
    }
    assert "_layouts" not in schemas
    assert connection.execute(
        "select count(*) from staging.base_payments__payments"
    ).fetchone() == (5,)


def test_stg_sql_that_does_not_read_the_base_model_is_refused():
    with pytest.raises(SystemExit, match="does not read"):
        staging_layouts.statements(BASE_SQL, "select 1", BASE)
    with pytest.raises(SystemExit, match="WITH clause"):
        staging_layouts.statements(BASE_SQL, f"select * from {BASE}", BASE)
