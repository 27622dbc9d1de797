"""The benchmark's generated data: the ledger posts every payment as one balanced
movement of its amount at its time, so the benchmark's only breaks are the ones
injected between payments and settlements (bench/payments_psp_data.py)."""

from __future__ import annotations

import sys

import duckdb
from conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "bench"))

import payments_psp_data  # noqa: E402

N = 600


def _read(landing, table: str) -> str:
    folder = landing / table
    return f"read_csv('{folder}/*.csv', all_varchar = true, header = true)"


def test_the_ledger_posts_every_payment_once_balanced(tmp_path):
    expected, _seconds = payments_psp_data.generate(tmp_path, N)
    assert expected == {"missing_in_right": 6, "missing_in_left": 6, "value_mismatch": 3}
    connection = duckdb.connect()
    payments = _read(tmp_path, "payments/payments")
    postings = _read(tmp_path, "ledger/postings")
    exponents = "(values ('JPY', 0), ('USD', 2), ('EUR', 2)) as e(currency, exponent)"

    per_payment = connection.execute(
        f"""
        select
            p.payment_id,
            cast(round(cast(p.amount as decimal(18, 2)) * power(10, e.exponent)) as bigint)
                as payment_minor,
            epoch_ms(cast(p.created_at as timestamptz)) as created_ms,
            p.currency,
            count(l.posting_id) as postings,
            count(distinct l.movement_id) as movements,
            sum(case when l.direction = 'debit' then cast(l.amount_minor as bigint) end) as debits,
            sum(case when l.account = 'merchant_payable' and l.direction = 'credit'
                     then cast(l.amount_minor as bigint) end) as payable_credits,
            min(cast(l.posted_at as bigint)) as first_posted,
            max(cast(l.posted_at as bigint)) as last_posted,
            min(l.currency) as posting_currency
        from {payments} as p
        inner join {exponents} on p.currency = e.currency
        left join {postings} as l on l.payment_id = p.payment_id
        group by all
        """
    ).fetchall()
    assert len(per_payment) == N
    for (payment, minor, created, currency, count, movements, debits, credits,
         first, last, posting_currency) in per_payment:  # fmt: skip
        assert (count, movements) == (2, 1), payment
        assert debits == credits == minor, payment
        assert first == last == created, payment
        assert posting_currency == currency, payment

    accounts = connection.execute(
        f"select distinct account, direction from {postings} order by 1"
    ).fetchall()
    assert accounts == [("merchant_payable", "credit"), ("psp_receivable", "debit")]
    unmatched = connection.execute(
        f"select count(*) from {postings} where payment_id not in "
        f"(select payment_id from {payments})"
    ).fetchone()[0]
    assert unmatched == 0
