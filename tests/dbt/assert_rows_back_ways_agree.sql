-- rows_back() reads a row's earlier values two ways: lag()s of constant offset
-- when the offsets' values are known (int_channel_evaluations), the engine's
-- general way otherwise. Both give the same rows on this engine, for two
-- partitions with different offsets, offsets past the partition's first row
-- (null) and an offset capped within a partition. Returns every row only one
-- way gives.
{%- set partitions = [(1, 3, 2), (2, 2, 10)] %}
{%- set rules = [] %}
{%- for partition, step, cap in partitions %}{% do rules.append((step, cap)) %}{% endfor %}
{%- set offsets, offset_values = tally.expansion_lookbacks(4, 'given.step', 'given.cap', rules) %}
with given as (
    {%- for partition, step, cap in partitions %}
    {%- set outer = loop %}
    {%- for row_index in range(1, 13) %}
    select
        {{ partition }} as partition_id,
        {{ row_index }} as row_index,
        {{ step }} as step,
        {{ cap }} as cap,
        {{ row_index * row_index + 100 * partition }} as total
    {{ "union all" if not (outer.last and loop.last) }}
    {%- endfor %}
    {%- endfor %}
),

by_constant_lags as (
    {{ tally.rows_back('given', 'partition_id', 'row_index', ['total'], offsets, offset_values) }}
),

by_general_way as (
    {{ tally.rows_back('given', 'partition_id', 'row_index', ['total'], offsets) }}
),

only_lags as (
    select * from by_constant_lags
    except
    select * from by_general_way
),

only_general as (
    select * from by_general_way
    except
    select * from by_constant_lags
)

select 'only by constant lags' as found, only_lags.* from only_lags
union all
select 'only the general way' as found, only_general.* from only_general
