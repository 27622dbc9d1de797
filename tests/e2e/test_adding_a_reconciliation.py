"""A reconciliation is one model file and one YAML block: added to a copy of the
project with exactly those two touches, it is built, registered, tested, alerted,
scheduled and reported like the others."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest
from conftest import HEADERS, PROJECT_DIR, query, run_build, run_dbt, run_tally, write_csv

pytestmark = pytest.mark.slow

AS_OF = "2026-11-03T00:00:00Z"
IGNORED = shutil.ignore_patterns(".venv*", "data", "target", "logs", ".git", "*.duckdb*", "bench")
MODEL = (
    "{{ tally.reconcile(left=ref('stg_accounts__signups'), right=ref('stg_promo__credits')) }}\n"
)
BLOCK = """    signup_credit:
      description: >
        Every user who signs up is granted a promo credit on the same day.
      left: {label: signups, key: user_id, time: signed_up_at}
      right: {label: promo credits, key: user_id, time: granted_at, amount: amount}
      grain: day
      grace: 1 hour
      owner: promo-oncall
      severity: warning
"""


def changed_files(original: Path, copy: Path) -> list[str]:
    """Files added or changed in `copy` compared with `original` (same ignore rules)."""
    found = []

    def walk(comparison: filecmp.dircmp, prefix: str) -> None:
        found.extend(prefix + name for name in comparison.right_only + comparison.diff_files)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    ignore = [".venv", "data", "target", "logs", ".git", "bench", "__pycache__", ".pytest_cache"]
    walk(filecmp.dircmp(original, copy, ignore=ignore), "")
    return sorted(found)


@pytest.fixture(scope="module")
def added(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("add-a-recon")
    project = root / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=IGNORED)
    # the two touches: the model file, and the block under vars.tally_reconciliations
    (project / "models/reconciliation/recon_signup_credit.sql").write_text(MODEL)
    settings = project / "dbt_project.yml"
    text = settings.read_text()
    anchor = "  tally_reconciliations:\n"
    settings.write_text(text.replace(anchor, anchor + BLOCK, 1))

    landing = root / "landing"
    for table, header in HEADERS.items():
        write_csv(landing / table / "empty.csv", header, [])
    write_csv(landing / "accounts/signups/day1.csv", HEADERS["accounts/signups"], [
        {"user_id": "usr_1", "country": "JP", "signed_up_at": "2026-11-01T09:00:00Z"},
        {"user_id": "usr_2", "country": "JP", "signed_up_at": "2026-11-01T10:00:00Z"},
    ])  # fmt: skip
    write_csv(landing / "promo/credits/day1.csv", HEADERS["promo/credits"], [
        {"credit_id": "c1", "user_id": "usr_1", "amount": "5.00", "currency": "USD",
         "granted_at": "2026-11-01T09:05:00Z"},
    ])  # fmt: skip
    database = root / "warehouse" / "tally.duckdb"
    env = {"TALLY_PROJECT_DIR": str(project)}
    built = run_build(landing, database, AS_OF, env=env)
    return {"project": project, "database": database, "built": built, "env": env}


def test_it_takes_exactly_two_touches(added):
    assert changed_files(PROJECT_DIR, added["project"]) == [
        "dbt_project.yml",
        "models/reconciliation/recon_signup_credit.sql",
    ]


def test_it_is_built_registered_tested_and_summarised(added):
    built = added["built"]
    assert built.returncode == 0, built.stdout + built.stderr
    database = added["database"]
    registry = query(
        database,
        "select owner, severity, window_grain, grace_period, description, test_severity "
        "from marts.dim_reconciliations where recon_name = 'signup_credit'",
    )
    assert registry == [
        ("promo-oncall", "warning", "day", "1 hour",
         "Every user who signs up is granted a promo credit on the same day.", "warn"),
    ]  # fmt: skip
    breaks = query(
        database,
        "select record_key, break_type, status from marts.fct_recon_breaks "
        "where recon_name = 'signup_credit'",
    )
    assert breaks == [("usr_2", "missing_in_right", "open")]
    windows = query(
        database,
        "select window_status from marts.fct_recon_window_summary "
        "where recon_name = 'signup_credit'",
    )
    assert windows == [("breaks",)]
    # its severity class's test names it among the failing rows, and the summary shows it
    assert "signup_credit" in built.stdout
    assert "signup_credit (1 windows)" in built.stdout
    runs = query(
        database,
        "select recon_outcome from marts.fct_recon_runs where recon_name = 'signup_credit'",
    )
    assert runs == [("warn",)]


def test_it_pages_is_reported_and_scheduled(added, tmp_path):
    database, env = added["database"], added["env"]
    alerted = run_tally("alert", env={**env, "TALLY_DUCKDB_PATH": str(database)})
    assert alerted.returncode == 0, alerted.stderr
    log = [json.loads(line) for line in (database.parent / "alerts.log").read_text().splitlines()]
    keys = {event["dedup_key"] for event in log}
    assert "signup_credit/2026-11-01T00:00:00Z" in keys
    event = next(e for e in log if e["dedup_key"].startswith("signup_credit/"))
    assert event["payload"]["group"] == "promo-oncall"

    report = tmp_path / "report.html"
    written = run_tally("report", "--out", str(report), env={**env,
                        "TALLY_DUCKDB_PATH": str(database)})  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert 'id="signup_credit"' in report.read_text()

    # Dagster's schedules and checks come from the manifest's declarations
    parsed = run_dbt("parse", "--project-dir", str(added["project"]), "--target-path",
                     str(tmp_path / "target"), env=env)  # fmt: skip
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    manifest = json.loads((tmp_path / "target/manifest.json").read_text())
    from orchestration.defs.schedules import reconciliations

    declared = reconciliations(manifest)
    assert declared["signup_credit"]["owner"] == "promo-oncall"
    assert declared["signup_credit"]["grain"] == "day"
