with base as (
    select * from {{ ref('base_payments__payments') }}
),

renamed as (
    select
        payment_id,
        user_id,
        merchant_id,
        channel,
        amount,
        currency,
        status,
        created_at,
        updated_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
