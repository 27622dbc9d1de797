with base as (
    select * from {{ ref('base_psp__settlements') }}
),

renamed as (
    select
        psp_reference,
        merchant_reference,
        amount_minor,
        amount,
        currency,
        status,
        settled_at,
        batch_id,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
