"""When Spark's JVM dies during a build (out of memory in local mode, or killed by
the system), the build fails with a message naming the exit code and what to do,
not with a connection error from the Python side of the gateway.

Runs in a child process: the JVM it kills must not be the test process's own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import SPARK_SMALL_DATA

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pyspark import SparkContext
    from orchestration.build import BuildError, _landing_loader
    from orchestration.settings import Settings
    from orchestration.warehouse import spark_session

    settings = Settings(target="spark", spark_warehouse=Path(sys.argv[1]))
    try:
        with _landing_loader(settings, echo=lambda _: None):
            assert spark_session.jvm_exit_code() is None
            process = SparkContext._gateway.proc
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    except BuildError as error:
        print("BuildError:", error)
        sys.exit(0)
    print("no BuildError")
    sys.exit(1)
    """
)


def test_a_killed_spark_jvm_fails_the_build_with_its_exit_code(spark_available, tmp_path):
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "spark-warehouse")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **SPARK_SMALL_DATA, "TALLY_SPARK_SCRATCH": str(tmp_path / "scratch")},
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    message = ran.stdout
    assert "Spark's JVM exited with code -9 during the build" in message
    assert "OOM killer" in message and "TALLY_SPARK_DRIVER_MEMORY" in message
    assert str(tmp_path / "spark-warehouse") in message
    assert "ConnectionRefusedError" not in ran.stderr
