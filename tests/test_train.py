"""Training: loss goes down, digits are learnt, runs are deterministic, a run killed with SIGKILL
resumes from its checkpoint with the same step count and metrics history, and the store can be
read while a spawned training process writes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rnnviz
from rnnviz.cli import main
from rnnviz.data import synthetic
from rnnviz.errors import RunStoreError
from rnnviz.recipes import recipe_for
from rnnviz.spec import LayerSpec, ModelSpec
from rnnviz.store import RunStore
from rnnviz.training import start_run_process, stop_run, train, wait_run


def _tiny(unroll="static", **kw):
    return ModelSpec(
        name=f"tiny_{unroll}_lstm",
        layers=(LayerSpec("lstm", 16),),
        unroll=unroll,
        time_steps=8,
        input_size=8,
        **kw,
    )


def _losses(store, run_id):
    return np.array([m.loss for m in store.metrics(run_id)])


@pytest.mark.slow
def test_loss_goes_down_and_digits_beat_chance(tmp_path):
    calls = []
    run = rnnviz.train(
        _tiny(),
        "digits",
        steps=300,
        batch_size=64,
        runs_dir=tmp_path,
        progress=lambda *a: calls.append(a),
    )
    store = RunStore(tmp_path)
    losses = _losses(store, run.run_id)
    assert len(losses) == 300 and run.steps == 300 and run.status == "finished"
    assert losses[-30:].mean() < 0.5 * losses[:30].mean()
    assert run.test_accuracy > 0.5  # chance is 0.1 (10 balanced classes)
    info = store.get_run(run.run_id)
    assert info.status == "finished" and info.test_accuracy == run.test_accuracy
    assert store.metrics(run.run_id)[-1].test_accuracy == run.test_accuracy
    accs = [m.step for m in store.metrics(run.run_id) if m.train_accuracy is not None]
    assert accs == [50, 100, 150, 200, 250, 300]  # at intervals, not every step
    assert [c[0] for c in calls] == list(range(1, 301))
    every = recipe_for("digits").activation_every  # not given: the data's recipe
    assert store.snapshot_steps(run.run_id) == list(range(0, 301, every))
    x, y = store.probe(run.run_id)
    assert x.shape == (4, 8, 8) and len(set(y.tolist())) == 4  # one probe sample per class
    assert store.activations(run.run_id)[(0, "fw", "c")].shape == (4, 8, 16)


@pytest.mark.slow
def test_same_seed_same_run_other_seed_other_run(tmp_path):
    kw = dict(steps=40, batch_size=32, runs_dir=tmp_path, activation_every=0)
    a, b = (train(_tiny("dynamic"), "digits", seed=3, **kw) for _ in range(2))
    c = train(_tiny("dynamic"), "digits", seed=4, **kw)
    store = RunStore(tmp_path)
    np.testing.assert_array_equal(_losses(store, a.run_id), _losses(store, b.run_id))
    assert a.test_accuracy == b.test_accuracy
    assert not np.array_equal(_losses(store, a.run_id), _losses(store, c.run_id))


@pytest.mark.slow
def test_variable_length_task_uses_the_last_valid_step(tmp_path):
    data = synthetic(n_train=1500, n_test=300, steps=10, features=4)
    spec = ModelSpec(
        name="vl_dynamic", layers=(LayerSpec("gru", 16),), unroll="dynamic", time_steps=10,
        input_size=4, num_classes=4, variable_length=True, learning_rate=0.01,
    )  # fmt: skip
    run = train(spec, data, steps=250, batch_size=64, runs_dir=tmp_path, activation_every=125)
    assert run.test_accuracy > 0.6  # chance 0.25
    acts = RunStore(tmp_path).activations(run.run_id)[(0, "fw", "h")]
    lengths = data.lengths_test[data.probe_indices()]
    for row, n in zip(acts, lengths, strict=True):
        assert not row[n:].any() and row[n - 1].any()  # zero past each probe sequence's length


def _wait(predicate, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_killed_run_resumes_with_the_same_steps_and_history(tmp_path, capsys):
    spec = _tiny("dynamic")
    run_id = start_run_process(
        spec, "digits", runs_dir=tmp_path, steps=100_000, batch_size=32,
        checkpoint_every=1000, activation_every=100,
    )  # fmt: skip
    store = RunStore(tmp_path)

    def past_a_checkpoint():
        # metric rows are flushed every second, checkpoints every 1000 steps (~3 s here)
        ckpt = store.get_run(run_id).checkpoint_step or 0
        return ckpt >= 1000 and len(store.metrics(run_id, since_step=ckpt)) > 0

    _wait(past_a_checkpoint, what="a checkpoint and newer metric rows (the kill will lose them)")
    pid = store.get_run(run_id).pid
    os.kill(pid, signal.SIGKILL)
    assert wait_run(run_id, timeout=30) == -signal.SIGKILL
    info = store.get_run(run_id)
    assert info.status == "failed" and "--resume" in info.error
    ckpt = info.checkpoint_step
    before = {m.step: m for m in store.metrics(run_id)}
    assert max(before) > ckpt

    target = ckpt + 30
    assert (
        main(
            ["train", "--resume", run_id, "--steps", str(target), "--runs", str(tmp_path), "--json"]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert (summary["run_id"], summary["steps"], summary["resumed_from"]) == (run_id, target, ckpt)
    after = store.metrics(run_id)
    assert [m.step for m in after] == list(range(1, target + 1))  # no gap, no duplicate
    for m in after[:ckpt]:  # the history up to the checkpoint is the one recorded before the kill
        assert m == before[m.step]
    assert store.snapshot_steps(run_id) == list(range(0, target + 1, 100))
    assert store.get_run(run_id).status == "finished"

    # the resumed run is the run that was never killed: same weights, same batches and learning
    # rates after ckpt (the schedule spans the first target, 100,000 steps, in both), so the
    # same losses and the same test accuracy, to the last bit
    clean = train(spec, "digits", steps=target, batch_size=32, runs_dir=tmp_path / "clean",
                  checkpoint_every=1000, activation_every=0, schedule_steps=100_000)  # fmt: skip
    np.testing.assert_array_equal(
        _losses(store, run_id), _losses(RunStore(tmp_path / "clean"), clean.run_id)
    )
    assert summary["test_accuracy"] == clean.test_accuracy


@pytest.mark.slow
def test_store_is_readable_while_a_spawned_run_writes(tmp_path, capsys):
    run_id = start_run_process(
        _tiny("static"), "digits", runs_dir=tmp_path, steps=100_000, batch_size=32,
        activation_every=20, checkpoint_every=1000,
    )  # fmt: skip
    store = RunStore(tmp_path)
    _wait(lambda: store.metrics(run_id), what="the first metric rows")
    seen, snapshots = [], set()
    for _ in range(15):  # a reader polling like the dashboard
        rows = store.metrics(run_id, since_step=seen[-1] if seen else -1)
        seen.extend(m.step for m in rows)
        snapshots.update(store.snapshot_steps(run_id))
        assert store.get_run(run_id).status == "running"
        acts = store.activations(run_id)
        assert acts[(0, "fw", "h")].shape == (4, 8, 16)
        time.sleep(0.2)
    assert seen == list(range(1, seen[-1] + 1)) and len(seen) > 20  # incremental polls add up
    assert len(snapshots) >= 2
    assert stop_run(run_id, tmp_path) == "stopped"
    info = store.get_run(run_id)
    assert info.checkpoint_step == info.steps_done >= seen[-1]  # stopping saved where it was
    assert main(["runs", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert run_id in out and "stopped" in out and "tiny_static_lstm" in out


def test_resume_refuses_a_run_whose_process_is_alive(tmp_path):
    store = RunStore(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run_id = store.create_run(_tiny().to_dict(), "digits", {"data": "digits"}, pid=other.pid)
        with pytest.raises(RunStoreError, match=f"still training \\(pid {other.pid}\\)"):
            train(_tiny(), resume=run_id, runs_dir=tmp_path)
    finally:
        other.kill()
        other.wait()
