"""Landing files shaped like real partner exports, added to a generated demo.

Each odd file is a copy of one of the demo's files (without its quarantined
rows) under a name and header that real exporters produce: pattern characters,
backslashes, quotes and spaces in the name, an upper-case or gzip extension, a
byte order mark, CRLF, a trailing comma, reordered and upper-case header names,
a quoted name holding a comma, a link to a file elsewhere in the landing
folder. Its rows equal rows already delivered, so they are collapsed as exact
copies and the demo's breaks do not change; the manifest's row counts grow by
the copied rows. Entries that a build must leave alone (hidden, partial,
temporary, subfolders, other file types) hold text that is not even CSV.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class OddFiles:
    loaded: dict[str, int] = field(default_factory=dict)  # relative path -> data rows
    ignored: dict[str, str] = field(default_factory=dict)  # relative path -> reason (a word of)


def _clean_rows(landing: Path, relative: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a demo file that the demo does not quarantine."""
    quarantined = {
        int(row["source_row"])
        for row in csv.DictReader((landing / "_expected/quarantine.csv").open(encoding="utf-8"))
        if row["source_file"] == relative
    }
    with (landing / relative).open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, [row for number, row in enumerate(rows, 1) if number not in quarantined]


def _csv_text(header: list[str], rows: list[list[str]], terminator: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _first_file(landing: Path, table: str) -> str:
    return sorted(p for p in (landing / table).iterdir() if p.name.endswith(".csv"))[0].name


def add_odd_files(landing: Path) -> OddFiles:
    odd = OddFiles()

    def add(table: str, name: str, data: bytes, rows: int) -> None:
        (landing / table / name).write_bytes(data)
        odd.loaded[f"{table}/{name}"] = rows

    # Excel: byte order mark, CRLF, a trailing comma on every line; brackets in the name
    table = "psp/settlements"
    header, rows = _clean_rows(landing, f"{table}/{_first_file(landing, table)}")
    text = _csv_text([*header, ""], [[*row, ""] for row in rows], "\r\n")
    add(table, "settlements_2026-11-0[1].csv", b"\xef\xbb\xbf" + text.encode(), len(rows))

    # a star in the name; two columns swapped; names upper-case with spaces around
    table = "payments/payments"
    header, rows = _clean_rows(landing, f"{table}/{_first_file(landing, table)}")
    order = list(range(len(header)))
    order[0], order[4] = order[4], order[0]
    swapped = [f" {header[i].upper()} " for i in order]
    text = _csv_text(swapped, [[row[i] for i in order] for row in rows])
    add(table, "payments_*.csv", text.encode(), len(rows))

    # Windows and shell characters in the name, an upper-case extension
    table = "wallet/wallets"
    header, rows = _clean_rows(landing, f"{table}/{_first_file(landing, table)}")
    add(table, "wallets \\ it's; [x] ?.CSV", _csv_text(header, rows).encode(), len(rows))

    # gzip, braces and spaces in the name
    table = "accounts/signups"
    header, rows = _clean_rows(landing, f"{table}/{_first_file(landing, table)}")
    add(table, "signups copy {1}.csv.gz", gzip.compress(_csv_text(header, rows).encode()),
        len(rows))  # fmt: skip

    # an unknown column whose quoted name holds a comma, and one with no name
    table = "promo/credits"
    header, rows = _clean_rows(landing, f"{table}/{_first_file(landing, table)}")
    text = _csv_text(["note, internal", *header, ""], [["x, y", *row, "z"] for row in rows])
    add(table, "Credits.Csv", text.encode(), len(rows))

    # a link to a file kept elsewhere inside the landing folder
    table = "processing/processings"
    header, rows = _clean_rows(landing, f"{table}/{_first_file(landing, table)}")
    kept = landing / "_shared" / "processings.data"
    kept.parent.mkdir(exist_ok=True)
    kept.write_text(_csv_text(header, rows), encoding="utf-8")
    (landing / table / "linked.csv").symlink_to(Path("../../_shared/processings.data"))
    odd.loaded[f"{table}/linked.csv"] = len(rows)

    # what a build leaves alone: their text is not even CSV
    garbage = b'\x00\xff not csv, "unterminated\n'
    for name, reason in [
        (".hidden.csv", "hidden"),
        ("_partial.csv", "hidden"),
        ("upload.csv.part", "in progress"),
        ("export.csv.tmp", "in progress"),
        ("download.csv.crdownload", "in progress"),
        ("notes.txt", "not a .csv"),
    ]:
        (landing / "accounts/signups" / name).write_bytes(garbage)
        odd.ignored[f"accounts/signups/{name}"] = reason
    (landing / "accounts/signups/archive").mkdir()
    (landing / "accounts/signups/archive/old.csv").write_bytes(garbage)
    odd.ignored["accounts/signups/archive"] = "subfolder"

    manifest_path = landing / "_expected/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for relative, count in odd.loaded.items():
        service, table_name, _ = relative.split("/", 2)
        manifest["row_counts"][f"{service}/{table_name}"] += count
    manifest["files"] += len(odd.loaded)
    manifest["odd_files"] = {"loaded": odd.loaded, "ignored": odd.ignored}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return odd
