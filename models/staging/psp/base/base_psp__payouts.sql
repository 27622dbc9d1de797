{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing('psp', 'payouts') }}
