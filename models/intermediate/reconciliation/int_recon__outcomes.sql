-- Every registered reconciliation's per-key outcomes in one relation (without
-- the incremental bookkeeping columns of the recon_ tables).
{%- set names = tally.reconciliations() %}
{%- set columns = [
    'recon_name', 'window_start', 'record_key', 'outcome', 'mismatched_columns',
    'left_count', 'right_count', 'left_record_at', 'right_record_at',
    'left_amount', 'right_amount', 'amount_diff', 'status', 'owner', 'severity',
] %}

{% for name in names -%}
select
    {{ columns | join(',\n    ') }}
from {{ ref('recon_' ~ name) }}
{% if not loop.last -%}
union all
{% endif -%}
{%- endfor %}
