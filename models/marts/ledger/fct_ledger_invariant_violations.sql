-- Every violation of a ledger invariant, at the movement that first broke it
-- (see int_ledger__invariant_violations for the invariants).
with violations as (
    select * from {{ ref('int_ledger__invariant_violations') }}
)

select
    invariant,
    movement_id,
    account,
    currency,
    detected_at,
    details,
    violation_key
from violations
