{{ tally.clean_rows('processing', 'processings') }}
