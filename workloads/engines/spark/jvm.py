"""What the Spark engine and the Spark cluster launcher share: finding Java and Spark, logging.

Nothing here imports pyspark at module level, so `cluster up spark` and availability checks stay
cheap.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from workloads.runtime.net import LOOPBACK

#: log4j2 configuration of every Spark JVM parbench starts (driver, master, worker).
LOG4J = "log4j2.properties"


def log4j_option() -> str:
    """The JVM option that points log4j at `LOG4J` (beside this module)."""
    return f"-Dlog4j2.configurationFile={Path(__file__).resolve().with_name(LOG4J).as_uri()}"


def java_runner() -> tuple[str | None, str]:
    """The java that Spark's scripts run ($JAVA_HOME/bin/java, else PATH) and where it was found
    (words for an error message)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home, "bin", "java")
        if os.access(java, os.X_OK):
            return str(java), f"JAVA_HOME={home}"
        return None, f"JAVA_HOME={home} has no bin/java"
    java = shutil.which("java")
    return (java, java) if java else (None, "no java on PATH / JAVA_HOME")


def java_version(java: str) -> str | None:
    """The version `java -version` reports, e.g. "17.0.15" or "1.8.0_292"; None if none."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "([^"]+)"', out.stderr + out.stdout)
    return found.group(1) if found else None


def java_major(version: str) -> int:
    """17 for "17.0.15", 8 for "1.8.0_292"."""
    parts = re.findall(r"\d+", version)
    if not parts:
        return 0
    return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])


def min_java(pyspark_version: str) -> int:
    """The oldest Java a PySpark release runs on."""
    return 17 if int(pyspark_version.split(".")[0]) >= 4 else 8


def check_java(pyspark_version: str) -> tuple[str | None, str | None]:
    """(the version of the Java Spark would run, why Spark cannot run on it or None)."""
    java, where = java_runner()
    version = java_version(java) if java else None
    need = min_java(pyspark_version)
    if version is not None and java_major(version) >= need:
        return version, None
    found = where if java is None else (
        f"java {version} at {where}" if version else f"{where} (`java -version` failed)")
    return version, f"Java {need}+ is needed for PySpark {pyspark_version}; found: {found}"


def spark_home() -> Path | None:
    """SPARK_HOME of the installed pyspark package (it ships bin/spark-class and the jars)."""
    found = importlib.util.find_spec("pyspark")
    return None if found is None or found.origin is None else Path(found.origin).parent


def jvm_environment(local_ip: str = LOOPBACK) -> dict[str, str]:
    """Environment every Spark JVM and its Python workers need: the address to listen on
    (SPARK_LOCAL_IP when set, else `local_ip`), this interpreter."""
    return {"SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", local_ip),
            "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable)}
