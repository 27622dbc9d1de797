"""`tally alert` end to end against a real HTTP receiver on 127.0.0.1: one
trigger per broken window and channel incident, nothing new on a second pass,
one resolve per cleared window after the data is fixed, retries after HTTP 500,
nothing lost or doubled across restarts, an event rejected with HTTP 400 set
aside (with the resolve that follows it) until --requeue-rejected, the
--webhook override, the routing file and the log file."""

from __future__ import annotations

import json
import shutil
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import HEADERS, MODELS_ONLY, build_ok, query, run_tally, write_csv

pytestmark = pytest.mark.slow

FAST_RETRIES = {
    "TALLY_ALERT_MAX_ATTEMPTS": "3",
    "TALLY_ALERT_BACKOFF_SECONDS": "0.05",
    "TALLY_ALERT_TIMEOUT_SECONDS": "5",
}
SECRET = "s3cr3t-T0KEN"


class Receiver:
    """An HTTP endpoint that records every POST; `fail_next` answers 500 that many times;
    `reject` holds the (event_action, dedup_key) answered 400."""

    def __init__(self) -> None:
        self.accepted: list[dict] = []
        self.attempts = 0
        self.fail_next = 0
        self.reject: set[tuple[str, str]] = set()
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with lock:
                    receiver.attempts += 1
                    receiver.paths.append(self.path)
                    failing = receiver.fail_next > 0
                    rejected = (body["event_action"], body["dedup_key"]) in receiver.reject
                    if failing:
                        receiver.fail_next -= 1
                    elif not rejected:
                        receiver.accepted.append(body)
                self.send_response(500 if failing else 400 if rejected else 202)
                self.end_headers()
                self.wfile.write(b'{"status": "invalid event"}' if rejected else b"{}")

            def log_message(self, *args) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{SECRET}"

    def keys(self, action: str) -> list[str]:
        return [event["dedup_key"] for event in self.accepted if event["event_action"] == action]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """The demo landing (6 days) built once; tests copy the warehouse they alert on."""
    root = tmp_path_factory.mktemp("alerts")
    landing = root / "landing"
    generated = run_tally("generate", "--out", str(landing), "--days", "6")
    assert generated.returncode == 0, generated.stderr
    as_of = json.loads((landing / "_expected/manifest.json").read_text())["as_of"]
    database = root / "warehouse" / "tally.duckdb"
    build_ok(landing, database, as_of, *MODELS_ONLY)
    return {"landing": landing, "database": database, "as_of": as_of}


def copy_warehouse(demo: dict, tmp_path: Path) -> Path:
    database = tmp_path / "warehouse" / "tally.duckdb"
    database.parent.mkdir(parents=True)
    shutil.copy2(demo["database"], database)
    return database


def alert(database: Path, *args: str, env: dict[str, str] | None = None):
    """`tally alert` in a new process each time (state must survive restarts)."""
    return run_tally(
        "alert",
        *args,
        env={"TALLY_DUCKDB_PATH": str(database), **FAST_RETRIES, **(env or {})},
    )


def broken_windows(database: Path) -> set[str]:
    rows = query(
        database,
        "select recon_name, window_start from marts.fct_recon_window_summary "
        "where window_status = 'breaks'",
    )
    return {f"{name}/{start:%Y-%m-%dT%H:%M:%SZ}" for name, start in rows}


def paging_incidents(database: Path) -> dict[str, bool]:
    """Channel incidents that page (not linked to a channel-wide one): id -> ended."""
    rows = query(
        database,
        "select incident_id, ended_at is not null from marts.fct_channel_incidents "
        "where parent_incident_id is null",
    )
    return dict(rows)


