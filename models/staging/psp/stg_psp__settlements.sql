{{ tally.clean_rows('psp', 'settlements') }}
