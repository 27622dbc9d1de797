-- Every decision row of every version of every decision file: an audit trail
-- keeps them all. A row of a file's latest version is current; a row whose
-- file changed or left the folder since is not (it stays, withdrawn). A row
-- that cannot be read (an unknown action, no reason, a time without offset)
-- stays too, with why.
with source as (
    select * from {{ ref('base_decisions__decisions') }}
),

latest_versions as (
    select
        _source_file,
        max(_load_id) as latest_load_id
    from source
    where _source_row is null  -- the version markers
    group by _source_file
),

renamed as (
    select
        source._source_file as source_file,
        source._source_row as source_row,
        source._load_id as load_id,
        source._source_checksum as source_checksum,
        source.recon_name,
        source.record_key,
        source.break_type,
        source.action,
        source.reason,
        source.decided_by,
        source.decided_at,
        source._load_id = latest_versions.latest_load_id as is_current,
        source.quarantine_reason as invalid_reason,
        source.raw_record
    from source
    inner join latest_versions
        on source._source_file = latest_versions._source_file
    where source._source_row is not null
)

select * from renamed
