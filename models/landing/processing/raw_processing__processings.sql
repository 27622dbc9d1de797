{{ tally.landing_table('processing', 'processings', ['processing_id', 'entry_service', 'registered_at']) }}
