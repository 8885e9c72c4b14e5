"""The run store: round trips, resume truncation, dead-process detection, and readers that keep
working while another process writes (SQLite WAL + busy_timeout)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from rnnviz.errors import RunStoreError
from rnnviz.store import MetricRow, RunStore

SPEC = {"name": "tiny", "layers": [{"cell": "lstm", "units": 4}], "time_steps": 8}


def test_run_round_trip(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run(SPEC, "digits", {"steps": 10, "seed": 1})
    info = store.get_run(run_id)
    assert (info.model, info.status, info.steps_done, info.target_steps) == (
        "tiny",
        "running",
        0,
        10,
    )
    assert info.spec == SPEC and info.data_source == "digits"
    assert [r.id for r in store.list_runs()] == [run_id]

    rows = [
        MetricRow(s, 2.0 - s / 10, 0.5 if s % 5 == 0 else None, None, s * 0.1) for s in range(1, 11)
    ]
    acts = {(0, "fw", "h"): np.arange(24, dtype=np.float32).reshape(2, 3, 4)}
    store.write_progress(
        run_id, rows[:5], steps_done=5, checkpoint=("ck-5", 5), activations=(5, acts)
    )
    store.write_progress(
        run_id,
        rows[5:],
        steps_done=10,
        activations=(10, {(0, "fw", "h"): acts[(0, "fw", "h")] + 1}),
    )
    assert [m.step for m in store.metrics(run_id)] == list(range(1, 11))
    assert [m.step for m in store.metrics(run_id, since_step=7)] == [8, 9, 10]
    assert store.metrics(run_id)[4].train_accuracy == 0.5
    assert store.snapshot_steps(run_id) == [5, 10]
    latest = store.activations(run_id)
    np.testing.assert_array_equal(latest[(0, "fw", "h")], acts[(0, "fw", "h")] + 1)
    np.testing.assert_array_equal(
        store.activations(run_id, 5, sample=1)[(0, "fw", "h")], acts[(0, "fw", "h")][1]
    )
    info = store.get_run(run_id)
    assert (info.steps_done, info.checkpoint_path, info.checkpoint_step) == (10, "ck-5", 5)

    store.truncate_after(run_id, 5)  # what a resume from the step-5 checkpoint does
    assert [m.step for m in store.metrics(run_id)] == [1, 2, 3, 4, 5]
    assert store.snapshot_steps(run_id) == [5]
    assert store.get_run(run_id).steps_done == 5

    store.set_probe(run_id, np.zeros((2, 3, 4), np.float32), np.array([1, 2]))
    x, y = store.probe(run_id)
    assert x.shape == (2, 3, 4) and y.tolist() == [1, 2]

    store.set_status(run_id, "finished", test_accuracy=0.75)
    assert store.get_run(run_id).status == "finished"
    assert store.get_run(run_id).test_accuracy == 0.75


def test_errors_name_the_run_and_the_store(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RunStoreError, match="no run 'nope'"):
        store.get_run("nope")
    with pytest.raises(RunStoreError, match="status 'done'"):
        store.set_status(store.create_run(SPEC, "digits", {}), "done")
    with pytest.raises(RunStoreError, match="no run store here"):
        RunStore(tmp_path / "empty", create=False)
    assert store.activations(store.create_run(SPEC, "digits", {})) == {}


def test_dead_process_reads_as_failed(tmp_path):
    store = RunStore(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists
    run_id = store.create_run(SPEC, "digits", {}, pid=proc.pid)
    info = store.get_run(run_id)
    assert info.status == "failed" and "--resume" in info.error


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from rnnviz.store import MetricRow, RunStore
    store = RunStore(sys.argv[1]); run_id = sys.argv[2]
    for step in range(1, 401):
        store.write_progress(run_id, [MetricRow(step, 1.0, None, None, 0.0)], steps_done=step,
                             activations=(step, {(0, "fw", "h"): np.ones((4, 8, 32), np.float32)}))
    """
)


def test_readers_work_while_another_process_writes(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run(SPEC, "digits", {})
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), run_id])
    seen = []
    try:
        while writer.poll() is None:
            n = len(store.metrics(run_id))
            info = store.get_run(run_id)
            assert info.steps_done >= n  # one transaction: progress and its rows together
            store.activations(run_id)
            seen.append(n)
            time.sleep(0.005)
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    assert len(store.metrics(run_id)) == 400
    # the reader saw the run in the middle of being written, not only before and after
    assert any(0 < n < 400 for n in seen)


def test_cli_runs_lists_and_reports_a_missing_store(tmp_path, capsys):
    from rnnviz.cli import main

    assert main(["runs", "--runs", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run store here" in err[0]
    store = RunStore(tmp_path)
    run_id = store.create_run(SPEC, "digits", {"steps": 10})
    store.write_progress(run_id, steps_done=4)
    store.set_status(run_id, "stopped")
    assert main(["runs", "--runs", str(tmp_path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["model"], row["steps_done"], row["status"]) == (
        run_id,
        "tiny",
        4,
        "stopped",
    )
    assert main(["runs", "--runs", str(tmp_path)]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.split()[:5] == [run_id, "tiny", "4/10", "-", "stopped"]
