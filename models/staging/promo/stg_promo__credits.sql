{{ tally.clean_rows('promo', 'credits') }}
