-- Staging's parsers (parse_landing()'s decimal, minor_amount, iso_timestamp and epoch_ms
-- types) give, on this engine, the value each text should give, or null for text
-- outside the grammar: the edges of every field, a day outside its month, offsets
-- that cross a day and a year, fractions past the microsecond (dropped, not
-- rounded), surrounding spaces (trimmed first). Some parsers have a version per
-- engine, so every engine checks its own against the same cases. Returns every
-- case whose value differs.
{%- set iso_cases = [
    ('2026-10-11T23:24:16Z', '2026-10-11 23:24:16'),
    ('2026-10-11 23:24:16Z', '2026-10-11 23:24:16'),
    ('  2026-10-11T23:24:16Z ', '2026-10-11 23:24:16'),
    ('2026-10-11T23:24:16+02:00', '2026-10-11 21:24:16'),
    ('2026-10-11T01:24:16-03:30', '2026-10-11 04:54:16'),
    ('2026-01-01T00:30:00+01:00', '2025-12-31 23:30:00'),
    ('2025-12-31T23:30:00-00:45', '2026-01-01 00:15:00'),
    ('2026-10-11T23:24:16+15:59', '2026-10-11 07:25:16'),
    ('2026-10-11T23:24:16.5Z', '2026-10-11 23:24:16.5'),
    ('2026-10-11T23:24:16.000001+00:00', '2026-10-11 23:24:16.000001'),
    ('2026-10-11T23:24:16.123456789Z', '2026-10-11 23:24:16.123456'),
    ('2026-10-11T23:24:16.9999999-01:00', '2026-10-12 00:24:16.999999'),
    ('2024-02-29T12:00:00Z', '2024-02-29 12:00:00'),
    ('2026-12-31T23:59:59Z', '2026-12-31 23:59:59'),
    ('2026-10-11T00:00:00Z', '2026-10-11 00:00:00'),
    ('1999-12-31T23:30:00-01:00', '2000-01-01 00:30:00'),
    ('2026-02-29T12:00:00Z', none),
    ('2026-02-30T12:00:00Z', none),
    ('2026-04-31T00:00:00Z', none),
    ('2026-13-01T00:00:00Z', none),
    ('2026-00-10T00:00:00Z', none),
    ('2026-10-00T00:00:00Z', none),
    ('2026-10-32T00:00:00Z', none),
    ('2026-10-11T24:00:00Z', none),
    ('2026-10-11T23:60:00Z', none),
    ('2026-10-11T23:59:60Z', none),
    ('2026-10-11T23:24:16', none),
    ('2026-10-11', none),
    ('2026-10-11T23:24Z', none),
    ('2026-10-11T23:24:16+16:00', none),
    ('2026-10-11T23:24:16+02:60', none),
    ('2026-10-11T23:24:16+0200', none),
    ('2026-10-11T23:24:16.1234567890Z', none),
    ('2026-10-11T23:24:16.Z', none),
    ('2026-10-11T23:24:16ZZ', none),
    ('0000-10-11T23:24:16Z', none),
    ('2026-1-11T23:24:16Z', none),
    ('2026-10-11t23:24:16Z', none),
    ('2026-10-11T23:24:16z', none),
    ('2026-10-11T23:24:16 Z', none),
    ('2026-10-11  23:24:16Z', none),
    ('+2026-10-11T23:24:16Z', none),
    ('2026/10/11T23:24:16Z', none),
    ('yesterday', none),
    ('epoch', none),
    ('1760225056', none),
] %}
{%- set decimal_cases = [
    ('18.20', '18.2'),
    ('-0.5', '-0.5'),
    ('+3', '3'),
    ('0', '0'),
    ('12345678901234', '12345678901234'),
    ('12345678901234.1234', '12345678901234.1234'),
    ('007.0100', '7.01'),
    ('123456789012345', none),
    ('1.23456', none),
    ('1.', none),
    ('.5', none),
    ('12,50', none),
    ('1e3', none),
    ('1.2.3', none),
    ('+-1', none),
    ('-', none),
    ('1 000', none),
    ('NaN', none),
] %}
{%- set minor_cases = [
    ('1250', '1250'),
    ('-5', '-5'),
    ('+7', '7'),
    ('123456789012345678', '123456789012345678'),
    ('1234567890123456789', none),
    ('12.5', none),
    ('1_000', none),
    ('', none),
] %}
{%- set epoch_ms_cases = [
    ('1700000000000', '2023-11-14 22:13:20'),
    ('1700000000123', '2023-11-14 22:13:20.123'),
    ('0', '1970-01-01 00:00:00'),
    ('-1', none),
    ('1234567890123456', none),
    ('17000000000.5', none),
] %}
{%- set types = [
    ('iso_timestamp', iso_cases, dbt.type_timestamp()),
    ('decimal', decimal_cases, 'decimal(18, 4)'),
    ('minor_amount', minor_cases, dbt.type_bigint()),
    ('epoch_ms', epoch_ms_cases, dbt.type_timestamp()),
] %}
with
{%- for type, cases, sql_type in types %}
{{ type }}_cases as (
    {%- for given, expected in cases %}
    select
        {{ tally.sql_string(given) }} as given,
        cast({{ tally.sql_string(expected) if expected is not none else 'null' }} as {{ sql_type }}) as expected
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

{{ type }}_parsed as (
    select
        source.given,
        source.expected,
        {{ tally._staged_value({'name': 'given', 'type': type}) }} as parsed
    from {{ type }}_cases as source
),
{%- endfor %}

differences as (
    {%- for type, cases, sql_type in types %}
    select
        {{ tally.sql_string(type) }} as parser,
        given,
        cast(expected as {{ dbt.type_string() }}) as expected,
        cast(parsed as {{ dbt.type_string() }}) as parsed
    from {{ type }}_parsed
    where not ((parsed is null and expected is null) or parsed = expected)
        or (parsed is null) <> (expected is null)
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from differences
