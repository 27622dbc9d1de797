"""Amounts per currency, never added across currencies."""

from __future__ import annotations

from decimal import Decimal

from orchestration.money import exponents, format_amounts, per_currency


def test_amounts_are_summed_per_currency_and_shown_with_their_own_digits():
    rows = [
        {"currency": "USD", "currency_exponent": 2, "open_break_amount": Decimal("500.10")},
        {"currency": "JPY", "currency_exponent": 0, "open_break_amount": Decimal("12000")},
        {"currency": "USD", "currency_exponent": 2, "open_break_amount": Decimal("30")},
        {"currency": "KWD", "currency_exponent": 3, "open_break_amount": Decimal("1.5")},
        {"currency": None, "currency_exponent": None, "open_break_amount": None},
    ]
    totals = per_currency(rows)
    assert totals == {"USD": Decimal("530.10"), "JPY": Decimal("12000"), "KWD": Decimal("1.5")}
    assert format_amounts(totals, exponents(rows)) == "JPY 12,000 · KWD 1.500 · USD 530.10"


def test_nothing_at_risk_reads_as_zero_and_an_unknown_currency_gets_two_digits():
    assert format_amounts({}, {}) == "0"
    assert format_amounts({"USD": Decimal(0)}, {"USD": 2}) == "0"
    assert format_amounts({"XTS": Decimal("7")}, {}) == "XTS 7.00"
    assert format_amounts({None: Decimal("3"), "EUR": Decimal("1")}, {}) == "EUR 1.00 · 3.00"
