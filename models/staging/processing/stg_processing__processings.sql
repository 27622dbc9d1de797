with base as (
    select * from {{ ref('base_processing__processings') }}
),

renamed as (
    select
        processing_id,
        entry_service,
        registered_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
