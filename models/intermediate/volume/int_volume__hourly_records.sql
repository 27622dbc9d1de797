{{ config(materialized=tally.read_often_materialization()) }}
-- Records per hour, up to as_of, of every series the volume rule watches: each
-- landing table (its staged rows, by the record time its source declares) and
-- each side of each reconciliation (its records, by their time in the
-- reconciliation), with the rule's settings declared for it. Hours without a
-- record have no row here; fct_source_volume fills them in.
{%- set series_columns = ['source_type', 'source_name', 'service', 'table_name', 'recon_name', 'side', 'owner', 'severity', 'threshold', 'min_expected'] %}
{%- set hour_index = tally.integer_divide(tally.floor_epoch_second('record_at'), 3600) %}
with outcomes as (
    select * from {{ ref('int_recon__outcomes') }}
),

-- each reconciliation side's records, at their time in the reconciliation
sides as (
    select recon_name, 'left' as side, left_record_at as record_at, left_count as records
    from outcomes
    where left_count > 0
    union all
    select recon_name, 'right' as side, right_record_at as record_at, right_count as records
    from outcomes
    where right_count > 0
),

recon_settings as (
    {%- for name in tally.reconciliations() %}
    {%- set declared = var('tally_reconciliations')[name] %}
    {%- set volume = tally.volume_settings(declared.get('volume'), 'Reconciliation ' ~ name ~ ' (vars.tally_reconciliations.' ~ name ~ '.volume)') %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ tally.sql_string(name) }} as recon_name,
        nullif({{ tally.sql_string(declared.get('owner') or '') }}, '') as owner,
        {{ tally.sql_string(volume.severity) }} as severity,
        cast({{ volume.threshold }} as decimal(5, 4)) as threshold,
        cast({{ volume.min_expected }} as bigint) as min_expected
    {%- endfor %}
),

records as (
    {% call(service, table) tally.union_landing_tables() %}
    {%- set settings = tally.landing_settings(service, table) %}
    {%- set volume = tally.volume_settings(settings.volume, 'Landing source ' ~ service ~ '.' ~ table ~ ' (meta.tally.volume)') %}
    select
        'landing_table' as source_type,
        {{ tally.sql_string(service ~ '/' ~ table) }} as source_name,
        {{ tally.sql_string(service) }} as service,
        {{ tally.sql_string(table) }} as table_name,
        cast(null as {{ dbt.type_string() }}) as recon_name,
        cast(null as {{ dbt.type_string() }}) as side,
        nullif({{ tally.sql_string(settings.owner or '') }}, '') as owner,
        {{ tally.sql_string(volume.severity) }} as severity,
        cast({{ volume.threshold }} as decimal(5, 4)) as threshold,
        cast({{ volume.min_expected }} as bigint) as min_expected,
        {{ settings.record_time or 'cast(null as ' ~ dbt.type_timestamp() ~ ')' }} as record_at,
        1 as records
    from {{ ref('stg_' ~ service ~ '__' ~ table) }}
    {%- endcall %}
    union all
    select
        'reconciliation_side' as source_type,
        sides.recon_name || '/' || sides.side as source_name,
        cast(null as {{ dbt.type_string() }}) as service,
        cast(null as {{ dbt.type_string() }}) as table_name,
        sides.recon_name,
        sides.side,
        settings.owner,
        settings.severity,
        settings.threshold,
        settings.min_expected,
        sides.record_at,
        sides.records
    from sides
    inner join recon_settings as settings
        on sides.recon_name = settings.recon_name
),

hourly as (
    select
        {{ series_columns | join(',\n        ') }},
        {{ hour_index }} as hour_index,
        sum(records) as record_count
    from records
    where record_at <= {{ tally.as_of() }}
    group by
        {{ series_columns | join(',\n        ') }},
        {{ hour_index }}
)

select
    {{ series_columns | join(',\n    ') }},
    {{ tally.timestamp_from_epoch_second('hour_index * 3600') }} as hour_start,
    cast(record_count as bigint) as record_count
from hourly
