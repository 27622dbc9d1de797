"""Shared fixtures: run the `tally` command on temporary landing folders and
DuckDB files, and read the marts it publishes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, settings

# Property tests (tests/property) build with dbt for every example: `ci` (the
# default) runs a few and reports a failing example as found (shrinking it
# would take one build per step); `pytest --hypothesis-profile=long
# tests/property` runs many and shrinks.
settings.register_profile(
    "ci",
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

PROJECT_DIR = Path(__file__).resolve().parents[1]
TALLY = Path(sys.executable).with_name("tally")

# One header per landing table (CONTRACT section 2).
HEADERS: dict[str, list[str]] = {
    "accounts/signups": ["user_id", "country", "signed_up_at"],
    "wallet/wallets": ["wallet_id", "user_id", "currency", "created_at"],
    "promo/credits": ["credit_id", "user_id", "amount", "currency", "granted_at"],
    "payments/payments": [
        "payment_id",
        "user_id",
        "merchant_id",
        "channel",
        "amount",
        "currency",
        "status",
        "created_at",
        "updated_at",
    ],
    "psp/settlements": [
        "psp_reference",
        "merchant_reference",
        "amount_minor",
        "currency",
        "status",
        "settled_at",
        "batch_id",
    ],
    "ledger/postings": [
        "posting_id",
        "movement_id",
        "payment_id",
        "account",
        "direction",
        "amount_minor",
        "currency",
        "posted_at",
        "produced_at",
        "consumed_at",
        "recorded_at",
    ],
    "gateway/attempts": [
        "attempt_id",
        "channel",
        "merchant_id",
        "outcome",
        "error_code",
        "attempted_at",
    ],
    "processing/processings": ["processing_id", "entry_service", "registered_at"],
    "processing/reports": ["processing_id", "service", "result", "dependents", "reported_at"],
}


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def empty_landing(root: Path) -> Path:
    """Every table folder, each with a header-only file: a valid, empty export."""
    for table, header in HEADERS.items():
        write_csv(root / table / "empty.csv", header, [])
    return root


def tally_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without TALLY_* settings, plus `env`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TALLY_")}
    environment["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    environment.update(env or {})
    return environment


def run_tally(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TALLY), *args],
        cwd=PROJECT_DIR,
        env=tally_environment(env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def build_args(landing: Path, database: Path, as_of: str | None = None) -> list[str]:
    """`build` with a landing folder and DuckDB file (and as_of), without progress lines."""
    args = ["build", "--landing", str(landing), "--duckdb-path", str(database), "--quiet"]
    return args + (["--as-of", as_of] if as_of else [])


def run_build(
    landing: Path,
    database: Path,
    as_of: str | None = None,
    *extra: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Runs `tally build`; the caller checks the result."""
    return run_tally(*build_args(landing, database, as_of), *extra, env=env)


def build_ok(landing: Path, database: Path, as_of: str, *extra: str) -> str:
    """Runs `tally build`, asserts it succeeded, returns its output."""
    built = run_build(landing, database, as_of, *extra)
    assert built.returncode == 0, built.stderr + built.stdout
    return built.stdout


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def tally() -> Callable[..., subprocess.CompletedProcess]:
    return run_tally


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return empty_landing(tmp_path / "landing")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "tally.duckdb"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session", params=[7, 2026], ids=lambda seed: f"seed{seed}")
def demo(request, tmp_path_factory) -> dict:
    """The demo generated with a seed and built at its as_of; shared by the modules
    that check its ground truth, so each seed is built once per test run."""
    root = tmp_path_factory.mktemp(f"demo{request.param}")
    landing = root / "landing"
    database = root / "tally.duckdb"
    generated = run_tally("generate", "--out", str(landing), "--seed", str(request.param))
    assert generated.returncode == 0, generated.stderr
    manifest = json.loads((landing / "_expected/manifest.json").read_text())
    stdout = build_ok(landing, database, manifest["as_of"])
    return {"landing": landing, "database": database, "manifest": manifest, "stdout": stdout}
