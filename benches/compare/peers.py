"""What compare.py and linkage.py share: running a command, and the virtual environment with
the peers (DuckDB, Polars and one major version of Splink) that each script keeps apart
(compare.py pins Splink 4, linkage.py Splink 5)."""

import subprocess
import sys


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_venv(venv, splink_major):
    """The Python of `venv`, created if needed, with DuckDB, Polars and Splink `splink_major`.x
    installed when any of them is missing or Splink is another major version."""
    py = venv / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", str(venv)])
    check = ("import splink, duckdb, polars, sys; "
             f"sys.exit(not splink.__version__.startswith('{splink_major}.'))")
    if subprocess.run([str(py), "-c", check], capture_output=True).returncode != 0:
        sh([str(py), "-m", "pip", "install", "-q", f"splink>={splink_major},<{splink_major + 1}",
            "duckdb", "polars"])
    return py
