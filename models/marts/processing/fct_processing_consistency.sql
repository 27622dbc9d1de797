-- One row per processing registered by an entry service (as of as_of): who takes
-- part, who reported, who is missing, and whether the processing is consistent
-- across every participant (see int_processing__consistency).
with consistency as (
    select * from {{ ref('int_processing__consistency') }}
)

select
    processing_id,
    entry_service,
    registered_at,
    participants,
    participant_count,
    reported,
    reported_count,
    missing,
    missing_count,
    inconsistent,
    status,
    grace_minutes,
    due_at,
    age_seconds,
    last_reported_at
from consistency
