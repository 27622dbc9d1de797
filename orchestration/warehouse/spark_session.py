"""The local Spark session of the `spark` target (dbt-spark's `session` method).

`tally build --target spark` starts the session itself, with the parameters of
the `spark` output in profiles.yml, loads the landing files through it, then
runs dbt in the same process: dbt-spark's `getOrCreate()` finds this session,
so the loader and the models share one Spark and one catalog.

profiles.yml is the one place the parameters are written; this module reads
them and fills in the `env_var()` references from the build's settings, so
plain `dbt build --target spark` and `tally build --target spark` configure
Spark the same way.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import yaml

from orchestration.settings import Settings

_ENV_VAR = re.compile(r"\{\{\s*env_var\(\s*'(?P<name>\w+)'\s*,\s*'(?P<default>[^']*)'\s*\)\s*\}\}")


class SparkUnavailable(Exception):
    """PySpark or Java is missing; the message says how to install them."""


class SparkEnded(Exception):
    """Spark's JVM (the driver, which also runs the tasks in local mode) exited
    while the session was in use; the message gives its exit code and the cause."""


# exit codes Spark's JVM ends with (org.apache.spark.util.SparkExitCode) or that
# the system gives a killed process
_KILLED = (
    "it was killed (SIGKILL; on a machine short of memory, the kernel's OOM killer); "
    "lower TALLY_SPARK_DRIVER_MEMORY or free memory"
)
_EXIT_CAUSES = {
    52: "it ran out of memory (Java heap); raise TALLY_SPARK_DRIVER_MEMORY",
    -9: _KILLED,
    137: _KILLED,
    -15: "it was stopped (SIGTERM)",
}


def scratch_dir(settings: Settings) -> Path:
    """Spark's scratch files (derby.log, spill): under the project's target/."""
    return settings.project_dir / "target" / "spark"


def environment(settings: Settings) -> dict[str, str]:
    """The variables the `spark` output of profiles.yml reads, from the settings."""
    return {
        "TALLY_SPARK_WAREHOUSE": str(settings.spark_warehouse),
        "TALLY_SPARK_SCRATCH": str(scratch_dir(settings)),
        "TALLY_SPARK_LOG_CONFIG": str(Path(__file__).with_name("spark-log4j2.properties")),
    }


def session_parameters(settings: Settings, env: dict[str, str] | None = None) -> dict[str, str]:
    """The `server_side_parameters` of profiles.yml's `spark` output, rendered."""
    profile = yaml.safe_load((settings.project_dir / "profiles.yml").read_text())
    parameters = profile["tally"]["outputs"]["spark"]["server_side_parameters"]
    values = {**os.environ, **(env or {}), **environment(settings)}

    def render(text: str) -> str:
        return _ENV_VAR.sub(lambda found: values.get(found["name"], found["default"]), text)

    return {str(key): render(str(value)) for key, value in parameters.items()}


def start(settings: Settings, env: dict[str, str] | None = None) -> Any:
    """The process's Spark session with the project's parameters (created once)."""
    # PySpark's own notices: a failed statement is reported by dbt (PySpark would
    # also log it as a JSON stack trace), and its pandas version notice is not ours.
    logging.getLogger("SQLQueryContextLogger").disabled = True
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "The spark target needs PySpark and dbt-spark: pip install -e '.[spark]' "
            "(and Java 17 or later on the PATH)"
        ) from None
    scratch = scratch_dir(settings)
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    settings.spark_warehouse.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_parameters(settings, env).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # no Java, a locked catalog, ...
        raise SparkUnavailable(f"Cannot start Spark: {str(error).strip()}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def jvm_exit_code() -> int | None:
    """The exit code of the JVM this process started for Spark, or None while it
    runs (or when none was started)."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return None
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None) if gateway is not None else None
    return None if process is None else process.poll()


def ended_message(code: int) -> str:
    cause = _EXIT_CAUSES.get(code, "see the lines Spark printed before it")
    return f"Spark's JVM exited with code {code} during the build: {cause}"


def stop() -> None:
    """Stops the process's Spark session, if one was started (frees the catalog).

    Raises SparkEnded when the JVM is already gone: the session's work was cut
    short, which the caller must report rather than a connection error."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    code = jvm_exit_code()
    if code is not None:
        raise SparkEnded(ended_message(code))
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
