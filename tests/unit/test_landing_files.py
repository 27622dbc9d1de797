"""Which landing files a build reads, and how their headers are read: the rules
every engine's loader takes from orchestration/warehouse/landing_files.py."""

from __future__ import annotations

import csv
import gzip
import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.duckdb_landing import finish_json, plan_json
from orchestration.warehouse.landing_files import (
    DECISIONS_LOADER,
    STILL_WRITING,
    FileVersion,
    LandingError,
    LandingTable,
    plan_table,
)

TABLE = LandingTable("psp", "settlements", ("psp_reference", "amount_minor", "currency"))
ODD_NAMES = [
    "settlements_2026-11-0[1].csv",
    "payments_*.csv",
    "what?.csv",
    r"windows\export.csv",
    "it's; here.csv",
    "with space {a,b}.csv",
    "UPPER.CSV",
    "zipped.csv.gz",
    "Zipped.CSV.GZ",
]


def folder(landing: Path) -> Path:
    path = landing / TABLE.service / TABLE.table
    path.mkdir(parents=True, exist_ok=True)
    return path


def write(path: Path, text: str, *, compressed: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compressed else data)
    return path


def plan(landing: Path, **options):
    return plan_table(landing, TABLE, {}, **options)


def _request(landing: Path) -> str:
    return json.dumps(
        {
            "landing": str(landing),
            "service": TABLE.service,
            "table": TABLE.table,
            "columns": list(TABLE.columns),
            "loaded": [],
            "started_at": datetime.now(UTC).isoformat(),
            "settle_seconds": "0",
        }
    )


def test_every_odd_name_is_one_file_read_from_its_exact_path(tmp_path):
    table_folder = folder(tmp_path)
    for number, name in enumerate(ODD_NAMES):
        write(
            table_folder / name,
            f"psp_reference,amount_minor,currency\nref{number},{number},EUR\n",
            compressed=name.lower().endswith(".gz"),
        )
    planned = plan(tmp_path)
    assert sorted(v.relative for v in planned.versions) == sorted(
        f"psp/settlements/{name}" for name in ODD_NAMES
    )
    assert planned.ignored == []
    # DuckDB reads the path the plan hands it, and nothing else, whatever the name holds
    answer = json.loads(plan_json(_request(tmp_path)))
    with duckdb.connect() as connection:
        for version in answer["versions"]:
            rows = connection.execute(
                "select psp_reference, filename from read_csv(?, header = true, "
                "auto_detect = false, columns = {'psp_reference': 'VARCHAR', "
                "'amount_minor': 'VARCHAR', 'currency': 'VARCHAR'}, compression = ?)",
                [version["read_path"], "gzip" if version["compressed"] else "none"],
            ).fetchall()
            number = ODD_NAMES.index(Path(version["relative"]).name)
            assert rows == [(f"ref{number}", version["read_path"])]
    assert json.loads(finish_json(json.dumps(answer))) == []
    assert not Path(answer["links"]).exists()


def test_hidden_partial_temporary_and_other_entries_are_ignored_with_a_reason(tmp_path):
    table_folder = folder(tmp_path)
    header = "psp_reference,amount_minor,currency\n"
    for name in [".hidden.csv", "_partial.csv", "a.csv.tmp", "b.csv.part", "c.CSV.PARTIAL",
                 "d.csv.crdownload", "notes.txt", "report.xlsx"]:  # fmt: skip
        write(table_folder / name, "not even csv\x00")
    (table_folder / "archive").mkdir()
    write(table_folder / "archive" / "old.csv", header)
    write(table_folder / "real.csv", header + "r1,1,EUR\n")
    planned = plan(tmp_path)
    assert [v.relative for v in planned.versions] == ["psp/settlements/real.csv"]
    reasons = {Path(item.relative).name: item.reason for item in planned.ignored}
    assert set(reasons) == {".hidden.csv", "_partial.csv", "a.csv.tmp", "b.csv.part",
                            "c.CSV.PARTIAL", "d.csv.crdownload", "notes.txt", "report.xlsx",
                            "archive"}  # fmt: skip
    assert "hidden or partial" in reasons[".hidden.csv"]
    assert "in progress" in reasons["c.CSV.PARTIAL"]
    assert "subfolder" in reasons["archive"]
    assert "not a .csv" in reasons["notes.txt"]


