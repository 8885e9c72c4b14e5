"""Dash's local job store with JSON where diskcache would pickle.

What it is for: `DiskcacheManager` keeps each background job's progress and result, and Dash's
handle-signing secret, in a diskcache folder. diskcache stores strings, bytes and numbers as they
are and pickles everything else, so reading the store back would unpickle whatever a file in that
folder holds: anyone who can write there could run code as the server. `JsonDisk` writes those
other values (results: lists, dicts, figures) as JSON instead and never unpickles a row, so the
store holds data only. Dash sends every one of these values to the browser as JSON anyway.

What it is not: the build cache (app/jobs/cache.py, JSON files of its own) or the Celery path
(results live in Redis there, serialised by Celery as JSON).
"""

from __future__ import annotations

import json
import os.path
import sqlite3
from typing import Any

import diskcache
from diskcache.core import MODE_PICKLE, UNKNOWN
from plotly.utils import PlotlyJSONEncoder

_NATIVE = (str, bytes, int, float)


class JsonDisk(diskcache.Disk):
    """A diskcache `Disk` that stores non-native values as JSON and refuses pickled rows."""

    def put(self, key: Any) -> Any:
        if type(key) not in _NATIVE:  # Dash's keys are strings; anything else would be pickled
            raise TypeError(f"job store keys must be str, bytes or numbers, not {type(key)}")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise ValueError("the job store holds a pickled key; delete the folder dash-jobs")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
        if read or type(value) in _NATIVE:
            return super().store(value, read, key=key)
        data = json.dumps(value, cls=PlotlyJSONEncoder).encode("utf-8")
        if len(data) < self.min_file_size:
            return 0, MODE_PICKLE, None, sqlite3.Binary(data)
        filename, full_path = self.filename(key, value)
        self._write(full_path, iter([data]), "xb")
        return len(data), MODE_PICKLE, filename, None

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode != MODE_PICKLE:
            return super().fetch(mode, filename, value, read)
        if value is None:  # the mode diskcache uses for pickles holds JSON here
            with open(os.path.join(self._directory, filename), "rb") as f:
                value = f.read()
        return json.loads(bytes(value))


def job_store(folder: str) -> diskcache.Cache:
    """The diskcache behind Dash's `DiskcacheManager`, in `folder` (made private by the caller)."""
    return diskcache.Cache(folder, disk=JsonDisk, disk_min_file_size=2**30)


__all__ = ["JsonDisk", "job_store"]
