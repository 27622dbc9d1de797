-- Every registered reconciliation's per-key outcomes in one relation.
{%- set names = tally.reconciliations() %}

{% for name in names -%}
select * from {{ ref('recon_' ~ name) }}
{% if not loop.last -%}
union all
{% endif -%}
{%- endfor %}
