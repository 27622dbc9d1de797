with base as (
    select * from {{ ref('base_gateway__attempts') }}
),

renamed as (
    select
        attempt_id,
        channel,
        merchant_id,
        outcome,
        error_code,
        attempted_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
