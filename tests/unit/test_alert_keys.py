"""Dedup keys: ordinary keys as they always were, unambiguous parts, PagerDuty's
255-character key and 1024-character summary limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from orchestration.alerts import events
from orchestration.alerts.keys import (
    DEDUP_KEY_MAX,
    SUMMARY_MAX,
    channel_dedup_key,
    dedup_key,
    freshness_dedup_key,
    run_dedup_key,
    shorten_key,
    volume_dedup_key,
    window_dedup_key,
    within_limits,
)

START = datetime(2026, 11, 3, 10, 5, 10)


def test_ordinary_keys_read_as_before():
    assert window_dedup_key("payments_psp", START) == "payments_psp/2026-11-03T10:05:10Z"
    # an aware timestamp is written in UTC
    aware = START.replace(tzinfo=timezone(timedelta(hours=9)))
    assert window_dedup_key("signup_wallet", aware) == "signup_wallet/2026-11-03T01:05:10Z"
    assert channel_dedup_key("card", None, START) == "channel/card/2026-11-03T10:05:10Z"
    assert channel_dedup_key("card", "m_42", START) == "channel/card/m_42/2026-11-03T10:05:10Z"
    assert freshness_dedup_key("psp", "settlements") == "freshness/psp/settlements"
    assert volume_dedup_key("gateway", "attempts", START.replace(tzinfo=UTC)) == (
        "volume/gateway/attempts/2026-11-03T10:05:10Z"
    )
    assert run_dedup_key("build_landing", "0f3c-77") == "run/build_landing/0f3c-77"
    # the freshness builder is reachable where the other alert kinds live
    assert events.freshness_dedup_key is freshness_dedup_key


def test_separator_percent_and_empty_parts_give_distinct_keys():
    cases = [
        ("a/b", "c"),
        ("a", "b/c"),
        ("a", "b", "c"),
        ("a%2Fb", "c"),
        ("a%b", "c"),
        ("a%25b", "c"),
        ("", "c"),
        ("%00", "c"),
        ("\x00", "c"),
        ("a", ""),
        ("a",),
        ("a/",),
        ("a%",),
    ]
    keys = [dedup_key(*parts) for parts in cases]
    assert len(set(keys)) == len(cases), keys
    assert dedup_key("a/b", "c") == "a%2Fb/c"
    assert dedup_key("", "c") == "%00/c"
    # an empty merchant is not a channel-wide incident, and a `/` in a channel is no merchant
    assert (
        len(
            {
                channel_dedup_key("card", None, START),
                channel_dedup_key("card", "", START),
                channel_dedup_key("card/m_42", None, START),
                channel_dedup_key("card", "m_42", START),
            }
        )
        == 4
    )
    assert freshness_dedup_key("a/b", "c") != freshness_dedup_key("a", "b/c")


def decode(key: str) -> list[str]:
    """The inverse of the part encoding: proves that no two part lists share a key."""
    return [
        "" if part == "%00" else part.replace("%2F", "/").replace("%25", "%")
        for part in key.split("/")
    ]


@given(st.lists(st.text(alphabet="a/%0F2\x00", max_size=5), min_size=1, max_size=4))
def test_the_part_encoding_can_be_undone(parts):
    assert decode(dedup_key(*parts)) == parts


def test_long_keys_shorten_stably_and_distinctly():
    long_name = "payments_psp_" + "x" * 400
    key = window_dedup_key(long_name, START)
    assert len(key) <= DEDUP_KEY_MAX
    assert key == window_dedup_key(long_name, START)  # same input, same key
    assert key.startswith("payments_psp_xxx")  # a readable prefix
    # keys that differ only past the cut still differ
    assert window_dedup_key(long_name, START + timedelta(hours=1)) != key
    # a shortened key is never an ordinary key, and shortening it again changes nothing
    assert "%~" in key and shorten_key(key) == key
    fits = "r" * DEDUP_KEY_MAX
    assert shorten_key(fits) == fits


def test_within_limits_cuts_key_and_summary_only():
    body = {
        "event_action": "trigger",
        "dedup_key": "k" * 300,
        "payload": {"summary": "s" * 2000, "severity": "error"},
        "links": [],
    }
    fitted = within_limits(body)
    assert fitted["dedup_key"] == shorten_key("k" * 300) and len(fitted["dedup_key"]) <= 255
    summary = fitted["payload"]["summary"]
    assert len(summary) == SUMMARY_MAX and summary.endswith("…")
    assert summary.startswith("s" * 1000)
    assert fitted["payload"]["severity"] == "error"
    assert body["payload"]["summary"] == "s" * 2000  # the caller's body is left alone
    short = {"dedup_key": "a/b", "payload": {"summary": "x" * SUMMARY_MAX}}
    assert within_limits(short) == short
