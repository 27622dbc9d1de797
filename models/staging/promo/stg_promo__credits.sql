with base as (
    select * from {{ ref('base_promo__credits') }}
),

renamed as (
    select
        credit_id,
        user_id,
        amount,
        currency,
        granted_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
