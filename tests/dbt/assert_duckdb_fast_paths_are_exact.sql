-- DuckDB's fast versions of _recon_keys() and first_copies() (single records
-- pass through, only repeated hashes are grouped) give the rows of the plain
-- versions (every record grouped), on records with repeated keys, null keys,
-- exact copies and null values. Returns every row only one version gives.
{%- if target.type == 'duckdb' %}
{%- set compare = [{'name': 'first'}, {'name': 'second'}] %}
with records as (
    select
        record_key,
        cast(record_at as timestamp) as record_at,
        cast(amount as decimal(18, 4)) as amount,
        compared_1,
        compared_2,
        1 as record_count
    from (values
        ('a', '2026-01-01 10:00:00', 1.5, 'x', 'p'),
        ('b', '2026-01-01 11:00:00', 2.0, 'x', 'p'),
        ('b', '2026-01-01 09:00:00', 3.0, 'y', null),
        (null, '2026-01-02 10:00:00', 4.0, 'z', 'q'),
        (null, '2026-01-02 08:00:00', 5.0, null, 'r'),
        ('c', '2026-01-03 10:00:00', null, null, null)
    ) as given (record_key, record_at, amount, compared_1, compared_2)
),

rows as (
    select
        payment_id,
        amount,
        _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(_load_id as bigint) as _load_id
    from (values
        ('p1', 1.5, 'day_2.csv', 1, 2),
        ('p1', 1.5, 'day_1.csv', 7, 1),
        ('p1', 1.5, 'day_1.csv', 3, 1),
        ('p2', null, 'day_1.csv', 4, 1),
        ('p2', null, 'day_2.csv', 2, 2),
        (null, 2.0, 'day_1.csv', 5, 1),
        ('p3', 9.0, 'day_2.csv', 3, 2)
    ) as given (payment_id, amount, _source_file, _source_row, _load_id)
),

fast_keys as (
    {{ tally.duckdb___recon_keys('records', compare) }}
),

plain_keys as (
    {{ tally.default___recon_keys('records', compare) }}
),

fast_copies as (
    {{ tally.duckdb__first_copies('rows', ['payment_id', 'amount']) }}
),

plain_copies as (
    {{ tally.default__first_copies('rows', ['payment_id', 'amount']) }}
),

{%- set pairs = [
    ('_recon_keys', 'fast_keys', 'plain_keys', 'record_key', 'record_count'),
    ('first_copies', 'fast_copies', 'plain_copies', 'payment_id', '_source_row'),
] %}
differences as (
    {%- for name, fast, plain, key, detail in pairs %}
    select '{{ name }}: only the fast version' as difference, {{ key }} as key_value, {{ detail }} as detail
    from (select * from {{ fast }} except all select * from {{ plain }})
    union all
    select '{{ name }}: only the plain version', {{ key }}, {{ detail }}
    from (select * from {{ plain }} except all select * from {{ fast }})
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from differences
{%- else %}
select 'DuckDB only' as difference where 1 = 0
{%- endif %}
