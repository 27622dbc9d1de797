{#- A reconciliation outcome as a leg of the money trail (fct_payment_trail):
    `ok` when matched, `pending` while its partner may still arrive, else
    `broken`. -#}
{% macro _trail_leg_state() -%}
    case
        when outcome = 'matched' then 'ok'
        when status = 'pending' then 'pending'
        else 'broken'
    end
{%- endmacro %}
