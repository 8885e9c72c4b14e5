"""Dashboard callbacks and figures as plain functions (no browser, no server)."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from dash import no_update

from app import figures, ids, jobs, panels
from app.main import create_app, show_page
from app.pages import PAGES, open_file, training
from rnnviz.errors import InputFileError
from rnnviz.store import MetricRow, RunStore


@pytest.fixture
def app_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    monkeypatch.setenv("RNNVIZ_CACHE_DIR", str(cache))
    monkeypatch.setenv("RNNVIZ_RUNS_DIR", str(runs))
    return cache, runs


def test_create_app_has_every_page_and_no_tensorflow_in_the_web_process(app_dirs) -> None:
    import subprocess
    import sys

    # A fresh interpreter: this test process has TF loaded by other tests.
    code = (
        "import sys; from app.main import create_app; app = create_app(); "
        "print(len(app.callback_map), 'tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout.split()
    assert int(out[0]) >= 10 and out[1] == "False"
    app = create_app()
    layout = app.layout()
    text = str(layout)
    for page in PAGES:
        assert ids.PAGE_PREFIX + page.KEY in text


def test_show_page_shows_exactly_one() -> None:
    out = show_page("/training")
    styles, classes = out[: len(PAGES)], out[len(PAGES) :]
    assert [s == {} for s in styles].count(True) == 1
    assert classes[[p.PATH for p in PAGES].index("/training")] == "active"
    assert show_page("/nowhere")[0] == {}  # unknown paths land on Structure


def test_expanded_after() -> None:
    assert panels.expanded_after(False, {"id": "L0/fw/t1", "kind": "step"}, []) == ["L0/fw/t1"]
    # A click inside an open block selects; it does not close the block.
    assert panels.expanded_after(False, {"id": "L0/fw/t1::3"}, ["L0/fw/t1"]) == ["L0/fw/t1"]
    assert panels.expanded_after(False, {"id": "L0/fw/t1", "kind": "step"}, ["L0/fw/t1"]) == [
        "L0/fw/t1@ops"
    ]
    assert panels.expanded_after(True, {"id": "x"}, ["a", "b"]) == []
    assert panels.expanded_after(False, None, ["a"]) == ["a"]


def _fake_run(store: RunStore, *, steps: int = 3, units: int = 5) -> str:
    run_id = store.create_run(
        {"name": "tiny_lstm", "layers": []}, "digits", {"steps": 100}, pid=os.getpid()
    )
    store.add_metrics(
        run_id,
        [
            MetricRow(s, 2.0 / (s + 1), 0.1 * s if s % 2 == 0 else None, None, s * 0.1)
            for s in range(6)
        ],
    )
    store.set_probe(run_id, np.random.rand(4, steps, 8).astype(np.float32), np.arange(4))
    for step in (20, 40):
        arrays = {
            (layer, "fw", kind): np.full((4, steps, units), step / 100, np.float32)
            for layer in range(2)
            for kind in ("h", "c", "i", "j", "f", "o")
        }
        store.add_activations(run_id, step, arrays)
    return run_id


def test_training_callbacks_read_the_store(app_dirs) -> None:
    _, runs = app_dirs
    store = RunStore(runs)
    run_id = _fake_run(store)
    rows, options, watched, heat_options, heat = training.runs_overview(0, [], None)
    assert rows[0]["id"] == run_id and rows[0]["status"] == "running"
    assert watched == [run_id] and heat == run_id  # a reload reattaches to running runs
    assert options == heat_options
    # Nothing to change on the next tick: nothing is sent.
    assert training.runs_overview(1, [run_id], run_id)[2:] == (no_update, options, no_update)

    fig = training.curves(0, [run_id])
    names = [t.name for t in fig.data]
    name = figures.run_label(store.get_run(run_id))  # spec, data, start time
    assert f"{name} loss" in names and f"{name} train acc" in names
    assert list(fig.data[0].x) == list(range(6))

    heat, digit, label = training.heatmaps(None, run_id, 1)
    assert "step 40" in label and "sample 1" in label
    heatmaps = [t for t in heat.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 2 * 6  # 2 layers x (h, c, 4 gates)
    assert np.asarray(heatmaps[0].z).shape == (3, 5)  # time step x unit
    assert np.asarray(digit.data[0].z).shape == (3, 8)
    # The interval fires again, same snapshot: nothing is sent.
    assert training.heatmaps(ids.TICK, run_id, 1, label) == (no_update,) * 3


def test_stop_asks_the_run(app_dirs) -> None:
    _, runs = app_dirs
    store = RunStore(runs)
    run_id = _fake_run(store)
    message, *_ = training.start_or_stop(ids.TRAIN_STOP, "x", 10, [run_id], run_id)
    assert run_id in message
    assert store.stop_requested(run_id)
    assert "no run" in training.start_or_stop(ids.TRAIN_STOP, "x", 10, [], None)[0]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("graph.txt", b"x", "not a graph file"),
        ("big.pb", b"x" * (2 * 2**20), "upload limit"),
        ("broken.zip", b"not a zip", "not a valid zip"),
    ],
)
def test_store_upload_rejects(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        jobs.store_upload(tmp_path, name, data, max_bytes=2**20)


@pytest.mark.slow
def test_bad_upload_gives_one_clear_message(app_dirs) -> None:
    contents = "data:application/octet-stream;base64," + base64.b64encode(b"\x00garbage").decode()
    started = time.monotonic()
    data, message = open_file.analyse_upload(contents, "model.pb")
    assert data is no_update  # the file shown before stays
    assert message.startswith("model.pb: not a binary GraphDef"), message
    assert "\n" not in message and "Traceback" not in message
    assert time.monotonic() - started < 60
