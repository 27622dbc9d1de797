{{ tally.clean_rows('accounts', 'signups') }}
