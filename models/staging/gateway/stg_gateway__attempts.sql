{{ tally.clean_rows('gateway', 'attempts') }}