def test_alert_lifecycle_over_http(demo, tmp_path):
    database = copy_warehouse(demo, tmp_path)
    windows = broken_windows(database)
    incidents = paging_incidents(database)
    assert windows and incidents, "the demo must have broken windows and channel incidents"

    with Receiver() as receiver:
        # first pass: one trigger per broken window and per incident
        first = alert(database, "--webhook", receiver.url)
        assert first.returncode == 0, first.stderr
        triggers = receiver.keys("trigger")
        assert len(triggers) == len(set(triggers))
        assert set(triggers) == windows | set(incidents)
        assert len(triggers) == len(windows) + len(incidents)
        # an incident already over is resolved at once; nothing else is resolved
        assert sorted(receiver.keys("resolve")) == sorted(
            k for k, ended in incidents.items() if ended
        )
        for event in receiver.accepted:
            payload = event["payload"]
            assert payload["source"] == "tally"
            assert payload["severity"] in {"critical", "error", "warning", "info"}
            assert payload["summary"] and payload["group"] and payload["component"]
            assert payload["custom_details"]["owner"] == payload["group"]
            assert event["links"] and all(link["href"] for link in event["links"])
        window_event = next(e for e in receiver.accepted if e["dedup_key"] in windows)
        details = window_event["payload"]["custom_details"]
        assert details["open_breaks"] >= 1 and "left_amount" in details and "window_end" in details
        assert SECRET not in first.stdout + first.stderr

        # second pass, a new process: nothing new
        sent = len(receiver.accepted)
        second = alert(database, "--webhook", receiver.url)
        assert second.returncode == 0, second.stderr
        assert len(receiver.accepted) == sent
        assert f"{len(windows)} still open" in second.stdout

        # fix the data (the missing wallets, with their credits) and rebuild
        fixed_landing = tmp_path / "landing"
        shutil.copytree(demo["landing"], fixed_landing)
        fixed_users = add_missing_wallets(database, fixed_landing)
        assert fixed_users
        build_ok(fixed_landing, database, demo["as_of"], *MODELS_ONLY)
        after = broken_windows(database)
        cleared, new = windows - after, after - windows
        assert cleared, "fixing the missing wallets must clear at least one window"

        third = alert(database, "--webhook", receiver.url)
        assert third.returncode == 0, third.stderr
        later = receiver.accepted[sent:]
        resolved = [e["dedup_key"] for e in later if e["event_action"] == "resolve"]
        assert sorted(resolved) == sorted(cleared)
        assert sorted(e["dedup_key"] for e in later if e["event_action"] == "trigger") == sorted(
            new
        )
        resolve = next(e for e in later if e["event_action"] == "resolve")
        assert "no open breaks any more" in resolve["payload"]["summary"]

        # and a fourth pass sends nothing again
        fourth = alert(database, "--webhook", receiver.url)
        assert fourth.returncode == 0, fourth.stderr
        assert len(receiver.accepted) == sent + len(later)


def add_missing_wallets(database: Path, landing: Path) -> list[str]:
    """Delivers the wallet (and its credit) of every signup missing its wallet."""
    rows = query(
        database,
        "select breaks.record_key, min(signups.signed_up_at) "
        "from marts.fct_recon_breaks as breaks "
        "inner join staging.stg_accounts__signups as signups "
        "    on lower(trim(signups.user_id)) = breaks.record_key "
        "where breaks.recon_name = 'signup_wallet' and breaks.status = 'open' "
        "    and breaks.break_type = 'missing_in_right' "
        "group by breaks.record_key",
    )
    wallets, credits = [], []
    for user_id, signed_up_at in rows:
        created = signed_up_at + timedelta(minutes=1)
        stamp = f"{created:%Y-%m-%dT%H:%M:%S}Z"
        wallets.append(
            {
                "wallet_id": f"wal_fix_{user_id}",
                "user_id": user_id,
                "currency": "USD",
                "created_at": stamp,
            }
        )
        credits.append(
            {
                "credit_id": f"crd_fix_{user_id}",
                "user_id": user_id,
                "amount": "5.00",
                "currency": "USD",
                "granted_at": stamp,
            }
        )
    write_csv(landing / "wallet/wallets/fix.csv", HEADERS["wallet/wallets"], wallets)
    write_csv(landing / "promo/credits/fix.csv", HEADERS["promo/credits"], credits)
    return [user_id for user_id, _ in rows]


