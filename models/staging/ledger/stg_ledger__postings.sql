with base as (
    select * from {{ ref('base_ledger__postings') }}
),

renamed as (
    select
        posting_id,
        movement_id,
        payment_id,
        account,
        direction,
        amount_minor,
        amount,
        currency,
        posted_at,
        produced_at,
        consumed_at,
        recorded_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
