"""One PostgreSQL build at a time per database, whichever host runs it.

Two builds of one warehouse would load and swap the same tables under each
other's feet, and a file lock only serializes builds on one machine. So a
PostgreSQL build holds a session-level advisory lock of its database for the
whole build (landing load and dbt), on a connection of its own. The lock
belongs to that connection: if the process dies, the server ends the session
and the lock is free again.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from orchestration.settings import PostgresSettings

# The advisory lock key: the bytes "tallybld" as a bigint. A fixed number, so
# every host and every Tally version agrees on it (hashtext() may change between
# PostgreSQL versions). Advisory locks are per database, so each warehouse
# database has its own. In pg_locks: classid 1952541804, objid 2036493412,
# objsubid 1.
BUILD_LOCK_KEY = int.from_bytes(b"tallybld", "big")

# Server-side keepalives on the lock's connection: if the building host vanishes
# without closing it (power loss, network cut), the server notices within about
# two minutes and frees the lock, instead of the operating system's two hours.
_KEEPALIVES = {"tcp_keepalives_idle": 60, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 6}


class BuildLockTimeout(Exception):
    """Another build held the lock for longer than the build may wait."""


@contextmanager
def exclusive_build(
    settings: PostgresSettings, echo: Callable[[str], None] = print
) -> Iterator[None]:
    """Holds the database's build lock for the block, waiting at most
    `settings.lock_timeout_seconds` for another build to release it.

    Raises BuildLockTimeout when the wait runs out; connection errors
    (psycopg2.Error) pass through.
    """
    import psycopg2

    where = f"{settings.host}:{settings.port}/{settings.database}"
    connection = psycopg2.connect(
        **settings.connect_args(),
        application_name=f"tally build {socket.gethostname()} pid {os.getpid()}"[:63],
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            _prepare_session(cursor, connection.server_version)
            _acquire(cursor, where, settings.lock_timeout_seconds, echo)
    except BaseException:
        connection.close()
        raise
    try:
        yield
    finally:
        _release(connection, where, echo)


def _prepare_session(cursor: Any, server_version: int) -> None:
    """Settings that keep the lock's idle session alive for as long as the build
    runs, whatever the server's or the role's defaults."""
    cursor.execute("set statement_timeout = 0")
    cursor.execute("set lock_timeout = 0")
    if server_version >= 140000:  # idle_session_timeout is new in 14
        cursor.execute("set idle_session_timeout = 0")
    for name, value in _KEEPALIVES.items():
        cursor.execute(f"set {name} = {int(value)}")


def _acquire(cursor: Any, where: str, timeout: float, echo: Callable[[str], None]) -> None:
    from psycopg2 import errors

    cursor.execute("select pg_catalog.pg_try_advisory_lock(%s)", (BUILD_LOCK_KEY,))
    if cursor.fetchone()[0]:
        return
    holder = _holder(cursor)
    if timeout <= 0:
        raise BuildLockTimeout(
            f"another Tally build holds the lock on {where} ({holder}) and "
            "TALLY_PG_LOCK_TIMEOUT_SECONDS is 0; build again when it has finished"
        )
    echo(
        f"  waiting: another Tally build holds the lock on {where} ({holder}); "
        f"waiting up to {timeout:g}s (TALLY_PG_LOCK_TIMEOUT_SECONDS)"
    )
    # A blocking wait rather than polling: the server hands the lock over the
    # moment it is released, in the order the builds asked for it.
    cursor.execute("select pg_catalog.set_config('lock_timeout', %s, false)", (_ms(timeout),))
    try:
        cursor.execute("select pg_catalog.pg_advisory_lock(%s)", (BUILD_LOCK_KEY,))
    except errors.LockNotAvailable:
        raise BuildLockTimeout(
            f"another Tally build holds the lock on {where} ({_holder(cursor)}); gave up "
            f"after waiting {timeout:g}s (TALLY_PG_LOCK_TIMEOUT_SECONDS); build again when "
            "it has finished"
        ) from None
    cursor.execute("set lock_timeout = 0")


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _holder(cursor: Any) -> str:
    """Who holds the lock, as far as this role may see (pg_stat_activity hides
    other roles' session details from non-superusers)."""
    cursor.execute(
        "select l.pid, a.application_name, pg_catalog.host(a.client_addr), a.usename "
        "from pg_catalog.pg_locks l left join pg_catalog.pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
        "and l.classid = %s and l.objid = %s "
        "and l.database = (select oid from pg_catalog.pg_database "
        "where datname = pg_catalog.current_database())",
        (BUILD_LOCK_KEY >> 32, BUILD_LOCK_KEY & 0xFFFFFFFF),
    )
    row = cursor.fetchone()
    if row is None:
        return "it has just finished"
    pid, application, client, user = row
    parts = [application or None, f"backend pid {pid}", f"user {user}" if user else None]
    parts.append(f"from {client}" if client else None)
    return ", ".join(part for part in parts if part)


def _release(connection: Any, where: str, echo: Callable[[str], None]) -> None:
    """Unlocks and closes. A connection lost during the build had already lost
    the lock with it: said, since another build may have run meanwhile."""
    import psycopg2

    try:
        with connection.cursor() as cursor:
            cursor.execute("select pg_catalog.pg_advisory_unlock_all()")
    except psycopg2.Error:
        if not connection.closed:
            connection.close()
        echo(
            f"  warning: the connection holding the build lock on {where} was lost during "
            "the build; another build may have run at the same time"
        )
        return
    connection.close()