def test_failed_deliveries_are_retried_kept_and_sent_once(demo, tmp_path):
    database = copy_warehouse(demo, tmp_path)
    expected = len(broken_windows(database)) + 2 * len(paging_incidents(database))

    with Receiver() as receiver:
        # two 500s, then the receiver recovers: retried within the same run
        receiver.fail_next = 2
        first = alert(database, "--webhook", receiver.url)
        assert first.returncode == 0, first.stderr
        assert "retrying" in first.stdout
        assert receiver.attempts == expected + 2
        assert len(receiver.accepted) == expected
        sent = Counter((e["event_action"], e["dedup_key"]) for e in receiver.accepted)
        assert max(sent.values()) == 1

    fresh = copy_warehouse(demo, tmp_path / "second")
    with Receiver() as receiver:
        # down for the whole run: exit 1, a message without the token, all kept
        receiver.fail_next = 10_000
        down = alert(fresh, "--webhook", receiver.url)
        assert down.returncode == 1
        assert "not delivered" in down.stderr and "outbox" in down.stderr
        assert "HTTP 500" in down.stderr and "127.0.0.1" in down.stderr
        assert SECRET not in down.stdout + down.stderr
        # the first event was tried max_attempts times, the others wait behind it
        assert receiver.attempts == int(FAST_RETRIES["TALLY_ALERT_MAX_ATTEMPTS"])
        assert receiver.accepted == []

        # a restart while still down: no new events queued, still all undelivered
        again = alert(fresh, "--webhook", receiver.url)
        assert again.returncode == 1
        assert f"{expected} alert event(s) not delivered" in again.stderr

        # back up: every event delivered exactly once, in queue order
        receiver.fail_next = 0
        recovered = alert(fresh, "--webhook", receiver.url)
        assert recovered.returncode == 0, recovered.stderr
        sent = Counter((e["event_action"], e["dedup_key"]) for e in receiver.accepted)
        assert len(receiver.accepted) == expected and max(sent.values()) == 1
        order = [(e["dedup_key"], e["event_action"]) for e in receiver.accepted]
        for key, action in order:
            if action == "resolve":
                assert order.index((key, "trigger")) < order.index((key, "resolve"))

        quiet = alert(fresh, "--webhook", receiver.url)
        assert quiet.returncode == 0
        assert len(receiver.accepted) == expected


def test_a_rejected_event_waits_with_its_resolve_until_requeued(demo, tmp_path):
    database = copy_warehouse(demo, tmp_path)
    windows, incidents = broken_windows(database), paging_incidents(database)
    ended = sorted(key for key, over in incidents.items() if over)
    assert ended, "the demo must have a channel incident that is already over"
    rejected = ended[0]
    everything = {("trigger", key) for key in windows | set(incidents)}
    everything |= {("resolve", key) for key in ended}

    with Receiver() as receiver:
        receiver.reject = {("trigger", rejected)}
        first = alert(database, "--webhook", receiver.url)
        assert first.returncode == 1
        assert f"trigger {rejected} (HTTP 400 from http://127.0.0.1:" in first.stderr
        assert f"resolve {rejected} (held behind its rejected trigger)" in first.stderr
        assert "tally alert --requeue-rejected" in first.stderr
        assert SECRET not in first.stdout + first.stderr
        # every other event arrived, once; the incident's resolve did not overtake its trigger
        sent = [(e["event_action"], e["dedup_key"]) for e in receiver.accepted]
        assert len(sent) == len(set(sent))
        assert set(sent) == everything - {("trigger", rejected), ("resolve", rejected)}

        receiver.reject = set()
        requeued = alert(database, "--webhook", receiver.url, "--requeue-rejected")
        assert requeued.returncode == 0, requeued.stderr
        later = [(e["event_action"], e["dedup_key"]) for e in receiver.accepted[len(sent) :]]
        assert later == [("trigger", rejected), ("resolve", rejected)]

        quiet = alert(database, "--webhook", receiver.url)
        assert quiet.returncode == 0, quiet.stderr
        assert len(receiver.accepted) == len(everything)


