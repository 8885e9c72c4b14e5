"""Every limit and location rnnviz reads from the environment, in one place.

The CLI, the dashboard (web process, background jobs, Celery workers) and the training
processes all call `settings()`, so they agree: settings travel through the environment, which
every child process inherits. Tests set tight caps by setting the variables (monkeypatch or a
subprocess's env); nothing caches the values.

Not here: defaults of a training recipe (rnnviz.training) or of a spec (rnnviz.spec).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rnnviz.errors import RnnvizError

MB = 2**20


@dataclass(frozen=True)
class Settings:
    """Locations and limits; each field's environment variable is RNNVIZ_<FIELD in capitals>."""

    cache_dir: Path  # built graphs, reports, uploads, Dash's job store
    runs_dir: Path  # the dashboard's run store
    max_steps: int  # largest T the dashboard builds
    max_upload_mb: float  # largest upload (also the server's request cap, plus the base64 overhead)
    max_train_steps: int  # largest number of training steps the dashboard starts
    max_jobs: int  # build/analysis jobs running at once per server (others wait)
    max_runs: int  # training runs running at once per run store, started from the dashboard
    job_cpu_seconds: int  # CPU-time limit of one job process (RLIMIT_CPU)
    job_memory_mb: int  # address-space limit of one job process (RLIMIT_AS)
    run_memory_mb: int  # address-space limit of one training process started by the dashboard
    job_timeout: float  # wall-clock seconds a job may take before it is stopped
    zip_max_members: int  # files and folders in an uploaded zip
    zip_max_mb: float  # total uncompressed size of an uploaded zip
    zip_max_ratio: int  # uncompressed/compressed size of one member (a bomb's tell)
    zip_max_depth: int  # folders deep
    zip_max_name: int  # characters in one member's path
    max_data_mb: float  # a data file (IDX, npz) read by training, after decompression
    max_graph_mb: float  # a graph file read by the report (enforced by rnnviz.reporting.sources)
    keep_uploads: bool  # keep uploaded files after their analysis (default: deleted)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_request_bytes(self) -> int:
        """An upload arrives base64-encoded in a JSON body: 4/3 of its size plus the form."""
        return int(self.max_upload_bytes * 4 / 3) + MB


DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnnviz"
DEFAULTS: dict[str, Any] = {
    "cache_dir": DEFAULT_CACHE,
    "runs_dir": Path("runs"),
    "max_steps": 200,
    "max_upload_mb": 64.0,
    "max_train_steps": 100_000,
    "max_jobs": 2,
    "max_runs": 2,
    "job_cpu_seconds": 1800,
    "job_memory_mb": 16_384,
    "run_memory_mb": 16_384,
    "job_timeout": 3600.0,
    "zip_max_members": 2_000,
    "zip_max_mb": 512.0,
    "zip_max_ratio": 200,
    "zip_max_depth": 32,
    "zip_max_name": 255,
    "max_data_mb": 2_048.0,
    "max_graph_mb": 1_024.0,
    "keep_uploads": False,
}


def env_name(field: str) -> str:
    return "RNNVIZ_" + field.upper()


def _parse(field: str, kind: Callable[[str], Any], text: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        value = None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and (not math.isfinite(value) or value <= 0):
        value = None
    if value is None:
        raise RnnvizError(
            f"{env_name(field)}={text!r}: not a valid setting; give a positive number "
            f"(default {DEFAULTS[field]})"
        )
    return value


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


_KINDS: dict[type | str, Callable[[str], Any]] = {
    "Path": lambda t: Path(t).expanduser(),
    "int": int,
    "float": float,
    "bool": _flag,
}


def settings() -> Settings:
    """The current settings: RNNVIZ_* environment variables over `DEFAULTS`."""
    values = {}
    for f in fields(Settings):
        text = os.environ.get(env_name(f.name))
        if text is None:
            values[f.name] = DEFAULTS[f.name]
        else:
            values[f.name] = _parse(f.name, _KINDS[str(f.type)], text)
    return Settings(**values)


__all__ = ["DEFAULTS", "MB", "Settings", "env_name", "settings"]
