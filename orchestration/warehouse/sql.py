"""SQL text helpers shared by the engines' readers and loaders."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier (standard SQL: DuckDB and PostgreSQL).

    For names taken from file headers or the registry: whatever they hold, they
    stay one identifier and never become SQL.
    """
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """`text` as a single-quoted SQL string literal (standard SQL)."""
    return "'" + text.replace("'", "''") + "'"
