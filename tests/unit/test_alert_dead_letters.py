"""Delivery against a real HTTP receiver on 127.0.0.1: an event the receiver
rejects for good (4xx other than 408/429) goes to the dead-letter table while
the others arrive; 408/429/5xx are retried; a resolve follows its rejected
trigger; `tally alert` exits 1 naming what was rejected until
`--requeue-rejected` sends it again; long keys and summaries fit PagerDuty.

The `tally alert` tests read a tiny DuckDB warehouse written here (just the
marts the alert pass reads), not a dbt build."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from conftest import create_alert_marts

from orchestration.alerts.delivery import DeliveryOptions, deliver_outbox, is_permanent
from orchestration.alerts.routing import build_router
from orchestration.alerts.state import AlertStore, Triggered
from orchestration.cli import main

SECRET = "s3cr3t-T0KEN"
FAST = DeliveryOptions(max_attempts=3, backoff_seconds=0, timeout_seconds=5)
FAST_ENV = {
    "TALLY_ALERT_MAX_ATTEMPTS": "3",
    "TALLY_ALERT_BACKOFF_SECONDS": "0",
    "TALLY_ALERT_TIMEOUT_SECONDS": "5",
}
# an answer with newlines, longer than what is kept, echoing the URL's token
REJECTION = (
    '{"status": "invalid event",\n "message": "Event object is invalid",\n'
    f' "errors": ["unknown hook {SECRET}"], "padding": "{"p" * 900}"}}'
)


class Receiver:
    """Records every POST; `answer(body)` gives the status (default 202) and text."""

    def __init__(self) -> None:
        self.attempts: list[tuple[int, dict]] = []
        self.answer: Callable[[dict], tuple[int, str]] = lambda body: (202, "{}")
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with lock:
                    status, text = receiver.answer(body)
                    receiver.attempts.append((status, body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{SECRET}"

    @property
    def accepted(self) -> list[tuple[str, str]]:
        """(event_action, dedup_key) of every event answered 2xx, in arrival order."""
        return [
            (body["event_action"], body["dedup_key"])
            for status, body in self.attempts
            if 200 <= status < 300
        ]

    def reject(self, status: int, *events: tuple[str, str]) -> None:
        """Answers `status` to these (event_action, dedup_key); accepts the rest."""
        self.answer = lambda body: (
            (status, REJECTION)
            if (body["event_action"], body["dedup_key"]) in events
            else (202, "{}")
        )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()
    receiving.thread.start()
    yield receiving
    receiving.server.shutdown()
    receiving.server.server_close()
    receiving.thread.join()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    opened = AlertStore(tmp_path / "tally.alerts.sqlite")
    yield opened
    opened.close()


def queue(store: AlertStore, *events: tuple[str, str]) -> None:
    for action, key in events:
        record = Triggered(key, "window", key, "owner", "error", {}, [])
        body = {"event_action": action, "dedup_key": key, "payload": {"summary": key}}
        with store.transaction() as connection:
            if action == "trigger":
                store.queue_trigger(connection, record, body)
            else:
                store.queue_resolve(connection, record, body)


def deliver(store: AlertStore, url: str, options: DeliveryOptions = FAST):
    router = build_router(webhook=url, project_dir=Path("."), log_path=Path("unused.log"), env={})
    return deliver_outbox(store, router, options, sleep=lambda _s: None, echo=lambda _l: None)


def test_a_rejected_event_is_dead_lettered_and_the_others_arrive(store, receiver):
    queue(store, ("trigger", "a"), ("trigger", "b"), ("trigger", "c"))
    receiver.reject(400, ("trigger", "b"))
    report = deliver(store, receiver.url)
    assert receiver.accepted == [("trigger", "a"), ("trigger", "c")]
    # rejected once, not retried
    assert [body["dedup_key"] for _, body in receiver.attempts] == ["a", "b", "c"]
    assert (report.delivered, report.rejected, report.undelivered_count) == (2, 1, 0)
    assert store.undelivered() == []
    [letter] = store.dead_letters()
    assert (letter.event_action, letter.dedup_key, letter.http_status) == ("trigger", "b", 400)
    assert letter.destination == f"http://127.0.0.1:{receiver.server.server_address[1]}/…"
    assert letter.rejected_at
    assert letter.response_body.startswith('{"status": "invalid event", "message"')
    assert len(letter.response_body) == 500 and "\n" not in letter.response_body
    # nothing of the URL's token is stored, even when the receiver echoes it
    assert "[redacted]" in letter.response_body
    with sqlite3.connect(store.path) as connection:
        stored = json.dumps(connection.execute("select * from dead_letter").fetchall())
    assert SECRET not in stored and "/hooks/" not in stored
    # a second pass sends nothing again
    deliver(store, receiver.url)
    assert len(receiver.attempts) == 3


@pytest.mark.parametrize("status", [408, 429, 503])
def test_timeouts_rate_limits_and_server_errors_are_retried(store, receiver, status):
    queue(store, ("trigger", "a"), ("trigger", "b"))
    answers = iter([(status, "busy"), (status, "busy")])
    receiver.answer = lambda body: next(answers, (202, "{}"))
    report = deliver(store, receiver.url)
    assert receiver.accepted == [("trigger", "a"), ("trigger", "b")]
    assert [code for code, _ in receiver.attempts] == [status, status, 202, 202]
    assert report.delivered == 2 and store.dead_letters() == []


@pytest.mark.parametrize("status", [408, 429])
def test_a_receiver_still_refusing_after_the_last_attempt_keeps_the_event(store, receiver, status):
    queue(store, ("trigger", "a"), ("trigger", "b"))
    receiver.answer = lambda body: (status, "slow down")
    report = deliver(store, receiver.url)
    # "a" tried max_attempts times, "b" waits behind it: both stay in the outbox
    assert len(receiver.attempts) == FAST.max_attempts
    assert report.undelivered_count == 2 and report.rejected == 0
    assert [event.dedup_key for event in store.undelivered()] == ["a", "b"]
    assert store.dead_letters() == []


def test_which_statuses_are_permanent():
    assert [code for code in (400, 401, 403, 404, 410, 413, 422) if not is_permanent(code)] == []
    assert [code for code in (408, 429, 500, 502, 503, 504, 301, 200) if is_permanent(code)] == []


def test_a_resolve_follows_its_rejected_trigger_and_requeue_sends_both_in_order(store, receiver):
    queue(store, ("trigger", "a"), ("trigger", "b"), ("resolve", "a"), ("resolve", "b"))
    receiver.reject(400, ("trigger", "a"))
    deliver(store, receiver.url)
    # "a"'s resolve never goes out before its trigger: it is set aside with it
    assert receiver.accepted == [("trigger", "b"), ("resolve", "b")]
    assert [body["event_action"] for _, body in receiver.attempts if body["dedup_key"] == "a"] == [
        "trigger"
    ]
    letters = store.dead_letters()
    assert [(letter.event_action, letter.http_status) for letter in letters] == [
        ("trigger", 400),
        ("resolve", None),
    ]
    assert letters[1].reason == "held behind its rejected trigger"

    # the cause is fixed, but nothing moves until the requeue
    receiver.reject(400)
    deliver(store, receiver.url)
    assert len(store.dead_letters()) == 2 and len(receiver.accepted) == 2

    assert store.requeue_dead_letters() == 2
    assert store.dead_letters() == []
    deliver(store, receiver.url)
    assert receiver.accepted[2:] == [("trigger", "a"), ("resolve", "a")]
    deliver(store, receiver.url)
    assert len(receiver.accepted) == 4


def test_requeued_events_keep_their_place_before_newer_ones(store, receiver):
    queue(store, ("trigger", "a"))
    receiver.reject(422, ("trigger", "a"))
    deliver(store, receiver.url)
    queue(store, ("trigger", "b"))
    store.requeue_dead_letters()
    assert [event.dedup_key for event in store.undelivered()] == ["a", "b"]


# --- `tally alert` on a tiny warehouse ------------------------------------------------------

WINDOW = datetime(2026, 11, 3)


def write_marts(database: Path, windows: dict[str, str]) -> None:
    """A warehouse holding just what the alert pass reads: recon name -> window status."""
    database.unlink(missing_ok=True)
    with duckdb.connect(str(database)) as connection:
        create_alert_marts(connection)
        for name, status in windows.items():
            missing = 1 if status == "breaks" else 0
            connection.execute(
                "insert into marts.fct_recon_window_summary values "
                "(?, ?, ?, ?, 2, 2 - ?, 2 - ?, 0, ?, 0, 0, 0, 0, 10.00, 10.00 - 5 * ?, -5 * ?)",
                [name, WINDOW, WINDOW.replace(hour=1), status, *[missing] * 5],
            )
            connection.execute(
                "insert into marts.dim_reconciliations values (?, 'growth', 'error', 'hour', "
                "'left', 'right')",
                [name],
            )


def tally_alert(database: Path, *args: str) -> int:
    return main(["alert", "--duckdb-path", str(database), *args])


@pytest.fixture
def alert_env(monkeypatch) -> None:
    for name, value in FAST_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("TALLY_ALERT_WEBHOOK_URL", "TALLY_ALERT_ROUTING", "TALLY_REPORT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_tally_alert_exits_1_naming_the_rejection_until_requeued(
    tmp_path, receiver, capsys, alert_env
):
    database = tmp_path / "tally.duckdb"
    write_marts(database, {"alpha": "breaks", "beta": "breaks"})
    alpha, beta = "alpha/2026-11-03T00:00:00Z", "beta/2026-11-03T00:00:00Z"
    receiver.reject(400, ("trigger", alpha))

    assert tally_alert(database, "--webhook", receiver.url) == 1
    out, err = capsys.readouterr()
    assert receiver.accepted == [("trigger", beta)]
    assert f"trigger {alpha} (HTTP 400 from http://127.0.0.1:" in err
    assert "dead-letter table" in err and "tally alert --requeue-rejected" in err
    assert "not delivered" not in err  # nothing is waiting to be retried
    assert SECRET not in out + err

    # a later run: the dead letter from before still fails the run; nothing is sent twice
    assert tally_alert(database, "--webhook", receiver.url) == 1
    out, err = capsys.readouterr()
    assert f"trigger {alpha} (HTTP 400" in err
    assert len(receiver.attempts) == 2

    # the cause fixed: the requeue sends it once, then the run goes on as usual
    receiver.reject(400)
    assert tally_alert(database, "--webhook", receiver.url, "--requeue-rejected") == 0
    out, err = capsys.readouterr()
    assert "1 rejected event(s) requeued" in out and err == ""
    assert receiver.accepted == [("trigger", beta), ("trigger", alpha)]

    assert tally_alert(database, "--webhook", receiver.url) == 0
    assert len(receiver.attempts) == 3


def test_long_keys_and_summaries_fit_and_stay_stable_across_runs(
    tmp_path, receiver, capsys, alert_env
):
    database = tmp_path / "tally.duckdb"
    name = "recon_" + "x" * 1100  # a key past 255 characters and a summary past 1024
    write_marts(database, {name: "breaks"})
    assert tally_alert(database, "--webhook", receiver.url) == 0
    [(_, trigger)] = receiver.attempts
    assert len(trigger["dedup_key"]) <= 255 and trigger["dedup_key"].startswith("recon_xxx")
    summary = trigger["payload"]["summary"]
    assert len(summary) <= 1024 and summary.endswith("…")

    # a second run recognises the shortened key: no duplicate
    assert tally_alert(database, "--webhook", receiver.url) == 0
    assert len(receiver.attempts) == 1

    # the window clears: its resolve carries the trigger's key
    write_marts(database, {name: "balanced"})
    assert tally_alert(database, "--webhook", receiver.url) == 0
    assert receiver.accepted == [
        ("trigger", trigger["dedup_key"]),
        ("resolve", trigger["dedup_key"]),
    ]
    capsys.readouterr()
