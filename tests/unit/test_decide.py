"""`tally decide`: one decision or a bulk file becomes one new file in the
decisions folder, in the form the loader reads; a bulk file with a bad row is
refused whole, naming every bad row and nothing of its content."""

from __future__ import annotations

import csv
import getpass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration import cli
from orchestration.contract import decision_columns
from orchestration.decisions import Decision, DecisionError, decide, decide_file
from orchestration.settings import Settings
from orchestration.warehouse.landing_files import DECISIONS_LOADER, LandingTable, plan_table

BREAKS = [
    ("payments_psp", "p_late", "missing_in_right"),
    ("payments_psp", "p_amount", "value_mismatch"),
    ("signup_wallet", "u_1", "missing_in_right"),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A published warehouse whose fct_recon_breaks holds BREAKS, and an empty decisions folder."""
    database = tmp_path / "tally.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.fct_recon_breaks (recon_name varchar, record_key varchar, "
            "break_type varchar, status varchar)"
        )
        connection.executemany(
            "insert into marts.fct_recon_breaks values (?, ?, ?, 'open')", BREAKS
        )
    return Settings(duckdb_path=database, decisions_dir=tmp_path / "decisions").resolved()


def written(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_one_decision_is_one_new_file_the_loader_reads(settings):
    decision = Decision(
        "payments_psp", "P_Late", "missing_in_right", "waive", "test payment", "alice",
        "2026-11-03T13:00:00Z",
    )  # fmt: skip
    path, warnings = decide(settings, decision)
    assert warnings == []
    assert written(settings.decisions_dir) == [path]  # no partial file left behind
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(decision_columns())
    assert rows(path) == [
        {
            "recon_name": "payments_psp",
            "record_key": "P_Late",  # as given: the build compares keys trimmed, lower case
            "break_type": "missing_in_right",
            "action": "waive",
            "reason": "test payment",
            "decided_by": "alice",
            "decided_at": "2026-11-03T13:00:00Z",
        }
    ]
    table = LandingTable("decisions", "decisions", decision_columns(), DECISIONS_LOADER)
    (version,) = plan_table(settings.decisions_dir, table, {}).versions
    assert version.relative == path.name
    # a second decision never replaces the first
    second, _ = decide(settings, decision)
    assert second != path and written(settings.decisions_dir) == sorted([path, second])


def test_by_defaults_to_the_os_user_and_at_to_now(settings, capsys):
    before = datetime.now(UTC).replace(microsecond=0)
    code = cli.main(
        [
            "decide", "--recon", "payments_psp", "--key", "p_amount", "--type",
            "value_mismatch", "--action", "Acknowledge", "--reason", "PSP is on it",
            "--decisions-dir", str(settings.decisions_dir), "--duckdb-path",
            str(settings.duckdb_path),
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (path,) = written(settings.decisions_dir)
    (row,) = rows(path)
    assert row["action"] == "acknowledge"
    assert row["decided_by"] == getpass.getuser()
    at = datetime.fromisoformat(row["decided_at"].replace("Z", "+00:00"))
    assert before <= at <= datetime.now(UTC)


def test_a_decision_on_a_key_that_is_no_break_is_kept_with_a_warning(settings):
    decision = Decision(
        "payments_psp", "p_nowhere", "missing_in_right", "waive", "typo?", "bob",
        "2026-11-03T13:00:00Z",
    )  # fmt: skip
    path, warnings = decide(settings, decision)
    assert path.exists()
    assert len(warnings) == 1 and "no such break" in warnings[0]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"action": "wave"}, "action is not one of acknowledge, waive, reopen, comment"),
        ({"reason": " "}, "reason is empty"),
        ({"recon_name": "payments_pspp"}, "recon_name is not a declared reconciliation"),
        ({"decided_at": "yesterday"}, "decided_at is not an ISO 8601 time"),
    ],
)
def test_a_decision_without_a_known_action_reason_or_reconciliation_is_refused(
    settings, change, named
):
    values = {
        "recon_name": "payments_psp",
        "record_key": "p_late",
        "break_type": "missing_in_right",
        "action": "waive",
        "reason": "test payment",
        "decided_by": "alice",
        "decided_at": "2026-11-03T13:00:00Z",
        **change,
    }
    with pytest.raises(DecisionError, match=named):
        decide(settings, Decision(**values))
    assert written(settings.decisions_dir) == []


def write_bulk(path: Path, header: list[str], records: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(records)
    return path


def test_a_bulk_file_is_copied_in_whole_with_who_and_when_filled_in(settings, tmp_path):
    bulk = write_bulk(
        tmp_path / "finance export.csv",
        [" Record_Key", "RECON_NAME", "break_type", "action", "reason", "decided_at", "notes"],
        [
            ["p_late ", "payments_psp", "missing_in_right", "WAIVE", "test payment", "", "x"],
            ["P_AMOUNT", "payments_psp", "value_mismatch", "comment", "asked the PSP",
             "2026-11-03T22:00:00+09:00", "y"],
        ],
    )  # fmt: skip
    path, count = decide_file(settings, bulk, by="finance", at="2026-11-04T08:00:00Z")
    assert count == 2
    assert written(settings.decisions_dir) == [path]
    assert "bulk" in path.name
    assert [(row["record_key"], row["action"], row["decided_by"], row["decided_at"])
            for row in rows(path)] == [
        ("p_late", "waive", "finance", "2026-11-04T08:00:00Z"),
        ("P_AMOUNT", "comment", "finance", "2026-11-03T13:00:00Z"),
    ]  # fmt: skip


def test_a_bulk_file_with_bad_rows_is_refused_whole_naming_each_row_not_its_content(
    settings, tmp_path
):
    bulk = write_bulk(
        tmp_path / "decisions.csv",
        ["recon_name", "record_key", "break_type", "action", "reason"],
        [
            ["payments_psp", "p_late", "missing_in_right", "waive", "test payment"],
            ["payments_psp", "secret-key-9", "missing_in_right", "waive", "no such break"],
            ["payments_psp", "p_amount", "value_mismatch", "forgive", "=HYPERLINK(1)"],
            ["signup_wallet", "u_1", "missing_in_right", "waive", ""],
        ],
    )
    with pytest.raises(DecisionError) as refused:
        decide_file(settings, bulk)
    message = str(refused.value)
    assert "nothing was recorded" in message
    assert "row 1 " not in message
    assert "row 2 (line 3): names no break" in message
    assert "row 3 (line 4): action is not one of" in message
    assert "row 4 (line 5): reason is empty" in message
    assert "secret-key-9" not in message and "HYPERLINK" not in message
    assert written(settings.decisions_dir) == []


def test_a_bulk_file_without_a_required_column_is_refused_naming_it(settings, tmp_path):
    bulk = write_bulk(
        tmp_path / "decisions.csv",
        ["recon_name", "record_key", "action", "reason"],
        [["payments_psp", "p_late", "waive", "test payment"]],
    )
    with pytest.raises(DecisionError, match="lacks column.*'break_type'"):
        decide_file(settings, bulk)
    assert written(settings.decisions_dir) == []


def test_a_bulk_file_cannot_be_checked_before_a_build(tmp_path):
    settings = Settings(
        duckdb_path=tmp_path / "none.duckdb", decisions_dir=tmp_path / "decisions"
    ).resolved()
    bulk = write_bulk(
        tmp_path / "decisions.csv",
        ["recon_name", "record_key", "break_type", "action", "reason"],
        [["payments_psp", "p_late", "missing_in_right", "waive", "test payment"]],
    )
    with pytest.raises(DecisionError, match="run `tally build` first"):
        decide_file(settings, bulk)
    assert written(settings.decisions_dir) == []


def test_the_command_takes_either_one_decision_or_a_file(settings, tmp_path, capsys):
    common = ["--decisions-dir", str(settings.decisions_dir)]
    assert cli.main(["decide", "--file", str(tmp_path / "x.csv"), "--key", "k", *common]) == 1
    assert "drop --key" in capsys.readouterr().err
    assert cli.main(["decide", "--recon", "payments_psp", "--action", "waive", *common]) == 1
    assert "--key, --type, --reason missing" in capsys.readouterr().err
    assert written(settings.decisions_dir) == []