def test_routing_file_by_owner_and_keyword_and_override(demo, tmp_path):
    database = copy_warehouse(demo, tmp_path)
    routing = tmp_path / "routing.yml"
    routing.write_text(
        "routes:\n"
        "  - owner: payments-oncall\n"
        "    keyword: psp\n"
        "    webhook_env: TEST_PAYMENTS_HOOK\n"
        "  - keyword: ledger\n"
        "    webhook_env: TEST_LEDGER_HOOK\n"
    )
    with Receiver() as payments, Receiver() as ledger, Receiver() as override:
        env = {
            "TALLY_ALERT_ROUTING": str(routing),
            "TEST_PAYMENTS_HOOK": payments.url,
            "TEST_LEDGER_HOOK": ledger.url,
        }
        routed = alert(database, env=env)
        assert routed.returncode == 0, routed.stderr
        assert payments.accepted and ledger.accepted
        assert {e["payload"]["component"] for e in payments.accepted} == {"payments_psp"}
        # the keyword matches any reconciliation with "ledger" in its name
        ledger_components = {e["payload"]["component"] for e in ledger.accepted}
        assert "payments_ledger" in ledger_components
        assert all("ledger" in component for component in ledger_components)
        # what no route matched went to the log file next to the warehouse
        logged = read_log(database.parent / "alerts.log")
        logged_components = {e["payload"]["component"] for e in logged}
        assert logged and "payments_psp" not in logged_components
        assert not any("ledger" in component for component in logged_components)

        # --webhook overrides the routing file for every event
        other = copy_warehouse(demo, tmp_path / "override")
        overridden = alert(other, "--webhook", override.url, env=env)
        assert overridden.returncode == 0, overridden.stderr
        assert len(override.accepted) == len(payments.accepted) + len(ledger.accepted) + len(logged)
        assert not (other.parent / "alerts.log").exists()

    broken = tmp_path / "broken.yml"
    broken.write_text("routes:\n  - owner: x\n    webhook_env: TEST_UNSET_HOOK\n")
    failed = alert(database, env={"TALLY_ALERT_ROUTING": str(broken)})
    assert failed.returncode == 1
    assert "broken.yml routes[0].webhook_env" in failed.stderr
    assert "TEST_UNSET_HOOK is not set" in failed.stderr


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_without_webhook_events_go_to_alerts_log(demo, tmp_path):
    database = copy_warehouse(demo, tmp_path)
    done = alert(database)
    assert done.returncode == 0, done.stderr
    logged = read_log(database.parent / "alerts.log")
    triggers = [e["dedup_key"] for e in logged if e["event_action"] == "trigger"]
    assert sorted(triggers) == sorted(broken_windows(database) | set(paging_incidents(database)))
    assert (database.parent / "tally.alerts.sqlite").exists()
    again = alert(database)
    assert again.returncode == 0
    assert len(read_log(database.parent / "alerts.log")) == len(logged)


def test_a_quiet_landing_table_pages_once_and_resolves_when_it_delivers(demo, tmp_path):
    """Silence is a break: five days without files make every landing table stale
    at the new as_of (the bank, which books on business days, after four); each
    pages once, and a table that delivers again resolves."""
    database = copy_warehouse(demo, tmp_path)
    landing = tmp_path / "landing"
    shutil.copytree(demo["landing"], landing)
    start = query(database, f"select cast('{demo['as_of']}' as timestamp)")[0][0]
    later = (start + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    build_ok(landing, database, later, *MODELS_ONLY)
    stale = {
        f"freshness/{service}/{table}"
        for service, table in query(
            database,
            "select service, table_name from marts.fct_source_freshness "
            "where freshness_status = 'stale'",
        )
    }
    assert len(stale) == len(HEADERS), "every table is five days quiet"

    with Receiver() as receiver:
        first = alert(database, "--webhook", receiver.url)
        assert first.returncode == 0, first.stderr
        assert {k for k in receiver.keys("trigger") if k.startswith("freshness/")} == stale
        event = next(e for e in receiver.accepted if e["dedup_key"] == "freshness/psp/settlements")
        payload = event["payload"]
        assert payload["group"] == "payments-oncall" and "stale" in payload["summary"]
        assert payload["custom_details"]["freshness_status"] == "stale"
        sent = len(receiver.accepted)
        assert alert(database, "--webhook", receiver.url).returncode == 0
        assert len(receiver.accepted) == sent, "a stale table pages once"

        # the PSP delivers again: its table is fresh, its alert resolves, the others stay
        recent = (start + timedelta(days=5, hours=-1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        row = dict.fromkeys(HEADERS["psp/settlements"], "")
        row.update(
            psp_reference="psp_late_1",
            merchant_reference="pay_late_1",
            amount_minor="100",
            currency="USD",
            status="SETTLED",
            settled_at=recent,
        )
        write_csv(landing / "psp/settlements/late.csv", HEADERS["psp/settlements"], [row])
        build_ok(landing, database, later, *MODELS_ONLY)
        third = alert(database, "--webhook", receiver.url)
        assert third.returncode == 0, third.stderr
        resolved = [
            e["dedup_key"]
            for e in receiver.accepted[sent:]
            if e["event_action"] == "resolve" and e["dedup_key"].startswith("freshness/")
        ]
        assert resolved == ["freshness/psp/settlements"]
