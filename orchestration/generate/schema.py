"""The landing-file contract: tables, their columns, and how each column is written."""

from __future__ import annotations

# Column kinds tell the writer how to render a value:
#   key      canonical id, sometimes written with stray spaces or another case
#   text     written as is
#   status   a status word, sometimes written in another case
#   money    decimal major units derived from the fields amount_minor + currency
#   int      integer as is
#   ts       ISO 8601 with a UTC offset (seconds)
#   ts_ms    ISO 8601 with a UTC offset (milliseconds)
#   ts_utc   ISO 8601 in UTC with 'Z' (seconds)
#   epoch_ms integer epoch milliseconds
Columns = tuple[tuple[str, str], ...]

TABLES: dict[str, Columns] = {
    "accounts/signups": (
        ("user_id", "key"),
        ("country", "text"),
        ("signed_up_at", "ts"),
    ),
    "wallet/wallets": (
        ("wallet_id", "key"),
        ("user_id", "key"),
        ("currency", "text"),
        ("created_at", "ts"),
    ),
    "promo/credits": (
        ("credit_id", "key"),
        ("user_id", "key"),
        ("amount", "money"),
        ("currency", "text"),
        ("granted_at", "ts"),
    ),
    "payments/payments": (
        ("payment_id", "key"),
        ("user_id", "key"),
        ("merchant_id", "text"),
        ("channel", "text"),
        ("amount", "money"),
        ("currency", "text"),
        ("status", "status"),
        ("created_at", "ts"),
        ("updated_at", "ts"),
    ),
    "psp/settlements": (
        ("psp_reference", "key"),
        ("merchant_reference", "key"),
        ("amount_minor", "int"),
        ("currency", "text"),
        ("status", "status"),
        ("settled_at", "ts_utc"),
        ("batch_id", "text"),
    ),
    "ledger/postings": (
        ("posting_id", "text"),
        ("movement_id", "text"),
        ("payment_id", "key"),
        ("account", "text"),
        ("direction", "text"),
        ("amount_minor", "int"),
        ("currency", "text"),
        ("posted_at", "epoch_ms"),
        ("produced_at", "epoch_ms"),
        ("consumed_at", "epoch_ms"),
        ("recorded_at", "epoch_ms"),
    ),
    "gateway/attempts": (
        ("attempt_id", "text"),
        ("channel", "text"),
        ("merchant_id", "text"),
        ("outcome", "text"),
        ("error_code", "text"),
        ("attempted_at", "ts_ms"),
    ),
    "processing/processings": (
        ("processing_id", "key"),
        ("entry_service", "text"),
        ("registered_at", "ts"),
    ),
    "processing/reports": (
        ("processing_id", "key"),
        ("service", "text"),
        ("result", "text"),
        ("dependents", "text"),
        ("reported_at", "ts"),
    ),
}

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
