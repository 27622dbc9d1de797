"""The landing-file contract: tables, their columns, and how each column is written."""

from __future__ import annotations

from orchestration.contract import landing_contract

# Column kinds tell the writer how to render a value:
#   key      canonical id, sometimes written with stray spaces or another case
#   text     written as is
#   status   a status word, sometimes written in another case
#   money    decimal major units derived from the fields amount_minor + currency
#   int      integer as is
#   ts       ISO 8601 with a UTC offset (seconds)
#   ts_ms    ISO 8601 with a UTC offset (milliseconds)
#   ts_utc   ISO 8601 in UTC with 'Z' (seconds)
#   date     ISO 8601 calendar date (YYYY-MM-DD)
#   epoch_ms integer epoch milliseconds
# The tables and their columns are the landing contract's (the sources YAML);
# a column is rendered by its declared type, except where a demo service writes
# it plainly or in another format (RENDERED_AS).
Columns = tuple[tuple[str, str], ...]

KIND_OF_TYPE = {
    "key": "key",
    "text": "text",
    "upper_text": "text",
    "currency": "text",
    "decimal": "money",
    "minor_amount": "int",
    "iso_timestamp": "ts",
    "date": "date",
    "epoch_ms": "epoch_ms",
    "status": "status",
}

RENDERED_AS = {
    ("payments/payments", "merchant_id"): "text",
    ("payments/payments", "channel"): "text",
    ("psp/settlements", "settled_at"): "ts_utc",
    ("psp/settlements", "batch_id"): "text",
    ("ledger/postings", "posting_id"): "text",
    ("ledger/postings", "movement_id"): "text",
    ("ledger/postings", "account"): "text",
    ("ledger/postings", "direction"): "text",
    ("gateway/attempts", "attempt_id"): "text",
    ("gateway/attempts", "channel"): "text",
    ("gateway/attempts", "merchant_id"): "text",
    ("gateway/attempts", "outcome"): "text",
    ("gateway/attempts", "attempted_at"): "ts_ms",
    ("processing/processings", "entry_service"): "text",
    ("processing/reports", "service"): "text",
    ("processing/reports", "result"): "text",
}

# The demo world is made and written in the order things happen to a user (sign
# up, wallet, credit, payment, settlement, ledger, gateway, processing): the
# random draws follow it, so the same seed gives the same files. The money
# trail's payouts and bank lines come last: they are made from the finished
# settlements, with random draws of their own, so adding them changed no other file.
WORLD_ORDER = (
    "accounts/signups",
    "wallet/wallets",
    "promo/credits",
    "payments/payments",
    "psp/settlements",
    "ledger/postings",
    "gateway/attempts",
    "processing/processings",
    "processing/reports",
    "psp/payouts",
    "bank/statement_lines",
)


def _tables() -> dict[str, Columns]:
    contract = landing_contract()
    if set(contract) != set(WORLD_ORDER):
        raise RuntimeError(
            "The demo generator makes "
            f"{', '.join(WORLD_ORDER)}; the landing contract declares {', '.join(contract)}: "
            "teach orchestration/generate the new table"
        )
    return {
        table: tuple(
            (column.name, RENDERED_AS.get((table, column.name), KIND_OF_TYPE[column.type]))
            for column in contract[table]
        )
        for table in WORLD_ORDER
    }


TABLES: dict[str, Columns] = _tables()

# Minor-unit exponent per currency (ISO 4217).
EXPONENT = {"JPY": 0, "USD": 2, "EUR": 2}

# Promo credit per wallet currency, in minor units: 500 JPY or 5.00 USD/EUR.
PROMO_MINOR = {"JPY": 500, "USD": 500, "EUR": 500}

CHANNELS = ("card", "wallet", "bank_transfer", "konbini")
ERROR_CODES = ("balance_not_enough", "third_error", "timeout", "card_declined")
MERCHANTS = tuple(f"mch_{n:03d}" for n in range(1, 41))

# Day indexes of the file-level quirks (0-based from the period start).
REDELIVERED_DAY = 3
DUPLICATE_ROW_DAY = 2
REORDERED_DAY = 5
REORDERED_WALLET_HEADER = ("created_at", "currency", "user_id", "wallet_id")


def header(table: str) -> tuple[str, ...]:
    """Contract column order of a table."""
    return tuple(name for name, _ in TABLES[table])
