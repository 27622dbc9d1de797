{{ tally.clean_rows('ledger', 'postings') }}
