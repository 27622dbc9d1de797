{#- Parse one landing table into typed, normalized columns, with a quarantine
    reason per row.

    Each column's parsing is declared once, in the landing source's YAML
    (models/staging/<service>/_<service>__sources.yml), under the column's
    `config.meta.tally`, e.g. {type: minor_amount, currency: currency,
    as_amount: amount}. Types:
      key            trimmed, lower-cased; empty -> quarantine (unless required: false)
      text           trimmed; empty -> null
      upper_text     trimmed, upper-cased (country codes)
      currency       ISO 4217 code from the `currencies` seed; unknown -> quarantine
      decimal        major units with '.' separator, up to 4 decimals -> decimal(18,4)
      minor_amount   integer minor units; `currency` names the currency column and
                     `as_amount` the decimal column to derive with its exponent
      iso_timestamp  ISO 8601 with offset -> UTC timestamp
      date           ISO 8601 calendar date YYYY-MM-DD -> date
      epoch_ms       epoch milliseconds -> UTC timestamp
      status         word from the `status_vocabulary` seed (`vocabulary` names the list)
    Every non-key column is required unless `required: false`.

    The model built from this keeps every landing row of every file version and is
    incremental: a build parses only the rows loaded since its last run. `stg_`
    models (see clean_rows()) select the clean, first copies of each file's latest
    version, and `fct_quarantine` the rest with their reasons. -#}
{% macro parse_landing(service, table) -%}
    {%- set landing = source(service, table) -%}
    {%- set columns = tally.landing_columns(service, table) %}
-- the seeds the parsers look values up in (read by the columns that need them)
-- depends_on: {{ ref('currencies') }}, {{ ref('status_vocabulary') }}
with source as (
    select * from {{ landing }}
    {%- if is_incremental() %}
    where _load_id > (select coalesce(max(_load_id), 0) from {{ this }})
    {%- endif %}
),

-- each value parsed once; the landing text stays beside it for the checks
typed as (
    select
        source._source_file,
        source._source_row,
        source._source_checksum,
        source._load_id,
        {%- for column in columns %}
        {{ tally._staged_value(column) }} as {{ column.name }},
        {%- if column.type == 'currency' %}
        currency_{{ column.name }}.exponent as {{ adapter.quote('_exponent__' ~ column.name) }},
        {%- endif %}
        {%- endfor %}
        {%- for column in columns %}
        {{ tally._raw(column) }} as {{ tally._landing_text(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    from source
    {%- for column in columns if column.type == 'currency' %}
    left join {{ ref('currencies') }} as currency_{{ column.name }}
        on currency_{{ column.name }}.currency_code = upper(trim(source.{{ adapter.quote(column.name) }}))
    {%- endfor %}
    {%- for column in columns if column.type == 'status' %}
    left join {{ ref('status_vocabulary') }} as vocabulary_{{ column.name }}
        on vocabulary_{{ column.name }}.vocabulary = {{ tally.sql_string(column.vocabulary) }}
        and vocabulary_{{ column.name }}.raw_value = lower(trim(source.{{ adapter.quote(column.name) }}))
    {%- endfor %}
    {{ tally.evaluated_once() }}
),

{#- a parsed value is null exactly when its text is blank or does not parse, so
    a row whose checked values are all present has no reason: only the others
    build their reason text -#}
{%- set checked = [] %}
{%- for column in columns if tally._is_checked(column) %}
    {%- do checked.append(column.name ~ ' is null') %}
{%- endfor %}
judged as (
    select
        *,
        -- a file version marker (see landing_table()) is no row to judge
        case when _source_row is not null and ({{ checked | join(' or ') if checked else 'false' }}) then nullif(concat_ws('; ',
            {%- for column in columns %}
            {{ tally._quarantine_check(column) }}{{ "," if not loop.last }}
            {%- endfor %}
        ), '') end as quarantine_reason
    from typed
)

select
    _source_file,
    _source_row,
    _source_checksum,
    _load_id,
    {%- for column in columns %}
    {{ column.name }},
    {%- if column.type == 'minor_amount' %}
    cast(
        cast({{ column.name }} as decimal(38, 4))
        / cast(power(10, {{ adapter.quote('_exponent__' ~ column.currency) }}) as decimal(38, 4))
        as decimal(18, 4)
    ) as {{ column.as_amount }},
    {%- endif %}
    {%- endfor %}
    -- the original text, for the rows fct_quarantine shows
    case when quarantine_reason is not null then
        {{ tally.json_object(tally._landing_text_pairs(columns)) }}
    end as raw_record,
    quarantine_reason
from judged
{%- endmacro %}

{% macro _raw(column) -%}
    source.{{ adapter.quote(column.name) }}
{%- endmacro %}

{#- The landing text of a column, carried through parse_landing()'s CTEs under this name. -#}
{% macro _landing_text(column) -%}
    {{ adapter.quote('_landing__' ~ column.name) }}
{%- endmacro %}

{% macro _landing_text_pairs(columns) -%}
    {%- set pairs = [] -%}
    {%- for column in columns -%}
        {%- do pairs.append((column.name, tally._landing_text(column))) -%}
    {%- endfor -%}
    {{ return(pairs) }}
{%- endmacro %}

{% macro _staged_value(column) -%}
    {%- set raw = tally._raw(column) -%}
    {%- set trimmed = "nullif(trim(" ~ raw ~ "), '')" -%}
    {%- if column.type == 'key' -%}
        lower({{ trimmed }})
    {%- elif column.type == 'text' -%}
        {{ trimmed }}
    {%- elif column.type == 'upper_text' -%}
        upper({{ trimmed }})
    {%- elif column.type == 'currency' -%}
        currency_{{ column.name }}.currency_code
    {%- elif column.type == 'decimal' -%}
        case
            when {{ tally.regex_full_match(trimmed, '[+-]?[0-9]{1,14}(\\.[0-9]{1,4})?') }}
                then cast({{ trimmed }} as decimal(18, 4))
        end
    {%- elif column.type == 'minor_amount' -%}
        case
            when {{ tally.regex_full_match(trimmed, '[+-]?[0-9]{1,18}') }}
                then cast({{ trimmed }} as bigint)
        end
    {%- elif column.type == 'iso_timestamp' -%}
        {{ tally.parse_iso_timestamp(trimmed) }}
    {%- elif column.type == 'date' -%}
        {{ tally.parse_iso_date(trimmed) }}
    {%- elif column.type == 'epoch_ms' -%}
        {{ tally.parse_epoch_ms(trimmed) }}
    {%- elif column.type == 'status' -%}
        vocabulary_{{ column.name }}.status
    {%- else -%}
        {{ exceptions.raise_compiler_error("parse_landing(): column '" ~ column.name ~ "' has unknown type '" ~ column.type ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- The reason text names the column first, so a reader can find the bad cell.
    Each check starts from the parsed value (null when the text is blank or does
    not parse) and reads the landing text only to tell those two apart. -#}
{% macro _quarantine_check(column) -%}
    {%- set raw = tally._landing_text(column) -%}
    {%- set blank = "nullif(trim(" ~ raw ~ "), '') is null" -%}
    {%- set required = column.get('required', true) -%}
    {%- set message = tally._type_message(column) -%}
    {%- set missing = tally.sql_string(column.name ~ ': ' ~ ('empty key' if column.type == 'key' else 'missing value')) -%}
    {%- set unparsed = tally.sql_string(column.name ~ ': ' ~ message) if message else none -%}
    {%- if tally._is_checked(column) %}
    case
        when {{ column.name }} is null then
            {%- if required and message %}
            case when {{ blank }} then {{ missing }} else {{ unparsed }} end
            {%- elif required %}
            {#- keys and text: null only when blank #}
            {{ missing }}
            {%- else %}
            case when not ({{ blank }}) then {{ unparsed }} end
            {%- endif %}
    end
    {%- else %}
    cast(null as {{ dbt.type_string() }})
    {%- endif %}
{%- endmacro %}

{#- What a value of this type that does not parse is called; none for keys and text. -#}
{% macro _type_message(column) -%}
    {%- set messages = {
        'currency': 'unknown currency code (not in the currencies seed)',
        'decimal': "not a decimal number (major units, '.' separator, at most 4 decimals)",
        'minor_amount': 'not an integer number of minor units',
        'iso_timestamp': 'not an ISO 8601 timestamp with UTC offset',
        'date': 'not a date (YYYY-MM-DD)',
        'epoch_ms': 'not epoch milliseconds',
        'status': 'unknown ' ~ (column.get('vocabulary', '') | replace('_', ' ')) ~ ' word',
    } -%}
    {{ return(messages.get(column.type)) }}
{%- endmacro %}

{#- Whether a column can give a row a quarantine reason: required, or typed. -#}
{% macro _is_checked(column) -%}
    {{ return(column.get('required', true) or tally._type_message(column) is not none) }}
{%- endmacro %}
