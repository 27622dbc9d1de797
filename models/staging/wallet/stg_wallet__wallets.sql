with base as (
    select * from {{ ref('base_wallet__wallets') }}
),

renamed as (
    select
        wallet_id,
        user_id,
        currency,
        created_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
