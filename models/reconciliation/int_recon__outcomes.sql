{{ config(materialized='view') }}
-- Every declared reconciliation's per-key outcomes in one relation (without
-- the incremental bookkeeping columns of the recon_ tables).
{%- set names = tally.reconciliations() %}

{% for name in names -%}
select
    {{ tally.recon_columns() | join(',\n    ') }}
from {{ ref('recon_' ~ name) }}
{% if not loop.last -%}
union all
{% endif -%}
{%- endfor %}
