"""Alert routing, redaction, retry options and the outbox's queue order."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.alerts.delivery import DeliveryFailed, DeliveryOptions, deliver_outbox
from orchestration.alerts.routing import RoutingError, build_router, redact
from orchestration.alerts.state import AlertStore, Triggered

LOG = Path("/tmp/alerts.log")


def router(tmp_path: Path, text: str | None, env: dict[str, str], webhook: str | None = None):
    if text is not None:
        (tmp_path / "alert_routing.yml").write_text(text)
    return build_router(webhook=webhook, project_dir=tmp_path, log_path=LOG, env=env)


def test_redact_keeps_scheme_and_host_only():
    url = "https://user:pw@hooks.example.com:8443/services/T0/B1/s3cr3t?token=abc"
    assert redact(url) == "https://hooks.example.com:8443/…"


def test_without_webhook_or_routing_file_events_go_to_the_log(tmp_path):
    destination = router(tmp_path, None, {}).destination("payments-oncall", "payments_psp")
    assert (destination.kind, destination.target) == ("log", str(LOG))


def test_routes_match_owner_and_keyword_in_order(tmp_path):
    env = {"A": "https://a.example/x", "B": "https://b.example/y", "C": "https://c.example/z"}
    routes = router(
        tmp_path,
        "routes:\n"
        "  - {owner: payments-oncall, keyword: CHANNEL, webhook_env: A}\n"
        "  - {owner: payments-oncall, webhook_env: B}\n"
        "  - {keyword: ledger, webhook: 'https://d.example/w'}\n"
        "default: {webhook_env: C}\n",
        env,
    )
    assert routes.destination("payments-oncall", "channel").target == env["A"]
    assert routes.destination("payments-oncall", "payments_psp").target == env["B"]
    assert routes.destination("ledger-oncall", "payments_ledger").target == "https://d.example/w"
    assert routes.destination("growth-oncall", "signup_wallet").target == env["C"]


def test_override_beats_the_routing_file(tmp_path):
    env = {"TALLY_ALERT_WEBHOOK_URL": "https://env.example/hook"}
    text = "routes:\n  - {owner: x, webhook: 'https://route.example/'}\n"
    assert router(tmp_path, text, env).destination("x", "y").target == "https://env.example/hook"
    flag = router(tmp_path, text, env, webhook="https://flag.example/h").destination("x", "y")
    assert flag.target == "https://flag.example/h"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "routes:\n  - {owner: x}\n",
            "routes[0]: give exactly one of webhook (URL) or webhook_env",
        ),
        ("routes:\n  - {webhook: 'https://a/'}\n", "routes[0]: needs `owner` or `keyword`"),
        ("routes:\n  - {owner: x, webhook_env: NOPE}\n", "routes[0].webhook_env: environment "),
        ("routes:\n  - {owner: x, url: 'https://a/'}\n", "routes[0]: unknown key(s) ['url']"),
        ("routes:\n  - {owner: x, webhook: 'ftp://a/'}\n", "routes[0].webhook: not an http(s)"),
        ("route: []\n", "unknown key(s) ['route']"),
        ("routes: [\n", "not valid YAML"),
    ],
)
def test_a_wrong_routing_file_names_the_file_and_field(tmp_path, text, message):
    with pytest.raises(RoutingError) as error:
        router(tmp_path, text, {})
    assert "alert_routing.yml" in str(error.value)
    assert message in str(error.value)


def test_a_bad_url_is_reported_without_the_url(tmp_path):
    with pytest.raises(RoutingError) as error:
        router(tmp_path, None, {"TALLY_ALERT_WEBHOOK_URL": "hooks.example.com/s3cr3t"})
    assert "s3cr3t" not in str(error.value)


def test_retry_options_from_the_environment():
    options = DeliveryOptions.from_env(
        {"TALLY_ALERT_MAX_ATTEMPTS": "5", "TALLY_ALERT_BACKOFF_SECONDS": "0.5"}
    )
    assert [options.delay(attempt) for attempt in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert options.max_attempts == 5
    with pytest.raises(ValueError, match="TALLY_ALERT_MAX_ATTEMPTS='many' is not a number"):
        DeliveryOptions.from_env({"TALLY_ALERT_MAX_ATTEMPTS": "many"})


def test_a_failing_destination_keeps_its_events_in_order_and_others_go_on(tmp_path, monkeypatch):
    store = AlertStore(tmp_path / "state.sqlite")
    for owner, key in [("down", "a"), ("up", "b"), ("down", "c")]:
        record = Triggered(key, "window", key, owner, "error", {}, [])
        with store.transaction() as connection:
            store.queue_trigger(connection, record, {"dedup_key": key})
    env = {"DOWN": "https://down.example/t0k3n", "UP": "https://up.example/x"}
    routes = router(
        tmp_path,
        "routes:\n  - {owner: down, webhook_env: DOWN}\n  - {owner: up, webhook_env: UP}\n",
        env,
    )
    posted: list[tuple[str, str]] = []

    def post(destination, body, timeout):
        posted.append((destination.target, body["dedup_key"]))
        if "down" in destination.target:
            raise DeliveryFailed("HTTP 503 Service Unavailable")

    monkeypatch.setattr("orchestration.alerts.delivery.post_event", post)
    sleeps: list[float] = []
    report = deliver_outbox(
        store,
        routes,
        DeliveryOptions(max_attempts=3, backoff_seconds=0.25),
        sleep=sleeps.append,
        echo=lambda _line: None,
    )
    assert report.delivered == 1
    assert report.undelivered == {"https://down.example/…": [2, "HTTP 503 Service Unavailable"]}
    # "a" tried three times with backoff; "c" waits behind it; "b" delivered
    assert posted == [(env["DOWN"], "a")] * 3 + [(env["UP"], "b")]
    assert sleeps == [0.25, 0.5]
    assert [event.dedup_key for event in store.undelivered()] == ["a", "c"]
    store.close()
