-- composite_key() gives different keys to different tuples, whatever the parts
-- hold (the separator, the escape character, nothing, null), and leaves ordinary
-- parts as they are. Rows returned are failures.
{%- set tuples = [
    ('a|b', 'c'), ('a', 'b|c'), (none, 'x'), ('', 'x'), ('\\N', 'x'),
    ('a\\', '|b'), ('a', '\\|b'), ('x', none), ('x', ''), ('a', 'b'),
] %}
with tuples as (
    {%- for first, second in tuples %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ loop.index }} as id,
        {{ tally.sql_string(first) if first is not none else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as part_1,
        {{ tally.sql_string(second) if second is not none else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as part_2
    {%- endfor %}
),

keyed as (
    select id, {{ tally.composite_key(['part_1', 'part_2']) }} as record_key
    from tuples
)

select 'same key for different tuples' as problem, record_key
from keyed
group by record_key
having count(*) > 1

union all

select 'an ordinary key is not its parts joined with |' as problem, record_key
from keyed
where id = {{ tuples | length }} and record_key <> 'a|b'
