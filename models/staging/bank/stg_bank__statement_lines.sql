{{ tally.clean_rows('bank', 'statement_lines') }}
