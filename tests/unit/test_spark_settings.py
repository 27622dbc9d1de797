"""The spark target's settings: where its warehouse is, and the Spark parameters
read from profiles.yml with the build's values filled in."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR

from orchestration.settings import Settings
from orchestration.warehouse import spark_session


def test_spark_warehouse_from_the_environment_and_its_lock(tmp_path):
    settings = Settings.from_env(
        {"TALLY_TARGET": "spark", "TALLY_SPARK_WAREHOUSE": str(tmp_path / "lake")}
    )
    assert settings.target == "spark"
    assert settings.spark_warehouse == (tmp_path / "lake").resolve()
    assert str(tmp_path / "lake" / "marts.db") in settings.describe_warehouse()
    # one build at a time per Spark warehouse, not per DuckDB file
    assert settings.build_lock_path == (tmp_path / "lake.build").resolve()
    assert Settings.from_env({}).spark_warehouse == Path("data/spark-warehouse").resolve()


def test_unknown_target_names_the_choices():
    with pytest.raises(ValueError, match="duckdb, postgres, spark"):
        Settings.from_env({"TALLY_TARGET": "snowflake"})


def test_session_parameters_are_the_profile_with_the_build_values(tmp_path):
    settings = Settings(spark_warehouse=tmp_path / "lake", project_dir=PROJECT_DIR)
    parameters = spark_session.session_parameters(settings, {"TALLY_SPARK_MASTER": "local[3]"})
    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    declared = profile["tally"]["outputs"]["spark"]["server_side_parameters"]
    assert set(parameters) == set(declared)
    assert not any("{{" in value for value in parameters.values())
    assert parameters["spark.master"] == "local[3]"
    assert parameters["spark.sql.warehouse.dir"] == str(tmp_path / "lake")
    # the catalog lives with the tables; Spark's scratch files under target/
    assert (
        f"databaseName={tmp_path / 'lake'}/_metastore"
        in (parameters["spark.hadoop.javax.jdo.option.ConnectionURL"])
    )
    scratch = PROJECT_DIR / "target" / "spark"
    assert (
        f"-Dderby.stream.error.file={scratch}/derby.log"
        in (parameters["spark.driver.extraJavaOptions"])
    )
    assert parameters["spark.local.dir"] == f"{scratch}/tmp"
    log_config = parameters["spark.driver.extraJavaOptions"].split("-Dlog4j2.configurationFile=")[1]
    assert Path(log_config.split()[0]).is_file()
    # timestamps as on DuckDB and PostgreSQL: UTC wall time without zone
    assert parameters["spark.sql.session.timeZone"] == "UTC"
    assert parameters["spark.sql.timestampType"] == "TIMESTAMP_NTZ"
