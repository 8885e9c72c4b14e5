"""The dashboard's local job store holds data only: JSON where diskcache would pickle."""

from __future__ import annotations

import os
import pickle
import sqlite3

import plotly.graph_objects as go
import pytest

from app.jobstore import job_store


class _Boom:
    """Unpickling this runs a command (writes a file): what a planted row would do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.path}",))


def test_values_dash_stores_round_trip_as_json(tmp_path):
    cache = job_store(str(tmp_path / "jobs"))
    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    cache.set("result", [{"a": 1}, "text", None, fig])
    cache.set("progress", ["3/7", "building"])
    cache.set("secret", b"\x00\x01signing")
    got = cache.get("result")
    assert got[:3] == [{"a": 1}, "text", None]
    assert got[3]["data"][0]["y"] == [3, 4]  # the figure arrives as its JSON, as Dash sends it
    assert cache.get("progress") == ["3/7", "building"]
    assert cache.get("secret") == b"\x00\x01signing"
    rows = sqlite3.connect(tmp_path / "jobs" / "cache.db").execute("SELECT value FROM Cache")
    for (value,) in rows:
        if isinstance(value, bytes):
            assert not value.startswith(b"\x80"), "a pickle was written"


def test_a_planted_pickle_is_never_unpickled(tmp_path):
    cache = job_store(str(tmp_path / "jobs"))
    cache.set("result", {"ok": True})
    marker = tmp_path / "ran"
    planted = pickle.dumps(_Boom(str(marker)))
    db = sqlite3.connect(tmp_path / "jobs" / "cache.db")
    db.execute("UPDATE Cache SET value = ? WHERE key = 'result'", (planted,))
    db.commit()
    with pytest.raises(ValueError):
        cache.get("result")
    assert not marker.exists()


def test_non_string_keys_are_refused(tmp_path):
    cache = job_store(str(tmp_path / "jobs"))
    with pytest.raises(TypeError):
        cache.set(("a", 1), "x")
