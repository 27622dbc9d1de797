with base as (
    select * from {{ ref('base_accounts__signups') }}
),

renamed as (
    select
        user_id,
        country,
        signed_up_at,
        _source_file,
        _source_row
    from base
    where quarantine_reason is null
        and not is_collapsed_duplicate
)

select * from renamed
