{{ tally.clean_rows('processing', 'reports') }}