def test_a_link_to_a_file_inside_the_landing_folder_is_read_under_its_own_name(tmp_path):
    table_folder = folder(tmp_path)
    elsewhere = tmp_path / "psp" / "kept"
    elsewhere.mkdir(parents=True)
    target = write(elsewhere / "file.data", "psp_reference,amount_minor,currency\nr,1,EUR\n")
    (table_folder / "linked.csv").symlink_to(target)
    (version,) = plan(tmp_path).versions
    assert version.relative == "psp/settlements/linked.csv"
    assert version.path == target.resolve()


@pytest.mark.parametrize("kind", ["outside", "directory", "dangling", "fifo"])
def test_links_out_of_the_folder_and_special_files_stop_without_reading_them(tmp_path, kind):
    landing = tmp_path / "landing"
    table_folder = folder(landing)
    secret = write(tmp_path / "secret.txt", "TOP-SECRET-TOKEN=abc123\n")
    entry = table_folder / "export.csv"
    if kind == "outside":
        entry.symlink_to(secret)
    elif kind == "directory":
        entry.symlink_to(landing / "psp")
    elif kind == "dangling":
        entry.symlink_to(tmp_path / "missing.csv")
    else:
        os.mkfifo(entry)  # opening it for reading would block this test forever
    with pytest.raises(LandingError) as raised:
        plan(landing)
    message = str(raised.value)
    assert "psp/settlements/export.csv" in message
    assert "TOP-SECRET" not in message and str(secret) not in message and "missing" not in message


def test_a_socket_is_refused(tmp_path):
    table_folder = folder(tmp_path)
    # AF_UNIX paths are short: bind from inside the folder
    cwd = os.getcwd()
    os.chdir(table_folder)
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind("sock.csv")
    finally:
        os.chdir(cwd)
    try:
        with pytest.raises(LandingError, match="sock.csv is a socket"):
            plan(tmp_path)
    finally:
        server.close()


@pytest.mark.parametrize(
    "header",
    [
        "\ufeffpsp_reference,amount_minor,currency\r\n",  # Excel: BOM and CRLF
        "psp_reference,amount_minor,currency,\n",  # Excel: trailing comma
        '" PSP_Reference ","Amount_Minor","a, quoted, comma",Currency\n',
        "currency,extra,,amount_minor,psp_reference,extra\n",  # reordered, unknown twice
    ],
    ids=["bom-crlf", "trailing-comma", "quoted-comma-case-space", "reordered"],
)
def test_headers_like_real_exports_map_every_contract_column(tmp_path, header):
    path = write(folder(tmp_path) / "x.csv", header)
    (version,) = plan(tmp_path).versions
    names = version.header
    assert names is not None
    assert sorted(name for name in names if not name.startswith("_ignored_")) == sorted(
        TABLE.columns
    )
    assert len(names) == len(next(csv.reader([header.lstrip("\ufeff")])))
    assert path.exists()


def test_a_contract_column_named_twice_stops_naming_file_and_column(tmp_path):
    write(folder(tmp_path) / "twice.csv", "psp_reference,Currency,amount_minor,currency \n")
    with pytest.raises(LandingError, match=r"twice.csv names column 'currency' twice"):
        plan(tmp_path)


def test_a_missing_column_names_file_and_column_but_not_the_other_header_names(tmp_path):
    write(folder(tmp_path) / "short.csv", "psp_reference,api_key_sk_live_123\n")
    with pytest.raises(LandingError) as raised:
        plan(tmp_path)
    message = str(raised.value)
    assert "short.csv lacks column 'amount_minor'" in message
    assert "sk_live" not in message


def test_an_empty_file_adds_no_rows_and_a_header_only_file_no_data(tmp_path):
    write(folder(tmp_path) / "empty.csv", "")
    (version,) = plan(tmp_path).versions
    assert version.header is None


