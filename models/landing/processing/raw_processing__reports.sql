{{ tally.landing_table('processing', 'reports', ['processing_id', 'service', 'result', 'dependents', 'reported_at']) }}
