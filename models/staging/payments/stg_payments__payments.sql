{{ tally.clean_rows('payments', 'payments') }}