def test_settle_seconds_leave_recent_files_for_a_later_build(tmp_path):
    table_folder = folder(tmp_path)
    old = write(table_folder / "old.csv", "psp_reference,amount_minor,currency\n")
    write(table_folder / "new.csv", "psp_reference,amount_minor,currency\n")
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(old, (hour_ago, hour_ago))
    planned = plan(tmp_path, started_at=datetime.now(UTC), settle_seconds=60)
    assert [v.relative for v in planned.versions] == ["psp/settlements/old.csv"]
    assert [(i.relative, i.reason) for i in planned.ignored] == [
        ("psp/settlements/new.csv", STILL_WRITING)
    ]


def test_a_file_that_grows_after_it_was_planned_is_reported_changed(tmp_path):
    path = write(folder(tmp_path) / "growing.csv", "psp_reference,amount_minor,currency\n")
    (version,) = plan(tmp_path).versions
    assert not version.changed_since_planned()
    with path.open("a") as handle:
        handle.write("r9,9,EUR\n")
    assert version.changed_since_planned()


def test_the_duckdb_functions_speak_json_and_return_errors_as_data(tmp_path):
    table_folder = folder(tmp_path)
    write(table_folder / "a[1].csv", "\ufeffCURRENCY,psp_reference,amount_minor\nEUR,r,1\n")
    answer = json.loads(plan_json(_request(tmp_path)))
    assert answer["error"] is None
    (version,) = answer["versions"]
    assert version["header"] == ["currency", "psp_reference", "amount_minor"]
    assert Path(version["read_path"]).resolve() == (table_folder / "a[1].csv").resolve()
    write(table_folder / "a[1].csv", "CURRENCY,psp_reference,amount_minor\nEUR,r,1\nUSD,s,2\n")
    assert json.loads(finish_json(json.dumps(answer))) == ["psp/settlements/a[1].csv"]
    (table_folder / "b.csv").symlink_to("/etc/hostname")
    refused = json.loads(plan_json(_request(tmp_path)))
    assert "b.csv is a symbolic link" in refused["error"]


DECISIONS = LandingTable(
    "decisions",
    "decisions",
    ("recon_name", "record_key", "break_type", "action", "reason", "decided_by", "decided_at"),
    DECISIONS_LOADER,
)
DECISION_HEADER = ",".join(DECISIONS.columns) + "\n"


def test_decision_files_lie_in_the_decisions_folder_itself_by_the_same_rules(tmp_path):
    write(tmp_path / "2026-11-02-alice.csv", DECISION_HEADER + "r,k,value_mismatch,waive,x,a,t\n")
    write(tmp_path / ".2026-11-03-bob.csv.partial", DECISION_HEADER)
    (tmp_path / "drafts").mkdir()
    planned = plan_table(tmp_path, DECISIONS, {})
    assert [v.relative for v in planned.versions] == ["2026-11-02-alice.csv"]
    assert [item.relative for item in planned.ignored] == [".2026-11-03-bob.csv.partial", "drafts"]
    # through the DuckDB function too, when the hook names the decisions loader
    request = json.loads(_request(tmp_path))
    request.update(service="decisions", table="decisions", loader=DECISIONS_LOADER)
    request["columns"] = list(DECISIONS.columns)
    answer = json.loads(plan_json(json.dumps(request)))
    assert [v["relative"] for v in answer["versions"]] == ["2026-11-02-alice.csv"]
    finish_json(json.dumps(answer))


def test_a_missing_decisions_folder_holds_no_decisions_and_keeps_those_loaded(tmp_path):
    missing = tmp_path / "no-decisions-yet"
    planned = plan_table(missing, DECISIONS, {})
    assert (planned.versions, planned.ignored, planned.notes) == ([], [], [])
    loaded = {"a.csv": FileVersion(10, "2026-11-02 10:00:00.000000", "abc", False)}
    kept = plan_table(missing, DECISIONS, loaded)
    assert kept.versions == []  # no removal markers: nothing is withdrawn
    assert kept.notes and "does not exist" in kept.notes[0]


def test_a_decision_file_lacking_a_column_is_named_like_a_landing_file(tmp_path):
    write(tmp_path / "d.csv", "recon_name,record_key,break_type,action,reason\n")
    with pytest.raises(LandingError, match=r"d\.csv lacks column 'decided_by'"):
        plan_table(tmp_path, DECISIONS, {})
