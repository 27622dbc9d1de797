{{ tally.clean_rows('psp', 'payouts') }}
